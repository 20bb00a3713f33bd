//! Errors as `application/problem+json` (RFC 9457): what went wrong and what
//! to do, with the request's id to quote.

use crate::accounts::Refusal;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::shared::REQUEST_ID;

/// The media type of a problem.
pub const MEDIA_TYPE: &str = "application/problem+json";

/// A problem (RFC 9457).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// What kind of problem: a URI naming it (`about:blank` where the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind, in a few words.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// This occurrence: what went wrong and what to do.
    pub detail: String,
    /// The request it happened to: `urn:ansinh:request:ID`, its `x-request-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl Problem {
    /// A problem of `status` saying `detail`, about the request of `headers`.
    pub fn new(status: StatusCode, detail: impl Into<String>, headers: &HeaderMap) -> Problem {
        Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: headers
                .get(&REQUEST_ID)
                .and_then(|id| id.to_str().ok())
                .map(|id| format!("urn:ansinh:request:{id}")),
        }
    }
}

impl Problem {
    /// The host failed (the database, mostly), not the caller: the error is
    /// logged whole with what was being done, and the caller told only to try
    /// again, in `detail`.
    pub fn failed(
        status: StatusCode,
        error: &anyhow::Error,
        doing: &str,
        detail: &str,
        headers: &HeaderMap,
    ) -> Problem {
        tracing::error!(error = format!("{error:#}"), "{doing}");
        Problem::new(status, detail, headers)
    }
}

impl Problem {
    /// What an account was refused, with its status: 403 for a role it lacks,
    /// 404 for what is outside its scope, 409 and 422 for what clashes or is
    /// not valid.
    pub fn refused(refusal: Refusal, headers: &HeaderMap) -> Problem {
        let status = match refusal {
            Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
            Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::Conflict(_) => StatusCode::CONFLICT,
            Refusal::NotFound(_) => StatusCode::NOT_FOUND,
        };
        Problem::new(status, refusal.to_string(), headers)
    }
}

/// A failure of the host (the database, mostly): 500, the error logged whole
/// with what was being `doing`, the caller told to try again.
pub(super) fn failed(error: anyhow::Error, doing: &str, headers: &HeaderMap) -> Response {
    Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, doing, "it could not be done now: try again", headers)
        .into_response()
}

/// Whether `error` is the host's (the database or a file failed), not the caller's to correct.
pub(super) fn of_the_host(error: &anyhow::Error) -> bool {
    error.chain().any(|e| e.is::<sqlx::Error>() || e.is::<std::io::Error>())
}

/// What an action answers when it is not done: a failure of the host is 500;
/// anything else is the caller's to correct (a run's state that does not
/// allow the step, the wrong checksum, the same account as its creator, a
/// plug-in that does not load), answered with `status` and the reason the
/// command line gives.
pub(super) fn not_done(error: anyhow::Error, status: StatusCode, doing: &str, headers: &HeaderMap) -> Response {
    if of_the_host(&error) {
        return failed(error, doing, headers);
    }
    Problem::new(status, format!("{error:#}"), headers).into_response()
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).expect("a problem serialises");
        (status, [(header::CONTENT_TYPE, MEDIA_TYPE)], body).into_response()
    }
}

/// No route has this path.
pub(super) async fn no_route(method: Method, uri: Uri, headers: HeaderMap) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("there is no route {method} {}: /openapi.json lists every route", uri.path()),
        &headers,
    )
}

/// The path is a route, but not for this method.
pub(super) async fn wrong_method(method: Method, uri: Uri, headers: HeaderMap) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} takes no {method}: /openapi.json lists the methods of every route", uri.path()),
        &headers,
    )
}
