//! Payments: the money a run sends, one row per person, programme and month;
//! and the cash list, the people VNPost pays at the counter.

use chrono::{DateTime, Utc};

use crate::model::Total;
use crate::payment::{Payer, Treasury};

use super::runs::Run;
use super::{Attempt, Db, Tx, holds, on_pool, on_tx};

/// What `issue` found or did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// When the run was issued: set once, then the CreDtTm of its file forever.
    pub issued_at: DateTime<Utc>,
    /// False when the run had been issued before: nothing new was paid.
    pub first_time: bool,
    pub count: i64,
    pub total: i64,
    /// The accounts paid from, as fixed by the first issue.
    pub treasury: Treasury,
    /// Payable decisions left out because the person is already paid for this
    /// programme and month by another run.
    pub already_paid: i64,
    /// Payable decisions left out because the person is held (`holds`).
    pub held: i64,
}

/// A transaction that reads one snapshot throughout and commits only if it
/// could have run alone (PostgreSQL's default would let each statement see
/// later commits): approval's checksum and the payments inserted at issue
/// come from the same data, and two runs issued at once cannot both pay one
/// person, once by transfer and once in cash, which no single unique key
/// spans. SQLite has one writer at a time, which gives the same; its long
/// check of the run is read before the write lock is taken
/// ([`Db::begin_read_first`], whose `attempt` this takes).
pub async fn snapshot(db: &Db, attempt: Attempt) -> anyhow::Result<Tx> {
    let mut tx = db.begin_read_first(attempt).await?;
    if let Tx::Postgres(tx) = &mut tx {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").execute(&mut **tx).await?;
    }
    Ok(tx)
}

/// One snapshot to read from, writing nothing: what a run's page and `run
/// show` read the tally from. On SQLite it takes no write lock (a page read
/// over a million decisions must not hold up the writers, nor wait behind an
/// import); on PostgreSQL it is REPEATABLE READ, READ ONLY.
pub async fn read_snapshot(db: &Db) -> anyhow::Result<Tx> {
    let mut tx = db.snapshot().await?;
    if let Tx::Postgres(tx) = &mut tx {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut **tx).await?;
    }
    Ok(tx)
}

/// The approval recorded on a run, read in the caller's transaction.
pub async fn approval_in(tx: &mut Tx, run_id: i64) -> anyhow::Result<Option<String>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT approval FROM runs WHERE id = $1").bind(run_id).fetch_one(&mut *conn).await?
    }))
}

/// Move an approved run to issued, fix its treasury accounts, and insert its
/// payments and its cash list, in the caller's transaction: the unique keys
/// (program, period, id_number) drop anyone paid by another run, and a person
/// listed for cash by another run is not paid by transfer too (nor the other
/// way round), as in `owed!`. Its issue time as stored (what its files
/// carry); None, with nothing done, when the run was not approved (issued
/// already, or moved by another process).
pub async fn start_issue(
    tx: &mut Tx,
    run: &Run,
    treasury: &Treasury,
    by: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let now = Utc::now();
    let (bank, wallet) = (&treasury.bank, treasury.ewallet.as_ref());
    let moved = on_tx!(tx, conn => {
        let moved = sqlx::query(
            "UPDATE runs SET status = 'issued', issued_at = $2, payer_name = $3, payer_account = $4, payer_bin = $5, \
             issued_by = $6, ewallet_payer_name = $7, ewallet_payer_account = $8, ewallet_payer_bin = $9, \
             bank_csv = $10 WHERE id = $1 AND status = 'approved'",
        )
        .bind(run.id)
        .bind(now)
        .bind(&bank.name)
        .bind(&bank.account)
        .bind(&bank.bin)
        .bind(by)
        .bind(wallet.map(|w| &w.name))
        .bind(wallet.map(|w| &w.account))
        .bind(wallet.map(|w| &w.bin))
        .bind(treasury.bank_csv)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if moved == 1 {
            sqlx::query(concat!(
                "INSERT INTO payments (run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, \
                 account_number, account_name) \
                 SELECT d.run_id, d.beneficiary_id, r.program, d.period, b.id_number, d.amount, d.channel, d.bank_bin, \
                 d.account_number, d.account_name \
                 FROM decisions d JOIN runs r ON r.id = d.run_id JOIN beneficiaries b ON b.id = d.beneficiary_id \
                 WHERE d.run_id = $1 AND d.outcome = 'payable' AND NOT ",
                holds::held!(),
                " AND NOT EXISTS (SELECT 1 FROM cash_payments c WHERE c.program = r.program AND c.period = d.period \
                 AND c.id_number = b.id_number LIMIT 1 OFFSET 0) \
                 ORDER BY d.period, d.beneficiary_id \
                 ON CONFLICT (program, period, id_number) WHERE NOT rejected DO NOTHING",
            ))
            .bind(run.id)
            .execute(&mut *conn)
            .await?;
            // The registry's name, kept with the decision, is the one on the ID card VNPost checks.
            sqlx::query(concat!(
                "INSERT INTO cash_payments (run_id, beneficiary_id, program, period, id_number, amount, full_name, \
                 commune) \
                 SELECT d.run_id, d.beneficiary_id, r.program, d.period, b.id_number, d.amount, d.payee_name, d.commune \
                 FROM decisions d JOIN runs r ON r.id = d.run_id JOIN beneficiaries b ON b.id = d.beneficiary_id \
                 WHERE d.run_id = $1 AND d.outcome = 'no_account' AND NOT ",
                holds::held!(),
                // One index probe per person (`LIMIT 1 OFFSET 0`, as in `page`): the
                // payments were inserted just above, in this transaction, so
                // PostgreSQL's statistics still say the table is empty, and it
                // planned a scan of all of them for each person (39 s for the
                // 2,000 of a 50,000-person demo).
                " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.program = r.program AND p.period = d.period \
                 AND p.id_number = b.id_number AND NOT p.rejected LIMIT 1 OFFSET 0) \
                 ORDER BY d.period, d.beneficiary_id \
                 ON CONFLICT (program, period, id_number) DO NOTHING",
            ))
            .bind(run.id)
            .execute(&mut *conn)
            .await?;
        }
        moved
    });
    // What comes next in this transaction (the files, every line checked as
    // it is written) and after it (`audit verify`) reads the run's
    // payments a page at a time. PostgreSQL plans those pages by statistics
    // that still say the tables are empty: at a million people a page then
    // took 0.3-0.5 s instead of milliseconds (the slow-statement log of a 1M
    // demo, 790 pages). ANALYZE, allowed in a transaction, counts the rows it
    // has just inserted; its statistics are committed with the payments.
    if moved == 1
        && let Tx::Postgres(tx) = tx
    {
        sqlx::query("ANALYZE payments, cash_payments").execute(&mut **tx).await?;
    }
    if moved == 0 {
        return Ok(None);
    }
    // Read back, not the value bound: what the database keeps of it (PostgreSQL
    // to the microsecond) is what the files are made again from.
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT issued_at FROM runs WHERE id = $1").bind(run.id).fetch_one(&mut *conn).await?
    }))
}

/// What an issued run issued: read back from the stored rows, so that issuing
/// again reports (and writes) what the first issue did.
pub async fn issued(db: &Db, run: &Run, first_time: bool) -> anyhow::Result<Issued> {
    let stamp: Stamp = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT issued_at, payer_name, payer_account, payer_bin, ewallet_payer_name, ewallet_payer_account, \
             ewallet_payer_bin, bank_csv FROM runs WHERE id = $1",
        )
        .bind(run.id)
        .fetch_one(pool)
        .await?
    });
    let stored = || anyhow::anyhow!("run {} is issued but its issue time or payer is missing", run.id);
    let bank = Payer {
        name: stamp.payer_name.ok_or_else(stored)?,
        account: stamp.payer_account.ok_or_else(stored)?,
        bin: stamp.payer_bin.ok_or_else(stored)?,
    };
    let ewallet = match (stamp.ewallet_payer_name, stamp.ewallet_payer_account, stamp.ewallet_payer_bin) {
        (Some(name), Some(account), Some(bin)) => Some(Payer { name, account, bin }),
        (None, None, None) => None,
        _ => anyhow::bail!("run {}: its e-wallet debtor account is stored in part only", run.id),
    };
    let treasury = Treasury { bank, ewallet, bank_csv: stamp.bank_csv };
    let issued_at = stamp.issued_at;
    let Total { count, amount: total } = totals(db, run.id).await?;
    // Each payment of the run comes from one of its payable decisions (foreign
    // key), so the payable decisions without a payment, less those held, are the difference.
    let (payable, held): (i64, i64) = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(h.run_id) FROM decisions d LEFT JOIN holds h ON h.run_id = d.run_id \
             AND h.period = d.period AND h.beneficiary_id = d.beneficiary_id \
             WHERE d.run_id = $1 AND d.outcome = 'payable'",
        )
        .bind(run.id)
        .fetch_one(pool)
        .await?
    });
    let already_paid = payable - held - count;
    Ok(Issued { issued_at: issued_at.ok_or_else(stored)?, first_time, treasury, count, total, already_paid, held })
}

/// What `issued` reads of a run.
#[derive(sqlx::FromRow)]
struct Stamp {
    issued_at: Option<DateTime<Utc>>,
    payer_name: Option<String>,
    payer_account: Option<String>,
    payer_bin: Option<String>,
    ewallet_payer_name: Option<String>,
    ewallet_payer_account: Option<String>,
    ewallet_payer_bin: Option<String>,
    bank_csv: bool,
}

/// Whether decision `d` (of run `r`, its beneficiary `b`) is owed now: an SQL
/// condition, for `concat!` into the query that reads what a run would pay
/// (`decisions::Reader::page_owed_in`). Its payable and no-account decisions,
/// less the people held ([`holds`]) and those another run has paid for that
/// month, by transfer or in cash. (`LIMIT 1 OFFSET 0`: one index probe per
/// person, never an anti-join planned by statistics that say a table just
/// filled is empty; see `beneficiaries::pending`. At 1M on PostgreSQL the join
/// took 70 s a page.) What approval approves, and what issue checks again in
/// its own transaction.
macro_rules! owed {
    () => {
        concat!(
            "d.outcome IN ('payable', 'no_account') AND NOT ",
            $crate::store::holds::held!(),
            " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.program = r.program AND p.period = d.period \
             AND p.id_number = b.id_number AND p.run_id <> r.id AND NOT p.rejected LIMIT 1 OFFSET 0) \
             AND NOT EXISTS (SELECT 1 FROM cash_payments c WHERE c.program = r.program AND c.period = d.period \
             AND c.id_number = b.id_number AND c.run_id <> r.id LIMIT 1 OFFSET 0)"
        )
    };
}
pub(crate) use owed;

/// Number and sum of a run's payments.
pub async fn totals(db: &Db, run_id: i64) -> anyhow::Result<Total> {
    let row: (i64, i64) = on_pool!(db, pool => {
        sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(pool)
            .await?
    });
    Ok(row.into())
}

/// Number and sum of a run's payments by one channel (`bank`, `ewallet`), read in `tx`.
pub async fn channel_totals(tx: &mut Tx, run_id: i64, channel: &str) -> anyhow::Result<Total> {
    let row: (i64, i64) = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE run_id = $1 AND channel = $2",
        )
        .bind(run_id)
        .bind(channel)
        .fetch_one(&mut *conn)
        .await?
    });
    Ok(row.into())
}

/// Number and sum of a run's cash list, read in `tx`.
pub async fn cash_totals(tx: &mut Tx, run_id: i64) -> anyhow::Result<Total> {
    let row: (i64, i64) = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM cash_payments WHERE run_id = $1",
        )
        .bind(run_id)
        .fetch_one(&mut *conn)
        .await?
    });
    Ok(row.into())
}

/// A payment row, every column: what the run.issue entry's digest covers, and
/// what the files are made from (`run::files`).
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct PaymentRow {
    pub id: i64,
    pub run_id: i64,
    pub beneficiary_id: i64,
    pub program: String,
    pub period: String,
    pub id_number: String,
    pub amount: i64,
    pub channel: String,
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
}

/// A cash list row, every column.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct CashRow {
    pub id: i64,
    pub run_id: i64,
    pub beneficiary_id: i64,
    pub program: String,
    pub period: String,
    pub id_number: String,
    pub amount: i64,
    pub full_name: String,
    pub commune: String,
}

/// The next page of a run's payments (every channel) after id `after`, in id order, in `tx`.
pub async fn rows_in(tx: &mut Tx, run_id: i64, after: i64, limit: i64) -> anyhow::Result<Vec<PaymentRow>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT id, run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, account_number, \
             account_name FROM payments WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
    }))
}

/// The next page of a run's cash list after id `after`, in id order, in `tx`.
pub async fn cash_rows_in(tx: &mut Tx, run_id: i64, after: i64, limit: i64) -> anyhow::Result<Vec<CashRow>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT id, run_id, beneficiary_id, program, period, id_number, amount, full_name, commune \
             FROM cash_payments WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(run_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
    }))
}
