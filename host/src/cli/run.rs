//! `ansinh run …`: create, evaluate, approve, issue, reconcile, show and cancel
//! payment runs, and the what-if of a candidate plug-in over a past run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::progress;
use crate::accounts::{Act, Place};
use crate::app::{App, Settings};
use crate::format::{Shown, group};
use crate::jobs::Kind;
use crate::model::Month;
use crate::payment::RunFile;
use crate::payment::outbox::Outbox;
use crate::run::{self, WhatIf};
use crate::store::runs;
use crate::trail::{self, Actor};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum RunCommand {
    /// Create a payment run for a programme, a province and a month; prints the run's id.
    Create {
        /// Programme code, e.g. social-assistance.
        #[arg(long)]
        program: String,
        /// 3-digit code of the paying province, e.g. 001.
        #[arg(long)]
        province: String,
        /// The paid month, YYYY-MM. The release in force then decides the run.
        #[arg(long)]
        period: Month,
        /// Also pay arrears: each month from this one (YYYY-MM) up to the one
        /// before --period, to the people not paid that month.
        #[arg(long, value_name = "MONTH")]
        back_pay_from: Option<Month>,
    },
    /// Verify and decide every beneficiary of a run (resumes where an interrupted evaluation stopped),
    /// in this process and alongside any worker on the same database.
    Evaluate {
        id: i64,
        /// Queue it as a job for the workers (`ansinh worker`, or `serve`) instead, and follow it
        /// until it ends (Ctrl-C stops following, not the job).
        #[arg(long)]
        queue: bool,
    },
    /// Approve an evaluated run for payment, as a second person: give the checksum `run show` printed.
    Approve {
        id: i64,
        /// The checksum of what you reviewed, as `ansinh run show ID` prints it.
        #[arg(long)]
        checksum: String,
    },
    /// Decline what a run would pay, with a reason (a second person, as for approval): an approved run,
    /// not yet issued, goes back to evaluated; the refusal is on record and `run show` lists it.
    Refuse {
        id: i64,
        /// Why: what the officers should correct. Kept in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Cancel a run before it is issued; its decisions are kept.
    Cancel {
        id: i64,
        /// Why: kept with the run.
        #[arg(long)]
        reason: String,
    },
    /// Turn an approved run's payable decisions into payments once and write its files to the outbox:
    /// pain.001 per debtor account (bank, e-wallet), the bank CSV if configured, the VNPost cash list.
    /// The first issue takes the treasury accounts of the province from the configuration file.
    Issue {
        id: i64,
        /// Folder the payment files are written to.
        #[arg(long, env = "ANSINH_OUTBOX", default_value = "outbox")]
        outbox: PathBuf,
    },
    /// Apply a bank's pain.002 status report to an issued run: settled, rejected (with the
    /// reason code) and accepted payments; MD07 (deceased) flags the person for the registry
    /// check. Exits 1 when the report has problems (unknown or duplicate EndToEndIds, totals
    /// that disagree, contradictions), after applying what is unambiguous.
    Reconcile {
        id: i64,
        /// The pain.002 file (any version pain.002.001.NN).
        file: PathBuf,
    },
    /// Show a run: counts and totals by outcome and category, the exceptions, the change from the
    /// previous month, what to approve, what the bank answered.
    Show {
        id: i64,
        /// People listed per exception kind and per change.
        #[arg(long, default_value_t = run::report::LISTED)]
        list: i64,
    },
    /// What-if: ask a candidate plug-in over the stored inputs of a past run, as `run evaluate`
    /// would, and show who would gain, lose or change outcome, with totals per category. Pays
    /// and stores nothing; for reviewing a new rule before it is approved.
    Diff {
        id: i64,
        /// The candidate plug-in component (.wasm). It may read only the person fields the
        /// run's plug-in read: the stored inputs hold no others.
        #[arg(long, required_unless_present = "release", conflicts_with = "release")]
        plugin: Option<PathBuf>,
        /// Ask the plug-in of this uploaded release instead, as a job that the workers (`ansinh
        /// worker`, or `serve`) share part by part; follow it until it ends and print its totals.
        #[arg(long, value_name = "ID")]
        release: Option<i64>,
        /// People listed per kind of change.
        #[arg(long, default_value_t = run::report::LISTED)]
        list: i64,
    },
}

impl RunCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let app = App::connect(settings).await?;
        match self {
            RunCommand::Create { program, province, period, back_pay_from } => {
                let what = format!("province {province}");
                let by = app.acting(Act::WorkRun, Place::Province(&province), &what).await?.actor;
                let root = app.config.root()?;
                let id =
                    run::create(&app.db, &app.sandbox, root, &program, &province, period, back_pay_from, &by).await?;
                let run = runs::get(&app.db, id).await?;
                let release = run.release_id.map(|r| format!(", release {r}")).unwrap_or_default();
                esayln!(
                    "Created run {id}: {program}, province {province}, {period}{release} (plug-in {}).",
                    run.plugin_hash
                );
                sayln!("{id}");
            }
            RunCommand::Evaluate { id, queue: true } => {
                let by = app.acting_on_run(Act::WorkRun, id).await?.actor;
                let (job, _) = crate::jobs::submit(&app.db, crate::jobs::Kind::EvaluateRun, id, &by).await?;
                esayln!("Queued as job {job} for the workers; following it.");
                progress::follow(&app.db, job, "deciding (workers)").await?;
                show(&app, &by, id, run::report::LISTED).await?;
            }
            RunCommand::Evaluate { id, queue: false } => {
                let bar = progress::count("deciding");
                let registry = app.registry()?;
                let by = app.acting_on_run(Act::WorkRun, id).await?.actor;
                let root = app.config.root()?;
                let progress = progress::of(&bar);
                let crew = run::Crew::new(app.workers)?;
                run::evaluate(&app.db, &app.sandbox, root, registry, id, &crew, &by, &progress).await?;
                bar.finish_and_clear();
                show(&app, &by, id, run::report::LISTED).await?;
            }
            RunCommand::Approve { id, checksum } => {
                let by = app.acting_on_run(Act::DecideRun, id).await?.actor;
                let approval = run::approve(&app.db, id, &checksum, &by).await?;
                sayln!("Approved run {id} as {}: {}.", Shown(&approval.approved_by), approval.tally);
            }
            RunCommand::Refuse { id, reason } => {
                let by = app.acting_on_run(Act::DecideRun, id).await?.actor;
                run::refuse(&app.db, id, &by, &reason).await?;
                show(&app, &by, id, run::report::LISTED).await?;
            }
            RunCommand::Cancel { id, reason } => {
                let by = app.acting_on_run(Act::WorkRun, id).await?.actor;
                run::cancel(&app.db, id, &by, &reason).await?;
                show(&app, &by, id, run::report::LISTED).await?;
            }
            RunCommand::Issue { id, outbox } => {
                let by = app.acting_on_run(Act::WorkRun, id).await?.actor;
                let outbox = Outbox::open(&outbox)?;
                let bar = progress::count("issuing");
                let issued = run::issue(&app.db, id, &outbox, &app.config, &by, &progress::of(&bar)).await?;
                bar.finish_and_clear();
                show(&app, &by, id, run::report::LISTED).await?;
                print_files(&issued);
            }
            RunCommand::Reconcile { id, file } => {
                let by = app.acting_on_run(Act::WorkRun, id).await?.actor;
                let reconciled = run::reconcile(&app.db, id, &file, &by).await?;
                say!("{reconciled}");
                app.db.close().await;
                return Ok(if reconciled.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
            }
            RunCommand::Diff { id, plugin: None, release: Some(release), .. } => {
                let caller = app.acting_on_run(Act::WorkRun, id).await?;
                // The candidate must be one the caller reads: a national release, or one of their provinces'.
                crate::accounts::release_in_scope(&app.db, &caller, Act::ReadReleases, release).await??;
                let params = json!({ "release": release });
                let job = match crate::jobs::submit_with(&app.db, Kind::DiffRun, id, &params, &caller.actor).await? {
                    Ok(job) => job,
                    Err(open) => anyhow::bail!(
                        "run {id} already has a what-if queued or running (job {open}) with another candidate: wait \
                         for it to end"
                    ),
                };
                esayln!("Queued as job {job} for the workers; following it.");
                let done = progress::follow(&app.db, job, "asking the candidate (workers)").await?;
                let result: serde_json::Value = serde_json::from_str(done.result.as_deref().unwrap_or("{}"))?;
                sayln!(
                    "What-if over run {id}, candidate release {release}: {}",
                    WhatIf::summary_line(&result["what_if"])
                );
            }
            RunCommand::Diff { id, plugin, list, .. } => {
                let plugin = plugin.context("--plugin FILE or --release ID")?;
                let by = app.acting_on_run(Act::WorkRun, id).await?.actor;
                let bytes =
                    std::fs::read(&plugin).with_context(|| format!("reading the plug-in {}", plugin.display()))?;
                let candidate = app
                    .sandbox
                    .load(&bytes)
                    .with_context(|| format!("loading the candidate plug-in {}", plugin.display()))?;
                let bar = progress::count("asking the candidate");
                let listed = list.max(0) as usize;
                let what_if = run::diff(&app.db, &app.sandbox, id, candidate, app.workers, listed, &progress::of(&bar))
                    .await
                    .with_context(|| format!("run diff {id} --plugin {}", plugin.display()))?;
                bar.finish_and_clear();
                let people = what_if.changes.people_listed();
                if people > 0 {
                    trail::record_read(&app.db, &by, &trail::run_subject(id), "run diff", people, json!({})).await?;
                }
                say!("{what_if}");
                what_if.record(&app.db, &by).await?;
            }
            RunCommand::Show { id, list } => {
                let by = app.acting_on_run(Act::ReadRun, id).await?.actor;
                let report = show(&app, &by, id, list.max(0)).await?;
                if report.run.status == runs::RunStatus::Created {
                    sayln!("\nNot evaluated yet: `ansinh run evaluate {id}`.");
                }
            }
        }
        app.db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}

/// Print run `id`'s report, listing `list` people per list, as `by`: a
/// report that names people is a read of personal data, recorded first
/// (`trail::record_read`).
async fn show(app: &App, by: &Actor, id: i64, list: i64) -> anyhow::Result<run::RunReport> {
    let report = run::report(&app.db, id, list).await?;
    let people = report.people_listed();
    if people > 0 {
        trail::record_read(&app.db, by, &trail::run_subject(id), "run show", people, json!({})).await?;
    }
    say!("{report}");
    Ok(report)
}

/// Every file of an issued run, one a line, with what it holds.
pub fn print_files(issued: &run::IssueReport) {
    if issued.files.is_empty() {
        sayln!("\nNothing to pay: no payment file.");
        return;
    }
    let t = &issued.issued.treasury;
    sayln!("\nPayment files:");
    for f in &issued.files {
        let (what, unit) = match f.kind {
            RunFile::BankPain001 => (format!("bank transfers from {} {}", t.bank.bin, t.bank.account), "transfers"),
            RunFile::BankCsv => ("bank transfers, bank CSV".to_owned(), "rows"),
            RunFile::EwalletPain001 => {
                let p = t.ewallet_payer();
                (format!("e-wallet transfers from {} {}", p.bin, p.account), "transfers")
            }
            RunFile::VnpostCsv => ("cash list for VNPost".to_owned(), "people"),
        };
        sayln!("  {} ({:?}): {what}, {} {unit}, {} VND", f.path.display(), f.written, group(f.lines), group(f.total));
    }
    if issued.configured_differs {
        sayln!(
            "Note: the configuration now gives other treasury accounts for this province; the run keeps those it was \
             first issued from ({} {}, bank {}), so its files stay as issued.",
            t.bank.name,
            t.bank.account,
            t.bank.bin
        );
    }
}
