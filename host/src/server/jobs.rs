//! Jobs over HTTP: a job's state, counts done and total, rate and time left
//! (`GET /v1/jobs/{id}`), and the same as server-sent events until it ends
//! (`GET /v1/jobs/{id}/events`). Read from the database, so any server of
//! the same database answers for a job another one does.
//!
//! A job is seen by its owner, and by whoever may read the run it acts on.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::Path;
use super::problem::Problem;
use super::shared::Shared;
use crate::accounts::{self, Act, Caller};
use crate::store::{self, jobs::Job};

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/v1/jobs/{id}", get(show)).route("/v1/jobs/{id}/events", get(events))
}

/// How often the events route looks at the job.
const EVERY: Duration = Duration::from_secs(1);

/// A job, as its owner follows it.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    id: i64,
    /// `run.evaluate` or `run.issue`.
    kind: String,
    /// What it acts on, `run:ID`.
    subject: String,
    /// `queued`, `running`, `done` or `failed`.
    state: String,
    /// Items done, of `total` (0 while not known yet).
    done: i64,
    total: i64,
    /// Items a second since it started; absent before there is any.
    rate: Option<f64>,
    /// Seconds left at that rate.
    seconds_left: Option<f64>,
    /// How many times a process has taken it up (more than 1: one stopped, another resumed it).
    attempts: i64,
    /// What it made, once done.
    #[schema(value_type = Option<Object>)]
    result: Option<serde_json::Value>,
    /// Why it failed, once failed.
    error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    started_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    finished_at: Option<DateTime<Utc>>,
}

impl JobView {
    fn of(job: Job) -> JobView {
        let elapsed = match (job.started_at, job.finished_at.or(job.heartbeat_at)) {
            (Some(start), Some(last)) => (last - start).num_milliseconds() as f64 / 1000.0,
            _ => 0.0,
        };
        let rate = (elapsed > 0.0 && job.done > 0).then(|| job.done as f64 / elapsed);
        let seconds_left = rate.filter(|_| job.total >= job.done).map(|rate| (job.total - job.done) as f64 / rate);
        JobView {
            id: job.id,
            kind: job.kind,
            subject: job.subject,
            state: job.state,
            done: job.done,
            total: job.total,
            rate,
            seconds_left,
            attempts: job.attempts,
            result: job.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            error: job.error,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
        }
    }

    fn ended(&self) -> bool {
        self.state == "done" || self.state == "failed"
    }
}

/// Job `id` if `caller` may see it: theirs, or on a run they may read.
async fn visible(app: &Shared, caller: &Caller, id: i64) -> anyhow::Result<Option<Job>> {
    let Some(job) = store::jobs::get(&app.db, id).await? else { return Ok(None) };
    if job.owner == caller.actor.account {
        return Ok(Some(job));
    }
    let Some(run) = crate::jobs::run_of(&job) else { return Ok(None) };
    let may = accounts::run_in_scope(&app.db, caller, Act::ReadRun, run).await?.is_ok();
    Ok(may.then_some(job))
}

async fn find(app: &Shared, caller: &Caller, id: i64, headers: &HeaderMap) -> Result<Job, Response> {
    match visible(app, caller, id).await {
        Ok(Some(job)) => Ok(job),
        Ok(None) => {
            let detail = format!("there is no job {id} in your scope");
            Err(Problem::new(StatusCode::NOT_FOUND, detail, headers).into_response())
        }
        Err(error) => {
            let detail = "the job could not be read now: try again";
            Err(Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading a job", detail, headers)
                .into_response())
        }
    }
}

/// A job's state and progress.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The job")),
    responses((status = 200, body = JobView), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn show(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    match find(&app, &caller, id, &headers).await {
        Ok(job) => Json(JobView::of(job)).into_response(),
        Err(problem) => problem,
    }
}

/// A job's progress as server-sent events: a `progress` event (the job, as
/// `GET /v1/jobs/{id}` gives it) each second while it changes, then `done` or
/// `failed`, and the stream ends.
#[utoipa::path(get, path = "/v1/jobs/{id}/events", tag = "jobs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The job")),
    responses((status = 200, description = "Server-sent events: `progress`, then `done` or `failed`", content_type = "text/event-stream"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn events(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if let Err(problem) = find(&app, &caller, id, &headers).await {
        return problem;
    }
    event_stream(app, id)
}

/// Job `id`'s progress as server-sent events, for whoever was let see it:
/// the API's route above, and the live progress bar of a run's page.
pub(super) fn event_stream(app: Shared, id: i64) -> Response {
    // (what was last sent, whether the stream is over)
    let stream = futures_util::stream::unfold((None::<String>, false), move |(last, over)| {
        let app = app.clone();
        async move {
            if over {
                return None;
            }
            loop {
                let job = match store::jobs::get(&app.db, id).await {
                    Ok(Some(job)) => JobView::of(job),
                    Ok(None) => return None,
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), job = id, "reading a job for its events");
                        tokio::time::sleep(EVERY).await;
                        continue;
                    }
                };
                let data = serde_json::to_string(&job).expect("a job serialises");
                let ended = job.ended();
                if ended || last.as_deref() != Some(data.as_str()) {
                    let name = if ended { job.state.as_str() } else { "progress" };
                    let event = Event::default().event(name).data(data.clone());
                    return Some((Ok::<_, Infallible>(event), (Some(data), ended)));
                }
                tokio::time::sleep(EVERY).await;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// A job queued (or the one already open for the same step of the same run).
#[derive(Serialize, ToSchema)]
pub struct JobAccepted {
    job: i64,
    /// Where to follow it: its state, and `…/events` for server-sent events.
    href: String,
}

/// 202 with the job.
pub(super) fn accepted(job: i64) -> Response {
    let href = format!("/v1/jobs/{job}");
    (StatusCode::ACCEPTED, [(axum::http::header::LOCATION, href.clone())], Json(JobAccepted { job, href }))
        .into_response()
}

/// Queue `kind` on run `id` with `params` as `caller`: 202, or 409 if one with other parameters is
/// under way.
pub(super) async fn queue(
    app: &Shared,
    caller: &Caller,
    kind: crate::jobs::Kind,
    id: i64,
    params: &serde_json::Value,
    headers: &HeaderMap,
) -> Response {
    match crate::jobs::submit_with(&app.db, kind, id, params, &caller.actor).await {
        Ok(Ok(job)) => accepted(job),
        Ok(Err(open)) => {
            let detail = format!(
                "job {open} ({}) of run {id} is under way with other parameters: follow it at /v1/jobs/{open}, and ask \
                 again once it has ended",
                kind.as_str()
            );
            Problem::refused(accounts::Refusal::Conflict(detail), headers).into_response()
        }
        Err(error) => super::problem::failed(error, "queueing a job", headers),
    }
}
