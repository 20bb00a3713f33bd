//! `ansinh serve`: the HTTP service over the same `App` as the commands.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::app::{App, Settings};

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
}

impl ServeCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let app = App::connect(settings).await?;
        let listener = tokio::net::TcpListener::bind(&self.listen)
            .await
            .with_context(|| format!("--listen {}: cannot listen there", self.listen))?;
        let bound = listener.local_addr()?;
        // The first line, for whoever started it with port 0 (the tests, a supervisor).
        sayln!("Listening on http://{bound}");
        anyhow::ensure!(self.job_lease >= 1, "--job-lease {}: expected 1 second or more", self.job_lease);
        let jobs = crate::server::Jobs { lease: std::time::Duration::from_secs(self.job_lease), outbox: self.outbox };
        crate::server::serve(app, listener, jobs).await?;
        Ok(ExitCode::SUCCESS)
    }
}
