//! A run's payment files over HTTP: the list the first issue recorded (name,
//! kind, lines, total, sha256), and each file, streamed from the outbox after
//! its bytes are checked against that sha256 (a replica whose outbox lacks
//! it, because another process issued the run, makes it again from the
//! stored rows first, `run::issue::remake`) (a file changed in the outbox is
//! refused, never sent on to a bank). A download is a read of personal data
//! (names, accounts): recorded with the account first (Decree 13/2023/ND-CP).

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::Path;
use super::problem::Problem;
use super::shared::Shared;
use crate::accounts::{self, Act};
use crate::payment::outbox::Outbox;
use crate::run::issue::{FileDigest, recorded_files};
use crate::trail;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/v1/runs/{id}/files", get(list)).route("/v1/runs/{id}/files/{name}", get(download))
}

/// The header a download's sha256 (hex) travels in.
pub const SHA256: &str = "x-content-sha256";

/// The files of an issued run, as its issue recorded them.
#[derive(Serialize, ToSchema)]
pub struct RunFiles {
    files: Vec<RunFileListed>,
}

/// One file: what it holds and its sha256.
#[derive(Serialize, ToSchema)]
pub struct RunFileListed {
    name: String,
    /// bank_pain001, bank_csv, ewallet_pain001 or vnpost_csv.
    kind: String,
    /// Transactions or rows, and their sum in đồng.
    lines: i64,
    total: i64,
    /// Of the file's bytes, hex.
    sha256: String,
    /// Where to download it.
    href: String,
}

/// The recorded files of run `id`, if the caller may read the run.
async fn files_of(
    app: &Shared,
    caller: &accounts::Caller,
    id: i64,
    headers: &HeaderMap,
) -> Result<Vec<FileDigest>, Response> {
    super::runs::run_in_scope(app, caller, Act::ReadRun, id, headers).await?;
    match recorded_files(&app.db, id).await {
        Ok(recorded) => Ok(recorded.map(|(_, files)| files).unwrap_or_default()),
        Err(error) => {
            let detail = "the run's files could not be read now: try again";
            Err(Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading a run's files", detail, headers)
                .into_response())
        }
    }
}

/// The payment files run `id` issued (none before it is issued).
#[utoipa::path(get, path = "/v1/runs/{id}/files", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")),
    responses((status = 200, body = RunFiles), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    match files_of(&app, &caller, id, &headers).await {
        Ok(files) => {
            let files = files
                .into_iter()
                .map(|f| RunFileListed {
                    href: format!("/v1/runs/{id}/files/{}", f.name),
                    kind: serde_json::to_value(f.kind)
                        .ok()
                        .and_then(|k| k.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    name: f.name,
                    lines: f.lines,
                    total: f.total,
                    sha256: f.sha256,
                })
                .collect();
            Json(RunFiles { files }).into_response()
        }
        Err(problem) => problem,
    }
}

/// Payment file `name` of run `id`, as issued: its sha256 in `x-content-sha256`.
#[utoipa::path(get, path = "/v1/runs/{id}/files/{name}", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run"), ("name" = String, Path, description = "The file's name, as listed")),
    responses((status = 200, description = "The file, as issued: a pain.001 (XML) or a CSV",
            content((String = "application/xml"), (String = "text/csv")),
            headers(("x-content-sha256" = String, description = "sha256 of the file's bytes, hex"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn download(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path((id, name)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Response {
    let files = match files_of(&app, &caller, id, &headers).await {
        Ok(files) => files,
        Err(problem) => return problem,
    };
    let Some(file) = files.into_iter().find(|f| f.name == name) else {
        let detail = format!("run {id} issued no file {name:?}: GET /v1/runs/{id}/files lists them");
        return Problem::new(StatusCode::NOT_FOUND, detail, &headers).into_response();
    };
    let failed = |error: anyhow::Error| {
        let detail = "the file could not be read now: try again";
        Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading a payment file", detail, &headers)
            .into_response()
    };
    match send(&app, &caller.actor, id, &file).await {
        Ok(Ok(sent)) => sent,
        Ok(Err(changed)) => Problem::new(StatusCode::CONFLICT, changed, &headers).into_response(),
        Err(error) => failed(error),
    }
}

/// Payment file `file` of run `id`, as issued, to `by`: its bytes checked
/// against the sha256 recorded at issue before any is sent, and the read
/// recorded first. `Err` of the inner result: the file was changed in the
/// outbox, and why it is not sent.
pub(super) async fn send(
    app: &Shared,
    by: &crate::trail::Actor,
    id: i64,
    file: &FileDigest,
) -> anyhow::Result<Result<Response, String>> {
    let outbox = app.outbox.clone();
    let name = file.name.clone();
    // Another replica (or a worker) may have issued it: this one makes it again from the rows.
    if !Outbox::open(&outbox)?.path_of(&name).exists() {
        crate::run::issue::remake(&app.db, id, &Outbox::open(&outbox)?, &name).await?;
    }
    let (opened, sha256) = opened_and_hashed(move || Outbox::open(&outbox)?.read(&name)).await?;
    if sha256 != file.sha256 {
        return Ok(Err(format!(
            "{} in the outbox is not the file run {id} issued (sha256 {} recorded, {sha256} now): it was changed \
             there; `ansinh run issue {id}` writes it again as issued",
            file.name, file.sha256
        )));
    }
    let details = serde_json::json!({ "file": file.name, "sha256": sha256 });
    trail::record_read(&app.db, by, &trail::run_subject(id), "payment file", file.lines as usize, details).await?;
    let content_type = if file.name.ends_with(".xml") { "application/xml" } else { "text/csv; charset=utf-8" };
    Ok(Ok(stream(opened, &file.name, content_type, &sha256)))
}

/// The file that `open` opens, and the sha256 of its bytes, read whole
/// (off the threads that serve requests) before any is sent, so that a file
/// changed where it is kept is never served: the caller compares the hash
/// with the one recorded.
pub(super) async fn opened_and_hashed(
    open: impl Fn() -> anyhow::Result<std::fs::File> + Send + 'static,
) -> anyhow::Result<(std::fs::File, String)> {
    tokio::task::spawn_blocking(move || {
        let mut reading = open()?;
        let mut hash = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = std::io::Read::read(&mut reading, &mut buffer)?;
            if n == 0 {
                break;
            }
            hash.update(&buffer[..n]);
        }
        Ok((open()?, hex::encode(hash.finalize())))
    })
    .await
    .map_err(|error| anyhow::anyhow!("hashing the file: {error}"))?
}

/// `opened` sent as a download named `name`, a chunk at a time, with its sha256 in `x-content-sha256`.
pub(super) fn stream(opened: std::fs::File, name: &str, content_type: &'static str, sha256: &str) -> Response {
    let reading = tokio::fs::File::from_std(opened);
    let chunks = futures_util::stream::unfold(reading, |mut reading| async move {
        let mut chunk = vec![0u8; 1 << 16];
        match reading.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), reading))
            }
            Err(error) => Some((Err(error), reading)),
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(sha256) {
        headers.insert(SHA256, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
