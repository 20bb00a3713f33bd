//! The runner: a process's worker. Claims the oldest open job whose lease
//! has run out, does it while a heartbeat renews the lease and records
//! progress, and records how it ended; with no job to take, claims a shard
//! of any run being evaluated (`run::evaluate`) and decides it, or a part of
//! any replay or what-if (`jobs::parts`) and does it. One per
//! serving process, one per `ansinh worker`; any number of processes on any
//! machines may share a database. Asked to stop, it takes nothing more, ends
//! its shard at a batch, gives back what it holds and returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tracing::{Instrument, info, info_span, warn};

use super::Kind;
use super::parts::{self, DiffParams, ReplayParams, Tools};
use crate::app::App;
use crate::audit::replay::{self, Replayer, Sample};
use crate::payment::outbox::Outbox;
use crate::run::{self, Crew};
use crate::store::jobs::{self, Job};
use crate::store::parts as job_parts;
use crate::store::shards;
use crate::trail::Actor;

/// How often an idle runner looks for work.
const POLL: Duration = Duration::from_millis(500);

/// Idle polls between two looks for runs whose shards are all decided but that no one sealed.
const SEAL_EVERY: u32 = 20;

/// Claims of one job after which it is given up: each ended with the process
/// that held it, so the job itself is likely what kills it.
pub const MAX_ATTEMPTS: i64 = 5;

/// Does the jobs, and shares the evaluations, of one process.
pub struct Runner {
    app: Arc<App>,
    /// Its threads, its name in `lease_owner`, its leases (jobs' and shards'), and its stop.
    crew: Crew,
    /// Where `run.issue` writes payment files.
    outbox: PathBuf,
    /// What doing parts of the last job it did parts of takes (a plug-in compiled): kept for its next part.
    tools: tokio::sync::Mutex<Option<Arc<Tools>>>,
    /// Idle polls so far.
    idle: AtomicU32,
}

impl Runner {
    pub fn new(app: Arc<App>, lease: Duration, outbox: PathBuf) -> anyhow::Result<Runner> {
        let crew = Crew::new(app.workers)?.with_lease(lease);
        Ok(Runner { app, crew, outbox, tools: tokio::sync::Mutex::new(None), idle: AtomicU32::new(0) })
    }

    /// Its crew: [`Crew::stop`] on it makes [`Runner::run`] return once what it holds is given back.
    pub fn crew(&self) -> &Crew {
        &self.crew
    }

    /// Work until stopped: a job at a time, as they come, and shards of runs between them.
    pub async fn run(self) {
        let holder = self.crew.holder.clone();
        info!(holder, threads = self.crew.threads, "worker started");
        while !self.crew.stopping() {
            let worked = match jobs::claim(&self.app.db, &holder, self.crew.lease).await {
                Ok(Some(job)) => {
                    self.work(job).await;
                    Ok(true)
                }
                Ok(None) => self.share().await,
                Err(error) => Err(error),
            };
            match worked {
                Ok(true) => {}
                Ok(false) => self.crew.sleep(POLL).await,
                Err(error) => {
                    warn!(error = format!("{error:#}"), "claiming work");
                    self.crew.sleep(POLL * 4).await;
                }
            }
        }
        info!(holder, "worker stopped");
    }

    /// Decide a shard of a run that another process is evaluating, or do a
    /// part of a job that another holds, if one is free: whether there was one.
    async fn share(&self) -> anyhow::Result<bool> {
        let app = &self.app;
        let (db, holder, lease) = (&app.db, &self.crew.holder, self.crew.lease);
        // A process that cannot check a release's signature cannot decide anything.
        let root = app.config.root().ok();
        if let Some(root) = root
            && let Some(shard) = shards::claim(db, holder, lease, None, run::evaluate::CLAIMS).await?
        {
            // An error goes up: the runner waits a while before it claims again.
            run::evaluate::decide_shard(db, &app.sandbox, root, app.registry()?, shard, &self.crew).await?;
            return Ok(true);
        }
        if let Some(job_id) = job_parts::next_job(db, run::evaluate::CLAIMS).await? {
            let Some(job) = jobs::get(db, job_id).await?.filter(|job| job.finished_at.is_none()) else {
                // Its job ended (failed) before every part was done: nothing wants them.
                job_parts::close(db, job_id).await?;
                return Ok(true);
            };
            // The tools first (a plug-in compiled), then the claim: a part is held only while it is done.
            let tools = self.tools(&job).await?;
            if let Some(part) = job_parts::claim(db, holder, lease, Some(job_id), run::evaluate::CLAIMS).await? {
                parts::work(app, &self.crew, part, &tools).await?;
            }
            return Ok(true);
        }
        // Nothing to do: now and then, seal what a holder that stopped left decided but unsealed.
        if let Some(root) = root
            && self.idle.fetch_add(1, Ordering::Relaxed).is_multiple_of(SEAL_EVERY)
        {
            let registry = || app.registry();
            for run in run::evaluate::seal_finished(db, &app.sandbox, root, &registry).await? {
                info!(run, "sealed a run whose last shard's holder stopped before sealing it");
            }
        }
        Ok(false)
    }

    /// The tools for doing parts of `job`: those kept, if they are its, else made (and kept).
    async fn tools(&self, job: &Job) -> anyhow::Result<Arc<Tools>> {
        let mut kept = self.tools.lock().await;
        if let Some(tools) = kept.as_ref().filter(|tools| tools.job_id() == job.id) {
            return Ok(tools.clone());
        }
        *kept = None;
        let tools = Arc::new(Tools::make(&self.app, job, SHOWN).await?);
        *kept = Some(tools.clone());
        Ok(tools)
    }

    async fn work(&self, job: Job) {
        let span = info_span!("job", job = job.id, kind = %job.kind, subject = %job.subject, attempt = job.attempts);
        async {
            info!("claimed");
            let started = Instant::now();
            let holder = &self.crew.holder;
            let progress = Arc::new((AtomicU64::new(job.done as u64), AtomicU64::new(job.total as u64)));
            let heartbeat =
                tokio::spawn(beat(self.app.clone(), job.id, holder.clone(), self.crew.lease, progress.clone()));
            // An evaluation's work is its shards, and a replay's or what-if's its parts, each with
            // its own count of claims; the job only follows them, so its holder dying is less of a
            // sign against it: an evaluation is never given up for it, a job in parts (whose holder
            // also compiles, checks and merges) after as many claims as a part.
            let in_parts = parts::in_parts(&job);
            let shared = job.kind == Kind::EvaluateRun.as_str() || in_parts;
            let most = if in_parts { run::evaluate::CLAIMS } else { MAX_ATTEMPTS };
            let outcome = if job.attempts > most && job.kind != Kind::EvaluateRun.as_str() {
                Err(anyhow::anyhow!(
                    "given up after {most} attempts, each of which ended with the process that held it"
                ))
            } else if shared {
                // Shards and parts stop by themselves at a page when asked to, and are given back.
                self.execute(&job, &progress).await
            } else {
                // The others are resumable from the start: when asked to stop, drop them.
                tokio::select! {
                    outcome = self.execute(&job, &progress) => outcome,
                    () = self.crew.stopped() => Err(anyhow::anyhow!(Stopped)),
                }
            };
            heartbeat.abort();
            let (done, total) = (progress.0.load(Ordering::Relaxed), progress.1.load(Ordering::Relaxed));
            let _ = jobs::beat(&self.app.db, job.id, holder, self.crew.lease, done as i64, total as i64).await;
            if outcome.as_ref().is_err_and(|error| error.is::<Stopped>()) {
                info!(done, "stopped: given back");
                if let Err(error) = jobs::give_back(&self.app.db, job.id, holder).await {
                    warn!(error = format!("{error:#}"), "giving the job back");
                }
                return;
            }
            let outcome = outcome.map(|result| result.to_string()).map_err(|error| format!("{error:#}"));
            crate::metrics::job_ended(&job.kind, outcome.is_ok(), started.elapsed());
            match &outcome {
                Ok(_) => info!(done, "done"),
                Err(error) => warn!(error, "failed"),
            }
            let failed = outcome.is_err();
            let ended = jobs::finish(&self.app.db, job.id, holder, outcome).await;
            if let Err(error) = &ended {
                warn!(error = format!("{error:#}"), "recording how the job ended");
            }
            // A job that failed leaves parts no one wants any more; only while this process still
            // held it, so that it never closes the parts of a job that another holds now.
            if failed
                && shared
                && matches!(ended, Ok(true))
                && let Err(error) = job_parts::close(&self.app.db, job.id).await
            {
                warn!(error = format!("{error:#}"), "closing the job's parts");
            }
            self.tools.lock().await.take_if(|tools| tools.job_id() == job.id);
        }
        .instrument(span)
        .await
    }

    async fn execute(&self, job: &Job, progress: &Arc<(AtomicU64, AtomicU64)>) -> anyhow::Result<serde_json::Value> {
        let app = &self.app;
        let by: Actor = serde_json::from_str(&job.actor).context("the job's actor")?;
        let tell = |done: u64, total: u64| {
            progress.0.store(done, Ordering::Relaxed);
            progress.1.store(total, Ordering::Relaxed);
        };
        let kind = Kind::parse(&job.kind).with_context(|| format!("job {}: unknown kind {:?}", job.id, job.kind))?;
        let run_of = || super::run_of(job).with_context(|| format!("job {}: no run in {:?}", job.id, job.subject));
        match kind {
            Kind::VerifyAudit => {
                let verified = crate::audit::verify::verify(&app.db, app.config.root().ok(), &[], &|done| {
                    progress.0.store(done, Ordering::Relaxed);
                })
                .await?;
                let shown: Vec<&String> = verified.problems.iter().take(20).collect();
                Ok(serde_json::json!({
                    "verified": verified.ok(),
                    "entries": verified.entries,
                    "tip": { "seq": verified.tip.0, "hash": verified.tip.1 },
                    "runs": verified.runs_covered,
                    "decisions": verified.decisions,
                    "files": verified.files,
                    "problems": verified.problems.len(),
                    "first_problems": shown,
                }))
            }
            Kind::EvaluateRun => {
                let run_id = run_of()?;
                let root = app.config.root()?;
                let registry = app.registry()?;
                let evaluated =
                    run::evaluate(&app.db, &app.sandbox, root, registry, run_id, &self.crew, &by, &tell).await?;
                anyhow::ensure!(!evaluated.stopped, Stopped);
                Ok(serde_json::json!({ "decided": evaluated.decided }))
            }
            Kind::DiffRun => {
                let params: DiffParams = serde_json::from_str(&job.params).context("the job's parameters")?;
                let tools = self.tools(job).await?;
                let what_if = parts::what_if(app, &self.crew, job, &tools, &tell).await?;
                let what_if = what_if.ok_or(Stopped)?;
                what_if.record(&app.db, &by).await?;
                Ok(serde_json::json!({ "release": params.release, "what_if": what_if.summary() }))
            }
            Kind::ReplayRun => {
                let run_id = run_of()?;
                let params: ReplayParams = serde_json::from_str(&job.params).context("the job's parameters")?;
                let report = match params.sample {
                    None => {
                        let tools = self.tools(job).await?;
                        let report = parts::replay(app, &self.crew, job, &tools, SHOWN, &tell).await?;
                        (report.ok_or(Stopped)?, None)
                    }
                    // A sample is done by its holder alone (again from the start if it stops).
                    Some(size) => {
                        let sample = Sample::new(size, params.seed)?;
                        (self.replay_sample(run_id, sample, &tell).await?, Some(sample))
                    }
                };
                let (report, sample) = report;
                Ok(report.to_result(sample))
            }
            Kind::ExportRun => {
                let run_id = run_of()?;
                let key = app.config.person_key()?;
                let dir = super::exports(&self.outbox)?;
                let name = super::export_name(run_id, job.id);
                let exported = crate::audit::bundle::export(&app.db, run_id, key, &dir.join(&name), &by).await?;
                tell(exported.decisions, exported.decisions);
                Ok(serde_json::json!({
                    "file": name,
                    "bytes": exported.bytes,
                    "decisions": exported.decisions,
                    "sha256": exported.sha256,
                }))
            }
            Kind::IssueRun => {
                let run_id = run_of()?;
                let outbox = Outbox::open(&self.outbox)?;
                let issued = run::issue(&app.db, run_id, &outbox, &app.config, &by, &tell).await?;
                let files: Vec<serde_json::Value> = issued
                    .files
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "kind": f.kind,
                            "name": f.path.file_name().map(|n| n.to_string_lossy().into_owned()),
                            "lines": f.lines,
                            "total": f.total,
                            "sha256": f.sha256,
                        })
                    })
                    .collect();
                Ok(serde_json::json!({ "files": files }))
            }
        }
    }
}

impl Runner {
    /// Replay `sample` of run `run_id`'s decisions in this process.
    async fn replay_sample(
        &self,
        run_id: i64,
        sample: Sample,
        tell: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<replay::Report> {
        let app = &self.app;
        let replayer = Replayer::new(app.sandbox.limits(), app.workers, SHOWN)?;
        let keep = replay::draw_in(&app.db, run_id, sample).await?;
        let expected = keep.len() as u64;
        replay::replay_in(&app.db, &replayer, run_id, Some(keep), &|done| tell(done, expected)).await
    }
}

/// The process was asked to stop before the job ended: it is given back, not failed.
#[derive(Debug, thiserror::Error)]
#[error("stopped before the end; given back to be done by the next claim")]
struct Stopped;

/// Divergent decisions a replay's result lists.
const SHOWN: usize = 20;

/// Renew the lease and record progress, three times a lease, until aborted.
async fn beat(app: Arc<App>, id: i64, holder: String, lease: Duration, progress: Arc<(AtomicU64, AtomicU64)>) {
    let mut every = tokio::time::interval(lease / 3);
    every.tick().await;
    loop {
        every.tick().await;
        let (done, total) = (progress.0.load(Ordering::Relaxed) as i64, progress.1.load(Ordering::Relaxed) as i64);
        match jobs::beat(&app.db, id, &holder, lease, done, total).await {
            Ok(true) => {}
            Ok(false) => warn!("the job's lease was lost: another process holds it now"),
            Err(error) => warn!(error = format!("{error:#}"), "heartbeat"),
        }
    }
}
