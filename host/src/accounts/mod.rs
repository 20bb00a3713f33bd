//! Who acts: accounts with roles and scopes, and the API tokens they
//! authenticate with (`administration.md` of the domain says who does what).
//!
//! An account is a person's or a machine's. Roles: `author`, `officer`,
//! `approver`, `auditor`, `admin`; scopes: `national` or `province:CODE`.
//! The first account, an admin, is made by `ansinh accounts init NAME`, which
//! prints its token once; only the hash of a token's secret is stored, and a
//! token is refused once expired or revoked, or when its account is disabled.

use std::time::Duration;

use anyhow::bail;
use chrono::{DateTime, Utc};

use crate::store::{self, Db};
use crate::trail::{self, action};

pub mod token;

pub use token::Secret;

/// How long a token made by `accounts init` lasts.
pub const INIT_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// The roles, as stored.
pub const ROLES: [&str; 5] = ["author", "officer", "approver", "auditor", "admin"];

/// An account, signed in: who acts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Caller {
    pub account_id: i64,
    pub name: String,
    /// `person` or `machine`.
    pub kind: String,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    /// The token it authenticated with (its public id).
    pub token: String,
}

/// Why a token was not accepted: said to the client, with what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("this is not an ansinh token (ansinh_ID_SECRET): send `Authorization: Bearer TOKEN`")]
    Malformed,
    #[error("no such token, or not this secret: ask for a new one")]
    Unknown,
    #[error("token {0} expired at {1}: make a new one")]
    Expired(String, DateTime<Utc>),
    #[error("token {0} was revoked at {1}: make a new one")]
    Revoked(String, DateTime<Utc>),
    #[error("the account of token {0} is disabled: an admin can enable it")]
    Disabled(String),
}

/// Make the first account: a person, `admin` with national scope, and a
/// token for it. Refused if there is any account already (then an admin
/// makes the others).
pub async fn init(db: &Db, name: &str) -> anyhow::Result<(i64, Secret)> {
    check_name(name)?;
    if store::accounts::count(db).await? > 0 {
        bail!("there are accounts already: an admin makes the others (the first admin was made by `accounts init`)");
    }
    let mut tx = db.begin().await?;
    let id = store::accounts::create(&mut tx, name, "person", &["admin"], &["national"], name).await?;
    let details = serde_json::json!({
        "account": id, "name": name, "kind": "person", "roles": ["admin"], "scopes": ["national"]
    });
    // The append takes the log's head lock, so a second `init` racing this
    // one waits here, and then counts two accounts and gives up.
    trail::append(&mut tx, name, action::ACCOUNT_CREATE, &format!("account:{id}"), details).await?;
    if store::accounts::count_in(&mut tx).await? > 1 {
        bail!("there are accounts already: an admin makes the others (the first admin was made by `accounts init`)");
    }
    let secret = issue_token(&mut tx, id, "accounts init", INIT_TOKEN_LIFETIME, name).await?;
    tx.commit().await?;
    Ok((id, secret))
}

/// Issue a token for account `account_id` lasting `lifetime`; the secret is
/// returned once and not kept.
async fn issue_token(
    tx: &mut store::Tx,
    account_id: i64,
    name: &str,
    lifetime: Duration,
    by: &str,
) -> anyhow::Result<Secret> {
    let secret = Secret::generate()?;
    let expires_at = Utc::now() + chrono::Duration::from_std(lifetime)?;
    let row = store::accounts::Token {
        id: secret.id.clone(),
        account_id,
        name: name.to_owned(),
        secret_hash: secret.hash(),
        expires_at,
        revoked_at: None,
    };
    store::accounts::insert_token(tx, &row, by).await?;
    let details =
        serde_json::json!({ "token": secret.id, "account": account_id, "name": name, "expires_at": expires_at });
    trail::append(tx, by, action::TOKEN_CREATE, &format!("account:{account_id}"), details).await?;
    Ok(secret)
}

/// Who `bearer` (the token a client sent) is, or why it is refused.
pub async fn authenticate(db: &Db, bearer: &str) -> anyhow::Result<Result<Caller, Refused>> {
    let Some(secret) = Secret::parse(bearer.trim()) else { return Ok(Err(Refused::Malformed)) };
    let Some(token) = store::accounts::token(db, &secret.id).await? else { return Ok(Err(Refused::Unknown)) };
    if !secret.matches(&token.secret_hash) {
        return Ok(Err(Refused::Unknown));
    }
    if let Some(at) = token.revoked_at {
        return Ok(Err(Refused::Revoked(token.id, at)));
    }
    if token.expires_at <= Utc::now() {
        return Ok(Err(Refused::Expired(token.id, token.expires_at)));
    }
    let Some(account) = store::accounts::get(db, token.account_id).await? else { return Ok(Err(Refused::Unknown)) };
    if !account.active {
        return Ok(Err(Refused::Disabled(token.id)));
    }
    Ok(Ok(Caller {
        account_id: account.id,
        roles: store::accounts::roles(db, account.id).await?,
        scopes: store::accounts::scopes(db, account.id).await?,
        name: account.name,
        kind: account.kind,
        token: token.id,
    }))
}

/// An account's name is printed on reports and recorded in the log: no
/// control character, at most 200 characters, not blank.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    if name.trim().is_empty() || name.trim() != name {
        bail!("an account's name: the person's or the machine's name, without leading or trailing space");
    }
    if let Some((position, c)) = name.chars().enumerate().find(|&(_, c)| crate::format::hidden(c)) {
        bail!(
            "an account's name holds no control characters, and {} has U+{:04X} at character {}",
            crate::format::Shown(name),
            u32::from(c),
            position + 1
        );
    }
    if name.chars().count() > 200 {
        bail!("an account's name has at most 200 characters");
    }
    Ok(())
}
