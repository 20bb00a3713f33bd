//! People sign in with OpenID Connect: the service takes the access token an
//! OpenID provider issued them (a JWT, `[oidc]` of the configuration file),
//! checks it, and acts as the person account an admin linked to its subject.
//!
//! A token is accepted only when it is signed, with an algorithm of
//! `[oidc] algorithms` (RS256 and ES256 unless set; never `none` nor a shared
//! secret's HS*), by a key the issuer publishes in its JWKS, names the issuer
//! configured (`iss`) and this service among its audience (`aud`), and is
//! within its time (`exp`, and `nbf` if it has one, give or take the leeway).
//! Its `(iss, sub)` then finds the account, linked by an admin ([`link`]):
//! a person's, never a machine's, and refused while disabled.
//!
//! The keys are fetched from the JWKS (its address from `[oidc] jwks_uri`, or
//! else the issuer's discovery document) when first needed, and kept. A token
//! signed by a key not kept fetches the JWKS again, so that a key the provider
//! rotated in is accepted; but no sooner than `jwks_refetch_seconds` after the
//! last fetch, so that tokens with made-up key ids do not make the service
//! hammer the provider. The keys kept are fetched again after an hour, so that
//! a key the provider withdrew stops being accepted; while the provider cannot
//! be reached, the keys kept go on being used.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::{Caller, Refusal, Refused, account_in_scope, is_admin};
use crate::store::{self, Db};
use crate::trail::{self, Actor, Auth, action};

/// The algorithms accepted unless `[oidc] algorithms` says otherwise.
pub const DEFAULT_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// The leeway on `exp` and `nbf` unless `[oidc] leeway_seconds` says otherwise:
/// the clocks of the provider and of this service may differ that much.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The least time between two fetches of the JWKS unless `[oidc]
/// jwks_refetch_seconds` says otherwise.
pub const DEFAULT_REFETCH: Duration = Duration::from_secs(30);

/// How long the keys fetched are used before they are fetched again.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);

/// How long one request to the provider may take, and its connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest discovery document or JWKS read.
const MAX_DOCUMENT: usize = 1 << 20;

/// The longest subject kept (OpenID Connect Core: at most 255 ASCII characters).
const MAX_SUBJECT: usize = 255;

/// What `[oidc]` of the configuration file says, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The provider's issuer identifier, exactly as its tokens name it in `iss`.
    pub issuer: String,
    /// This service, as the provider's tokens for it name it in `aud`.
    pub audience: String,
    /// Where the provider's keys are; None: from its discovery document.
    pub jwks_uri: Option<Url>,
    /// The signature algorithms accepted.
    pub algorithms: Vec<Algorithm>,
    /// How far `exp` and `nbf` may be off.
    pub leeway: Duration,
    /// The least time between two fetches of the JWKS.
    pub refetch: Duration,
    /// The pages' client at the provider, for people to sign in by a browser
    /// (`code_flow.rs`); None: the pages offer no sign-in through it.
    pub client: Option<PageClient>,
}

/// `[oidc] client_id` and `redirect_uri`: the pages as a public client of the
/// provider's authorisation code flow (PKCE, no secret).
#[derive(Clone, Debug)]
pub struct PageClient {
    pub id: String,
    /// This service's `/sign-in/callback`, exactly as registered at the provider.
    pub redirect_uri: Url,
}

/// Where the provider signs people in and gives out tokens, from its discovery document.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub authorization: Url,
    pub token: Url,
}

/// An algorithm of `[oidc] algorithms`, by its JOSE name; a shared secret's
/// (HS*) and `none` are refused, saying why.
pub fn algorithm(name: &str) -> anyhow::Result<Algorithm> {
    if name.eq_ignore_ascii_case("none") {
        bail!("\"none\" is refused: an unsigned token proves nothing");
    }
    if name.to_ascii_uppercase().starts_with("HS") {
        bail!(
            "{name:?} is refused: with a shared secret, whoever holds the secret (the provider's clients too) can \
             make tokens; use the provider's public-key signatures, RS256 or ES256"
        );
    }
    match name.parse::<Algorithm>() {
        Ok(algorithm) if algorithm.family() != jsonwebtoken::AlgorithmFamily::Hmac => Ok(algorithm),
        _ => bail!("{name:?}: expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA"),
    }
}

/// The URL of a provider's issuer or endpoint: https, or http on loopback
/// only (a provider on the same machine, as in tests).
pub fn provider_url(text: &str) -> anyhow::Result<Url> {
    let url = Url::parse(text).with_context(|| format!("{text:?} is not a URL"))?;
    let loopback = match url.host_str() {
        Some("localhost") => true,
        Some(host) => {
            let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>();
            ip.is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    };
    if url.host().is_none() || !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        bail!("{text:?}: expected an https:// URL (http:// only on loopback, for a provider on this machine)");
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        bail!("{text:?}: expected a URL without query, fragment or credentials");
    }
    Ok(url)
}

/// Who a verified access token is of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
}

/// Checks access tokens of one provider; holds its keys. One per service.
pub struct Verifier {
    settings: Settings,
    client: reqwest::Client,
    /// The keys fetched, by key id, and when.
    keys: RwLock<Keys>,
    /// Held while fetching, so that one fetch is under way at a time.
    fetching: tokio::sync::Mutex<Fetching>,
    /// The sign-in endpoints, read once from the discovery document.
    endpoints: tokio::sync::OnceCell<Endpoints>,
}

#[derive(Default)]
struct Keys {
    by_kid: BTreeMap<String, Key>,
    fetched_at: Option<Instant>,
}

#[derive(Clone)]
struct Key {
    decoding: DecodingKey,
    /// The algorithm the JWK names, if it names one.
    algorithm: Option<Algorithm>,
}

#[derive(Default)]
struct Fetching {
    /// From the discovery document, once read.
    jwks_uri: Option<Url>,
    /// When a fetch was last tried, and why it failed if it did.
    last: Option<(Instant, Option<String>)>,
}

/// What is read of a token's claims before its signature is checked: only to
/// refuse it, and to say why.
#[derive(Deserialize)]
struct Unverified {
    iss: Option<Value>,
    aud: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
}

/// What is taken of a verified token.
#[derive(Deserialize)]
struct Verified {
    sub: String,
}

impl Verifier {
    pub fn new(settings: Settings) -> anyhow::Result<Verifier> {
        // reqwest is built without a default crypto provider so that rustls uses ring (see
        // Cargo.toml); installing it again changes nothing.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The keys are where the configuration or the discovery document says: a redirect
            // could take the fetch off https.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ansinh/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("setting up the HTTPS client for the OpenID provider")?;
        let fetching = Fetching { jwks_uri: settings.jwks_uri.clone(), last: None };
        Ok(Verifier {
            settings,
            client,
            keys: RwLock::default(),
            fetching: tokio::sync::Mutex::new(fetching),
            endpoints: tokio::sync::OnceCell::new(),
        })
    }

    /// The issuer whose tokens it accepts.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// This service, as the tokens it accepts name it in `aud`.
    pub fn audience(&self) -> &str {
        &self.settings.audience
    }

    /// The pages' client at the provider, if people sign in by a browser.
    pub fn client(&self) -> Option<&PageClient> {
        self.settings.client.as_ref()
    }

    /// The provider's authorisation and token endpoints, from its discovery
    /// document (read once; tried again after a failure).
    pub async fn endpoints(&self) -> anyhow::Result<&Endpoints> {
        self.endpoints
            .get_or_try_init(|| async {
                let (discovery, document) = self.discovery().await?;
                let endpoint = |name: &str| -> anyhow::Result<Url> {
                    let text = document.get(name).and_then(Value::as_str).unwrap_or_default();
                    provider_url(text).with_context(|| format!("{discovery}: its {name}"))
                };
                Ok(Endpoints { authorization: endpoint("authorization_endpoint")?, token: endpoint("token_endpoint")? })
            })
            .await
    }

    /// The issuer's discovery document, checked to name the issuer configured; and its address.
    async fn discovery(&self) -> anyhow::Result<(String, Value)> {
        let issuer = &self.settings.issuer;
        let discovery = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let document: Value = self.get(&discovery).await?;
        let named = document.get("issuer").and_then(Value::as_str);
        if named != Some(issuer.as_str()) {
            bail!(
                "{discovery} names issuer {}, not {issuer}: set [oidc] issuer to the provider's issuer exactly",
                named.unwrap_or("(none)")
            );
        }
        Ok((discovery, document))
    }

    /// POST `form` to the provider's token endpoint: its JSON answer, or what
    /// it said when it refused (RFC 6749 §5.2). An error: it could not be asked.
    pub async fn exchange(&self, form: &[(&str, &str)]) -> anyhow::Result<Result<Value, String>> {
        let endpoint = &self.endpoints().await?.token;
        let failed = || format!("asking the OpenID provider for tokens at {endpoint}");
        let response = self.client.post(endpoint.clone()).form(form).send().await.with_context(failed)?;
        let status = response.status();
        let body = read_limited(response).await.with_context(failed)?;
        let answer: Value = serde_json::from_slice(&body).with_context(|| format!("{}: not JSON", failed()))?;
        if status.is_success() {
            return Ok(Ok(answer));
        }
        let error = answer.get("error").and_then(Value::as_str).unwrap_or("no error code");
        let described = answer.get("error_description").and_then(Value::as_str);
        Ok(Err(described.map_or(format!("{status}, {error}"), |d| format!("{status}, {error}: {d}"))))
    }

    /// Who `token` is of, or why it is refused (said to the client, with
    /// what to do). An error: the provider's keys could not be had.
    pub async fn verify(&self, token: &str) -> anyhow::Result<Result<Identity, String>> {
        let settings = &self.settings;
        let issuer = &settings.issuer;
        let header = match jsonwebtoken::decode_header(token) {
            Ok(header) => header,
            Err(e) => {
                return Ok(Err(format!(
                    "the bearer token is not a JWT this service can read ({e}): send an access token of {issuer}, \
                     or an ansinh API token"
                )));
            }
        };
        if !settings.algorithms.contains(&header.alg) {
            return Ok(Err(format!(
                "the access token is signed with {:?}, and this service accepts {} ([oidc] algorithms): ask the \
                 provider for tokens signed with one of those",
                header.alg,
                names(&settings.algorithms)
            )));
        }
        let claims: Unverified = match jsonwebtoken::dangerous::insecure_decode_claims(token) {
            Ok(claims) => claims,
            Err(e) => return Ok(Err(format!("the access token's claims cannot be read ({e})"))),
        };
        // Before any key is looked up: a token of another provider is refused
        // as such, and makes no fetch from this one.
        match claims.iss.as_ref().and_then(Value::as_str) {
            Some(iss) if iss == issuer => {}
            Some(iss) => {
                return Ok(Err(format!(
                    "the access token is from issuer {iss}, and this service trusts {issuer} only: sign in there"
                )));
            }
            None => return Ok(Err(format!("the access token names no issuer (iss): sign in at {issuer}"))),
        }
        let Some(kid) = header.kid.as_deref() else {
            return Ok(Err(format!(
                "the access token names no signing key (kid), and this service finds {issuer}'s keys by their id"
            )));
        };
        let Some(key) = self.key(kid).await? else {
            return Ok(Err(format!(
                "the access token is signed by a key ({kid}) that {issuer} does not publish: it was not made by \
                 that provider, or with a key it has withdrawn; sign in again for a new token"
            )));
        };
        if let Some(named) = key.algorithm
            && named != header.alg
        {
            return Ok(Err(format!(
                "the access token is signed with {:?}, but key {kid} of {issuer} is for {named:?}: it was not made \
                 by that provider; sign in again for a new token",
                header.alg
            )));
        }

        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = settings.leeway.as_secs();
        let refused = match jsonwebtoken::decode::<Verified>(token, &key.decoding, &validation) {
            Ok(data) if data.claims.sub.is_empty() || data.claims.sub.len() > MAX_SUBJECT => {
                format!("the access token's subject (sub) is empty or longer than {MAX_SUBJECT} characters")
            }
            Ok(data) => return Ok(Ok(Identity { issuer: issuer.clone(), subject: data.claims.sub })),
            Err(e) => match e.kind() {
                ErrorKind::InvalidSignature => format!(
                    "the access token's signature does not verify with key {kid} of {issuer}: it was not made by \
                     that provider, or was altered; sign in again for a new token"
                ),
                ErrorKind::ExpiredSignature => {
                    format!("the access token expired {}: sign in again, or refresh it", at(claims.exp.as_ref()))
                }
                ErrorKind::ImmatureSignature => format!(
                    "the access token is not valid before {}: if it was just issued, the clocks of this service \
                     and of {issuer} differ",
                    at(claims.nbf.as_ref())
                ),
                ErrorKind::InvalidAudience => format!(
                    "the access token is for {}, not for this service ({}): ask {issuer} for a token for resource \
                     (audience) {}",
                    claims.aud.as_ref().map_or("no audience".to_owned(), Value::to_string),
                    settings.audience,
                    settings.audience
                ),
                ErrorKind::MissingRequiredClaim(claim) => {
                    format!("the access token has no {claim} claim, which this service requires")
                }
                ErrorKind::InvalidClaimFormat(claim) => format!("the access token's {claim} claim is malformed"),
                _ => format!("the access token is not valid ({e}): sign in again for a new token"),
            },
        };
        Ok(Err(refused))
    }

    /// The key `kid` of the issuer: kept, or fetched now if the keys are
    /// missing, old or without it, and fetching is not held back. None: the
    /// issuer does not publish it (as far as can be known now).
    async fn key(&self, kid: &str) -> anyhow::Result<Option<Key>> {
        if let Some(key) = self.kept(kid, true) {
            return Ok(Some(key));
        }
        let mut fetching = self.fetching.lock().await;
        // Fetched while this one waited?
        if let Some(key) = self.kept(kid, true) {
            return Ok(Some(key));
        }
        if let Some((when, failed)) = &fetching.last
            && when.elapsed() < self.settings.refetch
        {
            // Held back: what is kept, even if old; else why the last fetch failed.
            return match (self.kept(kid, false), failed) {
                (Some(key), _) => Ok(Some(key)),
                (None, Some(why)) => bail!("{why} (tried again no sooner than {:?} later)", self.settings.refetch),
                (None, None) => Ok(None),
            };
        }
        match self.fetch(&mut fetching).await {
            Ok(keys) => {
                fetching.last = Some((Instant::now(), None));
                let found = keys.get(kid).cloned();
                *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Keys { by_kid: keys, fetched_at: Some(Instant::now()) };
                Ok(found)
            }
            Err(error) => {
                let why = format!("{error:#}");
                fetching.last = Some((Instant::now(), Some(why.clone())));
                match self.kept(kid, false) {
                    Some(key) => {
                        tracing::warn!(issuer = %self.settings.issuer, "the OpenID provider's keys could not be fetched again, the ones kept are used: {why}");
                        Ok(Some(key))
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// Key `kid` if kept (and, if `fresh`, fetched less than [`KEYS_MAX_AGE`] ago).
    fn kept(&self, kid: &str, fresh: bool) -> Option<Key> {
        let keys = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let young = keys.fetched_at.is_some_and(|at| at.elapsed() < KEYS_MAX_AGE);
        if fresh && !young {
            return None;
        }
        keys.by_kid.get(kid).cloned()
    }

    /// Fetch the issuer's signing keys (and, the first time, where they are).
    async fn fetch(&self, fetching: &mut Fetching) -> anyhow::Result<BTreeMap<String, Key>> {
        let issuer = &self.settings.issuer;
        let jwks_uri = match &fetching.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let (discovery, document) = self.discovery().await?;
                let uri = document.get("jwks_uri").and_then(Value::as_str).unwrap_or_default();
                let uri = provider_url(uri).with_context(|| format!("{discovery}: its jwks_uri"))?;
                fetching.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let set: Value = self.get(jwks_uri.as_str()).await?;
        let Some(listed) = set.get("keys").and_then(Value::as_array) else {
            bail!("{jwks_uri}: not a JWKS (a JSON object with `keys`)");
        };
        let mut keys = BTreeMap::new();
        for jwk in listed {
            // A key this service cannot use (encryption, symmetric, of a kind it does not
            // know) is left out, not a reason to refuse the others.
            let Ok(jwk) = serde_json::from_value::<Jwk>(jwk.clone()) else { continue };
            let Some(kid) = jwk.common.key_id.clone() else { continue };
            if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature)
                || matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
            {
                continue;
            }
            let algorithm = match jwk.common.key_algorithm {
                Some(named) => match Algorithm::try_from(named) {
                    Ok(algorithm) => Some(algorithm),
                    Err(_) => continue,
                },
                None => None,
            };
            let Ok(decoding) = DecodingKey::from_jwk(&jwk) else { continue };
            keys.insert(kid, Key { decoding, algorithm });
        }
        tracing::info!(issuer = %issuer, jwks_uri = %jwks_uri, keys = keys.len(), "fetched the OpenID provider's keys");
        Ok(keys)
    }

    /// GET `url` as JSON, at most [`MAX_DOCUMENT`] bytes.
    async fn get(&self, url: &str) -> anyhow::Result<Value> {
        let failed = || format!("fetching {url} from the OpenID provider");
        let response = self.client.get(url).send().await.with_context(failed)?;
        let status = response.status();
        if !status.is_success() {
            bail!("{}: it answered {status}", failed());
        }
        let body = read_limited(response).await.with_context(failed)?;
        serde_json::from_slice(&body).with_context(|| format!("{}: not JSON", failed()))
    }
}

/// A response's body, at most [`MAX_DOCUMENT`] bytes.
async fn read_limited(mut response: reqwest::Response) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT {
            bail!("it is larger than {MAX_DOCUMENT} bytes");
        }
    }
    Ok(body)
}

/// Whether `bearer` has the shape of a JWT (three base64url parts, the
/// first a JSON object): then it is an OIDC access token, not an API token.
pub fn looks_like_jwt(bearer: &str) -> bool {
    let parts: Vec<&str> = bearer.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// Who the OIDC access token `bearer` is of: the person account linked to
/// its issuer and subject, or why it is refused.
pub async fn authenticate(db: &Db, verifier: &Verifier, bearer: &str) -> anyhow::Result<Result<Caller, Refused>> {
    let Identity { issuer, subject } = match verifier.verify(bearer).await? {
        Ok(identity) => identity,
        Err(why) => return Ok(Err(Refused::Oidc(why))),
    };
    let Some(account_id) = store::accounts::oidc_account(db, &issuer, &subject).await? else {
        return Ok(Err(Refused::Unlinked(issuer, subject)));
    };
    let account = store::accounts::get(db, account_id).await?;
    let Some(account) = account.filter(|a| a.kind == "person") else {
        return Ok(Err(Refused::Unlinked(issuer, subject)));
    };
    if !account.active {
        return Ok(Err(Refused::LinkedDisabled(issuer, subject)));
    }
    Ok(Ok(Caller {
        roles: store::accounts::roles(db, account.id).await?,
        scopes: store::accounts::scopes(db, account.id).await?,
        actor: Actor { account: account.id, name: account.name, auth: Auth::Oidc { issuer, subject } },
        kind: account.kind,
    }))
}

/// An admin links subject `subject` of `issuer` (an OpenID provider's; None:
/// none was given, and `[oidc]` names none) to person account `id` in their
/// scope: that subject's access tokens then act as the account. A subject is
/// linked to one account, and a machine account is never linked (it has API
/// tokens).
pub async fn link(
    db: &Db,
    caller: &Caller,
    id: i64,
    issuer: Option<&str>,
    subject: &str,
) -> anyhow::Result<Result<(), Refusal>> {
    if !is_admin(caller) {
        return Ok(Err(Refusal::Forbidden("only an admin links an OpenID subject to an account".to_owned())));
    }
    let Some(account) = account_in_scope(db, caller, id).await? else {
        return Ok(Err(Refusal::NotFound(format!("there is no account {id} in your scope"))));
    };
    if account.kind != "person" {
        return Ok(Err(Refusal::Conflict(format!(
            "account {id} is a machine's: a machine authenticates with API tokens, and only a person's account is \
             linked to an OpenID subject"
        ))));
    }
    if !account.active {
        return Ok(Err(Refusal::Conflict(format!("account {id} is disabled"))));
    }
    let Some(issuer) = issuer else {
        return Ok(Err(Refusal::Invalid(
            "issuer: this service has no [oidc] configured, so give the provider's issuer in the request".to_owned(),
        )));
    };
    if let Err(e) = provider_url(issuer) {
        return Ok(Err(Refusal::Invalid(format!("issuer: {e:#}"))));
    }
    if subject.is_empty() || subject.len() > MAX_SUBJECT || subject.chars().any(char::is_control) {
        return Ok(Err(Refusal::Invalid(format!(
            "subject: expected the `sub` of the person's access tokens, 1 to {MAX_SUBJECT} characters without \
             control characters"
        ))));
    }
    let mut tx = db.begin().await?;
    match store::accounts::link_oidc(&mut tx, issuer, subject, id, &caller.actor.name).await {
        Ok(()) => {}
        Err(e) if store::is_unique_violation(&e) => {
            drop(tx);
            let linked = store::accounts::oidc_account(db, issuer, subject).await?;
            let to = linked.map_or_else(String::new, |other| format!(" to account {other}"));
            return Ok(Err(Refusal::Conflict(format!("subject {subject} of {issuer} is linked{to} already"))));
        }
        Err(e) => return Err(e),
    }
    let details = serde_json::json!({ "account": id, "issuer": issuer, "subject": subject });
    trail::append(&mut tx, &caller.actor, action::ACCOUNT_LINK_OIDC, &format!("account:{id}"), details).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The algorithms, by name, for a message.
fn names(algorithms: &[Algorithm]) -> String {
    let mut out = String::new();
    for (i, algorithm) in algorithms.iter().enumerate() {
        let _ = write!(out, "{}{algorithm:?}", if i > 0 { ", " } else { "" });
    }
    out
}

/// A claim's time (`exp`, `nbf`), for a message.
fn at(seconds: Option<&Value>) -> String {
    seconds
        .and_then(Value::as_i64)
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map_or_else(|| "(at a time it does not say)".to_owned(), |t| format!("at {}", t.to_rfc3339()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_key_algorithms_are_accepted() {
        assert_eq!(algorithm("RS256").unwrap(), Algorithm::RS256);
        assert_eq!(algorithm("ES256").unwrap(), Algorithm::ES256);
        for (name, says) in [
            ("none", "unsigned"),
            ("NONE", "unsigned"),
            ("HS256", "shared secret"),
            ("hs512", "shared secret"),
            ("RS1", "expected one of"),
        ] {
            let said = algorithm(name).unwrap_err().to_string();
            assert!(said.contains(says), "{name}: {said}");
        }
    }

    #[test]
    fn a_provider_is_reached_over_https_or_on_loopback() {
        for good in
            ["https://id.example.gov.vn/realms/ansinh", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"]
        {
            assert!(provider_url(good).is_ok(), "{good}");
        }
        for bad in ["http://id.example.gov.vn", "ftp://127.0.0.1", "id.example", "https://a.b/?x=1", "https://u:p@a.b"]
        {
            assert!(provider_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_jwt_is_told_from_an_api_token() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
        assert!(!looks_like_jwt("ansinh_0123456789abcdef_00"));
        assert!(!looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"));
        assert!(!looks_like_jwt("eyJ.a b.c"));
    }
}
