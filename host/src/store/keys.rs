//! Public keys that sign plug-in releases, per authority.

use chrono::{DateTime, Utc};

use super::{Db, Tx, on_pool, on_tx};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Key {
    pub id: String,
    pub authority: String,
    /// ed25519, hex.
    pub public_key: String,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `SELECT <every column> FROM signing_keys <rest>`, as one literal.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, authority, public_key, added_by, added_at, revoked_by, revoked_at FROM signing_keys ",
            $rest
        )
    };
}

/// Register a public key; a key already registered is refused, whoever holds it.
pub async fn add(tx: &mut Tx, db: &Db, id: &str, authority: &str, public_key: &str, by: &str) -> anyhow::Result<()> {
    if let Some(existing) = get(db, id).await? {
        anyhow::bail!("key {id} is already registered (for {}, by {})", existing.authority, existing.added_by);
    }
    on_tx!(tx, conn => {
        sqlx::query("INSERT INTO signing_keys (id, authority, public_key, added_by, added_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(authority)
            .bind(public_key)
            .bind(by)
            .bind(Utc::now())
            .execute(conn)
            .await?;
    });
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Key>> {
    Ok(on_pool!(db, pool => sqlx::query_as(select!("WHERE id = $1")).bind(id).fetch_optional(pool).await?))
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Key>> {
    Ok(on_pool!(db, pool => sqlx::query_as(select!("ORDER BY authority, added_at, id")).fetch_all(pool).await?))
}

/// Revoke a key: releases it signed no longer run. Returns false if it was
/// not registered or already revoked.
pub async fn revoke(tx: &mut Tx, id: &str, by: &str) -> anyhow::Result<bool> {
    let done = on_tx!(tx, conn => {
        sqlx::query("UPDATE signing_keys SET revoked_by = $2, revoked_at = $3 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(by)
            .bind(Utc::now())
            .execute(conn)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}
