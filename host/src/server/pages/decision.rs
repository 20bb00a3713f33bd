//! A person's own page in a run: their decision for a month, with what the
//! registry's checks found, what the plug-in decided and why, line by line in
//! Vietnamese and in English with the decree and article each rests on, and
//! what it was decided with (plug-in, engine, fuel, digest). The one page that
//! shows a person's whole ID number (lists show none, or a masked one); its
//! reading is recorded first, as every read that names people is.

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::frame::{Chrome, Page, failed, message, render, run_for};
use super::i18n::Lang;
use crate::accounts::Act;
use crate::server::shared::Shared;
use crate::store::decisions;
use crate::trail;

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/runs/{id}/decisions/{beneficiary}", get(show))
}

#[derive(Deserialize)]
struct Month {
    /// The month, `YYYY-MM`: the run's own unless a back-pay month is asked for.
    period: Option<String>,
}

/// A registry check, as the page shows it.
struct CheckRow {
    check: String,
    passed: bool,
    detail: String,
}

/// A line of the plug-in's explanation.
struct Line {
    vi: String,
    en: String,
    citation: String,
}

#[derive(askama::Template)]
#[template(path = "decision.html")]
struct DecisionPage {
    lang: Lang,
    chrome: Chrome,
    run: i64,
    period: String,
    beneficiary: i64,
    full_name: String,
    id_number: String,
    outcome: String,
    amount: i64,
    category: String,
    reasons: String,
    exception: Option<String>,
    /// The channel's words' key.
    channel_key: &'static str,
    account: String,
    payee_name: String,
    checks: Vec<CheckRow>,
    lines: Vec<Line>,
    error: Option<String>,
    plugin_hash: String,
    engine: String,
    fuel: i64,
    digest: String,
}

async fn show(
    State(app): State<Shared>,
    page: Page,
    OriginalUri(uri): OriginalUri,
    Path((id, beneficiary)): Path<(i64, i64)>,
    Query(month): Query<Month>,
) -> Response {
    let lang = page.lang;
    let run = match run_for(&app, &page, Act::ReadRun, id).await {
        Ok(run) => run,
        Err(refused) => return refused,
    };
    let period = month.period.unwrap_or_else(|| run.period.to_string());
    let found = async {
        let found = decisions::one(&app.db, id, &(period.clone(), beneficiary)).await?;
        if found.is_some() {
            let details = serde_json::json!({ "beneficiary": beneficiary, "period": period, "page": "decision" });
            trail::record_read(&app.db, &page.signed.caller.actor, &trail::run_subject(id), "decision", 1, details)
                .await?;
        }
        anyhow::Ok(found)
    };
    let (row, full_name, id_number) = match found.await {
        Ok(Some(found)) => found,
        Ok(None) => return message(StatusCode::NOT_FOUND, lang, "not_found"),
        Err(error) => return failed(lang, error),
    };
    let checks = serde_json::from_str::<crate::registry::verify::Verification>(&row.verification)
        .map(|v| {
            v.checks
                .into_iter()
                .map(|c| CheckRow {
                    check: serde_json::to_value(c.check)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    passed: c.passed,
                    detail: c.detail.unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let output = row.output.as_deref().and_then(|o| serde_json::from_str::<ansinh_sandbox::DecisionOutput>(o).ok());
    let (lines, reasons) = match output {
        Some(o) => (
            o.explanation.into_iter().map(|e| Line { vi: e.vi, en: e.en, citation: e.citation }).collect(),
            o.reasons.join(", "),
        ),
        None => (Vec::new(), String::new()),
    };
    // Paid to an account or wallet: which (BIN, number); none: cash through VNPost.
    let account = match row.channel.as_str() {
        "bank" | "ewallet" => format!("{} · {}", row.bank_bin, row.account_number),
        _ => String::new(),
    };
    render(DecisionPage {
        lang,
        chrome: Chrome::of(&page, &uri),
        run: id,
        period,
        beneficiary,
        full_name,
        id_number,
        outcome: row.outcome,
        amount: row.amount,
        category: row.category.unwrap_or_default(),
        reasons,
        exception: row.exception,
        channel_key: match row.channel.as_str() {
            "bank" => "channel_bank",
            "ewallet" => "channel_ewallet",
            _ => "channel_cash",
        },
        account,
        payee_name: row.payee_name,
        checks,
        lines,
        error: row.error,
        plugin_hash: row.plugin_hash.to_string(),
        engine: row.engine.as_deref().unwrap_or_default().to_owned(),
        fuel: row.fuel,
        digest: row.digest.unwrap_or_default(),
    })
}
