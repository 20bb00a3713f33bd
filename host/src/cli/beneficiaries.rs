//! `ansinh beneficiaries …`: load enrolments.

use std::process::ExitCode;

use clap::Subcommand;

use super::import::{ImportCommand, Imports};
use crate::app::Settings;

#[derive(Subcommand, Debug)]
pub enum BeneficiariesCommand {
    #[command(flatten)]
    Import(ImportCommand),
}

impl BeneficiariesCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let BeneficiariesCommand::Import(command) = self;
        command.execute(settings, Imports::Enrolments).await
    }
}
