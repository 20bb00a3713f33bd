//! Signing in and out of the pages. A person signs in through the OpenID
//! provider of `[oidc]` (authorisation code with PKCE: not yet; the API takes
//! the provider's access tokens today), or, only in `ansinh demo --serve` on a
//! loopback address, as one of the demo's people by a button. Before there is
//! a session, the sign-in form carries a token of its own that a cookie must
//! match (so no other site can sign a browser in as someone else).

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::frame::{
    Chrome, Page, Reader, cookie, csrf_holds, failed, local, message, render, session_cookie, set_session, url_encode,
};
use super::i18n::Lang;
use crate::accounts::session;
use crate::server::shared::Shared;
use crate::store;
use crate::trail::Auth;

/// The cookie that the sign-in form's token must match.
const FORM_COOKIE: &str = "ansinh_sign_in";

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/sign-in", get(page)).route("/sign-in/demo", post(demo)).route("/sign-out", post(sign_out))
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
        auditor: false,
        csrf: String::new(),
        here: format!("/sign-in?back={}", url_encode(&back)),
    };
    let mut response = render(SignIn { lang, chrome, demo, csrf: token.clone(), back });
    let cookie = format!("{FORM_COOKIE}={token}; Path=/sign-in; HttpOnly; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
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
    match session::open(&app.db, id, Auth::Demo).await {
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
