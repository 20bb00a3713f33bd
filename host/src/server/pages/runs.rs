//! The officers', approvers' and auditors' pages of runs: the runs of their
//! provinces, filtered and a page at a time; a run's page with its outcomes
//! (and a bar chart of them), what awaits approval, who acted (with the grant
//! behind the approval) and, while it is being evaluated, a live progress bar.

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::frame::{Chrome, Page, failed, message, render, url_encode};
use super::i18n::Lang;
use crate::accounts::{self, Act, Place, Refusal, policy};
use crate::server::shared::Shared;
use crate::store::{self, decisions, runs};
use crate::trail;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/runs", get(list))
        .route("/runs/{id}", get(show))
        .route("/runs/{id}/progress/{job}", get(progress))
}

/// Runs a page lists.
const PAGE: usize = 50;

/// The statuses a run may be in, as the filter offers them.
const STATUSES: [&str; 5] = ["created", "evaluated", "approved", "issued", "cancelled"];

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    program: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    status: String,
    after: Option<i64>,
}

struct Listed {
    id: i64,
    program: String,
    province: String,
    period: String,
    status: String,
}

#[derive(askama::Template)]
#[template(path = "runs.html")]
struct Runs {
    lang: Lang,
    chrome: Chrome,
    filter: Filter,
    statuses: [&'static str; 5],
    runs: Vec<Listed>,
    next: Option<String>,
}

/// The refusal as a page: 404 for what is outside the scope, 403 for a role the account lacks.
fn refused(refusal: Refusal, lang: Lang) -> Response {
    match refusal {
        Refusal::NotFound(_) => message(StatusCode::NOT_FOUND, lang, "not_found"),
        _ => message(StatusCode::FORBIDDEN, lang, "forbidden"),
    }
}

async fn list(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Query(filter): Query<Filter>,
) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    if let Err(refusal) = accounts::allow(caller, Act::ReadRun, Place::Anywhere, "run") {
        return refused(refusal, lang);
    }
    let mut after = filter.after.unwrap_or(0);
    let mut shown = Vec::new();
    let mut more = false;
    'pages: loop {
        let rows = match runs::page(&app.db, after, 500).await {
            Ok(rows) => rows,
            Err(error) => return failed(lang, error),
        };
        let Some(last) = rows.last() else { break };
        let full = rows.len() == 500;
        let last = last.0;
        for (id, program, province, period, status) in rows {
            let wanted = policy::covers_province(caller, &province)
                && (filter.program.is_empty() || filter.program == program)
                && (filter.period.is_empty() || filter.period == period)
                && (filter.status.is_empty() || filter.status == status);
            if wanted {
                if shown.len() == PAGE {
                    more = true;
                    break 'pages;
                }
                shown.push(Listed { id, program, province, period, status });
            }
        }
        if !full {
            break;
        }
        after = last;
    }
    let next = (more && !shown.is_empty()).then(|| {
        let last = shown.last().map_or(0, |r| r.id);
        let q = |v: &str| url_encode(v);
        format!(
            "/runs?program={}&period={}&status={}&after={last}",
            q(&filter.program),
            q(&filter.period),
            q(&filter.status)
        )
    });
    let chrome = Chrome::of(&page, &uri);
    render(Runs { lang, chrome, filter, statuses: STATUSES, runs: shown, next })
}

struct RunView {
    id: i64,
    program: String,
    province: String,
    period: String,
    status: String,
    plugin: String,
    release: Option<i64>,
    created_by: Option<String>,
    evaluated_by: Option<String>,
    approved_by: Option<String>,
    issued_by: Option<String>,
}

struct OutcomeRow {
    outcome: &'static str,
    people: i64,
    amount: i64,
    /// Its share of the people decided, in whole per cent: the bar's width.
    share: i64,
}

struct ToApprove {
    transfers: i64,
    transfer_total: i64,
    cash: i64,
    cash_total: i64,
    held: i64,
    checksum: String,
}

struct Evaluating {
    id: i64,
    done: i64,
    total: i64,
}

#[derive(askama::Template)]
#[template(path = "run.html")]
struct RunPage {
    lang: Lang,
    chrome: Chrome,
    run: RunView,
    outcomes: Vec<OutcomeRow>,
    to_approve: Option<ToApprove>,
    grant: Option<trail::Grant>,
    evaluating: Option<Evaluating>,
}

async fn show(State(app): State<Shared>, page: Page, OriginalUri(uri): OriginalUri, Path(id): Path<i64>) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    let run = match accounts::run_in_scope(&app.db, caller, Act::ReadRun, id).await {
        Ok(Ok(run)) => run,
        Ok(Err(refusal)) => return refused(refusal, lang),
        Err(error) => return failed(lang, error),
    };
    let made = async {
        let totals = decisions::totals(&app.db, id).await?;
        let decided: i64 = totals.iter().map(|t| t.count).sum::<i64>().max(1);
        let outcomes = totals
            .into_iter()
            .map(|t| OutcomeRow {
                outcome: t.outcome.as_str(),
                people: t.count,
                amount: t.amount,
                share: (t.count * 100 + decided / 2) / decided,
            })
            .collect();
        let to_approve = match run.status {
            runs::RunStatus::Evaluated => match crate::run::approve::proposal(&app.db, id).await? {
                Ok(p) => Some(ToApprove {
                    transfers: p.tally.transfers,
                    transfer_total: p.tally.transfer_total,
                    cash: p.tally.cash,
                    cash_total: p.tally.cash_total,
                    held: p.held.len() as i64,
                    checksum: p.tally.checksum,
                }),
                Err(_) => None,
            },
            _ => None,
        };
        let grant = match run.approved_by {
            Some(_) => trail::grant_for(&app.db, &trail::run_subject(id), trail::action::RUN_APPROVE).await?,
            None => None,
        };
        let subject = trail::run_subject(id);
        let evaluating = store::jobs::open(&app.db, crate::jobs::Kind::EvaluateRun.as_str(), &subject)
            .await?
            .map(|job| Evaluating { id: job.id, done: job.done, total: job.total });
        anyhow::Ok((outcomes, to_approve, grant, evaluating))
    };
    let (outcomes, to_approve, grant, evaluating) = match made.await {
        Ok(made) => made,
        Err(error) => return failed(lang, error),
    };
    let view = RunView {
        id: run.id,
        program: run.program,
        province: run.province,
        period: run.period.to_string(),
        status: run.status.as_str().to_owned(),
        plugin: run.plugin_hash.to_string(),
        release: run.release_id,
        created_by: run.created_by,
        evaluated_by: run.evaluated_by,
        approved_by: run.approved_by,
        issued_by: run.issued_by,
    };
    let chrome = Chrome::of(&page, &uri);
    render(RunPage { lang, chrome, run: view, outcomes, to_approve, grant, evaluating })
}

/// The evaluation's progress as server-sent events, for the run's page.
async fn progress(State(app): State<Shared>, page: Page, Path((id, job)): Path<(i64, i64)>) -> Response {
    let lang = page.lang;
    match accounts::run_in_scope(&app.db, &page.signed.caller, Act::ReadRun, id).await {
        Ok(Ok(_)) => {}
        Ok(Err(refusal)) => return refused(refusal, lang),
        Err(error) => return failed(lang, error),
    }
    match store::jobs::get(&app.db, job).await {
        Ok(Some(found)) if found.subject == trail::run_subject(id) => crate::server::jobs::event_stream(app, job),
        Ok(_) => message(StatusCode::NOT_FOUND, lang, "not_found"),
        Err(error) => failed(lang, error),
    }
}
