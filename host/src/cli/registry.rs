//! `ansinh registry …`: load the registry extract; the people a bank reported deceased.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use super::import::{ImportCommand, Imports};
use crate::accounts::{Act, Place, policy};
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
                let caller = app.acting(Act::ReviewRegistry, Place::Anywhere, "flag").await?;
                let mut flags = store::flags::open(&app.db).await?;
                flags.retain(|f| policy::covers_province(&caller, &f.province));
                if !flags.is_empty() {
                    let what = "registry flags";
                    let details = serde_json::json!({});
                    crate::trail::record_read(&app.db, &caller.actor, "registry:flags", what, flags.len(), details)
                        .await?;
                }
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
                let flagged = store::flags::open(&app.db).await?.into_iter().find(|f| f.beneficiary_id == beneficiary);
                let province = flagged.map(|f| f.province).unwrap_or_default();
                let what = format!("flag of beneficiary #{beneficiary}");
                let by = app.acting(Act::ReviewRegistry, Place::Province(&province), &what).await?.actor;
                let cleared = flags::clear(&app.db, beneficiary, &by, reason.trim()).await?;
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
