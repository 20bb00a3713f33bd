//! The application: settings, the database and the sandbox, built in one place
//! for every front end (the CLI now, the HTTP API later).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::identity::provinces;
use crate::model::Month;
use crate::sandbox::{Limits, Sandbox};
use crate::store::{Db, plugins, runs};

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
}

pub struct App {
    pub db: Db,
    pub sandbox: Sandbox,
    pub workers: usize,
}

impl App {
    pub async fn connect(settings: &Settings) -> anyhow::Result<App> {
        Ok(App {
            db: Db::connect(settings.database_url.as_deref().unwrap_or("ansinh.db")).await?,
            sandbox: App::sandbox(settings)?,
            workers: settings.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        })
    }

    /// The sandbox alone, for commands that need no database.
    pub fn sandbox(settings: &Settings) -> anyhow::Result<Sandbox> {
        let cache = settings
            .cache_dir
            .clone()
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/ansinh")));
        Sandbox::new(Limits::default(), cache)
    }

    /// Create a run decided by the plug-in at `plugin_path`, after checking that
    /// the plug-in loads and serves this programme and province.
    pub async fn create_run(
        &self,
        program: &str,
        province: &str,
        period: Month,
        plugin_path: &Path,
    ) -> anyhow::Result<i64> {
        if !provinces::is_known(province) {
            bail!("--province {province:?}: expected a 3-digit province code of identity.md, e.g. 001 for Hà Nội");
        }
        let bytes =
            std::fs::read(plugin_path).with_context(|| format!("reading the plug-in {}", plugin_path.display()))?;
        let plugin =
            self.sandbox.load(&bytes).with_context(|| format!("refusing the plug-in {}", plugin_path.display()))?;
        let d = plugin.description();
        if !d.programs.iter().any(|p| p == program) {
            bail!("the plug-in {} {} serves {:?}, not the programme {program:?}", d.name, d.version, d.programs);
        }
        if let Some(own) = d.province.as_deref().filter(|own| *own != province) {
            bail!("the plug-in {} {} is for province {own}, not {province}", d.name, d.version);
        }
        plugins::store(&self.db, &plugin, &bytes).await?;
        runs::create(&self.db, program, province, period, plugin.hash()).await
    }
}
