//! Who calls: the `Authorization: Bearer TOKEN` of a request, checked: an
//! ansinh API token (`ansinh_ID_SECRET`, `accounts::authenticate`), or a
//! person's OIDC access token, a JWT (`accounts::oidc::authenticate`, with
//! the verifier of the service's state). A handler that takes a [`Caller`] is
//! for accounts only; without a token, or with one that is refused, the
//! request is answered 401 with what to do (and `WWW-Authenticate: Bearer
//! error="invalid_token"` for a token refused), and the handler never runs.

use axum::Json;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::problem::Problem;
use super::shared::Shared;
use crate::accounts::{self, Caller, Refused, oidc};

/// The security scheme's name in the OpenAPI document.
pub const BEARER: &str = "bearer";

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/v1/me", get(me))
}

/// The account a request acts as.
pub struct Authenticated(pub Caller);

impl FromRequestParts<Shared> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        let unauthorized = |detail: String, challenge: &'static str| {
            let mut response = Problem::new(StatusCode::UNAUTHORIZED, detail, &parts.headers).into_response();
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static(challenge));
            response
        };
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "this route is for accounts: send `Authorization: Bearer TOKEN` (an admin makes accounts; \
                 `ansinh accounts init NAME` makes the first)"
                    .to_owned(),
                "Bearer",
            ));
        };
        let bearer = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default().trim();
        let checked = if bearer.starts_with(accounts::token::PREFIX) || !oidc::looks_like_jwt(bearer) {
            accounts::authenticate(&app.db, bearer).await
        } else {
            match &app.oidc {
                Some(verifier) => oidc::authenticate(&app.db, verifier, bearer).await,
                None => Ok(Err(Refused::OidcOff)),
            }
        };
        match checked {
            Ok(Ok(caller)) => Ok(Authenticated(caller)),
            Ok(Err(refused)) => Err(unauthorized(refused.to_string(), "Bearer error=\"invalid_token\"")),
            Err(error) => {
                let detail = "the token could not be checked now: try again";
                Err(Problem::failed(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &error,
                    "checking a token",
                    detail,
                    &parts.headers,
                )
                .into_response())
            }
        }
    }
}

/// The account the token is of: name, kind, roles, scopes, and how it
/// authenticated (`auth`: the API token's id, or the OIDC issuer and subject).
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account the token is of", content_type = "application/json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn me(Authenticated(caller): Authenticated) -> Json<Caller> {
    Json(caller)
}
