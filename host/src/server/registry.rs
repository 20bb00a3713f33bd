//! The registry's open flags over HTTP: people a bank reported deceased
//! (MD07), held from payment until an officer of their province checks the
//! registry and clears the flag. Listing them is a read of personal data,
//! recorded with the account (Decree 13/2023/ND-CP).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Body, Path};
use super::problem::Problem;
use super::shared::Shared;
use crate::accounts::{self, Act, Place, Refusal, policy};
use crate::registry::flags;
use crate::store;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/v1/registry/flags", get(list)).route("/v1/registry/flags/{beneficiary}/clear", post(clear))
}

/// The open flags in the caller's scope.
#[derive(Serialize, ToSchema)]
pub struct Flags {
    flags: Vec<FlagListed>,
}

/// A person a bank reported deceased, held until checked.
#[derive(Serialize, ToSchema)]
pub struct FlagListed {
    beneficiary_id: i64,
    full_name: String,
    province: String,
    /// The bank's reason code (MD07).
    reason: String,
    payment_id: i64,
    flagged_by: String,
    #[schema(value_type = String, format = DateTime)]
    flagged_at: chrono::DateTime<chrono::Utc>,
}

/// What the registry check found.
#[derive(Deserialize, ToSchema)]
pub struct ClearRequest {
    reason: String,
}

fn failed(error: anyhow::Error, headers: &HeaderMap) -> Response {
    Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "registry flags", "try again", headers).into_response()
}

/// The open flags of the provinces in the caller's scope (officers).
#[utoipa::path(get, path = "/v1/registry/flags", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = Flags), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::ReviewRegistry, Place::Anywhere, "flag") {
        return Problem::refused(refusal, &headers).into_response();
    }
    let mut open = match store::flags::open(&app.db).await {
        Ok(open) => open,
        Err(error) => return failed(error, &headers),
    };
    open.retain(|f| policy::covers_province(&caller, &f.province));
    if !open.is_empty() {
        let recorded = crate::trail::record_read(
            &app.db,
            &caller.actor,
            "registry:flags",
            "registry flags",
            open.len(),
            serde_json::json!({}),
        );
        if let Err(error) = recorded.await {
            return failed(error, &headers);
        }
    }
    let flags = open
        .into_iter()
        .map(|f| FlagListed {
            beneficiary_id: f.beneficiary_id,
            full_name: f.full_name,
            province: f.province,
            reason: f.reason,
            payment_id: f.payment_id,
            flagged_by: f.flagged_by,
            flagged_at: f.flagged_at,
        })
        .collect();
    Json(Flags { flags }).into_response()
}

/// Clear the open flags of beneficiary `beneficiary`'s person after checking the
/// registry (officers of their province): later runs pay them again.
#[utoipa::path(post, path = "/v1/registry/flags/{beneficiary}/clear", tag = "registry", security(("bearer" = [])),
    params(("beneficiary" = i64, Path, description = "The beneficiary")), request_body = ClearRequest,
    responses((status = 204, description = "Cleared"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn clear(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(beneficiary): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<ClearRequest>,
) -> Response {
    let refused = |refusal| Problem::refused(refusal, &headers).into_response();
    if let Err(refusal) = accounts::allow(&caller, Act::ReviewRegistry, Place::Anywhere, "flag") {
        return refused(refusal);
    }
    let flag = match store::flags::open(&app.db).await {
        Ok(open) => open.into_iter().find(|f| f.beneficiary_id == beneficiary),
        Err(error) => return failed(error, &headers),
    };
    let what = format!("open flag of beneficiary #{beneficiary}");
    let Some(flag) = flag else { return refused(Refusal::NotFound(format!("there is no {what} in your scope"))) };
    if let Err(refusal) = accounts::allow(&caller, Act::ReviewRegistry, Place::Province(&flag.province), &what) {
        return refused(refusal);
    }
    if request.reason.trim().is_empty() {
        return refused(Refusal::Invalid("reason: say what the registry check found".to_owned()));
    }
    match flags::clear(&app.db, beneficiary, &caller.actor, request.reason.trim()).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(error) if error.chain().any(|e| e.is::<sqlx::Error>()) => failed(error, &headers),
        Err(error) => refused(Refusal::Invalid(format!("reason: {error:#}"))),
    }
}
