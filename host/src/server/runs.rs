//! Runs over HTTP, for the accounts whose scope covers their province: a run
//! of another province is answered 404, as if it did not exist (nothing of it
//! leaks, not even that it exists).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::problem::Problem;
use super::shared::Shared;
use crate::accounts;
use crate::store::{decisions, runs};

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/v1/runs/{id}", get(summary))
}

/// What a run is and decided, in totals: no person in it.
#[derive(Serialize, ToSchema)]
pub struct RunSummary {
    id: i64,
    program: String,
    /// The paying province's 3-digit code.
    province: String,
    /// The run's month, `YYYY-MM`; `first_period` earlier for back pay.
    period: String,
    first_period: String,
    /// created, evaluated, approved, issued or cancelled.
    status: String,
    release_id: Option<i64>,
    plugin_sha256: String,
    created_by: Option<String>,
    evaluated_by: Option<String>,
    approved_by: Option<String>,
    issued_by: Option<String>,
    /// People and monthly amount (VND) by outcome.
    outcomes: Vec<OutcomeSummary>,
}

/// One outcome's people and amount.
#[derive(Serialize, ToSchema)]
pub struct OutcomeSummary {
    outcome: String,
    people: i64,
    /// Whole đồng a month.
    amount: i64,
}

/// A run's summary: its steps and its totals by outcome.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")),
    responses((status = 200, body = RunSummary), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn summary(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if !accounts::reads_runs(&caller) {
        return Problem::new(StatusCode::FORBIDDEN, "runs are read by officers, approvers and auditors", &headers)
            .into_response();
    }
    let not_found =
        || Problem::new(StatusCode::NOT_FOUND, format!("there is no run {id} in your scope"), &headers).into_response();
    let Ok(run) = runs::get(&app.db, id).await else { return not_found() };
    if !accounts::covers_province(&caller, &run.province) {
        return not_found();
    }
    let outcomes = match decisions::totals(&app.db, id).await {
        Ok(totals) => totals
            .into_iter()
            .map(|t| OutcomeSummary { outcome: t.outcome.as_str().to_owned(), people: t.count, amount: t.amount })
            .collect(),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), run = id, "reading a run's totals");
            return Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the run could not be read now: try again",
                &headers,
            )
            .into_response();
        }
    };
    Json(RunSummary {
        id: run.id,
        program: run.program,
        province: run.province,
        period: run.period.to_string(),
        first_period: run.first_period.to_string(),
        status: run.status.as_str().to_owned(),
        release_id: run.release_id,
        plugin_sha256: run.plugin_hash.to_string(),
        created_by: run.created_by,
        evaluated_by: run.evaluated_by,
        approved_by: run.approved_by,
        issued_by: run.issued_by,
        outcomes,
    })
    .into_response()
}
