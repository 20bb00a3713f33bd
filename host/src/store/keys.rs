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
    /// The national root key's certificate of it (`release::certificate`), as
    /// its file was; None for a key registered before keys were certified.
    pub certificate: Option<String>,
}

/// `SELECT <every column> FROM signing_keys <rest>`, with the key's
/// certificate (`key_certificates`), as one literal.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, authority, public_key, added_by, added_at, revoked_by, revoked_at, certificate \
             FROM signing_keys LEFT JOIN key_certificates ON key_id = id ",
            $rest
        )
    };
}

/// A key to register, with its certificate.
pub struct NewKey<'a> {
    pub id: &'a str,
    pub authority: &'a str,
    pub public_key: &'a str,
    pub certificate: &'a str,
    pub by: &'a str,
}

/// Register a public key with its certificate; a key already registered is
/// refused, whoever holds it.
pub async fn add(tx: &mut Tx, db: &Db, key: &NewKey<'_>) -> anyhow::Result<()> {
    if let Some(existing) = get(db, key.id).await? {
        anyhow::bail!("key {} is already registered (for {}, by {})", key.id, existing.authority, existing.added_by);
    }
    on_tx!(tx, conn => {
        sqlx::query("INSERT INTO signing_keys (id, authority, public_key, added_by, added_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(key.id)
            .bind(key.authority)
            .bind(key.public_key)
            .bind(key.by)
            .bind(Utc::now())
            .execute(&mut *conn)
            .await?;
    });
    set_certificate(tx, key.id, key.certificate, key.by).await
}

/// Store `certificate` as key `id`'s, in place of any it had (one renewed,
/// or the first of a key registered before keys were certified).
pub async fn set_certificate(tx: &mut Tx, id: &str, certificate: &str, by: &str) -> anyhow::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO key_certificates (key_id, certificate, registered_by, registered_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_id) DO UPDATE SET certificate = excluded.certificate, \
             registered_by = excluded.registered_by, registered_at = excluded.registered_at",
        )
        .bind(id)
        .bind(certificate)
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
