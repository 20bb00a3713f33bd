//! People held from a run's payment for what happened since its evaluation:
//! the enrolment's account is no longer the one the decision was sealed with,
//! or a bank has reported the person deceased (MD07) and no officer has cleared
//! it. A sealed decision is never edited; the hold stands beside it.
//!
//! Who is held is a condition on the current data ([`HELD`]), the same in what
//! an approver approves, in what issue pays and in what `run show` lists; the
//! approval records the people it left out (`holds`, with a `run.hold` entry).

use chrono::{DateTime, Utc};

use super::{Db, Tx, on_pool, on_tx};

/// Why a person is held. Their text forms are stored.
pub const ACCOUNT_CHANGED: &str = "account_changed";
pub const DEATH_REPORTED: &str = "death_reported";

/// The decision's payee is no longer the enrolment's (`d` a decision, `b` its
/// beneficiary): the account was changed since the evaluation, and the
/// decision would pay the old one.
macro_rules! account_changed {
    () => {
        "(d.channel <> b.channel OR d.bank_bin <> b.bank_bin OR d.account_number <> b.account_number \
         OR d.account_name <> b.account_name)"
    };
}
pub(crate) use account_changed;

/// A bank reported the person deceased and no officer has cleared it.
///
/// Flags are rare: whether any stands is asked once a statement (an
/// uncorrelated subquery: SQLite runs it once, PostgreSQL makes it an
/// InitPlan), and only then is each person looked up. Without the guard,
/// every decision of a run probed the beneficiaries by ID number to find no flag:
/// 0.35 of 1.1 s of the owed check over 200,000 decisions on SQLite, paid by
/// the proposal, the approval, the issue and `audit verify` each. A list of
/// the flagged (`IN (SELECT ...)`) is as quick but leaves PostgreSQL free to
/// scan the list again for every row when its statistics say the run is small.
macro_rules! death_reported {
    () => {
        "(EXISTS (SELECT 1 FROM registry_flags WHERE cleared_at IS NULL) AND EXISTS (SELECT 1 FROM registry_flags f \
         JOIN beneficiaries fb ON fb.id = f.beneficiary_id WHERE fb.id_number = b.id_number AND f.cleared_at IS NULL))"
    };
}
pub(crate) use death_reported;

/// Whether the owed decision `d` of beneficiary `b` is held now: an SQL
/// condition, for `concat!` into the queries of what is paid.
macro_rules! held {
    () => {
        concat!("(", $crate::store::holds::account_changed!(), " OR ", $crate::store::holds::death_reported!(), ")")
    };
}
pub(crate) use held;

/// One person held from a run's payment.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Hold {
    pub period: String,
    pub beneficiary_id: i64,
    /// The enrolled name, to show; the audit log names people by beneficiary id only.
    #[serde(skip)]
    pub full_name: String,
    /// [`ACCOUNT_CHANGED`] or [`DEATH_REPORTED`] (the first that holds, in that order).
    pub reason: String,
    /// For a changed account: the account sealed and the one enrolled now, masked.
    pub detail: String,
}

/// The people of `run_id` who would be paid (by transfer or in cash) but are
/// held now, in key order, read in the caller's transaction.
pub async fn current(tx: &mut Tx, run_id: i64) -> anyhow::Result<Vec<Hold>> {
    const SQL: &str = concat!(
        "SELECT d.period, d.beneficiary_id, b.full_name, \
         CASE WHEN ",
        account_changed!(),
        " THEN 'account_changed' ELSE 'death_reported' END AS reason, \
         CASE WHEN ",
        account_changed!(),
        " THEN d.channel || ' ' || d.bank_bin || ' ' || d.account_number || ' → ' || b.channel || ' ' || \
         b.bank_bin || ' ' || b.account_number ELSE 'MD07 reported, not cleared' END AS detail \
         FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id \
         WHERE d.run_id = $1 AND d.outcome IN ('payable', 'no_account') AND ",
        account_changed!(),
        " OR d.run_id = $1 AND d.outcome IN ('payable', 'no_account') AND ",
        death_reported!(),
        " ORDER BY d.period, d.beneficiary_id"
    );
    let holds: Vec<Hold> = on_tx!(tx, conn => {
        sqlx::query_as(SQL).bind(run_id).fetch_all(&mut *conn).await?
    });
    Ok(holds.into_iter().map(Hold::masked).collect())
}

impl Hold {
    /// Account numbers are shown as logs show ID numbers: their last digits only.
    fn masked(mut self) -> Hold {
        if self.reason == ACCOUNT_CHANGED {
            self.detail = self
                .detail
                .split(' ')
                .map(|word| {
                    // Longer than a 6-digit BIN, which is public: an account.
                    if word.len() > 6 && word.bytes().all(|b| b.is_ascii_digit()) {
                        crate::identity::masked(word)
                    } else {
                        word.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
        }
        self
    }
}

/// Record `holds` as the people run `run_id`'s approval left out, replacing
/// what an earlier (void) approval recorded.
pub async fn record(tx: &mut Tx, run_id: i64, holds: &[Hold], by: &str) -> anyhow::Result<()> {
    let now = Utc::now();
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM holds WHERE run_id = $1").bind(run_id).execute(&mut *conn).await?;
        for chunk in holds.chunks(super::BATCH) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO holds (run_id, period, beneficiary_id, reason, detail, held_by, held_at) ",
            );
            q.push_values(chunk, |mut b, h| {
                b.push_bind(run_id)
                    .push_bind(&h.period)
                    .push_bind(h.beneficiary_id)
                    .push_bind(&h.reason)
                    .push_bind(&h.detail)
                    .push_bind(by)
                    .push_bind(now);
            });
            q.build().execute(&mut *conn).await?;
        }
    });
    Ok(())
}

/// A recorded hold, with the enrolled name an officer looks the person up by.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Recorded {
    pub period: String,
    pub beneficiary_id: i64,
    pub full_name: String,
    pub reason: String,
    pub detail: String,
    pub held_by: String,
    pub held_at: DateTime<Utc>,
}

/// The people run `run_id`'s approval left out, in key order.
pub async fn of_run(db: &Db, run_id: i64) -> anyhow::Result<Vec<Recorded>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT h.period, h.beneficiary_id, b.full_name, h.reason, h.detail, h.held_by, h.held_at \
             FROM holds h JOIN beneficiaries b ON b.id = h.beneficiary_id WHERE h.run_id = $1 \
             ORDER BY h.period, h.beneficiary_id",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
    }))
}
