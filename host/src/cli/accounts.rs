//! `ansinh accounts …`: the accounts that act.

use std::process::ExitCode;

use clap::Subcommand;

use crate::accounts;
use crate::app::Settings;
use crate::store::Db;

#[derive(Subcommand, Debug)]
pub enum AccountsCommand {
    /// Make the first account, an admin of national scope, and print its token once.
    /// Refused once there is any account.
    Init {
        /// The admin's name, as it is written ("Trần Thị Lan").
        name: String,
    },
}

impl AccountsCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let db = Db::connect(settings.database_url.as_deref().unwrap_or("ansinh.db")).await?;
        match self {
            AccountsCommand::Init { name } => {
                let (id, token) = accounts::init(&db, &name).await?;
                esayln!(
                    "Made account {id}, {name}: admin, national. Its token follows, shown this once: keep it in a \
                     file only you can read (chmod 600). It expires in 90 days."
                );
                sayln!("{token}");
            }
        }
        db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}
