//! `ansinh serve`: the HTTP service over the same `App` as the commands, and
//! with a tip key, the audit log's tip signed at start and every day after.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::app::{App, Settings};
use crate::audit::tip::{self, Signed};
use crate::release::keys;

#[derive(Args, Debug)]
pub struct ServeCommand {
    /// Address to listen on; port 0 takes a free one. The address bound is
    /// printed on the first line of standard output.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", env = "ANSINH_LISTEN")]
    listen: String,
    /// Folder the payment files of `run issue` jobs are written to.
    #[arg(long, env = "ANSINH_OUTBOX", default_value = "outbox")]
    outbox: std::path::PathBuf,
    /// Seconds a claim on a job lasts without a heartbeat: how long a job that
    /// a stopped process held waits before another process resumes it.
    #[arg(long, value_name = "SECONDS", env = "ANSINH_JOB_LEASE", default_value_t = 30)]
    job_lease: u64,
    /// Sign the audit log's tip at start and every 24 hours with this ed25519 secret key (`keys
    /// generate --tip`; owner-only, held outside the database) [default: [trust] tip_key of the
    /// configuration, if set].
    #[arg(long, value_name = "FILE", env = "ANSINH_TIP_KEY")]
    tip_key: Option<PathBuf>,
    /// The folder the signed tips go to, one file a day (tip-YYYY-MM-DD.json), outside the
    /// database [default: [trust] tips].
    #[arg(long, value_name = "DIR", env = "ANSINH_TIPS")]
    tips: Option<PathBuf>,
    /// Do jobs and share evaluations in this process too, as a worker does (`false` where
    /// `ansinh worker`s do them; on SQLite, keep it: a worker there is this one).
    #[arg(long, value_name = "BOOL", env = "ANSINH_EMBEDDED_WORKER", default_value_t = true,
          action = clap::ArgAction::Set)]
    embedded_worker: bool,
}

impl ServeCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let app = App::connect(settings).await?;
        let trust = app.config.trust();
        let tip_key = self.tip_key.or_else(|| trust.and_then(|t| t.tip_key.clone()));
        let tips = self.tips.or_else(|| trust.and_then(|t| t.tips.clone()));
        if let Some(file) = tip_key {
            let dir = tips.with_context(|| {
                format!(
                    "--tip-key {}: say where the signed tips go with --tips DIR (or tips under [trust])",
                    file.display()
                )
            })?;
            let key = keys::read_secret(&file).context("--tip-key")?;
            // The first at start: a key or folder that does not work stops the service here.
            match tip::sign(&app.db, &key, &dir).await? {
                Signed::Wrote { file, seq } => {
                    esayln!("Signed the audit log's tip (entry {seq}) into {}.", file.display())
                }
                Signed::Kept(file) => esayln!("Today's tip is signed already: {}.", file.display()),
            }
            tokio::spawn(tip::sign_daily(app.db.clone(), key, dir));
        }
        let listener = tokio::net::TcpListener::bind(&self.listen)
            .await
            .with_context(|| format!("--listen {}: cannot listen there", self.listen))?;
        let bound = listener.local_addr()?;
        // The first line, for whoever started it with port 0 (the tests, a supervisor).
        sayln!("Listening on http://{bound}");
        anyhow::ensure!(self.job_lease >= 1, "--job-lease {}: expected 1 second or more", self.job_lease);
        let lease = std::time::Duration::from_secs(self.job_lease);
        let worker = self.embedded_worker;
        let options = crate::server::Options { lease, outbox: self.outbox, demo_sign_in: false, worker };
        crate::server::serve(app, listener, options).await?;
        Ok(ExitCode::SUCCESS)
    }
}
