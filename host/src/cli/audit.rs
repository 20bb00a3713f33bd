//! `ansinh audit …`: what an auditor runs. Replay a run (from the database or
//! an exported bundle), export a run, verify the audit log, read it, and look
//! a person up by keyed hash.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use tokio::sync::mpsc;

use super::progress;
use crate::accounts::{Act, Place};
use crate::app::{App, Settings};
use crate::audit::bundle::{self, Bundle, Trusted};
use crate::audit::replay::{self, Replayer, Report, Sample};
use crate::audit::{tip, verify};
use crate::format::{Shown, group};
use crate::identity::id_number::IdNumber;
use crate::release::keys;
use crate::store::decisions::Key;
use crate::store::{audit as table, decisions, runs};
use crate::trail;
use crate::trail::person::PersonKey;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Make a run's decisions again from what was stored (the plug-in's exact bytes, each exact
    /// input) in a fresh sandbox, and compare output and fuel byte for byte. Exits 1 on any
    /// divergence or missing plug-in.
    Replay {
        /// The run, from this database.
        #[arg(required_unless_present = "bundle", conflicts_with = "bundle")]
        run: Option<i64>,
        /// Replay an exported bundle instead (`audit export`): needs nothing else.
        #[arg(long, value_name = "FILE")]
        bundle: Option<PathBuf>,
        /// With --bundle: the authority's public key (PEM, as `keys add` takes it), obtained apart
        /// from the bundle. The release's signature must hold against it, and the bundle's key be
        /// it; without it, the signature is checked only against the key inside the bundle,
        /// which whoever made the bundle chose.
        #[arg(long, value_name = "FILE", requires = "bundle")]
        trusted_key: Option<PathBuf>,
        /// Replay a random sample of this many decisions; the seed is printed.
        #[arg(long, value_name = "N")]
        sample: Option<u64>,
        /// The seed of a sample to draw again.
        #[arg(long, requires = "sample")]
        seed: Option<u64>,
        /// Divergent decisions shown (at most 1,000).
        #[arg(long, default_value_t = 20)]
        list: usize,
        /// Queue it as a job that the workers (`ansinh worker`, or `serve`) share part by part
        /// (a sample is done by one), follow it until it ends and print its verdict (with the
        /// first 20 divergent decisions, as the API shows them).
        #[arg(long, requires = "run", conflicts_with = "bundle")]
        queue: bool,
    },
    /// Write one run, its decisions and inputs, its plug-ins' bytes and signature and its audit
    /// entries to FILE: a self-contained bundle to replay offline. People appear by keyed hash
    /// ([audit] person_key of the configuration). Needs an auditor of its province.
    Export { run: i64, file: PathBuf },
    /// Walk the audit log's hash chain and every digest it covers (decisions, what was paid,
    /// the issued files), and hold each run, release and signing key against what its entries
    /// recorded (who acted, status, release, checksum). Exits 1 naming the first entry, decision
    /// or field that does not match.
    Verify {
        /// An entry and its hash noted down earlier (the tip a verify printed), which the log
        /// must still hold: catches a log rewritten with its hashes recomputed. Repeatable.
        #[arg(long, value_name = "ENTRY:HASH")]
        anchor: Vec<verify::Anchor>,
        /// A folder of tips signed by `serve --tip-key` (default: [trust] tips of the
        /// configuration, if set): each must be signed by the tip key and still be an entry of
        /// the log, with that hash.
        #[arg(long, value_name = "DIR")]
        tips: Option<PathBuf>,
        /// The public half of the tip key (PEM; default: [trust] tip_public_key).
        #[arg(long, value_name = "FILE")]
        tip_public: Option<PathBuf>,
    },
    /// List the audit log's entries, oldest first.
    Log {
        /// Only the entries about this run.
        #[arg(long)]
        run: Option<i64>,
    },
    /// Print the keyed hash a person appears as in the audit trail and bundles; the ID number
    /// is read from standard input (never an argument, which `ps` and shell history keep).
    Person,
    /// Print a new random key for [audit] person_key.
    NewKey,
}

impl AuditCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        match self {
            AuditCommand::NewKey => {
                sayln!("{}", PersonKey::generate()?);
                return Ok(ExitCode::SUCCESS);
            }
            AuditCommand::Person => {
                let config = crate::config::Config::load(settings.config.as_deref())?;
                let mut id_number = String::new();
                std::io::stdin().read_line(&mut id_number).context("reading the ID number from standard input")?;
                let number = IdNumber::parse(id_number.trim())
                    .map_err(|e| anyhow::anyhow!("the ID number on standard input: {e}"))?;
                let key = config.person_key()?;
                sayln!("{}  (key {})", key.person(number.as_str()), key.id());
                return Ok(ExitCode::SUCCESS);
            }
            _ => {}
        }
        let app = App::connect(settings).await?;
        let code = match self {
            AuditCommand::Replay { run, bundle, trusted_key, sample, seed, list, queue } => {
                let sample = sample.map(|n| Sample::new(n, seed)).transpose()?;
                let replayer = Replayer::new(app.sandbox.limits(), app.workers, list)?;
                match (run, bundle) {
                    (Some(run), _) => {
                        let by = app.acting_on_run(Act::Audit, run).await?.actor;
                        replay_run(&app, &replayer, run, sample, queue.then_some(&by)).await?
                    }
                    // A bundle is read from its file alone: no account needed.
                    (None, Some(file)) => {
                        let trusted = trusted_key.as_deref().map(Trusted::read).transpose()?;
                        replay_bundle(&replayer, file, trusted, sample).await?
                    }
                    (None, None) => unreachable!("clap requires one"),
                }
            }
            AuditCommand::Export { run, file } => {
                let by = app.acting_on_run(Act::Audit, run).await?.actor;
                let key = app.config.person_key()?;
                let exported = bundle::export(&app.db, run, key, &file, &by).await?;
                sayln!(
                    "Exported run {run}: {} decisions to {} ({} bytes, sha256 {}).",
                    group(exported.decisions as i64),
                    file.display(),
                    group(exported.bytes as i64),
                    exported.sha256
                );
                sayln!("Replay it anywhere with `ansinh audit replay --bundle {}`.", file.display());
                ExitCode::SUCCESS
            }
            AuditCommand::Verify { mut anchor, tips, tip_public } => {
                app.acting(Act::Audit, Place::Anywhere, "audit log").await?;
                let trust = app.config.trust();
                let mut tip_problems = Vec::new();
                if let Some(dir) = tips.or_else(|| trust.and_then(|t| t.tips.clone())) {
                    let public = match (&tip_public, trust.and_then(|t| t.tip_public_key)) {
                        (Some(file), _) => keys::read_public(file).context("--tip-public")?,
                        (None, Some(public)) => public,
                        (None, None) => anyhow::bail!(
                            "--tips {}: the signed tips are checked against the tip key's public half: give \
                             --tip-public FILE.pub, or tip_public_key under [trust] of {}",
                            dir.display(),
                            app.config.path.display()
                        ),
                    };
                    let (signed, problems) = tip::read(&dir, &public)?;
                    anchor.extend(signed);
                    tip_problems = problems;
                }
                let root = app.config.root().ok();
                let bar = progress::count("verifying decisions");
                let mut verified = verify::verify(&app.db, root, &anchor, &|done| bar.set_position(done)).await?;
                bar.finish_and_clear();
                verified.problems.extend(tip_problems);
                print_verified(&verified)
            }
            AuditCommand::Log { run } => {
                match run {
                    Some(run) => app.acting_on_run(Act::Audit, run).await?,
                    None => app.acting(Act::Audit, Place::Anywhere, "audit log").await?,
                };
                let print = |e: &table::Entry| {
                    sayln!(
                        "#{:<6} {}  {:<10} {:<18} {:<14} {}",
                        e.seq,
                        e.at,
                        Shown(&e.actor),
                        e.action,
                        Shown(&e.subject),
                        Shown(&e.details)
                    )
                };
                let mut shown = 0;
                match run {
                    Some(run) => {
                        let entries = table::about(&app.db, &trail::run_subject(run)).await?;
                        entries.iter().for_each(print);
                        shown = entries.len();
                    }
                    None => loop {
                        let page = table::page(&app.db, shown as i64, 1000).await?;
                        let Some(last) = page.last() else { break };
                        shown = last.seq as usize;
                        page.iter().for_each(print);
                    },
                }
                sayln!("{shown} entries.");
                ExitCode::SUCCESS
            }
            AuditCommand::NewKey | AuditCommand::Person => unreachable!("handled above"),
        };
        app.db.close().await;
        Ok(code)
    }
}

/// Replay run `run_id` here, or as a job the workers share, queued as `queued_by`.
async fn replay_run(
    app: &App,
    replayer: &Replayer,
    run_id: i64,
    sample: Option<Sample>,
    queued_by: Option<&trail::Actor>,
) -> anyhow::Result<ExitCode> {
    let run = runs::get(&app.db, run_id).await?;
    sayln!(
        "Replay of run {} ({}, province {}, {}), plug-in {}",
        run.id,
        run.program,
        run.province,
        run.period,
        run.plugin_hash
    );
    let total = decisions::count(&app.db, run_id).await?;
    if let Some(by) = queued_by {
        // The seed is chosen now, not when the job runs: a job taken up again draws the same sample.
        let params = match sample {
            Some(sample) => serde_json::json!({ "sample": sample.size, "seed": sample.seed }),
            None => serde_json::json!({}),
        };
        let job = match crate::jobs::submit_with(&app.db, crate::jobs::Kind::ReplayRun, run_id, &params, by).await? {
            Ok(job) => job,
            Err(open) => anyhow::bail!(
                "run {run_id} already has a replay queued or running (job {open}) with another sample: wait for it \
                 to end"
            ),
        };
        esayln!("Queued as job {job} for the workers; following it.");
        let done = progress::follow(&app.db, job, "replaying (workers)").await?;
        let result: serde_json::Value = serde_json::from_str(done.result.as_deref().unwrap_or("{}"))?;
        let took = done.finished_at.zip(done.started_at).and_then(|(end, start)| (end - start).to_std().ok());
        let (report, sample) = Report::from_result(&result, took.unwrap_or_default());
        return Ok(print_report(&report, total as u64, sample));
    }
    let keep = match sample {
        Some(sample) => Some(replay::draw_in(&app.db, run_id, sample).await?),
        None => None,
    };
    let bar = progress::count("replaying");
    bar.set_length(expected(total as u64, keep.as_ref()));
    let report = replay::replay_in(&app.db, replayer, run_id, keep, &|done| bar.set_position(done)).await?;
    bar.finish_and_clear();
    Ok(print_report(&report, total as u64, sample))
}

async fn replay_bundle(
    replayer: &Replayer,
    file: PathBuf,
    trusted: Option<Trusted>,
    sample: Option<Sample>,
) -> anyhow::Result<ExitCode> {
    let bundle = Bundle::open(&file, trusted)?;
    let h = &bundle.header;
    sayln!(
        "Replay of the bundle {}: run {} ({}, province {}, {}), plug-in {}, exported {} by {}",
        file.display(),
        h.run.id,
        h.run.program,
        h.run.province,
        h.run.period,
        h.run.plugin_hash,
        h.exported_at,
        h.exported_by
    );
    let stored = bundle.stored()?;
    let total = h.decisions;
    let keep = match sample {
        Some(sample) => Some(bundle.draw(sample)?),
        None => None,
    };
    let (tx, rx) = mpsc::channel(replayer.workers() * 2);
    let bar = progress::count("replaying");
    bar.set_length(expected(total, keep.as_ref()));
    let reader = tokio::task::spawn_blocking(move || bundle.send(keep.as_ref(), &tx));
    let mut report = replayer.replay(&replayer.prepare(&stored), rx, &|done| bar.set_position(done)).await?;
    bar.finish_and_clear();
    let checked = reader.await?.with_context(|| format!("reading {}", file.display()))?;
    report.notes.extend(checked.notes.into_iter().map(|n| format!("bundle: {n}")));
    report.problems.extend(checked.problems.into_iter().map(|p| format!("bundle: {p}")));
    Ok(print_report(&report, total, sample))
}

fn expected(total: u64, keep: Option<&HashSet<Key>>) -> u64 {
    keep.map_or(total, |k| k.len() as u64)
}

pub fn print_report(report: &Report, total: u64, sample: Option<Sample>) -> ExitCode {
    for note in &report.engines {
        sayln!("  engine: {}", Shown(&note.to_string()));
    }
    if let Some(s) = sample {
        sayln!(
            "  sample: {} of {} decisions, seed {} (draw it again with --sample {} --seed {})",
            group(report.decisions as i64),
            group(total as i64),
            s.seed,
            s.size,
            s.seed
        );
    }
    sayln!(
        "  decisions: {}; replayed {}; identical {}; not asked (no registry record) {}; divergent {} ({:.1} s)",
        group(report.decisions as i64),
        group(report.replayed as i64),
        group(report.identical as i64),
        group(report.not_asked as i64),
        group(report.divergent as i64),
        report.elapsed.as_secs_f64()
    );
    if report.deadline > 0 {
        sayln!(
            "  {} decisions hit the wall-clock deadline, when made or now: that backstop depends on the machine's load, \
             so they are not compared",
            group(report.deadline as i64)
        );
    }
    for note in &report.notes {
        sayln!("  {}", Shown(&note.to_string()));
    }
    for problem in &report.problems {
        sayln!("  PROBLEM: {}", Shown(&problem.to_string()));
    }
    for missing in &report.missing {
        sayln!("  MISSING: {}", Shown(&missing.to_string()));
    }
    if report.unreplayable > 0 {
        sayln!("  {} decisions could not be replayed for lack of their plug-in", group(report.unreplayable as i64));
    }
    for d in &report.shown {
        sayln!("  DIVERGENT {} beneficiary #{}: {}", d.key.0, d.key.1, Shown(&d.why.join("; ")));
        sayln!("    stored:   {} (fuel {})", d.stored.0, d.stored.1);
        match &d.replayed {
            Some((output, fuel)) => sayln!("    replayed: {output} (fuel {fuel})"),
            None => sayln!("    replayed: not run"),
        }
    }
    if report.divergent > report.shown.len() as u64 {
        sayln!("  … and {} more divergent (--list N shows more)", report.divergent - report.shown.len() as u64);
    }
    if report.identical() {
        sayln!("IDENTICAL: every decision replayed gave the stored output and fuel, byte for byte.");
        ExitCode::SUCCESS
    } else if report.replayed == 0 && report.divergent == 0 && report.problems.is_empty() && report.missing.is_empty() {
        sayln!("NOTHING REPLAYED: no decision here was given to a plug-in, so nothing is confirmed.");
        ExitCode::from(1)
    } else {
        sayln!("NOT IDENTICAL: see above.");
        ExitCode::from(1)
    }
}

pub fn print_verified(v: &verify::Verified) -> ExitCode {
    sayln!("Audit log: {} entries chain from the first; tip entry {} {}", v.entries, v.tip.0, v.tip.1);
    sayln!(
        "Runs: {} covered ({} made before the audit log are not); {} decisions checked against their digests; {} \
         files made again and compared",
        v.runs_covered,
        v.runs_before,
        group(v.decisions as i64),
        v.files
    );
    sayln!(
        "Rows: {} runs, {} releases and {} signing keys held against what their entries recorded; {} keys in use \
         certified by the national root; {} tips (noted down or signed) checked",
        v.runs_covered,
        v.releases,
        v.keys,
        v.certified,
        v.anchors
    );
    if v.ok() {
        sayln!("VERIFIED: the chain is whole, every digest matches, and every row is as its entries recorded.");
        sayln!(
            "Note the tip down outside this database; `ansinh audit verify --anchor {}:{}` checks later that the log \
             still holds it.",
            v.tip.0,
            v.tip.1
        );
        return ExitCode::SUCCESS;
    }
    sayln!("FIRST PROBLEM: {}", Shown(&v.problems[0].to_string()));
    for problem in &v.problems[1..] {
        sayln!("  then: {}", Shown(&problem.to_string()));
    }
    ExitCode::from(1)
}
