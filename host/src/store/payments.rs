//! Payments: the money a run sends, one row per person, programme and month.

use chrono::{DateTime, Utc};

use crate::payment::Payer;

use super::runs::Run;
use super::{Db, Tx, on_pool, on_tx};

/// What `issue` found or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// When the run was issued: set once, then the CreDtTm of its file forever.
    pub issued_at: DateTime<Utc>,
    /// False when the run had been issued before: nothing new was paid.
    pub first_time: bool,
    pub count: i64,
    pub total: i64,
    /// The account paid from, as fixed by the first issue.
    pub payer: Payer,
    /// Payable decisions left out because the person is already paid for this
    /// programme and month by another run.
    pub already_paid: i64,
}

/// A transaction that reads one snapshot throughout (PostgreSQL's default
/// would let each statement see later commits): approval's checksum and the
/// payments inserted at issue must come from the same data.
pub async fn snapshot(db: &Db) -> anyhow::Result<Tx> {
    let mut tx = db.begin().await?;
    if let Tx::Postgres(tx) = &mut tx {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut **tx).await?;
    }
    Ok(tx)
}

/// Move an approved run to issued and insert its payments, in the caller's
/// transaction: the unique key (program, period, id_number) drops anyone paid
/// by another run. False, with nothing done, when the run was not approved
/// (issued already, or moved by another process).
pub async fn start_issue(tx: &mut Tx, run: &Run, payer: &Payer, by: &str) -> anyhow::Result<bool> {
    let now = Utc::now();
    let moved = on_tx!(tx, conn => {
        let moved = sqlx::query(
            "UPDATE runs SET status = 'issued', issued_at = $2, payer_name = $3, payer_account = $4, payer_bin = $5, \
             issued_by = $6 WHERE id = $1 AND status = 'approved'",
        )
        .bind(run.id)
        .bind(now)
        .bind(&payer.name)
        .bind(&payer.account)
        .bind(&payer.bin)
        .bind(by)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if moved == 1 {
            sqlx::query(
                "INSERT INTO payments (run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, \
                 account_number, account_name) \
                 SELECT d.run_id, d.beneficiary_id, r.program, d.period, b.id_number, d.amount, b.channel, b.bank_bin, \
                 b.account_number, b.account_name \
                 FROM decisions d JOIN runs r ON r.id = d.run_id JOIN beneficiaries b ON b.id = d.beneficiary_id \
                 WHERE d.run_id = $1 AND d.outcome = 'payable' \
                 ORDER BY d.period, d.beneficiary_id \
                 ON CONFLICT (program, period, id_number) DO NOTHING",
            )
            .bind(run.id)
            .execute(&mut *conn)
            .await?;
        }
        moved
    });
    Ok(moved == 1)
}

/// What an issued run issued: read back from the stored rows, so that issuing
/// again reports (and writes) what the first issue did.
pub async fn issued(db: &Db, run: &Run, first_time: bool) -> anyhow::Result<Issued> {
    type Stamp = (Option<DateTime<Utc>>, Option<String>, Option<String>, Option<String>);
    let (issued_at, name, account, bin): Stamp = on_pool!(db, pool => {
        sqlx::query_as("SELECT issued_at, payer_name, payer_account, payer_bin FROM runs WHERE id = $1")
            .bind(run.id)
            .fetch_one(pool)
            .await?
    });
    let stored = || anyhow::anyhow!("run {} is issued but its issue time or payer is missing", run.id);
    let payer =
        Payer { name: name.ok_or_else(stored)?, account: account.ok_or_else(stored)?, bin: bin.ok_or_else(stored)? };
    let (count, total) = totals(db, run.id).await?;
    // Each payment of the run comes from one of its payable decisions (foreign
    // key), so the payable decisions without a payment are the difference.
    let payable: i64 = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM decisions WHERE run_id = $1 AND outcome = 'payable'")
            .bind(run.id)
            .fetch_one(pool)
            .await?
    });
    let already_paid = payable - count;
    Ok(Issued { issued_at: issued_at.ok_or_else(stored)?, first_time, payer, count, total, already_paid })
}

/// One line of what a run would pay: a transfer (payable) or a cash payment
/// through VNPost (no account), with where the money goes.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ToPay {
    pub period: String,
    pub beneficiary_id: i64,
    pub outcome: String,
    pub id_number: String,
    pub amount: i64,
    pub channel: String,
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
}

/// The next page of what `run_id` would pay, after `after` = (period,
/// beneficiary id), in that order: its payable and no-account decisions, less
/// the people another run has paid for that month. What approval approves, and
/// what issue checks again in its own transaction.
pub async fn to_pay_page(tx: &mut Tx, run_id: i64, after: &(String, i64), limit: i64) -> anyhow::Result<Vec<ToPay>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT d.period, d.beneficiary_id, d.outcome, b.id_number, d.amount, b.channel, b.bank_bin, \
             b.account_number, b.account_name \
             FROM decisions d JOIN runs r ON r.id = d.run_id JOIN beneficiaries b ON b.id = d.beneficiary_id \
             WHERE d.run_id = $1 AND d.outcome IN ('payable', 'no_account') \
             AND (d.period > $2 OR (d.period = $2 AND d.beneficiary_id > $3)) \
             AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.program = r.program AND p.period = d.period \
             AND p.id_number = b.id_number AND p.run_id <> r.id) \
             ORDER BY d.period, d.beneficiary_id LIMIT $4",
        )
        .bind(run_id)
        .bind(&after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
    }))
}

/// Number and sum of a run's payments.
pub async fn totals(db: &Db, run_id: i64) -> anyhow::Result<(i64, i64)> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(pool)
            .await?
    }))
}

/// One payment, as written to a file.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Payment {
    pub id: i64,
    pub beneficiary_id: i64,
    /// The month paid (YYYY-MM): the run's own, or an earlier one for arrears.
    pub period: String,
    pub amount: i64,
    pub channel: String,
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
}

/// The next page of a run's payments after `after` (by id), in id order: the
/// file is written page by page, the same order every time.
pub async fn page(db: &Db, run_id: i64, after: i64, limit: i64) -> anyhow::Result<Vec<Payment>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, beneficiary_id, period, amount, channel, bank_bin, account_number, account_name FROM payments \
             WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}
