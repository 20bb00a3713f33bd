//! `run evaluate`: decide every beneficiary of a run, shard by shard, in a
//! pipeline, with any number of processes sharing the run.
//!
//! A run is cut once into shards (`store::shards`: ranges of beneficiaries,
//! [`SHARDS`] a month or so); every process that evaluates (`run evaluate`,
//! a job of `serve` or `ansinh worker`) claims a shard under a lease, decides
//! it, marks it finished and claims the next; whoever finishes the last one
//! seals the run. One process alone simply decides every shard in turn.
//!
//! ```text
//!  reader (async) ──pages──▶ workers (threads, one fresh ──decisions──▶ writer (async, batch
//!  a shard's pending         plug-in instance per         and digests   INSERT, each repeated
//!  beneficiaries + one       decision; its digest; its                  text once)
//!  registry lookup per page  input packed)
//! ```
//!
//! Channels are bounded, so memory holds a few pages whatever the run's size.
//! The writer commits what the workers decided while it wrote, up to
//! [`PER_TRANSACTION`] decisions in one transaction; a process killed at any
//! point leaves its shard to be claimed again once its lease runs out, and
//! the next holder goes on from there, because the reader only sees
//! beneficiaries with no decision yet and a decision, once stored, is never
//! replaced (the unique key on run, month and beneficiary). A process asked
//! to stop ([`Crew::stop`]) reads no more pages, writes what it decided, and
//! gives its shard back at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;
use tracing::{Instrument, info, info_span};

use crate::config::TrustRoot;
use crate::model::Month;
use crate::registry::Registry;
use crate::release;
use crate::store::beneficiaries::{self, Pending, Scope};
use crate::store::decisions::{Decided, Writer};
use crate::store::lease::Cut;
use crate::store::packed::Packer;
use crate::store::runs::{self, Run, RunStatus};
use crate::store::shards::{self, Shard};
use crate::store::{self, Db, lease, releases};
use crate::trail::{self, Actor};
use ansinh_sandbox::{Plugin, Sandbox};

use super::decide::decide;

/// Beneficiaries per page read.
const PAGE: i64 = 500;

/// Decisions written in one transaction at most: the pages decided while the
/// last was written, so that the writer keeps up, and short enough that a
/// SQLite writer holds the database well under a second.
const PER_TRANSACTION: usize = 5000;

/// Shards a month of a run is cut into, about: enough for a few dozen
/// processes to share it, few enough that a process restarts its pipeline
/// rarely (each shard drains it once).
const SHARDS: i64 = 64;

/// The fewest and most beneficiaries a shard holds (a small run has fewer
/// shards; the country's largest province has more).
const SHARD_SIZE: (i64, i64) = (1_000, 50_000);

/// How many of `n` (beneficiaries, decisions) a shard of work holds: [`SHARDS`] of them, within [`SHARD_SIZE`].
pub fn shard_size(n: i64) -> i64 {
    (n / SHARDS).clamp(SHARD_SIZE.0, SHARD_SIZE.1)
}

/// How often a process with no shard to claim looks again at where the run stands.
const POLL: Duration = Duration::from_millis(250);

/// Claims of a shard that failed with an error after which the evaluation gives up with it.
pub const FAILED_ATTEMPTS: i64 = 3;

/// Claims of a shard after which it is claimed no more, and the evaluation gives up,
/// though none reported an error: each ended with the process that held it, so the
/// shard is likely what kills them (a clean stop gives a shard back uncounted).
pub const CLAIMS: i64 = 12;

/// How one process takes part in evaluations: its threads, its name among
/// the processes sharing the database, how long its claim on a shard lasts
/// without a heartbeat, and whether it has been asked to stop.
#[derive(Clone, Debug)]
pub struct Crew {
    pub threads: usize,
    /// This process's name in `lease_owner` (of shards and jobs): unique among those sharing the database.
    pub holder: String,
    pub lease: Duration,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Crew {
    /// `threads` deciding, claims of 30 seconds.
    pub fn new(threads: usize) -> anyhow::Result<Crew> {
        let mut nonce = [0u8; 4];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness for this process's name: {e}"))?;
        let holder = format!("pid {} · {}", std::process::id(), hex::encode(nonce));
        let stop = Arc::new(tokio::sync::watch::Sender::new(false));
        Ok(Crew { threads: threads.max(1), holder, lease: Duration::from_secs(30), stop })
    }

    /// The same, with claims of `lease`.
    pub fn with_lease(self, lease: Duration) -> Crew {
        Crew { lease, ..self }
    }

    /// Stop at the next page: what is decided is written, shards are given back.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Once asked to stop.
    pub async fn stopped(&self) {
        let mut asked = self.stop.subscribe();
        let _ = asked.wait_for(|stop| *stop).await;
    }

    /// Wait `time`, or less if asked to stop meanwhile.
    pub async fn sleep(&self, time: Duration) {
        tokio::select! {
            () = tokio::time::sleep(time) => {}
            () = self.stopped() => {}
        }
    }
}

/// What an evaluation did.
#[derive(Clone, Debug)]
pub struct Evaluated {
    /// Decisions made now by this process (0 when the run was already evaluated).
    pub decided: u64,
    pub elapsed: Duration,
    /// Asked to stop before the run was sealed: its shards were given back.
    pub stopped: bool,
}

/// Decide every beneficiary of `run_id` that has no decision yet, verified against `registry`,
/// with `crew`'s threads alongside any other process evaluating it, as `by`; `progress` is
/// told the number decided so far (by all) and the total.
#[allow(clippy::too_many_arguments)] // where the rules come from, the run, who acts and how it goes
pub async fn evaluate(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    registry: Arc<dyn Registry>,
    run_id: i64,
    crew: &Crew,
    by: &Actor,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Evaluated> {
    let started = Instant::now();
    let run = runs::get(db, run_id).await?;
    let span = info_span!("run", run = run.id, program = %run.program, province = %run.province, period = %run.period);
    async {
        if run.status == RunStatus::Cancelled {
            anyhow::bail!("run {} was cancelled; make a new run with `ansinh run create`", run.id);
        }
        if run.status != RunStatus::Created {
            info!(status = run.status.as_str(), "already evaluated: nothing to do");
            return Ok(Evaluated { decided: 0, elapsed: started.elapsed(), stopped: false });
        }
        // Evaluated from tables that hold whole files: the pages read as an
        // import commits its next parts see those too, as they would see a
        // whole file imported meanwhile, but never a file's first part alone.
        crate::import::ensure_none_loading(db).await?;
        let ready = Ready::prepare(db, sandbox, root, registry, &run).await?;
        let mut total = 0;
        for month in run.months() {
            total += beneficiaries::count_pending(db, scope(&run, month, None)).await?;
        }
        plan(db, &run, by).await?;
        // Asked for by a person (here, or as a job): what failed before is tried again now.
        let retried = shards::retry_failed(db, run.id).await?;
        if retried > 0 {
            info!(shards = retried, "shards that failed before are tried again");
        }
        let base = shards::standing(db, run.id, CLAIMS).await?.decided;
        info!(pending = total, plugin = %ready.plugin.hash(), registry = %ready.source, threads = crew.threads,
              "evaluating");
        let mut decided = 0;
        loop {
            if crew.stopping() {
                info!(decided, "stopped: shards given back");
                return Ok(Evaluated { decided, elapsed: started.elapsed(), stopped: true });
            }
            let standing = shards::standing(db, run.id, CLAIMS).await?;
            let others = (standing.decided - base).max(0) as u64;
            progress(others, total);
            if let Some(shard) = shards::claim(db, &crew.holder, crew.lease, Some(run.id), CLAIMS).await? {
                let progress = |done| progress(others + done, total);
                decided += ready.decide_shard(db, &run, shard, crew, &progress).await?;
                continue;
            }
            if standing.finished == standing.shards {
                break;
            }
            standing
                .stuck(db, &shards::SHARDS, run.id, FAILED_ATTEMPTS, CLAIMS)
                .await
                .with_context(|| format!("run {}", run.id))?;
            // Others hold what is left: wait for them, or for their leases to run out.
            crew.sleep(POLL).await;
        }
        ready.seal(db, &run, by).await?;
        let elapsed = started.elapsed();
        info!(decided, seconds = elapsed.as_secs_f64(), "evaluated");
        Ok(Evaluated { decided, elapsed, stopped: false })
    }
    .instrument(span)
    .await
}

/// Decide `shard`, claimed by `crew` from the shards of any run (`ansinh
/// worker`): its run's plug-in loaded and checked as [`evaluate`] does, and
/// the run sealed if this was its last shard. Decisions made.
pub async fn decide_shard(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    registry: Arc<dyn Registry>,
    shard: Shard,
    crew: &Crew,
) -> anyhow::Result<u64> {
    let run = runs::get(db, shard.run_id).await?;
    let span = info_span!("run", run = run.id, program = %run.program, province = %run.province, period = %run.period);
    async {
        if run.status != RunStatus::Created {
            // Sealed or cancelled since it was cut: nothing of it is left to decide.
            shards::finish(db, shard.id, &crew.holder, shard.decided).await?;
            return Ok(0);
        }
        let prepared = Ready::prepare(db, sandbox, root, registry, &run).await;
        let ready = match prepared {
            Ok(ready) => ready,
            Err(error) => {
                // This process cannot decide the run (its configuration, its registry): the shard
                // goes back at once, uncounted and with no error of its own, to a process that can.
                shards::give_back(db, shard.id, &crew.holder, shard.decided, None, crew.lease).await?;
                return Err(error.context(format!("this process cannot decide run {}", run.id)));
            }
        };
        let actor: Actor = serde_json::from_str(&shard.actor).context("the shard's actor")?;
        let decided = ready.decide_shard(db, &run, shard, crew, &|_| {}).await?;
        if !crew.stopping() {
            ready.seal_if_decided(db, &run, &actor).await?;
        }
        Ok(decided)
    }
    .instrument(span)
    .await
}

/// Seal the runs whose shards are all finished but which are still being
/// evaluated: their last shard's holder died (or stopped, or failed) between
/// finishing it and sealing. Each as who asked for its evaluation. The runs sealed.
pub async fn seal_finished(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    registry: &(dyn Fn() -> anyhow::Result<Arc<dyn Registry>> + Sync),
) -> anyhow::Result<Vec<i64>> {
    let mut sealed = Vec::new();
    for (run_id, actor) in shards::decided_unsealed(db).await? {
        let run = runs::get(db, run_id).await?;
        let span =
            info_span!("run", run = run.id, program = %run.program, province = %run.province, period = %run.period);
        async {
            let ready = Ready::prepare(db, sandbox, root, registry()?, &run).await?;
            let actor: Actor = serde_json::from_str(&actor).context("the shards' actor")?;
            ready.seal_if_decided(db, &run, &actor).await
        }
        .instrument(span)
        .await?;
        sealed.push(run_id);
    }
    Ok(sealed)
}

/// Cut `run` into shards, unless it is cut already: each month's
/// beneficiaries in ranges of ids, the last of each month unbounded.
async fn plan(db: &Db, run: &Run, by: &Actor) -> anyhow::Result<()> {
    if shards::planned(db, run.id).await? {
        return Ok(());
    }
    let enrolled = beneficiaries::count_in(db, &run.program, &run.province).await?;
    let size = shard_size(enrolled);
    let bounds = beneficiaries::cuts(db, &run.program, &run.province, size).await?;
    let cuts: Vec<Cut> = run.months().flat_map(|month| Cut::month(&month.to_string(), &bounds)).collect();
    if shards::plan(db, run.id, &cuts, &serde_json::to_string(by)?).await? {
        info!(shards = cuts.len(), size, "cut into shards");
    }
    Ok(())
}

/// A run ready to be decided in this process: its plug-in loaded and checked,
/// the engine recorded, and the registry the same one it was begun against.
struct Ready {
    plugin: Arc<Plugin>,
    registry: Arc<dyn Registry>,
    source: String,
}

impl Ready {
    async fn prepare(
        db: &Db,
        sandbox: &Sandbox,
        root: &TrustRoot,
        registry: Arc<dyn Registry>,
        run: &Run,
    ) -> anyhow::Result<Ready> {
        let plugin = load_plugin(db, sandbox, root, run).await?;
        let engine = sandbox.identity();
        store::audit::add_engine(db, &engine.id(), &engine.canonical_json()).await?;
        let source = registry.source();
        let recorded = runs::record_registry_source(db, run.id, &source).await?;
        anyhow::ensure!(
            recorded == source,
            "run {} was begun against the population registry {recorded}, not {source}: resume it against the same \
             one (--registry-url, or none for the imported registry table), so that all its decisions come from one \
             registry",
            run.id
        );
        Ok(Ready { plugin, registry, source })
    }

    /// Decide the beneficiaries of `shard` still without a decision, under
    /// its lease, and mark it finished (or give it back, stopped or failed).
    async fn decide_shard(
        &self,
        db: &Db,
        run: &Run,
        shard: Shard,
        crew: &Crew,
        progress: &(dyn Fn(u64) + Sync),
    ) -> anyhow::Result<u64> {
        let span = info_span!("shard", shard = shard.id, period = %shard.period, seq = shard.seq,
                              attempt = shard.attempts);
        async {
            let month: Month =
                shard.period.parse().map_err(|e| anyhow::anyhow!("shard {}: its month: {e}", shard.id))?;
            let made = Arc::new(AtomicU64::new(0));
            let halt = Arc::new(AtomicBool::new(false));
            let (holder, lease) = (crew.holder.clone(), crew.lease);
            let heartbeat = tokio::spawn(
                lease::keep(
                    db.clone(),
                    &shards::SHARDS,
                    shard.id,
                    holder,
                    lease,
                    shard.decided,
                    made.clone(),
                    halt.clone(),
                )
                .in_current_span(),
            );
            let range = (shard.after_id, shard.upto_id);
            let stops: Stops = Arc::new({
                let (crew, halt) = (crew.clone(), halt.clone());
                move || crew.stopping() || halt.load(Ordering::SeqCst)
            });
            let progress = |done| {
                made.store(done, Ordering::Relaxed);
                progress(done);
            };
            let decided = pipeline(db, self, run, month, range, crew.threads, stops, &progress).await;
            heartbeat.abort();
            let so_far = shard.decided + made.load(Ordering::Relaxed) as i64;
            match decided {
                Ok(decided) if crew.stopping() || halt.load(Ordering::SeqCst) => {
                    shards::give_back(db, shard.id, &crew.holder, so_far, None, crew.lease).await?;
                    info!(decided, "given back");
                    Ok(decided)
                }
                Ok(decided) => {
                    shards::finish(db, shard.id, &crew.holder, so_far).await?;
                    info!(decided, "finished");
                    Ok(decided)
                }
                Err(error) => {
                    let why = format!("{error:#}");
                    shards::give_back(db, shard.id, &crew.holder, so_far, Some(&why), crew.lease).await?;
                    Err(error)
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Seal `run` as `by` if every shard of it is finished.
    async fn seal_if_decided(&self, db: &Db, run: &Run, by: &Actor) -> anyhow::Result<()> {
        let standing = shards::standing(db, run.id, CLAIMS).await?;
        if standing.shards > 0 && standing.finished == standing.shards {
            self.seal(db, run, by).await?;
        }
        Ok(())
    }

    /// created → evaluated, with the `run.evaluate` entry that covers every
    /// decision of the run (their chained digests), in one transaction; once,
    /// whoever asks first.
    async fn seal(&self, db: &Db, run: &Run, by: &Actor) -> anyhow::Result<()> {
        db.analyze(store::Table::Decisions).await?;
        store::retry_serializable("run seal", |attempt| self.seal_once(db, run, by, attempt)).await
    }

    /// [`Self::seal`], one try. The chain is read before the run is moved, so
    /// that on SQLite the second it takes at a million decisions is read
    /// without the write lock ([`Db::begin_read_first`]); every shard is
    /// finished, so nothing adds to it meanwhile.
    async fn seal_once(&self, db: &Db, run: &Run, by: &Actor, attempt: store::Attempt) -> anyhow::Result<()> {
        let mut tx = db.begin_read_first(attempt).await?;
        let decisions = trail::seal_decisions(&mut tx, run.id).await?;
        if runs::mark_evaluated(&mut tx, run.id, &by.name).await? {
            let details = serde_json::json!({
                "decisions": decisions,
                "plugin": self.plugin.hash().to_string(),
                "engine": self.plugin.engine(),
                "registry": self.source,
            });
            trail::append(&mut tx, by, crate::trail::action::RUN_EVALUATE, &trail::run_subject(run.id), details)
                .await?;
            info!("sealed");
        }
        tx.commit().await
    }
}

/// The run's plug-in: its release's exact bytes, once the signature is checked again.
pub async fn load_plugin(db: &Db, sandbox: &Sandbox, root: &TrustRoot, run: &Run) -> anyhow::Result<Arc<Plugin>> {
    let Some(release_id) = run.release_id else {
        anyhow::bail!("run {} has no signed release of its plug-in; make a new run with `ansinh run create`", run.id);
    };
    let release = releases::get(db, release_id).await?;
    let plugin = release::load(db, sandbox, root, &release).await.with_context(|| format!("run {}", run.id))?;
    for month in run.months() {
        release::check_fits(&release, &plugin, &run.program, &run.province, month)
            .with_context(|| format!("run {} cannot be evaluated", run.id))?;
    }
    anyhow::ensure!(
        plugin.hash() == run.plugin_hash,
        "run {} was made with the plug-in {}, but its release {release_id} holds {}",
        run.id,
        run.plugin_hash,
        plugin.hash()
    );
    Ok(plugin)
}

/// What is still to decide in `run` for `month`, up to id `upto`.
fn scope(run: &Run, month: Month, upto: Option<i64>) -> Scope<'_> {
    let arrears = month < run.period;
    Scope { run_id: run.id, program: &run.program, province: &run.province, period: month, arrears, upto }
}

/// Whether a shard's pipeline is to read no further page.
type Stops = Arc<dyn Fn() -> bool + Send + Sync>;

/// Decide one month of a run, the beneficiaries in `range` (after, up to)
/// without a decision; until done, or until one of `stops` is set.
#[allow(clippy::too_many_arguments)] // the run's month and range, how many threads, when to stop
async fn pipeline(
    db: &Db,
    ready: &Ready,
    run: &Run,
    month: Month,
    range: (i64, Option<i64>),
    workers: usize,
    stops: Stops,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    let plugin = ready.plugin.clone();
    let (page_tx, page_rx) = mpsc::channel::<Vec<Pending>>(workers * 2);
    let (done_tx, mut done_rx) = mpsc::channel::<Vec<Decided>>(workers * 2);
    let read = read_pages(db.clone(), ready.registry.clone(), run.clone(), month, range, stops, page_tx);
    let reader = tokio::spawn(read.in_current_span());
    let page_rx = Arc::new(Mutex::new(page_rx));
    // What each input is packed against: a typical input of this plug-in and month.
    let reference: Arc<str> = plugin.reference_input(month, &run.program, &run.province).canonical_json().into();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (pages, done, plugin, run) = (page_rx.clone(), done_tx.clone(), plugin.clone(), run.clone());
            let reference = reference.clone();
            tokio::task::spawn_blocking(move || decide_pages(&plugin, &run, month, &reference, &pages, &done))
        })
        .collect();
    // Only the threads hold the pages' receiver: should they all end (a panic), the reader's
    // next send fails and it stops, rather than wait for ever on a full channel.
    drop(page_rx);
    drop(done_tx);

    let mut decided = 0;
    let mut writer = Writer::new(db, &reference).await?;
    while let Some(mut batch) = done_rx.recv().await {
        while batch.len() < PER_TRANSACTION {
            let Ok(more) = done_rx.try_recv() else { break };
            batch.extend(more);
        }
        // Counted as stored: a decision another holder of the shard stored first is not made twice.
        decided += writer.write(run.id, &batch).await?;
        progress(decided);
    }
    reader.await??;
    for thread in threads {
        thread.await?;
    }
    Ok(decided)
}

/// Page through the beneficiaries of `range` still to decide, in id order,
/// with their registry records; no further page once one of `stops` is set.
///
/// Two stages, each on its own connection: the next page is read while the
/// registry is asked about the last one, rather than one after the other. A
/// registry service answers over the network, and its wait was the reader's:
/// the 200,000-person demo's second month against one answering in 20 ms
/// evaluated in 18.6-19.4 s instead of 21.2-22.7 (bench/README.md).
async fn read_pages(
    db: Db,
    registry: Arc<dyn Registry>,
    run: Run,
    month: Month,
    (mut after, upto): (i64, Option<i64>),
    stops: Stops,
    pages: mpsc::Sender<Vec<Pending>>,
) -> anyhow::Result<()> {
    let (read_tx, mut read_rx) = mpsc::channel::<Vec<Pending>>(1);
    let read = async move {
        loop {
            if stops() {
                return Ok(());
            }
            let page = beneficiaries::pending(&db, scope(&run, month, upto), after, PAGE).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = last.id;
            if read_tx.send(page).await.is_err() {
                // The registry stage stopped: on an error, which it reports.
                return Ok(());
            }
        }
    };
    let look_up = async move {
        while let Some(mut page) = read_rx.recv().await {
            let ids: Vec<String> = page.iter().map(|p| p.enrolment.id_number.clone()).collect();
            let found: HashMap<String, _> =
                registry.lookup(&ids).await?.into_iter().map(|record| (record.id_number.clone(), record)).collect();
            for pending in &mut page {
                pending.registry = found.get(&pending.enrolment.id_number).cloned();
            }
            if pages.send(page).await.is_err() {
                // The writer stopped on an error; it reports it.
                return Ok(());
            }
        }
        Ok(())
    };
    // On an error of either stage the other ends too: its channel closes.
    let (read, look_up): (anyhow::Result<()>, anyhow::Result<()>) = tokio::join!(read, look_up);
    read.and(look_up)
}

/// A worker thread: take pages until there are none, decide each person;
/// inputs are packed against `reference`.
fn decide_pages(
    plugin: &Plugin,
    run: &Run,
    month: Month,
    reference: &str,
    pages: &Mutex<mpsc::Receiver<Vec<Pending>>>,
    done: &mpsc::Sender<Vec<Decided>>,
) {
    let mut packer = Packer::new(reference);
    loop {
        let Some(page) = pages.lock().expect("page queue lock").blocking_recv() else { return };
        let decisions = page
            .iter()
            .map(|p| {
                let started = Instant::now();
                let decision = decide(plugin, &run.program, &run.province, month, p);
                crate::metrics::decided(decision.outcome, started.elapsed(), decision.fuel);
                decision.digested(run.id, &mut packer)
            })
            .collect();
        if done.blocking_send(decisions).is_err() {
            return;
        }
    }
}
