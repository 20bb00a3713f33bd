//! `ansinh worker`: takes the jobs that `serve` and the command line queue,
//! and shares the evaluation of runs with every other process on the same
//! database (`jobs::runner`), until SIGTERM: then it ends its batch, gives
//! back what it holds and exits. Killed outright, what it held waits for its
//! lease to run out and is taken up by another. Its probes and metrics are
//! served on `--listen`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::app::{App, Settings};
use crate::jobs::runner::Runner;

#[derive(Args, Debug)]
pub struct WorkerCommand {
    /// Address its probes (/healthz, /readyz) and /metrics listen on; port 0 takes a free one.
    /// The address bound is printed on the first line of standard output.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464", env = "ANSINH_LISTEN")]
    listen: String,
    /// Folder the payment files of `run issue` jobs are written to.
    #[arg(long, env = "ANSINH_OUTBOX", default_value = "outbox")]
    outbox: PathBuf,
    /// Seconds a claim on a job or a shard lasts without a heartbeat: how long what a killed
    /// worker held waits before another takes it up.
    #[arg(long, value_name = "SECONDS", env = "ANSINH_JOB_LEASE", default_value_t = 30)]
    job_lease: u64,
}

impl WorkerCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        anyhow::ensure!(self.job_lease >= 1, "--job-lease {}: expected 1 second or more", self.job_lease);
        let app = Arc::new(App::connect(settings).await?);
        let listener = tokio::net::TcpListener::bind(&self.listen)
            .await
            .with_context(|| format!("--listen {}: cannot listen there", self.listen))?;
        sayln!("Listening on http://{}", listener.local_addr()?);
        let lease = Duration::from_secs(self.job_lease);
        let options = crate::server::Options { lease, outbox: self.outbox.clone(), demo_sign_in: false, worker: true };
        let probes = crate::server::probes(app.clone(), &options)?;
        tokio::spawn(async move { axum::serve(listener, probes).await });
        let runner = Runner::new(app, lease, self.outbox)?;
        let crew = runner.crew().clone();
        tokio::spawn(async move {
            crate::server::terminated().await;
            crew.stop();
        });
        // It logs its stop ("worker stopped"): standard output may be closed by now.
        runner.run().await;
        Ok(ExitCode::SUCCESS)
    }
}
