//! Signing in and out of the pages. A person signs in through the OpenID
//! provider of `[oidc]` (authorisation code with PKCE, `accounts::code_flow`:
//! `/sign-in/oidc` sends the browser there, `/sign-in/callback` takes it back),
//! or, only in `ansinh demo --serve` on a loopback address, as one of the
//! demo's people by a button. Before there is a session, the demo's sign-in
//! form carries a token of its own that a cookie must match, as the provider's
//! answer carries a `state` that its cookie must match (so no other site can
//! sign a browser in as someone else).

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::frame::{
    Chrome, Page, Reader, cookie, csrf_holds, explained, failed, local, message, render, session_cookie, set_session,
    url_encode,
};
use super::i18n::Lang;
use crate::accounts::{code_flow, session};
use crate::server::shared::Shared;
use crate::store;
use crate::trail::Auth;

/// The cookie that the sign-in form's token must match.
const FORM_COOKIE: &str = "ansinh_sign_in";

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/sign-in", get(page))
        .route("/sign-in/oidc", get(oidc_start))
        .route("/sign-in/callback", get(oidc_callback))
        .route("/sign-in/demo", post(demo))
        .route("/sign-out", post(sign_out))
}

#[derive(Deserialize)]
pub(super) struct Back {
    back: Option<String>,
}

/// A demo account offered.
struct DemoAccount {
    name: String,
    roles: String,
}

#[derive(askama::Template)]
#[template(path = "sign_in.html")]
struct SignIn {
    lang: Lang,
    chrome: Chrome,
    demo: Vec<DemoAccount>,
    /// The OpenID provider people sign in at, if the pages have a client
    /// there, and the way to it.
    provider: Option<(String, String)>,
    csrf: String,
    back: String,
}

async fn page(
    State(app): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    Query(back): Query<Back>,
) -> Response {
    let back = local(back.back.as_deref());
    if let Some(value) = cookie(&headers, session_cookie(&app))
        && let Ok(Ok(_)) = session::find(&app.db, value).await
    {
        return Redirect::to(&back).into_response();
    }
    let mut demo = Vec::new();
    if app.demo_sign_in {
        let people = match store::accounts::people(&app.db).await {
            Ok(people) => people,
            Err(error) => return failed(lang, error),
        };
        for (id, name) in people {
            match store::accounts::roles(&app.db, id).await {
                Ok(roles) => demo.push(DemoAccount { name, roles: roles.join(", ") }),
                Err(error) => return failed(lang, error),
            }
        }
    }
    let token = match crate::accounts::Secret::generate() {
        Ok(token) => token.hash(),
        Err(error) => return failed(lang, error),
    };
    let chrome = Chrome {
        name: None,
        runs: false,
        releases: false,
        auditor: false,
        csrf: String::new(),
        here: format!("/sign-in?back={}", url_encode(&back)),
    };
    let provider =
        pages_provider(&app).map(|v| (v.issuer().to_owned(), format!("/sign-in/oidc?back={}", url_encode(&back))));
    let mut response = render(SignIn { lang, chrome, demo, provider, csrf: token.clone(), back });
    let cookie = format!("{FORM_COOKIE}={token}; Path=/sign-in; HttpOnly; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The OpenID provider people sign in to the pages at: `[oidc]` with a
/// `client_id` for the pages; None, and its routes are not found, without.
fn pages_provider(app: &Shared) -> Option<&crate::accounts::oidc::Verifier> {
    app.oidc.as_ref().filter(|verifier| verifier.client().is_some())
}

/// `/sign-in/oidc?back=…`: off to the provider, with the sign-in's cookie.
async fn oidc_start(State(app): State<Shared>, Reader(lang): Reader, Query(back): Query<Back>) -> Response {
    let Some(verifier) = pages_provider(&app) else {
        return message(StatusCode::NOT_FOUND, lang, "not_found");
    };
    let started = match code_flow::start(verifier, &local(back.back.as_deref())).await {
        Ok(started) => started,
        Err(error) => return failed(lang, error),
    };
    let mut response = Redirect::to(started.location.as_str()).into_response();
    // Lax, not Strict: the provider's redirect back is a navigation from its site.
    let cookie = oidc_cookie(&app, &started.cookie, code_flow::COOKIE_SECONDS);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The `Set-Cookie` of a sign-in under way at the provider (an empty `value` and no age: gone).
fn oidc_cookie(app: &Shared, value: &str, seconds: u32) -> String {
    let secure = if app.cookies_over_http { "" } else { "; Secure" };
    format!("{}={value}; Path=/sign-in; Max-Age={seconds}; HttpOnly; SameSite=Lax{secure}", code_flow::COOKIE)
}

/// `/sign-in/callback?code=…&state=…`: the provider's answer. The sign-in's
/// cookie goes, whatever the answer.
async fn oidc_callback(
    State(app): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    Query(answer): Query<code_flow::Answer>,
) -> Response {
    let Some(verifier) = pages_provider(&app) else {
        return message(StatusCode::NOT_FOUND, lang, "not_found");
    };
    let pending = cookie(&headers, code_flow::COOKIE);
    let mut response = match code_flow::finish(&app.db, verifier, pending, &answer).await {
        Ok(Ok((caller, back))) => match open_session(&app, &headers, caller.actor.account, caller.actor.auth).await {
            Ok(Ok(opened)) => {
                let mut response = Redirect::to(&local(Some(&back))).into_response();
                if let Some(value) = set_session(&app, Some(&opened.cookie.to_string())) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
                response
            }
            Ok(Err(refused)) => {
                explained(StatusCode::FORBIDDEN, lang, "not_signed_in", refused.to_string(), "/sign-in".into())
            }
            Err(error) => failed(lang, error),
        },
        Ok(Err(why)) => explained(StatusCode::FORBIDDEN, lang, "not_signed_in", why.to_string(), "/sign-in".into()),
        Err(error) => failed(lang, error),
    };
    if let Ok(value) = HeaderValue::from_str(&oidc_cookie(&app, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct DemoForm {
    csrf: String,
    account: String,
    back: Option<String>,
}

/// Sign in as a demo account: only where `ansinh demo --serve` allowed it (on loopback).
async fn demo(
    State(app): State<Shared>,
    Reader(lang): Reader,
    headers: HeaderMap,
    Form(form): Form<DemoForm>,
) -> Response {
    if !app.demo_sign_in {
        return message(StatusCode::NOT_FOUND, lang, "not_found");
    }
    let expected = cookie(&headers, FORM_COOKIE).unwrap_or_default();
    if expected.is_empty() || expected != form.csrf {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    let people = match store::accounts::people(&app.db).await {
        Ok(people) => people,
        Err(error) => return failed(lang, error),
    };
    let Some((id, _)) = people.into_iter().find(|(_, name)| *name == form.account) else {
        return message(StatusCode::NOT_FOUND, lang, "not_found");
    };
    match open_session(&app, &headers, id, Auth::Demo).await {
        Ok(Ok(opened)) => {
            let mut response = Redirect::to(&local(form.back.as_deref())).into_response();
            if let Some(value) = set_session(&app, Some(&opened.cookie.to_string())) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            let spent = format!("{FORM_COOKIE}=; Path=/sign-in; Max-Age=0; HttpOnly; SameSite=Strict");
            if let Ok(value) = HeaderValue::from_str(&spent) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Ok(Err(_)) => message(StatusCode::FORBIDDEN, lang, "forbidden"),
        Err(error) => failed(lang, error),
    }
}

/// Open a session for `account`, signed in as `auth`, ending first the session
/// this browser may still hold (someone else's, on a shared computer): one
/// browser, one session.
async fn open_session(
    app: &Shared,
    headers: &HeaderMap,
    account: i64,
    auth: Auth,
) -> anyhow::Result<Result<session::Opened, crate::accounts::Refused>> {
    if let Some(value) = cookie(headers, session_cookie(app))
        && let Ok(signed) = session::find(&app.db, value).await?
    {
        session::end(&app.db, &signed).await?;
    }
    session::open(&app.db, account, auth).await
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Sign out: the session ends, and its cookie with it.
async fn sign_out(State(app): State<Shared>, page: Page, Form(form): Form<CsrfForm>) -> Response {
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, page.lang, "expired_form");
    }
    if let Err(error) = session::end(&app.db, &page.signed).await {
        return failed(page.lang, error);
    }
    let mut response = Redirect::to("/sign-in").into_response();
    if let Some(value) = set_session(&app, None) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
