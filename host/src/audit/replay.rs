//! `audit replay`: make a run's decisions again from what was stored, in a
//! fresh sandbox, and compare them byte for byte.
//!
//! ```text
//!  source (the database, or a bundle) ──pages──▶ workers (threads; one fresh
//!  decisions in key order, a sample            instance per decision) ──▶ tally
//!  of them if asked
//! ```
//!
//! Each decision is given its stored input (the exact canonical JSON the
//! plug-in saw) and run by the plug-in whose bytes hash to the stored hash.
//! The output (or error) and the fuel must be what was stored, the stored
//! outcome and amount what the host's rules make of that output and the stored
//! checks, and the stored record must still match its digest. Anything else is a divergence, and a
//! plug-in whose bytes are missing or hash to something else is a missing
//! artefact: either makes the replay fail.

use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::model::{Channel, Outcome};
use crate::registry::verify::Verification;
use crate::store::audit as table;
use crate::store::decisions::{self, DecisionRow, Key};
use crate::store::{Db, plugins};
use crate::trail::digest::{Chain, Escapes, Sealed};
use ansinh_sandbox::{CheckedOutput, DecisionInput, EngineIdentity, Limits, Plugin, PluginError, PluginHash, Sandbox};

/// Divergences kept to show; the count is always exact.
const KEPT: usize = 1000;

/// Decisions read per query.
const PAGE: i64 = 1000;

/// What a replay needs besides the decisions: the plug-ins' bytes and the
/// engines the decisions name, as the source holds them.
#[derive(Default)]
pub struct Stored {
    /// Bytes by the hash the decisions name; `None` when the source lacks them.
    pub plugins: HashMap<String, Option<Vec<u8>>>,
    /// Engine identities by id: their JSON as recorded (read as text, so that
    /// one recorded by another version of ansinh is still compared).
    pub engines: HashMap<String, String>,
    /// Engine ids the decisions name, `None` for decisions made before engines were recorded.
    pub engine_ids: BTreeSet<Option<String>>,
}

/// What a replay needs, made once from [`Stored`]: the plug-ins loaded (or
/// why not) and the engines noted ([`Replayer::prepare`]).
pub struct Prepared {
    plugins: Arc<HashMap<String, Result<Arc<Plugin>, String>>>,
    /// Plug-ins that could not be had or loaded.
    missing: Vec<String>,
    /// The engines the decisions were made under, where they differ from this one.
    engines: Vec<String>,
}

/// One decision that did not come out the same.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Divergence {
    pub key: Key,
    /// What differs, in words.
    pub why: Vec<String>,
    /// The stored output (or `error: ...`) and fuel, and the replayed ones.
    pub stored: (String, i64),
    pub replayed: Option<(String, u64)>,
}

/// What a replay found. A part of a replay (`jobs::parts`) is stored as
/// JSON and merged ([`Report::merge`]).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Decisions looked at (all, or the sample).
    pub decisions: u64,
    /// Given to a plug-in again.
    pub replayed: u64,
    pub identical: u64,
    /// Decisions a plug-in was never asked for (no registry record): nothing to replay.
    pub not_asked: u64,
    pub divergent: u64,
    /// The first divergences by key, at most the number asked for.
    pub shown: Vec<Divergence>,
    /// Plug-ins that could not be had or loaded.
    pub missing: Vec<String>,
    /// Decisions not replayed for lack of their plug-in.
    pub unreplayable: u64,
    /// Decisions that hit the wall-clock deadline, made or replayed: that
    /// backstop depends on the machine's load, so they are not compared.
    pub deadline: u64,
    /// The engines the decisions were made under, where they differ from this one.
    pub engines: Vec<String>,
    /// What holds of the run as a whole (its decisions against the chain recorded).
    pub notes: Vec<String>,
    /// What does not: any makes the replay fail.
    pub problems: Vec<String>,
    pub elapsed: Duration,
}

impl Report {
    /// Whether something was replayed, every decision came out the same and nothing was missing.
    pub fn identical(&self) -> bool {
        self.replayed > 0
            && self.divergent == 0
            && self.missing.is_empty()
            && self.unreplayable == 0
            && self.problems.is_empty()
    }

    /// What a replay job keeps as its result (the API's `result`): the
    /// verdict, the counts under the names it gives them, the divergences
    /// shown, the notes, and the sample if one was drawn.
    pub fn to_result(&self, sample: Option<Sample>) -> serde_json::Value {
        let shown: Vec<serde_json::Value> = self
            .shown
            .iter()
            .map(|d| {
                serde_json::json!({
                    "period": d.key.0, "beneficiary": d.key.1, "why": d.why,
                    "stored": d.stored, "replayed": d.replayed,
                })
            })
            .collect();
        serde_json::json!({
            "identical": self.identical(),
            "sample": sample.map(|s| serde_json::json!({ "size": s.size, "seed": s.seed })),
            "decisions": self.decisions,
            "replayed": self.replayed,
            "same": self.identical,
            "not_asked": self.not_asked,
            "divergent": self.divergent,
            "deadline": self.deadline,
            "unreplayable": self.unreplayable,
            "first_divergent": shown,
            "missing": self.missing,
            "notes": self.notes,
            "problems": self.problems,
            "engines": self.engines,
        })
    }

    /// A replay job's result ([`Report::to_result`]) read back, the job
    /// having taken `elapsed`: what it found, and its sample.
    pub fn from_result(result: &serde_json::Value, elapsed: Duration) -> (Report, Option<Sample>) {
        let n = |key: &str| result[key].as_u64().unwrap_or(0);
        let texts = |value: &serde_json::Value| -> Vec<String> {
            value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        };
        let shown = result["first_divergent"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| Divergence {
                key: (d["period"].as_str().unwrap_or_default().to_owned(), d["beneficiary"].as_i64().unwrap_or(0)),
                why: texts(&d["why"]),
                stored: serde_json::from_value(d["stored"].clone()).unwrap_or_default(),
                replayed: serde_json::from_value(d["replayed"].clone()).unwrap_or_default(),
            })
            .collect();
        let report = Report {
            decisions: n("decisions"),
            replayed: n("replayed"),
            identical: n("same"),
            not_asked: n("not_asked"),
            divergent: n("divergent"),
            shown,
            missing: texts(&result["missing"]),
            unreplayable: n("unreplayable"),
            deadline: n("deadline"),
            engines: texts(&result["engines"]),
            notes: texts(&result["notes"]),
            problems: texts(&result["problems"]),
            elapsed,
        };
        let sample = result["sample"]["size"]
            .as_u64()
            .map(|size| Sample { size, seed: result["sample"]["seed"].as_u64().unwrap_or(0) });
        (report, sample)
    }

    /// Add what a replay of other decisions found (another part of the same
    /// run), keeping the first `list` divergences by key.
    pub fn merge(&mut self, part: Report, list: usize) {
        self.decisions += part.decisions;
        self.replayed += part.replayed;
        self.identical += part.identical;
        self.not_asked += part.not_asked;
        self.divergent += part.divergent;
        self.unreplayable += part.unreplayable;
        self.deadline += part.deadline;
        self.shown.extend(part.shown);
        self.shown.sort_by(|a, b| a.key.cmp(&b.key));
        self.shown.truncate(list.min(KEPT));
        for (mine, theirs) in [(&mut self.missing, part.missing), (&mut self.engines, part.engines)] {
            for note in theirs {
                if !mine.contains(&note) {
                    mine.push(note);
                }
            }
        }
        self.notes.extend(part.notes);
        self.problems.extend(part.problems);
    }
}

/// A random sample, repeatable from its seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub size: u64,
    pub seed: u64,
}

impl Sample {
    /// A sample of `size` with `seed`, or a seed from the operating system.
    pub fn new(size: u64, seed: Option<u64>) -> anyhow::Result<Sample> {
        let seed = match seed {
            Some(seed) => seed,
            None => {
                let mut bytes = [0; 8];
                getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a seed: {e}"))?;
                u64::from_le_bytes(bytes)
            }
        };
        Ok(Sample { size, seed })
    }

    /// A decision's place in the draw: the sample is the `size` decisions with
    /// the lowest. A hash of the seed and the key, so that the same seed draws
    /// the same decisions from the same run on any machine, in any order.
    fn rank(&self, key: &Key) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.seed.to_le_bytes());
        h.update(key.0.as_bytes());
        h.update(b":");
        h.update(key.1.to_le_bytes());
        h.finalize().into()
    }
}

/// Draws a sample from keys offered one by one, holding only the sample.
pub struct Draw {
    sample: Sample,
    kept: BinaryHeap<([u8; 32], Key)>,
}

impl Draw {
    pub fn new(sample: Sample) -> Draw {
        Draw { sample, kept: BinaryHeap::new() }
    }

    pub fn offer(&mut self, key: Key) {
        let rank = self.sample.rank(&key);
        if (self.kept.len() as u64) < self.sample.size {
            self.kept.push((rank, key));
        } else if self.kept.peek().is_some_and(|(worst, _)| rank < *worst) {
            self.kept.pop();
            self.kept.push((rank, key));
        }
    }

    pub fn drawn(self) -> HashSet<Key> {
        self.kept.into_iter().map(|(_, key)| key).collect()
    }
}

/// Replays the pages a source sends, with `workers` threads, in a sandbox of
/// its own.
pub struct Replayer {
    sandbox: Sandbox,
    workers: usize,
    /// Divergences to show.
    list: usize,
}

impl Replayer {
    /// A replayer under `limits`, with a fresh engine that compiles each
    /// plug-in from its bytes: never the machine code cached on disk, which
    /// the runs used and which a replay must not take on trust.
    pub fn new(limits: &Limits, workers: usize, list: usize) -> anyhow::Result<Replayer> {
        Ok(Replayer { sandbox: Sandbox::new(limits.clone(), None)?, workers: workers.max(1), list: list.min(KEPT) })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// What replaying needs of `stored`, made once: each plug-in the
    /// decisions name loaded, its bytes checked against the name, and the
    /// engines noted.
    pub fn prepare(&self, stored: &Stored) -> Prepared {
        let mut plugins = HashMap::new();
        let mut missing = Vec::new();
        for (hash, bytes) in &stored.plugins {
            let loaded = match bytes {
                None => Err(format!("plug-in {hash}: its bytes are not stored")),
                Some(bytes) if PluginHash::of(bytes).to_string() != *hash => Err(format!(
                    "plug-in {hash}: the bytes stored under this hash hash to {}: they were replaced",
                    PluginHash::of(bytes)
                )),
                Some(bytes) => self.sandbox.load(bytes).map_err(|e| format!("plug-in {hash}: {e}")),
            };
            if let Err(why) = &loaded {
                missing.push(why.clone());
            }
            plugins.insert(hash.clone(), loaded);
        }
        Prepared { plugins: Arc::new(plugins), missing, engines: self.engine_notes(stored) }
    }

    /// Replay what arrives on `pages` until it closes, with what `prepared`
    /// holds; `progress` is told the decisions done so far.
    pub async fn replay(
        &self,
        prepared: &Prepared,
        pages: mpsc::Receiver<Vec<DecisionRow>>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let mut report =
            Report { engines: prepared.engines.clone(), missing: prepared.missing.clone(), ..Report::default() };
        let (done_tx, mut done_rx) = mpsc::channel::<Report>(self.workers * 2);
        let pages = Arc::new(Mutex::new(pages));
        let threads: Vec<_> = (0..self.workers.max(1))
            .map(|_| {
                let (pages, done, loaded) = (pages.clone(), done_tx.clone(), prepared.plugins.clone());
                tokio::task::spawn_blocking(move || replay_pages(&loaded, &pages, &done))
            })
            .collect();
        drop(done_tx);
        while let Some(page) = done_rx.recv().await {
            // Divergences are kept first by key, in bounded memory.
            report.merge(page, KEPT);
            progress(report.decisions);
        }
        for thread in threads {
            thread.await?;
        }
        report.shown.truncate(self.list);
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// The engines the decisions were made under, where they differ from this one.
    fn engine_notes(&self, stored: &Stored) -> Vec<String> {
        let here = self.sandbox.identity();
        let mut notes = Vec::new();
        for id in &stored.engine_ids {
            let Some(id) = id else {
                notes.push("some decisions were made before engines were recorded".to_owned());
                continue;
            };
            let Some(then) = stored.engines.get(id) else {
                notes.push(format!("engine {id}: its identity is not stored"));
                continue;
            };
            if EngineIdentity::id_of(then) != *id {
                notes.push(format!("engine {id}: its stored identity does not hash to its id: it was changed"));
            }
            match serde_json::from_str::<serde_json::Value>(then) {
                Err(e) => notes.push(format!("engine {id}: its stored identity is not JSON: {e}")),
                Ok(then) if then == here.to_value() => {}
                Ok(then) => notes.push(format!(
                    "decisions were made under engine {id}, replayed under {}: {}",
                    here.id(),
                    here.differences_from(&then).join(", ")
                )),
            }
        }
        notes
    }
}

/// The plug-ins and engines run `run_id`'s decisions name, from the database.
pub async fn stored_in(db: &Db, run_id: i64) -> anyhow::Result<Stored> {
    let mut stored = Stored::default();
    for (hash, engine) in decisions::artefacts(db, run_id).await? {
        if let std::collections::hash_map::Entry::Vacant(slot) = stored.plugins.entry(hash) {
            let bytes = match PluginHash::parse(slot.key()) {
                Some(parsed) => plugins::find(db, parsed).await?,
                None => None,
            };
            slot.insert(bytes);
        }
        if let Some(id) = &engine
            && !stored.engines.contains_key(id)
            && let Some(identity) = table::engine(db, id).await?
        {
            stored.engines.insert(id.clone(), identity);
        }
        stored.engine_ids.insert(engine);
    }
    Ok(stored)
}

/// Draw `sample` from run `run_id`'s decisions in the database.
pub async fn draw_in(db: &Db, run_id: i64, sample: Sample) -> anyhow::Result<HashSet<Key>> {
    let mut draw = Draw::new(sample);
    let mut after: Key = (String::new(), 0);
    let mut tx = db.snapshot().await?;
    loop {
        let page = decisions::digests_page(&mut tx, run_id, &after, PAGE).await?;
        let Some((period, beneficiary, _)) = page.last() else { break };
        after = (period.clone(), *beneficiary);
        page.into_iter().for_each(|(period, beneficiary, _)| draw.offer((period, beneficiary)));
    }
    Ok(draw.drawn())
}

/// Replay run `run_id` from the database: all its decisions, or those in `keep`.
pub async fn replay_in(
    db: &Db,
    replayer: &Replayer,
    run_id: i64,
    keep: Option<HashSet<Key>>,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Report> {
    let prepared = replayer.prepare(&stored_in(db, run_id).await?);
    let (pages, received) = mpsc::channel(replayer.workers * 2);
    let sender = tokio::spawn({
        let db = db.clone();
        async move { send_from(&db, run_id, keep.as_ref(), pages).await }
    });
    let mut report = replayer.replay(&prepared, received, progress).await?;
    let sealed = sender.await??;
    hold_to_chain(db, run_id, &sealed, &mut report).await?;
    Ok(report)
}

/// Note in `report` whether `sealed`, the chain of run `run_id`'s stored
/// digests in key order, is the one its `run.evaluate` entry recorded.
async fn hold_to_chain(db: &Db, run_id: i64, sealed: &Sealed, report: &mut Report) -> anyhow::Result<()> {
    let entries = table::about(db, &crate::trail::run_subject(run_id)).await?;
    match super::compare_chain(&entries, sealed) {
        Ok(note) => report.notes.push(note),
        Err(problem) => report.problems.push(problem),
    }
    Ok(())
}

/// Replay the decisions of one part of run `run_id` (the month `period`, the
/// beneficiaries in `range`: after, up to), reading no further page once
/// `stops` says so (then None): what a part of a replay job found, to be
/// merged ([`Report::merge`], [`seal_merged`]).
#[allow(clippy::too_many_arguments)] // the part, how it is replayed, when it stops, how it goes
pub async fn replay_range(
    db: &Db,
    replayer: &Replayer,
    prepared: &Prepared,
    run_id: i64,
    period: &str,
    range: (i64, Option<i64>),
    stops: &(dyn Fn() -> bool + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Option<Report>> {
    let (pages, received) = mpsc::channel(replayer.workers * 2);
    let sending = async move {
        let mut reader = decisions::Reader::default();
        let mut after = range.0;
        loop {
            if stops() {
                return Ok(false);
            }
            let page = reader.range(db, run_id, period, (after, range.1), PAGE).await?;
            let Some(last) = page.last() else { return Ok(true) };
            after = last.beneficiary_id;
            if pages.send(page).await.is_err() {
                return Ok(true);
            }
        }
    };
    let (whole, report) = tokio::join!(sending, replayer.replay(prepared, received, progress));
    let (whole, report): (anyhow::Result<bool>, _) = (whole, report?);
    Ok(whole?.then_some(report))
}

/// The chain of run `run_id`'s stored digests in key order, as `run.evaluate`
/// made it: what a replay done in parts holds to the recorded one
/// ([`seal_merged`]), in a pass over the digests alone, made while the parts
/// are replayed.
pub async fn chain_of(db: &Db, run_id: i64) -> anyhow::Result<Sealed> {
    let mut after: Key = (String::new(), 0);
    let mut chain = Chain::default();
    let mut tx = db.snapshot().await?;
    loop {
        let page = decisions::digests_page(&mut tx, run_id, &after, PAGE * 10).await?;
        let Some((period, beneficiary, _)) = page.last() else { return Ok(chain.seal()) };
        after = (period.clone(), *beneficiary);
        page.iter().for_each(|(_, _, digest)| chain.push_stored(digest.as_deref()));
    }
}

/// The replay of run `run_id` whose parts found `merged`, its decisions
/// chaining to `sealed` ([`chain_of`]): held to the recorded chain, as
/// [`replay_in`] does in one pass.
pub async fn seal_merged(db: &Db, run_id: i64, sealed: &Sealed, mut merged: Report) -> anyhow::Result<Report> {
    hold_to_chain(db, run_id, sealed, &mut merged).await?;
    Ok(merged)
}

/// Send run `run_id`'s decisions (those in `keep`, or all) in pages, in key
/// order; the chain of all their digests, as `run.evaluate` made it.
async fn send_from(
    db: &Db,
    run_id: i64,
    keep: Option<&HashSet<Key>>,
    pages: mpsc::Sender<Vec<DecisionRow>>,
) -> anyhow::Result<Sealed> {
    let mut after: Key = (String::new(), 0);
    let mut chain = Chain::default();
    let mut reader = decisions::Reader::default();
    loop {
        let mut page = reader.page(db, run_id, &after, PAGE).await?;
        let Some(last) = page.last() else { return Ok(chain.seal()) };
        after = (last.period.clone(), last.beneficiary_id);
        page.iter().for_each(|d| chain.push_stored(d.digest.as_deref()));
        if let Some(keep) = keep {
            page.retain(|d| keep.contains(&(d.period.clone(), d.beneficiary_id)));
        }
        if !page.is_empty() && pages.send(page).await.is_err() {
            return Ok(chain.seal());
        }
    }
}

/// Plug-ins by hash, loaded or why not.
type Loaded = HashMap<String, Result<Arc<Plugin>, String>>;

/// Replay the pages that arrive, one at a time, each sending what it found to `done`.
fn replay_pages(loaded: &Loaded, pages: &Mutex<mpsc::Receiver<Vec<DecisionRow>>>, done: &mpsc::Sender<Report>) {
    let mut escapes = Escapes::default();
    loop {
        let Some(page) = pages.lock().expect("page queue lock").blocking_recv() else { return };
        let mut tally = Report::default();
        for row in &page {
            tally.decisions += 1;
            match replay_one(loaded, row, &mut escapes) {
                Verdict::Identical => {
                    tally.replayed += 1;
                    tally.identical += 1;
                }
                Verdict::NotAsked => tally.not_asked += 1,
                Verdict::Unreplayable => tally.unreplayable += 1,
                Verdict::Deadline => tally.deadline += 1,
                Verdict::Divergent(d) => {
                    tally.replayed += u64::from(d.replayed.is_some());
                    tally.divergent += 1;
                    tally.shown.push(*d);
                }
            }
        }
        if done.blocking_send(tally).is_err() {
            return;
        }
    }
}

enum Verdict {
    Identical,
    NotAsked,
    Unreplayable,
    Deadline,
    Divergent(Box<Divergence>),
}

/// Replay one stored decision, its digest made again through `escapes`.
fn replay_one(loaded: &Loaded, row: &DecisionRow, escapes: &mut Escapes) -> Verdict {
    let mut why = Vec::new();
    match &row.digest {
        Some(digest) if *digest != row.remade_digest(escapes) => {
            why.push("the stored decision does not match its digest: it was changed after it was made".to_owned())
        }
        // Every decision made under a recorded engine was stored with a digest.
        None if row.engine.is_some() => why.push("the stored decision has no digest: it was removed".to_owned()),
        _ => {}
    }
    let stored = (stored_result(row), row.fuel);
    let divergent = |why, replayed, stored| {
        let key = (row.period.clone(), row.beneficiary_id);
        Verdict::Divergent(Box::new(Divergence { key, why, stored, replayed }))
    };
    let Some(input) = &row.input else {
        // Not given to a plug-in: only with no registry record, which the host
        // settles as not verified, owed nothing (run::decide).
        if row.output.is_some() || row.error.is_some() {
            why.push("an output is stored but no input".to_owned());
        }
        if (row.outcome.as_str(), row.amount) != (Outcome::NotVerified.as_str(), 0) {
            why.push(format!(
                "a decision no plug-in was asked for is not verified and owed nothing, but it is stored as {} {}",
                row.outcome, row.amount
            ));
        }
        return if why.is_empty() { Verdict::NotAsked } else { divergent(why, None, stored) };
    };
    let Some(Ok(plugin)) = loaded.get(&*row.plugin_hash) else { return Verdict::Unreplayable };
    let parsed: DecisionInput = match serde_json::from_str(input) {
        Ok(parsed) => parsed,
        Err(e) => {
            why.push(format!("the stored input is not a decision input: {e}"));
            return divergent(why, None, stored);
        }
    };
    if parsed.canonical_json() != *input {
        why.push("the stored input is not in canonical form".to_owned());
    }
    let evaluation = plugin.evaluate(&parsed);
    if matches!(evaluation.result, Err(PluginError::Deadline(_)))
        || row.error.as_deref().is_some_and(|e| e.starts_with(DEADLINE))
    {
        return Verdict::Deadline;
    }
    let replayed = match &evaluation.result {
        Ok(checked) => checked.json.clone(),
        Err(error) => format!("error: {error}"),
    };
    if replayed != stored.0 {
        why.push("the output differs".to_owned());
    }
    if evaluation.fuel as i64 != row.fuel {
        why.push(format!("the fuel differs: {} stored, {} now", row.fuel, evaluation.fuel));
    }
    if let Some(settled) = settled(row, &evaluation.result)
        && settled != (row.outcome.as_str(), row.amount)
    {
        why.push(format!(
            "the stored outcome ({} {}) is not what the host's rules make of this output and the checks ({} {})",
            row.outcome, row.amount, settled.0, settled.1
        ));
    }
    if why.is_empty() { Verdict::Identical } else { divergent(why, Some((replayed, evaluation.fuel)), stored) }
}

/// The outcome and amount the host's rules (`run::settle`) give the replayed
/// answer with the stored checks and channel; None if those do not parse,
/// which the digest check reports.
fn settled(row: &DecisionRow, answer: &Result<CheckedOutput, PluginError>) -> Option<(&'static str, i64)> {
    let verification: Verification = serde_json::from_str(&row.verification).ok()?;
    let channel = Channel::from_str(&row.channel).ok()?;
    let (outcome, amount) = crate::run::settle(&verification, answer, channel);
    Some((outcome.as_str(), amount as i64))
}

/// How a stored error from the wall-clock deadline begins (`PluginError::Deadline`).
const DEADLINE: &str = "ran past the wall-clock deadline";

/// What the plug-in gave, as stored: its output, or `error: ...`.
fn stored_result(row: &DecisionRow) -> String {
    match (&row.output, &row.error) {
        (Some(output), _) => output.to_string(),
        (None, Some(error)) => format!("error: {error}"),
        (None, None) => "nothing".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_draws_the_same_sample_whatever_the_order() {
        let keys: Vec<Key> = (1..=1000).map(|i| ("2026-01".to_owned(), i)).collect();
        let draw = |seed, keys: &mut dyn Iterator<Item = Key>| {
            let mut d = Draw::new(Sample { size: 25, seed });
            keys.for_each(|k| d.offer(k));
            d.drawn()
        };
        let forward = draw(7, &mut keys.clone().into_iter());
        let backward = draw(7, &mut keys.clone().into_iter().rev());
        assert_eq!(forward.len(), 25);
        assert_eq!(forward, backward);
        assert_ne!(forward, draw(8, &mut keys.clone().into_iter()));
        // Fewer decisions than asked: all of them.
        assert_eq!(draw(7, &mut keys[..10].iter().cloned()).len(), 10);
    }

    #[test]
    fn parts_merged_keep_the_first_divergences_by_key() {
        let divergence = |beneficiary| Divergence {
            key: ("2026-01".to_owned(), beneficiary),
            why: vec!["the fuel differs".to_owned()],
            stored: ("{}".to_owned(), 1),
            replayed: Some(("{}".to_owned(), 2)),
        };
        let part = |shown: Vec<i64>, missing: &str| Report {
            decisions: 10,
            replayed: 9,
            identical: 9 - shown.len() as u64,
            not_asked: 1,
            divergent: shown.len() as u64,
            shown: shown.into_iter().map(divergence).collect(),
            missing: vec![missing.to_owned()],
            ..Report::default()
        };
        let mut merged = Report::default();
        for found in [part(vec![3, 5], "plug-in x"), part(vec![], "plug-in x"), part(vec![21, 22], "plug-in y")] {
            let found: Report = serde_json::from_str(&serde_json::to_string(&found).unwrap()).unwrap();
            merged.merge(found, 3);
        }
        assert_eq!((merged.decisions, merged.replayed, merged.identical, merged.divergent), (30, 27, 23, 4));
        assert_eq!(merged.shown.iter().map(|d| d.key.1).collect::<Vec<_>>(), [3, 5, 21]);
        assert_eq!(merged.missing, ["plug-in x", "plug-in y"]);
    }

    #[test]
    fn a_job_result_reads_back_as_the_report_it_was_made_from() {
        let report = Report {
            decisions: 12,
            replayed: 10,
            identical: 9,
            not_asked: 2,
            divergent: 1,
            shown: vec![Divergence {
                key: ("2026-01".to_owned(), 7),
                why: vec!["the output differs".to_owned()],
                stored: ("{\"amount\":1}".to_owned(), 5),
                replayed: None,
            }],
            missing: vec!["plug-in x".to_owned()],
            unreplayable: 1,
            deadline: 0,
            engines: vec!["engine e".to_owned()],
            notes: vec!["chain".to_owned()],
            problems: vec!["problem".to_owned()],
            elapsed: Duration::from_secs(3),
        };
        let sample = Sample { size: 12, seed: 42 };
        let (read, drawn) = Report::from_result(&report.to_result(Some(sample)), report.elapsed);
        assert_eq!(serde_json::to_value(&read).unwrap(), serde_json::to_value(&report).unwrap());
        assert_eq!(drawn, Some(sample));
    }
}
