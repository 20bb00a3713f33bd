//! The web pages of the service, for people: officers, approvers, authors and
//! auditors, in Vietnamese first (English by a switch that persists).
//! Server-rendered from askama templates (`host/templates/`), so they need no
//! Node build and work without JavaScript; the one script, the live progress
//! bar of a run's evaluation, is the project's own (`host/static/`).
//!
//! Sessions, not tokens: a person signs in (`sign_in.rs`) and a cookie holds
//! the session (`accounts::session`); every form carries the session's CSRF
//! token and every POST is refused without it. Every page is sent with a
//! content security policy that allows no inline script and nothing from
//! elsewhere. The API keeps taking bearer tokens only.
//!
//! Least data: no page puts an ID number in a URL; whatever comes from a
//! file, a plug-in or a person is HTML-escaped by the templates.
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::shared::Shared;

mod audit;
mod decision;
mod frame;
pub mod i18n;
mod releases;
mod runs;
mod sign_in;

use frame::local;
use i18n::Lang;

/// What every page is sent with: no script, style, image or frame from
/// elsewhere, no inline script, no form sent elsewhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                      form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(home))
        .route("/static/app.css", get(css))
        .route("/static/progress.js", get(script))
        .route("/lang/{code}", get(switch_language))
        .merge(sign_in::routes())
        .merge(runs::routes())
        .merge(decision::routes())
        .merge(releases::routes())
        .merge(audit::routes())
        .layer(axum::middleware::map_response(secure))
}

/// The pages that take a file (a bank's answer), under the service's upload
/// limit and timeout.
pub(super) fn uploads() -> Router<Shared> {
    runs::uploads().layer(axum::middleware::map_response(secure))
}

/// The pages that take a plug-in or its signature, under the limit of a release's upload.
pub(super) fn release_uploads() -> Router<Shared> {
    releases::uploads().layer(axum::middleware::map_response(secure))
}

/// Where a person starts: the first of runs, releases and the audit that
/// their roles open.
async fn home(page: frame::Page) -> Response {
    use crate::accounts::{Act, Place, allow};
    let may = |act| allow(&page.signed.caller, act, Place::Anywhere, "page").is_ok();
    let start = if may(Act::ReadRun) {
        "/runs"
    } else if may(Act::ReadReleases) {
        "/releases"
    } else if may(Act::Audit) {
        "/audit"
    } else {
        // An admin, or an account whose roles were taken away: no page of theirs (not a
        // redirect to sign in, which would send a signed-in reader straight back here).
        return frame::message(axum::http::StatusCode::FORBIDDEN, page.lang, "no_page_role");
    };
    Redirect::to(start).into_response()
}

/// The headers every page and asset is sent with.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages name people: not kept by the browser or anything between.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn css() -> Response {
    let headers = [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")];
    (headers, include_str!("../../../static/app.css")).into_response()
}

async fn script() -> Response {
    let headers = [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")];
    (headers, include_str!("../../../static/progress.js")).into_response()
}

#[derive(serde::Deserialize)]
struct Back {
    back: Option<String>,
}

/// `/lang/en?back=/runs`: switch the pages' language, kept in a cookie for a year.
async fn switch_language(
    axum::extract::Path(code): axum::extract::Path<String>,
    axum::extract::Query(back): axum::extract::Query<Back>,
) -> Response {
    let lang = if code == "en" { Lang::En } else { Lang::Vi };
    let cookie = format!("{}={}; Path=/; Max-Age=31536000; SameSite=Lax", i18n::COOKIE, lang.code());
    let mut response = Redirect::to(&local(back.back.as_deref())).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
