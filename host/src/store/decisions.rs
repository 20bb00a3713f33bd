//! Decisions: what each beneficiary was given, what the plug-in returned, the
//! outcome for payment, and the fuel it cost.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::model::{Month, Outcome, Total};

use super::packed::Unpacker;
use super::{Db, Tx, on_pool, on_tx};

/// A decision to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDecision {
    /// The month decided: the run's own, or an earlier one in a back-pay run.
    pub period: Month,
    pub beneficiary_id: i64,
    pub outcome: Outcome,
    /// Whole đồng per month; 0 unless the person is eligible.
    pub amount: u64,
    pub category: Option<String>,
    /// JSON of the verification checks.
    pub verification: String,
    pub plugin_hash: String,
    /// The engine it ran under ([`ansinh_sandbox::EngineIdentity::id`]).
    pub engine: String,
    /// Canonical JSON given to the plug-in; `None` when it was not called.
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub fuel: u64,
    /// What an officer must look at, if anything (`run::decide::exception`).
    pub exception: Option<&'static str>,
    /// Where the money goes, as checked now; issue pays this, not the enrolment of later.
    pub payee: Payee,
}

/// Where a decision's money goes, fixed when the decision is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payee {
    pub channel: String,
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
    /// The registry's name (the enrolment's without a record), for the cash list.
    pub name: String,
    pub commune: String,
}

/// A decision ready to write: its digest (`trail::digest` of its canonical
/// record) made, its input packed, by the thread that decided it, so that the
/// one writer only writes.
#[derive(Clone, Debug)]
pub struct Decided {
    /// The decision, its input moved into `input`.
    pub decision: NewDecision,
    /// The digest's 32 bytes, as stored.
    pub digest: [u8; 32],
    /// The input packed against the run's reference ([`super::packed`]).
    pub input: Option<Vec<u8>>,
}

/// Rows per INSERT of decisions on SQLite: 21 bound values a row, well under
/// its 32,766 a statement.
const ROWS_PER_INSERT: usize = 1000;

/// Texts kept by [`Writer`] before it starts its list again: a plug-in whose
/// every output differs must not grow it without end.
const TEXTS_KEPT: usize = 100_000;

/// Writes a run's decisions, each text that repeats (the plug-in's outputs,
/// the registry checks' verdicts) once in `decision_texts`: it remembers the
/// id of each text it stored or found. Inputs come packed against the run's
/// reference input, which it stores first.
pub struct Writer {
    texts: HashMap<String, i64>,
    /// The id in `deciders` of each (plug-in, engine) the writer met: one, or a few.
    deciders: Vec<(String, String, i64)>,
    reference: i64,
    /// The writer's own connection, held while it writes. SQLite drops a
    /// connection's page cache whenever another connection has written since
    /// its last transaction, so a writer that took whichever connection the
    /// pool gave it read the pages of the indexes it inserts into back from
    /// the file, batch after batch, once its previous batch had been written
    /// by another connection; its own writes leave its cache whole.
    conn: Conn,
}

/// A connection held by one user (a [`Writer`]).
enum Conn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

/// Run `$body` with `$conn` bound to the backend's held connection.
macro_rules! on_conn {
    ($held:expr, $conn:ident => $body:expr) => {
        match $held {
            Conn::Sqlite($conn) => $body,
            Conn::Postgres($conn) => $body,
        }
    };
}

impl Writer {
    /// A writer of decisions whose inputs were packed against `reference`.
    pub async fn new(db: &Db, reference: &str) -> anyhow::Result<Writer> {
        let conn = match db {
            Db::Sqlite(pool) => Conn::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        };
        let mut writer = Writer { texts: HashMap::new(), deciders: Vec::new(), reference: 0, conn };
        writer.reference = writer.id(reference).await?;
        Ok(writer)
    }

    /// Store decisions of run `run_id` in one transaction. A decision already
    /// stored for the same run, month and beneficiary is kept: a resumed run
    /// never decides twice. Only while the run is being evaluated: its row is
    /// locked first, so a batch of another evaluator cannot land after the run
    /// is sealed (`run.evaluate`).
    /// The decisions stored now: those of `rows` not stored already.
    pub async fn write(&mut self, run_id: i64, rows: &[Decided]) -> anyhow::Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        // Texts first, in statements of their own that commit at once:
        // a text no decision refers to (the batch failed below) is harmless,
        // and an id remembered is one that stays.
        if self.texts.len() > TEXTS_KEPT {
            self.texts.clear();
        }
        let texts = rows.iter().flat_map(|r| [Some(&r.decision.verification), r.decision.output.as_ref()]);
        let new = texts.flatten().filter(|t| !self.texts.contains_key(*t)).cloned().collect();
        self.store_texts(new).await?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in rows {
            let d = &r.decision;
            let decider = self.decider(&d.plugin_hash, &d.engine).await?;
            ids.push(Ids {
                verification: self.texts[&d.verification],
                output: d.output.as_ref().map(|o| self.texts[o]),
                decider,
            });
        }
        let batch = Batch { run_id, rows, ids: &ids, reference: self.reference };
        // PostgreSQL: a share lock, which the writers of several workers hold at once and
        // `mark_evaluated`'s update waits for; SQLite has one writer at a time anyway, and
        // takes the write lock first (`BEGIN IMMEDIATE`, as `Db::begin`).
        let stored = match &mut self.conn {
            Conn::Sqlite(conn) => {
                let mut tx = sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE").await?;
                let open: Option<String> = sqlx::query_scalar(
                    "UPDATE runs SET status = status WHERE id = $1 AND status = 'created' RETURNING status",
                )
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
                ensure_open(run_id, open)?;
                let stored = batch.insert_values(&mut tx).await?;
                tx.commit().await?;
                stored
            }
            Conn::Postgres(conn) => {
                let mut tx = sqlx::Connection::begin(&mut **conn).await?;
                let open: Option<String> =
                    sqlx::query_scalar("SELECT status FROM runs WHERE id = $1 AND status = 'created' FOR SHARE")
                        .bind(run_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                ensure_open(run_id, open)?;
                let stored = batch.insert_unnest(&mut tx).await?;
                tx.commit().await?;
                stored
            }
        };
        Ok(stored)
    }

    /// Remember the id in `decision_texts` of each of `texts`, storing those
    /// not there yet: one statement for each [`TEXTS_PER_INSERT`] new texts,
    /// not one for each (a million-person run meets some ten thousand
    /// distinct verdicts, and each statement on its own is a commit).
    async fn store_texts(&mut self, mut new: Vec<String>) -> anyhow::Result<()> {
        new.sort_unstable();
        new.dedup();
        for chunk in new.chunks(TEXTS_PER_INSERT) {
            // In the order of their keys, so that two writers storing some of
            // the same texts take their locks in the same order.
            let mut rows: Vec<(String, &String)> =
                chunk.iter().map(|text| (hex::encode(Sha256::digest(text.as_bytes())), text)).collect();
            rows.sort_unstable();
            // Texts there already are left alone (`DO NOTHING`): the table is append-only
            // (migration 21), and an update of them, even a no-op one, is refused.
            let mut ids: Vec<(i64, String)> = on_conn!(&mut self.conn, conn => {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO decision_texts (sha256, text) ");
                q.push_values(&rows, |mut b, (sha256, text)| {
                    b.push_bind(sha256.clone()).push_bind((*text).clone());
                });
                q.push(" ON CONFLICT (sha256) DO NOTHING RETURNING id, sha256");
                q.build_query_as().fetch_all(&mut **conn).await?
            });
            if ids.len() < rows.len() {
                let made: HashSet<&str> = ids.iter().map(|(_, sha256)| sha256.as_str()).collect();
                let there: Vec<&str> =
                    rows.iter().map(|(sha256, _)| sha256.as_str()).filter(|sha256| !made.contains(sha256)).collect();
                let found: Vec<(i64, String)> = on_conn!(&mut self.conn, conn => {
                    let mut q = sqlx::QueryBuilder::new("SELECT id, sha256 FROM decision_texts WHERE sha256 IN (");
                    let mut list = q.separated(", ");
                    for sha256 in &there {
                        list.push_bind(*sha256);
                    }
                    q.push(")");
                    q.build_query_as().persistent(false).fetch_all(&mut **conn).await?
                });
                ids.extend(found);
            }
            let by_sha256: HashMap<String, &String> = rows.into_iter().collect();
            for (id, sha256) in ids {
                self.texts.insert(by_sha256[sha256.as_str()].clone(), id);
            }
        }
        Ok(())
    }

    /// The id in `deciders` of `plugin_hash` under `engine`, stored now if it is not there
    /// (committed at once, as texts are).
    async fn decider(&mut self, plugin_hash: &str, engine: &str) -> anyhow::Result<i64> {
        if let Some((_, _, id)) = self.deciders.iter().find(|(p, e, _)| p == plugin_hash && e == engine) {
            return Ok(*id);
        }
        let id: i64 = on_conn!(&mut self.conn, conn => {
            sqlx::query(
                "INSERT INTO deciders (plugin_hash, engine) VALUES ($1, $2) ON CONFLICT (plugin_hash, engine) DO NOTHING",
            )
            .bind(plugin_hash)
            .bind(engine)
            .execute(&mut **conn)
            .await?;
            sqlx::query_scalar("SELECT id FROM deciders WHERE plugin_hash = $1 AND engine = $2")
                .bind(plugin_hash)
                .bind(engine)
                .fetch_one(&mut **conn)
                .await?
        });
        self.deciders.push((plugin_hash.to_owned(), engine.to_owned(), id));
        Ok(id)
    }

    /// The id of `text` in `decision_texts`, stored now if it is not there.
    async fn id(&mut self, text: &str) -> anyhow::Result<i64> {
        if !self.texts.contains_key(text) {
            self.store_texts(vec![text.to_owned()]).await?;
        }
        Ok(self.texts[text])
    }
}

fn ensure_open(run_id: i64, open: Option<String>) -> anyhow::Result<()> {
    anyhow::ensure!(
        open.is_some(),
        "run {run_id} is no longer being evaluated (another process finished or cancelled it): these \
         decisions are not stored; `ansinh run show {run_id}` tells where it stands"
    );
    Ok(())
}

/// New texts stored by one statement: two bound values each, well under
/// SQLite's 32,766 a statement.
const TEXTS_PER_INSERT: usize = 1000;

/// The columns a decision is written to, in the order bound.
const COLUMNS: &str = "run_id, period, beneficiary_id, outcome, amount, category, verification_id, decider_id, \
                       input_packed, input_base_id, output_id, error, fuel, exception, channel, bank_bin, \
                       account_number, account_name, payee_name, commune, digest";

/// What a decision to write refers to by id.
struct Ids {
    /// Its verdicts' text.
    verification: i64,
    /// Its output's text, if the plug-in gave one.
    output: Option<i64>,
    /// Its plug-in and engine.
    decider: i64,
}

/// Decisions to insert, with the ids of their texts.
struct Batch<'a> {
    run_id: i64,
    rows: &'a [Decided],
    /// What each row refers to.
    ids: &'a [Ids],
    /// The id of the reference input the rows' inputs were packed against.
    reference: i64,
}

impl Batch<'_> {
    /// SQLite: multi-row `VALUES`, [`ROWS_PER_INSERT`] rows a statement
    /// (a statement of a given length is prepared once and cached).
    async fn insert_values(&self, conn: &mut sqlx::SqliteConnection) -> anyhow::Result<u64> {
        let mut stored = 0;
        for (rows, ids) in self.rows.chunks(ROWS_PER_INSERT).zip(self.ids.chunks(ROWS_PER_INSERT)) {
            let mut q = sqlx::QueryBuilder::new(format!("INSERT INTO decisions ({COLUMNS}) "));
            q.push_values(rows.iter().zip(ids), |mut b, (row, ids)| {
                let d = &row.decision;
                b.push_bind(self.run_id)
                    .push_bind(d.period.to_string())
                    .push_bind(d.beneficiary_id)
                    .push_bind(d.outcome.as_str())
                    .push_bind(amount(d))
                    .push_bind(&d.category)
                    .push_bind(ids.verification)
                    .push_bind(ids.decider)
                    .push_bind(&row.input)
                    .push_bind(row.input.as_ref().map(|_| self.reference))
                    .push_bind(ids.output)
                    .push_bind(&d.error)
                    .push_bind(fuel(d))
                    .push_bind(d.exception)
                    .push_bind(&d.payee.channel)
                    .push_bind(&d.payee.bank_bin)
                    .push_bind(&d.payee.account_number)
                    .push_bind(&d.payee.account_name)
                    .push_bind(&d.payee.name)
                    .push_bind(&d.payee.commune)
                    .push_bind(row.digest.to_vec());
            });
            q.push(" ON CONFLICT (run_id, period, beneficiary_id) DO NOTHING");
            stored += q.build().execute(&mut *conn).await?.rows_affected();
        }
        Ok(stored)
    }

    /// PostgreSQL: the whole batch in one statement, a column an array
    /// (`UNNEST`): 21 parameters whatever the rows, parsed and planned once,
    /// rather than a thousand rows of 21 parameters each.
    async fn insert_unnest(&self, conn: &mut sqlx::PgConnection) -> anyhow::Result<u64> {
        let rows = self.rows;
        let decisions = || rows.iter().map(|r| &r.decision);
        let texts = |f: fn(&NewDecision) -> &str| decisions().map(f).collect::<Vec<&str>>();
        let maybe = |f: fn(&NewDecision) -> Option<&str>| decisions().map(f).collect::<Vec<Option<&str>>>();
        let query = format!(
            "INSERT INTO decisions ({COLUMNS}) SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::text[], \
             $5::bigint[], $6::text[], $7::bigint[], $8::bigint[], $9::bytea[], $10::bigint[], $11::bigint[], \
             $12::text[], $13::bigint[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], \
             $19::text[], $20::text[], $21::bytea[]) \
             ON CONFLICT (run_id, period, beneficiary_id) DO NOTHING"
        );
        let stored = sqlx::query(sqlx::AssertSqlSafe(query))
            .bind(self.run_id)
            .bind(decisions().map(|d| d.period.to_string()).collect::<Vec<String>>())
            .bind(decisions().map(|d| d.beneficiary_id).collect::<Vec<i64>>())
            .bind(texts(|d| d.outcome.as_str()))
            .bind(decisions().map(amount).collect::<Vec<i64>>())
            .bind(maybe(|d| d.category.as_deref()))
            .bind(self.ids.iter().map(|ids| ids.verification).collect::<Vec<i64>>())
            .bind(self.ids.iter().map(|ids| ids.decider).collect::<Vec<i64>>())
            .bind(rows.iter().map(|r| r.input.as_deref()).collect::<Vec<Option<&[u8]>>>())
            .bind(rows.iter().map(|r| r.input.as_ref().map(|_| self.reference)).collect::<Vec<Option<i64>>>())
            .bind(self.ids.iter().map(|ids| ids.output).collect::<Vec<Option<i64>>>())
            .bind(maybe(|d| d.error.as_deref()))
            .bind(decisions().map(fuel).collect::<Vec<i64>>())
            .bind(maybe(|d| d.exception))
            .bind(texts(|d| &d.payee.channel))
            .bind(texts(|d| &d.payee.bank_bin))
            .bind(texts(|d| &d.payee.account_number))
            .bind(texts(|d| &d.payee.account_name))
            .bind(texts(|d| &d.payee.name))
            .bind(texts(|d| &d.payee.commune))
            .bind(rows.iter().map(|r| &r.digest[..]).collect::<Vec<&[u8]>>())
            .execute(conn)
            .await?;
        Ok(stored.rows_affected())
    }
}

fn amount(d: &NewDecision) -> i64 {
    i64::try_from(d.amount).expect("amounts are capped far below i64::MAX")
}

fn fuel(d: &NewDecision) -> i64 {
    i64::try_from(d.fuel).expect("fuel is capped far below i64::MAX")
}

/// Count and monthly total for one outcome of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeTotal {
    pub outcome: Outcome,
    pub count: i64,
    pub amount: i64,
}

pub async fn totals(db: &Db, run_id: i64) -> anyhow::Result<Vec<OutcomeTotal>> {
    let rows: Vec<(String, i64, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT outcome, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM decisions \
             WHERE run_id = $1 GROUP BY outcome ORDER BY outcome",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(outcome, count, amount)| {
            Ok(OutcomeTotal { outcome: Outcome::from_str(&outcome).map_err(anyhow::Error::msg)?, count, amount })
        })
        .collect()
}

/// Plug-in errors of a run, most frequent first: what an officer looks at.
pub async fn error_summary(db: &Db, run_id: i64, limit: i64) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT error, COUNT(*) AS n FROM decisions WHERE run_id = $1 AND error IS NOT NULL \
             GROUP BY error ORDER BY n DESC, error LIMIT $2",
        )
        .bind(run_id)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

/// How many decisions of a run have each kind of exception.
pub async fn exception_counts(db: &Db, run_id: i64) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT exception, COUNT(*) FROM decisions WHERE run_id = $1 AND exception IS NOT NULL \
             GROUP BY exception ORDER BY exception",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
    }))
}

/// One decision an officer must look at.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Exception {
    pub period: String,
    pub beneficiary_id: i64,
    /// The name as enrolled: officers find the person by it.
    pub full_name: String,
    pub amount: i64,
    /// JSON of the verification checks.
    pub verification: String,
    pub error: Option<String>,
}

/// The next `limit` exceptions of one kind after `after` = (period, beneficiary id).
pub async fn exceptions(
    db: &Db,
    run_id: i64,
    kind: &str,
    after: &(String, i64),
    limit: i64,
) -> anyhow::Result<Vec<Exception>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT d.period, d.beneficiary_id, b.full_name, d.amount, d.verification, d.error \
             FROM decision_rows d JOIN beneficiaries b ON b.id = d.beneficiary_id \
             WHERE d.run_id = $1 AND d.exception = $2 \
             AND (d.period, d.beneficiary_id) > ($3, $4) \
             ORDER BY d.period, d.beneficiary_id LIMIT $5",
        )
        .bind(run_id)
        .bind(kind)
        .bind(&after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

/// People, amount per category among those the run pays or lists for cash,
/// for the run's own month.
pub async fn category_totals(db: &Db, run_id: i64, period: &str) -> anyhow::Result<Vec<(String, Total)>> {
    let rows: Vec<(String, i64, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT COALESCE(category, '(none)'), COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM decisions \
             WHERE run_id = $1 AND period = $2 AND outcome IN ('payable', 'held', 'no_account') \
             GROUP BY category ORDER BY category",
        )
        .bind(run_id)
        .bind(period)
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(|(category, count, amount)| (category, Total { count, amount })).collect())
}

/// Outcomes that give a person money this month (by transfer, held, or in cash).
const RECEIVING: &str = "('payable', 'held', 'no_account')";

/// A person whose money differs between two runs' months.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Change {
    pub beneficiary_id: i64,
    pub full_name: String,
    pub before: Option<i64>,
    pub after: Option<i64>,
}

/// Who receives money in `(run, period)` and not in `(other, other_period)`:
/// the `after` amounts; count, total and the first `limit`.
pub async fn only_in(
    db: &Db,
    (run, period): (i64, &str),
    (other, other_period): (i64, &str),
    limit: i64,
) -> anyhow::Result<(Total, Vec<Change>)> {
    let from = format!(
        "FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id WHERE d.run_id = $1 AND d.period = $2 \
         AND d.outcome IN {RECEIVING} AND NOT EXISTS (SELECT 1 FROM decisions e WHERE e.run_id = $3 \
         AND e.period = $4 AND e.beneficiary_id = d.beneficiary_id AND e.outcome IN {RECEIVING})"
    );
    let totals = format!("SELECT COUNT(*), CAST(COALESCE(SUM(d.amount), 0) AS BIGINT) {from}");
    let list = format!(
        "SELECT d.beneficiary_id, b.full_name, CAST(NULL AS BIGINT) AS before, d.amount AS after {from} \
         ORDER BY d.beneficiary_id LIMIT $5"
    );
    Ok(on_pool!(db, pool => {
        let total: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(totals))
            .bind(run).bind(period).bind(other).bind(other_period)
            .fetch_one(pool).await?;
        let changes = sqlx::query_as(sqlx::AssertSqlSafe(list))
            .bind(run).bind(period).bind(other).bind(other_period).bind(limit)
            .fetch_all(pool).await?;
        (Total::from(total), changes)
    }))
}

/// Who receives money in both, with a different amount: count, the net change
/// and the first `limit`.
pub async fn changed(
    db: &Db,
    (run, period): (i64, &str),
    (before_run, before_period): (i64, &str),
    limit: i64,
) -> anyhow::Result<(Total, Vec<Change>)> {
    let from = format!(
        "FROM decisions d JOIN decisions e ON e.beneficiary_id = d.beneficiary_id AND e.run_id = $3 \
         AND e.period = $4 AND e.outcome IN {RECEIVING} JOIN beneficiaries b ON b.id = d.beneficiary_id \
         WHERE d.run_id = $1 AND d.period = $2 AND d.outcome IN {RECEIVING} AND d.amount <> e.amount"
    );
    let totals = format!("SELECT COUNT(*), CAST(COALESCE(SUM(d.amount - e.amount), 0) AS BIGINT) {from}");
    let list = format!(
        "SELECT d.beneficiary_id, b.full_name, e.amount AS before, d.amount AS after {from} \
         ORDER BY d.beneficiary_id LIMIT $5"
    );
    Ok(on_pool!(db, pool => {
        let total: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(totals))
            .bind(run).bind(period).bind(before_run).bind(before_period)
            .fetch_one(pool).await?;
        let changes = sqlx::query_as(sqlx::AssertSqlSafe(list))
            .bind(run).bind(period).bind(before_run).bind(before_period).bind(limit)
            .fetch_all(pool).await?;
        (Total::from(total), changes)
    }))
}

/// A decision as stored, every column: what an auditor replays, verifies and
/// exports. Serialised as one line of an audit bundle.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRow {
    pub run_id: i64,
    pub period: String,
    pub beneficiary_id: i64,
    pub outcome: String,
    pub amount: i64,
    pub category: Option<String>,
    /// Shared with every row of the same verdicts ([`Reader`] reads each once).
    pub verification: Arc<str>,
    #[sqlx(skip)]
    pub plugin_hash: Arc<str>,
    /// None for decisions made before engines were recorded.
    #[sqlx(skip)]
    pub engine: Option<Arc<str>>,
    pub input: Option<String>,
    /// Shared with every row of the same output.
    pub output: Option<Arc<str>>,
    pub error: Option<String>,
    pub fuel: i64,
    pub exception: Option<String>,
    pub channel: String,
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
    pub payee_name: String,
    pub commune: String,
    /// As stored: `trail::digest` of the other fields when it was made (hex).
    #[sqlx(skip)]
    pub digest: Option<String>,
}

/// A decision's key within its run: (month, beneficiary id); decisions are
/// read in this order.
pub type Key = (String, i64);

/// A row of `decisions` as stored: a [`DecisionRow`] whose repeated texts
/// may be ids and whose input may be packed. [`Reader`] makes it whole.
#[derive(sqlx::FromRow)]
struct Stored {
    /// Its `verification` empty where `verification_id` holds it, its
    /// `output` none where `output_id` does, its `input` none where packed.
    #[sqlx(flatten)]
    row: DecisionRow,
    /// The digest's bytes (`row.digest` is their hex).
    sha256: Option<Vec<u8>>,
    /// Its plug-in and engine (`row.plugin_hash`, `row.engine`).
    decider_id: i64,
    verification_id: Option<i64>,
    output_id: Option<i64>,
    input_packed: Option<Vec<u8>>,
    input_base_id: Option<i64>,
}

/// Every column of [`Stored`], of `decisions d`.
macro_rules! stored_columns {
    () => {
        "d.run_id, d.period, d.beneficiary_id, d.outcome, d.amount, d.category, COALESCE(d.verification, '') AS \
         verification, d.input, d.output, d.error, d.fuel, d.exception, d.channel, d.bank_bin, d.account_number, \
         d.account_name, d.payee_name, d.commune, d.digest AS sha256, d.decider_id, d.verification_id, d.output_id, \
         d.input_packed, d.input_base_id"
    };
}

const ONE: &str = concat!(
    "SELECT ",
    stored_columns!(),
    " FROM decisions d WHERE d.run_id = $1 AND d.period = $2 AND d.beneficiary_id = $3"
);

const PAGE: &str = concat!(
    "SELECT ",
    stored_columns!(),
    " FROM decisions d WHERE d.run_id = $1 AND (d.period, d.beneficiary_id) > ($2, $3) \
     ORDER BY d.period, d.beneficiary_id LIMIT $4"
);

/// [`PAGE`], each decision with the ID number it is paid under if it is owed
/// now (`payments::owed!`), else NULL: a run's seal checked and its tally
/// made in one pass. Bound: run, then the key after which ($2, $3), then the limit.
pub const PAGE_OWED: &str = concat!(
    "SELECT ",
    stored_columns!(),
    ", CASE WHEN ",
    super::payments::owed!(),
    " THEN b.id_number END AS owed_to FROM decisions d JOIN runs r ON r.id = d.run_id \
     LEFT JOIN beneficiaries b ON b.id = d.beneficiary_id \
     WHERE d.run_id = $1 AND (d.period, d.beneficiary_id) > ($2, $3) ORDER BY d.period, d.beneficiary_id LIMIT $4"
);

const RANGE: &str = concat!(
    "SELECT ",
    stored_columns!(),
    " FROM decisions d WHERE d.run_id = $1 AND d.period = $2 AND d.beneficiary_id > $3 AND d.beneficiary_id <= $4 \
     ORDER BY d.beneficiary_id LIMIT $5"
);

/// A [`Stored`] row with the ID number it is owed to, if it is ([`PAGE_OWED`]).
#[derive(sqlx::FromRow)]
struct StoredOwed {
    #[sqlx(flatten)]
    stored: Stored,
    owed_to: Option<String>,
}

/// Reads a run's decisions as [`DecisionRow`]s, page by page. A text that
/// repeats (an output, the verdicts, the reference an input was packed
/// against) is read once from `decision_texts` and kept, not read again with
/// every row that refers to it: at 1M rows that is over a gigabyte a pass
/// not moved out of the database.
#[derive(Default)]
pub struct Reader {
    texts: HashMap<i64, Arc<str>>,
    /// Each decider's plug-in and engine, by id: all there are, read when one is not known.
    deciders: HashMap<i64, (Arc<str>, Option<Arc<str>>)>,
    unpacker: Unpacker,
}

impl Reader {
    /// The next page of run `run_id`'s decisions after `after`, in key order.
    pub async fn page(&mut self, db: &Db, run_id: i64, after: &Key, limit: i64) -> anyhow::Result<Vec<DecisionRow>> {
        let stored: Vec<Stored> = on_pool!(db, pool => {
            sqlx::query_as(PAGE).bind(run_id).bind(&after.0).bind(after.1).bind(limit).fetch_all(pool).await?
        });
        self.rows(db, stored).await
    }

    /// The next page of run `run_id`'s decisions for `period`, of the
    /// beneficiaries after `after` up to `upto` (no bound when None), in key
    /// order: a part of a job (`store::parts`).
    pub async fn range(
        &mut self,
        db: &Db,
        run_id: i64,
        period: &str,
        (after, upto): (i64, Option<i64>),
        limit: i64,
    ) -> anyhow::Result<Vec<DecisionRow>> {
        let upto = upto.unwrap_or(i64::MAX);
        let stored: Vec<Stored> = on_pool!(db, pool => {
            sqlx::query_as(RANGE).bind(run_id).bind(period).bind(after).bind(upto).bind(limit).fetch_all(pool).await?
        });
        self.rows(db, stored).await
    }

    /// [`Reader::page`], read in the caller's transaction, each decision with
    /// the ID number it is paid under if it is owed now (what a run would pay:
    /// `payments::owed!`), else None: what approval and issue check against
    /// the run's seal and tally, in one pass over the snapshot they pay from.
    pub async fn page_owed_in(
        &mut self,
        tx: &mut Tx,
        run_id: i64,
        after: &Key,
        limit: i64,
    ) -> anyhow::Result<Vec<(DecisionRow, Option<String>)>> {
        let read: Vec<StoredOwed> = on_tx!(tx, conn => {
            sqlx::query_as(PAGE_OWED).bind(run_id).bind(&after.0).bind(after.1).bind(limit).fetch_all(&mut *conn).await?
        });
        let (stored, owed): (Vec<Stored>, Vec<Option<String>>) =
            read.into_iter().map(|r| (r.stored, r.owed_to)).unzip();
        for ids in self.missing(&stored).chunks(TEXTS_PER_SELECT) {
            let texts: Vec<(i64, String)> =
                on_tx!(tx, conn => sqlx::query_as(texts_by_id(ids)).persistent(false).fetch_all(&mut *conn).await?);
            self.keep(ids, texts)?;
        }
        if self.new_decider(&stored) {
            self.keep_deciders(on_tx!(tx, conn => sqlx::query_as(DECIDERS).fetch_all(&mut *conn).await?));
        }
        stored.into_iter().zip(owed).map(|(row, owed)| Ok((self.row(row)?, owed))).collect()
    }

    /// `stored` made rows, the texts they refer to read from the pool.
    async fn rows(&mut self, db: &Db, stored: Vec<Stored>) -> anyhow::Result<Vec<DecisionRow>> {
        for ids in self.missing(&stored).chunks(TEXTS_PER_SELECT) {
            let texts: Vec<(i64, String)> =
                on_pool!(db, pool => sqlx::query_as(texts_by_id(ids)).persistent(false).fetch_all(pool).await?);
            self.keep(ids, texts)?;
        }
        if self.new_decider(&stored) {
            self.keep_deciders(on_pool!(db, pool => sqlx::query_as(DECIDERS).fetch_all(pool).await?));
        }
        stored.into_iter().map(|row| self.row(row)).collect()
    }

    /// Whether one of `rows` was made by a decider not known yet.
    fn new_decider(&self, rows: &[Stored]) -> bool {
        rows.iter().any(|r| !self.deciders.contains_key(&r.decider_id))
    }

    /// Keep `all` deciders, read by [`DECIDERS`], in place of those known.
    fn keep_deciders(&mut self, all: Vec<(i64, String, Option<String>)>) {
        self.deciders =
            all.into_iter().map(|(id, plugin, engine)| (id, (plugin.into(), engine.map(Arc::from)))).collect();
    }

    /// Keep `texts`, read for `ids`: every one of them, or the database lost a text a decision refers to.
    fn keep(&mut self, ids: &[i64], texts: Vec<(i64, String)>) -> anyhow::Result<()> {
        self.texts.extend(texts.into_iter().map(|(id, text)| (id, Arc::from(text))));
        let lost: Vec<&i64> = ids.iter().filter(|id| !self.texts.contains_key(id)).collect();
        anyhow::ensure!(
            lost.is_empty(),
            "decisions refer to texts that decision_texts no longer holds (ids {lost:?}): the database was changed \
             outside ansinh; restore it from a backup"
        );
        Ok(())
    }

    /// The text ids `rows` refer to that are not kept, each once. Kept texts
    /// are forgotten past [`TEXTS_KEPT`], as the writer's are.
    fn missing(&mut self, rows: &[Stored]) -> Vec<i64> {
        if self.texts.len() > TEXTS_KEPT {
            self.texts.clear();
        }
        let mut missing: Vec<i64> = rows
            .iter()
            .flat_map(|r| [r.verification_id, r.output_id, r.input_base_id])
            .flatten()
            .filter(|id| !self.texts.contains_key(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        missing
    }

    /// `stored` with its texts in place and its input unpacked, as the plug-in was given it.
    fn row(&mut self, stored: Stored) -> anyhow::Result<DecisionRow> {
        let Stored { mut row, sha256, decider_id, verification_id, output_id, input_packed, input_base_id } = stored;
        row.digest = sha256.map(hex::encode);
        let Some((plugin_hash, engine)) = self.deciders.get(&decider_id) else {
            anyhow::bail!(
                "decisions refer to decider {decider_id}, which deciders no longer holds: the database was changed \
                 outside ansinh; restore it from a backup"
            );
        };
        (row.plugin_hash, row.engine) = (plugin_hash.clone(), engine.clone());
        if let Some(id) = verification_id {
            row.verification = self.texts[&id].clone();
        }
        if let Some(id) = output_id {
            row.output = Some(self.texts[&id].clone());
        }
        if let (Some(packed), Some(base)) = (input_packed, input_base_id) {
            let input = self.unpacker.unpack(&self.texts[&base], &packed).with_context(|| {
                format!(
                    "the stored input of run {}'s decision for {} beneficiary #{} cannot be unpacked: the database \
                     was changed outside ansinh; restore it from a backup",
                    row.run_id, row.period, row.beneficiary_id
                )
            })?;
            row.input = Some(input);
        }
        Ok(row)
    }
}

/// Every decider: a few rows (one a plug-in and engine that ever decided).
const DECIDERS: &str = "SELECT id, plugin_hash, engine FROM deciders";

/// Texts read by one statement.
const TEXTS_PER_SELECT: usize = 500;

/// `SELECT id, text` of the texts `ids`: integers the database gave, written
/// into the statement, which is run unprepared (not `persistent`), so that
/// one-off statements do not push the cached ones out.
fn texts_by_id(ids: &[i64]) -> sqlx::AssertSqlSafe<String> {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    sqlx::AssertSqlSafe(format!("SELECT id, text FROM decision_texts WHERE id IN ({})", ids.join(", ")))
}

/// One decision of run `run_id`, by its key; with the person's name and ID
/// number as enrolled (for the person's own page).
pub async fn one(db: &Db, run_id: i64, key: &Key) -> anyhow::Result<Option<(DecisionRow, String, String)>> {
    let stored: Option<Stored> = on_pool!(db, pool => {
        sqlx::query_as(ONE).bind(run_id).bind(&key.0).bind(key.1).fetch_optional(pool).await?
    });
    let Some(row) = Reader::default().rows(db, stored.into_iter().collect()).await?.pop() else { return Ok(None) };
    let person: (String, String) = on_pool!(db, pool => {
        sqlx::query_as("SELECT full_name, id_number FROM beneficiaries WHERE id = $1")
            .bind(row.beneficiary_id)
            .fetch_one(pool)
            .await?
    });
    Ok(Some((row, person.0, person.1)))
}

/// The next page of a run's keys and stored digests after `after`, in key
/// order, read in `tx` (at seal, so that they are the decisions the run is
/// sealed with; a sample is drawn from the keys). A decision made before
/// digests were kept has none.
pub async fn digests_page(
    tx: &mut Tx,
    run_id: i64,
    after: &Key,
    limit: i64,
) -> anyhow::Result<Vec<(String, i64, Option<String>)>> {
    let page: Vec<(String, i64, Option<Vec<u8>>)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT period, beneficiary_id, digest FROM decisions \
             WHERE run_id = $1 AND (period, beneficiary_id) > ($2, $3) \
             ORDER BY period, beneficiary_id LIMIT $4",
        )
        .bind(run_id)
        .bind(&after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
    });
    Ok(page.into_iter().map(|(period, beneficiary, digest)| (period, beneficiary, digest.map(hex::encode))).collect())
}

/// The beneficiary id of every `every`th decision of run `run_id` for
/// `period`, in order: where to cut its decisions into parts of a job.
pub async fn cuts(db: &Db, run_id: i64, period: &str, every: i64) -> anyhow::Result<Vec<i64>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT beneficiary_id FROM (SELECT beneficiary_id, ROW_NUMBER() OVER (ORDER BY beneficiary_id) AS n \
             FROM decisions WHERE run_id = $1 AND period = $2) AS numbered WHERE n % $3 = 0 ORDER BY beneficiary_id",
        )
        .bind(run_id)
        .bind(period)
        .bind(every)
        .fetch_all(pool)
        .await?
    }))
}

/// How many decisions run `run_id` has.
pub async fn count(db: &Db, run_id: i64) -> anyhow::Result<i64> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM decisions WHERE run_id = $1").bind(run_id).fetch_one(pool).await?
    }))
}

/// The plug-ins and engines a run's decisions were made with.
pub async fn artefacts(db: &Db, run_id: i64) -> anyhow::Result<Vec<(String, Option<String>)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT plugin_hash, engine FROM deciders WHERE id IN (SELECT decider_id FROM decisions WHERE run_id = $1) \
             ORDER BY plugin_hash, engine",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
    }))
}
