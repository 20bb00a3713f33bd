//! Imports over HTTP: a registry extract or an enrolment list (`formats.md`)
//! as the request's body, streamed to a file and loaded as `ansinh registry
//! import` and `ansinh beneficiaries import` load one (officers). A file with
//! bad rows is refused whole, and the answer lists them by row and field, as
//! the command line does; `?skip_bad_rows=true` loads the good rows and lists
//! the bad ones. An officer enrols people of their own provinces only: a row
//! of another province is a bad row.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Expected, Query, receive};
use super::problem::{MEDIA_TYPE, Problem, failed};
use super::shared::Shared;
use crate::accounts::{self, Act, Caller, Place, policy};
use crate::import::{self, parse::RowError};

/// The routes, which take a file as their body, with a limit of their own ([`UPLOAD_LIMIT`]).
pub(super) fn uploads() -> Router<Shared> {
    Router::new().route("/v1/imports/registry", post(registry)).route("/v1/imports/enrolments", post(enrolments))
}

/// The largest file an import takes: a registry extract of a million people is about 120 MiB.
pub const UPLOAD_LIMIT: usize = 1 << 30;

/// How to import.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Load the good rows and list the bad ones, instead of refusing the file.
    #[serde(default)]
    skip_bad_rows: bool,
    /// The file's name, as errors and the audit log give it (e.g. `hanoi-2024-09.csv`).
    name: Option<String>,
}

impl Expected for ImportQuery {
    const EXPECTED: &'static str = "?skip_bad_rows=true|false&name=FILE.csv";
}

/// A bad row: where, and what was expected.
#[derive(Serialize, ToSchema)]
pub struct RowProblem {
    /// The spreadsheet row number (the header is row 1).
    row: u64,
    field: String,
    expected: String,
    found: String,
}

impl From<RowError> for RowProblem {
    fn from(e: RowError) -> RowProblem {
        RowProblem { row: e.row, field: e.field, expected: e.expected, found: e.found }
    }
}

/// What an import loaded.
#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    /// The file, by the name given.
    file: String,
    /// sha256 of the file, hex.
    sha256: String,
    /// Rows loaded (added, or changed; the same file again changes nothing).
    rows: u64,
    /// Bad rows left out (with `skip_bad_rows`).
    skipped: u64,
    /// The first 50 of them.
    bad_rows: Vec<RowProblem>,
}

/// A file refused: a problem (RFC 9457), with the bad rows when it was refused for them
/// (a file that is not of the format at all, empty or not CSV, has none).
#[derive(Serialize, ToSchema)]
pub struct ImportRefused {
    #[serde(flatten)]
    problem: Problem,
    /// How many rows are bad.
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    /// The first 50, by row and field.
    #[serde(skip_serializing_if = "Option::is_none")]
    bad_rows: Option<Vec<RowProblem>>,
}

/// Import a population registry extract (officers): its rows are the
/// registry's, about wherever people live.
#[utoipa::path(post, path = "/v1/imports/registry", tag = "imports", security(("bearer" = [])), params(ImportQuery),
    request_body(content = String, description = "The registry extract (formats.md), CSV in UTF-8", content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = ImportRefused, content_type = "application/problem+json")))]
pub(super) async fn registry(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    load(&app, &caller, Imports::Registry, query, &headers, body).await
}

/// Import an enrolment list (officers, for the provinces of their scope).
#[utoipa::path(post, path = "/v1/imports/enrolments", tag = "imports", security(("bearer" = [])), params(ImportQuery),
    request_body(content = String, description = "The beneficiary enrolment file (formats.md), CSV in UTF-8", content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = ImportRefused, content_type = "application/problem+json")))]
pub(super) async fn enrolments(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    load(&app, &caller, Imports::Enrolments, query, &headers, body).await
}

#[derive(Clone, Copy)]
enum Imports {
    Registry,
    Enrolments,
}

async fn load(
    app: &Shared,
    caller: &Caller,
    imports: Imports,
    query: ImportQuery,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Err(refusal) = accounts::allow(caller, Act::Import, Place::Anywhere, "import") {
        return Problem::refused(refusal, headers).into_response();
    }
    let invalid = |detail: String| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail, headers).into_response();
    let default = match imports {
        Imports::Registry => "registry.csv",
        Imports::Enrolments => "enrolments.csv",
    };
    let name = query.name.unwrap_or_else(|| default.to_owned());
    if name.is_empty()
        || name.chars().count() > 200
        || name.contains(['/', '\\'])
        || name.chars().any(crate::format::hidden)
    {
        return invalid(
            "name: the file's own name, e.g. hanoi-2024-09.csv (no folder, no control character)".to_owned(),
        );
    }
    let received = match receive(body, ".csv").await {
        Ok(received) => received,
        Err(error) => {
            let detail = format!("the file could not be received: {error:#}");
            return Problem::new(StatusCode::BAD_REQUEST, detail, headers).into_response();
        }
    };
    // Bad rows go to a file of rejects beside the upload, gone with it: the answer lists them.
    let rejects = received.path().with_extension("rejects.csv");
    let _rejects_removed = Remove(rejects.clone());
    let bad_rows =
        if query.skip_bad_rows { import::BadRows::Skip { rejects } } else { import::BadRows::Refuse { rejects } };
    let covers = |province: &str| policy::covers_province(caller, province);
    let options = import::Options {
        bad_rows,
        by: &caller.actor,
        covers: &covers,
        scope: caller.scopes.join(", "),
        name: Some(name.clone()),
    };
    let quiet = |_: u64, _: u64| {};
    let (db, path) = (&app.db, received.path());
    let done = match imports {
        Imports::Registry => import::registry(db, path, &options, &quiet).await,
        Imports::Enrolments => import::beneficiaries(db, path, &options, &quiet).await,
    };
    match done {
        Ok(done) => Json(ImportReport {
            file: name,
            sha256: done.sha256,
            rows: done.rows,
            skipped: done.skipped.map_or(0, |(count, _)| count),
            bad_rows: done.shown.into_iter().map(RowProblem::from).collect(),
        })
        .into_response(),
        Err(error) => match error.downcast::<import::Refused>() {
            Ok(refused) => {
                let detail = format!(
                    "{name}: {} bad rows; nothing was imported. Correct them and send the file again, or send it with \
                     ?skip_bad_rows=true to import the good rows",
                    refused.count
                );
                let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail, headers);
                let body = ImportRefused {
                    problem,
                    count: Some(refused.count),
                    bad_rows: Some(refused.shown.into_iter().map(RowProblem::from).collect()),
                };
                (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, MEDIA_TYPE)], Json(body)).into_response()
            }
            // A file that cannot be read as the format (not CSV, not UTF-8, a wrong header) is the caller's to correct.
            Err(error) if error.chain().any(|e| e.is::<import::parse::FileError>()) => invalid(format!("{error:#}")),
            Err(error) => failed(error, "importing a file", headers),
        },
    }
}

/// Removes a file when dropped.
struct Remove(std::path::PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
