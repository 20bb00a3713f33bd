//! Accounts and their tokens over HTTP: an admin makes and disables accounts
//! in their scope, makes tokens for machine accounts and links people's
//! accounts to their OpenID subjects; a person makes their own tokens; a
//! token's holder or an admin revokes it (`accounts` has the rules, and
//! records each act in the log).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Body, Path};
use super::problem::Problem;
use super::shared::Shared;
use crate::accounts::{self, NewAccount, Refusal};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/accounts", post(create))
        .route("/v1/accounts/{id}/tokens", post(make_token))
        .route("/v1/accounts/{id}/disable", post(disable))
        .route("/v1/accounts/{id}/oidc", post(link_oidc))
        .route("/v1/tokens/{id}/revoke", post(revoke))
}

/// An account to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    /// The person's or machine's name, as written.
    name: String,
    /// `person` or `machine`.
    kind: String,
    /// Any of `author`, `officer`, `approver`, `auditor`, `admin` (never admin with approver or author).
    roles: Vec<String>,
    /// `national`, or `province:CODE` for each province.
    scopes: Vec<String>,
}

/// The account made.
#[derive(Serialize, ToSchema)]
pub struct AccountMade {
    id: i64,
}

/// A token to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What it is for ("laptop", "nightly import").
    name: String,
    /// How many days it lasts, 1 to 365.
    days: u32,
}

/// A token made: `token` is shown this once.
#[derive(Serialize, ToSchema)]
pub struct TokenMade {
    /// Its public id.
    id: String,
    /// The whole token, `ansinh_ID_SECRET`: keep it secret.
    token: String,
    /// When it stops working (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// An OpenID subject to link to a person's account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcLinkRequest {
    /// The `sub` of the person's access tokens, as the provider issues them.
    subject: String,
    /// The provider's issuer, as its tokens' `iss`; by default the one of `[oidc]` of the service's
    /// configuration.
    #[serde(default)]
    issuer: Option<String>,
}

/// What an action on accounts answers: `done` of its result, a refusal as
/// its problem, a failure of the host as 500.
fn answer<T>(
    result: anyhow::Result<Result<T, Refusal>>,
    headers: &HeaderMap,
    done: impl FnOnce(T) -> Response,
) -> Response {
    let refusal = match result {
        Ok(Ok(value)) => return done(value),
        Ok(Err(refusal)) => refusal,
        Err(error) => {
            let detail = "it could not be done now: try again";
            return Problem::failed(
                StatusCode::INTERNAL_SERVER_ERROR,
                &error,
                "an action on accounts",
                detail,
                headers,
            )
            .into_response();
        }
    };
    Problem::refused(refusal, headers).into_response()
}

/// Make an account (admins, within their scope).
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", security(("bearer" = [])), request_body = AccountRequest,
    responses((status = 201, body = AccountMade), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn create(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Body(request): Body<AccountRequest>,
) -> Response {
    let new = NewAccount { name: request.name, kind: request.kind, roles: request.roles, scopes: request.scopes };
    answer(accounts::create(&app.db, &caller, new).await, &headers, |id| {
        (StatusCode::CREATED, Json(AccountMade { id })).into_response()
    })
}

/// Make a token for account `id`: one's own (a person), or a machine account's (an admin).
#[utoipa::path(post, path = "/v1/accounts/{id}/tokens", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account")), request_body = TokenRequest,
    responses((status = 201, body = TokenMade), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn make_token(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<TokenRequest>,
) -> Response {
    answer(accounts::make_token(&app.db, &caller, id, &request.name, request.days).await, &headers, |made| {
        let (secret, expires_at) = made;
        let made = TokenMade { id: secret.id.clone(), token: secret.to_string(), expires_at };
        (StatusCode::CREATED, Json(made)).into_response()
    })
}

/// Disable account `id` (admins, within their scope; not their own): its tokens stop working.
#[utoipa::path(post, path = "/v1/accounts/{id}/disable", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account")),
    responses((status = 204, description = "Disabled"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn disable(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    answer(accounts::disable(&app.db, &caller, id).await, &headers, |()| StatusCode::NO_CONTENT.into_response())
}

/// Revoke token `id`: one's own, or any in an admin's scope.
#[utoipa::path(post, path = "/v1/tokens/{id}/revoke", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The token's public id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn revoke(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(accounts::revoke_token(&app.db, &caller, &id).await, &headers, |()| StatusCode::NO_CONTENT.into_response())
}

/// Link an OpenID subject to person account `id` (admins, within their scope): the access tokens the
/// provider issues that subject then act as the account. A subject is linked to one account; a
/// machine account is never linked.
#[utoipa::path(post, path = "/v1/accounts/{id}/oidc", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account")), request_body = OidcLinkRequest,
    responses((status = 204, description = "Linked"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn link_oidc(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<OidcLinkRequest>,
) -> Response {
    let issuer = request.issuer.as_deref().or(app.oidc.as_ref().map(|verifier| verifier.issuer()));
    let linked = accounts::oidc::link(&app.db, &caller, id, issuer, &request.subject).await;
    answer(linked, &headers, |()| StatusCode::NO_CONTENT.into_response())
}
