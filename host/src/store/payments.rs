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
/// later commits): approval's checksum and what it records come from the same
/// data. SQLite has one writer at a time, which gives the same; its long check
/// of the run is read before the write lock is taken
/// ([`Db::begin_read_first`], whose `attempt` this takes).
pub async fn snapshot(db: &Db, attempt: Attempt) -> anyhow::Result<Tx> {
    let mut tx = db.begin_read_first(attempt).await?;
    serializable(&mut tx).await?;
    Ok(tx)
}

/// Make `tx`, just begun, SERIALIZABLE on PostgreSQL (SQLite's one writer at a
/// time already is).
async fn serializable(tx: &mut Tx) -> anyhow::Result<()> {
    if let Tx::Postgres(tx) = tx {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").execute(&mut **tx).await?;
    }
    Ok(())
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

/// How many of a run's decisions one part of its issue covers. On SQLite a
/// part's transaction holds the write lock, and so any other writer (a
/// server's sign-ins): 1,000 decisions, a few milliseconds; many parts cost
/// little more than one there (a range probe and a commit, which does not wait
/// for the disk). On PostgreSQL parts of 10,000 took a 1M issue as long as
/// parts of 1,000 (75.33 s against 75.59, `bench/million.sh`, one run each):
/// its time is not in the parts' number.
pub const ISSUE_PART: i64 = 1_000;

/// A decision's key, `(period, beneficiary_id)`: where a part of an issue
/// ends, and the next begins.
pub type Key = (String, i64);

/// Move approved run `run` to issuing as `by`, and fix the treasury accounts
/// it pays from, in the caller's transaction: its payments are inserted next,
/// in parts ([`pay_part`]). False, with nothing done, when the run was not
/// approved (being issued already, or moved by another process).
pub async fn begin_issue(tx: &mut Tx, run: &Run, treasury: &Treasury, by: &str) -> anyhow::Result<bool> {
    let (bank, wallet) = (&treasury.bank, treasury.ewallet.as_ref());
    let moved = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE runs SET status = 'issuing', issued_at = $2, payer_name = $3, payer_account = $4, payer_bin = $5, \
             issued_by = $6, ewallet_payer_name = $7, ewallet_payer_account = $8, ewallet_payer_bin = $9, \
             bank_csv = $10 WHERE id = $1 AND status = 'approved'",
        )
        .bind(run.id)
        .bind(Utc::now())
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
        .rows_affected()
    });
    Ok(moved == 1)
}

/// A transaction for one part of an issue, or of its undoing: on SQLite it
/// holds the write lock from the start (the part is short); on PostgreSQL it
/// is SERIALIZABLE, so that two runs issued at once cannot both pay one
/// person, once by transfer and once in cash, which no single unique key
/// spans; tried again by `store::retry_serializable`; and it plans each
/// statement for its own bounds.
/// A plan made once for any bounds (PostgreSQL's generic plan, which it may
/// take for a statement prepared and run five times) cannot tell a part from
/// the whole run: forced generic, a part at 100,000 people joined its
/// thousand decisions to every enrolment by a hash (EXPLAIN ANALYZE, 39 ms
/// against 21 ms planned for its bounds), and the enrolments grow with the
/// province. Planning a part costs about 2 ms a statement.
pub async fn part_tx(db: &Db) -> anyhow::Result<Tx> {
    let mut tx = db.begin().await?;
    serializable(&mut tx).await?;
    if let Tx::Postgres(tx) = &mut tx {
        sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut **tx).await?;
    }
    Ok(tx)
}

/// Whether run `run_id` is issuing, read in `tx`; on PostgreSQL its row is
/// locked until `tx` ends, so that the run cannot leave 'issuing' (its issue
/// undone) while a part is inserted.
async fn is_issuing(tx: &mut Tx, run_id: i64) -> anyhow::Result<bool> {
    let status: String = match tx {
        Tx::Sqlite(tx) => {
            sqlx::query_scalar("SELECT status FROM runs WHERE id = $1").bind(run_id).fetch_one(&mut **tx).await?
        }
        Tx::Postgres(tx) => {
            sqlx::query_scalar("SELECT status FROM runs WHERE id = $1 FOR SHARE")
                .bind(run_id)
                .fetch_one(&mut **tx)
                .await?
        }
    };
    Ok(status == "issuing")
}

/// What one part of an issue did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Paid the decisions after the key it was given, up to this one (or,
    /// its month done, up to the first of the next: `(next, i64::MIN)`).
    Paid(Key),
    /// Paid those after it to the last.
    Last,
    /// Nothing: the run is no longer issuing.
    NotIssuing,
}

/// The transfers of a part ([`pay_part`]): the payable decisions of run $1
/// in month $2 with beneficiary ids in ($3, $4], not held, and not on a cash
/// list of that month; anyone paid by another run is dropped by the unique
/// key.
const PAY_TRANSFERS: &str = concat!(
    "INSERT INTO payments (run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, \
     account_number, account_name) \
     SELECT d.run_id, d.beneficiary_id, r.program, d.period, b.id_number, d.amount, d.channel, d.bank_bin, \
     d.account_number, d.account_name \
     FROM decisions d JOIN runs r ON r.id = d.run_id JOIN beneficiaries b ON b.id = d.beneficiary_id \
     WHERE d.run_id = $1 AND d.outcome = 'payable' \
     AND d.period = $2 AND d.beneficiary_id > $3 AND d.beneficiary_id <= $4 AND NOT ",
    holds::held!(),
    " AND NOT EXISTS (SELECT 1 FROM cash_payments c WHERE c.program = r.program AND c.period = d.period \
     AND c.id_number = b.id_number LIMIT 1 OFFSET 0) \
     ORDER BY d.period, d.beneficiary_id \
     ON CONFLICT (program, period, id_number) WHERE NOT rejected DO NOTHING",
);

/// The cash list of a part, as [`PAY_TRANSFERS`] for the decisions with no
/// account (not paid by transfer that month), under the registry's name,
/// kept with the decision: the one on the ID card VNPost checks.
const PAY_CASH: &str = concat!(
    "INSERT INTO cash_payments (run_id, beneficiary_id, program, period, id_number, amount, full_name, commune) \
     SELECT d.run_id, d.beneficiary_id, r.program, d.period, b.id_number, d.amount, d.payee_name, d.commune \
     FROM decisions d JOIN runs r ON r.id = d.run_id JOIN beneficiaries b ON b.id = d.beneficiary_id \
     WHERE d.run_id = $1 AND d.outcome = 'no_account' \
     AND d.period = $2 AND d.beneficiary_id > $3 AND d.beneficiary_id <= $4 AND NOT ",
    holds::held!(),
    // One index probe per person (`LIMIT 1 OFFSET 0`, as in `page`):
    // PostgreSQL's statistics may still say that payments, filled by this
    // issue, is empty, and it planned a scan of all of them for each person
    // (39 s for the 2,000 of a 50,000-person demo).
    " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.program = r.program AND p.period = d.period \
     AND p.id_number = b.id_number AND NOT p.rejected LIMIT 1 OFFSET 0) \
     ORDER BY d.period, d.beneficiary_id \
     ON CONFLICT (program, period, id_number) DO NOTHING",
);

/// Insert the payments and the cash list of the [`ISSUE_PART`] decisions of
/// issuing run `run` that follow key `after` (None: from its first), in the
/// caller's transaction ([`part_tx`]). The unique keys (program, period,
/// id_number) drop anyone paid by another run, and a person listed for cash
/// by another run is not paid by transfer too (nor the other way round), as
/// in `owed!`. Inserting a part again inserts nothing: the rows are there.
///
/// A part lies within one month (a run of back pay has several): bounded by
/// the month and a range of beneficiary ids, both ends bound the index scan.
/// Bounded by a row comparison, `(period, beneficiary_id) <= (…)`, PostgreSQL
/// ended its scan by the month alone, and each part read the rest of the run:
/// at a million people the issue took 152 s where one INSERT had taken 36.
pub async fn pay_part(tx: &mut Tx, run: &Run, after: Option<&Key>) -> anyhow::Result<Part> {
    if !is_issuing(tx, run.id).await? {
        return Ok(Part::NotIssuing);
    }
    let (period, after) = match after {
        Some((period, after)) => (period.clone(), *after),
        None => match next_month(tx, run.id, "").await? {
            Some(period) => (period, i64::MIN),
            None => return Ok(Part::Last),
        },
    };
    let end: Option<i64> = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT beneficiary_id FROM decisions WHERE run_id = $1 AND period = $2 AND beneficiary_id > $3 \
             ORDER BY beneficiary_id LIMIT 1 OFFSET $4",
        )
        .bind(run.id)
        .bind(&period)
        .bind(after)
        .bind(ISSUE_PART - 1)
        .fetch_optional(&mut *conn)
        .await?
    });
    let upto = end.unwrap_or(i64::MAX);
    on_tx!(tx, conn => {
        for insert in [PAY_TRANSFERS, PAY_CASH] {
            sqlx::query(insert).bind(run.id).bind(&period).bind(after).bind(upto).execute(&mut *conn).await?;
        }
    });
    Ok(match end {
        Some(end) => Part::Paid((period, end)),
        // The month is done: the next part begins the next month, if any.
        None => match next_month(tx, run.id, &period).await? {
            Some(next) => Part::Paid((next, i64::MIN)),
            None => Part::Last,
        },
    })
}

/// The first month after `period` that run `run_id` decided, in `tx`.
async fn next_month(tx: &mut Tx, run_id: i64, period: &str) -> anyhow::Result<Option<String>> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT MIN(period) FROM decisions WHERE run_id = $1 AND period > $2")
            .bind(run_id)
            .bind(period)
            .fetch_one(&mut *conn)
            .await?
    }))
}

/// Where the parts of issuing run `run_id` inserted so far end: the key of
/// the last decision paid, in transfer or cash (None: nothing yet). Parts go
/// in key order, each whole or not at all, so every decision up to it has
/// been through one; an issue resumed after a crash goes on from there.
pub async fn paid_up_to(db: &Db, run_id: i64) -> anyhow::Result<Option<Key>> {
    let (payment, cash): (Option<Key>, Option<Key>) = on_pool!(db, pool => {
        (
            sqlx::query_as("SELECT period, beneficiary_id FROM payments WHERE run_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(run_id)
                .fetch_optional(pool)
                .await?,
            sqlx::query_as(
                "SELECT period, beneficiary_id FROM cash_payments WHERE run_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(run_id)
            .fetch_optional(pool)
            .await?,
        )
    });
    Ok(payment.max(cash))
}

/// How many decisions run `run_id` has up to key `through` (none if None),
/// and how many in all: how far its issue is.
pub async fn decisions_through(db: &Db, run_id: i64, through: Option<&Key>) -> anyhow::Result<(u64, u64)> {
    let first = (String::new(), 0);
    let through = through.unwrap_or(&first);
    let (done, total): (i64, i64) = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT COUNT(CASE WHEN (period, beneficiary_id) <= ($2, $3) THEN 1 END), COUNT(*) FROM decisions \
             WHERE run_id = $1",
        )
        .bind(run_id)
        .bind(&through.0)
        .bind(through.1)
        .fetch_one(pool)
        .await?
    });
    Ok((done.try_into()?, total.try_into()?))
}

/// After the last part, on PostgreSQL: count the rows just inserted. The
/// files and `audit verify` read the run's payments a page at a time,
/// planned by statistics that may still say the tables are empty: at a
/// million people a page then took 0.3-0.5 s instead of milliseconds (the
/// slow-statement log of a 1M demo, 790 pages).
pub async fn analyze(db: &Db) -> anyhow::Result<()> {
    if let Db::Postgres(pool) = db {
        sqlx::query("ANALYZE payments, cash_payments").execute(pool).await?;
    }
    Ok(())
}

/// The payments and cash lines of run `run_id` that are not what their
/// decision owes, read in `tx`: each must come from a decision of the run with
/// its outcome (payable: a transfer; no account: cash), its amount and payee,
/// to the ID number of its enrolment, not held, not rejected. Zero both, with
/// as many lines and đồng as approved, is what was approved, line for line:
/// the unique keys allow one line per person and month.
pub async fn strays(tx: &mut Tx, run_id: i64) -> anyhow::Result<(i64, i64)> {
    Ok(on_tx!(tx, conn => {
        let transfers = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM payments p JOIN runs r ON r.id = p.run_id \
             LEFT JOIN decisions d ON d.run_id = p.run_id AND d.period = p.period AND d.beneficiary_id = p.beneficiary_id \
             LEFT JOIN beneficiaries b ON b.id = d.beneficiary_id \
             WHERE p.run_id = $1 AND NOT COALESCE(d.outcome = 'payable' AND p.program = r.program \
             AND p.id_number = b.id_number AND p.amount = d.amount AND p.channel = d.channel \
             AND p.bank_bin = d.bank_bin AND p.account_number = d.account_number \
             AND p.account_name = d.account_name AND NOT p.rejected AND NOT ",
            holds::held!(),
            ", FALSE)",
        ))
        .bind(run_id)
        .fetch_one(&mut *conn)
        .await?;
        let cash = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM cash_payments c JOIN runs r ON r.id = c.run_id \
             LEFT JOIN decisions d ON d.run_id = c.run_id AND d.period = c.period AND d.beneficiary_id = c.beneficiary_id \
             LEFT JOIN beneficiaries b ON b.id = d.beneficiary_id \
             WHERE c.run_id = $1 AND NOT COALESCE(d.outcome = 'no_account' AND c.program = r.program \
             AND c.id_number = b.id_number AND c.amount = d.amount AND c.full_name = d.payee_name \
             AND c.commune = d.commune AND NOT ",
            holds::held!(),
            ", FALSE)",
        ))
        .bind(run_id)
        .fetch_one(&mut *conn)
        .await?;
        (transfers, cash)
    }))
}

/// Take out up to [`ISSUE_PART`] of the payments and of the cash lines of issuing run
/// `run_id`, whose issue is being undone, in the caller's transaction
/// ([`part_tx`]): how many it took out (0: none are left).
pub async fn take_out_part(tx: &mut Tx, run_id: i64) -> anyhow::Result<u64> {
    if !is_issuing(tx, run_id).await? {
        return Ok(0);
    }
    Ok(on_tx!(tx, conn => {
        let mut taken = 0;
        for delete in [
            "DELETE FROM payments WHERE id IN (SELECT id FROM payments WHERE run_id = $1 ORDER BY id LIMIT $2)",
            "DELETE FROM cash_payments WHERE id IN \
             (SELECT id FROM cash_payments WHERE run_id = $1 ORDER BY id LIMIT $2)",
        ] {
            taken += sqlx::query(delete).bind(run_id).bind(ISSUE_PART).execute(&mut *conn).await?.rows_affected();
        }
        taken
    }))
}

/// Move issuing run `run_id` back to approved, its issue undone, in the
/// caller's transaction: what is left of its payments and cash lines is
/// taken out (none, after [`take_out_part`] to the last), and so are the
/// accounts and time its issue fixed. False, with nothing done, when it was
/// not issuing.
pub async fn undo_issue(tx: &mut Tx, run_id: i64) -> anyhow::Result<bool> {
    let moved = on_tx!(tx, conn => {
        let moved = sqlx::query(
            "UPDATE runs SET status = 'approved', issued_at = NULL, issued_by = NULL, payer_name = NULL, \
             payer_account = NULL, payer_bin = NULL, ewallet_payer_name = NULL, ewallet_payer_account = NULL, \
             ewallet_payer_bin = NULL, bank_csv = FALSE WHERE id = $1 AND status = 'issuing'",
        )
        .bind(run_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if moved == 1 {
            for delete in ["DELETE FROM payments WHERE run_id = $1", "DELETE FROM cash_payments WHERE run_id = $1"] {
                sqlx::query(delete).bind(run_id).execute(&mut *conn).await?;
            }
        }
        moved
    });
    Ok(moved == 1)
}

/// Move issuing run `run_id` to issued, in the caller's transaction. False,
/// with nothing done, when it was not issuing (another process issued it, or
/// undid its issue, first).
pub async fn end_issue(tx: &mut Tx, run_id: i64) -> anyhow::Result<bool> {
    let moved = on_tx!(tx, conn => {
        sqlx::query("UPDATE runs SET status = 'issued' WHERE id = $1 AND status = 'issuing'")
            .bind(run_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(moved == 1)
}

/// What an issued run issued: read back from the stored rows, so that issuing
/// again reports (and writes) what the first issue did.
pub async fn issued(db: &Db, run: &Run, first_time: bool) -> anyhow::Result<Issued> {
    let (issued_at, treasury) = stamped(db, run.id).await?;
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
    Ok(Issued { issued_at, first_time, treasury, count, total, already_paid, held })
}

/// When run `run_id`'s issue began (its files' CreDtTm) and the accounts it
/// pays from, as fixed then.
pub async fn stamped(db: &Db, run_id: i64) -> anyhow::Result<(DateTime<Utc>, Treasury)> {
    let stamp: Stamp = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT issued_at, payer_name, payer_account, payer_bin, ewallet_payer_name, ewallet_payer_account, \
             ewallet_payer_bin, bank_csv FROM runs WHERE id = $1",
        )
        .bind(run_id)
        .fetch_one(pool)
        .await?
    });
    let stored = || anyhow::anyhow!("run {run_id} is issued but its issue time or payer is missing");
    let bank = Payer {
        name: stamp.payer_name.ok_or_else(stored)?,
        account: stamp.payer_account.ok_or_else(stored)?,
        bin: stamp.payer_bin.ok_or_else(stored)?,
    };
    let ewallet = match (stamp.ewallet_payer_name, stamp.ewallet_payer_account, stamp.ewallet_payer_bin) {
        (Some(name), Some(account), Some(bin)) => Some(Payer { name, account, bin }),
        (None, None, None) => None,
        _ => anyhow::bail!("run {run_id}: its e-wallet debtor account is stored in part only"),
    };
    let treasury = Treasury { bank, ewallet, bank_csv: stamp.bank_csv };
    Ok((stamp.issued_at.ok_or_else(stored)?, treasury))
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
