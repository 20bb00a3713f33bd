//! The audit trail over HTTP, for auditors: the log's entries, a page at a
//! time, within the caller's scope (a national auditor sees every entry; a
//! province's, the entries about the runs of its provinces); `audit verify`
//! of the whole log as a job (national auditors: its findings span every
//! province); a run's replay and export as jobs, and the bundle an export
//! wrote; a person's history, found by the ID number sent in the body (never
//! in a URL, which logs keep) and answered under their keyed hash.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Body, Expected, Path, Query};
use super::jobs::JobAccepted;
use super::problem::{Problem, not_done};
use super::shared::Shared;
use crate::accounts::{self, Act, Caller, Place, Refusal, policy};
use crate::identity::id_number::IdNumber;
use crate::jobs::{self, Kind};
use crate::store;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/audit/log", get(log))
        .route("/v1/audit/verify", post(verify))
        .route("/v1/runs/{id}/replay", post(replay))
        .route("/v1/runs/{id}/export", post(export))
        .route("/v1/audit/exports/{job}", get(bundle))
        .route("/v1/audit/person", post(person))
}

/// Entries a page lists at most.
const PAGE: i64 = 200;

/// From where.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// List the entries after this one (the `next` of the page before).
    after: Option<i64>,
}

impl Expected for LogQuery {
    const EXPECTED: &'static str = "?after=SEQ, an entry's number";
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
pub struct LogPage {
    entries: Vec<LogEntry>,
    /// Give as `after` for the next page; absent on the last.
    next: Option<i64>,
}

/// An entry of the hash-chained log.
#[derive(Serialize, ToSchema)]
pub struct LogEntry {
    seq: i64,
    at: String,
    /// Who acted, by name; `details.by` names the account and how it authenticated.
    actor: String,
    action: String,
    subject: String,
    #[schema(value_type = Object)]
    details: serde_json::Value,
    prev_hash: String,
    hash: String,
}

fn failed(error: anyhow::Error, headers: &HeaderMap) -> Response {
    let detail = "the audit log could not be read now: try again";
    Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading the audit log", detail, headers).into_response()
}

/// The audit log's entries in the caller's scope, oldest first (auditors).
#[utoipa::path(get, path = "/v1/audit/log", tag = "audit", security(("bearer" = [])), params(LogQuery),
    responses((status = 200, body = LogPage), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn log(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Query(query): Query<LogQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::Audit, Place::Anywhere, "audit log") {
        return Problem::refused(refusal, &headers).into_response();
    }
    let national = caller.scopes.iter().any(|s| s == "national");
    // The province of each run met, looked up once.
    let mut provinces: BTreeMap<i64, Option<String>> = BTreeMap::new();
    let (mut after, mut listed) = (query.after.unwrap_or(0), Vec::new());
    loop {
        let page = match store::audit::page(&app.db, after, PAGE).await {
            Ok(page) => page,
            Err(error) => return failed(error, &headers),
        };
        let Some(last) = page.last() else { break };
        let full = page.len() as i64 == PAGE;
        after = last.seq;
        for entry in page {
            let visible = national || {
                let run = entry.subject.strip_prefix("run:").and_then(|id| id.parse::<i64>().ok());
                match run {
                    None => false,
                    Some(run) => {
                        if let std::collections::btree_map::Entry::Vacant(slot) = provinces.entry(run) {
                            match store::runs::find(&app.db, run).await {
                                Ok(found) => slot.insert(found.map(|run| run.province)),
                                Err(error) => return failed(error, &headers),
                            };
                        }
                        provinces[&run].as_deref().is_some_and(|province| policy::covers_province(&caller, province))
                    }
                }
            };
            if visible {
                listed.push(LogEntry {
                    details: serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::String(entry.details)),
                    seq: entry.seq,
                    at: entry.at,
                    actor: entry.actor,
                    action: entry.action,
                    subject: entry.subject,
                    prev_hash: entry.prev_hash,
                    hash: entry.hash,
                });
            }
        }
        if listed.len() as i64 >= PAGE || !full {
            let next = full.then_some(after);
            return Json(LogPage { entries: listed, next }).into_response();
        }
    }
    Json(LogPage { entries: listed, next: None }).into_response()
}

/// Verify the whole audit log (national auditors): a job, whose result says
/// whether the chain is whole and every digest matches, and the first findings.
#[utoipa::path(post, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 202, body = JobAccepted), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn verify(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::Audit, Place::Authority("national"), "whole audit log") {
        return Problem::refused(refusal, &headers).into_response();
    }
    match jobs::submit_on(&app.db, Kind::VerifyAudit, "audit", &caller.actor).await {
        Ok((job, _)) => super::jobs::accepted(job),
        Err(error) => failed(error, &headers),
    }
}

/// Whether `caller` may audit run `id`; if not, the problem to answer.
async fn audits_run(app: &Shared, caller: &Caller, id: i64, headers: &HeaderMap) -> Result<(), Response> {
    super::runs::run_in_scope(app, caller, Act::Audit, id, headers).await.map(|_| ())
}

/// What to replay.
#[derive(Deserialize, ToSchema)]
pub struct ReplayRequest {
    /// Replay a random sample of this many decisions (1 to 10,000,000) instead of all.
    sample: Option<u64>,
    /// The seed of a sample to draw again (a result gives its seed); a new one if left out.
    seed: Option<u64>,
}

/// Replay run `id` (auditors of its province): every decision, or a sample,
/// made again from the stored plug-in and inputs in a fresh sandbox and
/// compared byte for byte. A job; its result says whether all is identical.
#[utoipa::path(post, path = "/v1/runs/{id}/replay", tag = "audit", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")), request_body = ReplayRequest,
    responses((status = 202, body = JobAccepted), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn replay(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<ReplayRequest>,
) -> Response {
    let invalid = |detail: &str| Problem::refused(Refusal::Invalid(detail.to_owned()), &headers).into_response();
    match (request.sample, request.seed) {
        (Some(size), _) if !(1..=10_000_000).contains(&size) => return invalid("sample: 1 to 10,000,000 decisions"),
        (None, Some(_)) => return invalid("seed: only with a sample"),
        _ => {}
    }
    if let Err(problem) = audits_run(&app, &caller, id, &headers).await {
        return problem;
    }
    // The seed is chosen now, not when the job runs: a job taken up again after a crash draws the same sample.
    let params = match request.sample.map(|size| crate::audit::replay::Sample::new(size, request.seed)).transpose() {
        Ok(Some(sample)) => serde_json::json!({ "sample": sample.size, "seed": sample.seed }),
        Ok(None) => serde_json::json!({}),
        Err(error) => return failed(error, &headers),
    };
    super::jobs::queue(&app, &caller, Kind::ReplayRun, id, &params, &headers).await
}

/// Export run `id` (auditors of its province) to a bundle that replays
/// offline (`ansinh audit replay --bundle`): its decisions and inputs, its
/// plug-ins' bytes and signatures, its audit entries, people by keyed hash.
/// A job; once done, `/v1/audit/exports/{job}` downloads the bundle.
#[utoipa::path(post, path = "/v1/runs/{id}/export", tag = "audit", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")),
    responses((status = 202, body = JobAccepted), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn export(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if let Err(problem) = audits_run(&app, &caller, id, &headers).await {
        return problem;
    }
    super::jobs::queue(&app, &caller, Kind::ExportRun, id, &serde_json::json!({}), &headers).await
}

/// The bundle that export job `job` wrote (auditors of the run's province),
/// checked against the sha256 the job recorded before a byte is sent.
#[utoipa::path(get, path = "/v1/audit/exports/{job}", tag = "audit", security(("bearer" = [])),
    params(("job" = i64, Path, description = "The export job")),
    responses((status = 200, description = "The bundle (gzip)", content_type = "application/gzip",
            headers(("x-content-sha256" = String, description = "sha256 of the file's bytes, hex"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn bundle(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(job_id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let not_found = || {
        let detail = format!("there is no export {job_id} in your scope: POST /v1/runs/ID/export makes one");
        Problem::new(StatusCode::NOT_FOUND, detail, &headers).into_response()
    };
    if let Err(refusal) = accounts::allow(&caller, Act::Audit, Place::Anywhere, "export") {
        return Problem::refused(refusal, &headers).into_response();
    }
    let job = match store::jobs::get(&app.db, job_id).await {
        Ok(Some(job)) if job.kind == Kind::ExportRun.as_str() => job,
        Ok(_) => return not_found(),
        Err(error) => return failed(error, &headers),
    };
    let Some(run) = jobs::run_of(&job) else { return not_found() };
    if audits_run(&app, &caller, run, &headers).await.is_err() {
        return not_found();
    }
    match send_bundle(&app, &caller.actor, &job, run).await {
        Ok(Ok(sent)) => sent,
        Ok(Err(detail)) => Problem::refused(Refusal::Conflict(detail), &headers).into_response(),
        Err(error) => failed(error, &headers),
    }
}

/// The bundle that export job `job` (of run `run`, found in the caller's
/// scope) wrote, to `by`: checked against the sha256 the job recorded before
/// a byte is sent, the read recorded first. `Err` of the inner result: why it
/// is not sent (the job is not done, or the file was changed where it is kept).
pub(super) async fn send_bundle(
    app: &Shared,
    by: &crate::trail::Actor,
    job: &store::jobs::Job,
    run: i64,
) -> anyhow::Result<Result<Response, String>> {
    let result: Option<serde_json::Value> = job.result.as_deref().and_then(|r| serde_json::from_str(r).ok());
    let (Some(name), Some(sha256)) = (
        result.as_ref().and_then(|r| r["file"].as_str()).map(str::to_owned),
        result.as_ref().and_then(|r| r["sha256"].as_str()).map(str::to_owned),
    ) else {
        return Ok(Err(format!("export {} is {}: follow it at /v1/jobs/{}", job.id, job.state, job.id)));
    };
    let path = jobs::exports(&app.outbox)?.join(&name);
    let (opened, now) = super::files::opened_and_hashed(move || Ok(std::fs::File::open(&path)?)).await?;
    if now != sha256 {
        return Ok(Err(format!(
            "{name} is not the bundle export {} wrote (sha256 {sha256} recorded, {now} now): it was changed where \
             it is kept; export the run again",
            job.id
        )));
    }
    let people = result.as_ref().and_then(|r| r["decisions"].as_u64()).unwrap_or(0) as usize;
    let details = serde_json::json!({ "file": name, "sha256": sha256, "job": job.id });
    crate::trail::record_read(&app.db, by, &crate::trail::run_subject(run), "export", people, details).await?;
    Ok(Ok(super::files::stream(opened, &name, "application/gzip", &sha256)))
}

/// Whom to look up.
#[derive(Deserialize, ToSchema)]
pub struct PersonRequest {
    /// The person's 12-digit ID number (CCCD).
    id_number: String,
}

/// A person's history in the caller's scope: each run's decision about them, month by month.
#[derive(Serialize, ToSchema)]
pub struct PersonHistory {
    /// The person's keyed hash: how the audit trail and bundles name them.
    person: String,
    /// The id of the key that made it.
    key: String,
    #[schema(value_type = Vec<Object>)]
    decisions: Vec<crate::audit::person::Decided>,
}

/// Look a person up by ID number (auditors): their history in the runs of
/// the caller's scope, under their keyed hash. The look-up is recorded as a
/// read of personal data.
#[utoipa::path(post, path = "/v1/audit/person", tag = "audit", security(("bearer" = [])), request_body = PersonRequest,
    responses((status = 200, body = PersonHistory), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn person(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Body(request): Body<PersonRequest>,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::Audit, Place::Anywhere, "person") {
        return Problem::refused(refusal, &headers).into_response();
    }
    let number = match IdNumber::parse(request.id_number.trim()) {
        Ok(number) => number,
        Err(error) => {
            return Problem::refused(Refusal::Invalid(format!("id_number: {error}")), &headers).into_response();
        }
    };
    let key = match app.config.person_key() {
        Ok(key) => key,
        Err(error) => return not_done(error, StatusCode::CONFLICT, "looking a person up", &headers),
    };
    let covers = |province: &str| policy::covers_province(&caller, province);
    let found = async {
        let history = crate::audit::person::history(&app.db, key, &number, &covers).await?;
        let details = serde_json::json!({ "person": history.person, "runs": history.decisions.len() });
        crate::trail::record_read(&app.db, &caller.actor, "person", "person history", 1, details).await?;
        anyhow::Ok(history)
    };
    match found.await {
        Ok(history) => Json(PersonHistory { person: history.person, key: history.key, decisions: history.decisions })
            .into_response(),
        Err(error) => failed(error, &headers),
    }
}
