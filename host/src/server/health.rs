//! `/healthz` (the process answers) and `/readyz` (and can serve: the
//! database answers and holds every migration of this binary), for a load
//! balancer or an orchestrator's probes.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::Problem;
use super::shared::Shared;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// What a probe that succeeds answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `alive` or `ready`.
    pub status: &'static str,
    /// This binary's version.
    pub version: &'static str,
}

/// The process answers. Checks nothing else, so that a slow database does not
/// get a healthy process restarted.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub(super) async fn healthz() -> Json<Health> {
    Json(Health { status: "alive", version: env!("CARGO_PKG_VERSION") })
}

/// Ready to serve: the database answers and holds every migration this binary
/// knows. 503 with what is wrong otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, body = Health),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn readyz(State(app): State<Shared>, headers: HeaderMap) -> Result<Json<Health>, Problem> {
    match app.db.ready().await {
        Ok(()) => Ok(Json(Health { status: "ready", version: env!("CARGO_PKG_VERSION") })),
        Err(error) => Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {error:#}"), &headers)),
    }
}
