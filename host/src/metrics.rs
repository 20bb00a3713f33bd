//! What a process has done, for Prometheus: `/metrics` on `serve` and on
//! each `ansinh worker`, in the text format (OpenMetrics 1.0, which
//! Prometheus reads).
//!
//! Counters and histograms live in this process and count what it did since it
//! started (decisions by outcome, their time and fuel, plug-in errors by kind,
//! jobs by how long they took); Prometheus adds the processes up. What the
//! database holds for all of them (shards and job parts pending, leased and expired) and the
//! connection pool's use are read when scraped.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::model::Outcome;
use crate::store::{self, Db};

/// The content type `/metrics` is sent with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByOutcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByKind {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByJob {
    kind: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByState {
    state: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// This process's metrics, registered once.
struct Metrics {
    registry: Registry,
    decisions: Family<ByOutcome, Counter>,
    decision_seconds: Histogram,
    decision_fuel: Histogram,
    plugin_errors: Family<ByKind, Counter>,
    job_seconds: Histograms<ByJob>,
    shards: Family<ByState, Gauge>,
    parts: Family<ByState, Gauge>,
    pool: Family<ByState, Gauge>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("ansinh");
    let decisions = Family::<ByOutcome, Counter>::default();
    registry.register("decisions", "Decisions made by this process, by outcome", decisions.clone());
    // 10 µs to about 0.3 s: a decision takes tens of microseconds; a deadline, 100 ms.
    let decision_seconds = Histogram::new(exponential_buckets(1e-5, 2.0, 15));
    registry.register("decision_seconds", "Time to verify and decide one beneficiary", decision_seconds.clone());
    // 10,000 to about 80 million units: a national decision uses some hundred thousand.
    let decision_fuel = Histogram::new(exponential_buckets(1e4, 2.0, 14));
    registry.register("decision_fuel", "Fuel (WebAssembly operators) a decision used", decision_fuel.clone());
    let plugin_errors = Family::<ByKind, Counter>::default();
    registry.register("plugin_errors", "Plug-in errors, by kind", plugin_errors.clone());
    let job_seconds: Histograms<ByJob> =
        Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.1, 2.0, 14)));
    registry.register("job_seconds", "Jobs this process ended, by kind and result, and how long each took", {
        job_seconds.clone()
    });
    let shards = Family::<ByState, Gauge>::default();
    registry.register("shards", "Unfinished shards of runs being evaluated, by state (all processes)", shards.clone());
    let parts = Family::<ByState, Gauge>::default();
    registry.register("job_parts", "Unfinished parts of replays and what-ifs, by state (all processes)", parts.clone());
    let pool = Family::<ByState, Gauge>::default();
    registry.register("db_connections", "This process's database connections: in use, idle, and the most", {
        pool.clone()
    });
    Metrics { registry, decisions, decision_seconds, decision_fuel, plugin_errors, job_seconds, shards, parts, pool }
});

/// A decision made: its outcome, the time it took and the fuel it used.
pub fn decided(outcome: Outcome, took: Duration, fuel: u64) {
    let metrics = &*METRICS;
    metrics.decisions.get_or_create(&ByOutcome { outcome: outcome.as_str() }).inc();
    metrics.decision_seconds.observe(took.as_secs_f64());
    if fuel > 0 {
        metrics.decision_fuel.observe(fuel as f64);
    }
}

/// A plug-in failed a decision, in the way `kind` names (`out_of_fuel`, `trap`, …).
pub fn plugin_error(kind: &'static str) {
    METRICS.plugin_errors.get_or_create(&ByKind { kind }).inc();
}

/// A job of `kind` ended, done or failed, after `took`.
pub fn job_ended(kind: &str, done: bool, took: Duration) {
    let labels = ByJob { kind: kind.to_owned(), result: if done { "done" } else { "failed" } };
    METRICS.job_seconds.get_or_create(&labels).observe(took.as_secs_f64());
}

/// The metrics, as `/metrics` sends them: this process's, and the shards,
/// job parts and the pool read now.
pub async fn render(db: &Db) -> anyhow::Result<String> {
    let metrics = &*METRICS;
    let now = chrono::Utc::now();
    for (family, leased) in [(&metrics.shards, &store::shards::SHARDS), (&metrics.parts, &store::parts::PARTS)] {
        let (pending, held, expired) = store::lease::census(db, leased, now).await?;
        for (state, n) in [("pending", pending), ("leased", held), ("expired", expired)] {
            family.get_or_create(&ByState { state }).set(n);
        }
    }
    let (in_use, idle, most) = db.connections();
    for (state, n) in [("in_use", in_use), ("idle", idle), ("max", most)] {
        metrics.pool.get_or_create(&ByState { state }).set(n as i64);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry)?;
    Ok(text)
}
