//! `run issue`: turn a run's payable decisions into payments once, list its
//! people with no account for VNPost, and write its files to the outbox:
//!
//! - `pain001-run…-bank.xml`: the bank transfers, from the treasury's bank
//!   account (one `PmtInf`);
//! - `bank-run….csv`: the same transfers as the bank CSV of `payments.md`,
//!   when the province's treasury asks for it (`bank_csv` in the
//!   configuration): a second copy of the same transfers is only written for a
//!   bank that takes it, since a file handed to a bank that takes either would
//!   pay everyone twice;
//! - `pain001-run…-ewallet.xml`: the e-wallet transfers, a message of their
//!   own, from the e-wallet debtor account if the treasury has one;
//! - `vnpost-run….csv`: the cash list, paid in person, in no transfer file.
//!
//! A file with no line is not written. Every file is a pure function of stored
//! rows (payments and the cash list in id order, the run's `issued_at` as
//! CreDtTm and execution date, the treasury fixed at the first issue), so
//! issuing again writes the same bytes, and a crash after the database commit
//! but before the files are complete is mended by issuing again: each file
//! appears whole or not at all (see [`Outbox`]).

use crate::trail::Actor;
use std::path::PathBuf;

use anyhow::Context;
use tracing::{Instrument, info, info_span, warn};

use crate::config::Config;
use crate::model::{Month, Total};
use crate::payment::lists::{BankCsv, BankRow, CashList, CashRow};
use crate::payment::outbox::{Outbox, Written};
use crate::payment::pain001::{CreditorAgent, Header, Pain001Writer, Transfer};
use crate::payment::{Payer, RunFile, Treasury, end_to_end_id, ewallet_message_id, message_id};
use crate::store::Tx;
use crate::store::payments::{self, CashPayment, Issued, Payment};
use crate::store::runs::{self, Run, RunStatus};
use crate::store::{self, Db};
use crate::trail::{self, digest::Hashing};

use super::approve;

/// Payments read per query while writing a file.
const PAGE: i64 = 1000;

/// What issuing did.
#[derive(Clone, Debug)]
pub struct IssueReport {
    pub issued: Issued,
    /// Each file of the run, what it holds and whether it was written now.
    pub files: Vec<IssuedFile>,
    /// The run was issued before from accounts other than those the
    /// configuration now gives: its files keep the first ones.
    pub configured_differs: bool,
}

/// One file of an issued run.
#[derive(Clone, Debug)]
pub struct IssuedFile {
    pub kind: RunFile,
    pub path: PathBuf,
    pub written: Written,
    /// Lines (transactions or rows) and their sum in đồng.
    pub lines: i64,
    pub total: i64,
    /// Of the file's bytes, hex.
    pub sha256: String,
}

/// Issue run `run_id` as `by`. The first issue takes the treasury accounts of
/// the run's province from `config`; later ones use those stored on the run.
pub async fn issue(db: &Db, run_id: i64, outbox: &Outbox, config: &Config, by: &Actor) -> anyhow::Result<IssueReport> {
    let run = runs::get(db, run_id).await?;
    let span = info_span!("run", run = run.id, program = %run.program, province = %run.province, period = %run.period);
    issue_in_span(db, run, outbox, config, by).instrument(span).await
}

/// [`issue`], in the run's span: a span entered by a guard would be left
/// across each await to whatever else the thread runs.
async fn issue_in_span(db: &Db, run: Run, outbox: &Outbox, config: &Config, by: &Actor) -> anyhow::Result<IssueReport> {
    let first_time = match run.status {
        RunStatus::Created | RunStatus::Evaluated => anyhow::bail!(
            "run {} is {}, not approved: a second person approves it first with `ansinh run approve {} --checksum ...`",
            run.id,
            run.status.as_str(),
            run.id
        ),
        RunStatus::Cancelled => anyhow::bail!("run {} was cancelled: it cannot be issued", run.id),
        RunStatus::Approved => start(db, &run, config.treasury(&run.province)?, by).await?,
        RunStatus::Issued | RunStatus::Reconciled => false,
    };
    let issued = payments::issued(db, &run, first_time).await?;
    let configured_differs = config.treasury(&run.province).is_ok_and(|t| *t != issued.treasury);
    if configured_differs {
        warn!("the configured treasury accounts differ from those the run was issued from; its files keep the first");
    }
    // Issuing again must give the files the first issue recorded, byte for byte.
    let recorded = recorded_files(db, run.id).await?;
    let mut files = Vec::new();
    for (kind, Total { count: lines, amount: total }) in files_of(db, &run, &issued).await? {
        let expected = recorded.as_ref().map(|(seq, files)| (*seq, files.iter().find(|f| f.kind == kind)));
        files.push(write_file(db, &run, &issued, outbox, kind, lines, total, expected).await?);
    }
    if recorded.is_none() {
        record_files(db, &run, &files, by).await?;
    }
    info!(payments = issued.count, total = issued.total, files = files.len(), "issued");
    Ok(IssueReport { issued, files, configured_differs })
}

/// Make file `name` of issued run `run_id` again into `outbox`, from the
/// stored rows, as the first issue recorded it (refused, and nothing written,
/// if it would differ): so that any replica of the service, whose outbox did
/// not see the issue, serves the same bytes. Records nothing: it is no issue.
pub async fn remake(db: &Db, run_id: i64, outbox: &Outbox, name: &str) -> anyhow::Result<IssuedFile> {
    let run = runs::get(db, run_id).await?;
    anyhow::ensure!(run.status.is_issued(), "run {run_id} is not issued: it has no files");
    let Some((seq, recorded)) = recorded_files(db, run.id).await? else {
        anyhow::bail!("run {run_id} has recorded no files yet: `ansinh run issue {run_id}` writes them");
    };
    let Some(file) = recorded.iter().find(|f| f.name == name) else {
        anyhow::bail!("run {run_id} issued no file {name:?}");
    };
    let issued = payments::issued(db, &run, false).await?;
    write_file(db, &run, &issued, outbox, file.kind, file.lines, file.total, Some((seq, Some(file)))).await
}

/// The files an issued run has: each with its lines and sum, as the database has them.
pub async fn files_of(db: &Db, run: &Run, issued: &Issued) -> anyhow::Result<Vec<(RunFile, Total)>> {
    let mut files = Vec::new();
    let bank = payments::channel_totals(db, run.id, "bank").await?;
    if bank.count > 0 {
        files.push((RunFile::BankPain001, bank));
        if issued.treasury.bank_csv {
            files.push((RunFile::BankCsv, bank));
        }
    }
    let ewallet = payments::channel_totals(db, run.id, "ewallet").await?;
    if ewallet.count > 0 {
        files.push((RunFile::EwalletPain001, ewallet));
    }
    let cash = payments::cash_totals(db, run.id).await?;
    if cash.count > 0 {
        files.push((RunFile::VnpostCsv, cash));
    }
    Ok(files)
}

/// A file as the audit log records it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    pub kind: RunFile,
    pub name: String,
    pub lines: i64,
    pub total: i64,
    pub sha256: String,
}

/// The files the first issue of run `run_id` recorded (`run.files`), with the entry's number.
pub async fn recorded_files(db: &Db, run_id: i64) -> anyhow::Result<Option<(i64, Vec<FileDigest>)>> {
    let entries = store::audit::about(db, &trail::run_subject(run_id)).await?;
    let Some(entry) = entries.iter().find(|e| e.action == trail::action::RUN_FILES) else { return Ok(None) };
    let details: serde_json::Value = serde_json::from_str(&entry.details)
        .with_context(|| format!("audit entry {} (run.files): its details are not JSON", entry.seq))?;
    let files = serde_json::from_value(details["files"].clone())
        .with_context(|| format!("audit entry {} (run.files) does not list files", entry.seq))?;
    Ok(Some((entry.seq, files)))
}

/// Append the `run.files` entry, with the digest of each file: once, by the
/// first issue that writes them all (issuing again after a crash that came
/// between the files and this entry records them then).
async fn record_files(db: &Db, run: &Run, files: &[IssuedFile], by: &Actor) -> anyhow::Result<()> {
    let digests: Vec<FileDigest> = files
        .iter()
        .map(|f| FileDigest {
            kind: f.kind,
            name: f.kind.name(run.id, &run.program, &run.province, run.period),
            lines: f.lines,
            total: f.total,
            sha256: f.sha256.clone(),
        })
        .collect();
    let details = serde_json::json!({ "files": digests });
    let mut tx = db.begin().await?;
    trail::append(&mut tx, by, trail::action::RUN_FILES, &trail::run_subject(run.id), details).await?;
    tx.commit().await
}

/// Insert the payments of an approved run, in one transaction that also
/// checks the approval still holds: the checksum of what is being paid, read
/// in the same snapshot, must be the one approved. If not, nothing is paid and
/// the approval is void.
async fn start(db: &Db, run: &Run, treasury: &Treasury, by: &Actor) -> anyhow::Result<bool> {
    store::retry_serializable("run issue", || start_once(db, run, treasury, by)).await
}

async fn start_once(db: &Db, run: &Run, treasury: &Treasury, by: &Actor) -> anyhow::Result<bool> {
    let mut tx = payments::snapshot(db).await?;
    // Its run.issue entry is appended at the end, after the payments.
    store::audit::lock_head(&mut tx).await?;
    // What is paid is what was evaluated, or nothing is; and what it would
    // pay, read in the same pass (the payments inserted next are this run's,
    // which what it would pay does not count: the same tally before as after).
    let now = approve::checked_tally(db, &mut tx, run.id).await??;
    if !payments::start_issue(&mut tx, run, treasury, &by.name).await? {
        // Another process issued it first: report what it issued.
        return Ok(false);
    }
    // The approval as it stands in this transaction, on the row just moved:
    // not a copy read before, which a re-approval may have replaced.
    let approved = approve::parse(run.id, payments::approval_in(&mut tx, run.id).await?.as_deref())?;
    if now != approved.tally {
        drop(tx); // rolled back: nothing is paid
        let record = serde_json::json!({ "approved": approved, "at_issue": now, "voided_by": by.name });
        let mut tx = db.begin().await?;
        runs::void_approval(&mut tx, run.id, &record.to_string()).await?;
        trail::append(&mut tx, by, trail::action::RUN_APPROVAL_VOID, &trail::run_subject(run.id), record).await?;
        tx.commit().await?;
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
    // Every line its files will carry can be written, or nothing is paid: a
    // run issued without its files would keep those people from being paid
    // by any other run. What is paid: line by line as approved (the
    // checksum), row by row as stored (the chains, made in the same pass),
    // from which accounts.
    let rows = check_lines(&mut tx, run, treasury).await?;
    let details = serde_json::json!({ "paid": now, "rows": rows, "treasury": treasury });
    trail::append(&mut tx, by, trail::action::RUN_ISSUE, &trail::run_subject(run.id), details).await?;
    tx.commit().await?;
    Ok(true)
}

/// Each payment and cash line `run` has just inserted in `tx`, checked as the
/// file writers check what they write (pain.001's lengths and characters, the
/// bank CSV's and VNPost list's cells), by writing it where nothing is kept;
/// and the chains of those rows ([`trail::seal_paid`]'s), from the same read.
/// The error names the line and the field, and says what to do.
async fn check_lines(tx: &mut Tx, run: &Run, treasury: &Treasury) -> anyhow::Result<trail::Paid> {
    let mut paying = trail::Paying::default();
    let sink = std::io::sink;
    let header = |payer: &Payer, message_id: String| Header {
        payment_info_id: format!("{message_id}-1"),
        message_id,
        created: chrono::Utc::now(),
        initiating_party: payer.name.clone(),
        execution_date: chrono::Utc::now().date_naive(),
        debtor_name: payer.name.clone(),
        debtor_account: payer.account.clone(),
        debtor_agent_bin: payer.bin.clone(),
        number_of_transactions: 1,
        control_sum: 0,
    };
    let accounts = |e: anyhow::Error| {
        e.context(format!(
            "run {}: the treasury account of province {} cannot be written in a pain.001; correct it in the \
             configuration and issue again (nothing was paid)",
            run.id, run.province
        ))
    };
    let mut bank = Pain001Writer::new(sink(), &header(&treasury.bank, message_id(run.id, run.period)))
        .map_err(|e| accounts(e.into()))?;
    let mut ewallet =
        Pain001Writer::new(sink(), &header(treasury.ewallet_payer(), ewallet_message_id(run.id, run.period)))
            .map_err(|e| accounts(e.into()))?;
    let mut bank_csv = BankCsv::new(sink())?;
    let unwritable = |who: String, e: anyhow::Error| {
        anyhow::anyhow!(
            "run {}: {who} cannot be written: {e:#}. Nothing was paid and the run stays approved. Correct the \
             enrolment and import it again: the person is then held (their account changed since the run was \
             evaluated) and can be paid by a later run for that month; approve this run again and issue it",
            run.id
        )
    };
    let mut after = 0;
    loop {
        let page = payments::rows_in(tx, run.id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for row in &page {
            paying.payment(row);
            let who = format!("the payment of beneficiary #{} for {}", row.beneficiary_id, row.period);
            let p = Payment {
                id: row.id,
                beneficiary_id: row.beneficiary_id,
                period: row.period.clone(),
                amount: row.amount,
                channel: row.channel.clone(),
                bank_bin: row.bank_bin.clone(),
                account_number: row.account_number.clone(),
                account_name: row.account_name.clone(),
            };
            let t = transfer(run, &p).map_err(|e| unwritable(who.clone(), e))?;
            let writer = if p.channel == "bank" { &mut bank } else { &mut ewallet };
            writer.push(&t).map_err(|e| unwritable(who.clone(), e.into()))?;
            if p.channel == "bank" && treasury.bank_csv {
                bank_csv.push(&bank_row(&p, &t)).map_err(|e| unwritable(who.clone(), e))?;
            }
        }
    }
    let mut cash = CashList::new(sink())?;
    let mut after = 0;
    loop {
        let page = payments::cash_rows_in(tx, run.id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for c in &page {
            paying.cash(c);
            let who = format!("the cash payment of beneficiary #{} for {}", c.beneficiary_id, c.period);
            let period = month(c.id, &c.period)?;
            let line = CashPayment {
                id: c.id,
                period: c.period.clone(),
                id_number: c.id_number.clone(),
                amount: c.amount,
                full_name: c.full_name.clone(),
                commune: c.commune.clone(),
            };
            cash.push(&cash_row(period, &line, &cash_reference(period, run.id, &line)))
                .map_err(|e| unwritable(who, e))?;
        }
    }
    Ok(paying.seal())
}

/// Write one file of the run through the outbox: whole or not at all, only if
/// what was written adds up to what the database holds, and, once a first
/// issue has recorded the run's files (`expected`: its entry and this kind's
/// digest), only if it is that file byte for byte.
#[allow(clippy::too_many_arguments)] // the file's kind, its figures and what it must match
async fn write_file(
    db: &Db,
    run: &Run,
    issued: &Issued,
    outbox: &Outbox,
    kind: RunFile,
    lines: i64,
    total: i64,
    expected: Option<(i64, Option<&FileDigest>)>,
) -> anyhow::Result<IssuedFile> {
    let name = kind.name(run.id, &run.program, &run.province, run.period);
    let mut file = outbox.create(&name)?;
    let mut out = Hashing::new(&mut file);
    let wrote =
        render(db, run, issued, kind, &mut out, lines, total).await.with_context(|| format!("writing {name}"))?;
    if (wrote.count, wrote.amount) != (lines, total) {
        anyhow::bail!(
            "writing {name}: {} lines of {} VND were written, but the database holds {lines} of {total} VND; the \
             file is not issued",
            wrote.count,
            wrote.amount
        );
    }
    let sha256 = out.finish();
    if let Some((seq, recorded)) = expected
        && recorded.is_none_or(|r| r.sha256 != sha256)
    {
        anyhow::bail!(
            "{name}: made again from the database it is not the file the first issue recorded (audit entry {seq}, \
             sha256 {}; now {sha256}): the payments, the cash list or the run's accounts were changed since. Nothing \
             is written; `ansinh audit verify` says what changed",
            recorded.map_or("none: no such file", |r| r.sha256.as_str())
        );
    }
    let written = file.commit().with_context(|| format!("writing {name}"))?;
    info!(file = %name, lines, total, ?written, "file");
    Ok(IssuedFile { kind, path: outbox.path_of(&name), written, lines, total, sha256 })
}

/// One file of the run into `out`: a function of the stored rows only, so
/// that `audit verify` can make it again to check the digest recorded at issue.
pub async fn render(
    db: &Db,
    run: &Run,
    issued: &Issued,
    kind: RunFile,
    out: impl std::io::Write,
    lines: i64,
    total: i64,
) -> anyhow::Result<Total> {
    let (id, period, treasury) = (run.id, run.period, &issued.treasury);
    match kind {
        RunFile::BankPain001 => {
            let message_id = message_id(id, period);
            write_pain001(db, run, issued, out, "bank", message_id, &treasury.bank, lines, total).await
        }
        RunFile::EwalletPain001 => {
            let (message_id, payer) = (ewallet_message_id(id, period), treasury.ewallet_payer());
            write_pain001(db, run, issued, out, "ewallet", message_id, payer, lines, total).await
        }
        RunFile::BankCsv => write_bank_csv(db, run, out).await,
        RunFile::VnpostCsv => write_cash_list(db, run, out).await,
    }
}

/// One pain.001 of the run's payments by `channel`, all from one debtor account.
#[allow(clippy::too_many_arguments)] // one call site per channel, each names every part
async fn write_pain001(
    db: &Db,
    run: &Run,
    issued: &Issued,
    out: impl std::io::Write,
    channel: &str,
    message_id: String,
    payer: &Payer,
    lines: i64,
    total: i64,
) -> anyhow::Result<Total> {
    let header = Header {
        payment_info_id: format!("{message_id}-1"),
        message_id,
        created: issued.issued_at,
        initiating_party: payer.name.clone(),
        execution_date: issued.issued_at.date_naive(),
        debtor_name: payer.name.clone(),
        debtor_account: payer.account.clone(),
        debtor_agent_bin: payer.bin.clone(),
        number_of_transactions: lines as u64,
        control_sum: total as u64,
    };
    let mut writer = Pain001Writer::new(out, &header)?;
    let mut after = 0;
    loop {
        let page = payments::page(db, run.id, channel, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for payment in &page {
            writer.push(&transfer(run, payment)?)?;
        }
    }
    // finish checks the transactions against the header's count and sum.
    writer.finish()?;
    Ok(Total { count: lines, amount: total })
}

/// The bank CSV: the bank transfers, in the order of the bank pain.001.
async fn write_bank_csv(db: &Db, run: &Run, out: impl std::io::Write) -> anyhow::Result<Total> {
    let mut writer = BankCsv::new(out)?;
    let mut after = 0;
    loop {
        let page = payments::page(db, run.id, "bank", after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for p in &page {
            let t = transfer(run, p)?;
            writer.push(&bank_row(p, &t))?;
        }
    }
    Ok(writer.finish()?.1)
}

/// The VNPost cash list, in the order the people were listed at issue.
async fn write_cash_list(db: &Db, run: &Run, out: impl std::io::Write) -> anyhow::Result<Total> {
    let mut writer = CashList::new(out)?;
    let mut after = 0;
    loop {
        let page = payments::cash_page(db, run.id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for c in &page {
            let period = month(c.id, &c.period)?;
            writer.push(&cash_row(period, c, &cash_reference(period, run.id, c)))?;
        }
    }
    Ok(writer.finish()?.1)
}

/// A bank transfer as a row of the bank CSV.
fn bank_row<'a>(p: &'a Payment, t: &'a Transfer) -> BankRow<'a> {
    BankRow {
        account_number: &t.creditor_account,
        account_name: &t.creditor_name,
        bin: &p.bank_bin,
        amount: t.amount,
        remittance: &t.remittance,
    }
}

/// A cash payment as a row of the VNPost list.
fn cash_row<'a>(period: Month, c: &'a CashPayment, reference: &'a str) -> CashRow<'a> {
    CashRow {
        reference,
        full_name: &c.full_name,
        id_number: &c.id_number,
        commune: &c.commune,
        period,
        amount: c.amount as u64,
    }
}

/// The reference of a cash payment, in the EndToEndId's shape with `C` for
/// cash: `AS202409R12C345`. VNPost reports each payment back with it.
fn cash_reference(period: Month, run_id: i64, c: &CashPayment) -> String {
    format!("AS{:04}{:02}R{run_id}C{}", period.year(), period.month(), c.id)
}

fn month(row: i64, stored: &str) -> anyhow::Result<Month> {
    stored.parse().map_err(|e| anyhow::anyhow!("payment {row}: stored month: {e}"))
}

fn transfer(run: &Run, p: &Payment) -> anyhow::Result<Transfer> {
    let period = month(p.id, &p.period)?;
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
