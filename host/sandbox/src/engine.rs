//! One wasmtime engine per process, configured for determinism and for cheap
//! fresh instances, and the plug-ins compiled for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde::{Deserialize, Serialize};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::DiskCache;
use crate::contract::CONTRACT;
use crate::limits::{EPOCH_TICK, Limits};
use crate::plugin::{self, LoadError, Plugin, PluginHash};

/// Instances alive at once: one per worker thread, with room to spare.
const POOL_INSTANCES: u32 = 64;

/// Memory a freed instance slot keeps resident and resets with `memset`
/// instead of `madvise`: most of the cost of a fresh instance is resetting
/// memory. A plug-in built by `ansinh plugin build` starts with 128 KiB and,
/// with the SDK's arena allocator, does not grow for an ordinary decision; the
/// margin covers plug-ins built otherwise. With `PAGEMAP_SCAN` (Linux 6.7+)
/// only the pages a decision dirtied are reset.
const KEEP_RESIDENT: usize = 1 << 20;

/// The engine, the limits every decision runs within, and the compiled plug-ins.
pub struct Sandbox {
    engine: Engine,
    limits: Limits,
    /// [`EngineIdentity::id`] of this engine, carried by every decision.
    engine_id: String,
    /// Plug-ins loaded in this process, by hash.
    compiled: Mutex<HashMap<PluginHash, Arc<Plugin>>>,
    cache: DiskCache,
    ticker: Arc<AtomicBool>,
}

impl Sandbox {
    /// Build the engine. `cache_dir`, if given, keeps compiled plug-ins on disk
    /// across processes, keyed by content hash and engine settings.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Sandbox> {
        let engine = Engine::new(&config(&limits))?;
        let ticker = Arc::new(AtomicBool::new(true));
        spawn_ticker(engine.clone(), ticker.clone());
        let engine_id = EngineIdentity::new(&limits).id();
        Ok(Sandbox { engine, limits, engine_id, compiled: Mutex::default(), cache: DiskCache::new(cache_dir), ticker })
    }

    /// The budget every decision runs within.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What of this engine can change a decision: recorded with every
    /// decision, and compared when one is replayed.
    pub fn identity(&self) -> EngineIdentity {
        EngineIdentity::new(&self.limits)
    }

    /// Check, compile and describe a plug-in, or return it from the cache.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Plugin>, LoadError> {
        let hash = PluginHash::of(bytes);
        if let Some(plugin) = self.compiled.lock().expect("cache lock").get(&hash) {
            return Ok(plugin.clone());
        }
        // Refuse what is not a component before handing it to the compiler,
        // so that the message says what the file is.
        plugin::check_header(bytes)?;
        let component = self.cache.compile(&self.engine, &hash, bytes).map_err(LoadError::Invalid)?;
        let plugin = Arc::new(Plugin::new(&self.engine, component, hash, &self.limits, &self.engine_id)?);
        self.compiled.lock().expect("cache lock").insert(hash, plugin.clone());
        Ok(plugin)
    }
}

/// The engine a decision ran under: the wasmtime version, the contract and
/// every setting that can change an output or the fuel used (a smaller fuel or
/// memory budget turns a decision into an error; the settings that make floats
/// and SIMD deterministic). The machine is not part of it: with those settings
/// wasm gives the same result on any machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineIdentity {
    /// The wasmtime version, e.g. `48.0.0`.
    pub wasmtime: String,
    /// The contract plug-ins are run under ([`CONTRACT`]).
    pub contract: String,
    /// [`Limits::fuel`].
    pub fuel: u64,
    /// [`Limits::memory_bytes`].
    pub memory_bytes: u64,
    /// [`Limits::wasm_stack_bytes`].
    pub wasm_stack_bytes: u64,
    /// [`Limits::deadline`], in milliseconds.
    pub deadline_ms: u64,
    /// [`Limits::output_bytes`].
    pub output_bytes: u64,
    /// [`Limits::max_amount`].
    pub max_amount: u64,
    /// NaNs are canonicalised, so float results do not depend on the machine.
    pub nan_canonicalization: bool,
    /// Relaxed SIMD gives the same results on every machine.
    pub relaxed_simd_deterministic: bool,
}

impl EngineIdentity {
    fn new(limits: &Limits) -> EngineIdentity {
        EngineIdentity {
            wasmtime: wasmtime_environ::VERSION.to_owned(),
            contract: CONTRACT.to_owned(),
            fuel: limits.fuel,
            memory_bytes: limits.memory_bytes as u64,
            wasm_stack_bytes: limits.wasm_stack_bytes as u64,
            deadline_ms: limits.deadline.as_millis() as u64,
            output_bytes: limits.output_bytes as u64,
            max_amount: limits.max_amount,
            // As set in `config` below.
            nan_canonicalization: true,
            relaxed_simd_deterministic: true,
        }
    }

    /// The canonical JSON that is stored (`engines.identity`).
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }

    /// The short name each decision carries: 16 hex digits of the JSON's sha256.
    pub fn id(&self) -> String {
        EngineIdentity::id_of(&self.canonical_json())
    }

    /// The id of an identity recorded as `json`.
    pub fn id_of(json: &str) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(&Sha256::digest(json.as_bytes())[..8])
    }

    /// The identity as a JSON value, to compare with a recorded one.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("plain data serialises")
    }

    /// How a recorded identity (as JSON, perhaps of another version of
    /// ansinh, with other settings) differs from this one: `setting: then → now`.
    pub fn differences_from(&self, then: &serde_json::Value) -> Vec<String> {
        let now = self.to_value();
        let (Some(now), Some(then)) = (now.as_object(), then.as_object()) else {
            return vec![format!("{then} → {now}")];
        };
        let keys: std::collections::BTreeSet<&String> = now.keys().chain(then.keys()).collect();
        let shown = |v: Option<&serde_json::Value>| v.map_or("(none)".to_owned(), ToString::to_string);
        keys.into_iter()
            .filter(|k| now.get(*k) != then.get(*k))
            .map(|k| format!("{k}: {} → {}", shown(then.get(k)), shown(now.get(k))))
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker.store(false, Ordering::Relaxed);
    }
}

fn config(limits: &Limits) -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 4)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 4)
        .max_memory_size(limits.memory_bytes)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto)
        .table_keep_resident(KEEP_RESIDENT);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // Determinism: same bytes and input, same output and fuel, anywhere.
        .cranelift_nan_canonicalization(true)
        // No threads: the `threads` feature of wasmtime is not compiled in.
        .relaxed_simd_deterministic(true)
        // Budgets.
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(limits.wasm_stack_bytes)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advance the engine's epoch until the sandbox is dropped.
fn spawn_ticker(engine: Engine, running: Arc<AtomicBool>) {
    thread::Builder::new()
        .name("ansinh-epoch".into())
        .spawn(move || {
            while running.load(Ordering::Relaxed) {
                thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawn the epoch thread");
}
