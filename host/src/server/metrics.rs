//! `/metrics`: what this process has done, and the shards and connections as
//! they are now, in the Prometheus text format (`crate::metrics`). Like the
//! probes it takes no token: it names no person, run or account, and a
//! deployment keeps it to its monitoring (deploy/k8s: NetworkPolicies).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::problem::Problem;
use super::shared::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/metrics", get(metrics))
}

/// This process's metrics: decisions by outcome, their time and fuel, plug-in
/// errors by kind, job durations, shards by state, database connections.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses(
        (status = 200, body = String, content_type = "application/openmetrics-text"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn metrics(State(app): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    match crate::metrics::render(&app.db).await {
        Ok(text) => Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()),
        Err(error) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database does not answer: {error:#}"),
            &headers,
        )),
    }
}
