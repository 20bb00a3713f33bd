//! `run evaluate`: decide every beneficiary of a run, in a pipeline.
//!
//! ```text
//!  reader (async) ──pages──▶ workers (threads, one fresh ──decisions──▶ writer (async, batch
//!  pending beneficiaries     plug-in instance per         and digests   INSERT, each repeated
//!  + one registry lookup     decision; its digest; its                  text once)
//!  per page                  input packed)
//! ```
//!
//! Channels are bounded, so memory holds a few pages whatever the run's size.
//! The writer commits what the workers decided while it wrote, up to
//! [`PER_TRANSACTION`] decisions in one transaction; a run killed at any point
//! resumes where it stopped, because the reader only sees beneficiaries with no
//! decision yet and a decision, once stored, is never replaced.

use crate::trail::Actor;
use std::collections::HashMap;
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
use crate::store::packed::Packer;
use crate::store::runs::{self, Run, RunStatus};
use crate::store::{self, Db, releases};
use crate::trail;
use ansinh_sandbox::{Plugin, Sandbox};

use super::decide::decide;

/// Beneficiaries per page read.
const PAGE: i64 = 500;

/// Decisions written in one transaction at most: the pages decided while the
/// last was written, so that the writer keeps up, and short enough that a
/// SQLite writer holds the database well under a second.
const PER_TRANSACTION: usize = 5000;

/// What an evaluation did.
#[derive(Clone, Debug)]
pub struct Evaluated {
    /// Decisions made now (0 when the run was already evaluated).
    pub decided: u64,
    pub elapsed: Duration,
}

/// Decide every beneficiary of `run_id` that has no decision yet, verified against `registry`,
/// with `workers` threads, as `by`; `progress` is told the number decided so far and the total.
#[allow(clippy::too_many_arguments)] // where the rules come from, the run, who acts and how it goes
pub async fn evaluate(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    registry: Arc<dyn Registry>,
    run_id: i64,
    workers: usize,
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
            return Ok(Evaluated { decided: 0, elapsed: started.elapsed() });
        }
        let plugin = load_plugin(db, sandbox, root, &run).await?;
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
        let mut total = 0;
        for month in run.months() {
            total += beneficiaries::count_pending(db, scope(&run, month)).await?;
        }
        info!(pending = total, plugin = %plugin.hash(), registry = %source, workers, "evaluating");
        let mut decided = 0;
        // Month by month, so that a back-pay run reads each month's pending
        // people as a stream like any other run.
        for month in run.months() {
            let before = decided;
            let progress = |done| progress(before + done, total);
            decided += pipeline(db, registry.clone(), &run, month, plugin.clone(), workers.max(1), &progress).await?;
        }
        db.analyze(store::Table::Decisions).await?;
        seal(db, &run, &plugin, &source, by).await?;
        let elapsed = started.elapsed();
        info!(decided, seconds = elapsed.as_secs_f64(), "evaluated");
        Ok(Evaluated { decided, elapsed })
    }
    .instrument(span)
    .await
}

/// created → evaluated, with the `run.evaluate` entry that covers every
/// decision of the run (their chained digests), in one transaction.
async fn seal(db: &Db, run: &Run, plugin: &Plugin, registry: &str, by: &Actor) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    if runs::mark_evaluated(&mut tx, run.id, &by.name).await? {
        let decisions = trail::seal_decisions(&mut tx, run.id).await?;
        let details = serde_json::json!({
            "decisions": decisions,
            "plugin": plugin.hash().to_string(),
            "engine": plugin.engine(),
            "registry": registry,
        });
        trail::append(&mut tx, by, crate::trail::action::RUN_EVALUATE, &trail::run_subject(run.id), details).await?;
    }
    tx.commit().await
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

/// What is still to decide in `run` for `month`.
fn scope(run: &Run, month: Month) -> Scope<'_> {
    Scope { run_id: run.id, program: &run.program, province: &run.province, period: month, arrears: month < run.period }
}

/// Decide one month of a run.
async fn pipeline(
    db: &Db,
    registry: Arc<dyn Registry>,
    run: &Run,
    month: Month,
    plugin: Arc<Plugin>,
    workers: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    let (page_tx, page_rx) = mpsc::channel::<Vec<Pending>>(workers * 2);
    let (done_tx, mut done_rx) = mpsc::channel::<Vec<Decided>>(workers * 2);
    let reader = tokio::spawn(read_pages(db.clone(), registry, run.clone(), month, page_tx).in_current_span());
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
    drop(done_tx);

    let mut decided = 0;
    let mut writer = Writer::new(db, &reference).await?;
    while let Some(mut batch) = done_rx.recv().await {
        while batch.len() < PER_TRANSACTION {
            let Ok(more) = done_rx.try_recv() else { break };
            batch.extend(more);
        }
        writer.write(db, run.id, &batch).await?;
        decided += batch.len() as u64;
        progress(decided);
    }
    reader.await??;
    for thread in threads {
        thread.await?;
    }
    Ok(decided)
}

/// Page through the beneficiaries still to decide, in id order, with their registry records.
async fn read_pages(
    db: Db,
    registry: Arc<dyn Registry>,
    run: Run,
    month: Month,
    pages: mpsc::Sender<Vec<Pending>>,
) -> anyhow::Result<()> {
    let mut after = 0;
    loop {
        let mut page = beneficiaries::pending(&db, scope(&run, month), after, PAGE).await?;
        let Some(last) = page.last() else { return Ok(()) };
        after = last.id;
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
            .map(|p| decide(plugin, &run.program, &run.province, month, p).digested(run.id, &mut packer))
            .collect();
        if done.blocking_send(decisions).is_err() {
            return;
        }
    }
}
