//! The authors' and approvers' pages of rule releases: the releases of the
//! authorities they read; upload of a plug-in with its cases; the signature
//! made offline (`ansinh plugin sign --plugin --cases --out` writes it: the
//! page takes that file, never a key); the shipped cases run on the plug-in,
//! each with its fuel, beside the active release's; the what-ifs over past
//! runs on record (totals, never people); approval and activation.

use axum::Form;
use axum::Router;
use axum::extract::{Multipart, OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::frame::{self, Chrome, Page, WhatIfRow, csrf_holds, failed, message, not_done, refused, render};
use super::i18n::Lang;
use crate::accounts::{self, Act, Place, policy};
use crate::server::problem::of_the_host;
use crate::server::releases::{Made, SignatureRequest, Upload, make};
use crate::server::shared::Shared;
use crate::store::{self, releases};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/releases", get(list))
        .route("/releases/{id}", get(show))
        .route("/releases/{id}/approve", post(approve))
        .route("/releases/{id}/activate", post(activate))
}

/// The pages that take files (a plug-in, a signature), under the service's upload limit.
pub(super) fn uploads() -> Router<Shared> {
    Router::new().route("/releases", post(upload)).route("/releases/{id}/signature", post(sign))
}

struct Listed {
    id: i64,
    authority: String,
    program: String,
    plugin: String,
    state: &'static str,
    effective_from: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "releases.html")]
struct Releases {
    lang: Lang,
    chrome: Chrome,
    releases: Vec<Listed>,
    may_upload: bool,
}

async fn list(State(app): State<Shared>, page: Page, OriginalUri(uri): OriginalUri) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    if let Err(refusal) = accounts::allow(caller, Act::ReadReleases, Place::Anywhere, "release") {
        return refused(refusal, lang);
    }
    let listed = async {
        let mut shown = Vec::new();
        let mut all = releases::list(&app.db).await?;
        // Newest first: what is being worked on.
        all.sort_by_key(|r| std::cmp::Reverse(r.id));
        for r in all {
            if policy::sees_authority(caller, &r.authority) {
                shown.push(Listed {
                    plugin: store::plugins::name(&app.db, r.plugin_hash).await?.to_string(),
                    id: r.id,
                    authority: r.authority,
                    program: r.program,
                    state: r.state.as_str(),
                    effective_from: r.effective_from.map(|m| m.to_string()),
                });
            }
        }
        anyhow::Ok(shown)
    };
    let releases = match listed.await {
        Ok(releases) => releases,
        Err(error) => return failed(lang, error),
    };
    let may_upload = accounts::allow(caller, Act::Author, Place::Anywhere, "authority").is_ok();
    render(Releases { lang, chrome: Chrome::of(&page, &uri), releases, may_upload })
}

/// A shipped case, as run now on the release's plug-in.
struct CaseRow {
    name: String,
    passed: bool,
    fuel: i64,
    problems: String,
}

#[derive(askama::Template)]
#[template(path = "release.html")]
struct ReleasePage {
    lang: Lang,
    chrome: Chrome,
    release: releases::Release,
    plugin: String,
    cases_sha256: String,
    cases: Vec<CaseRow>,
    /// Why the cases could not be run, if they could not.
    cases_failed: Option<String>,
    fuel: i64,
    /// The active release's id, and its fuel on the same cases (in words).
    compared: Option<(i64, String)>,
    effective_from: Option<String>,
    not_compared: Option<String>,
    what_ifs: Vec<WhatIfRow>,
    approval: Option<String>,
    may_sign: bool,
    may_approve: bool,
    may_activate: bool,
    done: Option<&'static str>,
}

#[derive(Deserialize)]
struct Shown {
    done: Option<String>,
}

async fn show(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<i64>,
    axum::extract::Query(shown): axum::extract::Query<Shown>,
) -> Response {
    let lang = page.lang;
    let release = match release_for(&app, &page, Act::ReadReleases, id).await {
        Ok(release) => release,
        Err(refused) => return refused,
    };
    let caller = &page.signed.caller;
    let may = |act| accounts::allow(caller, act, Place::Authority(&release.authority), "release").is_ok();
    let name = &caller.actor.name;
    let own = release.uploaded_by == *name || release.signed_by.as_deref() == Some(name.as_str());
    let state = release.state.as_str();
    let may_sign = state == "uploaded" && may(Act::Author);
    // Four eyes: who uploaded or signed it is not offered its approval.
    let may_approve = state == "signed" && may(Act::DecideRelease) && !own;
    let may_activate = state == "approved" && may(Act::DecideRelease);
    let detail = async {
        use sha2::Digest as _;
        let plugin = store::plugins::name(&app.db, release.plugin_hash).await?.to_string();
        let cases_sha256 = hex::encode(sha2::Sha256::digest(release.cases.as_bytes()));
        let what_ifs = frame::what_ifs(&app, &release.plugin_hash.to_string()).await?;
        anyhow::Ok((plugin, cases_sha256, what_ifs))
    };
    let (plugin, cases_sha256, what_ifs) = match detail.await {
        Ok(detail) => detail,
        Err(error) => return failed(lang, error),
    };
    // The cases, run now on the plug-in's stored bytes (signed or not: a dry run pays nothing),
    // and on the release in force: compiling and running plug-ins takes the CPU, so not on the
    // threads that serve requests.
    let ran = {
        let (app, release, handle) = (app.clone(), release.clone(), tokio::runtime::Handle::current());
        tokio::task::spawn_blocking(move || {
            handle.block_on(async {
                let bytes = store::plugins::bytes(&app.db, release.plugin_hash).await?;
                let loaded = app.sandbox.load(&bytes)?;
                let root = app.config.root()?;
                crate::release::run_cases(&app.db, &app.sandbox, root, &release, &loaded).await
            })
        })
    };
    let ran = async { ran.await? };
    let (mut cases, mut cases_failed, mut fuel, mut compared, mut not_compared) = (Vec::new(), None, 0, None, None);
    match ran.await {
        Ok(run) => {
            cases = run
                .cases
                .into_iter()
                .map(|(name, outcome)| CaseRow {
                    passed: outcome.passed(),
                    fuel: outcome.fuel as i64,
                    problems: outcome.problems.join("; "),
                    name,
                })
                .collect();
            fuel = run.fuel as i64;
            compared = run.compared_with.map(|(id, fuel)| (id, lang.count(fuel as i64)));
            not_compared = run.not_compared;
        }
        Err(error) if of_the_host(&error) => return failed(lang, error),
        Err(error) => cases_failed = Some(format!("{error:#}")),
    }
    let approval =
        release.approval.as_deref().and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()).map(|a| {
            let n = |key: &str| a[key].as_i64().unwrap_or(0);
            format!("{} · {} · {}", n("cases"), lang.count(n("fuel")), a["max_fuel_growth"])
        });
    let done = match shown.done.as_deref() {
        Some("uploaded") => Some("release_uploaded"),
        Some("signed") => Some("release_signed"),
        Some("approved") => Some("release_approved"),
        Some("activated") => Some("release_activated"),
        _ => None,
    };
    render(ReleasePage {
        lang,
        chrome: Chrome::of(&page, &uri),
        effective_from: release.effective_from.map(|m| m.to_string()),
        release,
        plugin,
        cases_sha256,
        cases,
        cases_failed,
        fuel,
        compared,
        not_compared,
        what_ifs,
        approval,
        may_sign,
        may_approve,
        may_activate,
        done,
    })
}

/// Release `id`, if the reader may do `act` on it; else the page to answer.
async fn release_for(app: &Shared, page: &Page, act: Act, id: i64) -> Result<releases::Release, Response> {
    match accounts::release_in_scope(&app.db, &page.signed.caller, act, id).await {
        Ok(Ok(release)) => Ok(release),
        Ok(Err(refusal)) => Err(refused(refusal, page.lang)),
        Err(error) => Err(failed(page.lang, error)),
    }
}

/// The answer to an action on release `id`: back to its page.
fn answer(page: &Page, id: i64, result: anyhow::Result<()>, what: &str) -> Response {
    frame::answer(page.lang, format!("/releases/{id}"), result, what)
}

/// The CSRF token a multipart form sends first: read before any file.
async fn csrf_first(form: &mut Multipart) -> String {
    match form.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.unwrap_or_default(),
        _ => String::new(),
    }
}

/// Upload a plug-in with its cases: a new release, then its page.
async fn upload(State(app): State<Shared>, page: Page, mut form: Multipart) -> Response {
    let lang = page.lang;
    if !csrf_holds(&page.signed, &csrf_first(&mut form).await) {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    let caller = &page.signed.caller;
    if let Err(refusal) = accounts::allow(caller, Act::Author, Place::Anywhere, "authority") {
        return refused(refusal, lang);
    }
    let upload = match Upload::read(&mut form).await {
        Ok(upload) => upload,
        Err((_, detail)) => return not_done(lang, detail, "/releases".to_owned()),
    };
    match make(&app, caller, upload).await {
        Made::Release(made) => frame::done(&format!("/releases/{}", made.id), "uploaded"),
        Made::Refused(refusal) => refused(refusal, lang),
        Made::Invalid(detail) => not_done(lang, detail, "/releases".to_owned()),
        Made::NotDone(error) if of_the_host(&error) => failed(lang, error),
        Made::NotDone(error) => not_done(lang, format!("{error:#}"), "/releases".to_owned()),
        Made::Failed(error) => failed(lang, error),
    }
}

/// The signature file `ansinh plugin sign --out` wrote, for an uploaded release.
async fn sign(State(app): State<Shared>, page: Page, Path(id): Path<i64>, mut form: Multipart) -> Response {
    let lang = page.lang;
    if !csrf_holds(&page.signed, &csrf_first(&mut form).await) {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    if let Err(refused) = release_for(&app, &page, Act::Author, id).await {
        return refused;
    }
    let back = format!("/releases/{id}");
    let file = match form.next_field().await {
        Ok(Some(field)) => field.bytes().await.map_err(|e| e.body_text()),
        Ok(None) => Err("the form has no signature file".to_owned()),
        Err(error) => Err(error.body_text()),
    };
    let request = match file.and_then(|bytes| {
        serde_json::from_slice::<SignatureRequest>(&bytes).map_err(|e| {
            format!("the signature file: expected what `ansinh plugin sign --plugin --cases --out` writes ({e})")
        })
    }) {
        Ok(request) => request,
        Err(detail) => return not_done(lang, detail, back),
    };
    let signed = async {
        let root = app.config.root()?;
        crate::release::add_signature(&app.db, root, id, &request.key, &request.signature, &page.signed.caller.actor)
            .await
    };
    answer(&page, id, signed.await, "signed")
}

#[derive(Deserialize)]
struct ApproveForm {
    csrf: String,
    max_fuel_growth: String,
}

async fn approve(
    State(app): State<Shared>,
    page: Page,
    Path(id): Path<i64>,
    Form(form): Form<ApproveForm>,
) -> Response {
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, page.lang, "expired_form");
    }
    if let Err(refused) = release_for(&app, &page, Act::DecideRelease, id).await {
        return refused;
    }
    let approved = async {
        let growth: f64 = form
            .max_fuel_growth
            .trim()
            .parse()
            .ok()
            .filter(|g: &f64| g.is_finite() && *g >= 1.0)
            .ok_or_else(|| anyhow::anyhow!("max fuel growth: expected a number of at least 1, e.g. 1.5"))?;
        let root = app.config.root()?;
        crate::release::approve(&app.db, &app.sandbox, root, id, &page.signed.caller.actor, growth).await.map(drop)
    };
    answer(&page, id, approved.await, "approved")
}

#[derive(Deserialize)]
struct ActivateForm {
    csrf: String,
    from: String,
}

async fn activate(
    State(app): State<Shared>,
    page: Page,
    Path(id): Path<i64>,
    Form(form): Form<ActivateForm>,
) -> Response {
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, page.lang, "expired_form");
    }
    if let Err(refused) = release_for(&app, &page, Act::DecideRelease, id).await {
        return refused;
    }
    let activated = async {
        let from: crate::model::Month =
            form.from.trim().parse().map_err(|e| anyhow::anyhow!("from: expected a month, YYYY-MM; {e}"))?;
        let root = app.config.root()?;
        crate::release::activate(&app.db, &app.sandbox, root, id, from, &page.signed.caller.actor).await
    };
    answer(&page, id, activated.await, "activated")
}
