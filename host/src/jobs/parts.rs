//! Parts: a long read-only job (a full `audit.replay`, a `run.diff`) shared
//! by every worker of the database, as an evaluation is by its shards.
//!
//! ```text
//!  job holder: cut the run's decisions ──▶ job_parts ◀── any worker, idle:
//!  into parts (store::parts), then do     (leased)      claim a part, do it,
//!  parts itself; once all are finished,                 record what it found
//!  merge what they found, in order
//! ```
//!
//! A part is a range of one month's decisions; what it found (a replay's
//! counts and first divergences, a what-if's counts, totals and first people)
//! is stored with it as JSON. Parts are read-only, so one whose holder died
//! is simply done again by whoever claims it once its lease runs out; the job
//! holder that dies leaves the finished parts for the next holder of the job.
//! The merge is what one pass in key order finds (`Report::merge`,
//! `Changes::merge`), and a replay's chain of digests is held to the
//! recorded one in a pass over the digests alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use tracing::{Instrument, info, info_span};

use super::Kind;
use crate::app::App;
use crate::audit::replay::{self, Prepared, Replayer, Report};
use crate::run::Crew;
use crate::run::diff::{self, Changes, WhatIf};
use crate::run::evaluate::{CLAIMS, FAILED_ATTEMPTS, shard_size};
use crate::store::jobs::Job;
use crate::store::lease::{self, Cut};
use crate::store::parts::{self, Part};
use crate::store::{decisions, runs};
use ansinh_sandbox::Plugin;

/// How often a job's holder with no part to claim looks again at where its parts stand.
const POLL: Duration = Duration::from_millis(250);

/// What a process needs to do parts of one job: made once per job and kept,
/// since compiling a plug-in takes a while.
pub struct Tools {
    job_id: i64,
    run_id: i64,
    work: Work,
}

enum Work {
    /// A replay: a fresh sandbox (no machine code from disk), the run's plug-ins loaded in it.
    Replay { replayer: Arc<Replayer>, prepared: Prepared },
    /// A what-if: the candidate release's plug-in.
    Diff { candidate: Arc<Plugin> },
}

/// What a what-if job asks: the release whose plug-in is the candidate.
#[derive(serde::Deserialize)]
pub struct DiffParams {
    pub release: i64,
}

/// What a replay job replays: all, or a sample (drawn again from its seed).
#[derive(serde::Deserialize)]
pub struct ReplayParams {
    pub sample: Option<u64>,
    pub seed: Option<u64>,
}

/// Whether `job` is done in parts by every worker: a what-if, or a replay of
/// every decision (a sample is small, and drawn in one pass: one process does it).
pub fn in_parts(job: &Job) -> bool {
    match Kind::parse(&job.kind) {
        Some(Kind::DiffRun) => true,
        Some(Kind::ReplayRun) => serde_json::from_str::<ReplayParams>(&job.params).is_ok_and(|p| p.sample.is_none()),
        _ => false,
    }
}

impl Tools {
    /// The tools for `job`, made in `app`; a replay lists its first `list` divergences.
    pub async fn make(app: &Arc<App>, job: &Job, list: usize) -> anyhow::Result<Tools> {
        let run_id = super::run_of(job).with_context(|| format!("job {}: no run in {:?}", job.id, job.subject))?;
        let work = match Kind::parse(&job.kind) {
            Some(Kind::ReplayRun) => {
                let stored = replay::stored_in(&app.db, run_id).await?;
                let replayer = Arc::new(Replayer::new(app.sandbox.limits(), app.workers, list)?);
                // Compiling takes the CPU for a while: not on the threads that serve requests.
                let compiling = replayer.clone();
                let prepared = tokio::task::spawn_blocking(move || compiling.prepare(&stored)).await?;
                Work::Replay { replayer, prepared }
            }
            Some(Kind::DiffRun) => {
                let params: DiffParams = serde_json::from_str(&job.params).context("the job's parameters")?;
                let release = crate::store::releases::get(&app.db, params.release).await?;
                let bytes = crate::store::plugins::bytes(&app.db, release.plugin_hash).await?;
                let loading = app.clone();
                let candidate = tokio::task::spawn_blocking(move || loading.sandbox.load(&bytes)).await??;
                Work::Diff { candidate }
            }
            _ => anyhow::bail!("job {} ({}) is not done in parts", job.id, job.kind),
        };
        Ok(Tools { job_id: job.id, run_id, work })
    }

    pub fn job_id(&self) -> i64 {
        self.job_id
    }
}

/// Cut `job`'s run into parts, unless it is cut already: each month's
/// decisions in ranges of beneficiary ids, the last of each month unbounded.
async fn plan(app: &App, job: &Job, run_id: i64) -> anyhow::Result<()> {
    let db = &app.db;
    if parts::planned(db, job.id).await? {
        return Ok(());
    }
    let run = runs::get(db, run_id).await?;
    let size = shard_size(decisions::count(db, run_id).await?);
    let mut cuts = Vec::new();
    for month in run.months() {
        let period = month.to_string();
        cuts.extend(Cut::month(&period, &decisions::cuts(db, run_id, &period, size).await?));
    }
    if parts::plan(db, job.id, &cuts).await? {
        info!(parts = cuts.len(), size, "cut into parts");
    }
    Ok(())
}

/// Do `job`, held by this process, in parts alongside every other worker:
/// cut it, do parts until none is left, and give what they found, in
/// order; None when asked to stop (the part held is given back).
async fn share(
    app: &App,
    crew: &Crew,
    job: &Job,
    tools: &Tools,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Option<Vec<String>>> {
    plan(app, job, tools.run_id).await?;
    let total = decisions::count(&app.db, tools.run_id).await? as u64;
    loop {
        if crew.stopping() {
            return Ok(None);
        }
        let standing = parts::standing(&app.db, job.id, CLAIMS).await?;
        progress(standing.decided as u64, total);
        if let Some(part) = parts::claim(&app.db, &crew.holder, crew.lease, Some(job.id), CLAIMS).await? {
            work(app, crew, part, tools).await?;
            continue;
        }
        if standing.finished == standing.shards {
            progress(total, total);
            return Ok(Some(parts::results(&app.db, job.id).await?));
        }
        standing.stuck(&app.db, &parts::PARTS, job.id, FAILED_ATTEMPTS, CLAIMS).await?;
        // Others hold what is left: wait for them, or for their leases to run out.
        crew.sleep(POLL).await;
    }
}

/// A full replay of run `run_id` as job `job`, in parts: the report, its
/// chain held to the recorded one; None when asked to stop.
pub async fn replay(
    app: &App,
    crew: &Crew,
    job: &Job,
    tools: &Tools,
    list: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Option<Report>> {
    // The chain of the run's digests is made while the parts are replayed.
    let (found, sealed) = tokio::join!(share(app, crew, job, tools, progress), replay::chain_of(&app.db, tools.run_id));
    let Some(found) = found? else { return Ok(None) };
    let mut merged = Report::default();
    for (seq, part) in found.into_iter().enumerate() {
        let part: Report = serde_json::from_str(&part).with_context(|| format!("reading part {seq}'s replay"))?;
        merged.merge(part, list);
    }
    covered(app, tools.run_id, merged.decisions as i64).await?;
    Ok(Some(replay::seal_merged(&app.db, tools.run_id, &sealed?, merged).await?))
}

/// The what-if of job `job` (the candidate in `tools`), in parts; None when asked to stop.
pub async fn what_if(
    app: &App,
    crew: &Crew,
    job: &Job,
    tools: &Tools,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Option<WhatIf>> {
    let Work::Diff { candidate } = &tools.work else { anyhow::bail!("job {} is not a what-if", job.id) };
    // Refused before any part is cut, as `run diff` refuses it.
    let (run, plugin) = diff::check(&app.db, &app.sandbox, tools.run_id, candidate).await?;
    let Some(found) = share(app, crew, job, tools, progress).await? else { return Ok(None) };
    let mut changes = Changes::default();
    for (seq, part) in found.into_iter().enumerate() {
        let part: Changes = serde_json::from_str(&part).with_context(|| format!("reading part {seq}'s what-if"))?;
        changes.merge(part, 0);
    }
    covered(app, tools.run_id, changes.decisions).await?;
    Ok(Some(WhatIf::new(run, plugin, candidate, changes)))
}

/// Check that the parts, merged, looked at every decision of run `run_id` once.
async fn covered(app: &App, run_id: i64, looked_at: i64) -> anyhow::Result<()> {
    let decisions = decisions::count(&app.db, run_id).await?;
    anyhow::ensure!(
        looked_at == decisions,
        "the parts looked at {looked_at} decisions of run {run_id}, which has {decisions}: a part's range was lost \
         or doubled; ask again"
    );
    Ok(())
}

/// Do `part` with `tools` (made for its job), under its lease: record what
/// it found, or give it back (stopped, its lease lost, or failed: then with why).
pub async fn work(app: &App, crew: &Crew, part: Part, tools: &Tools) -> anyhow::Result<()> {
    let span = info_span!("part", job = part.job_id, part = part.id, period = %part.period, seq = part.seq,
                          attempt = part.attempts);
    async {
        let db = &app.db;
        let made = Arc::new(AtomicU64::new(0));
        let halt = Arc::new(AtomicBool::new(false));
        let (holder, lease) = (crew.holder.clone(), crew.lease);
        let heartbeat = tokio::spawn(
            lease::keep(db.clone(), &parts::PARTS, part.id, holder, lease, 0, made.clone(), halt.clone())
                .in_current_span(),
        );
        let stops = || crew.stopping() || halt.load(Ordering::SeqCst);
        let progress = |done| made.store(done, Ordering::Relaxed);
        let range = (part.after_id, part.upto_id);
        let (run_id, period) = (tools.run_id, part.period.as_str());
        let found: anyhow::Result<Option<String>> = async {
            Ok(match &tools.work {
                Work::Replay { replayer, prepared } => {
                    replay::replay_range(db, replayer, prepared, run_id, period, range, &stops, &progress)
                        .await?
                        .map(|report| serde_json::to_string(&report))
                        .transpose()?
                }
                Work::Diff { candidate } => {
                    diff::ask_range(db, run_id, period, range, candidate, crew.threads, 0, &stops, &progress)
                        .await?
                        .map(|changes| serde_json::to_string(&changes))
                        .transpose()?
                }
            })
        }
        .await;
        heartbeat.abort();
        let done = made.load(Ordering::Relaxed) as i64;
        match found {
            Ok(Some(found)) => {
                parts::finish(db, part.id, &crew.holder, done, &found).await?;
                info!(done, "finished");
                Ok(())
            }
            Ok(None) => {
                parts::give_back(db, part.id, &crew.holder, None, crew.lease).await?;
                info!(done, "given back");
                Ok(())
            }
            Err(error) => {
                parts::give_back(db, part.id, &crew.holder, Some(&format!("{error:#}")), crew.lease).await?;
                Err(error)
            }
        }
    }
    .instrument(span)
    .await
}
