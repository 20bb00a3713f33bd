//! `ansinh plugin …`: write a plug-in (new, build, test, inspect) and release
//! it (upload, sign, approve, activate, retire, releases).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use ansinh_sandbox::{CONTRACT, DecisionOutput, Plugin};
use anyhow::{Context, bail};
use clap::Subcommand;

use crate::accounts::{Act, Place};
use crate::app::{App, Settings};
use crate::authoring::{build, cases, scaffold};
use crate::format::{Shown, group};
use crate::identity::provinces;
use crate::model::Month;
use crate::release::{self, keys};
use crate::run::WhatIf;
use crate::store::{self, Db, releases};
use crate::trail::Actor;

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
pub enum ReleaseCommand {
    /// Upload a plug-in with its own test cases as a new release; prints the
    /// release's id. Needs an author of its authority.
    Upload {
        /// The plug-in component (.wasm).
        plugin: PathBuf,
        /// The YAML cases shipped with the release (approval runs them).
        #[arg(long)]
        cases: PathBuf,
        /// The programme, when the plug-in serves more than one.
        #[arg(long)]
        program: Option<String>,
    },
    /// Sign an uploaded release with the authority's secret key (needs an author of its
    /// authority); or, with --plugin and --cases instead of RELEASE, sign offline the release
    /// that uploading them makes, and write the signature to --out for the service
    /// (`POST /v1/releases/ID/signature`, or the author's page): no database, no account.
    Sign {
        #[arg(required_unless_present = "plugin", conflicts_with_all = ["plugin", "cases", "out", "program"])]
        release: Option<i64>,
        /// The secret key file of `ansinh keys generate`.
        #[arg(long)]
        key: PathBuf,
        /// Offline: the plug-in component (.wasm) to be uploaded.
        #[arg(long, requires_all = ["cases", "out"])]
        plugin: Option<PathBuf>,
        /// Offline: its cases file, byte for byte as it is uploaded.
        #[arg(long, requires = "plugin")]
        cases: Option<PathBuf>,
        /// Offline: the programme, when the plug-in serves more than one.
        #[arg(long, requires = "plugin")]
        program: Option<String>,
        /// Offline: where to write the signature (JSON), e.g. release.sig.json.
        #[arg(long, requires = "plugin")]
        out: Option<PathBuf>,
    },
    /// Approve a signed release after running its cases and comparing its fuel
    /// with the active release's; a person who neither uploaded nor signed it. Needs an approver of its authority.
    Approve {
        release: i64,
        /// Refuse if the cases take more than this many times the fuel of the
        /// active release of the same authority and programme.
        #[arg(long, default_value_t = 1.5, value_parser = fuel_growth)]
        max_fuel_growth: f64,
    },
    /// Put an approved release in force from a month (YYYY-MM). Needs an approver of its authority.
    Activate {
        release: i64,
        #[arg(long)]
        from: Month,
    },
    /// Retire (or withdraw) a release: it is chosen for no month any more. Needs an approver of its authority.
    Retire { release: i64 },
    /// List releases with their state and effective month.
    Releases,
}

/// A growth factor: a finite number of at least 1.
fn fuel_growth(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(factor) if factor.is_finite() && factor >= 1.0 => Ok(factor),
        _ => Err(format!("expected a number of at least 1, e.g. 1.5, not {text:?}")),
    }
}

impl PluginCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        match self {
            PluginCommand::New { name, province, program } => {
                let workspace = scaffold::find_workspace(Path::new("."))?;
                let dir = scaffold::new_plugin(&workspace, &name, &province, &program)?;
                let shown = dir.strip_prefix(&workspace).unwrap_or(&dir).display().to_string();
                esayln!("Created {shown}: edit src/lib.rs and cases.yaml, then");
                esayln!("  ansinh plugin build {shown}");
                esayln!("  ansinh plugin test --explain --plugin target/plugins/{name}.wasm {shown}/cases.yaml");
                sayln!("{}", dir.display());
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Build { dir } => {
                let path = build::build(&dir)?;
                sayln!("{}", path.display());
                Ok(ExitCode::SUCCESS)
            }
            PluginCommand::Test { plugin, cases, explain } => test(settings, &plugin, &cases, explain),
            PluginCommand::Inspect { plugin } => inspect(settings, &plugin),
            PluginCommand::Release(command) => command.execute(settings).await,
        }
    }
}

impl ReleaseCommand {
    async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        if let ReleaseCommand::Sign { release: None, key, plugin: Some(plugin), cases: Some(cases), program, out } =
            self
        {
            let out = out.context("--out FILE: where to write the signature")?;
            return sign_offline(settings, &plugin, &cases, program.as_deref(), &key, &out);
        }
        let app = App::connect(settings).await?;
        let (db, sandbox) = (&app.db, &app.sandbox);
        match self {
            ReleaseCommand::Upload { plugin, cases, program } => {
                let bytes =
                    std::fs::read(&plugin).with_context(|| format!("reading the plug-in {}", plugin.display()))?;
                let loaded = sandbox.load(&bytes).with_context(|| format!("uploading {}", plugin.display()))?;
                let authority = release::authority_of(&loaded);
                let what = format!("authority {authority}");
                let by = app.acting(Act::Author, Place::Authority(&authority), &what).await?.actor;
                let yaml = std::fs::read_to_string(&cases).with_context(|| format!("reading {}", cases.display()))?;
                let source = cases.display().to_string();
                let id = release::upload(db, sandbox, &bytes, &yaml, &source, program.as_deref(), &by)
                    .await
                    .with_context(|| format!("uploading {}", plugin.display()))?;
                esayln!("Uploaded release {id}; next: `ansinh plugin sign {id} --key FILE`.");
                sayln!("{id}");
            }
            ReleaseCommand::Sign { release, key, .. } => {
                let id = release.context("which release: give its id, or --plugin and --cases to sign offline")?;
                let by = acting_on_release(&app, Act::Author, id).await?;
                let key = keys::read_secret(&key)?;
                let key_id = release::sign(db, app.config.root()?, id, &key, &by).await?;
                esayln!("Signed release {id} with key {key_id}; next: a second person approves it.");
            }
            ReleaseCommand::Approve { release: id, max_fuel_growth } => {
                let by = acting_on_release(&app, Act::DecideRelease, id).await?;
                let approval = release::approve(db, sandbox, app.config.root()?, id, &by, max_fuel_growth).await?;
                sayln!("Approved release {id}: {approval}.");
                print_what_ifs(db, id).await?;
            }
            ReleaseCommand::Activate { release: id, from } => {
                let by = acting_on_release(&app, Act::DecideRelease, id).await?;
                release::activate(db, sandbox, app.config.root()?, id, from, &by).await?;
                sayln!("Release {id} is in force from {from}.");
            }
            ReleaseCommand::Retire { release: id } => {
                let by =
                    acting_on_release(&app, release::act_to_retire(releases::get(db, id).await?.state), id).await?;
                release::retire(db, id, &by).await?;
                sayln!("Release {id} is retired.");
            }
            ReleaseCommand::Releases => {
                app.acting(Act::ReadReleases, Place::Anywhere, "release").await?;
                for r in releases::list(db).await? {
                    let name = store::plugins::name(db, r.plugin_hash).await?.to_string();
                    let name = Shown(&name);
                    let from = r.effective_from.map(|m| format!("from {m}")).unwrap_or_default();
                    let approval = r.approval.map(|a| format!("\n      approval {a}")).unwrap_or_default();
                    sayln!(
                        "{:>4}  {:<9} {:<8}  {:<18}  {name}  {from}\n      sha256 {}  uploaded by {}{}{}{approval}",
                        r.id,
                        r.state.as_str(),
                        r.authority,
                        r.program,
                        r.plugin_hash,
                        Shown(&r.uploaded_by),
                        r.signed_by.map(|s| format!(", signed by {}", Shown(&s))).unwrap_or_default(),
                        r.approved_by.map(|a| format!(", approved by {}", Shown(&a))).unwrap_or_default(),
                    );
                }
            }
        }
        app.db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}

/// `plugin sign --plugin --cases --out`: sign, with no database, the release that uploading the
/// plug-in with its cases makes; the signature goes to `out`, for the service.
fn sign_offline(
    settings: &Settings,
    plugin: &Path,
    cases: &Path,
    program: Option<&str>,
    key: &Path,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(plugin).with_context(|| format!("reading the plug-in {}", plugin.display()))?;
    let yaml = std::fs::read_to_string(cases).with_context(|| format!("reading {}", cases.display()))?;
    let sandbox = App::sandbox(settings)?;
    let detached = release::sign_detached(&sandbox, &bytes, &yaml, program, &keys::read_secret(key)?)
        .with_context(|| format!("signing {}", plugin.display()))?;
    let mut json = serde_json::to_vec_pretty(&detached)?;
    json.push(b'\n');
    keys::write_new(out, &json, 0o644)?;
    esayln!(
        "Signed {} ({} for {}) with key {}; upload the plug-in and its cases, then give {} as the release's \
         signature.",
        plugin.display(),
        detached.program,
        detached.authority,
        detached.key,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The account acting on release `id`, if it may do `act` for the release's authority.
async fn acting_on_release(app: &App, act: Act, id: i64) -> anyhow::Result<Actor> {
    let caller = app.caller().await?;
    crate::accounts::release_in_scope(&app.db, &caller, act, id).await??;
    Ok(caller.actor)
}

/// What `run diff` found for a release's plug-in over past runs, as recorded: what its approver
/// should have seen.
async fn print_what_ifs(db: &Db, id: i64) -> anyhow::Result<()> {
    let hash = releases::get(db, id).await?.plugin_hash.to_string();
    let entries = store::audit::what_ifs(db, &hash).await?;
    if entries.is_empty() {
        sayln!(
            "No what-if of this plug-in is on record: `ansinh run diff RUN --plugin FILE` shows what it would change."
        );
    }
    for e in entries {
        let summary = serde_json::from_str(&e.details).unwrap_or_default();
        sayln!("What-if over {} ({}, {}): {}", e.subject, Shown(&e.actor), e.at, WhatIf::summary_line(&summary));
    }
    Ok(())
}

/// Read and load a plug-in component; errors name the file.
fn load_plugin(settings: &Settings, path: &Path) -> anyhow::Result<(Vec<u8>, Arc<Plugin>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading the plug-in {}", path.display()))?;
    let sandbox = App::sandbox(settings)?;
    let plugin = sandbox.load(&bytes).with_context(|| format!("loading the plug-in {}", path.display()))?;
    Ok((bytes, plugin))
}

fn inspect(settings: &Settings, path: &Path) -> anyhow::Result<ExitCode> {
    let (bytes, plugin) = load_plugin(settings, path)?;
    let d = plugin.description();
    let scope = match &d.province {
        None => "national".to_owned(),
        Some(code) => format!("province {code} {}", provinces::name(code).unwrap_or("(unknown code)")),
    };
    sayln!("{} {}", Shown(&d.name), Shown(&d.version));
    sayln!("  contract  {}", CONTRACT);
    sayln!("  scope     {scope}");
    sayln!("  programs  {}", Shown(&d.programs.join(", ")));
    sayln!("  reads     {}", Shown(&d.reads.join(", ")));
    sayln!("  size      {} bytes", group(bytes.len() as i64));
    sayln!("  sha256    {}", plugin.hash());
    Ok(ExitCode::SUCCESS)
}

fn test(settings: &Settings, plugin: &Path, files: &[PathBuf], explain: bool) -> anyhow::Result<ExitCode> {
    let (_, plugin) = load_plugin(settings, plugin)?;
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
                sayln!("ok    {}  (fuel {})", Shown(&case.name), outcome.fuel);
            } else {
                failed += 1;
                sayln!("FAIL  {}  ({}, case {}; fuel {})", Shown(&case.name), file.display(), index + 1, outcome.fuel);
                for problem in &outcome.problems {
                    sayln!("        {}", Shown(&problem.to_string()));
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
    sayln!(
        "fuel per decision: min {}, median {}, max {}; time per decision (fresh instance): median {} µs",
        group(fuel[0] as i64),
        group(fuel[fuel.len() / 2] as i64),
        group(fuel[fuel.len() - 1] as i64),
        took[took.len() / 2].as_micros()
    );
    sayln!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_explanation(decision: &DecisionOutput) {
    let verdict = match &decision.category {
        Some(category) if decision.eligible => {
            format!("eligible, {} VND, {}", group(decision.amount as i64), Shown(category))
        }
        _ => format!("not eligible ({})", Shown(&decision.reasons.join(", "))),
    };
    sayln!("        → {verdict}");
    for line in &decision.explanation {
        sayln!(
            "          vi: {}\n          en: {}\n          [{}]",
            Shown(&line.vi),
            Shown(&line.en),
            Shown(&line.citation)
        );
    }
}
