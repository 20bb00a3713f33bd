//! Who acts: accounts with roles and scopes, and how they authenticate: API
//! tokens, or for people the access tokens of an OpenID provider (`oidc.rs`)
//! (`administration.md` of the domain says who does what).
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
use crate::trail::{self, Actor, Auth, action};

mod caller;
pub mod code_flow;
pub mod oidc;
pub mod policy;
pub mod session;
pub mod token;

pub use caller::{Caller, Refusal};
pub use policy::{Act, Place, allow};
pub use token::Secret;

/// How long a token made by `accounts init` lasts.
pub const INIT_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// The roles, as stored.
pub const ROLES: [&str; 5] = ["author", "officer", "approver", "auditor", "admin"];

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
    /// A JWT, but `[oidc]` is not configured.
    #[error(
        "this is a JWT, but this service is not set up for OIDC sign-in ([oidc] of its configuration): send an \
         ansinh API token (ansinh_ID_SECRET), or ask its operator to set up OIDC"
    )]
    OidcOff,
    /// An OIDC access token refused by the verifier ([`oidc::Verifier::verify`]), with why and what to do.
    #[error("{0}")]
    Oidc(String),
    #[error(
        "subject {1} of {0} is linked to no account: an admin links it to your account (POST \
         /v1/accounts/ID/oidc)"
    )]
    Unlinked(String, String),
    #[error("the account linked to subject {1} of {0} is disabled: an admin can enable it")]
    LinkedDisabled(String, String),
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
    let actor = Actor { account: id, name: name.to_owned(), auth: Auth::Init };
    // The append takes the log's head lock, so a second `init` racing this
    // one waits here, and then counts two accounts and gives up.
    trail::append(&mut tx, &actor, action::ACCOUNT_CREATE, &format!("account:{id}"), details).await?;
    if store::accounts::count_in(&mut tx).await? > 1 {
        bail!("there are accounts already: an admin makes the others (the first admin was made by `accounts init`)");
    }
    let (secret, _) = issue_token(&mut tx, id, "accounts init", INIT_TOKEN_LIFETIME, &actor).await?;
    tx.commit().await?;
    Ok((id, secret))
}

/// Issue a token for account `account_id` lasting `lifetime`; the secret is
/// returned once and not kept. `by` made it.
async fn issue_token(
    tx: &mut store::Tx,
    account_id: i64,
    name: &str,
    lifetime: Duration,
    by: &Actor,
) -> anyhow::Result<(Secret, DateTime<Utc>)> {
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
    store::accounts::insert_token(tx, &row, &by.name).await?;
    let details =
        serde_json::json!({ "token": secret.id, "account": account_id, "name": name, "expires_at": expires_at });
    trail::append(tx, by, action::TOKEN_CREATE, &format!("account:{account_id}"), details).await?;
    Ok((secret, expires_at))
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
        roles: store::accounts::roles(db, account.id).await?,
        scopes: store::accounts::scopes(db, account.id).await?,
        actor: Actor { account: account.id, name: account.name, auth: Auth::Token(token.id) },
        kind: account.kind,
    }))
}

/// An account an admin makes.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct NewAccount {
    pub name: String,
    /// `person` or `machine`.
    pub kind: String,
    pub roles: Vec<String>,
    /// `national` or `province:CODE`.
    pub scopes: Vec<String>,
}

/// The longest a token lasts, in days.
pub const MAX_TOKEN_DAYS: u32 = 365;

fn is_admin(caller: &Caller) -> bool {
    caller.roles.iter().any(|r| r == "admin")
}

/// Whether `caller`'s scopes cover every one of `scopes`.
fn covers(caller: &Caller, scopes: &[String]) -> bool {
    caller.scopes.iter().any(|s| s == "national") || scopes.iter().all(|s| caller.scopes.contains(s))
}

/// Check what an admin asks for against the rules of `administration.md`.
fn check_new(new: &NewAccount) -> Result<(), Refusal> {
    check_name(&new.name).map_err(|e| Refusal::Invalid(format!("name: {e}")))?;
    if !["person", "machine"].contains(&new.kind.as_str()) {
        return Err(Refusal::Invalid(format!("kind: expected person or machine, found {:?}", new.kind)));
    }
    if new.roles.is_empty() {
        return Err(Refusal::Invalid(format!("roles: expected one or more of {}", ROLES.join(", "))));
    }
    if let Some(role) = new.roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
        return Err(Refusal::Invalid(format!("roles: expected one of {}, found {role:?}", ROLES.join(", "))));
    }
    let has = |role: &str| new.roles.iter().any(|r| r == role);
    if has("admin") && (has("approver") || has("author")) {
        return Err(Refusal::Invalid(
            "roles: no account holds admin with approver or author: who makes accounts must not also approve or              sign what they enable"
                .to_owned(),
        ));
    }
    if new.kind == "machine" && (has("approver") || has("admin")) {
        return Err(Refusal::Invalid(
            "roles: a machine account cannot approve or administer: approving is a person's act".to_owned(),
        ));
    }
    if new.scopes.is_empty() {
        return Err(Refusal::Invalid("scopes: expected national, or province:CODE for each province".to_owned()));
    }
    for scope in &new.scopes {
        let known = scope == "national"
            || scope.strip_prefix("province:").is_some_and(|code| crate::identity::provinces::name(code).is_some());
        if !known {
            return Err(Refusal::Invalid(format!(
                "scopes: expected national or province:CODE with a province's 3-digit code (province:001), found                  {scope:?}"
            )));
        }
    }
    Ok(())
}

/// An admin makes an account, within the admin's own scope. Its id.
pub async fn create(db: &Db, caller: &Caller, new: NewAccount) -> anyhow::Result<Result<i64, Refusal>> {
    if !is_admin(caller) {
        return Ok(Err(Refusal::Forbidden("only an admin makes accounts".to_owned())));
    }
    if let Err(refusal) = check_new(&new) {
        return Ok(Err(refusal));
    }
    if !covers(caller, &new.scopes) {
        return Ok(Err(Refusal::Forbidden(format!(
            "an admin of {} makes accounts of that scope only",
            caller.scopes.join(", ")
        ))));
    }
    let mut tx = db.begin().await?;
    let roles: Vec<&str> = new.roles.iter().map(String::as_str).collect();
    let scopes: Vec<&str> = new.scopes.iter().map(String::as_str).collect();
    let id = match store::accounts::create(&mut tx, &new.name, &new.kind, &roles, &scopes, &caller.actor.name).await {
        Ok(id) => id,
        Err(e) if store::is_unique_violation(&e) => {
            return Ok(Err(Refusal::Conflict(format!("there is an account named {:?} already", new.name))));
        }
        Err(e) => return Err(e),
    };
    let details = serde_json::json!({
        "account": id, "name": new.name, "kind": new.kind, "roles": new.roles, "scopes": new.scopes
    });
    trail::append(&mut tx, &caller.actor, action::ACCOUNT_CREATE, &format!("account:{id}"), details).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// The account `id` if `caller` may see it (their own, or in an admin's scope).
async fn account_in_scope(db: &Db, caller: &Caller, id: i64) -> anyhow::Result<Option<store::accounts::Account>> {
    let Some(account) = store::accounts::get(db, id).await? else { return Ok(None) };
    if account.id == caller.actor.account {
        return Ok(Some(account));
    }
    let scopes = store::accounts::scopes(db, id).await?;
    Ok((is_admin(caller) && covers(caller, &scopes)).then_some(account))
}

/// A token for account `id`, lasting `days`: a person makes their own; an
/// admin makes them only for machine accounts in scope, so that no admin
/// ever holds a person's token.
pub async fn make_token(
    db: &Db,
    caller: &Caller,
    id: i64,
    name: &str,
    days: u32,
) -> anyhow::Result<Result<(Secret, DateTime<Utc>), Refusal>> {
    let Some(account) = account_in_scope(db, caller, id).await? else {
        return Ok(Err(Refusal::NotFound(format!("there is no account {id} in your scope"))));
    };
    let own_person = account.id == caller.actor.account && caller.kind == "person";
    let admin_for_machine = is_admin(caller) && account.kind == "machine";
    if !(own_person || admin_for_machine) {
        return Ok(Err(Refusal::Forbidden(
            "a person makes their own tokens; an admin makes tokens only for machine accounts".to_owned(),
        )));
    }
    if !account.active {
        return Ok(Err(Refusal::Conflict(format!("account {id} is disabled"))));
    }
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Ok(Err(Refusal::Invalid(format!("days: expected 1 to {MAX_TOKEN_DAYS}, found {days}"))));
    }
    if let Err(e) = check_name(name) {
        return Ok(Err(Refusal::Invalid(format!("name: {e}"))));
    }
    let mut tx = db.begin().await?;
    let lifetime = Duration::from_secs(u64::from(days) * 24 * 3600);
    let (secret, expires_at) = issue_token(&mut tx, id, name, lifetime, &caller.actor).await?;
    tx.commit().await?;
    Ok(Ok((secret, expires_at)))
}

/// Revoke token `token_id`: its holder's own, or any in an admin's scope.
pub async fn revoke_token(db: &Db, caller: &Caller, token_id: &str) -> anyhow::Result<Result<(), Refusal>> {
    let not_found = || Refusal::NotFound(format!("there is no token {token_id} in your scope"));
    let Some(token) = store::accounts::token(db, token_id).await? else { return Ok(Err(not_found())) };
    if account_in_scope(db, caller, token.account_id).await?.is_none() {
        return Ok(Err(not_found()));
    }
    let mut tx = db.begin().await?;
    if !store::accounts::revoke_token(&mut tx, token_id).await? {
        return Ok(Err(Refusal::Conflict(format!("token {token_id} is revoked already"))));
    }
    let details = serde_json::json!({ "token": token_id, "account": token.account_id });
    trail::append(&mut tx, &caller.actor, action::TOKEN_REVOKE, &format!("account:{}", token.account_id), details)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// An admin disables account `id` in scope: its tokens stop working. Not their own.
pub async fn disable(db: &Db, caller: &Caller, id: i64) -> anyhow::Result<Result<(), Refusal>> {
    if !is_admin(caller) {
        return Ok(Err(Refusal::Forbidden("only an admin disables accounts".to_owned())));
    }
    if id == caller.actor.account {
        return Ok(Err(Refusal::Conflict(
            "an admin cannot disable their own account: another admin does, so that one always remains".to_owned(),
        )));
    }
    if account_in_scope(db, caller, id).await?.is_none() {
        return Ok(Err(Refusal::NotFound(format!("there is no account {id} in your scope"))));
    }
    let mut tx = db.begin().await?;
    store::accounts::set_active(&mut tx, id, false).await?;
    let details = serde_json::json!({ "account": id });
    trail::append(&mut tx, &caller.actor, action::ACCOUNT_DISABLE, &format!("account:{id}"), details).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Run `id`, if `caller` may do `act` on it: a role it lacks is refused
/// first (403), then a run outside its scope, or none at all, is not found
/// (404: whether it exists is not said). The one check of both front ends.
pub async fn run_in_scope(
    db: &Db,
    caller: &Caller,
    act: Act,
    id: i64,
) -> anyhow::Result<Result<store::runs::Run, Refusal>> {
    let what = format!("run {id}");
    if let Err(refusal) = allow(caller, act, Place::Anywhere, &what) {
        return Ok(Err(refusal));
    }
    let Some(run) = store::runs::find(db, id).await? else {
        return Ok(Err(Refusal::NotFound(format!("there is no {what} in your scope ({})", caller.scopes.join(", ")))));
    };
    Ok(allow(caller, act, Place::Province(&run.province), &what).map(|()| run))
}

/// Release `id`, if `caller` may do `act` on it. A release is seen by the
/// accounts that read releases of its authority: a national one by every
/// province, a province's by that province (and national accounts). One seen
/// but not of the caller's authority is refused (403: it exists for them, it
/// is not theirs to act on); one not seen, or none, is not found (404).
pub async fn release_in_scope(
    db: &Db,
    caller: &Caller,
    act: Act,
    id: i64,
) -> anyhow::Result<Result<store::releases::Release, Refusal>> {
    let what = format!("release {id}");
    if let Err(refusal) = allow(caller, act, Place::Anywhere, &what) {
        return Ok(Err(refusal));
    }
    let not_found = || Refusal::NotFound(format!("there is no {what} in your scope ({})", caller.scopes.join(", ")));
    let Some(release) = store::releases::find(db, id).await? else { return Ok(Err(not_found())) };
    if !policy::sees_authority(caller, &release.authority) {
        return Ok(Err(not_found()));
    }
    if act == Act::ReadReleases {
        return Ok(Ok(release));
    }
    Ok(match allow(caller, act, Place::Authority(&release.authority), &what) {
        Ok(()) => Ok(release),
        Err(Refusal::NotFound(_)) => Err(Refusal::Forbidden(format!(
            "release {id} is {}'s: only its own authors and approvers act on it",
            release.authority
        ))),
        Err(refusal) => Err(refusal),
    })
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
