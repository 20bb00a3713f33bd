//! `audit verify`: walk the audit log's chain and every digest it covers.
//!
//! - The chain: entries numbered 1, 2, 3… with no gap, each linked to the one
//!   before and hashing to its own hash, up to the tip `audit_head` records.
//! - The runs: each run made since the log began (`audit.begin`) has the
//!   entries its state implies, from its first recorded step on (an issued run
//!   its `run.issue` and `run.files`, ...), and no step twice; so entries
//!   removed together with the tip, or a run put in behind the log's back, show.
//!   A run the log names that the database no longer has is a finding too.
//! - The rows: each run, release and signing key holds what its entries
//!   recorded, field by field (who created, evaluated, approved, issued; the
//!   status; the release; the checksum approved; [`super::record`]), so that a
//!   row edited behind the log's back shows although no hash breaks.
//! - The keys: each signing key not revoked holds a certificate of the
//!   national root key of the configuration (`release::certificate`), which
//!   no one who only writes to the database can make.
//! - The anchors: each tip noted down (`--anchor`) or signed by `serve`
//!   (`--tips`, [`super::tip`]) is still an entry of the log, with that hash.
//! - The digests: each decision of an evaluated run still matches its digest,
//!   and the run's decisions still chain to what `run.evaluate` recorded; what
//!   an issued run pays still has the checksum, and its payment and cash rows
//!   the chains, `run.issue` recorded; each file of `run.files`, made again
//!   from the database, still has its sha256, and there is no other.
//!
//! It reads the runs, releases and keys first and the tip next, and walks the
//! log only up to that tip: an action committed meanwhile, with its entry, is
//! not half seen. (An action committed between reading a row and reading the
//! tip leaves the row older than its entries: a row that differs is read once
//! more before it is reported.)
//!
//! The first problem found is the one to look at: after a broken link,
//! nothing later in the chain can be trusted.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use serde_json::Value;

use super::record::{self, Entries, KeyFields, Recorded, ReleaseFields, RunFields};
use crate::config::TrustRoot;
use crate::release::certificate;
use crate::run::approve::{self, Tally};
use crate::run::files;
use crate::run::issue::{self, FileDigest};
use crate::store::audit::{self as table, Entry};
use crate::store::{Db, keys, payments, releases, runs};
use crate::trail::digest::{Chain, Hashing, Sealed};
use crate::trail::log::Walk;
use crate::trail::{self, action};

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
    /// Releases and signing keys held against their entries.
    pub releases: u64,
    pub keys: u64,
    /// Signing keys whose certificate was checked against the national root.
    pub certified: u64,
    /// Tips checked: noted down (`--anchor`) or signed (`--tips`).
    pub anchors: u64,
    /// In the order found; the first is the one to look at.
    pub problems: Vec<String>,
}

impl Verified {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The entries the walk gathered by subject, and where the log began.
#[derive(Default)]
struct Walked {
    runs: BTreeMap<i64, Entries>,
    releases: BTreeMap<i64, Entries>,
    keys: BTreeMap<String, Entries>,
    /// The last run that existed before the log began (`audit.begin`).
    runs_before: Option<i64>,
    /// When the log began: the time of its first entry.
    began_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An entry's hash noted down outside the database (`audit verify` prints
/// the tip to note), or signed by `serve` into a tip file: whoever can write
/// to the database can rewrite the whole log and recompute every hash, but
/// not the copies others hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    /// The signed tip file it was read from; None for one noted down.
    pub tip_file: Option<std::path::PathBuf>,
}

impl Anchor {
    /// Where the hash came from, for findings: "noted down", or the tip file.
    fn whence(&self) -> String {
        match &self.tip_file {
            None => "noted down".to_owned(),
            Some(file) => format!("of the signed tip {}", file.display()),
        }
    }
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Anchor, String> {
        let parsed = s.split_once(':').and_then(|(seq, hash)| {
            let hash = hash.trim().to_ascii_lowercase();
            let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
            Some(Anchor {
                seq: seq.trim().parse().ok().filter(|n| *n >= 1)?,
                hash: hex.then_some(hash)?,
                tip_file: None,
            })
        });
        parsed.ok_or_else(|| format!("{s:?}: expected ENTRY:HASH, as `audit verify` prints the tip (e.g. 12:9f86d0…)"))
    }
}

/// Verify everything, that every key in use is certified by `root` (the
/// configuration's), and that the log still holds each of `anchors`;
/// `progress` is told the decisions checked so far.
pub async fn verify(
    db: &Db,
    root: Option<&TrustRoot>,
    anchors: &[Anchor],
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Verified> {
    let mut verified = Verified { anchors: anchors.len() as u64, ..Verified::default() };
    // Rows first, the tip next: every row read has its entries at or below the tip.
    let rows = Rows::read(db, &mut verified.problems).await?;
    let tip = table::head(db).await?;
    let walked = walk(db, tip, anchors, &mut verified).await?;
    let runs = &walked.runs;
    // Runs whose digests cannot be checked: gone from the database, or unreadable (already a finding).
    let mut unchecked = std::collections::BTreeSet::new();
    for (id, row) in &rows.runs {
        let made_since = walked.runs_before.is_some_and(|before| *id > before);
        let Some(row) = row else {
            unchecked.insert(*id);
            continue;
        };
        match runs.get(id) {
            Some(entries) => {
                verified.runs_covered += 1;
                let problems = recheck(
                    row,
                    |row| record::run_problems(row, entries, made_since, record::DATABASE),
                    || async { Ok(runs::get(db, *id).await.ok().map(|run| RunFields::from(&run))) },
                )
                .await?;
                verified.problems.extend(problems);
            }
            None if made_since => verified.problems.push(format!(
                "run {id} was made after the audit log began, but the log has no entry for it: it was put into the \
                 database behind the log's back, or its entries were removed"
            )),
            None => verified.runs_before += 1,
        }
    }
    for id in runs.keys().filter(|id| !rows.runs.contains_key(*id)) {
        // Made after the rows were read (its entries are checked by the next verify), or deleted.
        if let Err(e) = runs::get(db, *id).await {
            if !is_missing(&e) {
                return Err(e);
            }
            unchecked.insert(*id);
            verified.problems.push(format!(
                "the log names run {id}, which is not in the database: the run was deleted (its entries say what it \
                 was: `ansinh audit log --run {id}`)"
            ));
        }
    }
    verified.releases = check_releases(db, &rows, &walked, &mut verified.problems).await?;
    verified.keys = check_keys(db, &rows, &walked, &mut verified.problems).await?;
    verified.certified = check_certificates(&rows, root, &mut verified.problems);
    for (id, entries) in runs.iter().filter(|(id, _)| !unchecked.contains(*id)) {
        let (evaluated, issued) = (entries.first(action::RUN_EVALUATE), entries.first(action::RUN_ISSUE));
        if evaluated.is_some() || issued.is_some() {
            // One pass: each decision against its digest, and what the run would pay now.
            let sealed = evaluated.map(|e| (e.seq, &e.details));
            let tally = check_decisions(db, *id, sealed, &mut verified, progress).await?;
            if let Some(e) = issued {
                check_paid(*id, e.seq, &e.details, &tally, &mut verified.problems);
            }
        }
        let files = entries.first(action::RUN_FILES);
        if issued.is_some() || files.is_some() {
            // One pass over what it paid: the rows against their chains, the files against their digests.
            check_issued(
                db,
                *id,
                issued.map(|e| (e.seq, &e.details)),
                files.map(|e| (e.seq, &e.details)),
                &mut verified,
            )
            .await?;
        }
    }
    Ok(verified)
}

/// The rows entries are compared with, read before the tip.
struct Rows {
    /// Every run by id; None for one whose row cannot be read (a finding already).
    runs: BTreeMap<i64, Option<RunFields>>,
    releases: Vec<ReleaseFields>,
    keys: Vec<(KeyFields, chrono::DateTime<chrono::Utc>)>,
    /// The keys as stored, with their certificates.
    stored_keys: Vec<keys::Key>,
}

impl Rows {
    async fn read(db: &Db, problems: &mut Vec<String>) -> anyhow::Result<Rows> {
        let mut runs = BTreeMap::new();
        for (id, _) in runs::statuses(db).await? {
            let row = match runs::get(db, id).await {
                Ok(run) => Some(RunFields::from(&run)),
                // A row made unreadable (a month or a hash that does not parse) is a finding, not the end.
                Err(e) if !is_missing(&e) => {
                    problems.push(format!(
                        "run {id}: its row cannot be read ({e:#}): it was changed behind the log's back"
                    ));
                    None
                }
                // Deleted since its id was listed: the log, if it names it, says so.
                Err(_) => continue,
            };
            runs.insert(id, row);
        }
        let releases = match releases::list(db).await {
            Ok(list) => list.iter().map(ReleaseFields::from).collect(),
            Err(e) => {
                problems.push(format!("the releases cannot be read ({e:#}): a row was changed behind the log's back"));
                Vec::new()
            }
        };
        let stored_keys = keys::list(db).await?;
        let keys = stored_keys.iter().map(|k| (KeyFields::from(k), k.added_at)).collect();
        Ok(Rows { runs, releases, keys, stored_keys })
    }
}

/// Whether `e` says the row asked for is not there (`runs::get`'s "there is no run N").
fn is_missing(e: &anyhow::Error) -> bool {
    e.to_string().starts_with("there is no ")
}

/// The problems `check` finds with `row`; if any, the row is read again
/// (`again`) and checked once more, since an action may have changed it
/// between reading it and reading the tip: reported only if it still differs.
async fn recheck<T, F, Fut>(row: &T, check: impl Fn(&T) -> Vec<String>, again: F) -> anyhow::Result<Vec<String>>
where
    T: PartialEq,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let problems = check(row);
    if problems.is_empty() {
        return Ok(problems);
    }
    match again().await? {
        Some(now) if now != *row && check(&now).is_empty() => Ok(Vec::new()),
        _ => Ok(problems),
    }
}

/// Each release against its `release.*` entries; a release the log names
/// that the database lacks, and one made since the log began with no entry.
/// How many were held against entries.
async fn check_releases(db: &Db, rows: &Rows, walked: &Walked, problems: &mut Vec<String>) -> anyhow::Result<u64> {
    let mut checked = 0;
    // Release ids only grow: one above a release whose upload is logged was made since the log began.
    let first_logged =
        walked.releases.iter().find(|(_, e)| e.first(action::RELEASE_UPLOAD).is_some()).map(|(id, _)| *id);
    let empty = Entries::default();
    for row in &rows.releases {
        let entries = walked.releases.get(&row.id).unwrap_or(&empty);
        if entries.0.is_empty() {
            if let Some(first) = first_logged.filter(|first| row.id > *first) {
                problems.push(format!(
                    "release {} was made after the audit log began (release {first}, before it, has its entries), but \
                     the log has no entry for it: it was put into the database behind the log's back",
                    row.id
                ));
            }
            continue;
        }
        let found = recheck(
            row,
            |row| record::release_problems(row, entries, record::DATABASE),
            || async { Ok(releases::get(db, row.id).await.ok().map(|r| ReleaseFields::from(&r))) },
        )
        .await?;
        problems.extend(found);
        checked += 1;
    }
    for id in walked.releases.keys().filter(|id| !rows.releases.iter().any(|r| r.id == **id)) {
        if let Err(e) = releases::get(db, *id).await {
            if !is_missing(&e) {
                return Err(e);
            }
            problems.push(format!("the log names release {id}, which is not in the database: the release was deleted"));
        }
    }
    Ok(checked)
}

/// Each signing key against its `key.add` and `key.revoke` entries; a key the
/// log names that the database lacks, and one added since the log began with
/// no entry. How many were held against entries.
async fn check_keys(db: &Db, rows: &Rows, walked: &Walked, problems: &mut Vec<String>) -> anyhow::Result<u64> {
    let mut checked = 0;
    let empty = Entries::default();
    for (row, added_at) in &rows.keys {
        let entries = walked.keys.get(&row.id).unwrap_or(&empty);
        if entries.0.is_empty() {
            if walked.began_at.is_some_and(|began| *added_at >= began) {
                problems.push(format!(
                    "key {} was added at {added_at}, after the audit log began, but the log has no entry for it: it \
                     was put into the database behind the log's back, and can sign releases",
                    row.id
                ));
            }
            continue;
        }
        let found = recheck(
            row,
            |row| record::key_problems(row, entries, record::DATABASE),
            || async { Ok(keys::get(db, &row.id).await?.map(|k| KeyFields::from(&k))) },
        )
        .await?;
        problems.extend(found);
        checked += 1;
    }
    for id in walked.keys.keys().filter(|id| !rows.keys.iter().any(|(k, _)| k.id == **id)) {
        if keys::get(db, id).await?.is_none() {
            problems.push(format!("the log names key {id}, which is not in the database: the key was deleted"));
        }
    }
    Ok(checked)
}

/// Each signing key not revoked against the national `root`: one without a
/// certificate that holds signs nothing that runs, and was registered before
/// keys were certified or put in behind the host's back. How many were checked.
fn check_certificates(rows: &Rows, root: Option<&TrustRoot>, problems: &mut Vec<String>) -> u64 {
    let in_use: Vec<&keys::Key> = rows.stored_keys.iter().filter(|k| k.revoked_at.is_none()).collect();
    let Some(root) = root else {
        if !in_use.is_empty() {
            problems.push(format!(
                "no national root key is configured ([trust] root_public_key): the certificates of {} signing keys \
                 were not checked, and no release runs until it is",
                in_use.len()
            ));
        }
        return 0;
    };
    let today = chrono::Utc::now().date_naive();
    for key in &in_use {
        if let Err(e) = certificate::check_stored(key, root, today) {
            problems.push(format!("{e:#}"));
        }
    }
    in_use.len() as u64
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
                walked.began_at = chrono::DateTime::parse_from_rfc3339(&entry.at).ok().map(|at| at.to_utc());
            }
            for anchor in anchors.iter().filter(|a| a.seq == entry.seq && a.hash != entry.hash) {
                verified.problems.push(format!(
                    "entry {} hashes to {}, not to the {} {}: the log up to it was rewritten, hashes and all",
                    entry.seq,
                    entry.hash,
                    anchor.hash,
                    anchor.whence()
                ));
            }
            if let Err(problem) = collect(&entry, &mut walked) {
                verified.problems.push(problem);
            }
        }
    }
    for anchor in anchors.iter().filter(|a| a.seq > chain.seq && !broken) {
        verified.problems.push(format!(
            "the log ends at entry {}, before entry {} {}: entries were deleted",
            chain.seq,
            anchor.seq,
            anchor.whence()
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

/// Keep `entry` with the others about its subject, if it is about a run, a release or a key.
fn collect(entry: &Entry, walked: &mut Walked) -> Result<(), String> {
    let (kind, id) = entry.subject.split_once(':').unwrap_or(("", ""));
    let entries = match kind {
        "run" => match id.parse::<i64>() {
            Ok(id) => walked.runs.entry(id).or_default(),
            Err(_) => return Ok(()),
        },
        "release" => match id.parse::<i64>() {
            Ok(id) => walked.releases.entry(id).or_default(),
            Err(_) => return Ok(()),
        },
        "key" => walked.keys.entry(id.to_owned()).or_default(),
        _ => return Ok(()),
    };
    entries.0.push(Recorded::read(entry)?);
    Ok(())
}

/// Each decision against its digest, and all of them against the chain
/// recorded (`sealed`: the `run.evaluate` entry's number and details); and,
/// from the same rows in one snapshot, the tally of what the run would pay now.
async fn check_decisions(
    db: &Db,
    run_id: i64,
    sealed: Option<(i64, &Value)>,
    verified: &mut Verified,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Tally> {
    let mut chain = Chain::default();
    let mut adding = approve::Adding::default();
    let mut changed = 0;
    let mut tx = payments::read_snapshot(db).await?;
    trail::read_remade(&mut tx, run_id, PAGE, |page| {
        for r in page {
            chain.push_stored(r.row.digest.as_deref());
            if r.row.digest != r.remade {
                changed += 1;
                if changed <= NAMED {
                    verified.problems.push(format!(
                        "run {run_id}: the decision of beneficiary #{} for {} does not match its digest: it was \
                         changed after it was made",
                        r.row.beneficiary_id, r.row.period
                    ));
                }
            }
            if let Some(id_number) = &r.owed_to {
                adding.add(&approve::Line::of(&r.row, id_number));
            }
        }
        verified.decisions += page.len() as u64;
        progress(verified.decisions);
        ControlFlow::Continue(())
    })
    .await?;
    tx.commit().await?;
    if changed > NAMED {
        verified.problems.push(format!("run {run_id}: {} more changed decisions", changed - NAMED));
    }
    let sealed_now = chain.seal();
    let Some((seq, details)) = sealed else { return Ok(adding.finish()) };
    match serde_json::from_value::<Sealed>(details["decisions"].clone()) {
        Ok(recorded) if recorded == sealed_now => {}
        Ok(recorded) => verified.problems.push(format!(
            "run {run_id}: its decisions do not match audit entry {seq} (run.evaluate): it recorded {} decisions \
             chaining to {}, the database has {} chaining to {}; decisions were added, removed or changed with \
             their digest",
            recorded.count, recorded.chain, sealed_now.count, sealed_now.chain
        )),
        Err(_) => verified.problems.push(format!("audit entry {seq} (run.evaluate) holds no decision chain")),
    }
    Ok(adding.finish())
}

/// What an issued run pays, line by line, against the checksum `run.issue` recorded.
fn check_paid(run_id: i64, seq: i64, details: &Value, now: &Tally, problems: &mut Vec<String>) {
    let Some(recorded) = details["paid"]["checksum"].as_str() else {
        problems.push(format!("audit entry {seq} (run.issue) holds no checksum of what was paid"));
        return;
    };
    if now.checksum != recorded {
        problems.push(format!(
            "run {run_id}: what it pays no longer has the checksum audit entry {seq} (run.issue) recorded ({recorded}, \
             now {}): a paid decision was changed",
            now.checksum
        ));
    }
}

/// In one pass over an issued run's payment and cash rows ([`files::Making`]):
/// the rows against the chains its `run.issue` entry recorded (`issued`), and
/// each file it issued, made again, against the sha256 its `run.files` entry
/// recorded (`files`); and no file the run now has that was not recorded.
async fn check_issued(
    db: &Db,
    run_id: i64,
    issued: Option<(i64, &Value)>,
    files: Option<(i64, &Value)>,
    verified: &mut Verified,
) -> anyhow::Result<()> {
    let problems = &mut verified.problems;
    let chains = match issued {
        None => None,
        Some((seq, details)) => match serde_json::from_value::<crate::trail::Paid>(details["rows"].clone()) {
            Ok(rows) => Some((seq, rows)),
            Err(_) => {
                problems.push(format!("audit entry {seq} (run.issue) holds no chains of the payment rows"));
                None
            }
        },
    };
    let recorded = match files {
        None => None,
        Some((seq, details)) => match serde_json::from_value::<Vec<FileDigest>>(details["files"].clone()) {
            Ok(files) => Some((seq, files)),
            Err(_) => {
                problems.push(format!("audit entry {seq} (run.files) does not list files"));
                None
            }
        },
    };
    let run = runs::get(db, run_id).await?;
    let payments = payments::issued(db, &run, false).await?;
    let mut tx = db.snapshot().await?;
    let now = issue::files_of(&mut tx, &run, &payments.treasury).await?;
    let mut outs = Vec::new();
    if let Some((seq, files)) = &recorded {
        for (kind, _) in now.iter().filter(|(kind, _)| !files.iter().any(|f| f.kind == *kind)) {
            problems.push(format!(
                "run {run_id} now has a {kind:?} file, which audit entry {seq} (run.files) does not list: payments \
                 were added"
            ));
        }
        for file in files {
            match now.iter().find(|(kind, _)| *kind == file.kind) {
                Some((kind, holds)) => outs.push((*kind, *holds, Hashing::new(std::io::sink()))),
                None => problems.push(format!(
                    "run {run_id}: {} of audit entry {seq} (run.files) has no payment left in the database",
                    file.name
                )),
            }
        }
    }
    let mut making = files::Making::new(&run, payments.issued_at, &payments.treasury, outs)?;
    if chains.is_some() {
        making = making.chained();
    }
    let made = making.make(&mut tx).await;
    drop(tx);
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            problems.push(format!(
                "run {run_id}: its payments cannot be read as lines of its files ({e:#}): a payment row was changed"
            ));
            return Ok(());
        }
    };
    if let (Some((seq, then)), Some(now)) = (&chains, &made.paid) {
        for (what, then, now) in [("payments", &then.payments, &now.payments), ("cash list", &then.cash, &now.cash)] {
            if then != now {
                problems.push(format!(
                    "run {run_id}: its {what} do not match audit entry {seq} (run.issue): it recorded {} rows chaining \
                     to {}, the database has {} chaining to {}; rows were added, removed or changed",
                    then.count, then.chain, now.count, now.chain
                ));
            }
        }
    }
    let Some((seq, files)) = &recorded else { return Ok(()) };
    for (kind, made) in made.files {
        let file = files.iter().find(|f| f.kind == kind).expect("only recorded files are made");
        match made {
            Err(e) => problems.push(format!(
                "run {run_id}: {} cannot be made again from the database ({e:#}); audit entry {seq} (run.files) \
                 recorded it",
                file.name
            )),
            Ok((_, out)) => {
                let sha256 = out.finish();
                if sha256 != file.sha256 {
                    problems.push(format!(
                        "run {run_id}: {} made again from the database has sha256 {sha256}, not the {} audit entry \
                         {seq} (run.files) recorded: a payment, the cash list or the run's accounts were changed",
                        file.name, file.sha256
                    ));
                }
            }
        }
        verified.files += 1;
    }
    Ok(())
}
