//! `run issue`: turn a run's payable decisions into payments once, and write
//! its pain.001 file to the outbox from the stored payments.
//!
//! The file is a pure function of stored rows (payments in id order, the run's
//! `issued_at` as CreDtTm and execution date), so issuing again writes the same
//! bytes, and a crash after the database commit but before the file is complete
//! is mended by issuing again.

use std::path::PathBuf;

use anyhow::Context;
use tracing::{info, info_span, warn};

use crate::model::Month;
use crate::payment::outbox::{Outbox, Written};
use crate::payment::pain001::{CreditorAgent, Header, Pain001Writer, Transfer};
use crate::payment::{Payer, end_to_end_id, message_id, pain001_file_name};
use crate::store::Db;
use crate::store::payments::{self, Issued, Payment};
use crate::store::runs::{self, Run, RunStatus};

use super::approve;

/// Payments read per query while writing the file.
const PAGE: i64 = 1000;

/// What issuing did.
#[derive(Clone, Debug)]
pub struct IssueReport {
    pub issued: Issued,
    /// The pain.001 file, and whether it was written now; `None` when there is
    /// nothing to pay.
    pub file: Option<(PathBuf, Written)>,
}

/// Issue run `run_id` as `by`.
pub async fn issue(db: &Db, run_id: i64, outbox: &Outbox, payer: &Payer, by: &str) -> anyhow::Result<IssueReport> {
    let run = runs::get(db, run_id).await?;
    let _span = info_span!("run", run = run.id, program = %run.program, province = %run.province, period = %run.period)
        .entered();
    let first_time = match run.status {
        RunStatus::Created | RunStatus::Evaluated => anyhow::bail!(
            "run {} is {}, not approved: a second person approves it first with `ansinh run approve {} --checksum ...`",
            run.id,
            run.status.as_str(),
            run.id
        ),
        RunStatus::Cancelled => anyhow::bail!("run {} was cancelled: it cannot be issued", run.id),
        RunStatus::Approved => start(db, &run, payer, by).await?,
        RunStatus::Issued | RunStatus::Reconciled => false,
    };
    let issued = payments::issued(db, &run, first_time).await?;
    if issued.payer != *payer {
        anyhow::bail!(
            "run {} was issued from {} {} (bank {}); it cannot be issued again from {} {} (bank {}). Issue it again \
             with the first payer: the file must stay what was issued",
            run.id,
            issued.payer.name,
            issued.payer.account,
            issued.payer.bin,
            payer.name,
            payer.account,
            payer.bin
        );
    }
    if issued.count == 0 {
        info!("nothing to pay: no file written");
        return Ok(IssueReport { issued, file: None });
    }
    let name = pain001_file_name(run.id, &run.program, &run.province, run.period);
    let written =
        write_pain001(db, &run, &issued, outbox, &name, payer).await.with_context(|| format!("writing {name}"))?;
    info!(payments = issued.count, total = issued.total, file = %name, ?written, "issued");
    Ok(IssueReport { issued, file: Some((outbox.path_of(&name), written)) })
}

/// Insert the payments of an approved run, in one transaction that also
/// checks the approval still holds: the checksum of what is being paid, read
/// in the same snapshot, must be the one approved. If not, nothing is paid and
/// the approval is void.
async fn start(db: &Db, run: &Run, payer: &Payer, by: &str) -> anyhow::Result<bool> {
    let approved = approve::recorded(run)?;
    let mut tx = payments::snapshot(db).await?;
    if !payments::start_issue(&mut tx, run, payer, by).await? {
        // Another process issued it first: report what it issued.
        return Ok(false);
    }
    let now = approve::tally(&mut tx, run.id).await?;
    if now != approved.tally {
        drop(tx); // rolled back: nothing is paid
        let record = serde_json::json!({ "approved": approved, "at_issue": now, "voided_by": by });
        runs::void_approval(db, run.id, &record.to_string()).await?;
        warn!(approved = %approved.tally, now = %now, "approval void: what it approved has changed");
        anyhow::bail!(
            "run {}: what was approved has changed since (approved: {}; now: {}). The approval is void and the run \
             is back to evaluated: review it with `ansinh run show {}` and approve it again",
            run.id,
            approved.tally,
            now,
            run.id
        );
    }
    tx.commit().await?;
    Ok(true)
}

async fn write_pain001(
    db: &Db,
    run: &Run,
    issued: &Issued,
    outbox: &Outbox,
    name: &str,
    payer: &Payer,
) -> anyhow::Result<Written> {
    let message_id = message_id(run.id, run.period);
    let header = Header {
        payment_info_id: format!("{message_id}-1"),
        message_id,
        created: issued.issued_at,
        initiating_party: payer.name.clone(),
        execution_date: issued.issued_at.date_naive(),
        debtor_name: payer.name.clone(),
        debtor_account: payer.account.clone(),
        debtor_agent_bin: payer.bin.clone(),
        number_of_transactions: issued.count as u64,
        control_sum: issued.total as u64,
    };
    let mut file = outbox.create(name)?;
    let mut writer = Pain001Writer::new(&mut file, &header)?;
    let mut after = 0;
    loop {
        let page = payments::page(db, run.id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for payment in &page {
            writer.push(&transfer(run, payment)?)?;
        }
    }
    writer.finish()?;
    file.commit()
}

fn transfer(run: &Run, p: &Payment) -> anyhow::Result<Transfer> {
    let period: Month = p.period.parse().map_err(|e| anyhow::anyhow!("payment {}: stored month: {e}", p.id))?;
    let end_to_end_id = end_to_end_id(period, run.id, p.id);
    let creditor_agent = match p.channel.as_str() {
        "bank" => CreditorAgent::Bank { bin: p.bank_bin.clone() },
        "ewallet" => CreditorAgent::Wallet { provider: p.bank_bin.clone() },
        other => anyhow::bail!("payment {} has channel {other:?}, which is not paid by transfer", p.id),
    };
    Ok(Transfer {
        remittance: remittance(&run.program, period, &end_to_end_id),
        end_to_end_id,
        amount: p.amount as u64,
        creditor_name: p.account_name.clone(),
        creditor_account: p.account_number.clone(),
        creditor_agent,
    })
}

/// The text the beneficiary sees on their statement, in ASCII as banks print it.
fn remittance(program: &str, period: Month, end_to_end_id: &str) -> String {
    let what = match program {
        "social-assistance" => "TRO CAP XA HOI",
        "social-pension" => "TRO CAP HUU TRI XA HOI",
        other => other,
    };
    format!("{what} THANG {:02}/{:04} {end_to_end_id}", period.month(), period.year())
}
