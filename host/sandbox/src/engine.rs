//! One wasmtime engine per process, configured for determinism and for cheap
//! fresh instances, and the plug-ins compiled for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde::{Deserialize, Serialize};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, WasmFeatures};

use crate::cache::DiskCache;
use crate::contract::CONTRACT;
use crate::limits::{EPOCH_TICK, Limits, MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_PLUGIN_BYTES, MAX_TABLES};
use crate::plugin::{self, LoadError, Plugin, PluginHash};
use crate::slots::Slots;

/// Instance slots at least, whatever the machine: decisions that may run at
/// once. A sandbox has one slot per core if there are more cores; a decision
/// waits for a free slot ([`Slots`]), so more threads than slots are slower,
/// never wrong.
const MIN_SLOTS: u32 = 64;

/// The WebAssembly a plug-in may use: the 2.0 standard, with the component
/// model of the contract and extended constant expressions (the Python
/// plug-in's dynamically linked libraries place their data with them). Every
/// other proposal is switched off, whatever wasmtime turns on by default now
/// or in a later version: memory64 and multi-memory (more memory than the
/// limits are written for), threads and shared memory, GC, function
/// references, tail calls, exceptions, relaxed SIMD (non-deterministic by
/// design), wide arithmetic, custom page sizes, stack switching and the
/// component model's async, threading and other extensions. No plug-in needs
/// them, and each is compiler surface a hostile plug-in could reach. A
/// plug-in using one is refused by the parser, naming it.
fn allowed_features() -> WasmFeatures {
    // GC_TYPES is part of WASM2 (through MVP) in wasmparser's flags, but is
    // GC's: wasmtime is built without GC and leaves it off.
    (WasmFeatures::WASM2 | WasmFeatures::EXTENDED_CONST | WasmFeatures::COMPONENT_MODEL) - WasmFeatures::GC_TYPES
}

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
    /// The pool's instance slots; every instantiation takes one first.
    slots: Arc<Slots>,
    /// How many there are.
    slot_count: u32,
}

impl Sandbox {
    /// Build the engine. `cache_dir`, if given, keeps compiled plug-ins on disk
    /// across processes, keyed by content hash and engine settings.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Sandbox> {
        let cores = thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
        let slot_count = cores.max(MIN_SLOTS);
        let engine = Engine::new(&config(&limits, slot_count))?;
        let ticker = Arc::new(AtomicBool::new(true));
        spawn_ticker(engine.clone(), ticker.clone());
        let engine_id = EngineIdentity::new(&limits).id();
        Ok(Sandbox {
            engine,
            limits,
            engine_id,
            compiled: Mutex::default(),
            cache: DiskCache::new(cache_dir),
            ticker,
            slots: Arc::new(Slots::new(slot_count)),
            slot_count,
        })
    }

    /// The budget every decision runs within.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decisions this sandbox makes at once (its instance slots: one per core,
    /// and at least 64). Any number of threads may decide with it: past this
    /// many, a decision waits for another to finish. So more worker threads
    /// than this only wait.
    pub fn slots(&self) -> usize {
        self.slot_count as usize
    }

    /// What of this engine can change a decision: recorded with every
    /// decision, and compared when one is replayed.
    pub fn identity(&self) -> EngineIdentity {
        EngineIdentity::new(&self.limits)
    }

    /// Check, compile and describe a plug-in, or return it from the cache.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Plugin>, LoadError> {
        // First of all, before the bytes are even hashed: a file of hundreds
        // of megabytes is refused at once, not after minutes of compiling.
        if bytes.len() > MAX_PLUGIN_BYTES {
            return Err(LoadError::TooLarge { size: bytes.len(), limit: MAX_PLUGIN_BYTES });
        }
        let hash = PluginHash::of(bytes);
        if let Some(plugin) = self.compiled.lock().expect("cache lock").get(&hash) {
            return Ok(plugin.clone());
        }
        // Refuse what is not a component before handing it to the compiler,
        // so that the message says what the file is.
        plugin::check_header(bytes)?;
        let component =
            self.cache.compile(&self.engine, &hash, bytes).map_err(|e| plugin::compile_error(e, &self.limits))?;
        let plugin =
            Arc::new(Plugin::new(&self.engine, component, hash, &self.limits, &self.engine_id, self.slots.clone())?);
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
    /// [`Limits::memory_bytes`] bounds all of a decision's memories together,
    /// not each memory alone. Recorded because it changes what a plug-in with
    /// several memories decides (an error where it once decided, or refused at
    /// load); an identity recorded before it was counted so lacks it, and a
    /// replay names the difference.
    #[serde(default)]
    pub memory_per_decision: bool,
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
            // As the store's limiter counts it (`plugin.rs`).
            memory_per_decision: true,
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

fn config(limits: &Limits, slots: u32) -> Config {
    let mut pool = PoolingAllocationConfig::new();
    // Everything `slots` decisions can hold at once, each within the
    // per-component maxima: a decision holding a slot never finds the pool
    // empty. Core instances and component instances are only counted; each
    // memory and table slot reserves address space (a memory slot 4 GiB, so
    // that bounds checks are left to the guard pages), not memory.
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(MAX_CORE_INSTANCES))
        .total_memories(slots.saturating_mul(MAX_MEMORIES))
        .total_tables(slots.saturating_mul(MAX_TABLES))
        .max_core_instances_per_component(MAX_CORE_INSTANCES)
        .max_memories_per_component(MAX_MEMORIES)
        .max_tables_per_component(MAX_TABLES)
        .max_memory_size(limits.memory_bytes)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto)
        .table_keep_resident(KEEP_RESIDENT);

    let mut config = Config::new();
    config
        .wasm_features(WasmFeatures::all() - allowed_features(), false)
        .wasm_component_model(true)
        // Determinism: same bytes and input, same output and fuel, anywhere.
        .cranelift_nan_canonicalization(true)
        // Relaxed SIMD is switched off above; should it ever be allowed, it
        // must give the same results on every machine.
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
