//! `audit verify`: walk the audit log's chain and every digest it covers.
//!
//! - The chain: entries numbered 1, 2, 3… with no gap, each linked to the one
//!   before and hashing to its own hash, up to the tip `audit_head` records.
//! - The runs: each run the log saw created has the entries its state implies
//!   (an issued run its `run.issue`, ...), so that entries removed together
//!   with the tip are missed too.
//! - The digests: each decision of an evaluated run still matches its digest,
//!   and the run's decisions still chain to what `run.evaluate` recorded; what
//!   an issued run pays still has the checksum `run.issue` recorded; each file
//!   of `run.files`, made again from the database, still has its sha256.
//!
//! The first problem found is the one to look at: after a broken link,
//! nothing later in the chain can be trusted.

use std::collections::BTreeMap;

use serde_json::Value;

use super::digest::{Chain, Hashing, Sealed};
use super::log::Walk;
use crate::run::approve;
use crate::run::issue::{self, FileDigest};
use crate::store::audit::{self as table, Entry};
use crate::store::decisions::{self, Key};
use crate::store::{Db, payments, runs};

/// Entries and decisions read per query.
const PAGE: i64 = 1000;

/// Changed decisions named per run; the rest are counted.
const NAMED: usize = 5;

/// What verify found.
#[derive(Clone, Debug, Default)]
pub struct Verified {
    /// Entries that chain correctly from the first.
    pub entries: i64,
    /// The tip: the number and hash of the last entry.
    pub tip: (i64, String),
    pub runs_covered: u64,
    /// Runs made before the audit log, which it does not cover.
    pub runs_before: u64,
    pub decisions: u64,
    pub files: u64,
    /// In the order found; the first is the one to look at.
    pub problems: Vec<String>,
}

impl Verified {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The entries about one run, in log order.
#[derive(Default)]
struct RunEntries {
    entries: Vec<(i64, String, Value)>,
}

impl RunEntries {
    fn last(&self, action: &str) -> Option<(i64, &Value)> {
        self.entries.iter().rev().find(|(_, a, _)| a == action).map(|(seq, _, details)| (*seq, details))
    }
}

/// Verify everything; `progress` is told the decisions checked so far.
pub async fn verify(db: &Db, progress: &(dyn Fn(u64) + Sync)) -> anyhow::Result<Verified> {
    let mut verified = Verified::default();
    let runs = walk(db, &mut verified).await?;
    let statuses = runs::statuses(db).await?;
    for (id, status) in &statuses {
        match runs.get(id) {
            Some(entries) => {
                verified.runs_covered += 1;
                expected_entries(*id, status, entries, &mut verified.problems);
            }
            None => verified.runs_before += 1,
        }
    }
    for id in runs.keys().filter(|id| !statuses.iter().any(|(s, _)| s == *id)) {
        verified.problems.push(format!("the log names run {id}, which is not in the database: the run was deleted"));
    }
    for (id, entries) in &runs {
        if let Some((seq, details)) = entries.last("run.evaluate") {
            check_decisions(db, *id, seq, details, &mut verified, progress).await?;
        }
        if let Some((seq, details)) = entries.last("run.issue") {
            check_paid(db, *id, seq, details, &mut verified.problems).await?;
        }
        if let Some((seq, details)) = entries.last("run.files") {
            check_files(db, *id, seq, details, &mut verified).await?;
        }
    }
    Ok(verified)
}

/// Walk the chain to its end or first break; the entries about each run.
async fn walk(db: &Db, verified: &mut Verified) -> anyhow::Result<BTreeMap<i64, RunEntries>> {
    let mut chain = Walk::default();
    let mut runs: BTreeMap<i64, RunEntries> = BTreeMap::new();
    let mut broken = false;
    'pages: loop {
        let page = table::page(db, chain.seq, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            if let Err(e) = chain.next(&entry) {
                verified.problems.push(format!("{e}; no entry from {} on can be trusted", chain.seq + 1));
                broken = true;
                break 'pages;
            }
            collect(&entry, &mut runs)?;
        }
    }
    verified.entries = chain.seq;
    verified.tip = (chain.seq, chain.hash.clone());
    let (seq, hash) = table::head(db).await?;
    if !broken && (seq, &hash) != (chain.seq, &chain.hash) {
        verified.problems.push(if seq > chain.seq {
            format!("the log ends at entry {} but its tip is entry {seq}: entries at the end were deleted", chain.seq)
        } else {
            format!("the log's tip (entry {seq}, {hash}) is not its last entry ({}): the tip was changed", chain.seq)
        });
    }
    Ok(runs)
}

fn collect(entry: &Entry, runs: &mut BTreeMap<i64, RunEntries>) -> anyhow::Result<()> {
    let Some(id) = entry.subject.strip_prefix("run:").and_then(|id| id.parse::<i64>().ok()) else { return Ok(()) };
    let details: Value = serde_json::from_str(&entry.details)
        .map_err(|e| anyhow::anyhow!("audit entry {}: its details are not JSON: {e}", entry.seq))?;
    runs.entry(id).or_default().entries.push((entry.seq, entry.action.clone(), details));
    Ok(())
}

/// A run's state implies the entries of each step that led to it.
fn expected_entries(id: i64, status: &str, entries: &RunEntries, problems: &mut Vec<String>) {
    let steps: &[&str] = match status {
        "created" => &["run.create"],
        "evaluated" => &["run.create", "run.evaluate"],
        "approved" => &["run.create", "run.evaluate", "run.approve"],
        "issued" => &["run.create", "run.evaluate", "run.approve", "run.issue"],
        "reconciled" => &["run.create", "run.evaluate", "run.approve", "run.issue", "run.reconcile"],
        "cancelled" => &["run.create", "run.cancel"],
        _ => &[],
    };
    for step in steps {
        if entries.last(step).is_none() {
            problems.push(format!("run {id} is {status}, but the log has no {step} entry for it: it was removed"));
        }
    }
}

/// Each decision against its digest, and all of them against the chain recorded.
async fn check_decisions(
    db: &Db,
    run_id: i64,
    seq: i64,
    details: &Value,
    verified: &mut Verified,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<()> {
    let mut chain = Chain::default();
    let mut changed = 0;
    let mut after: Key = (String::new(), 0);
    loop {
        let page = decisions::page(db, run_id, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = (last.period.clone(), last.beneficiary_id);
        for row in &page {
            chain.push(row.digest.as_deref().unwrap_or(""));
            if row.digest.as_ref().is_some_and(|d| *d != row.record().digest()) {
                changed += 1;
                if changed <= NAMED {
                    verified.problems.push(format!(
                        "run {run_id}: the decision of beneficiary #{} for {} does not match its digest: it was \
                         changed after it was made",
                        row.beneficiary_id, row.period
                    ));
                }
            }
        }
        verified.decisions += page.len() as u64;
        progress(verified.decisions);
    }
    if changed > NAMED {
        verified.problems.push(format!("run {run_id}: {} more changed decisions", changed - NAMED));
    }
    let sealed = chain.seal();
    match serde_json::from_value::<Sealed>(details["decisions"].clone()) {
        Ok(recorded) if recorded == sealed => {}
        Ok(recorded) => verified.problems.push(format!(
            "run {run_id}: its decisions do not match audit entry {seq} (run.evaluate): it recorded {} decisions \
             chaining to {}, the database has {} chaining to {}; decisions were added, removed or changed with \
             their digest",
            recorded.count, recorded.chain, sealed.count, sealed.chain
        )),
        Err(_) => verified.problems.push(format!("audit entry {seq} (run.evaluate) holds no decision chain")),
    }
    Ok(())
}

/// What an issued run pays, line by line, against the checksum `run.issue` recorded.
async fn check_paid(db: &Db, run_id: i64, seq: i64, details: &Value, problems: &mut Vec<String>) -> anyhow::Result<()> {
    let recorded = details["paid"]["checksum"].as_str().unwrap_or_default();
    let now = approve::current(db, run_id).await?;
    if now.checksum != recorded {
        problems.push(format!(
            "run {run_id}: what it pays no longer has the checksum audit entry {seq} (run.issue) recorded ({recorded}, \
             now {}): a paid decision was changed",
            now.checksum
        ));
    }
    Ok(())
}

/// Each issued file, made again from the database, against its recorded sha256.
async fn check_files(db: &Db, run_id: i64, seq: i64, details: &Value, verified: &mut Verified) -> anyhow::Result<()> {
    let Ok(files) = serde_json::from_value::<Vec<FileDigest>>(details["files"].clone()) else {
        verified.problems.push(format!("audit entry {seq} (run.files) does not list files"));
        return Ok(());
    };
    let run = runs::get(db, run_id).await?;
    let issued = payments::issued(db, &run, false).await?;
    let now = issue::files_of(db, &run, &issued).await?;
    for file in &files {
        let Some((_, (lines, total))) = now.iter().find(|(kind, _)| *kind == file.kind) else {
            verified.problems.push(format!(
                "run {run_id}: {} of audit entry {seq} (run.files) has no payment left in the database",
                file.name
            ));
            continue;
        };
        let mut out = Hashing::new(std::io::sink());
        let made = issue::render(db, &run, &issued, file.kind, &mut out, *lines, *total).await;
        let sha256 = out.finish();
        if made.is_err() || sha256 != file.sha256 {
            verified.problems.push(format!(
                "run {run_id}: {} made again from the database has sha256 {sha256}, not the {} audit entry {seq} \
                 (run.files) recorded: a payment, the cash list or the run's accounts were changed",
                file.name, file.sha256
            ));
        }
        verified.files += 1;
    }
    Ok(())
}
