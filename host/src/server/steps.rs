//! The steps of a run over HTTP: create, evaluate, approve, refuse, cancel,
//! issue, and a what-if of a candidate release over it. Each is allowed by `accounts::policy` as the command line's is;
//! the long ones (evaluate, issue) are jobs, answered `202 Accepted` with the
//! job to follow (`/v1/jobs/{id}`).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Body, Path};
use super::problem::{Problem, failed};
use super::shared::Shared;
use crate::accounts::{self, Act, Caller, Place};
use crate::jobs::{self, Kind};
use crate::model::Month;
use crate::run;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/runs", post(create))
        .route("/v1/runs/{id}/evaluate", post(evaluate))
        .route("/v1/runs/{id}/approve", post(approve))
        .route("/v1/runs/{id}/refuse", post(refuse))
        .route("/v1/runs/{id}/cancel", post(cancel))
        .route("/v1/runs/{id}/issue", post(issue))
        .route("/v1/runs/{id}/diff", post(diff))
}

/// The routes that take a file as their body, with a limit of their own ([`UPLOAD_LIMIT`]).
pub(super) fn uploads() -> Router<Shared> {
    Router::new().route("/v1/runs/{id}/reconcile", post(reconcile))
}

/// The largest file an upload takes: a bank's pain.002 for a province's month is a few MiB for
/// 100,000 payments; a million fits too.
pub const UPLOAD_LIMIT: usize = 512 << 20;

/// A run to create.
#[derive(Deserialize, ToSchema)]
pub struct NewRun {
    /// The programme, e.g. `social-assistance`.
    program: String,
    /// The paying province's 3-digit code.
    province: String,
    /// The paid month, `YYYY-MM`: the release in force then decides the run.
    period: String,
    /// Also pay arrears from this month (`YYYY-MM`) up to the one before `period`.
    back_pay_from: Option<String>,
}

/// A run made.
#[derive(Serialize, ToSchema)]
pub struct RunMade {
    id: i64,
}

/// What an approver approves: the checksum `GET /v1/runs/{id}` led them to.
#[derive(Deserialize, ToSchema)]
pub struct ApproveRequest {
    checksum: String,
}

/// Why a run is refused or cancelled: kept in the audit log.
#[derive(Deserialize, ToSchema)]
pub struct ReasonRequest {
    reason: String,
}

/// Whether `caller` may do `act` on run `id`; if not, the problem to answer.
async fn on_run(app: &Shared, caller: &Caller, act: Act, id: i64, headers: &HeaderMap) -> Result<(), Response> {
    super::runs::run_in_scope(app, caller, act, id, headers).await.map(|_| ())
}

/// A step not done: 409 with the reason, unless the host failed (500).
fn not_done(error: anyhow::Error, doing: &str, headers: &HeaderMap) -> Response {
    super::problem::not_done(error, StatusCode::CONFLICT, doing, headers)
}

/// Create a run for a programme, a province and a month (officers of the province).
#[utoipa::path(post, path = "/v1/runs", tag = "runs", security(("bearer" = [])), request_body = NewRun,
    responses((status = 201, body = RunMade), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn create(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Body(new): Body<NewRun>,
) -> Response {
    let month =
        |field: &str, text: &str| text.parse::<Month>().map_err(|e| format!("{field}: expected a month, YYYY-MM; {e}"));
    let months = month("period", &new.period).and_then(|period| {
        Ok((period, new.back_pay_from.as_deref().map(|from| month("back_pay_from", from)).transpose()?))
    });
    let (period, back_pay_from) = match months {
        Ok(months) => months,
        Err(detail) => return Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail, &headers).into_response(),
    };
    let what = format!("province {}", new.province);
    if let Err(refusal) = accounts::allow(&caller, Act::WorkRun, Place::Province(&new.province), &what) {
        return Problem::refused(refusal, &headers).into_response();
    }
    let root = match app.config.root() {
        Ok(root) => root,
        Err(error) => return not_done(error, "creating a run", &headers),
    };
    let made =
        run::create(&app.db, &app.sandbox, root, &new.program, &new.province, period, back_pay_from, &caller.actor)
            .await;
    match made {
        Ok(id) => {
            (StatusCode::CREATED, [(header::LOCATION, format!("/v1/runs/{id}"))], Json(RunMade { id })).into_response()
        }
        Err(error) => not_done(error, "creating a run", &headers),
    }
}

/// Evaluate run `id`: verify and decide every beneficiary (officers). A job:
/// asking again while it runs gives the same job; a run evaluated in part
/// resumes where it stopped.
#[utoipa::path(post, path = "/v1/runs/{id}/evaluate", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")),
    responses((status = 202, body = super::jobs::JobAccepted), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn evaluate(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    submit(&app, &caller, Kind::EvaluateRun, id, &headers).await
}

/// Issue approved run `id`: pay it once and write its files (officers). A job.
#[utoipa::path(post, path = "/v1/runs/{id}/issue", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")),
    responses((status = 202, body = super::jobs::JobAccepted), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn issue(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    submit(&app, &caller, Kind::IssueRun, id, &headers).await
}

async fn submit(app: &Shared, caller: &Caller, kind: Kind, id: i64, headers: &HeaderMap) -> Response {
    if let Err(problem) = on_run(app, caller, Act::WorkRun, id, headers).await {
        return problem;
    }
    match jobs::submit(&app.db, kind, id, &caller.actor).await {
        Ok((job, _)) => super::jobs::accepted(job),
        Err(error) => failed(error, "queueing a job", headers),
    }
}

/// Approve evaluated run `id` for payment with the checksum of what was
/// reviewed (approvers; never the run's creator or evaluator).
#[utoipa::path(post, path = "/v1/runs/{id}/approve", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")), request_body = ApproveRequest,
    responses((status = 200, description = "Approved: what was approved, and by whom", content_type = "application/json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn approve(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<ApproveRequest>,
) -> Response {
    if let Err(problem) = on_run(&app, &caller, Act::DecideRun, id, &headers).await {
        return problem;
    }
    match run::approve(&app.db, id, &request.checksum, &caller.actor).await {
        Ok(approval) => Json(approval).into_response(),
        Err(error) => not_done(error, "approving a run", &headers),
    }
}

/// Refuse run `id` with a reason (approvers, as for approval): an approved
/// run, not yet issued, goes back to evaluated; the refusal is on record.
#[utoipa::path(post, path = "/v1/runs/{id}/refuse", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")), request_body = ReasonRequest,
    responses((status = 204, description = "Refused"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn refuse(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<ReasonRequest>,
) -> Response {
    if let Err(problem) = on_run(&app, &caller, Act::DecideRun, id, &headers).await {
        return problem;
    }
    match run::refuse(&app.db, id, &caller.actor, &request.reason).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => not_done(error, "refusing a run", &headers),
    }
}

/// Cancel run `id` before it is issued, with a reason (officers); its decisions are kept.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")), request_body = ReasonRequest,
    responses((status = 204, description = "Cancelled"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn cancel(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<ReasonRequest>,
) -> Response {
    if let Err(problem) = on_run(&app, &caller, Act::WorkRun, id, &headers).await {
        return problem;
    }
    match run::cancel(&app.db, id, &caller.actor, &request.reason).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => not_done(error, "cancelling a run", &headers),
    }
}

/// What applying a bank's status report did.
#[derive(Serialize, ToSchema)]
pub struct ReconcileReport {
    /// sha256 of the report, hex.
    sha256: String,
    /// Transactions the report listed.
    listed: usize,
    /// Payments it settled, rejected (by reason code) or marked accepted: changes only.
    settled: i64,
    #[schema(value_type = Object)]
    rejected: std::collections::BTreeMap<String, i64>,
    accepted: i64,
    unchanged: i64,
    /// People flagged for the registry check (MD07: reported deceased).
    flagged: u64,
    /// What is told, not wrong.
    notes: Vec<String>,
    /// What is wrong in the report (applied: what is unambiguous): each with its line.
    problems: Vec<String>,
    /// The whole report, as `ansinh run reconcile` prints it.
    summary: String,
}

/// Apply a bank's pain.002 status report (the request's body, XML, any
/// pain.002.001.NN) to issued run `id` (officers): settled, rejected with the
/// reason, accepted; MD07 flags the person. 200 with what it did; its
/// `problems` list what is wrong in the report, applied where unambiguous.
#[utoipa::path(post, path = "/v1/runs/{id}/reconcile", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")),
    request_body(content = String, description = "The pain.002 report, as the bank sent it", content_type = "application/xml"),
    responses((status = 200, body = ReconcileReport), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn reconcile(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Err(problem) = on_run(&app, &caller, Act::WorkRun, id, &headers).await {
        return problem;
    }
    // Streamed to a file of its own, as the command line reads one: never whole in memory.
    let received = match super::extract::receive(body, ".xml").await {
        Ok(received) => received,
        Err(error) => {
            let detail = format!("the report could not be received: {error:#}");
            return Problem::new(StatusCode::BAD_REQUEST, detail, &headers).into_response();
        }
    };
    match run::reconcile(&app.db, id, received.path(), &caller.actor).await {
        Ok(done) => Json(ReconcileReport {
            summary: done.to_string(),
            sha256: done.sha256,
            listed: done.listed,
            settled: done.settled,
            rejected: done.rejected,
            accepted: done.accepted,
            unchanged: done.unchanged,
            flagged: done.flagged,
            notes: done.notes,
            problems: done.problems.iter().map(ToString::to_string).collect(),
        })
        .into_response(),
        Err(error) => not_done(error, "reconciling a run", &headers),
    }
}

/// The candidate of a what-if.
#[derive(Deserialize, ToSchema)]
pub struct DiffRequest {
    /// An uploaded release (signed or not: a what-if pays nothing) whose plug-in is asked.
    release: i64,
}

/// What-if (officers of the run's province): ask the plug-in of a candidate
/// release over evaluated run `id`'s stored inputs, as `run evaluate` would,
/// and count who would gain, lose or change outcome, with the totals. Pays
/// and stores nothing but the summary, which the release's approver sees. A job.
#[utoipa::path(post, path = "/v1/runs/{id}/diff", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")), request_body = DiffRequest,
    responses((status = 202, body = super::jobs::JobAccepted), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn diff(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<DiffRequest>,
) -> Response {
    if let Err(problem) = on_run(&app, &caller, Act::WorkRun, id, &headers).await {
        return problem;
    }
    // The candidate must be one the caller reads: a national release, or one of their provinces'.
    match accounts::release_in_scope(&app.db, &caller, Act::ReadReleases, request.release).await {
        Ok(Ok(_)) => {}
        Ok(Err(refusal)) => return Problem::refused(refusal, &headers).into_response(),
        Err(error) => return failed(error, "finding a release", &headers),
    }
    let params = serde_json::json!({ "release": request.release });
    super::jobs::queue(&app, &caller, Kind::DiffRun, id, &params, &headers).await
}
