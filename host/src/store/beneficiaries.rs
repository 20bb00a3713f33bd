//! Enrolled beneficiaries, loaded from enrolment CSVs, and the page-by-page
//! read of those a run has still to decide.

use chrono::NaiveDate;

use crate::model::{Enrolment, Month, RegistryRecord};

use super::{Db, Tx, on_pool};

/// The columns an enrolment is written to, in the order [`push_values`] binds them.
pub(super) const COLUMNS: &str = "(program, province, id_number, full_name, birth_date, household, disability, \
                                  has_pension, difficult_commune, statuses, dependent_children, channel, bank_bin, \
                                  account_number, account_name)";

/// What an enrolment of the same person, programme and province already in the table takes from the new one.
pub(super) const UPDATE: &str = " ON CONFLICT (id_number, program, province) DO UPDATE SET \
                                 full_name = excluded.full_name, birth_date = excluded.birth_date, \
                                 household = excluded.household, disability = excluded.disability, \
                                 has_pension = excluded.has_pension, difficult_commune = excluded.difficult_commune, \
                                 statuses = excluded.statuses, dependent_children = excluded.dependent_children, \
                                 channel = excluded.channel, bank_bin = excluded.bank_bin, \
                                 account_number = excluded.account_number, account_name = excluded.account_name";

/// The statuses of an enrolment as stored: their names, `;` between.
fn statuses(e: &Enrolment) -> String {
    e.statuses.iter().map(|s| s.as_str()).collect::<Vec<&str>>().join(";")
}

/// `rows` as SQLite's multi-row `VALUES` of [`COLUMNS`].
pub(super) fn push_values(q: &mut sqlx::QueryBuilder<sqlx::Sqlite>, rows: &[Enrolment]) {
    q.push_values(rows, |mut b, e| {
        b.push_bind(&e.program)
            .push_bind(&e.province)
            .push_bind(&e.id_number)
            .push_bind(&e.full_name)
            .push_bind(e.birth_date)
            .push_bind(e.household.as_str())
            .push_bind(e.disability.as_str())
            .push_bind(e.has_pension)
            .push_bind(e.difficult_commune)
            .push_bind(statuses(e))
            .push_bind(i64::from(e.dependent_children))
            .push_bind(e.channel.as_str())
            .push_bind(&e.bank_bin)
            .push_bind(&e.account_number)
            .push_bind(&e.account_name);
    });
}

/// Insert or update a batch of enrolments, keyed by programme, province and
/// ID number: re-importing a file changes nothing. SQLite takes them as one
/// multi-row `VALUES`; PostgreSQL as one `UNNEST` of column arrays, a
/// statement of fifteen parameters whatever the batch.
pub async fn upsert(tx: &mut Tx, rows: &[Enrolment]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Sqlite(tx) => {
            let mut q = sqlx::QueryBuilder::new(format!("INSERT INTO beneficiaries {COLUMNS} "));
            push_values(&mut q, rows);
            q.push(UPDATE);
            q.build().execute(&mut **tx).await?;
        }
        Tx::Postgres(tx) => {
            let texts = |f: fn(&Enrolment) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
            let flags = |f: fn(&Enrolment) -> bool| rows.iter().map(f).collect::<Vec<bool>>();
            let query = format!(
                "INSERT INTO beneficiaries {COLUMNS} SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], \
                 $6::text[], $7::text[], $8::boolean[], $9::boolean[], $10::text[], $11::bigint[], $12::text[], \
                 $13::text[], $14::text[], $15::text[]) {UPDATE}"
            );
            sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(texts(|e| &e.program))
                .bind(texts(|e| &e.province))
                .bind(texts(|e| &e.id_number))
                .bind(texts(|e| &e.full_name))
                .bind(rows.iter().map(|e| e.birth_date).collect::<Vec<NaiveDate>>())
                .bind(texts(|e| e.household.as_str()))
                .bind(texts(|e| e.disability.as_str()))
                .bind(flags(|e| e.has_pension))
                .bind(flags(|e| e.difficult_commune))
                .bind(rows.iter().map(statuses).collect::<Vec<String>>())
                .bind(rows.iter().map(|e| i64::from(e.dependent_children)).collect::<Vec<i64>>())
                .bind(texts(|e| e.channel.as_str()))
                .bind(texts(|e| &e.bank_bin))
                .bind(texts(|e| &e.account_number))
                .bind(texts(|e| &e.account_name))
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

pub async fn count(db: &Db) -> anyhow::Result<i64> {
    Ok(on_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM beneficiaries").fetch_one(pool).await?))
}

/// What the platform's other records say about the person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtherRecords {
    /// Enrolments in the same programme in other provinces.
    pub enrolments: i64,
    /// One of those provinces (the lowest code), for the message.
    pub enrolled_in: Option<String>,
    /// A bank answered a payment to this person with MD07 (deceased), and no
    /// officer has cleared it since (`run reconcile`, `registry clear-flag`).
    pub death_reported: bool,
}

/// A beneficiary still to be decided in a run, with their registry record.
#[derive(Clone, Debug)]
pub struct Pending {
    pub id: i64,
    pub enrolment: Enrolment,
    /// None when the registry has no record of them; [`pending`] leaves it to the run, which asks
    /// the population registry (`crate::registry`) for the whole page at once.
    pub registry: Option<RegistryRecord>,
    /// Other enrolments of the same person, and a bank's report of their death.
    pub others: OtherRecords,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    id: i64,
    program: String,
    province: String,
    id_number: String,
    full_name: String,
    birth_date: NaiveDate,
    household: String,
    disability: String,
    has_pension: bool,
    difficult_commune: bool,
    statuses: String,
    dependent_children: i64,
    channel: String,
    bank_bin: String,
    account_number: String,
    account_name: String,
    other_count: i64,
    other_province: Option<String>,
    death_reported: bool,
}

/// Which beneficiaries a run still has to decide for one month.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub run_id: i64,
    pub program: &'a str,
    pub province: &'a str,
    pub period: Month,
    /// A back month of a back-pay run: only people not yet paid that month
    /// are decided, since arrears are what was not paid.
    pub arrears: bool,
    /// Only beneficiaries whose id is at most this (a shard's range); None: no bound.
    pub upto: Option<i64>,
}

/// The condition shared by [`pending`] and [`count_pending`]: in the scope,
/// no decision for the month in this run yet, and for arrears not yet paid,
/// by transfer (a payment the bank rejected is not paid) or in cash.
/// Bound by [`Scope`]'s fields in order ($1-$6).
///
/// `LIMIT 1 OFFSET 0` keeps PostgreSQL from turning each test into an
/// anti-join, which it plans by the table's statistics: while a run fills
/// `decisions` they say it is nearly empty, and the join then walked every
/// decision for each person (4.9 s a page of 500 at 100,000 decisions; 7 ms
/// with one index probe per person, EXPLAIN ANALYZE). SQLite probes anyway.
///
/// The probe's run is `(SELECT CAST($3 AS BIGINT))`, a value PostgreSQL
/// plans without knowing, so that it probes the primary key. Given the run
/// itself, it estimates that run's decisions from statistics made before
/// it had any (one row), and two indexes of `decisions` lead with the run:
/// at one row they cost the same, it took `decisions_by_outcome`, which
/// must walk all the run's decisions of every outcome for each person, and
/// the second month of a 200,000-person province read a page in 4 s, then
/// 68 s, instead of 27 ms (EXPLAIN ANALYZE; tests: `a_second_month_probes_decisions_by_their_key`).
macro_rules! in_scope {
    () => {
        "b.program = $1 AND b.province = $2 \
    AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.run_id = (SELECT CAST($3 AS BIGINT)) AND d.period = $4 \
    AND d.beneficiary_id = b.id LIMIT 1 OFFSET 0) \
    AND (NOT $5 OR (NOT EXISTS (SELECT 1 FROM payments p WHERE p.program = b.program AND p.period = $4 \
    AND p.id_number = b.id_number AND NOT p.rejected LIMIT 1 OFFSET 0) AND NOT EXISTS (SELECT 1 FROM cash_payments c \
    WHERE c.program = b.program AND c.period = $4 AND c.id_number = b.id_number LIMIT 1 OFFSET 0))) AND b.id <= $6"
    };
}

/// The statement [`pending`] runs, bound by [`Scope`]'s fields, then `after`
/// and `limit` ($7, $8): the tests ask the database how it plans it.
pub const PENDING: &str = concat!(
    "SELECT b.id, b.program, b.province, b.id_number, b.full_name, b.birth_date, b.household, \
    b.disability, b.has_pension, b.difficult_commune, b.statuses, b.dependent_children, b.channel, b.bank_bin, \
    b.account_number, b.account_name, \
    (SELECT COUNT(*) FROM beneficiaries o WHERE o.id_number = b.id_number AND o.program = b.program \
     AND o.id <> b.id) AS other_count, \
    (SELECT MIN(o.province) FROM beneficiaries o WHERE o.id_number = b.id_number AND o.program = b.program \
     AND o.id <> b.id) AS other_province, \
    ",
    super::holds::death_reported!(),
    " AS death_reported \
    FROM beneficiaries b WHERE ",
    in_scope!(),
    " AND b.id > $7 ORDER BY b.id LIMIT $8"
);

/// The next `limit` beneficiaries of a run's scope after `after` (by id) that
/// have no decision in the run yet. Reading in pages keeps memory flat, and
/// skipping decided ones is what makes an interrupted run resumable. Their registry records
/// are not read here: the registry may be another service (`crate::registry`).
pub async fn pending(db: &Db, scope: Scope<'_>, after: i64, limit: i64) -> anyhow::Result<Vec<Pending>> {
    let rows: Vec<PendingRow> = on_pool!(db, pool => {
        sqlx::query_as(PENDING)
            .bind(scope.program)
            .bind(scope.province)
            .bind(scope.run_id)
            .bind(scope.period.to_string())
            .bind(scope.arrears)
            .bind(scope.upto.unwrap_or(i64::MAX))
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(PendingRow::into_pending).collect()
}

impl PendingRow {
    fn into_pending(self) -> anyhow::Result<Pending> {
        let corrupt =
            |field: &str, e: String| anyhow::anyhow!("beneficiary {}: stored {field} is invalid: {e}", self.id);
        let statuses = self
            .statuses
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse())
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt("statuses", e))?;
        let enrolment = Enrolment {
            id_number: self.id_number,
            full_name: self.full_name,
            birth_date: self.birth_date,
            program: self.program,
            province: self.province,
            household: self.household.parse().map_err(|e| corrupt("household", e))?,
            disability: self.disability.parse().map_err(|e| corrupt("disability", e))?,
            has_pension: self.has_pension,
            difficult_commune: self.difficult_commune,
            statuses,
            dependent_children: u32::try_from(self.dependent_children)
                .map_err(|e| corrupt("dependent_children", e.to_string()))?,
            channel: self.channel.parse().map_err(|e| corrupt("channel", e))?,
            bank_bin: self.bank_bin,
            account_number: self.account_number,
            account_name: self.account_name,
        };
        let others = OtherRecords {
            enrolments: self.other_count,
            enrolled_in: self.other_province,
            death_reported: self.death_reported,
        };
        Ok(Pending { id: self.id, enrolment, registry: None, others })
    }
}

/// How many beneficiaries of a run's scope have no decision in it yet for the month.
pub async fn count_pending(db: &Db, scope: Scope<'_>) -> anyhow::Result<u64> {
    const SQL: &str = concat!("SELECT COUNT(*) FROM beneficiaries b WHERE ", in_scope!());
    let n: i64 = on_pool!(db, pool => {
        sqlx::query_scalar(SQL)
            .bind(scope.program)
            .bind(scope.province)
            .bind(scope.run_id)
            .bind(scope.period.to_string())
            .bind(scope.arrears)
            .bind(scope.upto.unwrap_or(i64::MAX))
            .fetch_one(pool)
            .await?
    });
    Ok(n as u64)
}

/// How many beneficiaries `program` has in `province`.
pub async fn count_in(db: &Db, program: &str, province: &str) -> anyhow::Result<i64> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM beneficiaries WHERE program = $1 AND province = $2")
            .bind(program)
            .bind(province)
            .fetch_one(pool)
            .await?
    }))
}

/// The ids that cut the beneficiaries of `program` in `province` into ranges
/// of `every` (the `every`-th id, the 2×`every`-th, …), for a run's shards.
pub async fn cuts(db: &Db, program: &str, province: &str, every: i64) -> anyhow::Result<Vec<i64>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM beneficiaries \
             WHERE program = $1 AND province = $2) AS numbered WHERE n % $3 = 0 ORDER BY id",
        )
        .bind(program)
        .bind(province)
        .bind(every)
        .fetch_all(pool)
        .await?
    }))
}

/// The ID numbers of beneficiaries by id: only for turning them into keyed
/// hashes (`trail::person`), never to show.
pub async fn id_numbers(db: &Db, ids: &[i64]) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(super::BATCH) {
        let rows: Vec<(i64, String)> = on_pool!(db, pool => {
            let mut q = sqlx::QueryBuilder::new("SELECT id, id_number FROM beneficiaries WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            q.build_query_as().fetch_all(pool).await?
        });
        found.extend(rows);
    }
    Ok(found)
}
