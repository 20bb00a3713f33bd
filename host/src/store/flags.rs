//! Registry flags: people a bank reported deceased (MD07, written by
//! `run reconcile`), whose payments are held until an officer has checked the
//! registry and cleared the flag.

use chrono::{DateTime, Utc};

use super::{Db, Tx, on_pool, on_tx};

/// An open flag, with the enrolled name an officer looks the person up by.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Flag {
    pub beneficiary_id: i64,
    pub full_name: String,
    pub province: String,
    pub reason: String,
    pub payment_id: i64,
    pub flagged_by: String,
    pub flagged_at: DateTime<Utc>,
}

/// Every open flag, oldest first.
pub async fn open(db: &Db) -> anyhow::Result<Vec<Flag>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT f.beneficiary_id, b.full_name, b.province, f.reason, f.payment_id, f.flagged_by, f.flagged_at \
             FROM registry_flags f JOIN beneficiaries b ON b.id = f.beneficiary_id \
             WHERE f.cleared_at IS NULL ORDER BY f.flagged_at, f.id",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// Clear the open flags of a beneficiary's person (all their enrolments: a
/// flag holds every one of them) as `by`, for `reason`; how many were open.
pub async fn clear(tx: &mut Tx, beneficiary_id: i64, by: &str, reason: &str) -> anyhow::Result<u64> {
    Ok(on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE registry_flags SET cleared_by = $2, cleared_at = $3, clear_reason = $4 \
             WHERE cleared_at IS NULL AND beneficiary_id IN (SELECT o.id FROM beneficiaries o \
             JOIN beneficiaries b ON b.id_number = o.id_number WHERE b.id = $1)",
        )
        .bind(beneficiary_id)
        .bind(by)
        .bind(Utc::now())
        .bind(reason)
        .execute(conn)
        .await?
        .rows_affected()
    }))
}
