//! The `ansinh` command line: parse, build the [`App`], dispatch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{App, Settings};
use crate::demo::{self, DemoOptions};
use crate::import;
use crate::model::Month;
use crate::plugin::{build, cases, scaffold};
use crate::registry;
use crate::run;
use crate::store::{flags, runs};

mod audit;
mod release;
use audit::AuditCommand;
pub use audit::{print_report, print_verified};
use release::{KeysCommand, ReleaseCommand};

/// ansinh: pay social assistance without cash, by rules that run in a sandbox.
#[derive(Parser, Debug)]
#[command(name = "ansinh", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a synthetic province, import it, evaluate and issue a payment run, and print a summary.
    Demo(DemoOptions),
    /// Write, build, test and release rule plug-ins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Manage the ed25519 keys that sign plug-in releases.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Load the population registry extract; review people a bank reported deceased.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Load beneficiary enrolments.
    #[command(subcommand)]
    Beneficiaries(ImportCommand),
    /// Create, evaluate, issue and inspect payment runs.
    #[command(subcommand)]
    Run(RunCommand),
    /// For auditors: replay a run bit for bit, export it, verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Start a province's plug-in crate under the checkout's plugins/: it reuses
    /// the national rules and passes its starter cases as written.
    New {
        /// The crate's name, e.g. quang-ninh-social-assistance.
        name: String,
        /// 3-digit code of the province it serves.
        #[arg(long)]
        province: String,
        /// Programme code: social-assistance or social-pension.
        #[arg(long)]
        program: String,
    },
    /// Build a plug-in crate into a WebAssembly component; prints its path on the last line.
    Build {
        /// The plug-in crate's folder (with its Cargo.toml).
        dir: PathBuf,
    },
    /// Print a plug-in component's description, the person fields it reads, its size and sha256.
    Inspect {
        /// The plug-in component (.wasm).
        plugin: PathBuf,
    },
    /// Run YAML test cases (formats.md) through the real sandbox; fails if any case fails.
    Test {
        /// The plug-in component (.wasm) to test.
        #[arg(long)]
        plugin: PathBuf,
        /// One or more YAML files of cases.
        #[arg(required = true)]
        cases: Vec<PathBuf>,
        /// Also print each decision's explanation lines (Vietnamese, English, legal basis).
        #[arg(long)]
        explain: bool,
    },
    #[command(flatten)]
    Release(ReleaseCommand),
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import a CSV file (formats.md). A file with bad rows is refused whole; every bad
    /// row, as it was and with its problem, is written to the rejects file.
    Import {
        file: PathBuf,
        /// Import the good rows; the bad ones only go to the rejects file.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Where rejected rows are written [default: FILE with the extension .rejects.csv].
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    #[command(flatten)]
    Import(ImportCommand),
    /// List the people a bank reported deceased (MD07) whose payments are held.
    Flags,
    /// After checking the registry, release a person's held payments in later runs.
    ClearFlag {
        /// The beneficiary's number, as `registry flags` and `run show` print it (#N).
        beneficiary: i64,
        /// What the registry check found: kept with the flag.
        #[arg(long)]
        reason: String,
    },
}

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
    /// Verify and decide every beneficiary of a run (resumes where an interrupted evaluation stopped).
    Evaluate { id: i64 },
    /// Approve an evaluated run for payment, as a second person: give the checksum `run show` printed.
    Approve {
        id: i64,
        /// The checksum of what you reviewed, as `ansinh run show ID` prints it.
        #[arg(long)]
        checksum: String,
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
        #[arg(long, default_value_t = crate::run::report::LISTED)]
        list: i64,
    },
    /// What-if: ask a candidate plug-in over the stored inputs of a past run, as `run evaluate`
    /// would, and show who would gain, lose or change outcome, with totals per category. Pays
    /// and stores nothing; for reviewing a new rule before it is approved.
    Diff {
        id: i64,
        /// The candidate plug-in component (.wasm). It may read only the person fields the
        /// run's plug-in read: the stored inputs hold no others.
        #[arg(long)]
        plugin: PathBuf,
        /// People listed per kind of change.
        #[arg(long, default_value_t = crate::run::report::LISTED)]
        list: i64,
    },
}

/// Run the command; errors are printed by `main`.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.settings;
    match cli.command {
        Command::Demo(options) => demo::run(&global, options).await,
        Command::Plugin(PluginCommand::New { name, province, program }) => {
            let workspace = scaffold::find_workspace(Path::new("."))?;
            let dir = scaffold::new_plugin(&workspace, &name, &province, &program)?;
            let shown = dir.strip_prefix(&workspace).unwrap_or(&dir).display().to_string();
            eprintln!("Created {shown}: edit src/lib.rs and cases.yaml, then");
            eprintln!("  ansinh plugin build {shown}");
            eprintln!("  ansinh plugin test --explain --plugin target/plugins/{name}.wasm {shown}/cases.yaml");
            println!("{}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Build { dir }) => {
            let path = build::build(&dir)?;
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(PluginCommand::Test { plugin, cases, explain }) => {
            plugin_test(&global, &plugin, &cases, explain)
        }
        Command::Plugin(PluginCommand::Inspect { plugin }) => plugin_inspect(&global, &plugin),
        Command::Plugin(PluginCommand::Release(command)) => release::release(&global, command).await,
        Command::Keys(command) => release::keys(&global, command).await,
        Command::Registry(command) => registry(&global, command).await,
        Command::Beneficiaries(command) => import_file(&global, Imports::Enrolments, command).await,
        Command::Run(command) => run_command(&global, command).await,
        Command::Audit(command) => audit::audit_command(&global, command).await,
    }
}

/// What an import command loads.
#[derive(Clone, Copy)]
enum Imports {
    Registry,
    Enrolments,
}

/// `registry import` and `beneficiaries import`.
async fn import_file(global: &Settings, imports: Imports, command: ImportCommand) -> anyhow::Result<ExitCode> {
    let ImportCommand::Import { file, skip_bad_rows, rejects } = command;
    let rejects = rejects.unwrap_or_else(|| file.with_extension("rejects.csv"));
    let bad_rows = if skip_bad_rows { import::BadRows::Skip { rejects } } else { import::BadRows::Refuse { rejects } };
    let options = import::Options { bad_rows, by: App::actor(global)? };
    let app = App::connect(global).await?;
    let progress = byte_progress(&file);
    let (done, what) = match imports {
        Imports::Registry => (import::registry(&app.db, &file, &options, &progress).await?, "registry rows"),
        Imports::Enrolments => (import::beneficiaries(&app.db, &file, &options, &progress).await?, "enrolments"),
    };
    println!("Imported {} {what} from {} in {:.1} s.", done.rows, file.display(), done.elapsed.as_secs_f64());
    if let Some((count, path)) = &done.skipped {
        println!("Left out {count} bad rows; each is in {} with its problem.", path.display());
    }
    app.db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `registry import`, `registry flags` and `registry clear-flag`.
async fn registry(global: &Settings, command: RegistryCommand) -> anyhow::Result<ExitCode> {
    if let RegistryCommand::Import(command) = command {
        return import_file(global, Imports::Registry, command).await;
    }
    let app = App::connect(global).await?;
    match command {
        RegistryCommand::Import(_) => {}
        RegistryCommand::Flags => {
            let flags = flags::open(&app.db).await?;
            for f in &flags {
                println!(
                    "#{:<8} {} (province {}): {} on payment {}, reported {} by {}",
                    f.beneficiary_id,
                    f.full_name,
                    f.province,
                    f.reason,
                    f.payment_id,
                    f.flagged_at.format("%Y-%m-%d"),
                    f.flagged_by
                );
            }
            println!("{} open flags.", flags.len());
        }
        RegistryCommand::ClearFlag { beneficiary, reason } => {
            anyhow::ensure!(!reason.trim().is_empty(), "--reason: say what the registry check found");
            let cleared = registry::clear_flags(&app.db, beneficiary, App::actor(global)?, reason.trim()).await?;
            if cleared == 0 {
                bail!("beneficiary #{beneficiary} has no open flag; `ansinh registry flags` lists them");
            }
            println!("Cleared {cleared} flag(s) of beneficiary #{beneficiary}: later runs pay them again.");
        }
    }
    app.db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn run_command(global: &Settings, command: RunCommand) -> anyhow::Result<ExitCode> {
    let app = App::connect(global).await?;
    match command {
        RunCommand::Create { program, province, period, back_pay_from } => {
            let id = app.create_run(&program, &province, period, back_pay_from, App::actor(global)?).await?;
            let run = runs::get(&app.db, id).await?;
            let release = run.release_id.map(|r| format!(", release {r}")).unwrap_or_default();
            eprintln!(
                "Created run {id}: {program}, province {province}, {period}{release} (plug-in {}).",
                run.plugin_hash
            );
            println!("{id}");
        }
        RunCommand::Evaluate { id } => {
            let bar = count_bar("deciding");
            let registry = app.registry()?;
            run::evaluate(&app.db, &app.sandbox, registry, id, app.workers, App::actor(global)?, &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await?;
            bar.finish_and_clear();
            print!("{}", run::report(&app.db, id, run::report::LISTED).await?);
        }
        RunCommand::Approve { id, checksum } => {
            let approval = run::approve(&app.db, id, &checksum, App::actor(global)?).await?;
            println!("Approved run {id} as {}: {}.", approval.approved_by, approval.tally);
        }
        RunCommand::Cancel { id, reason } => {
            run::cancel(&app.db, id, App::actor(global)?, &reason).await?;
            print!("{}", run::report(&app.db, id, run::report::LISTED).await?);
        }
        RunCommand::Issue { id, outbox } => {
            let outbox = crate::payment::outbox::Outbox::open(&outbox)?;
            let issued = run::issue(&app.db, id, &outbox, &app.config, App::actor(global)?).await?;
            print!("{}", run::report(&app.db, id, run::report::LISTED).await?);
            print_files(&issued);
        }
        RunCommand::Reconcile { id, file } => {
            let reconciled = run::reconcile(&app.db, id, &file, App::actor(global)?).await?;
            print!("{reconciled}");
            app.db.close().await;
            return Ok(if reconciled.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        RunCommand::Diff { id, plugin, list } => {
            let by = App::actor(global)?;
            let bytes = std::fs::read(&plugin).with_context(|| format!("reading the plug-in {}", plugin.display()))?;
            let candidate = app
                .sandbox
                .load(&bytes)
                .with_context(|| format!("loading the candidate plug-in {}", plugin.display()))?;
            let bar = count_bar("asking the candidate");
            let progress = |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let what_if = run::diff(&app.db, &app.sandbox, id, candidate, app.workers, list.max(0) as usize, &progress)
                .await
                .with_context(|| format!("run diff {id} --plugin {}", plugin.display()))?;
            bar.finish_and_clear();
            print!("{what_if}");
            what_if.record(&app.db, by).await?;
        }
        RunCommand::Show { id, list } => {
            let report = run::report(&app.db, id, list.max(0)).await?;
            print!("{report}");
            if report.run.status == runs::RunStatus::Created {
                println!("\nNot evaluated yet: `ansinh run evaluate {id}`.");
            }
        }
    }
    app.db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Every file of an issued run, one a line, with what it holds.
pub fn print_files(issued: &run::IssueReport) {
    use crate::payment::RunFile;
    if issued.files.is_empty() {
        println!("\nNothing to pay: no payment file.");
        return;
    }
    let t = &issued.issued.treasury;
    println!("\nPayment files:");
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
        println!(
            "  {} ({:?}): {what}, {} {unit}, {} VND",
            f.path.display(),
            f.written,
            run::report::group(f.lines),
            run::report::group(f.total)
        );
    }
    if issued.configured_differs {
        println!(
            "Note: the configuration now gives other treasury accounts for this province; the run keeps those it was \
             first issued from ({} {}, bank {}), so its files stay as issued.",
            t.bank.name, t.bank.account, t.bank.bin
        );
    }
}

/// Read and load a plug-in component; errors name the file.
fn load_plugin(global: &Settings, path: &Path) -> anyhow::Result<(Vec<u8>, std::sync::Arc<crate::sandbox::Plugin>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading the plug-in {}", path.display()))?;
    let sandbox = App::sandbox(global)?;
    let plugin = sandbox.load(&bytes).with_context(|| format!("loading the plug-in {}", path.display()))?;
    Ok((bytes, plugin))
}

fn plugin_inspect(global: &Settings, path: &Path) -> anyhow::Result<ExitCode> {
    let (bytes, plugin) = load_plugin(global, path)?;
    let d = plugin.description();
    let scope = match &d.province {
        None => "national".to_owned(),
        Some(code) => format!("province {code} {}", crate::identity::provinces::name(code).unwrap_or("(unknown code)")),
    };
    println!("{} {}", d.name, d.version);
    println!("  contract  {}", crate::sandbox::CONTRACT);
    println!("  scope     {scope}");
    println!("  programs  {}", d.programs.join(", "));
    println!("  reads     {}", d.reads.join(", "));
    println!("  size      {} bytes", run::report::group(bytes.len() as i64));
    println!("  sha256    {}", plugin.hash());
    Ok(ExitCode::SUCCESS)
}

fn plugin_test(global: &Settings, plugin: &Path, files: &[PathBuf], explain: bool) -> anyhow::Result<ExitCode> {
    let (_, plugin) = load_plugin(global, plugin)?;
    let (mut passed, mut failed) = (0, 0);
    let (mut fuel, mut took) = (Vec::new(), Vec::new());
    for file in files {
        for (index, case) in cases::load(file)?.iter().enumerate() {
            let started = std::time::Instant::now();
            let outcome = cases::run(&plugin, case);
            took.push(started.elapsed());
            fuel.push(outcome.fuel);
            if outcome.passed() {
                passed += 1;
                println!("ok    {}  (fuel {})", case.name, outcome.fuel);
            } else {
                failed += 1;
                println!("FAIL  {}  ({}, case {}; fuel {})", case.name, file.display(), index + 1, outcome.fuel);
                for problem in &outcome.problems {
                    println!("        {problem}");
                }
            }
            if explain && let Some(decision) = &outcome.decision {
                print_explanation(decision);
            }
        }
    }
    if passed + failed == 0 {
        bail!("no test cases in {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    fuel.sort_unstable();
    took.sort_unstable();
    println!(
        "fuel per decision: min {}, median {}, max {}; time per decision (fresh instance): median {} µs",
        run::report::group(fuel[0] as i64),
        run::report::group(fuel[fuel.len() / 2] as i64),
        run::report::group(fuel[fuel.len() - 1] as i64),
        took[took.len() / 2].as_micros()
    );
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_explanation(decision: &crate::sandbox::DecisionOutput) {
    let verdict = match &decision.category {
        Some(category) if decision.eligible => {
            format!("eligible, {} VND, {category}", run::report::group(decision.amount as i64))
        }
        _ => format!("not eligible ({})", decision.reasons.join(", ")),
    };
    println!("        → {verdict}");
    for line in &decision.explanation {
        println!("          vi: {}\n          en: {}\n          [{}]", line.vi, line.en, line.citation);
    }
}

/// A progress bar over a file's bytes (hidden when stderr is not a terminal).
fn byte_progress(file: &Path) -> impl Fn(u64, u64) + Sync {
    let bar = ProgressBar::new(0).with_message(format!("importing {}", file.display()));
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} ({eta})").expect("valid template"),
    );
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        if done == total {
            bar.finish_and_clear();
        }
    }
}

/// A progress bar over a count (hidden when stderr is not a terminal).
pub fn count_bar(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0).with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {human_pos}/{human_len} ({per_sec}, {eta})")
            .expect("valid template"),
    );
    bar
}
