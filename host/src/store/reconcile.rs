//! The bank's answers to a run's payments: the status reports applied (`reconciliations`), the
//! latest status of each payment (`payment_statuses`) and the people to check again in the
//! registry (`registry_flags`). What to write is decided by `run::reconcile`; this module reads
//! the state it decides from and writes the outcome, both in the caller's transaction (which
//! also takes the report's audit entry).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{BATCH, Db, Tx, on_pool, on_tx};
use crate::model::Total;

/// A payment of the run, with the status an earlier report gave it, if any.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Stored {
    pub payment_id: i64,
    pub beneficiary_id: i64,
    /// The month paid (YYYY-MM): the run's own, or an earlier one for arrears.
    pub period: String,
    /// `bank` or `ewallet`: which of the run's files carried it.
    pub channel: String,
    pub amount: i64,
    /// `accepted`, `settled` or `rejected`; None before any answer.
    pub status: Option<String>,
    pub bank_status: Option<String>,
    pub reason: Option<String>,
}

/// A payment's new status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub payment_id: i64,
    pub status: &'static str,
    pub bank_status: String,
    pub reason: Option<String>,
}

/// A person to check again in the registry because of a payment's rejection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    pub payment_id: i64,
    pub beneficiary_id: i64,
    pub reason: String,
}

/// What one report writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Writes {
    pub changes: Vec<Change>,
    pub flags: Vec<Flag>,
    /// Problems reported, recorded with the report.
    pub problems: i64,
}

/// The status report being applied.
pub struct Report<'a> {
    pub file: &'a str,
    pub sha256: &'a str,
    pub message_id: &'a str,
    pub original_message_id: &'a str,
    pub transactions: i64,
    pub by: &'a str,
}

/// What [`apply`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub reconciliation_id: i64,
    /// Who applied this same file to this run before, and when: nothing new was recorded then.
    pub earlier: Option<(String, DateTime<Utc>)>,
    /// Registry flags that did not exist before.
    pub new_flags: u64,
    /// Payment statuses written.
    pub statuses_written: usize,
    /// Problems reported, recorded with the report.
    pub problems: i64,
}

impl Applied {
    /// Whether the report changed anything: recorded for the first time, or a new status or flag.
    pub fn changed_anything(&self) -> bool {
        self.earlier.is_none() || self.statuses_written > 0 || self.new_flags > 0
    }
}

/// A run's payments with their statuses.
const PAYMENTS: &str = "SELECT p.id AS payment_id, p.beneficiary_id, p.period, p.channel, p.amount, s.status, \
     s.bank_status, s.reason FROM payments p LEFT JOIN payment_statuses s ON s.payment_id = p.id WHERE p.run_id = $1";

/// A run's payments as they stand, by id: what a report is read against
/// (which payments there are, their month, file and amount, none of which
/// changes once issued). Their statuses are read again under the run's lock.
pub async fn payments_of(db: &Db, run_id: i64) -> anyhow::Result<HashMap<i64, Stored>> {
    let stored: Vec<Stored> = on_pool!(db, pool => sqlx::query_as(PAYMENTS).bind(run_id).fetch_all(pool).await?);
    Ok(stored.into_iter().map(|s| (s.payment_id, s)).collect())
}

/// The approved runs, not yet issued, that would pay (by transfer or in cash)
/// someone whom reconciliation `reconciliation_id` flagged as reported
/// deceased: each with its approval and those people's beneficiary ids.
pub async fn approved_runs_paying_flagged(
    tx: &mut Tx,
    reconciliation_id: i64,
) -> anyhow::Result<Vec<(i64, String, Vec<i64>)>> {
    let rows: Vec<(i64, Option<String>, i64)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT DISTINCT r.id, r.approval, d.beneficiary_id FROM runs r \
             JOIN decisions d ON d.run_id = r.id AND d.outcome IN ('payable', 'no_account') \
             JOIN beneficiaries b ON b.id = d.beneficiary_id \
             WHERE r.status = 'approved' AND b.id_number IN (SELECT fb.id_number FROM registry_flags f \
             JOIN beneficiaries fb ON fb.id = f.beneficiary_id \
             WHERE f.reconciliation_id = $1 AND f.cleared_at IS NULL) \
             ORDER BY r.id, d.beneficiary_id",
        )
        .bind(reconciliation_id)
        .fetch_all(conn)
        .await?
    });
    let mut runs: Vec<(i64, String, Vec<i64>)> = Vec::new();
    for (run, approval, beneficiary) in rows {
        match runs.last_mut() {
            Some((last, _, people)) if *last == run => people.push(beneficiary),
            _ => runs.push((run, approval.unwrap_or_default(), vec![beneficiary])),
        }
    }
    Ok(runs)
}

/// In the caller's transaction: lock the run (it must be issued or reconciled), read its
/// payments with their statuses, let `decide` say what to write, write it, record the report
/// (once per file and run) and move the run to `reconciled` once any payment has an answer.
/// `decide` sees the state under the lock, so two reports applied at once cannot both judge
/// from a stale one.
pub async fn apply<T>(
    tx: &mut Tx,
    run_id: i64,
    report: &Report<'_>,
    decide: impl FnOnce(&HashMap<i64, Stored>) -> (Writes, T),
) -> anyhow::Result<(Applied, T)> {
    // A write first: PostgreSQL locks the row, SQLite takes its write lock, until commit.
    let locked = on_tx!(&mut *tx, conn => {
        sqlx::query("UPDATE runs SET status = status WHERE id = $1 AND status IN ('issued', 'reconciled')")
            .bind(run_id)
            .execute(conn)
            .await?
            .rows_affected()
    });
    if locked != 1 {
        anyhow::bail!("run {run_id} is not issued: only an issued run's payments can be reconciled");
    }
    let stored: Vec<Stored> = on_tx!(&mut *tx, conn => {
        sqlx::query_as(PAYMENTS).bind(run_id).fetch_all(conn).await?
    });
    let stored: HashMap<i64, Stored> = stored.into_iter().map(|s| (s.payment_id, s)).collect();
    let (writes, decided) = decide(&stored);

    let earlier: Option<(i64, String, DateTime<Utc>)> = on_tx!(&mut *tx, conn => {
        sqlx::query_as(
            "SELECT id, reconciled_by, reconciled_at FROM reconciliations WHERE run_id = $1 AND sha256 = $2",
        )
        .bind(run_id)
        .bind(report.sha256)
        .fetch_optional(conn)
        .await?
    });
    let now = Utc::now();
    let reconciliation_id = match &earlier {
        Some((id, _, _)) => *id,
        None => on_tx!(&mut *tx, conn => {
            sqlx::query_scalar(
                "INSERT INTO reconciliations (run_id, file, sha256, message_id, original_message_id, transactions, \
                 problems, reconciled_by, reconciled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(run_id)
            .bind(report.file)
            .bind(report.sha256)
            .bind(report.message_id)
            .bind(report.original_message_id)
            .bind(report.transactions)
            .bind(writes.problems)
            .bind(report.by)
            .bind(now)
            .fetch_one(conn)
            .await?
        }),
    };
    for chunk in writes.changes.chunks(BATCH) {
        on_tx!(&mut *tx, conn => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO payment_statuses (payment_id, status, bank_status, reason, reconciliation_id) ",
            );
            q.push_values(chunk, |mut b, c| {
                b.push_bind(c.payment_id)
                    .push_bind(c.status)
                    .push_bind(&c.bank_status)
                    .push_bind(&c.reason)
                    .push_bind(reconciliation_id);
            });
            q.push(
                " ON CONFLICT (payment_id) DO UPDATE SET status = excluded.status, bank_status = excluded.bank_status, \
                 reason = excluded.reason, reconciliation_id = excluded.reconciliation_id",
            );
            q.build().execute(conn).await?;
        });
    }
    // A rejection is final, and a rejected payment no longer counts as paid: the
    // key on payments (one not rejected per person, programme and month) then
    // lets the person be paid again, once, by a later run.
    let rejected: Vec<i64> = writes.changes.iter().filter(|c| c.status == "rejected").map(|c| c.payment_id).collect();
    for chunk in rejected.chunks(BATCH) {
        on_tx!(&mut *tx, conn => {
            let mut q = sqlx::QueryBuilder::new("UPDATE payments SET rejected = TRUE WHERE id IN (");
            let mut ids = q.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            q.push(")");
            q.build().execute(conn).await?;
        });
    }
    let mut new_flags = 0;
    for chunk in writes.flags.chunks(BATCH) {
        new_flags += on_tx!(&mut *tx, conn => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO registry_flags (beneficiary_id, reason, payment_id, reconciliation_id, flagged_by, \
                 flagged_at) ",
            );
            q.push_values(chunk, |mut b, f| {
                b.push_bind(f.beneficiary_id)
                    .push_bind(&f.reason)
                    .push_bind(f.payment_id)
                    .push_bind(reconciliation_id)
                    .push_bind(report.by)
                    .push_bind(now);
            });
            q.push(" ON CONFLICT (payment_id, reason) DO NOTHING");
            q.build().execute(conn).await?.rows_affected()
        });
    }
    on_tx!(&mut *tx, conn => {
        sqlx::query(
            "UPDATE runs SET status = 'reconciled' WHERE id = $1 AND status = 'issued' AND EXISTS \
             (SELECT 1 FROM payment_statuses s JOIN payments p ON p.id = s.payment_id WHERE p.run_id = $1)",
        )
        .bind(run_id)
        .execute(conn)
        .await?;
    });
    let applied = Applied {
        reconciliation_id,
        earlier: earlier.map(|(_, by, at)| (by, at)),
        new_flags,
        statuses_written: writes.changes.len(),
        problems: writes.problems,
    };
    Ok((applied, decided))
}

/// How a run's payments stand with the bank, for `run show`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// Settled payments.
    pub settled: Total,
    /// Accepted, not yet settled.
    pub accepted: Total,
    /// Rejected, by reason code (`None`: no reason given), most frequent first.
    pub rejected: Vec<(Option<String>, Total)>,
    /// No answer yet.
    pub unanswered: Total,
}

impl Standing {
    /// Whether any report has answered for any payment.
    pub fn any_answer(&self) -> bool {
        self.settled.count + self.accepted.count + self.rejected.iter().map(|(_, t)| t.count).sum::<i64>() > 0
    }
}

/// Payments of a run by their latest status.
pub async fn standing(db: &Db, run_id: i64) -> anyhow::Result<Standing> {
    let rows: Vec<(Option<String>, Option<String>, i64, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT s.status, s.reason, COUNT(*), CAST(SUM(p.amount) AS BIGINT) \
             FROM payments p LEFT JOIN payment_statuses s ON s.payment_id = p.id WHERE p.run_id = $1 \
             GROUP BY s.status, s.reason ORDER BY COUNT(*) DESC, s.reason",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
    });
    let mut standing = Standing::default();
    for (status, reason, count, amount) in rows {
        let total = Total { count, amount };
        match status.as_deref() {
            None => standing.unanswered = total,
            Some("settled") => standing.settled = total,
            Some("accepted") => standing.accepted = total,
            Some("rejected") => standing.rejected.push((reason, total)),
            Some(other) => anyhow::bail!("run {run_id}: unknown payment status {other:?} in the database"),
        }
    }
    Ok(standing)
}

/// A payment the bank rejected, with the person and the account it went to.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Rejected {
    pub period: String,
    pub beneficiary_id: i64,
    pub full_name: String,
    pub channel: String,
    pub bank_bin: String,
    pub account_number: String,
    /// The first reason code (`AC04`…), when the bank gave one.
    pub reason: Option<String>,
}

/// How many of run `run_id`'s payments the bank rejected, and the first `limit` of them.
pub async fn rejected(db: &Db, run_id: i64, limit: i64) -> anyhow::Result<(i64, Vec<Rejected>)> {
    Ok(on_pool!(db, pool => {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM payments p JOIN payment_statuses s ON s.payment_id = p.id \
             WHERE p.run_id = $1 AND s.status = 'rejected'",
        )
        .bind(run_id)
        .fetch_one(pool)
        .await?;
        let first = sqlx::query_as(
            "SELECT p.period, p.beneficiary_id, b.full_name, p.channel, p.bank_bin, p.account_number, s.reason \
             FROM payments p JOIN payment_statuses s ON s.payment_id = p.id \
             JOIN beneficiaries b ON b.id = p.beneficiary_id WHERE p.run_id = $1 AND s.status = 'rejected' \
             ORDER BY p.period, p.beneficiary_id LIMIT $2",
        )
        .bind(run_id)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        (count, first)
    }))
}
