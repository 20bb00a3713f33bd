//! Signed-in sessions of the web pages (`sessions`): only the hash of a
//! session cookie's secret is stored, as for API tokens.

use chrono::{DateTime, Utc};

use super::{Db, on_pool};

/// A session, as stored: never its secret.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub secret_hash: String,
    pub account_id: i64,
    /// JSON: how the person signed in (`trail::Auth`).
    pub auth: String,
    /// The token every form of the session's pages carries.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

pub async fn insert(db: &Db, session: &Session) -> anyhow::Result<()> {
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO sessions (id, secret_hash, account_id, auth, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&session.id)
        .bind(&session.secret_hash)
        .bind(session.account_id)
        .bind(&session.auth)
        .bind(&session.csrf)
        .bind(Utc::now())
        .bind(session.expires_at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The session whose public id is `id`, if there is one.
pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Session>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, secret_hash, account_id, auth, csrf, expires_at, ended_at FROM sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    }))
}

/// End session `id` now; false if it had ended.
pub async fn end(db: &Db, id: &str) -> anyhow::Result<bool> {
    let done = on_pool!(db, pool => {
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(Utc::now())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}
