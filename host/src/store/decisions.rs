//! Decisions: what each beneficiary was given, what the plug-in returned, the
//! outcome for payment, and the fuel it cost.

use std::collections::HashMap;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::model::{Month, Outcome, Total};

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

/// A decision and its digest (`trail::digest` of its canonical record),
/// made by the thread that decided it, so that the one writer only writes.
#[derive(Clone, Debug)]
pub struct Decided {
    pub decision: NewDecision,
    pub digest: String,
}

impl NewDecision {
    /// This decision with its digest, as decided in run `run_id`.
    pub fn digested(self, run_id: i64) -> Decided {
        let digest = self.digest(run_id, &self.period.to_string());
        Decided { decision: self, digest }
    }
}

/// Rows per INSERT of decisions: 23 bound values a row, well under SQLite's
/// 32,766 and PostgreSQL's 65,535 a statement.
const ROWS_PER_INSERT: usize = 1000;

/// Texts kept by [`Writer`] before it starts its list again: a plug-in whose
/// every output differs must not grow it without end.
const TEXTS_KEPT: usize = 100_000;

/// Writes a run's decisions, each text that repeats (the plug-in's outputs,
/// the registry checks' verdicts) once in `decision_texts`: it remembers the
/// id of each text it stored or found.
#[derive(Default)]
pub struct Writer {
    texts: HashMap<String, i64>,
}

impl Writer {
    /// Store decisions of run `run_id` in one transaction. A decision already
    /// stored for the same run, month and beneficiary is kept: a resumed run
    /// never decides twice. Only while the run is being evaluated: its row is
    /// locked first, so a batch of another evaluator cannot land after the run
    /// is sealed (`run.evaluate`).
    pub async fn write(&mut self, db: &Db, run_id: i64, rows: &[Decided]) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // Texts first, each in a statement of its own that commits at once:
        // a text no decision refers to (the batch failed below) is harmless,
        // and an id remembered is one that stays.
        if self.texts.len() > TEXTS_KEPT {
            self.texts.clear();
        }
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            let d = &row.decision;
            let verification = self.id(db, &d.verification).await?;
            let output = match &d.output {
                Some(output) => Some(self.id(db, output).await?),
                None => None,
            };
            ids.push((verification, output));
        }
        let mut tx = db.begin().await?;
        on_tx!(&mut tx, conn => {
            let open = sqlx::query("UPDATE runs SET status = status WHERE id = $1 AND status = 'created'")
                .bind(run_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            anyhow::ensure!(
                open == 1,
                "run {run_id} is no longer being evaluated (another process finished or cancelled it): these \
                 decisions are not stored; `ansinh run show {run_id}` tells where it stands"
            );
            for (rows, ids) in rows.chunks(ROWS_PER_INSERT).zip(ids.chunks(ROWS_PER_INSERT)) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO decisions (run_id, period, beneficiary_id, outcome, amount, category, \
                     verification_id, plugin_hash, input, output_id, error, fuel, exception, channel, bank_bin, \
                     account_number, account_name, payee_name, commune, engine, digest) ",
                );
                q.push_values(rows.iter().zip(ids), |mut b, (row, (verification, output))| {
                    let d = &row.decision;
                    b.push_bind(run_id)
                        .push_bind(d.period.to_string())
                        .push_bind(d.beneficiary_id)
                        .push_bind(d.outcome.as_str())
                        .push_bind(i64::try_from(d.amount).expect("amounts are capped far below i64::MAX"))
                        .push_bind(&d.category)
                        .push_bind(*verification)
                        .push_bind(&d.plugin_hash)
                        .push_bind(&d.input)
                        .push_bind(*output)
                        .push_bind(&d.error)
                        .push_bind(i64::try_from(d.fuel).expect("fuel is capped far below i64::MAX"))
                        .push_bind(d.exception)
                        .push_bind(&d.payee.channel)
                        .push_bind(&d.payee.bank_bin)
                        .push_bind(&d.payee.account_number)
                        .push_bind(&d.payee.account_name)
                        .push_bind(&d.payee.name)
                        .push_bind(&d.payee.commune)
                        .push_bind(&d.engine)
                        .push_bind(&row.digest);
                });
                q.push(" ON CONFLICT (run_id, period, beneficiary_id) DO NOTHING");
                q.build().execute(&mut *conn).await?;
            }
        });
        tx.commit().await
    }

    /// The id of `text` in `decision_texts`, stored now if it is not there.
    async fn id(&mut self, db: &Db, text: &str) -> anyhow::Result<i64> {
        if let Some(id) = self.texts.get(text) {
            return Ok(*id);
        }
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        // A no-op update where the text is there already, so that RETURNING gives its id either way.
        let id: i64 = on_pool!(db, pool => {
            sqlx::query_scalar(
                "INSERT INTO decision_texts (sha256, text) VALUES ($1, $2) \
                 ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256 RETURNING id",
            )
            .bind(&sha256)
            .bind(text)
            .fetch_one(pool)
            .await?
        });
        self.texts.insert(text.to_owned(), id);
        Ok(id)
    }
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
    pub verification: String,
    pub plugin_hash: String,
    /// None for decisions made before engines were recorded.
    pub engine: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub fuel: i64,
    pub exception: Option<String>,
    pub channel: String,
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
    pub payee_name: String,
    pub commune: String,
    /// As stored: `trail::digest` of the other fields when it was made.
    pub digest: Option<String>,
}

/// A decision's key within its run: (month, beneficiary id); decisions are
/// read in this order.
pub type Key = (String, i64);

/// The next page of a run's decisions after `after`, in key order.
pub async fn page(db: &Db, run_id: i64, after: &Key, limit: i64) -> anyhow::Result<Vec<DecisionRow>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(PAGE).bind(run_id).bind(&after.0).bind(after.1).bind(limit).fetch_all(pool).await?
    }))
}

/// [`page`], read in the caller's transaction: what approval and issue check
/// against the run's seal in the snapshot they pay from.
pub async fn page_in(tx: &mut Tx, run_id: i64, after: &Key, limit: i64) -> anyhow::Result<Vec<DecisionRow>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as(PAGE).bind(run_id).bind(&after.0).bind(after.1).bind(limit).fetch_all(&mut *conn).await?
    }))
}

/// One decision of run `run_id`, by its key; with the person's name and ID
/// number as enrolled (for the person's own page).
pub async fn one(db: &Db, run_id: i64, key: &Key) -> anyhow::Result<Option<(DecisionRow, String, String)>> {
    let row: Option<DecisionRow> = on_pool!(db, pool => {
        sqlx::query_as(ONE).bind(run_id).bind(&key.0).bind(key.1).fetch_optional(pool).await?
    });
    let Some(row) = row else { return Ok(None) };
    let person: (String, String) = on_pool!(db, pool => {
        sqlx::query_as("SELECT full_name, id_number FROM beneficiaries WHERE id = $1")
            .bind(row.beneficiary_id)
            .fetch_one(pool)
            .await?
    });
    Ok(Some((row, person.0, person.1)))
}

/// Every column of [`DecisionRow`], from `decisions`, then `$rest`.
macro_rules! select_rows {
    ($rest:literal) => {
        concat!(
            "SELECT run_id, period, beneficiary_id, outcome, amount, category, verification, plugin_hash, engine, \
             input, output, error, fuel, exception, channel, bank_bin, account_number, account_name, payee_name, \
             commune, digest FROM decision_rows ",
            $rest
        )
    };
}

const ONE: &str = select_rows!("WHERE run_id = $1 AND period = $2 AND beneficiary_id = $3");

const PAGE: &str =
    select_rows!("WHERE run_id = $1 AND (period, beneficiary_id) > ($2, $3) ORDER BY period, beneficiary_id LIMIT $4");

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
    Ok(on_tx!(tx, conn => {
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
        sqlx::query_as("SELECT DISTINCT plugin_hash, engine FROM decisions WHERE run_id = $1 ORDER BY plugin_hash, engine")
            .bind(run_id)
            .fetch_all(pool)
            .await?
    }))
}
