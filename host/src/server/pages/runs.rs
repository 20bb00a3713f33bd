//! The officers', approvers' and auditors' pages of runs: the runs of their
//! provinces, filtered and a page at a time; a run's page with its outcomes
//! (and a bar chart of them), what awaits approval, who acted (with the grant
//! behind the approval) and, while it is being evaluated, a live progress bar.

use axum::Form;
use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::frame::{self, Chrome, Page, csrf_holds, failed, message, not_done, refused, render, run_for, url_encode};
use super::i18n::Lang;
use crate::accounts::{self, Act, Place, policy};
use crate::server::problem::of_the_host;
use crate::server::shared::Shared;
use crate::store::{self, decisions, runs};
use crate::trail;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/runs", get(list).post(create))
        .route("/runs/{id}", get(show))
        .route("/runs/{id}/progress/{job}", get(progress))
        .route("/runs/{id}/exceptions", get(exceptions))
        .route("/runs/{id}/changes", get(changes))
        .route("/runs/{id}/files/{name}", get(download))
        .route("/runs/{id}/evaluate", post(evaluate))
        .route("/runs/{id}/approve", post(approve))
        .route("/runs/{id}/refuse", post(refuse))
        .route("/runs/{id}/issue", post(issue))
}

/// Runs a page lists.
const PAGE: usize = 50;

/// The statuses a run may be in, as the filter offers them.
const STATUSES: [&str; 7] = ["created", "evaluated", "approved", "issuing", "issued", "reconciled", "cancelled"];

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
    /// Whether the reader may create runs (an officer), and of which provinces.
    may_create: bool,
    /// An approver's way to what awaits them.
    approves: bool,
    provinces: Vec<String>,
    filter: Filter,
    statuses: [&'static str; 7],
    runs: Vec<Listed>,
    next: Option<String>,
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
    let may_create = accounts::allow(caller, Act::WorkRun, Place::Anywhere, "run").is_ok();
    let approves = accounts::allow(caller, Act::DecideRun, Place::Anywhere, "run").is_ok();
    let provinces = caller.scopes.iter().filter_map(|s| s.strip_prefix("province:").map(str::to_owned)).collect();
    render(Runs { lang, chrome, may_create, approves, provinces, filter, statuses: STATUSES, runs: shown, next })
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

/// A category of those the run pays or lists for cash, with its bar.
struct CategoryRow {
    category: String,
    people: i64,
    amount: i64,
    /// Its share of the people paid or listed, in whole per cent.
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

/// A kind of exception of a run, and how many.
struct ExceptionKind {
    kind: String,
    count: i64,
}

/// What the reader may do to the run now: the forms its page offers.
#[derive(Default)]
struct Actions {
    evaluate: bool,
    /// Approve what is shown: its checksum.
    approve: Option<String>,
    /// An approver who created or evaluated it: not offered (four eyes).
    own_run: bool,
    refuse: bool,
    issue: bool,
    /// Upload the bank's answer to an issued run.
    reconcile: bool,
    /// Replay its decisions, and export them as a bundle (auditors).
    replay: bool,
}

impl Actions {
    fn any(&self) -> bool {
        self.evaluate || self.approve.is_some() || self.own_run || self.refuse || self.issue || self.replay
    }
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

/// The notice of an action done, by the `done` of the query.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "done_created",
        "evaluating" => "done_evaluating",
        "approved" => "done_approved",
        "refused" => "done_refused",
        "issuing" => "done_issuing",
        _ => return None,
    })
}

#[derive(askama::Template)]
#[template(path = "run.html")]
struct RunPage {
    lang: Lang,
    chrome: Chrome,
    notice: Option<&'static str>,
    actions: Actions,
    /// Each kind of exception with how many: links to their pages.
    exceptions: Vec<ExceptionKind>,
    /// The payment files, once issued.
    files: Vec<crate::run::issue::FileDigest>,
    run: RunView,
    outcomes: Vec<OutcomeRow>,
    categories: Vec<CategoryRow>,
    /// The previous month's run, to compare with.
    previous: Option<i64>,
    to_approve: Option<ToApprove>,
    /// What-ifs of the run's plug-in on record, for its approver.
    what_ifs: Vec<frame::WhatIfRow>,
    grant: Option<trail::Grant>,
    evaluating: Option<Evaluating>,
}

async fn show(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Response {
    let (caller, lang) = (&page.signed.caller, page.lang);
    let run = match run_for(&app, &page, Act::ReadRun, id).await {
        Ok(run) => run,
        Err(refused) => return refused,
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
        let exceptions = decisions::exception_counts(&app.db, id)
            .await?
            .into_iter()
            .map(|(kind, count)| ExceptionKind { kind, count })
            .collect::<Vec<_>>();
        let files = crate::run::issue::recorded_files(&app.db, id).await?.map(|(_, files)| files).unwrap_or_default();
        // Counted once the run is sealed (none while its decisions are still being made).
        let categories = match run.status {
            runs::RunStatus::Created => Default::default(),
            _ => {
                let period = run.period.to_string();
                let counting = decisions::category_totals(&app.db, id, &period);
                app.categories.get_or_count(id, counting).await?
            }
        };
        let listed: i64 = categories.iter().map(|(_, t)| t.count).sum::<i64>().max(1);
        let categories = categories
            .iter()
            .map(|(category, t)| CategoryRow {
                category: category.clone(),
                people: t.count,
                amount: t.amount,
                share: (t.count * 100 + listed / 2) / listed,
            })
            .collect();
        let previous = runs::previous_month(&app.db, &run).await?;
        // What the approver weighs beside the totals: what this plug-in was found to change.
        let what_ifs = match &to_approve {
            Some(_) => frame::what_ifs(&app, &run.plugin_hash.to_string()).await?,
            None => Vec::new(),
        };
        anyhow::Ok((outcomes, to_approve, grant, evaluating, exceptions, files, categories, previous, what_ifs))
    };
    let (outcomes, to_approve, grant, evaluating, exceptions, files, categories, previous, what_ifs) = match made.await
    {
        Ok(made) => made,
        Err(error) => return failed(lang, error),
    };
    let may = |act: Act| accounts::allow(caller, act, Place::Province(&run.province), "run").is_ok();
    let name = Some(&caller.actor.name);
    let own = run.created_by.as_ref() == name || run.evaluated_by.as_ref() == name;
    let issuing = match store::jobs::open(&app.db, crate::jobs::Kind::IssueRun.as_str(), &trail::run_subject(id)).await
    {
        Ok(job) => job.is_some(),
        Err(error) => return failed(lang, error),
    };
    let decides = may(Act::DecideRun);
    let actions = Actions {
        evaluate: may(Act::WorkRun) && run.status == runs::RunStatus::Created && evaluating.is_none(),
        approve: to_approve.as_ref().filter(|_| decides && !own).map(|a| a.checksum.clone()),
        own_run: decides && own && to_approve.is_some(),
        refuse: decides && !own && matches!(run.status, runs::RunStatus::Evaluated | runs::RunStatus::Approved),
        // An issue a crash left half done is finished by issuing again.
        issue: may(Act::WorkRun)
            && matches!(run.status, runs::RunStatus::Approved | runs::RunStatus::Issuing)
            && !issuing,
        reconcile: may(Act::WorkRun) && run.status.is_issued(),
        replay: may(Act::Audit) && run.status != runs::RunStatus::Created,
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
    let notice = notice(done.done.as_deref());
    let page = RunPage {
        lang,
        chrome,
        notice,
        actions,
        exceptions,
        files,
        run: view,
        outcomes,
        categories,
        previous,
        to_approve,
        what_ifs,
        grant,
        evaluating,
    };
    render(page)
}

/// The evaluation's progress as server-sent events, for the run's page.
async fn progress(State(app): State<Shared>, page: Page, Path((id, job)): Path<(i64, i64)>) -> Response {
    let lang = page.lang;
    if let Err(refused) = run_for(&app, &page, Act::ReadRun, id).await {
        return refused;
    }
    match store::jobs::get(&app.db, job).await {
        Ok(Some(found)) if found.subject == trail::run_subject(id) => crate::server::jobs::event_stream(app, job),
        Ok(_) => message(StatusCode::NOT_FOUND, lang, "not_found"),
        Err(error) => failed(lang, error),
    }
}

/// What the forms of a run's page send.
#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    checksum: Option<String>,
    reason: Option<String>,
}

/// Check the form's CSRF token and that the reader may do `act` to run `id`:
/// the page to answer if not.
async fn may_act(app: &Shared, page: &Page, act: Act, id: i64, form: &ActForm) -> Result<(), Response> {
    if !csrf_holds(&page.signed, &form.csrf) {
        return Err(message(StatusCode::FORBIDDEN, page.lang, "expired_form"));
    }
    run_for(app, page, act, id).await.map(|_| ())
}

/// The answer to an action on run `id`: back to its page.
fn answer(page: &Page, id: i64, result: anyhow::Result<()>, what: &str) -> Response {
    frame::answer(page.lang, format!("/runs/{id}"), result, what)
}

async fn evaluate(State(app): State<Shared>, page: Page, Path(id): Path<i64>, Form(form): Form<ActForm>) -> Response {
    if let Err(refused) = may_act(&app, &page, Act::WorkRun, id, &form).await {
        return refused;
    }
    let queued = crate::jobs::submit(&app.db, crate::jobs::Kind::EvaluateRun, id, &page.signed.caller.actor).await;
    answer(&page, id, queued.map(|_| ()), "evaluating")
}

async fn issue(State(app): State<Shared>, page: Page, Path(id): Path<i64>, Form(form): Form<ActForm>) -> Response {
    if let Err(refused) = may_act(&app, &page, Act::WorkRun, id, &form).await {
        return refused;
    }
    let queued = crate::jobs::submit(&app.db, crate::jobs::Kind::IssueRun, id, &page.signed.caller.actor).await;
    answer(&page, id, queued.map(|_| ()), "issuing")
}

async fn approve(State(app): State<Shared>, page: Page, Path(id): Path<i64>, Form(form): Form<ActForm>) -> Response {
    if let Err(refused) = may_act(&app, &page, Act::DecideRun, id, &form).await {
        return refused;
    }
    let checksum = form.checksum.clone().unwrap_or_default();
    let approved = crate::run::approve(&app.db, id, &checksum, &page.signed.caller.actor).await;
    answer(&page, id, approved.map(|_| ()), "approved")
}

async fn refuse(State(app): State<Shared>, page: Page, Path(id): Path<i64>, Form(form): Form<ActForm>) -> Response {
    if let Err(refused) = may_act(&app, &page, Act::DecideRun, id, &form).await {
        return refused;
    }
    let reason = form.reason.clone().unwrap_or_default();
    let refused = crate::run::refuse(&app.db, id, &page.signed.caller.actor, &reason).await;
    answer(&page, id, refused, "refused")
}

/// What the form of a new run sends.
#[derive(Deserialize)]
struct NewRunForm {
    csrf: String,
    program: String,
    province: String,
    period: String,
    #[serde(default)]
    back_pay_from: String,
}

async fn create(State(app): State<Shared>, page: Page, Form(form): Form<NewRunForm>) -> Response {
    let lang = page.lang;
    if !csrf_holds(&page.signed, &form.csrf) {
        return message(StatusCode::FORBIDDEN, lang, "expired_form");
    }
    let caller = &page.signed.caller;
    let what = format!("province {}", form.province);
    if let Err(refusal) = accounts::allow(caller, Act::WorkRun, Place::Province(&form.province), &what) {
        return refused(refusal, lang);
    }
    let made = async {
        let period: crate::model::Month =
            form.period.parse().map_err(|e| anyhow::anyhow!("{}: expected a month, YYYY-MM; {e}", lang.t("period")))?;
        let back_pay_from = match form.back_pay_from.trim() {
            "" => None,
            from => Some(
                from.parse::<crate::model::Month>()
                    .map_err(|e| anyhow::anyhow!("{}: expected a month, YYYY-MM; {e}", lang.t("back_pay_from")))?,
            ),
        };
        let root = app.config.root()?;
        crate::run::create(
            &app.db,
            &app.sandbox,
            root,
            &form.program,
            &form.province,
            period,
            back_pay_from,
            &caller.actor,
        )
        .await
    };
    match made.await {
        Ok(id) => frame::done(&format!("/runs/{id}"), "created"),
        Err(error) if of_the_host(&error) => failed(lang, error),
        Err(error) => not_done(lang, format!("{error:#}"), "/runs".to_owned()),
    }
}

/// People an exception page lists.
const EXCEPTIONS_PAGE: i64 = 100;

#[derive(Deserialize)]
struct ExceptionsQuery {
    kind: String,
    after: Option<String>,
}

struct ExceptionRow {
    period: String,
    beneficiary: i64,
    full_name: String,
    amount: i64,
    why: String,
}

#[derive(askama::Template)]
#[template(path = "exceptions.html")]
struct ExceptionsPage {
    lang: Lang,
    chrome: Chrome,
    run: i64,
    kind: String,
    rows: Vec<ExceptionRow>,
    /// `PERIOD.BENEFICIARY` of the last row, for the next page.
    next: Option<String>,
}

/// One kind of exception of a run, a page at a time (by key, so the hundredth
/// page of a million is as quick as the first). Each page is a read of
/// personal data, recorded before it is shown. No ID number is shown.
async fn exceptions(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<i64>,
    Query(query): Query<ExceptionsQuery>,
) -> Response {
    let lang = page.lang;
    if let Err(refused) = run_for(&app, &page, Act::ReadRun, id).await {
        return refused;
    }
    if !crate::run::review::is_kind(&query.kind) {
        return message(StatusCode::NOT_FOUND, lang, "not_found");
    }
    let after = match query.after.as_deref().map(crate::server::runs::read_cursor).transpose() {
        Ok(after) => after.unwrap_or_default(),
        Err(_) => return message(StatusCode::NOT_FOUND, lang, "not_found"),
    };
    let listed = async {
        let rows = crate::run::review::exceptions(&app.db, id, &query.kind, &after, EXCEPTIONS_PAGE).await?;
        if !rows.is_empty() {
            let details = serde_json::json!({ "kind": query.kind, "page": "exceptions" });
            let subject = trail::run_subject(id);
            trail::record_read(&app.db, &page.signed.caller.actor, &subject, "exceptions", rows.len(), details).await?;
        }
        anyhow::Ok(rows)
    };
    let rows = match listed.await {
        Ok(rows) => rows,
        Err(error) => return failed(lang, error),
    };
    let next = crate::server::runs::next_cursor(&rows, EXCEPTIONS_PAGE);
    let rows = rows
        .into_iter()
        .map(|(e, why)| ExceptionRow {
            period: e.period,
            beneficiary: e.beneficiary_id,
            full_name: e.full_name,
            amount: e.amount,
            why,
        })
        .collect();
    let chrome = Chrome::of(&page, &uri);
    render(ExceptionsPage { lang, chrome, run: id, kind: query.kind, rows, next })
}

/// People a list of the changes page shows.
const CHANGES_LISTED: i64 = 50;

/// A list of people whose money changed since the previous month.
struct ChangeList {
    /// Its words' key.
    key: &'static str,
    people: i64,
    amount: i64,
    rows: Vec<decisions::Change>,
}

#[derive(askama::Template)]
#[template(path = "changes.html")]
struct ChangesPage {
    lang: Lang,
    chrome: Chrome,
    run: i64,
    previous: Option<i64>,
    lists: Vec<ChangeList>,
}

/// What changed since the previous month's run: who is new, who is gone, whose
/// amount changed, each with its totals and the first people (the read recorded).
async fn changes(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<i64>,
) -> Response {
    let lang = page.lang;
    let run = match run_for(&app, &page, Act::ReadRun, id).await {
        Ok(run) => run,
        Err(refused) => return refused,
    };
    let found = async {
        // Both runs sealed (the previous month's is one that was evaluated): counted once.
        let diff = match runs::previous_month(&app.db, &run).await? {
            Some(previous) => {
                let counting = crate::run::review::diff_from(&app.db, &run, previous, CHANGES_LISTED);
                Some(match run.status {
                    // Still being decided: as it stands now.
                    runs::RunStatus::Created => std::sync::Arc::new(counting.await?),
                    _ => app.changes.get_or_count((id, previous), counting).await?,
                })
            }
            None => None,
        };
        if let Some(d) = &diff {
            let people = d.added.1.len() + d.dropped.1.len() + d.changed.1.len();
            let details = serde_json::json!({ "previous_run": d.previous_run, "page": "changes" });
            trail::record_read(&app.db, &page.signed.caller.actor, &trail::run_subject(id), "changes", people, details)
                .await?;
        }
        anyhow::Ok(diff)
    };
    let diff = match found.await {
        Ok(diff) => diff,
        Err(error) => return failed(lang, error),
    };
    let previous = diff.as_ref().map(|d| d.previous_run);
    let lists = diff
        .map(|d| {
            [("changes_added", &d.added), ("changes_dropped", &d.dropped), ("changes_changed", &d.changed)]
                .into_iter()
                .map(|(key, (total, rows))| ChangeList {
                    key,
                    people: total.count,
                    amount: total.amount,
                    rows: rows.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    render(ChangesPage { lang, chrome: Chrome::of(&page, &uri), run: id, previous, lists })
}

/// A payment file of the run, as issued (checked against its recorded sha256,
/// the read recorded first).
async fn download(State(app): State<Shared>, page: Page, Path((id, name)): Path<(i64, String)>) -> Response {
    let lang = page.lang;
    if let Err(refused) = run_for(&app, &page, Act::ReadRun, id).await {
        return refused;
    }
    let files = match crate::run::issue::recorded_files(&app.db, id).await {
        Ok(files) => files.map(|(_, files)| files).unwrap_or_default(),
        Err(error) => return failed(lang, error),
    };
    let Some(file) = files.into_iter().find(|f| f.name == name) else {
        return message(StatusCode::NOT_FOUND, lang, "not_found");
    };
    match crate::server::files::send(&app, &page.signed.caller.actor, id, &file).await {
        Ok(Ok(sent)) => sent,
        Ok(Err(changed)) => not_done(lang, changed, format!("/runs/{id}")),
        Err(error) => failed(lang, error),
    }
}

/// The routes that take a file, with the service's upload limit.
pub(super) fn uploads() -> Router<Shared> {
    Router::new().route("/runs/{id}/reconcile", post(reconcile))
}

#[derive(askama::Template)]
#[template(path = "reconciled.html")]
struct Reconciled {
    lang: Lang,
    chrome: Chrome,
    run: i64,
    summary: String,
}

/// The bank's answer (a pain.002), sent as a form: its CSRF token first, then
/// the file, streamed to a file of its own as it arrives.
async fn reconcile(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<i64>,
    mut form: axum::extract::Multipart,
) -> Response {
    let lang = page.lang;
    let csrf = match form.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    let act = ActForm { csrf, checksum: None, reason: None };
    if let Err(refused) = may_act(&app, &page, Act::WorkRun, id, &act).await {
        return refused;
    }
    let received = async {
        let field = form.next_field().await?.ok_or_else(|| anyhow::anyhow!("the form has no file"))?;
        crate::server::extract::receive(field, ".xml").await
    };
    let received = match received.await {
        Ok(received) => received,
        Err(error) => return not_done(lang, format!("{error:#}"), format!("/runs/{id}")),
    };
    match crate::run::reconcile(&app.db, id, received.path(), &page.signed.caller.actor).await {
        Ok(done) => {
            let chrome = Chrome::of(&page, &uri);
            render(Reconciled { lang, chrome, run: id, summary: done.to_string() })
        }
        Err(error) if of_the_host(&error) => failed(lang, error),
        Err(error) => not_done(lang, format!("{error:#}"), format!("/runs/{id}")),
    }
}
