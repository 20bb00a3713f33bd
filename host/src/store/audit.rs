//! The audit log's tables: `audit_log` (append-only, hash-chained),
//! `audit_head` (the chain's tip) and `engines` (engine identities by id).
//! The chain's rules live in `trail::log`; this is only its SQL.

use super::{Db, Tx, on_pool, on_tx};

/// One stored entry, as stored: every field is what its hash covers.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Move the tip one entry on and return the new entry's number and the hash
/// it follows. Being a write, it queues appenders on the tip's row lock
/// (PostgreSQL) or the write lock (SQLite) until this transaction ends.
pub async fn advance_head(tx: &mut Tx) -> anyhow::Result<(i64, String)> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(conn)
            .await?
    }))
}

/// Take the tip's lock now, for a long transaction that appends at its end: on
/// PostgreSQL, a SERIALIZABLE transaction whose snapshot is older than another
/// append would otherwise fail only when it appends; locked first, it fails at
/// once if at all (and is retried), and other appenders wait for it instead.
/// SQLite needs nothing: a writing transaction holds its only write lock.
pub async fn lock_head(tx: &mut Tx) -> anyhow::Result<()> {
    if let Tx::Postgres(tx) = tx {
        sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE").execute(&mut **tx).await?;
    }
    Ok(())
}

/// Store `entry` and make it the tip.
pub async fn insert(tx: &mut Tx, entry: &Entry) -> anyhow::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.seq)
        .bind(&entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(&entry.details)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&entry.hash).execute(&mut *conn).await?;
    });
    Ok(())
}

/// The highest run id there is, in `tx` (0 for none).
pub async fn last_run(tx: &mut Tx) -> anyhow::Result<i64> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM runs").fetch_one(&mut *conn).await?
    }))
}

/// The tip as recorded: the number and hash of the last entry appended.
pub async fn head(db: &Db) -> anyhow::Result<(i64, String)> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(pool).await?
    }))
}

/// `SELECT <every column> FROM audit_log <rest>`, as one literal.
macro_rules! select {
    ($rest:literal) => {
        concat!("SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log ", $rest)
    };
}

/// Entries in stored order (by seq) after `after`, at most `limit`.
pub async fn page(db: &Db, after: i64, limit: i64) -> anyhow::Result<Vec<Entry>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(select!("WHERE seq > $1 ORDER BY seq LIMIT $2")).bind(after).bind(limit).fetch_all(pool).await?
    }))
}

/// The entries about `subject` (e.g. `run:12`), oldest first.
pub async fn about(db: &Db, subject: &str) -> anyhow::Result<Vec<Entry>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(select!("WHERE subject = $1 ORDER BY seq")).bind(subject).fetch_all(pool).await?
    }))
}

/// The `run.what_if` entries of a candidate plug-in, oldest first.
pub async fn what_ifs(db: &Db, plugin_hash: &str) -> anyhow::Result<Vec<Entry>> {
    let pattern = format!("%\"candidate\":\"{plugin_hash}\"%");
    Ok(on_pool!(db, pool => {
        sqlx::query_as(select!("WHERE action = 'run.what_if' AND details LIKE $1 ORDER BY seq"))
            .bind(pattern)
            .fetch_all(pool)
            .await?
    }))
}

/// Record an engine identity, once.
pub async fn add_engine(db: &Db, id: &str, identity: &str) -> anyhow::Result<()> {
    on_pool!(db, pool => {
        sqlx::query("INSERT INTO engines (id, identity) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(identity)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// An engine identity's JSON by id.
pub async fn engine(db: &Db, id: &str) -> anyhow::Result<Option<String>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT identity FROM engines WHERE id = $1").bind(id).fetch_optional(pool).await?
    }))
}
