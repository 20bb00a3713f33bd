//! `audit verify`: walk the audit log's chain and every digest it covers.
//!
//! - The chain: entries numbered 1, 2, 3… with no gap, each linked to the one
//!   before and hashing to its own hash, up to the tip `audit_head` records.
//! - The runs: each run made since the log began (`audit.begin`) has the
//!   entries its state implies, from its first recorded step on (an issued run
//!   its `run.issue` and `run.files`, ...), and no step twice; so entries
//!   removed together with the tip, or a run put in behind the log's back, show.
//! - The digests: each decision of an evaluated run still matches its digest,
//!   and the run's decisions still chain to what `run.evaluate` recorded; what
//!   an issued run pays still has the checksum, and its payment and cash rows
//!   the chains, `run.issue` recorded; each file of `run.files`, made again
//!   from the database, still has its sha256, and there is no other.
//!
//! It reads the runs' states first and the tip next, and walks the log only
//! up to that tip: an action committed meanwhile, with its entry, is not half
//! seen.
//!
//! The first problem found is the one to look at: after a broken link,
//! nothing later in the chain can be trusted.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::Total;
use crate::run::approve;
use crate::run::issue::{self, FileDigest};
use crate::store::audit::{self as table, Entry};
use crate::store::decisions::{self, Key};
use crate::store::{Db, payments, runs};
use crate::trail::action;
use crate::trail::digest::{Chain, Hashing, Sealed};
use crate::trail::log::Walk;

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
    /// The first entry of `action`: the one that counts, since each step is recorded once.
    fn first(&self, action: &str) -> Option<(i64, &Value)> {
        self.entries.iter().find(|(_, a, _)| a == action).map(|(seq, _, details)| (*seq, details))
    }

    fn all(&self, action: &str) -> Vec<i64> {
        self.entries.iter().filter(|(_, a, _)| a == action).map(|(seq, _, _)| *seq).collect()
    }
}

/// What the walk found besides the entries about runs.
#[derive(Default)]
struct Walked {
    runs: BTreeMap<i64, RunEntries>,
    /// The last run that existed before the log began (`audit.begin`).
    runs_before: Option<i64>,
}

/// An entry's hash noted down outside the database (`audit verify` prints
/// the tip to note): whoever can write to the database can rewrite the whole
/// log and recompute every hash, but not the copies others hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Anchor, String> {
        let parsed = s.split_once(':').and_then(|(seq, hash)| {
            let hash = hash.trim().to_ascii_lowercase();
            let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
            Some(Anchor { seq: seq.trim().parse().ok().filter(|n| *n >= 1)?, hash: hex.then_some(hash)? })
        });
        parsed.ok_or_else(|| format!("{s:?}: expected ENTRY:HASH, as `audit verify` prints the tip (e.g. 12:9f86d0…)"))
    }
}

/// Verify everything, and that the log still holds each of `anchors`;
/// `progress` is told the decisions checked so far.
pub async fn verify(db: &Db, anchors: &[Anchor], progress: &(dyn Fn(u64) + Sync)) -> anyhow::Result<Verified> {
    let mut verified = Verified::default();
    // States first, the tip next: every state read has its entry at or below the tip.
    let statuses = runs::statuses(db).await?;
    let tip = table::head(db).await?;
    let walked = walk(db, tip, anchors, &mut verified).await?;
    let runs = &walked.runs;
    for (id, status) in &statuses {
        let made_since = walked.runs_before.is_some_and(|before| *id > before);
        match runs.get(id) {
            Some(entries) => {
                verified.runs_covered += 1;
                expected_entries(*id, status, entries, made_since, &mut verified.problems);
            }
            None if made_since => verified.problems.push(format!(
                "run {id} was made after the audit log began, but the log has no entry for it: it was put into the \
                 database behind the log's back, or its entries were removed"
            )),
            None => verified.runs_before += 1,
        }
    }
    for id in runs.keys().filter(|id| !statuses.iter().any(|(s, _)| s == *id)) {
        // Made after the states were read, or deleted.
        if runs::get(db, *id).await.is_err() {
            verified
                .problems
                .push(format!("the log names run {id}, which is not in the database: the run was deleted"));
        }
    }
    for (id, entries) in runs {
        if let Some((seq, details)) = entries.first(action::RUN_EVALUATE) {
            check_decisions(db, *id, seq, details, &mut verified, progress).await?;
        }
        if let Some((seq, details)) = entries.first(action::RUN_ISSUE) {
            check_paid(db, *id, seq, details, &mut verified.problems).await?;
        }
        if let Some((seq, details)) = entries.first(action::RUN_FILES) {
            check_files(db, *id, seq, details, &mut verified).await?;
        }
    }
    Ok(verified)
}

/// Walk the chain up to the `tip` read, or to its first break.
async fn walk(db: &Db, tip: (i64, String), anchors: &[Anchor], verified: &mut Verified) -> anyhow::Result<Walked> {
    let mut chain = Walk::default();
    let mut walked = Walked::default();
    let mut broken = false;
    'pages: while chain.seq < tip.0 {
        let page = table::page(db, chain.seq, PAGE.min(tip.0 - chain.seq)).await?;
        if page.is_empty() {
            break;
        }
        for entry in page {
            if let Err(e) = chain.next(&entry) {
                verified.problems.push(format!("{e}; no entry from {} on can be trusted", chain.seq + 1));
                broken = true;
                break 'pages;
            }
            if entry.seq == 1 {
                walked.runs_before = begun(&entry, &mut verified.problems);
            }
            for anchor in anchors.iter().filter(|a| a.seq == entry.seq && a.hash != entry.hash) {
                verified.problems.push(format!(
                    "entry {} hashes to {}, not to the {} noted down: the log up to it was rewritten, hashes and all",
                    entry.seq, entry.hash, anchor.hash
                ));
            }
            collect(&entry, &mut walked.runs)?;
        }
    }
    for anchor in anchors.iter().filter(|a| a.seq > chain.seq && !broken) {
        verified.problems.push(format!(
            "the log ends at entry {}, before entry {} noted down: entries were deleted",
            chain.seq, anchor.seq
        ));
    }
    verified.entries = chain.seq;
    verified.tip = (chain.seq, chain.hash.clone());
    let (seq, hash) = tip;
    if !broken && (seq, &hash) != (chain.seq, &chain.hash) {
        verified.problems.push(if seq > chain.seq {
            format!("the log ends at entry {} but its tip is entry {seq}: entries at the end were deleted", chain.seq)
        } else {
            format!("the log's tip (entry {seq}, {hash}) is not its last entry ({}): the tip was changed", chain.seq)
        });
    }
    Ok(walked)
}

/// The last run before the log, from its first entry.
fn begun(entry: &Entry, problems: &mut Vec<String>) -> Option<i64> {
    let before = (entry.action == action::AUDIT_BEGIN)
        .then(|| serde_json::from_str::<Value>(&entry.details).ok()?["runs_before"].as_i64())
        .flatten();
    if before.is_none() {
        problems.push(format!(
            "the log's first entry is {}, not {}: its beginning was replaced",
            entry.action,
            action::AUDIT_BEGIN
        ));
    }
    before
}

fn collect(entry: &Entry, runs: &mut BTreeMap<i64, RunEntries>) -> anyhow::Result<()> {
    let Some(id) = entry.subject.strip_prefix("run:").and_then(|id| id.parse::<i64>().ok()) else { return Ok(()) };
    let details: Value = serde_json::from_str(&entry.details)
        .map_err(|e| anyhow::anyhow!("audit entry {}: its details are not JSON: {e}", entry.seq))?;
    runs.entry(id).or_default().entries.push((entry.seq, entry.action.clone(), details));
    Ok(())
}

/// A run's state implies the entries of each step that led to it, each once.
/// A run made before the log began (`made_since` false) needs only the steps
/// from its first recorded one on.
fn expected_entries(id: i64, status: &str, entries: &RunEntries, made_since: bool, problems: &mut Vec<String>) {
    use action::*;
    let steps: &[&str] = match status {
        "created" => &[RUN_CREATE],
        "evaluated" => &[RUN_CREATE, RUN_EVALUATE],
        "approved" => &[RUN_CREATE, RUN_EVALUATE, RUN_APPROVE],
        "issued" => &[RUN_CREATE, RUN_EVALUATE, RUN_APPROVE, RUN_ISSUE, RUN_FILES],
        "reconciled" => &[RUN_CREATE, RUN_EVALUATE, RUN_APPROVE, RUN_ISSUE, RUN_FILES, RUN_RECONCILE],
        "cancelled" => &[RUN_CREATE, RUN_CANCEL],
        _ => &[],
    };
    let first = if made_since { 0 } else { steps.iter().position(|s| entries.first(s).is_some()).unwrap_or(0) };
    for step in &steps[first..] {
        if entries.first(step).is_some() {
            continue;
        }
        problems.push(if *step == RUN_FILES {
            format!("run {id} is {status}, but its files were never recorded: issue it again (`ansinh run issue {id}`)")
        } else {
            format!("run {id} is {status}, but the log has no {step} entry for it: it was removed")
        });
    }
    for step in [RUN_CREATE, RUN_EVALUATE, RUN_ISSUE, RUN_FILES] {
        let seqs = entries.all(step);
        if seqs.len() > 1 {
            problems.push(format!(
                "run {id} has {} {step} entries ({}): a run has one; the first is the one checked",
                seqs.len(),
                seqs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ));
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
            chain.push_stored(row.digest.as_deref());
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

/// What an issued run pays, line by line, against the checksum `run.issue`
/// recorded, and its payment and cash rows against the chains it recorded.
async fn check_paid(db: &Db, run_id: i64, seq: i64, details: &Value, problems: &mut Vec<String>) -> anyhow::Result<()> {
    let Some(recorded) = details["paid"]["checksum"].as_str() else {
        problems.push(format!("audit entry {seq} (run.issue) holds no checksum of what was paid"));
        return Ok(());
    };
    let now = approve::current(db, run_id).await?;
    if now.checksum != recorded {
        problems.push(format!(
            "run {run_id}: what it pays no longer has the checksum audit entry {seq} (run.issue) recorded ({recorded}, \
             now {}): a paid decision was changed",
            now.checksum
        ));
    }
    let Ok(rows) = serde_json::from_value::<crate::trail::Paid>(details["rows"].clone()) else {
        problems.push(format!("audit entry {seq} (run.issue) holds no chains of the payment rows"));
        return Ok(());
    };
    let mut tx = db.begin().await?;
    let stored = crate::trail::seal_paid(&mut tx, run_id).await?;
    drop(tx);
    for (what, then, now) in [("payments", &rows.payments, &stored.payments), ("cash list", &rows.cash, &stored.cash)] {
        if then != now {
            problems.push(format!(
                "run {run_id}: its {what} do not match audit entry {seq} (run.issue): it recorded {} rows chaining to \
                 {}, the database has {} chaining to {}; rows were added, removed or changed",
                then.count, then.chain, now.count, now.chain
            ));
        }
    }
    Ok(())
}

/// Each issued file, made again from the database, against its recorded
/// sha256; and no file the run now has that was not recorded.
async fn check_files(db: &Db, run_id: i64, seq: i64, details: &Value, verified: &mut Verified) -> anyhow::Result<()> {
    let Ok(files) = serde_json::from_value::<Vec<FileDigest>>(details["files"].clone()) else {
        verified.problems.push(format!("audit entry {seq} (run.files) does not list files"));
        return Ok(());
    };
    let run = runs::get(db, run_id).await?;
    let issued = payments::issued(db, &run, false).await?;
    let now = issue::files_of(db, &run, &issued).await?;
    for (kind, _) in now.iter().filter(|(kind, _)| !files.iter().any(|f| f.kind == *kind)) {
        verified.problems.push(format!(
            "run {run_id} now has a {kind:?} file, which audit entry {seq} (run.files) does not list: payments were added"
        ));
    }
    for file in &files {
        let Some((_, Total { count: lines, amount: total })) = now.iter().find(|(kind, _)| *kind == file.kind) else {
            verified.problems.push(format!(
                "run {run_id}: {} of audit entry {seq} (run.files) has no payment left in the database",
                file.name
            ));
            continue;
        };
        let mut out = Hashing::new(std::io::sink());
        let made = issue::render(db, &run, &issued, file.kind, &mut out, *lines, *total).await;
        let sha256 = out.finish();
        match made {
            Err(e) => verified.problems.push(format!(
                "run {run_id}: {} cannot be made again from the database ({e:#}); audit entry {seq} (run.files) \
                 recorded it",
                file.name
            )),
            Ok(_) if sha256 != file.sha256 => verified.problems.push(format!(
                "run {run_id}: {} made again from the database has sha256 {sha256}, not the {} audit entry {seq} \
                 (run.files) recorded: a payment, the cash list or the run's accounts were changed",
                file.name, file.sha256
            )),
            Ok(_) => {}
        }
        verified.files += 1;
    }
    Ok(())
}
