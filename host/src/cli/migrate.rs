//! `ansinh migrate`: bring the database's schema up to this version's, and
//! nothing else: the one step that changes the schema where serve and the
//! workers only check it (`--migrate check`: Kubernetes' migration Job,
//! compose's `migrate` service).

use std::process::ExitCode;

use clap::Args;

use crate::app::Settings;
use crate::store::{Db, Schema};

#[derive(Args, Debug)]
pub struct MigrateCommand {}

impl MigrateCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let url = settings.database_url.as_deref().unwrap_or("ansinh.db");
        let db = Db::open(url, Schema::Migrate).await?;
        db.ready().await?;
        sayln!("The database holds every migration of ansinh {}.", env!("CARGO_PKG_VERSION"));
        db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}
