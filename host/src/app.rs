//! The application: settings, the configuration file, the database and the
//! sandbox, built in one place for every front end (the CLI now, the HTTP API
//! later).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::config::Config;
use crate::identity::provinces;
use crate::model::Month;
use crate::release;
use crate::sandbox::{Limits, Sandbox};
use crate::store::{Db, runs};

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
}

pub struct App {
    pub db: Db,
    pub sandbox: Sandbox,
    pub workers: usize,
    /// The configuration file, read and checked.
    pub config: Config,
}

impl App {
    pub async fn connect(settings: &Settings) -> anyhow::Result<App> {
        // Read first: a broken file is reported before anything is done.
        let config = Config::load(settings.config.as_deref())?;
        Ok(App {
            config,
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

    /// Create a run decided by the release in force for this programme,
    /// province and month (the host's choice), after checking its signature
    /// and that its plug-in serves them. With `back_from`, the run also pays
    /// arrears: the months from `back_from` to the one before `period`, for
    /// people not paid then, each month decided and paid on its own.
    pub async fn create_run(
        &self,
        program: &str,
        province: &str,
        period: Month,
        back_from: Option<Month>,
        by: &str,
    ) -> anyhow::Result<i64> {
        if !provinces::is_known(province) {
            bail!("--province {province:?}: expected a 3-digit province code of identity.md, e.g. 001 for Hà Nội");
        }
        if let Some((into, since)) = provinces::merged_by(province, period) {
            bail!(
                "--province {province}: {} was merged into {into} {} from {since}; pay {period} from {into}",
                provinces::name(province).unwrap_or("?"),
                provinces::name(into).unwrap_or("?")
            );
        }
        let first_period = back_from.unwrap_or(period);
        if first_period > period {
            bail!("--back-pay-from {first_period} is after --period {period}: arrears are for earlier months");
        }
        let release = release::in_force(&self.db, program, province, period).await?;
        let plugin = release::load(&self.db, &self.sandbox, &release).await?;
        // One run, one plug-in: arrears across a change of rules would need
        // two, so such a run is refused with the month where the rules change.
        for month in first_period.through(period) {
            let then = release::in_force(&self.db, program, province, month).await?;
            if then.id != release.id {
                bail!(
                    "release {} decides {month} and release {} decides {period}: a run is decided by one release, \
                     so pay the months of each release in a run of its own",
                    then.id,
                    release.id
                );
            }
            release::check_fits(&release, &plugin, program, province, month)?;
        }
        let run =
            runs::NewRun { program, province, first_period, period, plugin: plugin.hash(), release_id: release.id, by };
        runs::create(&self.db, &run).await
    }

    /// The acting person: every command that changes state records who acted.
    pub fn actor(settings: &Settings) -> anyhow::Result<&str> {
        settings
            .acting_as
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("this command records who acted: give --as NAME, or set ANSINH_USER"))
    }
}
