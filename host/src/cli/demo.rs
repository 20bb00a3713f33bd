//! `ansinh demo`: the whole path on a synthetic province, in one command.
//!
//! Builds the national plug-in, generates a population ([`crate::synthetic`]),
//! imports it, creates, evaluates and issues a run, and prints what happened.
//! It writes its own configuration, `DIR/ansinh.toml`, with made-up treasury
//! accounts for the province (a bank one with the bank CSV, and an e-wallet
//! one), and its own national root key (`DIR/demo-root.pem`), trusted by that
//! configuration's `[trust]`, which certifies the key it signs with; so that it
//! needs nothing but the Rust toolchain and shows every file.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::progress;
use crate::accounts::{self, Act, Place};
use crate::app::{App, Settings};
use crate::audit::replay::{self, Replayer};
use crate::audit::verify;
use crate::authoring::build;
use crate::format::group;
use crate::identity::{names, provinces};
use crate::model::{Month, Outcome};
use crate::payment::outbox::Outbox;
use crate::release::certificate::Certificate;
use crate::release::{self, keys};
use crate::run;
use crate::store::{self, releases};
use crate::trail::person::PersonKey;
use crate::trail::{Actor, Auth};
use crate::{import, synthetic};

const PROGRAM: &str = "social-assistance";

#[derive(Args, Debug, Clone)]
pub struct DemoCommand {
    /// Folder for everything the demo makes: ansinh.db, ansinh.toml, the CSV files, its root and
    /// signing key pairs, its key's certificate and outbox/. Its database and outbox are started
    /// afresh, so it must be new or hold only an earlier demo's files: a folder with anything
    /// else is refused, and nothing in it touched.
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
    /// People in the synthetic population.
    #[arg(long, default_value_t = 10_000)]
    pub people: u64,
    /// The paying province (3-digit code).
    #[arg(long, default_value = "001")]
    pub province: String,
    /// The paid month, YYYY-MM.
    #[arg(long, default_value = "2024-09")]
    pub period: Month,
    /// Seed of the synthetic population: the same seed, the same people.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Use this plug-in component instead of building plugins/national-social-assistance.
    #[arg(long, requires = "cases")]
    pub plugin: Option<PathBuf>,
    /// The cases released with --plugin (approval runs them).
    #[arg(long)]
    pub cases: Option<PathBuf>,
    /// Then serve the demo's pages and API (`ansinh serve`), with a sign-in as each of the demo's
    /// people: on a loopback address only.
    #[arg(long)]
    pub serve: bool,
    /// Where --serve listens (a loopback address; port 0 takes a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", requires = "serve")]
    pub listen: String,
    /// Stop once the run is created, to be evaluated some other way: by `ansinh worker`s
    /// (`run evaluate 1 --queue`), or by hand, step by step.
    #[arg(long, conflicts_with = "serve")]
    pub until_created: bool,
}

impl DemoCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let options = self;
        let started = Instant::now();
        let dir = &options.dir;
        let mut settings = settings.clone();
        // Before anything is written or removed: the folder must be new, or an earlier demo's.
        check_demo_dir(dir)?;
        if settings.database_url.is_none() {
            start_afresh(dir)?;
            settings.database_url = Some(dir.join("ansinh.db").display().to_string());
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // The demo's own national root: its configuration trusts it, and it certifies the demo's key.
        let root = demo_key_pair(&dir.join(DEMO_ROOT))?;
        settings.config = Some(write_demo_config(dir, &options.province, &root.verifying_key())?);
        let mut stages = Vec::new();

        let (plugin, cases) = match (&options.plugin, &options.cases) {
            (Some(path), Some(cases)) => (path.clone(), cases.clone()),
            _ => {
                let source = national_plugin_dir()?;
                (timed(&mut stages, "build plug-in", || build::build(&source))?, source.join("cases.yaml"))
            }
        };

        let (registry_csv, enrolment_csv) = (dir.join("registry.csv"), dir.join("enrolment.csv"));
        let population = timed(&mut stages, "generate", || generate(&options, &registry_csv, &enrolment_csv))?;

        let app = App::connect(&settings).await?;
        // The demo signs with a throwaway key and made-up officers: fine in its own
        // database, not in one that already holds releases or keys.
        if !releases::list(&app.db).await?.is_empty() || !store::keys::list(&app.db).await?.is_empty() {
            anyhow::bail!(
                "this database already holds plug-in releases or signing keys: the demo releases its plug-in with a \
             throwaway key and two made-up officers, so it runs only on an empty database (leave out \
             --database-url / ANSINH_DATABASE_URL to use its own)"
            );
        }
        let cast = Cast::make(&app.db, dir, &options.province).await?;
        let t = Instant::now();
        let quiet = |_: u64, _: u64| {};
        // The demo's officer is of the demo's province, and so is every enrolment it makes.
        let covers = |province: &str| province == options.province;
        let scope = format!("province:{}", options.province);
        let refuse = |file: &Path| import::Options {
            bad_rows: import::BadRows::refuse(file),
            by: &cast.officer,
            covers: &covers,
            scope: scope.clone(),
            name: None,
        };
        import::registry(&app.db, &registry_csv, &refuse(&registry_csv), &quiet).await?;
        import::beneficiaries(&app.db, &enrolment_csv, &refuse(&enrolment_csv), &quiet).await?;
        stages.push(("import", t.elapsed()));

        let t = Instant::now();
        let release = release_with_demo_key(&app, &cast, &root, dir, &plugin, &cases, options.period).await?;
        stages.push(("release", t.elapsed()));

        let t = Instant::now();
        let (db, sandbox, trusted) = (&app.db, &app.sandbox, app.config.root()?);
        let (province, period) = (&options.province, options.period);
        let run_id = run::create(db, sandbox, trusted, PROGRAM, province, period, None, &cast.officer).await?;
        if options.until_created {
            let (config, token) = (dir.join("ansinh.toml"), dir.join("demo-officer.token"));
            sayln!(
                "Run {run_id} is created, for {} people. Evaluate it here, or queue it for `ansinh worker`s started \
                 with --config {}:\n  ansinh --config {} --token-file {} run evaluate {run_id} [--queue]",
                group(options.people as i64),
                config.display(),
                config.display(),
                token.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        let bar = progress::count("deciding");
        // The demo's people are in the registry table it has just imported, whatever --registry-url says.
        let table = std::sync::Arc::new(crate::registry::sql::Sql::new(app.db.clone()));
        let progress = progress::of(&bar);
        let crew = run::Crew::new(app.workers)?;
        let evaluated = run::evaluate(db, sandbox, trusted, table, run_id, &crew, &cast.officer, &progress).await?;
        bar.finish_and_clear();
        stages.push(("evaluate", t.elapsed()));

        // Four eyes: a second account, an approver, approves what the officer evaluated.
        let t = Instant::now();
        let tally = run::approve::proposal(&app.db, run_id).await??.tally;
        run::approve(&app.db, run_id, &tally.checksum, &cast.approver).await?;
        stages.push(("approve", t.elapsed()));

        let t = Instant::now();
        let outbox = Outbox::open(&dir.join(DEMO_OUTBOX))?;
        let bar = progress::count("issuing");
        let issued = run::issue(&app.db, run_id, &outbox, &app.config, &cast.officer, &progress::of(&bar)).await?;
        bar.finish_and_clear();
        stages.push(("issue", t.elapsed()));

        // What an auditor would do next: verify the log, replay every decision.
        let t = Instant::now();
        let verified = verify::verify(&app.db, Some(app.config.root()?), &[], &|_| {}).await?;
        let replayer = Replayer::new(app.sandbox.limits(), app.workers, 5)?;
        let replayed = replay::replay_in(&app.db, &replayer, run_id, None, &|_| {}).await?;
        stages.push(("audit", t.elapsed()));

        let report = run::report(&app.db, run_id, run::report::LISTED).await?;
        let province = provinces::name(&options.province).unwrap_or("?");
        sayln!(
            "ansinh demo: {PROGRAM}, province {} {province}, {}, {} people (seed {})\n",
            options.province,
            options.period,
            group(population.people as i64),
            options.seed
        );
        say!("{report}");
        let rate = evaluated.decided as f64 / evaluated.elapsed.as_secs_f64().max(1e-9);
        sayln!("\nTime:");
        for (stage, took) in &stages {
            sayln!("  {stage:<14} {:>8.2} s", took.as_secs_f64());
        }
        sayln!(
            "  {:<14} {:>8.2} s  ({} decisions/s in evaluation)",
            "in all",
            started.elapsed().as_secs_f64(),
            group(rate as i64)
        );
        sayln!("\nFiles:");
        sayln!("  {}", settings.database_url.as_deref().unwrap_or_default());
        sayln!("  {}  (made-up treasury accounts; [trust]: the demo's root key)", app.config.path.display());
        sayln!("  {}  (the demo's national root key, which certified its signing key)", dir.join(DEMO_ROOT).display());
        for person in std::iter::once(DEMO_ADMIN).chain(DEMO_PEOPLE) {
            sayln!("  {}  (the token of {person}: --token-file)", dir.join(format!("{person}.token")).display());
        }
        sayln!("  {}\n  {}", registry_csv.display(), enrolment_csv.display());
        sayln!(
            "  {}  (release {release}, signed with {}, certified by {})",
            plugin.display(),
            dir.join(DEMO_KEY).display(),
            dir.join(DEMO_CERTIFICATE).display()
        );
        super::run::print_files(&issued);
        sayln!("\nAudit (`ansinh audit verify`, `ansinh audit replay {run_id}`):");
        let verdict = super::audit::print_verified(&verified);
        sayln!("Replay of run {run_id}:");
        let replay_verdict = super::audit::print_report(&replayed, replayed.decisions, None);
        let paid = report.count(Outcome::Payable);
        let audited = verdict == ExitCode::SUCCESS && replay_verdict == ExitCode::SUCCESS;
        if !(paid > 0 && audited) {
            app.db.close().await;
            return Ok(ExitCode::FAILURE);
        }
        if options.serve {
            serve(app, &options.listen, dir).await?;
        } else {
            app.db.close().await;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `demo --serve`: the service over the demo's database, its pages offering
/// a sign-in as each of the demo's people, on `listen` (loopback only).
async fn serve(app: App, listen: &str, dir: &Path) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("--listen {listen}: cannot listen there"))?;
    let bound = listener.local_addr()?;
    anyhow::ensure!(
        bound.ip().is_loopback(),
        "--listen {listen}: the demo's sign-in lets anyone who reaches it act as the demo's people, so it \
         listens on a loopback address only (127.0.0.1 or [::1])"
    );
    sayln!("\nThe demo's pages: http://{bound}/ (sign in as {}); Ctrl-C stops.", DEMO_PEOPLE.join(", "));
    sayln!("Listening on http://{bound}");
    let options = crate::server::Options {
        lease: std::time::Duration::from_secs(30),
        outbox: dir.join("outbox"),
        demo_sign_in: true,
        worker: true,
    };
    crate::server::serve(app, listener, options).await
}

/// The demo's accounts, made in its own fresh database: an admin (`accounts
/// init`), who makes an officer (and auditor) of the province, and a national
/// approver and author. The demo acts as them in this process; each is
/// checked by the same rule as the CLI's and the API's for what it does. Each
/// makes a token of its own, as one signed in would, which the demo writes
/// to `DIR/NAME.token` (owner-only), as it writes the admin's, so that the
/// demo's database can be worked on further from the command line
/// (`--token-file`).
struct Cast {
    officer: Actor,
    approver: Actor,
    author: Actor,
}

impl Cast {
    async fn make(db: &store::Db, dir: &Path, province: &str) -> anyhow::Result<Cast> {
        let (_, token) = accounts::init(db, DEMO_ADMIN).await?;
        let file = dir.join(format!("{DEMO_ADMIN}.token"));
        write_owner_only(&file, format!("{token}\n").as_bytes())
            .with_context(|| format!("writing {}", file.display()))?;
        let admin = accounts::authenticate(db, &token.to_string()).await?.map_err(anyhow::Error::new)?;
        let scope = format!("province:{province}");
        let officer = Cast::person(db, dir, &admin, DEMO_PEOPLE[0], &["officer", "auditor"], &scope).await?;
        accounts::allow(&officer, Act::WorkRun, Place::Province(province), "the demo's run")?;
        let approver = Cast::person(db, dir, &admin, DEMO_PEOPLE[1], &["approver"], "national").await?;
        accounts::allow(&approver, Act::DecideRun, Place::Province(province), "the demo's run")?;
        let author = Cast::person(db, dir, &admin, DEMO_PEOPLE[2], &["author"], "national").await?;
        accounts::allow(&author, Act::Author, Place::Authority("national"), "the demo's release")?;
        Ok(Cast { officer: officer.actor, approver: approver.actor, author: author.actor })
    }

    /// A person's account, made by `admin`, and its token in `DIR/NAME.token`.
    async fn person(
        db: &store::Db,
        dir: &Path,
        admin: &accounts::Caller,
        name: &str,
        roles: &[&str],
        scope: &str,
    ) -> anyhow::Result<accounts::Caller> {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let new = accounts::NewAccount {
            name: name.to_owned(),
            kind: "person".to_owned(),
            roles: roles.clone(),
            scopes: vec![scope.to_owned()],
        };
        let id = accounts::create(db, admin, new).await?.map_err(anyhow::Error::new)?;
        let person = accounts::Caller {
            actor: Actor { account: id, name: name.to_owned(), auth: Auth::Demo },
            kind: "person".to_owned(),
            roles,
            scopes: vec![scope.to_owned()],
        };
        let (token, _) = accounts::make_token(db, &person, id, "demo", 30).await?.map_err(anyhow::Error::new)?;
        let file = dir.join(format!("{name}.token"));
        write_owner_only(&file, format!("{token}\n").as_bytes())
            .with_context(|| format!("writing {}", file.display()))?;
        Ok(person)
    }
}

/// The demo's signing key, in its folder.
const DEMO_KEY: &str = "demo-key.pem";

/// The demo's national root key, which its configuration trusts.
const DEMO_ROOT: &str = "demo-root.pem";

/// The demo root's certificate of the demo's signing key.
const DEMO_CERTIFICATE: &str = "demo-key.cert";

/// The demo's first account, an admin: it makes the others (and more, with its token).
const DEMO_ADMIN: &str = "demo-admin";

/// The demo's people: an officer of its province, a national approver and author.
const DEMO_PEOPLE: [&str; 3] = ["demo-officer", "demo-approver", "demo-author"];

/// Release the plug-in as a province would (README, "Authoring a rule
/// plug-in"), by the demo's author and approver with a key made for the demo
/// and certified by the demo's `root`: upload, sign, approve (its cases run),
/// activate from the demo's month.
async fn release_with_demo_key(
    app: &App,
    cast: &Cast,
    root: &ed25519_dalek::SigningKey,
    dir: &Path,
    plugin: &Path,
    cases: &Path,
    from: Month,
) -> anyhow::Result<i64> {
    let (author, approver) = (&cast.author, &cast.approver);
    let bytes = std::fs::read(plugin).with_context(|| format!("reading {}", plugin.display()))?;
    let yaml = std::fs::read_to_string(cases).with_context(|| format!("reading {}", cases.display()))?;
    let id = release::upload(&app.db, &app.sandbox, &bytes, &yaml, &cases.display().to_string(), None, author).await?;
    let authority = releases::get(&app.db, id).await?.authority;
    let key = demo_key_pair(&dir.join(DEMO_KEY))?;
    let certificate = Certificate::issue(root, &authority, &key.verifying_key(), None, chrono::Utc::now())?;
    let certificate_file = dir.join(DEMO_CERTIFICATE);
    remove_old(&certificate_file)?;
    keys::write_new(&certificate_file, certificate.to_text().as_bytes(), 0o644)?;
    let trusted = app.config.root()?;
    let text = certificate.to_text();
    release::register_key(&app.db, trusted, &authority, &key.verifying_key(), &text, author).await?;
    release::sign(&app.db, trusted, id, &key, author).await?;
    release::approve(&app.db, &app.sandbox, trusted, id, approver, 1.5).await?;
    release::activate(&app.db, &app.sandbox, trusted, id, from, approver).await?;
    Ok(id)
}

/// A fresh key pair at `file` (and its `.pub`): a demo's keys are made afresh
/// each time; real keys are never replaced.
fn demo_key_pair(file: &Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    remove_old(file)?;
    remove_old(&file.with_extension("pub"))?;
    let key = keys::generate()?;
    keys::write_pair(file, &key)?;
    Ok(key)
}

/// Remove what an earlier demo left at `path`, if anything.
fn remove_old(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("removing the old {}", path.display()))?;
    }
    Ok(())
}

/// What a demo writes into its folder, and so all that an earlier demo's
/// folder may hold: its database (SQLite, with its journal files), its
/// configuration, the synthetic CSV files (and the rejects of an import that
/// refused them), its signing key pair and its outbox.
const DEMO_FILES: &[&str] = &[
    "ansinh.db",
    "ansinh.db-wal",
    "ansinh.db-shm",
    "ansinh.db-journal",
    "ansinh.toml",
    "registry.csv",
    "enrolment.csv",
    "registry.rejects.csv",
    "enrolment.rejects.csv",
    DEMO_KEY,
    "demo-key.pub",
    DEMO_CERTIFICATE,
    DEMO_ROOT,
    "demo-root.pub",
    "demo-admin.token",
    "demo-officer.token",
    "demo-approver.token",
    "demo-author.token",
];

/// The demo's outbox, under its folder.
const DEMO_OUTBOX: &str = "outbox";

/// Refuse a `dir` that holds anything but what an earlier demo wrote there:
/// the demo removes its old database and outbox and overwrites its files, so
/// pointed at a folder of real work it would destroy it. Nothing is touched
/// before this check; the error names what does not belong.
fn check_demo_dir(dir: &Path) -> anyhow::Result<()> {
    let shown = dir.display();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("--dir {shown}: reading the folder")),
    };
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("--dir {shown}: reading the folder"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // As the entry itself is, a link not followed: a link named like a
        // demo file is not one the demo wrote.
        let kind = entry.file_type().with_context(|| format!("--dir {shown}: reading {name}"))?;
        if name == DEMO_OUTBOX && kind.is_dir() {
            foreign_in_outbox(&entry.path(), &mut foreign)?;
        } else if !(kind.is_file() && DEMO_FILES.contains(&name.as_str())) {
            foreign.push(name);
        }
    }
    if !foreign.is_empty() {
        foreign.sort();
        let shown_names = foreign.iter().take(10).map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
        let more = if foreign.len() > 10 { format!(" and {} more", foreign.len() - 10) } else { String::new() };
        anyhow::bail!(
            "--dir {shown} holds {shown_names}{more}, which an earlier demo did not write: the demo starts its \
             folder afresh (its database and outbox are removed, its files rewritten), so it runs only in a new \
             folder or one an earlier demo made. Nothing was changed; choose another --dir"
        );
    }
    Ok(())
}

/// Name in `foreign`, as `outbox/NAME`, what the outbox at `path` holds
/// besides the payment files a run writes (and their partial files).
fn foreign_in_outbox(path: &Path, foreign: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
        let entry = entry.with_context(|| format!("reading {}", path.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = name.strip_prefix('.').and_then(|n| n.strip_suffix(".partial")).unwrap_or(&name);
        let run_file = ["pain001-run", "bank-run", "vnpost-run"].iter().any(|p| file.starts_with(p));
        if !(run_file && entry.file_type().is_ok_and(|t| t.is_file())) {
            foreign.push(format!("{DEMO_OUTBOX}/{name}"));
        }
    }
    Ok(())
}

/// Remove what an earlier demo left in `dir` (its database and outbox only).
fn start_afresh(dir: &Path) -> anyhow::Result<()> {
    for name in ["ansinh.db", "ansinh.db-wal", "ansinh.db-shm"] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("removing the old {}", path.display()))?;
        }
    }
    let outbox = dir.join(DEMO_OUTBOX);
    if outbox.exists() {
        std::fs::remove_dir_all(&outbox).with_context(|| format!("removing the old {}", outbox.display()))?;
    }
    Ok(())
}

/// The national plug-in's source, in this checkout.
fn national_plugin_dir() -> anyhow::Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/national-social-assistance");
    anyhow::ensure!(
        dir.join("Cargo.toml").is_file(),
        "the national plug-in's source is not at {}; pass a built plug-in with --plugin FILE.wasm",
        dir.display()
    );
    Ok(dir)
}

fn generate(options: &DemoCommand, registry: &Path, enrolment: &Path) -> anyhow::Result<synthetic::Summary> {
    let spec = synthetic::Spec {
        seed: options.seed,
        people: options.people,
        province: options.province.clone(),
        period: options.period,
    };
    let create = |path: &Path| {
        std::fs::File::create(path).map(BufWriter::new).with_context(|| format!("creating {}", path.display()))
    };
    synthetic::generate(&spec, create(registry)?, create(enrolment)?)
}

/// The demo's configuration: made-up treasury accounts for `province`, a
/// bank one whose bank also takes the bank CSV and an e-wallet one, an
/// audit key, and the demo's `root` key as the one trusted. Its path.
fn write_demo_config(dir: &Path, province: &str, root: &ed25519_dalek::VerifyingKey) -> anyhow::Result<PathBuf> {
    let name = provinces::name(province)
        .map(names::fold)
        .ok_or_else(|| anyhow::anyhow!("--province {province:?}: expected a 3-digit province code of identity.md"))?;
    let holder = format!("KHO BAC NHA NUOC {name} (DEMO)");
    let text = format!(
        "# Written by `ansinh demo`: made-up treasury accounts, for the demo only.\n\
         [treasury.\"{province}\"]\nholder = \"{holder}\"\naccount = \"3711000000001\"\nbin = \"970415\"\n\
         bank_csv = true\n\n\
         [treasury.\"{province}\".ewallet]\nholder = \"{holder}\"\naccount = \"3711000000002\"\nbin = \"970415\"\n\n\
         # The key people are hashed under in the audit trail: a fresh one for each demo.\n\
         [audit]\nperson_key = \"{key}\"\n\n\
         # The national root key signing keys must be certified by: the demo's own ({DEMO_ROOT}).\n\
         [trust]\nroot_public_key = \"{root}\"\n",
        key = PersonKey::generate()?,
        root = hex::encode(root.as_bytes())
    );
    let path = dir.join("ansinh.toml");
    write_owner_only(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Write `bytes` to `path`, readable by its owner only: the demo's
/// configuration holds its person key, and a configuration with a secret that
/// others may read is refused ([`crate::config::check_owner_only`]).
fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // A file an earlier demo left keeps its mode when opened: set it.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)
}

fn timed<T>(
    stages: &mut Vec<(&'static str, Duration)>,
    stage: &'static str,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let t = Instant::now();
    let out = f()?;
    stages.push((stage, t.elapsed()));
    Ok(out)
}
