//! Decisions per second of the national plug-in, a fresh instance per decision,
//! as `run evaluate` makes them (verification and storage not included).
//!
//! `cargo bench -p ansinh --bench decisions [-- PEOPLE ROUNDS]`
//!
//! Builds `plugins/national-social-assistance`, gives it a varied synthetic
//! population (the demo's), and times ROUNDS rounds on one thread and on every
//! core; prints each round and the median. A benchmark, not a test: these
//! machines are shared, so read medians and ratios.

use std::path::Path;
use std::time::Instant;

use ansinh::model::Month;
use ansinh::plugin::build;
use ansinh::sandbox::{DecisionInput, Limits, Plugin, Sandbox};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let people: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(7), |a| a.parse())?;

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/national-social-assistance");
    let bytes = std::fs::read(build::build(&dir)?)?;
    let sandbox = Sandbox::new(Limits::default(), None)?;
    let plugin = sandbox.load(&bytes)?;
    let inputs = population(&plugin, people)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    println!("national-social-assistance, {} bytes, {people} varied people, {rounds} rounds", bytes.len());
    for workers in [1, threads] {
        let mut rates: Vec<f64> = (0..rounds).map(|_| round(&plugin, &inputs, workers)).collect();
        rates.sort_by(f64::total_cmp);
        let shown: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{workers} thread(s): median {:.0} decisions/s ({:.2} µs per decision per thread); rounds: {}",
            rates[rates.len() / 2],
            workers as f64 * 1e6 / rates[rates.len() / 2],
            shown.join(" ")
        );
    }
    Ok(())
}

/// Decide everyone once on `workers` threads; decisions per second.
fn round(plugin: &Plugin, inputs: &[DecisionInput], workers: usize) -> f64 {
    let started = Instant::now();
    let chunk = inputs.len().div_ceil(workers);
    std::thread::scope(|s| {
        for part in inputs.chunks(chunk) {
            s.spawn(move || {
                for input in part {
                    let e = plugin.evaluate(input);
                    assert!(e.result.is_ok(), "{:?}", e.result);
                }
            });
        }
    });
    inputs.len() as f64 / started.elapsed().as_secs_f64()
}

/// The demo's synthetic enrolments, as the plug-in's inputs.
fn population(plugin: &Plugin, people: usize) -> anyhow::Result<Vec<DecisionInput>> {
    let period: Month = "2024-09".parse().map_err(anyhow::Error::msg)?;
    let spec = ansinh::synthetic::Spec { seed: 2026, people: people as u64, province: "001".into(), period };
    let facts = ansinh::synthetic::enrolled_facts(&spec)?;
    Ok(facts.iter().map(|f| plugin.input(period, "social-assistance", "001", true, f)).collect())
}
