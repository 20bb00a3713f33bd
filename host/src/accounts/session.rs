//! Sessions of the web pages: a person signed in, held by a cookie whose
//! value is a secret of the same form as an API token's (`token::Secret`:
//! only its hash is stored), with a CSRF token of its own that every form of
//! the pages carries. Signing in and out are audit entries.
//!
//! The API never takes a session: its routes take bearer tokens only, so a
//! page's cookie cannot be made to act through it.

use std::time::Duration;

use chrono::Utc;

use super::{Caller, Refused, Secret};
use crate::store::{self, Db, sessions};
use crate::trail::{self, Actor, Auth, action};

/// How long a session lasts: a working day.
pub const LIFETIME: Duration = Duration::from_secs(10 * 3600);

/// A session opened: the cookie's value (shown once, to the browser) and its CSRF token.
pub struct Opened {
    pub cookie: Secret,
    pub csrf: String,
}

/// A session found from its cookie: who acts, and what its forms must carry.
#[derive(Clone, Debug)]
pub struct Signed {
    pub caller: Caller,
    /// The session's public id.
    pub id: String,
    pub csrf: String,
}

/// Open a session for person account `account_id`, who signed in as `auth`
/// (an OIDC subject, or the demo's sign-in). Machine accounts never sign in.
pub async fn open(db: &Db, account_id: i64, auth: Auth) -> anyhow::Result<Result<Opened, Refused>> {
    let Some(account) = store::accounts::get(db, account_id).await? else { return Ok(Err(Refused::Unknown)) };
    if !account.active {
        return Ok(Err(Refused::Disabled(format!("of account {}", account.id))));
    }
    anyhow::ensure!(account.kind == "person", "account {account_id} is a machine's: machines do not sign in");
    let cookie = Secret::generate()?;
    let csrf = Secret::generate()?.hash();
    let expires_at = Utc::now() + chrono::Duration::from_std(LIFETIME)?;
    let row = sessions::Session {
        id: cookie.id.clone(),
        secret_hash: cookie.hash(),
        account_id,
        auth: serde_json::to_string(&auth)?,
        csrf: csrf.clone(),
        expires_at,
        ended_at: None,
    };
    sessions::insert(db, &row).await?;
    let by = Actor { account: account.id, name: account.name, auth };
    let mut tx = db.begin().await?;
    let details = serde_json::json!({ "session": cookie.id, "expires_at": expires_at });
    trail::append(&mut tx, &by, action::SESSION_OPEN, &format!("account:{account_id}"), details).await?;
    tx.commit().await?;
    Ok(Ok(Opened { cookie, csrf }))
}

/// The session of cookie value `cookie`, if it holds: not ended, not
/// expired, its account active. Roles and scopes are read now, so a change by
/// an admin holds from the next page.
pub async fn find(db: &Db, cookie: &str) -> anyhow::Result<Result<Signed, Refused>> {
    let Some(secret) = Secret::parse(cookie.trim()) else { return Ok(Err(Refused::Malformed)) };
    let Some(session) = sessions::get(db, &secret.id).await? else { return Ok(Err(Refused::Unknown)) };
    if !secret.matches(&session.secret_hash) {
        return Ok(Err(Refused::Unknown));
    }
    if let Some(at) = session.ended_at {
        return Ok(Err(Refused::Revoked(session.id, at)));
    }
    if session.expires_at <= Utc::now() {
        return Ok(Err(Refused::Expired(session.id, session.expires_at)));
    }
    let Some(account) = store::accounts::get(db, session.account_id).await? else { return Ok(Err(Refused::Unknown)) };
    if !account.active {
        return Ok(Err(Refused::Disabled(session.id)));
    }
    let auth: Auth = serde_json::from_str(&session.auth)?;
    Ok(Ok(Signed {
        caller: Caller {
            roles: store::accounts::roles(db, account.id).await?,
            scopes: store::accounts::scopes(db, account.id).await?,
            actor: Actor { account: account.id, name: account.name, auth },
            kind: account.kind,
        },
        id: session.id,
        csrf: session.csrf,
    }))
}

/// Sign out of session `signed`: its cookie no longer acts.
pub async fn end(db: &Db, signed: &Signed) -> anyhow::Result<()> {
    if sessions::end(db, &signed.id).await? {
        let mut tx = db.begin().await?;
        let details = serde_json::json!({ "session": signed.id });
        let subject = format!("account:{}", signed.caller.actor.account);
        trail::append(&mut tx, &signed.caller.actor, action::SESSION_END, &subject, details).await?;
        tx.commit().await?;
    }
    Ok(())
}
