//! The `ansinh` command line: parse, then run the command. One file per
//! command, each a type with `execute`; they build the [`App`](crate::app::App)
//! they need from the [`Settings`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::Settings;

// What a command prints goes through these, never `println!` and the like, so
// that text from a plug-in, a file or a person cannot steer the terminal: see
// `format::terminal`. Defined before the commands' modules, which use them.

/// `print!`, through [`crate::format::terminal`].
macro_rules! say {
    ($($arg:tt)*) => { print!("{}", $crate::format::terminal(&format!($($arg)*))) };
}
/// `println!`, through [`crate::format::terminal`].
macro_rules! sayln {
    ($($arg:tt)*) => { println!("{}", $crate::format::terminal(&format!($($arg)*))) };
}
/// `eprintln!`, through [`crate::format::terminal`].
macro_rules! esayln {
    ($($arg:tt)*) => { eprintln!("{}", $crate::format::terminal(&format!($($arg)*))) };
}

mod accounts;
mod audit;
mod beneficiaries;
mod demo;
mod import;
mod keys;
mod migrate;
mod plugin;
mod progress;
mod registry;
mod run;
mod serve;
mod worker;

/// ansinh: pay social assistance without cash, by rules that run in a sandbox.
#[derive(Parser, Debug)]
#[command(name = "ansinh", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a synthetic province, import it, evaluate and issue a payment run, and print a summary.
    Demo(demo::DemoCommand),
    /// Write, build, test and release rule plug-ins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Manage the ed25519 keys that sign plug-in releases.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Load the population registry extract; review people a bank reported deceased.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Load beneficiary enrolments.
    #[command(subcommand)]
    Beneficiaries(beneficiaries::BeneficiariesCommand),
    /// Create, evaluate, issue and inspect payment runs.
    #[command(subcommand)]
    Run(run::RunCommand),
    /// For auditors: replay a run bit for bit, export it, verify the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The accounts that act: make the first admin.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Serve the HTTP API and the web pages (and do jobs, unless `--embedded-worker false`).
    Serve(serve::ServeCommand),
    /// Do the jobs that serve and the command line queue, and share runs' evaluations, beside
    /// any number of other workers on the same database, until SIGTERM.
    Worker(worker::WorkerCommand),
    /// Bring the database's schema up to this version's, and exit.
    Migrate(migrate::MigrateCommand),
}

/// Run the command; errors are printed by `main`.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = &cli.settings;
    match cli.command {
        Command::Demo(command) => command.execute(settings).await,
        Command::Plugin(command) => command.execute(settings).await,
        Command::Keys(command) => command.execute(settings).await,
        Command::Registry(command) => command.execute(settings).await,
        Command::Beneficiaries(command) => command.execute(settings).await,
        Command::Run(command) => command.execute(settings).await,
        Command::Audit(command) => command.execute(settings).await,
        Command::Accounts(command) => command.execute(settings).await,
        Command::Serve(command) => command.execute(settings).await,
        Command::Worker(command) => command.execute(settings).await,
        Command::Migrate(command) => command.execute(settings).await,
    }
}
