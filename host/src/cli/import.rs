//! `import`, as `ansinh registry import` and `ansinh beneficiaries import` share it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::progress;
use crate::accounts::{Act, Place};
use crate::app::{App, Settings};
use crate::import;

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import a CSV file (formats.md). A file with bad rows is refused whole; every bad
    /// row, as it was and with its problem, is written to the rejects file.
    Import {
        file: PathBuf,
        /// Import the good rows; the bad ones only go to the rejects file.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Where rejected rows are written [default: FILE with the extension .rejects.csv].
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
}

/// What an import loads.
#[derive(Clone, Copy, Debug)]
pub enum Imports {
    Registry,
    Enrolments,
}

impl ImportCommand {
    pub async fn execute(self, settings: &Settings, imports: Imports) -> anyhow::Result<ExitCode> {
        let ImportCommand::Import { file, skip_bad_rows, rejects } = self;
        let rejects = rejects.unwrap_or_else(|| file.with_extension("rejects.csv"));
        let bad_rows =
            if skip_bad_rows { import::BadRows::Skip { rejects } } else { import::BadRows::Refuse { rejects } };
        let app = App::connect(settings).await?;
        let caller = app.acting(Act::Import, Place::Anywhere, "import").await?;
        let covers = |province: &str| crate::accounts::policy::covers_province(&caller, province);
        let options = import::Options {
            bad_rows,
            by: &caller.actor,
            covers: &covers,
            scope: caller.scopes.join(", "),
            name: None,
        };
        let progress = progress::bytes(&file);
        let (done, what) = match imports {
            Imports::Registry => (import::registry(&app.db, &file, &options, &progress).await?, "registry rows"),
            Imports::Enrolments => (import::beneficiaries(&app.db, &file, &options, &progress).await?, "enrolments"),
        };
        sayln!("Imported {} {what} from {} in {:.1} s.", done.rows, file.display(), done.elapsed.as_secs_f64());
        if let Some((count, path)) = &done.skipped {
            sayln!("Left out {count} bad rows; each is in {} with its problem.", path.display());
        }
        app.db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}
