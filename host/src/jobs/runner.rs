//! The runner: a process's worker. Claims the oldest open job whose lease
//! has run out, does it while a heartbeat renews the lease and records
//! progress, and records how it ended; with no job to take, claims a shard
//! of any run being evaluated (`run::evaluate`) and decides it. One per
//! serving process, one per `ansinh worker`; any number of processes on any
//! machines may share a database. Asked to stop, it takes nothing more, ends
//! its shard at a batch, gives back what it holds and returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tracing::{Instrument, info, info_span, warn};

use super::Kind;
use crate::app::App;
use crate::audit::replay::{self, Replayer, Sample};
use crate::payment::outbox::Outbox;
use crate::run::{self, Crew};
use crate::store::jobs::{self, Job};
use crate::store::shards;
use crate::trail::Actor;

/// How often an idle runner looks for work.
const POLL: Duration = Duration::from_millis(500);

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
}

impl Runner {
    pub fn new(app: Arc<App>, lease: Duration, outbox: PathBuf) -> anyhow::Result<Runner> {
        let crew = Crew::new(app.workers)?.with_lease(lease);
        Ok(Runner { app, crew, outbox })
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

    /// Decide a shard of a run that another process is evaluating, if one is
    /// free: whether there was one.
    async fn share(&self) -> anyhow::Result<bool> {
        let app = &self.app;
        // A process that cannot check a release's signature cannot decide anything.
        let Ok(root) = app.config.root() else { return Ok(false) };
        let registry = app.registry()?;
        let claimed = shards::claim(&app.db, &self.crew.holder, self.crew.lease, None, run::evaluate::CLAIMS).await?;
        let Some(shard) = claimed else {
            // Nothing to decide: seal what a holder that stopped left decided but unsealed.
            let registry = || app.registry();
            for run in run::evaluate::seal_finished(&app.db, &app.sandbox, root, &registry).await? {
                info!(run, "sealed a run whose last shard's holder stopped before sealing it");
            }
            return Ok(false);
        };
        // An error goes up: the runner waits a while before it claims again.
        run::evaluate::decide_shard(&app.db, &app.sandbox, root, registry, shard, &self.crew).await?;
        Ok(true)
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
            // An evaluation's work is its shards, each with its own count of claims
            // (`run::evaluate`); the job only follows them, so its holder dying is no sign against it.
            let outcome = if job.attempts > MAX_ATTEMPTS && job.kind != Kind::EvaluateRun.as_str() {
                Err(anyhow::anyhow!(
                    "given up after {MAX_ATTEMPTS} attempts, each of which ended with the process that held it"
                ))
            } else if job.kind == Kind::EvaluateRun.as_str() {
                // An evaluation stops by itself at a batch when asked to.
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
            if let Err(error) = jobs::finish(&self.app.db, job.id, holder, outcome).await {
                warn!(error = format!("{error:#}"), "recording how the job ended");
            }
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
                let run_id = run_of()?;
                let params: DiffParams = serde_json::from_str(&job.params).context("the job's parameters")?;
                let release = crate::store::releases::get(&app.db, params.release).await?;
                let bytes = crate::store::plugins::bytes(&app.db, release.plugin_hash).await?;
                // Compiling a component takes the CPU for a while: not on the threads that serve requests.
                let loading = app.clone();
                let candidate = tokio::task::spawn_blocking(move || loading.sandbox.load(&bytes)).await??;
                let what_if = run::diff(&app.db, &app.sandbox, run_id, candidate, app.workers, 0, &tell).await?;
                what_if.record(&app.db, &by).await?;
                Ok(serde_json::json!({ "release": release.id, "what_if": what_if.summary() }))
            }
            Kind::ReplayRun => {
                let run_id = run_of()?;
                let params: ReplayParams = serde_json::from_str(&job.params).context("the job's parameters")?;
                let sample = params.sample.map(|n| Sample::new(n, params.seed)).transpose()?;
                let replayer = Replayer::new(app.sandbox.limits(), app.workers, SHOWN)?;
                let total = crate::store::decisions::count(&app.db, run_id).await? as u64;
                let keep = match sample {
                    Some(sample) => Some(replay::draw_in(&app.db, run_id, sample).await?),
                    None => None,
                };
                let expected = keep.as_ref().map_or(total, |keep| keep.len() as u64);
                let report = replay::replay_in(&app.db, &replayer, run_id, keep, &|done| tell(done, expected)).await?;
                let shown: Vec<serde_json::Value> = report
                    .shown
                    .iter()
                    .map(|d| serde_json::json!({ "period": d.key.0, "beneficiary": d.key.1, "why": d.why }))
                    .collect();
                Ok(serde_json::json!({
                    "identical": report.identical(),
                    "sample": sample.map(|s| serde_json::json!({ "size": s.size, "seed": s.seed })),
                    "decisions": report.decisions,
                    "replayed": report.replayed,
                    "same": report.identical,
                    "not_asked": report.not_asked,
                    "divergent": report.divergent,
                    "deadline": report.deadline,
                    "unreplayable": report.unreplayable,
                    "first_divergent": shown,
                    "missing": report.missing,
                    "notes": report.notes,
                    "problems": report.problems,
                    "engines": report.engines,
                }))
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
                let issued = run::issue(&app.db, run_id, &outbox, &app.config, &by).await?;
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
                tell(files.len() as u64, files.len() as u64);
                Ok(serde_json::json!({ "files": files }))
            }
        }
    }
}

/// The process was asked to stop before the job ended: it is given back, not failed.
#[derive(Debug, thiserror::Error)]
#[error("stopped before the end; given back to be done by the next claim")]
struct Stopped;

/// Divergent decisions a replay's result lists.
const SHOWN: usize = 20;

/// What a what-if asks: the release whose plug-in is the candidate.
#[derive(serde::Deserialize)]
struct DiffParams {
    release: i64,
}

/// What a replay replays: all, or a sample (drawn again from its seed).
#[derive(serde::Deserialize)]
struct ReplayParams {
    sample: Option<u64>,
    seed: Option<u64>,
}

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
