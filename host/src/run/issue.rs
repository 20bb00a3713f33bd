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
use chrono::{DateTime, Utc};
use tracing::{Instrument, info, info_span, warn};

use crate::config::Config;
use crate::model::Total;
use crate::payment::outbox::{Outbox, Partial, Written};
use crate::payment::{RunFile, Treasury};
use crate::store::payments::{self, Issued};
use crate::store::runs::{self, Run, RunStatus};
use crate::store::{self, Db, Tx};
use crate::trail::{self, digest::Hashing};

use super::{approve, files};

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
    let started = match run.status {
        RunStatus::Created | RunStatus::Evaluated => anyhow::bail!(
            "run {} is {}, not approved: a second person approves it first with `ansinh run approve {} --checksum ...`",
            run.id,
            run.status.as_str(),
            run.id
        ),
        RunStatus::Cancelled => anyhow::bail!("run {} was cancelled: it cannot be issued", run.id),
        RunStatus::Approved => {
            let treasury = config.treasury(&run.province)?;
            store::retry_serializable("run issue", |attempt| start(db, &run, treasury, outbox, by, attempt)).await?
        }
        RunStatus::Issued | RunStatus::Reconciled => None,
    };
    let issued = payments::issued(db, &run, started.is_some()).await?;
    let configured_differs = config.treasury(&run.province).is_ok_and(|t| *t != issued.treasury);
    if configured_differs {
        warn!("the configured treasury accounts differ from those the run was issued from; its files keep the first");
    }
    let (files, recorded) = match started {
        // Made as its payments were inserted: put in place now that they are committed.
        Some(made) => (made.place(None)?, None),
        // Issuing again must give the files the first issue recorded, byte for byte.
        None => {
            let recorded = recorded_files(db, run.id).await?;
            (make_again(db, &run, &issued, outbox, None, recorded.as_ref()).await?, recorded)
        }
    };
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
    let kind = (file.kind, Total { count: file.lines, amount: file.total });
    let made = make_again(db, &run, &issued, outbox, Some(kind), Some(&(seq, vec![file.clone()]))).await?;
    Ok(made.into_iter().next().expect("one file asked, one made"))
}

/// Make the files of issued run `run` again from its stored rows, read in one
/// snapshot (`only` that one, or all it has), and put them in place as
/// [`Unplaced::place`] does against `recorded`.
async fn make_again(
    db: &Db,
    run: &Run,
    issued: &Issued,
    outbox: &Outbox,
    only: Option<(RunFile, Total)>,
    recorded: Option<&(i64, Vec<FileDigest>)>,
) -> anyhow::Result<Vec<IssuedFile>> {
    let mut tx = db.snapshot().await?;
    let kinds = match only {
        Some(kind) => vec![kind],
        None => files_of(&mut tx, run, &issued.treasury).await?,
    };
    let made = Unplaced::make(&mut tx, run, (issued.issued_at, &issued.treasury), outbox, kinds, false).await;
    tx.commit().await?;
    made?.place(recorded)
}

/// The files an issued run has, issued from `treasury`: each with its lines
/// and sum, as the database has them in `tx`.
pub async fn files_of(tx: &mut Tx, run: &Run, treasury: &Treasury) -> anyhow::Result<Vec<(RunFile, Total)>> {
    let mut files = Vec::new();
    let bank = payments::channel_totals(tx, run.id, "bank").await?;
    if bank.count > 0 {
        files.push((RunFile::BankPain001, bank));
        if treasury.bank_csv {
            files.push((RunFile::BankCsv, bank));
        }
    }
    let ewallet = payments::channel_totals(tx, run.id, "ewallet").await?;
    if ewallet.count > 0 {
        files.push((RunFile::EwalletPain001, ewallet));
    }
    let cash = payments::cash_totals(tx, run.id).await?;
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
/// the approval is void. Its files, made in the same transaction from the rows
/// it inserted, to be put in place once they are committed; None if another
/// process issued the run first. Run by `store::retry_serializable`: a
/// transaction PostgreSQL refuses to serialize is tried again whole.
async fn start<'o>(
    db: &Db,
    run: &Run,
    treasury: &Treasury,
    outbox: &'o Outbox,
    by: &Actor,
    attempt: store::Attempt,
) -> anyhow::Result<Option<Unplaced<'o>>> {
    let mut tx = payments::snapshot(db, attempt).await?;
    // Its run.issue entry is appended at the end, after the payments.
    store::audit::lock_head(&mut tx).await?;
    // What is paid is what was evaluated, or nothing is; and what it would
    // pay, read in the same pass (the payments inserted next are this run's,
    // which what it would pay does not count: the same tally before as after).
    let now = approve::checked_tally(db, &mut tx, run.id).await??;
    let Some(issued_at) = payments::start_issue(&mut tx, run, treasury, &by.name).await? else {
        // Another process issued it first: report what it issued.
        return Ok(None);
    };
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
    // Every line its files carry can be written, or nothing is paid: a run
    // issued without its files would keep those people from being paid by
    // any other run. So the files are made here, from the rows just inserted,
    // in one pass that also makes the chains of every row: what is paid, line
    // by line as approved (the checksum), row by row as stored (the chains),
    // from which accounts. They are put in place after the commit; a crash
    // before that is mended by issuing again, which makes them again.
    let kinds = files_of(&mut tx, run, treasury).await?;
    let made = Unplaced::make(&mut tx, run, (issued_at, treasury), outbox, kinds, true).await?;
    if let Some(line) = made.unwritable() {
        return Err(anyhow::anyhow!(
            "run {}: {line:#}. Nothing was paid and the run stays approved. Correct the enrolment and import it \
             again: the person is then held (their account changed since the run was evaluated) and can be paid by \
             a later run for that month; approve this run again and issue it",
            run.id
        ));
    }
    let rows = made.made.paid.as_ref().expect("chained");
    let details = serde_json::json!({ "paid": now, "rows": rows, "treasury": treasury });
    trail::append(&mut tx, by, trail::action::RUN_ISSUE, &trail::run_subject(run.id), details).await?;
    tx.commit().await?;
    Ok(Some(made))
}

/// Files of a run made into the outbox, each hashed as written and not yet
/// under its name ([`Unplaced::place`]): made in one pass ([`files::Making`])
/// in a transaction, put in place once what they hold is committed.
struct Unplaced<'o> {
    outbox: &'o Outbox,
    names: Vec<String>,
    /// Each file's kind, with the lines and sum the database holds.
    kinds: Vec<(RunFile, Total)>,
    made: files::Made<Hashing<Partial<'o>>>,
}

impl<'o> Unplaced<'o> {
    /// Make files `kinds` of `run`, issued at `issued_at` from `treasury`, from
    /// its rows in `tx`; with the chains of every row if `chained`.
    async fn make(
        tx: &mut Tx,
        run: &Run,
        (issued_at, treasury): (DateTime<Utc>, &Treasury),
        outbox: &'o Outbox,
        kinds: Vec<(RunFile, Total)>,
        chained: bool,
    ) -> anyhow::Result<Unplaced<'o>> {
        let names: Vec<String> =
            kinds.iter().map(|(kind, _)| kind.name(run.id, &run.program, &run.province, run.period)).collect();
        let outs = kinds
            .iter()
            .zip(&names)
            .map(|((kind, total), name)| Ok((*kind, *total, Hashing::new(outbox.create(name)?))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let making = files::Making::new(run, issued_at, treasury, outs)?;
        let made = if chained { making.chained() } else { making }.make(tx).await?;
        Ok(Unplaced { outbox, names, kinds, made })
    }

    /// The first line a file could not carry, of the first file that failed.
    fn unwritable(&self) -> Option<&anyhow::Error> {
        let kind = self.made.failed.first()?;
        self.made.files.iter().find(|(k, _)| k == kind).and_then(|(_, file)| file.as_ref().err())
    }

    /// Put each file under its name: only if what was written adds up to what
    /// the database holds, and, once a first issue has recorded the run's
    /// files (`recorded`: its entry and their digests), only if each is that
    /// file byte for byte. Nothing is put in place unless every file is.
    fn place(self, recorded: Option<&(i64, Vec<FileDigest>)>) -> anyhow::Result<Vec<IssuedFile>> {
        let mut checked = Vec::new();
        for ((name, (kind, holds)), (_, file)) in self.names.iter().zip(&self.kinds).zip(self.made.files) {
            let (wrote, out) = file.with_context(|| format!("writing {name}"))?;
            if wrote != *holds {
                anyhow::bail!(
                    "writing {name}: {} lines of {} VND were written, but the database holds {} of {} VND; the file \
                     is not issued",
                    wrote.count,
                    wrote.amount,
                    holds.count,
                    holds.amount
                );
            }
            let (sha256, partial) = out.into_parts();
            if let Some((seq, recorded)) = recorded {
                let recorded = recorded.iter().find(|r| r.kind == *kind);
                if recorded.is_none_or(|r| r.sha256 != sha256) {
                    anyhow::bail!(
                        "{name}: made again from the database it is not the file the first issue recorded (audit \
                         entry {seq}, sha256 {}; now {sha256}): the payments, the cash list or the run's accounts \
                         were changed since. Nothing is written; `ansinh audit verify` says what changed",
                        recorded.map_or("none: no such file", |r| r.sha256.as_str())
                    );
                }
            }
            checked.push((sha256, partial));
        }
        let mut placed = Vec::new();
        for (((kind, total), name), (sha256, partial)) in self.kinds.iter().zip(self.names).zip(checked) {
            let how = partial.commit().with_context(|| format!("writing {name}"))?;
            info!(file = %name, lines = total.count, total = total.amount, written = ?how, "file");
            placed.push(IssuedFile {
                kind: *kind,
                path: self.outbox.path_of(&name),
                written: how,
                lines: total.count,
                total: total.amount,
                sha256,
            });
        }
        Ok(placed)
    }
}
