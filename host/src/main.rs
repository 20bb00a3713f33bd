//! The `ansinh` binary: see `ansinh --help`.

use std::process::ExitCode;

use ansinh::app::LogFormat;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// What is logged unless `ANSINH_LOG` says otherwise: warnings, but not sqlx's
/// "slow statement" ones, which a bulk load of a million rows makes by design
/// and which tell a user nothing they can act on (`ANSINH_LOG=warn` shows them).
const DEFAULT_LOG: &str = "warn,sqlx::query=error";

/// mimalloc, for Rust's allocations and (its "override" feature, on Linux) SQLite's and
/// zstd's too. Reading a run back, sqlx copies every column of every row into
/// a fresh allocation and frees it a moment later, from two threads; glibc's
/// allocator spent a quarter of `run approve` in malloc and free, and the 200k
/// demo took 39.3 s with it, 31.2 s with this (`ansinh demo --people 200000`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = ansinh::cli::Cli::parse();
    let filter = EnvFilter::try_from_env("ANSINH_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.settings.log_format {
        LogFormat::Text => logs.init(),
        // One JSON object a line, with every enclosing span's fields (run, shard, job, request id).
        LogFormat::Json => logs.json().with_current_span(false).with_span_list(true).init(),
    }
    let runtime = tokio::runtime::Runtime::new().expect("start the async runtime");
    match runtime.block_on(ansinh::cli::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            // An error may quote a plug-in, a file or a person: see `format::terminal`.
            eprintln!("ansinh: {}", ansinh::format::terminal(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}
