//! People sign in to the pages through the OpenID provider of `[oidc]`: the
//! authorisation code flow with PKCE (RFC 7636, S256), as a public client
//! (`[oidc] client_id`, no client secret to keep).
//!
//! [`start`] sends the browser to the provider with a fresh `state` and code
//! challenge; their secrets stay in a short-lived cookie of the browser that
//! started (HttpOnly, for `/sign-in` only). [`finish`] takes the provider's
//! answer on the callback: the `state` must be the cookie's (so no other site
//! can finish a sign-in in this browser), the code is exchanged with the
//! cookie's verifier (so a code seen by anyone else is worth nothing), and the
//! access token received is checked as the API checks one
//! ([`oidc::authenticate`]): same issuer, keys, audience and linked account.

use anyhow::{Context, bail};
use base64::Engine as _;
use reqwest::Url;
use sha2::{Digest, Sha256};

use super::oidc::{self, Verifier};
use super::{Caller, Refused, Secret};
use crate::store::Db;

/// The cookie that carries a sign-in under way, from [`start`] to [`finish`].
pub const COOKIE: &str = "ansinh_oidc";

/// How long a sign-in at the provider may take, in seconds.
pub const COOKIE_SECONDS: u32 = 600;

/// A sign-in started: where to send the browser, and the cookie to set.
pub struct Started {
    pub location: Url,
    pub cookie: String,
}

/// What the cookie of a sign-in under way holds: `state.verifier.back`, the
/// page to go back to in hex (it is one of this service's paths).
struct Pending {
    state: String,
    verifier: String,
    back: String,
}

impl Pending {
    fn cookie(&self) -> String {
        format!("{}.{}.{}", self.state, self.verifier, hex::encode(&self.back))
    }

    fn parse(cookie: &str) -> Option<Pending> {
        let mut parts = cookie.split('.');
        let (state, verifier, back) = (parts.next()?, parts.next()?, parts.next()?);
        let back = String::from_utf8(hex::decode(back).ok()?).ok()?;
        (parts.next().is_none() && !state.is_empty() && verifier.len() >= 43).then(|| Pending {
            state: state.to_owned(),
            verifier: verifier.to_owned(),
            back,
        })
    }
}

/// The code challenge of `verifier` (RFC 7636 S256).
fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Start signing in: the provider's authorisation address for this service's
/// client, and the cookie that [`finish`] needs. `back`: the page to open after.
pub async fn start(verifier: &Verifier, back: &str) -> anyhow::Result<Started> {
    let Some(client) = verifier.client() else { bail!("[oidc] has no client_id: sign-in by the pages is off") };
    let endpoints = verifier.endpoints().await?;
    // 64 hex digits each: random enough, and within RFC 7636's alphabet and lengths.
    let pending =
        Pending { state: Secret::generate()?.hash(), verifier: Secret::generate()?.hash(), back: back.into() };
    let mut location = endpoints.authorization.clone();
    location
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", client.redirect_uri.as_str())
        .append_pair("scope", "openid")
        .append_pair("state", &pending.state)
        .append_pair("code_challenge", &challenge(&pending.verifier))
        .append_pair("code_challenge_method", "S256")
        // RFC 8707: an access token for this service, as the API takes.
        .append_pair("resource", verifier.audience());
    Ok(Started { location, cookie: pending.cookie() })
}

/// Why a sign-in did not finish, said to the person on the page.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    #[error(
        "this sign-in was not started in this browser, or took longer than {COOKIE_SECONDS} seconds: sign in again"
    )]
    NotStarted,
    #[error("the OpenID provider did not sign you in ({0}): sign in again, or ask its administrator")]
    Provider(String),
    #[error("{0}")]
    Refused(Refused),
}

/// Finish signing in on the provider's answer (`code` and `state`, or its
/// `error`), with the value of the sign-in's cookie: who signed in, and the
/// page to go back to.
pub async fn finish(
    db: &Db,
    verifier: &Verifier,
    cookie: Option<&str>,
    answer: &Answer,
) -> anyhow::Result<Result<(Caller, String), Failed>> {
    let Some(pending) = cookie.and_then(Pending::parse) else { return Ok(Err(Failed::NotStarted)) };
    if answer.state.as_deref() != Some(pending.state.as_str()) {
        return Ok(Err(Failed::NotStarted));
    }
    if let Some(error) = &answer.error {
        let said = answer.error_description.as_deref().map_or(error.clone(), |d| format!("{error}: {d}"));
        return Ok(Err(Failed::Provider(said)));
    }
    let Some(code) = answer.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(Err(Failed::Provider("it sent no code".to_owned())));
    };
    let Some(client) = verifier.client() else { bail!("[oidc] has no client_id: sign-in by the pages is off") };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("client_id", &client.id),
        ("code_verifier", &pending.verifier),
        ("resource", verifier.audience()),
    ];
    let tokens = match verifier.exchange(&form).await? {
        Ok(tokens) => tokens,
        Err(said) => return Ok(Err(Failed::Provider(said))),
    };
    let access = tokens.get("access_token").and_then(serde_json::Value::as_str).context(
        "the OpenID provider's token endpoint answered without an access_token: is [oidc] client_id a client of \
         the authorisation code flow there?",
    )?;
    // A person's account only: `authenticate` never links a subject to a machine's.
    Ok(oidc::authenticate(db, verifier, access).await?.map(|caller| (caller, pending.back)).map_err(Failed::Refused))
}

/// What the provider sends back to the callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636, appendix B: the verifier and challenge of its example.
    #[test]
    fn the_challenge_is_rfc_7636s() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_cookie_reads_back_and_a_torn_one_does_not() {
        let pending = Pending { state: "s".repeat(64), verifier: "v".repeat(64), back: "/runs/7?x=1".into() };
        let read = Pending::parse(&pending.cookie()).unwrap();
        assert_eq!((read.state, read.verifier, read.back), (pending.state, pending.verifier, pending.back));
        for torn in ["", "a.b", "a.b.c.d", &format!("s.{}.zz", "v".repeat(64)), &format!("s.{}.", "v".repeat(10))] {
            assert!(Pending::parse(torn).is_none(), "{torn:?}");
        }
    }
}
