//! What every page shares: who reads it (the session from its cookie, and
//! the reader's language), the frame around it, its CSRF check, and how it is
//! rendered or refused.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::i18n::{self, Lang};
use crate::accounts::session::{self, Signed};
use crate::server::shared::Shared;

/// The session cookie: `__Host-` (and `Secure`) so that only this origin,
/// over HTTPS, sets it, for every path; the demo's, served over plain HTTP on
/// loopback, is [`PLAIN_SESSION_COOKIE`].
pub const SESSION_COOKIE: &str = "__Host-ansinh_session";
pub const PLAIN_SESSION_COOKIE: &str = "ansinh_session";

/// The session cookie's name where `app` serves.
pub(super) fn session_cookie(app: &Shared) -> &'static str {
    if app.cookies_over_http { PLAIN_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// The `Set-Cookie` of a session: `value`, or none (`None`: the cookie is cleared).
pub(super) fn set_session(app: &Shared, value: Option<&str>) -> Option<HeaderValue> {
    let secure = if app.cookies_over_http { "" } else { "; Secure" };
    let cookie = match value {
        Some(value) => format!("{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}", session_cookie(app)),
        None => format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}", session_cookie(app)),
    };
    HeaderValue::from_str(&cookie).ok()
}

/// A cookie of the request, by name.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The reader's language, from their cookie.
pub struct Reader(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Reader(Lang::from_cookie(cookie(&parts.headers, i18n::COOKIE))))
    }
}

/// A page for people signed in: the session, and the reader's language.
/// Without a session that holds, the browser is sent to sign in, and back
/// here after.
pub struct Page {
    pub signed: Signed,
    pub lang: Lang,
}

impl FromRequestParts<Shared> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_cookie(cookie(&parts.headers, i18n::COOKIE));
        let to_sign_in = || {
            let back = parts.extensions.get::<OriginalUri>().map_or("/".to_owned(), |uri| uri.0.to_string());
            let back: String = url_encode(&back);
            Redirect::to(&format!("/sign-in?back={back}")).into_response()
        };
        let Some(value) = cookie(&parts.headers, session_cookie(app)) else { return Err(to_sign_in()) };
        match session::find(&app.db, value).await {
            Ok(Ok(signed)) => Ok(Page { signed, lang }),
            Ok(Err(_)) => Err(to_sign_in()),
            Err(error) => Err(failed(lang, error)),
        }
    }
}

/// Percent-encode `text` for a query string.
pub(super) fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go back to: a path of this site only (never `//elsewhere`, nor
/// `/\t/elsewhere`, which a browser reads as `//elsewhere` once it drops the
/// tab: no backslash, control character or space anywhere).
pub(super) fn local(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Whether `given` is the session's CSRF token, compared in time that does not depend on where they differ.
pub(super) fn csrf_holds(signed: &Signed, given: &str) -> bool {
    let expected = signed.csrf.as_bytes();
    expected.len() == given.len() && expected.iter().zip(given.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

/// A page rendered from `template`; a template that fails is the host's fault (500).
pub(super) fn render(template: impl askama::Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(error = %error, "rendering a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be made").into_response()
        }
    }
}

/// The host failed: said in the reader's language, the error logged whole.
pub(super) fn failed(lang: Lang, error: anyhow::Error) -> Response {
    tracing::error!(error = format!("{error:#}"), "a page");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(format!("<!doctype html><title>500</title><p>{}</p>", lang.t("try_again"))),
    )
        .into_response()
}

/// A message page (not found, not allowed, a form expired) with `status`.
pub(super) fn message(status: StatusCode, lang: Lang, key: &str) -> Response {
    let page = Message { lang, title: lang.t(key), detail: None, back: None, status: status.as_u16() };
    (status, render(page)).into_response()
}

/// An action not done, for a reason the reader can act on (`detail`, as the
/// command line says it), with the way `back` to the page it came from.
pub(super) fn not_done(lang: Lang, detail: String, back: String) -> Response {
    explained(StatusCode::CONFLICT, lang, "not_done", detail, back)
}

/// Back to the page at `at`, saying what was done (`?done=what`).
pub(super) fn done(at: &str, what: &str) -> Response {
    Redirect::to(&format!("{at}?done={what}")).into_response()
}

/// The answer to an action on the page at `at`: back there saying what was
/// done, or why not (as the command line says it).
pub(super) fn answer(lang: Lang, at: String, result: anyhow::Result<()>, what: &str) -> Response {
    match result {
        Ok(()) => done(&at, what),
        Err(error) if crate::server::problem::of_the_host(&error) => failed(lang, error),
        Err(error) => not_done(lang, format!("{error:#}"), at),
    }
}

/// A message page titled `key`, with what happened (`detail`) and the way `back`.
pub(super) fn explained(status: StatusCode, lang: Lang, key: &str, detail: String, back: String) -> Response {
    let page = Message { lang, title: lang.t(key), detail: Some(detail), back: Some(back), status: status.as_u16() };
    (status, render(page)).into_response()
}

#[derive(askama::Template)]
#[template(path = "message.html")]
struct Message {
    lang: Lang,
    title: &'static str,
    detail: Option<String>,
    back: Option<String>,
    status: u16,
}

/// What the frame of every page shows: who is signed in (with the CSRF
/// token of the sign-out form), and where the language switch comes back to.
pub struct Chrome {
    pub name: Option<String>,
    /// Whether to show the way to the runs' pages, the releases' and the audit's.
    pub runs: bool,
    pub releases: bool,
    pub auditor: bool,
    pub csrf: String,
    /// This page's path and query.
    pub here: String,
}

impl Chrome {
    pub(super) fn of(page: &Page, here: &axum::http::Uri) -> Chrome {
        use crate::accounts::{Act, Place, allow};
        let may = |act| allow(&page.signed.caller, act, Place::Anywhere, "page").is_ok();
        Chrome {
            name: Some(page.signed.caller.actor.name.clone()),
            runs: may(Act::ReadRun),
            releases: may(Act::ReadReleases),
            auditor: may(Act::Audit),
            csrf: page.signed.csrf.clone(),
            here: here.path_and_query().map_or("/runs".to_owned(), |p| p.to_string()),
        }
    }
}

/// A refusal as a page: 404 for what is outside the scope, 403 for a role the account lacks.
pub(super) fn refused(refusal: crate::accounts::Refusal, lang: Lang) -> Response {
    match refusal {
        crate::accounts::Refusal::NotFound(_) => message(StatusCode::NOT_FOUND, lang, "not_found"),
        _ => message(StatusCode::FORBIDDEN, lang, "forbidden"),
    }
}

/// A what-if on record over a past run (`run.what_if`): its totals, never people.
pub struct WhatIfRow {
    /// `run:ID`.
    pub run: String,
    pub by: String,
    pub at: String,
    /// What it found, on one line.
    pub line: String,
}

/// The what-ifs on record of the plug-in whose hash is `plugin_hash`, oldest first.
pub(super) async fn what_ifs(app: &Shared, plugin_hash: &str) -> anyhow::Result<Vec<WhatIfRow>> {
    Ok(crate::store::audit::what_ifs(&app.db, plugin_hash)
        .await?
        .into_iter()
        .map(|e| {
            let summary = serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null);
            WhatIfRow { run: e.subject, by: e.actor, at: e.at, line: crate::run::WhatIf::summary_line(&summary) }
        })
        .collect())
}

/// Run `id`, if the reader may do `act` on it (`accounts::run_in_scope`); else the page to answer.
pub(super) async fn run_for(
    app: &Shared,
    page: &Page,
    act: crate::accounts::Act,
    id: i64,
) -> Result<crate::store::runs::Run, Response> {
    match crate::accounts::run_in_scope(&app.db, &page.signed.caller, act, id).await {
        Ok(Ok(run)) => Ok(run),
        Ok(Err(refusal)) => Err(refused(refusal, page.lang)),
        Err(error) => Err(failed(page.lang, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn back_is_a_path_of_this_site_only() {
        for path in ["/runs", "/runs/1?done=created", "/audit?run=1"] {
            assert_eq!(local(Some(path)), path);
        }
        for elsewhere in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://evil.example",
            "runs",
            "/ /x",
        ] {
            assert_eq!(local(Some(elsewhere)), "/", "{elsewhere:?}");
        }
        assert_eq!(local(None), "/");
    }
}
