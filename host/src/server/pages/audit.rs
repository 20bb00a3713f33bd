//! The auditors' pages: the audit log (a run's entries, or for a national
//! auditor the whole log a page at a time), the whole log verified and a
//! run's decisions replayed as jobs, a job's verdict, and a person's history
//! found by an ID number sent in a form's body (never in a URL) and shown
//! under the person's keyed hash.

use axum::Form;
use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::frame::{Chrome, Page, csrf_holds, failed, message, not_done, refused, render, run_for};
use super::i18n::Lang;
use crate::accounts::{self, Act, Place, policy};
use crate::identity::id_number::IdNumber;
use crate::jobs::Kind;
use crate::server::shared::Shared;
use crate::store;
use crate::trail;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/audit", get(log))
        .route("/audit/person", get(person_form).post(person))
        .route("/audit/verify", post(verify))
        .route("/runs/{id}/replay", post(replay))
        .route("/runs/{id}/export", post(export))
        .route("/jobs/{id}", get(job))
        .route("/jobs/{id}/bundle", get(bundle))
}

/// Entries a page of the log lists.
const PAGE: i64 = 200;

#[derive(Deserialize)]
struct LogQuery {
    #[serde(default)]
    run: String,
    after: Option<i64>,
}

struct Entry {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    lang: Lang,
    chrome: Chrome,
    national: bool,
    run_filter: String,
    entries: Vec<Entry>,
    next: Option<i64>,
}

async fn log(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<LogQuery>,
) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    if let Err(refusal) = accounts::allow(caller, Act::Audit, Place::Anywhere, "audit log") {
        return refused(refusal, lang);
    }
    let national = caller.scopes.iter().any(|s| s == "national");
    let run = query.run.trim();
    let (rows, next) = if !run.is_empty() {
        let Ok(id) = run.parse::<i64>() else { return message(StatusCode::NOT_FOUND, lang, "not_found") };
        if let Err(refused) = run_for(&app, &page, Act::Audit, id).await {
            return refused;
        }
        match store::audit::about(&app.db, &trail::run_subject(id)).await {
            Ok(rows) => (rows, None),
            Err(error) => return failed(lang, error),
        }
    } else if national {
        match store::audit::page(&app.db, query.after.unwrap_or(0), PAGE).await {
            Ok(rows) => {
                let next = (rows.len() as i64 == PAGE).then(|| rows.last().map(|e| e.seq)).flatten();
                (rows, next)
            }
            Err(error) => return failed(lang, error),
        }
    } else {
        (Vec::new(), None)
    };
    let entries = rows
        .into_iter()
        .map(|e| Entry { seq: e.seq, at: e.at, actor: e.actor, action: e.action, subject: e.subject })
        .collect();
    let chrome = Chrome::of(&page, &uri);
    render(AuditPage { lang, chrome, national, run_filter: run.to_owned(), entries, next })
}

#[derive(askama::Template)]
#[template(path = "person.html")]
struct PersonPage {
    lang: Lang,
    chrome: Chrome,
    history: Option<crate::audit::person::History>,
}

async fn person_form(page: Page, OriginalUri(uri): OriginalUri) -> Response {
    if let Err(refusal) = accounts::allow(&page.signed.caller, Act::Audit, Place::Anywhere, "person") {
        return refused(refusal, page.lang);
    }
    let chrome = Chrome::of(&page, &uri);
    render(PersonPage { lang: page.lang, chrome, history: None })
}

#[derive(Deserialize)]
struct PersonForm {
    csrf: String,
    id_number: String,
}

async fn person(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Form(form): Form<PersonForm>,
) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    if let Err(refusal) = accounts::allow(caller, Act::Audit, Place::Anywhere, "person") {
        return refused(refusal, lang);
    }
    let number = match IdNumber::parse(form.id_number.trim()) {
        Ok(number) => number,
        Err(error) => return not_done(lang, format!("{}: {error}", lang.t("id_number")), "/audit/person".to_owned()),
    };
    let key = match app.config.person_key() {
        Ok(key) => key,
        Err(error) => return not_done(lang, format!("{error:#}"), "/audit".to_owned()),
    };
    let covers = |province: &str| policy::covers_province(caller, province);
    let found = async {
        let history = crate::audit::person::history(&app.db, key, &number, &covers).await?;
        let details = serde_json::json!({ "person": history.person, "runs": history.decisions.len() });
        trail::record_read(&app.db, &caller.actor, "person", "person history", 1, details).await?;
        anyhow::Ok(history)
    };
    match found.await {
        Ok(history) => {
            let chrome = Chrome::of(&page, &uri);
            render(PersonPage { lang, chrome, history: Some(history) })
        }
        Err(error) => failed(lang, error),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Verify the whole log (national auditors), as a job; its page follows.
async fn verify(State(app): State<Shared>, page: Page, Form(form): Form<CsrfForm>) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    if let Err(refusal) = accounts::allow(caller, Act::Audit, Place::Authority("national"), "whole audit log") {
        return refused(refusal, lang);
    }
    match crate::jobs::submit_on(&app.db, Kind::VerifyAudit, "audit", &caller.actor).await {
        Ok((job, _)) => Redirect::to(&format!("/jobs/{job}")).into_response(),
        Err(error) => failed(lang, error),
    }
}

/// Replay run `id`'s decisions (auditors of its province), as a job; its page follows.
async fn replay(State(app): State<Shared>, page: Page, Path(id): Path<i64>, Form(form): Form<CsrfForm>) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    if let Err(refused) = run_for(&app, &page, Act::Audit, id).await {
        return refused;
    }
    match crate::jobs::submit_with(&app.db, Kind::ReplayRun, id, &serde_json::json!({}), &caller.actor).await {
        Ok(Ok(job) | Err(job)) => Redirect::to(&format!("/jobs/{job}")).into_response(),
        Err(error) => failed(lang, error),
    }
}

/// Export run `id` to a bundle that replays offline (auditors of its province), as a job; its page follows.
async fn export(State(app): State<Shared>, page: Page, Path(id): Path<i64>, Form(form): Form<CsrfForm>) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    if let Err(refused) = run_for(&app, &page, Act::Audit, id).await {
        return refused;
    }
    match crate::jobs::submit_with(&app.db, Kind::ExportRun, id, &serde_json::json!({}), &caller.actor).await {
        Ok(Ok(job) | Err(job)) => Redirect::to(&format!("/jobs/{job}")).into_response(),
        Err(error) => failed(lang, error),
    }
}

/// The bundle an export job wrote (auditors of its run's province), checked before it is sent.
async fn bundle(State(app): State<Shared>, page: Page, Path(id): Path<i64>) -> Response {
    let lang = page.lang;
    // Who audits nothing is refused before anything is looked up; then whatever is not an
    // export of a run in the reader's scope is not found, alike.
    if let Err(refusal) = accounts::allow(&page.signed.caller, Act::Audit, Place::Anywhere, "export") {
        return refused(refusal, lang);
    }
    let not_found = || message(StatusCode::NOT_FOUND, lang, "not_found");
    let job = match store::jobs::get(&app.db, id).await {
        Ok(Some(job)) if job.kind == Kind::ExportRun.as_str() => job,
        Ok(_) => return not_found(),
        Err(error) => return failed(lang, error),
    };
    let Some(run) = crate::jobs::run_of(&job) else { return not_found() };
    if run_for(&app, &page, Act::Audit, run).await.is_err() {
        return not_found();
    }
    match crate::server::audit::send_bundle(&app, &page.signed.caller.actor, &job, run).await {
        Ok(Ok(sent)) => sent,
        Ok(Err(detail)) => not_done(lang, detail, format!("/jobs/{id}")),
        Err(error) => failed(lang, error),
    }
}

#[derive(askama::Template)]
#[template(path = "job.html")]
struct JobPage {
    lang: Lang,
    chrome: Chrome,
    id: i64,
    kind: String,
    subject: String,
    state: String,
    done: i64,
    total: i64,
    result: Option<String>,
    error: Option<String>,
    /// An export's bundle, once written: its download.
    bundle: bool,
}

/// A job's state and, once done, its result (its owner, or whoever may read its run).
async fn job(State(app): State<Shared>, page: Page, OriginalUri(uri): OriginalUri, Path(id): Path<i64>) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    let job = match store::jobs::get(&app.db, id).await {
        Ok(Some(job)) => job,
        Ok(None) => return message(StatusCode::NOT_FOUND, lang, "not_found"),
        Err(error) => return failed(lang, error),
    };
    let visible = job.owner == caller.actor.account
        || match crate::jobs::run_of(&job) {
            Some(run) => matches!(accounts::run_in_scope(&app.db, caller, Act::ReadRun, run).await, Ok(Ok(_))),
            None => false,
        };
    if !visible {
        return message(StatusCode::NOT_FOUND, lang, "not_found");
    }
    let result = job.result.as_deref().map(|r| match serde_json::from_str::<serde_json::Value>(r) {
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_else(|_| r.to_owned()),
        Err(_) => r.to_owned(),
    });
    let chrome = Chrome::of(&page, &uri);
    let bundle = job.kind == Kind::ExportRun.as_str() && job.state == "done";
    render(JobPage {
        bundle,
        lang,
        chrome,
        id: job.id,
        kind: job.kind,
        subject: job.subject,
        state: job.state,
        done: job.done,
        total: job.total,
        result,
        error: job.error,
    })
}
