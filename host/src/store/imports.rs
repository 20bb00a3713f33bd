//! The record of committed imports: which file (by content), how many rows, who.

use chrono::Utc;

use super::{Tx, on_tx};

/// One committed import.
pub struct Import<'a> {
    /// `registry` or `enrolment`.
    pub kind: &'static str,
    pub file: &'a str,
    pub sha256: &'a str,
    pub rows: u64,
    pub skipped: u64,
    pub by: &'a str,
}

/// Record `import` in the transaction that loads it, so both land or neither; its id.
pub async fn record(tx: &mut Tx, import: &Import<'_>) -> anyhow::Result<i64> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar(
            "INSERT INTO imports (kind, file, sha256, rows, skipped, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(import.kind)
        .bind(import.file)
        .bind(import.sha256)
        .bind(import.rows as i64)
        .bind(import.skipped as i64)
        .bind(import.by)
        .bind(Utc::now())
        .fetch_one(conn)
        .await?
    }))
}
