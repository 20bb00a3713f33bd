//! The audit trail over HTTP, for auditors: the log's entries, a page at a
//! time, within the caller's scope (a national auditor sees every entry; a
//! province's, the entries about the runs of its provinces), and `audit
//! verify` of the whole log as a job (national auditors: its findings span
//! every province).

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Expected, Query};
use super::problem::Problem;
use super::shared::Shared;
use super::steps::JobAccepted;
use crate::accounts::{self, Act, Place, policy};
use crate::jobs::{self, Kind};
use crate::store;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/v1/audit/log", get(log)).route("/v1/audit/verify", post(verify))
}

/// Entries a page lists at most.
const PAGE: i64 = 200;

/// From where.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// List the entries after this one (the `next` of the page before).
    after: Option<i64>,
}

impl Expected for LogQuery {
    const EXPECTED: &'static str = "?after=SEQ, an entry's number";
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
pub struct LogPage {
    entries: Vec<LogEntry>,
    /// Give as `after` for the next page; absent on the last.
    next: Option<i64>,
}

/// An entry of the hash-chained log.
#[derive(Serialize, ToSchema)]
pub struct LogEntry {
    seq: i64,
    at: String,
    /// Who acted, by name; `details.by` names the account and how it authenticated.
    actor: String,
    action: String,
    subject: String,
    #[schema(value_type = Object)]
    details: serde_json::Value,
    prev_hash: String,
    hash: String,
}

fn failed(error: anyhow::Error, headers: &HeaderMap) -> Response {
    let detail = "the audit log could not be read now: try again";
    Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading the audit log", detail, headers).into_response()
}

/// The audit log's entries in the caller's scope, oldest first (auditors).
#[utoipa::path(get, path = "/v1/audit/log", tag = "audit", security(("bearer" = [])), params(LogQuery),
    responses((status = 200, body = LogPage), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn log(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Query(query): Query<LogQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::Audit, Place::Anywhere, "audit log") {
        return Problem::refused(refusal, &headers).into_response();
    }
    let national = caller.scopes.iter().any(|s| s == "national");
    // The province of each run met, looked up once.
    let mut provinces: BTreeMap<i64, Option<String>> = BTreeMap::new();
    let (mut after, mut listed) = (query.after.unwrap_or(0), Vec::new());
    loop {
        let page = match store::audit::page(&app.db, after, PAGE).await {
            Ok(page) => page,
            Err(error) => return failed(error, &headers),
        };
        let Some(last) = page.last() else { break };
        let full = page.len() as i64 == PAGE;
        after = last.seq;
        for entry in page {
            let visible = national || {
                let run = entry.subject.strip_prefix("run:").and_then(|id| id.parse::<i64>().ok());
                match run {
                    None => false,
                    Some(run) => {
                        if let std::collections::btree_map::Entry::Vacant(slot) = provinces.entry(run) {
                            match store::runs::find(&app.db, run).await {
                                Ok(found) => slot.insert(found.map(|run| run.province)),
                                Err(error) => return failed(error, &headers),
                            };
                        }
                        provinces[&run].as_deref().is_some_and(|province| policy::covers_province(&caller, province))
                    }
                }
            };
            if visible {
                listed.push(LogEntry {
                    details: serde_json::from_str(&entry.details).unwrap_or(serde_json::Value::String(entry.details)),
                    seq: entry.seq,
                    at: entry.at,
                    actor: entry.actor,
                    action: entry.action,
                    subject: entry.subject,
                    prev_hash: entry.prev_hash,
                    hash: entry.hash,
                });
            }
        }
        if listed.len() as i64 >= PAGE || !full {
            let next = full.then_some(after);
            return Json(LogPage { entries: listed, next }).into_response();
        }
    }
    Json(LogPage { entries: listed, next: None }).into_response()
}

/// Verify the whole audit log (national auditors): a job, whose result says
/// whether the chain is whole and every digest matches, and the first findings.
#[utoipa::path(post, path = "/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 202, body = JobAccepted), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn verify(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::Audit, Place::Authority("national"), "whole audit log") {
        return Problem::refused(refusal, &headers).into_response();
    }
    match jobs::submit_on(&app.db, Kind::VerifyAudit, "audit", &caller.actor).await {
        Ok((job, _)) => super::steps::accepted(job),
        Err(error) => failed(error, &headers),
    }
}
