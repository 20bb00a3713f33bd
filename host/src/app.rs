//! The application: settings, the configuration file, the database and the
//! sandbox, built in one place for every front end (the CLI now, the HTTP API
//! later).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use ansinh_sandbox::{Limits, Sandbox};

use crate::accounts::{self, Act, Caller, Place};
use crate::config::Config;
use crate::registry::{self, Registry};
use crate::store::{Db, Schema};

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
    /// A file holding the token of the account that acts (instead of ANSINH_TOKEN). The token is
    /// never a flag, which `ps` would show.
    #[arg(long, value_name = "FILE", global = true, env = "ANSINH_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
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
    /// What connecting does to the database's schema: `migrate` applies what it lacks; `check`
    /// refuses one that lacks any migration (where only `ansinh migrate` changes the schema).
    #[arg(long, global = true, env = "ANSINH_MIGRATE", value_enum, default_value_t = Schema::Migrate)]
    pub migrate: Schema,
    /// How logs are written to standard error: `text` for people, `json` (one object a line,
    /// with the spans' run, shard, job and request ids) for a log collector.
    #[arg(long, global = true, env = "ANSINH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the token of the account that acts is read from, unless a file is given.
const TOKEN_ENV: &str = "ANSINH_TOKEN";

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
        let db = Db::open(settings.database_url.as_deref().unwrap_or("ansinh.db"), settings.migrate).await?;
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

    /// The account acting: the token in ANSINH_TOKEN or `--token-file`,
    /// checked against the database as the API checks a bearer token.
    pub async fn caller(&self) -> anyhow::Result<Caller> {
        let (token, source) = match &self.settings.token_file {
            Some(file) => {
                let reading = || format!("reading the token from --token-file {}", file.display());
                let mut opened = std::fs::File::open(file).with_context(reading)?;
                // The token acts as its account: the file must be this account's alone.
                crate::config::check_owner_only(file, &opened, "an account's token")?;
                let mut token = String::new();
                std::io::Read::read_to_string(&mut opened, &mut token).with_context(reading)?;
                (token, format!("--token-file {}", file.display()))
            }
            None => match std::env::var(TOKEN_ENV) {
                Ok(token) => (token, TOKEN_ENV.to_owned()),
                Err(_) => bail!(
                    "this command acts as an account: set {TOKEN_ENV} to your token, or give --token-file FILE (a \
                     file only you can read). An admin makes accounts; `ansinh accounts init NAME` makes the first"
                ),
            },
        };
        match accounts::authenticate(&self.db, &token).await? {
            Ok(caller) => Ok(caller),
            Err(refused) => bail!("{source}: {refused}"),
        }
    }

    /// The account acting, if it may do `act` at `place` (`accounts::policy`,
    /// the rule the API applies too); `what` names the thing acted on.
    pub async fn acting(&self, act: Act, place: Place<'_>, what: &str) -> anyhow::Result<Caller> {
        let caller = self.caller().await?;
        accounts::allow(&caller, act, place, what)?;
        Ok(caller)
    }

    /// The account acting on run `id`, if it may do `act` there.
    pub async fn acting_on_run(&self, act: Act, id: i64) -> anyhow::Result<Caller> {
        let caller = self.caller().await?;
        accounts::run_in_scope(&self.db, &caller, act, id).await??;
        Ok(caller)
    }
}
