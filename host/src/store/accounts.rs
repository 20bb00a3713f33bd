//! Accounts, their roles and scopes, API tokens, and the OpenID subjects
//! linked to them (`accounts`, `account_roles`, `account_scopes`,
//! `api_tokens`, `account_oidc`). Only the hash of a token's secret is stored.

use chrono::{DateTime, Utc};

use super::{Db, Tx, on_pool, on_tx};

/// An account, as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub name: String,
    /// `person` or `machine`.
    pub kind: String,
    pub active: bool,
}

/// A token, as stored: never its secret.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Token {
    pub id: String,
    pub account_id: i64,
    pub name: String,
    /// sha256 of the secret, hex.
    pub secret_hash: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// How many accounts there are.
pub async fn count(db: &Db) -> anyhow::Result<i64> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(pool).await?
    }))
}

/// How many accounts there are, as the caller's transaction sees them.
pub async fn count_in(tx: &mut Tx) -> anyhow::Result<i64> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut *conn).await?
    }))
}

/// Make an account with its roles and scopes, granted by `by`; its id.
pub async fn create(
    tx: &mut Tx,
    name: &str,
    kind: &str,
    roles: &[&str],
    scopes: &[&str],
    by: &str,
) -> anyhow::Result<i64> {
    let now = Utc::now();
    let id: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "INSERT INTO accounts (name, kind, active, created_at, created_by) VALUES ($1, $2, TRUE, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(kind)
        .bind(now)
        .bind(by)
        .fetch_one(&mut *conn)
        .await?
    });
    for role in roles {
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO account_roles (account_id, role, granted_at, granted_by) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(role)
                .bind(now)
                .bind(by)
                .execute(&mut *conn)
                .await?;
        });
    }
    for scope in scopes {
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO account_scopes (account_id, scope, granted_at, granted_by) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(scope)
                .bind(now)
                .bind(by)
                .execute(&mut *conn)
                .await?;
        });
    }
    Ok(id)
}

/// The account `id`, if there is one.
pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<Account>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, name, kind, active FROM accounts WHERE id = $1").bind(id).fetch_optional(pool).await?
    }))
}

/// The active people's accounts: id and name, in name order (the demo's sign-in lists them).
pub async fn people(db: &Db) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, name FROM accounts WHERE kind = 'person' AND active ORDER BY name")
            .fetch_all(pool)
            .await?
    }))
}

/// The roles of account `id`, in name order.
pub async fn roles(db: &Db, id: i64) -> anyhow::Result<Vec<String>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT role FROM account_roles WHERE account_id = $1 ORDER BY role")
            .bind(id)
            .fetch_all(pool)
            .await?
    }))
}

/// The scopes of account `id`, in name order.
pub async fn scopes(db: &Db, id: i64) -> anyhow::Result<Vec<String>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT scope FROM account_scopes WHERE account_id = $1 ORDER BY scope")
            .bind(id)
            .fetch_all(pool)
            .await?
    }))
}

/// Store a token: its public id and the hash of its secret.
pub async fn insert_token(tx: &mut Tx, token: &Token, by: &str) -> anyhow::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, secret_hash, created_at, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token.id)
        .bind(token.account_id)
        .bind(&token.name)
        .bind(&token.secret_hash)
        .bind(Utc::now())
        .bind(by)
        .bind(token.expires_at)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// The token whose public id is `id`, if there is one.
pub async fn token(db: &Db, id: &str) -> anyhow::Result<Option<Token>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, account_id, name, secret_hash, expires_at, revoked_at FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    }))
}

/// Revoke token `id` now; false if it was revoked already.
pub async fn revoke_token(tx: &mut Tx, id: &str) -> anyhow::Result<bool> {
    let done = on_tx!(tx, conn => {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}

/// Enable or disable account `id`.
pub async fn set_active(tx: &mut Tx, id: i64, active: bool) -> anyhow::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE accounts SET active = $1 WHERE id = $2").bind(active).bind(id).execute(&mut *conn).await?;
    });
    Ok(())
}

/// Link subject `subject` of OpenID provider `issuer` to account `account_id`,
/// by `by`. A subject already linked is a unique violation.
pub async fn link_oidc(tx: &mut Tx, issuer: &str, subject: &str, account_id: i64, by: &str) -> anyhow::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO account_oidc (issuer, subject, account_id, linked_at, linked_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(account_id)
        .bind(Utc::now())
        .bind(by)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// The account subject `subject` of OpenID provider `issuer` is linked to, if any.
pub async fn oidc_account(db: &Db, issuer: &str, subject: &str) -> anyhow::Result<Option<i64>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT account_id FROM account_oidc WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(pool)
            .await?
    }))
}
