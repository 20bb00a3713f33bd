//! The OpenAPI 3.1 document of the service, built from the handlers' own
//! annotations (utoipa), so that it cannot drift from the routes: a route
//! without its `#[utoipa::path]` is missing here, and `tests/server.rs`
//! checks that every route answering is in the document.

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::accounts::{self, AccountMade, AccountRequest, OidcLinkRequest, TokenMade, TokenRequest};
use super::audit::{self, LogEntry, LogPage, PersonHistory, PersonRequest, ReplayRequest};
use super::auth::{self, BEARER};
use super::files::{self, RunFileListed, RunFiles};
use super::health::{self, Health};
use super::imports::{self, ImportRefused, ImportReport, RowProblem};
use super::jobs::{self, JobAccepted, JobView};
use super::metrics;
use super::problem::Problem;
use super::registry::{self, ClearRequest, FlagListed, Flags};
use super::releases::{
    self, ActivateRequest, ReleaseApproveRequest, ReleaseDetail, ReleaseList, ReleaseMade, ReleaseUpload, ReleaseView,
    SignatureRequest, WhatIfListed,
};
use super::runs::{self, ExceptionListed, ExceptionPage, OutcomeSummary, RunList, RunListed, RunSummary, ToApprove};
use super::shared::Shared;
use super::steps::{self, ApproveRequest, DiffRequest, NewRun, ReasonRequest, ReconcileReport, RunMade};

#[derive(OpenApi)]
#[openapi(
    info(title = "ansinh", description = "Social assistance paid without cash, by rules that run in a sandbox."),
    paths(
        health::healthz,
        health::readyz,
        metrics::metrics,
        openapi_json,
        auth::me,
        accounts::create,
        accounts::make_token,
        accounts::disable,
        accounts::revoke,
        accounts::link_oidc,
        runs::list,
        runs::summary,
        runs::exceptions,
        files::list,
        files::download,
        registry::list,
        registry::clear,
        audit::log,
        audit::verify,
        audit::replay,
        audit::export,
        audit::bundle,
        audit::person,
        imports::registry,
        imports::enrolments,
        releases::list,
        releases::show,
        releases::upload,
        releases::sign,
        releases::approve,
        releases::activate,
        releases::retire,
        steps::create,
        steps::evaluate,
        steps::approve,
        steps::refuse,
        steps::cancel,
        steps::issue,
        steps::reconcile,
        steps::diff,
        jobs::show,
        jobs::events
    ),
    components(schemas(Health, Problem, AccountRequest, AccountMade, TokenRequest, TokenMade, OidcLinkRequest, RunSummary, OutcomeSummary, RunList, RunListed, ToApprove, ExceptionPage, ExceptionListed, RunFiles, RunFileListed, Flags, FlagListed, ClearRequest, LogPage, LogEntry, NewRun, RunMade, ReconcileReport, JobAccepted, ApproveRequest, ReasonRequest, JobView, ReleaseList, ReleaseView, ReleaseDetail, WhatIfListed, ReleaseMade, ReleaseUpload, SignatureRequest, ReleaseApproveRequest, ActivateRequest, ImportReport, ImportRefused, RowProblem, ReplayRequest, PersonRequest, PersonHistory, DiffRequest)),
    modifiers(&BearerScheme, &CommonResponses),
    tags(
        (name = "health", description = "Probes for a load balancer or an orchestrator"),
        (name = "accounts", description = "Who acts: accounts, their API tokens and OpenID subjects"),
        (name = "runs", description = "Payment runs, within the caller's scope"),
        (name = "registry", description = "People a bank reported deceased, held until an officer checks the registry"),
        (name = "imports", description = "Registry extracts and enrolment lists (formats.md), by officers"),
        (name = "releases", description = "Rule plug-ins: upload, signature, approval, activation, retirement"),
        (name = "audit", description = "The hash-chained audit log, for auditors"),
        (name = "jobs", description = "The long steps (evaluate, issue): state, progress, events")
    )
)]
pub struct Document;

/// API tokens (`ansinh_ID_SECRET`), or a person's OIDC access token, as HTTP bearer tokens.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "An API token, `ansinh_ID_SECRET`, shown once when it was made; or a person's access token (a JWT) from \
             the OpenID provider of the service's `[oidc]`"
                .to_owned(),
        );
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The answers every route may give that no handler writes: a path or query
/// parameter that cannot be read (400), a body that is not JSON (400), too
/// large (413) or not `application/json` (415), and a request that took too
/// long (408). Added to each operation here, in one place, so that the
/// document lists every status the service can answer.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                .build()
        };
        let bare = |description: &str| ResponseBuilder::new().description(description).build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let mut add = |status: &str, response: utoipa::openapi::Response| {
                    operation.responses.responses.entry(status.to_owned()).or_insert(response.into());
                };
                let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = operation.request_body.is_some();
                if has_parameters || has_body {
                    add("400", problem("A parameter or the body could not be read: the detail says which"));
                }
                if has_body {
                    add("413", bare("The body is larger than the service takes"));
                    add("415", problem("The body is not `application/json`"));
                }
                add("408", bare("The request took longer than the service gives one"));
            }
        }
    }
}

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "health", responses((status = 200, description = "The OpenAPI 3.1 document of the service", content_type = "application/json")))]
pub(super) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(Document::openapi())
}
