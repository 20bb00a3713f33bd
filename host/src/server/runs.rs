//! Runs over HTTP, for the accounts whose scope covers their province: a run
//! of another province is answered 404, as if it did not exist (nothing of it
//! leaks, not even that it exists).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::extract::{Expected, Path, Query};
use super::problem::Problem;
use super::shared::Shared;
use crate::accounts::{self, Act, Place, policy};
use crate::run::review;
use crate::store::{decisions, runs};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/runs", get(list))
        .route("/v1/runs/{id}", get(summary))
        .route("/v1/runs/{id}/exceptions", get(exceptions))
}

/// The most runs a page lists.
const PAGE: i64 = 100;

/// Which page of runs.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// List the runs after this id (the `next` of the page before).
    after: Option<i64>,
}

impl Expected for ListQuery {
    const EXPECTED: &'static str = "?after=ID, a run's id";
}

/// A page of the runs in the caller's scope.
#[derive(Serialize, ToSchema)]
pub struct RunList {
    runs: Vec<RunListed>,
    /// Give as `after` for the next page; absent on the last.
    next: Option<i64>,
}

/// A run as a list shows it.
#[derive(Serialize, ToSchema)]
pub struct RunListed {
    id: i64,
    program: String,
    province: String,
    period: String,
    status: String,
}

/// The runs of the provinces in the caller's scope, by id, a page at a time.
#[utoipa::path(get, path = "/v1/runs", tag = "runs", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = RunList), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = accounts::allow(&caller, Act::ReadRun, Place::Anywhere, "run") {
        return Problem::refused(refusal, &headers).into_response();
    }
    // Pages of the table until one of the caller's is full: the scope's
    // rule (mergers included) is the host's, in `accounts`, not SQL's.
    let (mut after, mut listed) = (query.after.unwrap_or(0), Vec::new());
    loop {
        let page = match runs::page(&app.db, after, PAGE).await {
            Ok(page) => page,
            Err(error) => {
                let detail = "runs could not be listed now: try again";
                return Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "listing runs", detail, &headers)
                    .into_response();
            }
        };
        let last_page = (page.len() as i64) < PAGE;
        for (id, program, province, period, status) in page {
            after = id;
            if policy::covers_province(&caller, &province) {
                listed.push(RunListed { id, program, province, period, status });
                if listed.len() as i64 == PAGE {
                    return Json(RunList { runs: listed, next: Some(id) }).into_response();
                }
            }
        }
        if last_page {
            return Json(RunList { runs: listed, next: None }).into_response();
        }
    }
}

/// What a run is and decided, in totals: no person in it.
#[derive(Serialize, ToSchema)]
pub struct RunSummary {
    id: i64,
    program: String,
    /// The paying province's 3-digit code.
    province: String,
    /// The run's month, `YYYY-MM`; `first_period` earlier for back pay.
    period: String,
    first_period: String,
    /// created, evaluated, approved, issued or cancelled.
    status: String,
    release_id: Option<i64>,
    plugin_sha256: String,
    created_by: Option<String>,
    evaluated_by: Option<String>,
    approved_by: Option<String>,
    /// The grant that made the approval possible: the audit entry that gave the approver their roles.
    #[schema(value_type = Option<Object>)]
    approver_grant: Option<crate::trail::Grant>,
    issued_by: Option<String>,
    /// People and monthly amount (VND) by outcome.
    outcomes: Vec<OutcomeSummary>,
    /// What an approver approves, while the run is evaluated: give its
    /// `checksum` to `POST /v1/runs/{id}/approve`.
    to_approve: Option<ToApprove>,
}

/// What an evaluated run would pay, summed up, and the checksum over every line.
#[derive(Serialize, ToSchema)]
pub struct ToApprove {
    /// Bank and e-wallet transfers, and their sum in đồng.
    transfers: i64,
    transfer_total: i64,
    /// People paid in cash through VNPost, and their sum.
    cash: i64,
    cash_total: i64,
    /// sha256, hex, over every line that would be paid, in order.
    checksum: String,
    /// People held for review, not paid until cleared.
    held: usize,
}

/// One outcome's people and amount.
#[derive(Serialize, ToSchema)]
pub struct OutcomeSummary {
    outcome: String,
    people: i64,
    /// Whole đồng a month.
    amount: i64,
}

/// A run's summary: its steps and its totals by outcome.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run")),
    responses((status = 200, body = RunSummary), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The run's decisions were changed behind the audit log: nothing to approve", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn summary(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let run = match run_in_scope(&app, &caller, Act::ReadRun, id, &headers).await {
        Ok(run) => run,
        Err(problem) => return problem,
    };
    let outcomes = match decisions::totals(&app.db, id).await {
        Ok(totals) => totals
            .into_iter()
            .map(|t| OutcomeSummary { outcome: t.outcome.as_str().to_owned(), people: t.count, amount: t.amount })
            .collect(),
        Err(error) => {
            let detail = "the run could not be read now: try again";
            return Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading a run", detail, &headers)
                .into_response();
        }
    };
    let to_approve = match run.status {
        runs::RunStatus::Evaluated => match crate::run::approve::proposal(&app.db, id).await {
            Ok(Ok(proposal)) => Some(ToApprove {
                transfers: proposal.tally.transfers,
                transfer_total: proposal.tally.transfer_total,
                cash: proposal.tally.cash,
                cash_total: proposal.tally.cash_total,
                checksum: proposal.tally.checksum,
                held: proposal.held.len(),
            }),
            // Decisions changed behind the log: nothing to approve; the problem says why.
            Ok(Err(tampered)) => return Problem::new(StatusCode::CONFLICT, tampered.0, &headers).into_response(),
            Err(error) => {
                let detail = "the run could not be read now: try again";
                return Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading a run", detail, &headers)
                    .into_response();
            }
        },
        _ => None,
    };
    let approver_grant = match run.approved_by {
        Some(_) => {
            crate::trail::grant_for(&app.db, &crate::trail::run_subject(id), crate::trail::action::RUN_APPROVE).await
        }
        None => Ok(None),
    };
    let approver_grant = match approver_grant {
        Ok(grant) => grant,
        Err(error) => {
            let detail = "the run could not be read now: try again";
            return Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading a run", detail, &headers)
                .into_response();
        }
    };
    Json(RunSummary {
        approver_grant,
        id: run.id,
        program: run.program,
        province: run.province,
        period: run.period.to_string(),
        first_period: run.first_period.to_string(),
        status: run.status.as_str().to_owned(),
        release_id: run.release_id,
        plugin_sha256: run.plugin_hash.to_string(),
        created_by: run.created_by,
        evaluated_by: run.evaluated_by,
        approved_by: run.approved_by,
        issued_by: run.issued_by,
        outcomes,
        to_approve,
    })
    .into_response()
}

/// Run `id`, if `caller` may do `act` on it (`accounts::run_in_scope`); or
/// the problem to answer: 403 for a role it lacks, 404 for a run outside its
/// scope or none at all.
pub(super) async fn run_in_scope(
    app: &Shared,
    caller: &accounts::Caller,
    act: Act,
    id: i64,
    headers: &HeaderMap,
) -> Result<runs::Run, Response> {
    match accounts::run_in_scope(&app.db, caller, act, id).await {
        Ok(Ok(run)) => Ok(run),
        Ok(Err(refusal)) => Err(Problem::refused(refusal, headers).into_response()),
        Err(error) => {
            let detail = "the run could not be read now: try again";
            Err(Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading a run", detail, headers)
                .into_response())
        }
    }
}

/// Which exceptions, from where.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionsQuery {
    /// The kind: not_verified, near_name, account_name, death_reported, no_account, plugin_error,
    /// residence or duplicate.
    kind: String,
    /// List those after this one: the `next` of the page before (`PERIOD.BENEFICIARY`).
    after: Option<String>,
}

impl Expected for ExceptionsQuery {
    const EXPECTED: &'static str = "?kind=KIND&after=CURSOR";
}

/// A page of one kind of exception of a run: the people an officer must look at.
#[derive(Serialize, ToSchema)]
pub struct ExceptionPage {
    kind: String,
    exceptions: Vec<ExceptionListed>,
    /// Give as `after` for the next page; absent on the last.
    next: Option<String>,
}

/// A decision an officer must look at, and why.
#[derive(Serialize, ToSchema)]
pub struct ExceptionListed {
    period: String,
    beneficiary_id: i64,
    /// The name as enrolled.
    full_name: String,
    /// Whole đồng a month.
    amount: i64,
    why: String,
}

/// The people of one kind of exception of run `id`, a page at a time (officers,
/// approvers and auditors of its province). Each page is a read of personal
/// data, recorded in the audit log with the account (Decree 13/2023/ND-CP).
#[utoipa::path(get, path = "/v1/runs/{id}/exceptions", tag = "runs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The run"), ExceptionsQuery),
    responses((status = 200, body = ExceptionPage), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn exceptions(
    State(app): State<Shared>,
    Authenticated(caller): Authenticated,
    Path(id): Path<i64>,
    Query(query): Query<ExceptionsQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(problem) = run_in_scope(&app, &caller, Act::ReadRun, id, &headers).await {
        return problem;
    }
    let failed = |error: anyhow::Error| {
        let detail = "the run could not be read now: try again";
        Problem::failed(StatusCode::INTERNAL_SERVER_ERROR, &error, "reading exceptions", detail, &headers)
            .into_response()
    };
    if !review::is_kind(&query.kind) {
        let kinds: Vec<&str> = review::kinds().collect();
        let detail = format!("kind: expected one of {}, found {:?}", kinds.join(", "), query.kind);
        return Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail, &headers).into_response();
    }
    let after = match query.after.as_deref().map(read_cursor).transpose() {
        Ok(after) => after.unwrap_or_default(),
        Err(detail) => return Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail, &headers).into_response(),
    };
    let page = match review::exceptions(&app.db, id, &query.kind, &after, PAGE).await {
        Ok(page) => page,
        Err(error) => return failed(error),
    };
    let next = next_cursor(&page, PAGE);
    if !page.is_empty() {
        let details = serde_json::json!({ "kind": query.kind });
        let subject = crate::trail::run_subject(id);
        let recorded = crate::trail::record_read(&app.db, &caller.actor, &subject, "exceptions", page.len(), details);
        if let Err(error) = recorded.await {
            // Not recorded, not shown.
            return failed(error);
        }
    }
    let exceptions = page
        .into_iter()
        .map(|(e, why)| ExceptionListed {
            period: e.period,
            beneficiary_id: e.beneficiary_id,
            full_name: e.full_name,
            amount: e.amount,
            why,
        })
        .collect();
    Json(ExceptionPage { kind: query.kind, exceptions, next }).into_response()
}

/// The `next` of a page of exceptions of at most `limit`: the last one's
/// `PERIOD.BENEFICIARY` when the page is full (there may be more), as
/// [`read_cursor`] reads it back.
pub(super) fn next_cursor(page: &[(decisions::Exception, String)], limit: i64) -> Option<String> {
    match page.last() {
        Some((last, _)) if page.len() as i64 == limit => Some(format!("{}.{}", last.period, last.beneficiary_id)),
        _ => None,
    }
}

/// `PERIOD.BENEFICIARY`, as a page's `next` gives it.
pub(super) fn read_cursor(text: &str) -> Result<(String, i64), String> {
    let expected = || format!("after: expected the `next` of the page before, PERIOD.BENEFICIARY, found {text:?}");
    let (period, beneficiary) = text.split_once('.').ok_or_else(expected)?;
    let period: crate::model::Month = period.parse().map_err(|_| expected())?;
    Ok((period.to_string(), beneficiary.parse().map_err(|_| expected())?))
}

#[cfg(test)]
mod tests {
    use super::{next_cursor, read_cursor};
    use crate::store::decisions::Exception;

    fn listed(beneficiary_id: i64) -> (Exception, String) {
        let e = Exception {
            period: "2024-09".into(),
            beneficiary_id,
            full_name: "Nguyễn Văn A".into(),
            amount: 0,
            verification: String::new(),
            error: None,
        };
        (e, String::new())
    }

    /// A full page's `next` reads back as the key of its last exception; a page
    /// that is not full has none (there is nothing after it).
    #[test]
    fn a_full_pages_next_reads_back_as_its_last_key() {
        let page: Vec<_> = (1..=3).map(listed).collect();
        let next = next_cursor(&page, 3).expect("a full page has a next");
        assert_eq!(read_cursor(&next), Ok(("2024-09".to_owned(), 3)));
        assert_eq!(next_cursor(&page, 4), None);
        assert_eq!(next_cursor(&[], 3), None);
    }
}
