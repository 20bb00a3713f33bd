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
//! The payments are inserted in parts, not in one transaction (on SQLite one
//! would hold every other writer, a server's sign-ins among them, for nine
//! seconds at a million people): the run moves to `issuing`, its payments go
//! in [`payments::ISSUE_PART`] decisions at a time, and then, in one snapshot
//! that takes no write lock, what was inserted is checked line for line
//! against the approval and against the decisions evaluation sealed, and the
//! files are made from it. Only then is the run `issued`, with its `run.issue`
//! entry. A check that fails takes the payments out again, in parts, and puts
//! the run back where it was (approved, or evaluated if its approval is
//! void); a crash at any point leaves a run that `run issue` finishes (or
//! undoes), and a run that is issuing has sent nothing.
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
use tracing::{Instrument, debug, info, info_span, warn};

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

/// Issue run `run_id` as `by`, telling `progress` how many of its decisions
/// have had their payments inserted, of how many. The first issue takes the
/// treasury accounts of the run's province from `config`; later ones use
/// those stored on the run.
pub async fn issue(
    db: &Db,
    run_id: i64,
    outbox: &Outbox,
    config: &Config,
    by: &Actor,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<IssueReport> {
    let run = runs::get(db, run_id).await?;
    let span = info_span!("run", run = run.id, program = %run.program, province = %run.province, period = %run.period);
    issue_in_span(db, run, outbox, config, by, progress).instrument(span).await
}

/// [`issue`], in the run's span: a span entered by a guard would be left
/// across each await to whatever else the thread runs.
async fn issue_in_span(
    db: &Db,
    mut run: Run,
    outbox: &Outbox,
    config: &Config,
    by: &Actor,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<IssueReport> {
    if run.status == RunStatus::Approved {
        let treasury = config.treasury(&run.province)?;
        let mut tx = db.begin().await?;
        if payments::begin_issue(&mut tx, &run, treasury, &by.name).await? {
            info!("issue begun");
        }
        tx.commit().await?;
        // Issuing now, by this process or by another that came first.
        run = runs::get(db, run.id).await?;
    }
    let started = match run.status {
        RunStatus::Created | RunStatus::Evaluated => anyhow::bail!(
            "run {} is {}, not approved: a second person approves it first with `ansinh run approve {} --checksum ...`",
            run.id,
            run.status.as_str(),
            run.id
        ),
        RunStatus::Cancelled => anyhow::bail!("run {} was cancelled: it cannot be issued", run.id),
        RunStatus::Approved => anyhow::bail!(
            "run {}: another process began its issue and undid it (it says why); `ansinh run issue {}` tries again",
            run.id,
            run.id
        ),
        RunStatus::Issuing => finish(db, &run, outbox, by, progress).await?,
        RunStatus::Issued | RunStatus::Reconciled => None,
    };
    if started.is_none() {
        let now = runs::get(db, run.id).await?;
        anyhow::ensure!(
            now.status.is_issued(),
            "run {}: another process undid its issue meanwhile (it says why); the run is {}: `ansinh run show {}`",
            run.id,
            now.status.as_str(),
            run.id
        );
    }
    let issued = payments::issued(db, &run, started.is_some()).await?;
    let configured_differs = config.treasury(&run.province).is_ok_and(|t| *t != issued.treasury);
    if configured_differs {
        warn!("the configured treasury accounts differ from those the run was issued from; its files keep the first");
    }
    let (files, recorded) = match started {
        // Made from the payments as checked: put in place now that the run is issued.
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

/// Finish the issue of issuing run `run`: insert its payments, in parts,
/// from where a previous try stopped; check them, in one snapshot, against its
/// approval and against the decisions evaluation sealed, and make its files
/// from them; then move it to issued with its `run.issue` entry. Its files,
/// to be put in place; None if another process finished the issue (or undid
/// it) first. A check that fails undoes the issue ([`undo`]) and says why.
async fn finish<'o>(
    db: &Db,
    run: &Run,
    outbox: &'o Outbox,
    by: &Actor,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Option<Unplaced<'o>>> {
    if !pay(db, run, progress).await? {
        return Ok(None);
    }
    payments::analyze(db).await?;
    let (issued_at, treasury) = payments::stamped(db, run.id).await?;
    let mut tx = payments::read_snapshot(db).await?;
    let checked = check(db, &mut tx, run, (issued_at, &treasury), outbox).await;
    tx.commit().await?;
    let (paid, made) = match checked? {
        Ok(checked) => checked,
        Err(refused) => return Err(undo(db, run, refused, by).await),
    };
    let rows = made.made.paid.as_ref().expect("chained");
    let details = serde_json::json!({ "paid": paid, "rows": rows, "treasury": treasury });
    let mut tx = db.begin().await?;
    store::audit::lock_head(&mut tx).await?;
    if !payments::end_issue(&mut tx, run.id).await? {
        return Ok(None);
    }
    trail::append(&mut tx, by, trail::action::RUN_ISSUE, &trail::run_subject(run.id), details).await?;
    tx.commit().await?;
    Ok(Some(made))
}

/// Insert the payments of issuing run `run`, a part at a time, each in a
/// transaction of its own, from after the last a previous try inserted,
/// telling `progress` how many of its decisions are through. False if the run
/// stopped issuing meanwhile (another process finished its issue, or undid
/// it).
async fn pay(db: &Db, run: &Run, progress: &(dyn Fn(u64, u64) + Sync)) -> anyhow::Result<bool> {
    let mut after = payments::paid_up_to(db, run.id).await?;
    let (mut done, total) = payments::decisions_through(db, run.id, after.as_ref()).await?;
    progress(done, total);
    let (mut parts, mut turns) = (0, store::Turns::new(db));
    loop {
        let from = after.clone();
        let paid = store::retry_serializable("run issue", |_| {
            let from = from.clone();
            async move {
                let mut tx = payments::part_tx(db).await?;
                let paid = payments::pay_part(&mut tx, run, from.as_ref()).await?;
                tx.commit().await?;
                Ok(paid)
            }
        })
        .await?;
        parts += 1;
        match paid {
            payments::Part::Paid(key) => after = Some(key),
            payments::Part::Last => break,
            payments::Part::NotIssuing => return Ok(false),
        }
        done = total.min(done + payments::ISSUE_PART as u64);
        progress(done, total);
        turns.after_part().await;
    }
    progress(total, total);
    debug!(parts, "payments inserted");
    Ok(true)
}

/// Why the payments of an issuing run are not issued.
enum Refused {
    /// Its decisions are not what evaluation sealed.
    Tampered(trail::Tampered),
    /// What it would pay now is not what was approved: the approval is void.
    Changed { approved: approve::Approval, now: approve::Tally },
    /// Its payments are not what its decisions owe, line for line.
    Strays { transfers: i64, cash: i64 },
    /// A line its files cannot carry.
    Unwritable(anyhow::Error),
}

/// Check the payments of issuing run `run`, inserted to the last, in snapshot
/// `tx`, and make its files from them. What is paid is what was approved, or
/// nothing is: the decisions are still those evaluation sealed, what they owe
/// now is what was approved (the checksum over every line), and every payment
/// and cash line is one of those lines, as many and for as much as approved.
/// And every line its files carry can be written, or nothing is paid: a run
/// issued without its files would keep those people from being paid by any
/// other run. So the files are made here, in one pass that also makes the
/// chains of every row (what the `run.issue` entry records). They are put in
/// place once the run is issued; a crash before that is mended by issuing
/// again, which makes them again.
async fn check<'o>(
    db: &Db,
    tx: &mut Tx,
    run: &Run,
    (issued_at, treasury): (DateTime<Utc>, &Treasury),
    outbox: &'o Outbox,
) -> anyhow::Result<Result<(approve::Tally, Unplaced<'o>), Refused>> {
    // What it owes now counts no payment of its own: the same before its
    // parts as after.
    let now = match approve::checked_tally(db, tx, run.id).await? {
        Ok(now) => now,
        Err(tampered) => return Ok(Err(Refused::Tampered(tampered))),
    };
    let approved = approve::parse(run.id, payments::approval_in(tx, run.id).await?.as_deref())?;
    if now != approved.tally {
        return Ok(Err(Refused::Changed { approved, now }));
    }
    let (transfers, cash) = payments::strays(tx, run.id).await?;
    let kinds = files_of(tx, run, treasury).await?;
    let paid = |file: RunFile| kinds.iter().find(|(kind, _)| *kind == file).map_or(Total::default(), |(_, t)| *t);
    let (bank, ewallet, vnpost) = (paid(RunFile::BankPain001), paid(RunFile::EwalletPain001), paid(RunFile::VnpostCsv));
    let as_approved = bank.count + ewallet.count == now.transfers
        && bank.amount + ewallet.amount == now.transfer_total
        && vnpost.count == now.cash
        && vnpost.amount == now.cash_total;
    if transfers + cash > 0 || !as_approved {
        return Ok(Err(Refused::Strays { transfers, cash }));
    }
    let made = Unplaced::make(tx, run, (issued_at, treasury), outbox, kinds, true).await?;
    if let Some(line) = made.unwritable() {
        return Ok(Err(Refused::Unwritable(anyhow::anyhow!("{line:#}"))));
    }
    Ok(Ok((now, made)))
}

/// Undo the issue of issuing run `run`, `refused`: take its payments out, a
/// part at a time, and put it back to approved, or to evaluated with its
/// approval void if what it would pay has changed. The error that says why,
/// and what to do.
async fn undo(db: &Db, run: &Run, refused: Refused, by: &Actor) -> anyhow::Error {
    let undone = async {
        let mut turns = store::Turns::new(db);
        loop {
            let taken = store::retry_serializable("run issue", |_| async {
                let mut tx = payments::part_tx(db).await?;
                let taken = payments::take_out_part(&mut tx, run.id).await?;
                tx.commit().await?;
                Ok(taken)
            })
            .await?;
            if taken == 0 {
                break;
            }
            turns.after_part().await;
        }
        let mut tx = db.begin().await?;
        store::audit::lock_head(&mut tx).await?;
        if payments::undo_issue(&mut tx, run.id).await?
            && let Refused::Changed { approved, now } = &refused
        {
            let record = serde_json::json!({ "approved": approved, "at_issue": now, "voided_by": by.name });
            runs::void_approval(&mut tx, run.id, &record.to_string()).await?;
            trail::append(&mut tx, by, trail::action::RUN_APPROVAL_VOID, &trail::run_subject(run.id), record).await?;
            warn!(approved = %approved.tally, now = %now, "approval void: what it approved has changed");
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = undone {
        return e.context(format!(
            "run {}: its issue could not be undone and it is still issuing (nothing was sent): `ansinh run issue {}` \
             tries again",
            run.id, run.id
        ));
    }
    match refused {
        Refused::Tampered(tampered) => tampered.into(),
        Refused::Changed { approved, now } => anyhow::anyhow!(
            "run {}: what was approved has changed since (approved: {}; now: {}). The approval is void and the run \
             is back to evaluated: review it with `ansinh run show {}` and approve it again",
            run.id,
            approved.tally,
            now,
            run.id
        ),
        Refused::Strays { transfers, cash } => anyhow::anyhow!(
            "run {}: its payments were changed while it was being issued ({transfers} transfers and {cash} cash \
             lines are not what their decisions owe, or their count or sum is not what was approved). The database \
             was written to behind ansinh: that is tampering. Nothing was paid and the run is back to approved; \
             `ansinh audit verify` says more",
            run.id
        ),
        Refused::Unwritable(line) => anyhow::anyhow!(
            "run {}: {line:#}. Nothing was paid and the run stays approved. Correct the enrolment and import it \
             again: the person is then held (their account changed since the run was evaluated) and can be paid by \
             a later run for that month; approve this run again and issue it",
            run.id
        ),
    }
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
