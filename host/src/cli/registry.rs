//! `ansinh registry …`: load the registry extract; the people a bank reported deceased.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use super::import::{ImportCommand, Imports};
use crate::app::{App, Settings};
use crate::registry::flags;
use crate::store;

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

impl RegistryCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        if let RegistryCommand::Import(command) = self {
            return command.execute(settings, Imports::Registry).await;
        }
        let app = App::connect(settings).await?;
        match self {
            RegistryCommand::Import(_) => {}
            RegistryCommand::Flags => {
                let flags = store::flags::open(&app.db).await?;
                for f in &flags {
                    sayln!(
                        "#{:<8} {} (province {}): {} on payment {}, reported {} by {}",
                        f.beneficiary_id,
                        crate::format::Shown(&f.full_name),
                        f.province,
                        f.reason,
                        f.payment_id,
                        f.flagged_at.format("%Y-%m-%d"),
                        crate::format::Shown(&f.flagged_by)
                    );
                }
                sayln!("{} open flags.", flags.len());
            }
            RegistryCommand::ClearFlag { beneficiary, reason } => {
                anyhow::ensure!(!reason.trim().is_empty(), "--reason: say what the registry check found");
                let cleared = flags::clear(&app.db, beneficiary, App::actor(settings)?, reason.trim()).await?;
                if cleared == 0 {
                    bail!("beneficiary #{beneficiary} has no open flag; `ansinh registry flags` lists them");
                }
                sayln!("Cleared {cleared} flag(s) of beneficiary #{beneficiary}: later runs pay them again.");
            }
        }
        app.db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}
