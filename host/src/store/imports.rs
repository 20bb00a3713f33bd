//! The record of imports: which file (by content), how many rows, who, and
//! whether it is still loading (`import::load` says why one can be).

use chrono::{DateTime, Utc};

use super::{Db, Tx, on_pool, on_tx};

/// Record an import of `file` (of this `sha256`) beginning, `loading`; its
/// id. A loading import of the same kind and file, left by a process that
/// stopped midway, is taken over: this one finishes it.
pub async fn begin(tx: &mut Tx, kind: &'static str, file: &str, sha256: &str, by: &str) -> anyhow::Result<i64> {
    let now = Utc::now();
    {
        let unfinished: Option<i64> = on_tx!(tx, conn => {
            sqlx::query_scalar(
                "UPDATE imports SET file = $1, imported_by = $2, imported_at = $3 \
                 WHERE id = (SELECT MIN(id) FROM imports WHERE kind = $4 AND sha256 = $5 AND state = 'loading') \
                 RETURNING id",
            )
            .bind(file)
            .bind(by)
            .bind(now)
            .bind(kind)
            .bind(sha256)
            .fetch_optional(conn)
            .await?
        });
        if let Some(id) = unfinished {
            tracing::info!(import = id, "finishing an import begun earlier");
            return Ok(id);
        }
    }
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar(
            "INSERT INTO imports (kind, file, sha256, rows, skipped, imported_by, imported_at, state) \
             VALUES ($1, $2, $3, 0, 0, $4, $5, 'loading') RETURNING id",
        )
        .bind(kind)
        .bind(file)
        .bind(sha256)
        .bind(by)
        .bind(now)
        .fetch_one(conn)
        .await?
    }))
}

/// Record import `id` done, in the transaction of its audit entry (and on PostgreSQL of its rows).
pub async fn finish(tx: &mut Tx, id: i64, rows: u64, skipped: u64) -> anyhow::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE imports SET state = 'done', rows = $1, skipped = $2, imported_at = $3 WHERE id = $4")
        .bind(rows as i64)
        .bind(skipped as i64)
        .bind(Utc::now())
        .bind(id)
        .execute(conn)
        .await
        .map(drop)?
    });
    Ok(())
}

/// An import begun and not done.
#[derive(Debug, sqlx::FromRow)]
pub struct Loading {
    pub id: i64,
    pub kind: String,
    pub file: String,
    pub sha256: String,
    #[sqlx(rename = "imported_by")]
    pub by: String,
    #[sqlx(rename = "imported_at")]
    pub at: DateTime<Utc>,
}

/// The first import still loading, if any.
pub async fn loading(db: &Db) -> anyhow::Result<Option<Loading>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, kind, file, sha256, imported_by, imported_at FROM imports WHERE state = 'loading' \
             ORDER BY id LIMIT 1",
        )
        .fetch_optional(pool)
        .await?
    }))
}
