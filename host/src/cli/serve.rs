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
        crate::server::serve(app, listener).await?;
        Ok(ExitCode::SUCCESS)
    }
}
