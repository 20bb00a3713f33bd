//! Rule releases over HTTP: the lifecycle of `ansinh plugin upload/sign/
//! approve/activate/retire`, for the authors and approvers of a release's
//! authority. National releases are read by every province (their rules
//! decide every province's runs); a province's, by that province.
//!
//! Signing stays where the key is: the service never sees a secret key. The
//! author signs offline (`ansinh plugin sign --plugin --cases --out`) and
//! gives the signature that writes; the service checks it against the key
//! registered and certified for the release's authority.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Body, Form, Path};
use super::problem::{Problem, failed, not_done};
use super::shared::Shared;
use crate::accounts::{self, Act, Caller, Place, Refusal, policy};
use crate::model::Month;
use crate::release;
use crate::store::{self, releases};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/releases", get(list))
        .route("/v1/releases/{id}", get(show))
        .route("/v1/releases/{id}/signature", post(sign))
        .route("/v1/releases/{id}/approve", post(approve))
        .route("/v1/releases/{id}/activate", post(activate))
        .route("/v1/releases/{id}/retire", post(retire))
}

/// The route that takes a plug-in, with a limit of its own ([`UPLOAD_LIMIT`]).
pub(super) fn uploads() -> Router<Shared> {
    Router::new().route("/v1/releases", post(upload))
}

/// The largest upload of a release: the largest plug-in the sandbox loads, and its cases.
pub const UPLOAD_LIMIT: usize = ansinh_sandbox::MAX_PLUGIN_BYTES + CASES_LIMIT + (64 << 10);

/// The largest cases file a release ships.
const CASES_LIMIT: usize = 1 << 20;

/// The releases the caller reads.
#[derive(Serialize, ToSchema)]
pub struct ReleaseList {
    releases: Vec<ReleaseView>,
}

/// A release, as its authors, approvers and readers see it.
#[derive(Serialize, ToSchema)]
pub struct ReleaseView {
    id: i64,
    /// uploaded, signed, approved, active or retired.
    state: String,
    /// `national`, or a province's code.
    authority: String,
    program: String,
    /// The plug-in's name and version.
    plugin: String,
    /// sha256 of the plug-in's bytes, hex.
    sha256: String,
    /// sha256 of the cases file it ships, hex.
    cases_sha256: String,
    uploaded_by: String,
    signed_by: Option<String>,
    /// The signing key's id.
    key: Option<String>,
    approved_by: Option<String>,
    /// The grant that made the approval possible: the audit entry that gave the approver their roles.
    #[schema(value_type = Option<Object>)]
    approver_grant: Option<crate::trail::Grant>,
    /// What approval checked: the cases passed and their fuel, against the active release's.
    #[schema(value_type = Option<Object>)]
    approval: Option<serde_json::Value>,
    /// The month it is in force from, `YYYY-MM`, once active.
    effective_from: Option<String>,
}

async fn view(app: &Shared, r: releases::Release) -> anyhow::Result<ReleaseView> {
    use sha2::Digest as _;
    let approver_grant = match r.approved_by {
        Some(_) => {
            let subject = format!("release:{}", r.id);
            crate::trail::grant_for(&app.db, &subject, crate::trail::action::RELEASE_APPROVE).await?
        }
        None => None,
    };
    Ok(ReleaseView {
        approver_grant,
        plugin: store::plugins::name(&app.db, r.plugin_hash).await?.to_string(),
        id: r.id,
        state: r.state.as_str().to_owned(),
        cases_sha256: hex::encode(sha2::Sha256::digest(r.cases.as_bytes())),
        authority: r.authority,
        program: r.program,
        sha256: r.plugin_hash.to_string(),
        uploaded_by: r.uploaded_by,
        signed_by: r.signed_by,
        key: r.key_id,
        approved_by: r.approved_by,
        approval: r.approval.as_deref().and_then(|a| serde_json::from_str(a).ok()),
        effective_from: r.effective_from.map(|m| m.to_string()),
    })
}

/// A release in detail: what the approver weighs besides the cases.
#[derive(Serialize, ToSchema)]
pub struct ReleaseDetail {
    #[serde(flatten)]
    release: ReleaseView,
    /// What `run diff` found this plug-in would change over past runs, as recorded.
    what_ifs: Vec<WhatIfListed>,
}

/// A recorded what-if of the release's plug-in over a past run.
#[derive(Serialize, ToSchema)]
pub struct WhatIfListed {
    /// `run:ID`.
    subject: String,
    by: String,
    at: String,
    #[schema(value_type = Object)]
    summary: serde_json::Value,
}

/// The releases of the authorities the caller reads (every account that reads releases reads the national ones).
#[utoipa::path(get, path = "/v1/releases", tag = "releases", security(("bearer" = [])),
    responses((status = 200, body = ReleaseList), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::ReadReleases, Place::Anywhere, "release") {
        return Problem::refused(refusal, &headers).into_response();
    }
    let listed = async {
        let mut shown = Vec::new();
        for r in releases::list(&app.db).await? {
            if policy::sees_authority(&caller, &r.authority) {
                shown.push(view(&app, r).await?);
            }
        }
        anyhow::Ok(shown)
    };
    match listed.await {
        Ok(releases) => Json(ReleaseList { releases }).into_response(),
        Err(error) => failed(error, "listing releases", &headers),
    }
}

/// Release `id`, if `caller` may do `act` on it; else the problem to answer.
async fn in_scope(
    app: &Shared,
    caller: &Caller,
    act: Act,
    id: i64,
    headers: &HeaderMap,
) -> Result<releases::Release, Response> {
    match accounts::release_in_scope(&app.db, caller, act, id).await {
        Ok(Ok(release)) => Ok(release),
        Ok(Err(refusal)) => Err(Problem::refused(refusal, headers).into_response()),
        Err(error) => Err(failed(error, "finding a release", headers)),
    }
}

/// Release `id` with its approval and the what-ifs of its plug-in on record.
#[utoipa::path(get, path = "/v1/releases/{id}", tag = "releases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The release")),
    responses((status = 200, body = ReleaseDetail), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn show(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let release = match in_scope(&app, &caller, Act::ReadReleases, id, &headers).await {
        Ok(release) => release,
        Err(problem) => return problem,
    };
    let detail = async {
        let hash = release.plugin_hash.to_string();
        let what_ifs = store::audit::what_ifs(&app.db, &hash)
            .await?
            .into_iter()
            .map(|e| WhatIfListed {
                summary: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
                subject: e.subject,
                by: e.actor,
                at: e.at,
            })
            .collect();
        anyhow::Ok(ReleaseDetail { release: view(&app, release).await?, what_ifs })
    };
    match detail.await {
        Ok(detail) => Json(detail).into_response(),
        Err(error) => failed(error, "reading a release", &headers),
    }
}

/// A release made.
#[derive(Serialize, ToSchema)]
pub struct ReleaseMade {
    pub(crate) id: i64,
    /// Its authority, from the plug-in's own description.
    authority: String,
    /// sha256 of the plug-in, hex: what its signature must be over.
    sha256: String,
}

/// The form of an upload (`multipart/form-data`).
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the form for the document; the handler reads the parts as they come.
pub struct ReleaseUpload {
    /// The plug-in component (.wasm), at most 32 MiB.
    #[schema(value_type = String, format = Binary)]
    plugin: Vec<u8>,
    /// The YAML cases shipped with it (formats.md), at most 1 MiB: approval runs them.
    #[schema(value_type = String, format = Binary)]
    cases: Vec<u8>,
    /// The programme, when the plug-in serves more than one.
    program: Option<String>,
}

/// Upload a plug-in with its cases as a new release (authors of the plug-in's
/// authority): it must load in the sandbox, and its cases be about it.
#[utoipa::path(post, path = "/v1/releases", tag = "releases", security(("bearer" = [])),
    request_body(content = ReleaseUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ReleaseMade), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn upload(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    Form(mut form): Form,
) -> Response {
    // Refuse whoever authors nothing before reading a byte of the plug-in.
    if let Err(refusal) = accounts::allow(&caller, Act::Author, Place::Anywhere, "authority") {
        return Problem::refused(refusal, &headers).into_response();
    }
    let upload = match Upload::read(&mut form).await {
        Ok(upload) => upload,
        Err((status, detail)) => return Problem::new(status, detail, &headers).into_response(),
    };
    match make(&app, &caller, upload).await {
        Made::Release(made) => {
            let location = format!("/v1/releases/{}", made.id);
            (StatusCode::CREATED, [(header::LOCATION, location)], Json(made)).into_response()
        }
        Made::Refused(refusal) => Problem::refused(refusal, &headers).into_response(),
        Made::Invalid(detail) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail, &headers).into_response(),
        Made::NotDone(error) => not_done(error, StatusCode::UNPROCESSABLE_ENTITY, "uploading a release", &headers),
        Made::Failed(error) => failed(error, "loading a plug-in", &headers),
    }
}

/// A plug-in and its cases, as a form sends them (the API's, and the author's page).
pub(crate) struct Upload {
    plugin: axum::body::Bytes,
    cases: String,
    program: Option<String>,
}

impl Upload {
    /// Read the form's fields from where it stands: `plugin`, `cases` and
    /// `program` (any order). Err: the status and what was wrong.
    pub(crate) async fn read(form: &mut axum::extract::Multipart) -> Result<Upload, (StatusCode, String)> {
        let invalid = |detail: String| (StatusCode::UNPROCESSABLE_ENTITY, detail);
        let (mut plugin, mut cases, mut program) = (None, None, None);
        loop {
            let field = match form.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(error) => return Err((error.status(), format!("the form: {}", error.body_text()))),
            };
            let name = field.name().unwrap_or_default().to_owned();
            let bytes = match field.bytes().await {
                Ok(bytes) => bytes,
                Err(error) => return Err((error.status(), format!("the form's {name}: {}", error.body_text()))),
            };
            match name.as_str() {
                "plugin" => plugin = Some(bytes),
                "cases" if bytes.len() > CASES_LIMIT => {
                    return Err(invalid(format!("cases: at most {CASES_LIMIT} bytes")));
                }
                "cases" => match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => cases = Some(text),
                    Err(_) => return Err(invalid("cases: expected a YAML file in UTF-8".to_owned())),
                },
                "program" => match std::str::from_utf8(&bytes) {
                    Ok(text) if !text.is_empty() => program = Some(text.to_owned()),
                    Ok(_) => {}
                    Err(_) => return Err(invalid("program: expected a programme's code".to_owned())),
                },
                other => {
                    return Err(invalid(format!(
                        "the form has no field {other:?}: it takes plugin, cases and program"
                    )));
                }
            }
        }
        match (plugin, cases) {
            (Some(plugin), Some(cases)) if !plugin.is_empty() => Ok(Upload { plugin, cases, program }),
            _ => Err(invalid("the form needs a plugin (the .wasm) and its cases (YAML)".to_owned())),
        }
    }
}

/// What came of an upload.
pub(crate) enum Made {
    Release(ReleaseMade),
    /// The caller does not author the plug-in's authority.
    Refused(Refusal),
    /// The plug-in does not load (said as the sandbox says it).
    Invalid(String),
    /// Refused by the release's rules (its cases, its programme), with why.
    NotDone(anyhow::Error),
    Failed(anyhow::Error),
}

/// Make a release of `upload`, as `caller`: the plug-in must load in the
/// sandbox, and the caller author its authority.
pub(crate) async fn make(app: &Shared, caller: &Caller, upload: Upload) -> Made {
    let Upload { plugin, cases, program } = upload;
    // Compiling a component takes the CPU for a while: not on the threads that serve requests.
    let loading = {
        let (app, plugin) = (app.clone(), plugin.clone());
        tokio::task::spawn_blocking(move || app.sandbox.load(&plugin)).await
    };
    let loaded = match loading {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(error)) => return Made::Invalid(format!("plugin: {error:#}")),
        Err(error) => return Made::Failed(error.into()),
    };
    let authority = release::authority_of(&loaded);
    let what = format!("authority {authority}");
    if let Err(refusal) = accounts::allow(caller, Act::Author, Place::Authority(&authority), &what) {
        return Made::Refused(refusal);
    }
    match release::upload(&app.db, &app.sandbox, &plugin, &cases, "cases", program.as_deref(), &caller.actor).await {
        Ok(id) => Made::Release(ReleaseMade { id, authority, sha256: loaded.hash().to_string() }),
        Err(error) => Made::NotDone(error),
    }
}

/// A signature made offline: what `ansinh plugin sign --plugin --cases --out` writes (its other fields are ignored).
#[derive(Deserialize, ToSchema)]
pub struct SignatureRequest {
    /// The signing key's id (`ansinh keys list`).
    pub(crate) key: String,
    /// The ed25519 signature, hex.
    pub(crate) signature: String,
}

/// Sign uploaded release `id` (authors of its authority) with a signature made
/// offline by a key registered and certified for its authority.
#[utoipa::path(post, path = "/v1/releases/{id}/signature", tag = "releases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The release")), request_body = SignatureRequest,
    responses((status = 204, description = "Signed"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn sign(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<SignatureRequest>,
) -> Response {
    if let Err(problem) = in_scope(&app, &caller, Act::Author, id, &headers).await {
        return problem;
    }
    let signed = async {
        let root = app.config.root()?;
        release::add_signature(&app.db, root, id, &request.key, &request.signature, &caller.actor).await
    };
    match signed.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => not_done(error, StatusCode::CONFLICT, "signing a release", &headers),
    }
}

/// How an approval compares fuel.
#[derive(Deserialize, ToSchema)]
pub struct ReleaseApproveRequest {
    /// Refuse if the cases take more than this many times the fuel of the active release (at least 1; 1.5 if left out).
    max_fuel_growth: Option<f64>,
}

/// Approve signed release `id` (approvers of its authority who neither
/// uploaded nor signed it): its cases are run, and their fuel compared with
/// the active release's. 200 with what was checked.
#[utoipa::path(post, path = "/v1/releases/{id}/approve", tag = "releases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The release")), request_body = ReleaseApproveRequest,
    responses((status = 200, description = "Approved: the cases passed and their fuel", content_type = "application/json"),
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
    Body(request): Body<ReleaseApproveRequest>,
) -> Response {
    let growth = request.max_fuel_growth.unwrap_or(1.5);
    if !(growth.is_finite() && growth >= 1.0) {
        let detail = format!("max_fuel_growth: expected a number of at least 1, e.g. 1.5, not {growth}");
        return Problem::refused(Refusal::Invalid(detail), &headers).into_response();
    }
    if let Err(problem) = in_scope(&app, &caller, Act::DecideRelease, id, &headers).await {
        return problem;
    }
    let approved = async {
        let root = app.config.root()?;
        release::approve(&app.db, &app.sandbox, root, id, &caller.actor, growth).await
    };
    match approved.await {
        Ok(approval) => Json(approval).into_response(),
        Err(error) => not_done(error, StatusCode::CONFLICT, "approving a release", &headers),
    }
}

/// From when a release is in force.
#[derive(Deserialize, ToSchema)]
pub struct ActivateRequest {
    /// The first month it decides, `YYYY-MM`.
    from: String,
}

/// Put approved release `id` in force from a month (approvers of its authority).
#[utoipa::path(post, path = "/v1/releases/{id}/activate", tag = "releases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The release")), request_body = ActivateRequest,
    responses((status = 204, description = "In force from the month"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn activate(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(request): Body<ActivateRequest>,
) -> Response {
    let from = match request.from.parse::<Month>() {
        Ok(from) => from,
        Err(error) => {
            let detail = format!("from: expected a month, YYYY-MM; {error}");
            return Problem::refused(Refusal::Invalid(detail), &headers).into_response();
        }
    };
    if let Err(problem) = in_scope(&app, &caller, Act::DecideRelease, id, &headers).await {
        return problem;
    }
    let activated = async {
        let root = app.config.root()?;
        release::activate(&app.db, &app.sandbox, root, id, from, &caller.actor).await
    };
    match activated.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => not_done(error, StatusCode::CONFLICT, "activating a release", &headers),
    }
}

/// Retire release `id`: it decides no month any more. One not yet approved
/// is withdrawn by its authors; one approved or active is retired by its approvers.
#[utoipa::path(post, path = "/v1/releases/{id}/retire", tag = "releases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The release")),
    responses((status = 204, description = "Retired"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn retire(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    // Who retires nothing is refused first, as on every route; then what is not seen is not
    // found, before anything of its state is said.
    let what = format!("release {id}");
    if let Err(refusal) = accounts::allow(&caller, Act::Author, Place::Anywhere, &what)
        .or_else(|_| accounts::allow(&caller, Act::DecideRelease, Place::Anywhere, &what))
    {
        return Problem::refused(refusal, &headers).into_response();
    }
    let release = match in_scope(&app, &caller, Act::ReadReleases, id, &headers).await {
        Ok(release) => release,
        Err(problem) => return problem,
    };
    if let Err(problem) = in_scope(&app, &caller, release::act_to_retire(release.state), id, &headers).await {
        return problem;
    }
    match release::retire(&app.db, id, &caller.actor).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => not_done(error, StatusCode::CONFLICT, "retiring a release", &headers),
    }
}
