//! The application: settings, the configuration file, the database and the
//! sandbox, built in one place for every front end (the CLI now, the HTTP API
//! later).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use ansinh_sandbox::{Limits, Sandbox};

use crate::config::Config;
use crate::registry::{self, Registry};
use crate::store::Db;

/// The longest name `--as` takes: far more than any person's name.
const MAX_ACTOR_CHARS: usize = 200;

/// Settings, from flags or the environment.
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Database: a SQLite file path (created if missing) or a postgres:// URL
    /// [default: ansinh.db; for `demo`, DIR/ansinh.db]
    #[arg(long, global = true, env = "ANSINH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Threads that evaluate plug-ins (default: one per core).
    #[arg(long, global = true, env = "ANSINH_WORKERS")]
    pub workers: Option<usize>,
    /// Where compiled plug-ins are cached (default: ~/.cache/ansinh).
    #[arg(long, global = true, env = "ANSINH_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Who is acting, recorded with every step that changes state (until accounts exist).
    #[arg(long = "as", value_name = "NAME", global = true, env = "ANSINH_USER")]
    pub acting_as: Option<String>,
    /// The configuration file: each province's treasury accounts
    /// [default: ansinh.toml, if there is one]
    #[arg(long, global = true, env = "ANSINH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Base URL of the population registry service runs verify against (default: the
    /// registry_people table, filled by `registry import`). Its bearer token is read from
    /// ANSINH_REGISTRY_TOKEN or --registry-token-file, never from a flag, which `ps` would show.
    #[arg(long, value_name = "URL", global = true, env = "ANSINH_REGISTRY_URL")]
    pub registry_url: Option<String>,
    /// A file holding the registry service's bearer token (instead of ANSINH_REGISTRY_TOKEN).
    #[arg(long, value_name = "FILE", global = true, env = "ANSINH_REGISTRY_TOKEN_FILE")]
    pub registry_token_file: Option<PathBuf>,
    /// Seconds one request to the registry service may take, connecting included, before it is
    /// retried.
    #[arg(long, value_name = "SECONDS", global = true, env = "ANSINH_REGISTRY_TIMEOUT", default_value_t = 30.0)]
    pub registry_timeout: f64,
}

/// Where the bearer token of the registry service is read from, unless a file is given.
const REGISTRY_TOKEN_ENV: &str = "ANSINH_REGISTRY_TOKEN";

/// What every front end works with, built in one place: the database, the
/// sandbox, the number of threads that decide, and the configuration file.
/// Each command builds one ([`App::connect`]) and the service will hold one for
/// its life.
pub struct App {
    pub db: Db,
    pub sandbox: Sandbox,
    pub workers: usize,
    /// The configuration file, read and checked.
    pub config: Config,
    settings: Settings,
}

impl App {
    pub async fn connect(settings: &Settings) -> anyhow::Result<App> {
        // Read first: a broken file is reported before anything is done.
        let config = Config::load(settings.config.as_deref())?;
        let db = Db::connect(settings.database_url.as_deref().unwrap_or("ansinh.db")).await?;
        let sandbox = App::sandbox(settings)?;
        // One per core, or as asked; never more than the sandbox decides at
        // once (its instance slots, at least one per core): a worker past
        // those would only wait for a slot.
        let workers = settings.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let workers = workers.min(sandbox.slots());
        Ok(App { config, db, sandbox, workers, settings: settings.clone() })
    }

    /// The population registry for one run: the service at `--registry-url` if one is given,
    /// else the registry table. Made afresh for each run, so that what the service answered is
    /// remembered for that run only.
    pub fn registry(&self) -> anyhow::Result<Arc<dyn Registry>> {
        let settings = &self.settings;
        let Some(url) = &settings.registry_url else {
            return Ok(Arc::new(registry::sql::Sql::new(self.db.clone())));
        };
        let token = match &settings.registry_token_file {
            Some(file) => {
                let reading = || format!("reading the registry token from --registry-token-file {}", file.display());
                let mut opened = std::fs::File::open(file).with_context(reading)?;
                // The token opens the whole population registry: the file must be this account's alone.
                crate::config::check_owner_only(file, &opened, "the registry service's bearer token")?;
                let mut token = String::new();
                std::io::Read::read_to_string(&mut opened, &mut token).with_context(reading)?;
                registry::http::Token::new(&token, &format!("--registry-token-file {}", file.display()))?
            }
            None => match std::env::var(REGISTRY_TOKEN_ENV) {
                Ok(token) => registry::http::Token::new(&token, REGISTRY_TOKEN_ENV)?,
                Err(_) => bail!(
                    "--registry-url {url}: the registry service needs a bearer token: set {REGISTRY_TOKEN_ENV}, or \
                     give --registry-token-file FILE (a file only this account can read)"
                ),
            },
        };
        let seconds = settings.registry_timeout;
        let timeout = Duration::try_from_secs_f64(seconds).ok().filter(|t| !t.is_zero());
        let timeout = timeout.with_context(|| format!("--registry-timeout {seconds}: expected seconds above 0"))?;
        Ok(Arc::new(registry::http::Http::new(url, token, timeout)?))
    }

    /// The sandbox alone, for commands that need no database.
    pub fn sandbox(settings: &Settings) -> anyhow::Result<Sandbox> {
        let cache = settings
            .cache_dir
            .clone()
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/ansinh")));
        Sandbox::new(Limits::default(), cache)
    }

    /// The acting person: every command that changes state records who acted.
    /// A name is recorded in the audit log and printed on every report that
    /// names who acted, so one that holds a control or bidirectional formatting
    /// character (which could rewrite what an approver reads), or that is
    /// longer than any name, is refused rather than escaped.
    pub fn actor(settings: &Settings) -> anyhow::Result<&str> {
        let name = settings
            .acting_as
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("this command records who acted: give --as NAME, or set ANSINH_USER"))?;
        if let Some((position, c)) = name.chars().enumerate().find(|&(_, c)| crate::format::hidden(c)) {
            anyhow::bail!(
                "--as {}: a name holds no control characters, and this one has U+{:04X} at character {}; \
                 give the name as it is written, e.g. --as \"Trần Thị Lan\"",
                crate::format::Shown(name),
                u32::from(c),
                position + 1
            );
        }
        if name.chars().count() > MAX_ACTOR_CHARS {
            anyhow::bail!(
                "--as: a name of at most {MAX_ACTOR_CHARS} characters, and this one has {}",
                name.chars().count()
            );
        }
        Ok(name)
    }
}
