//! One wasmtime engine per process, configured for determinism and for cheap
//! fresh instances.

use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::Limits;
use super::plugin::{LoadError, Plugin, PluginHash};

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

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
    pub(crate) engine: Engine,
    pub(crate) limits: Limits,
    /// [`EngineIdentity::id`] of this engine, carried by every decision.
    pub(crate) engine_id: String,
    compiled: Mutex<HashMap<PluginHash, Arc<Plugin>>>,
    cache_dir: Option<PathBuf>,
    ticker: Arc<AtomicBool>,
}

impl Sandbox {
    /// Build the engine. `cache_dir`, if given, keeps compiled plug-ins on disk
    /// across processes, keyed by content hash and engine settings.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Sandbox> {
        let engine = Engine::new(&config(&limits))?;
        let ticker = Arc::new(AtomicBool::new(true));
        spawn_ticker(engine.clone(), ticker.clone());
        let cache_dir = cache_dir.and_then(|dir| match private_dir(&dir) {
            Ok(()) => Some(dir),
            Err(why) => {
                tracing::warn!(dir = %dir.display(), %why, "not caching compiled plug-ins");
                None
            }
        });
        let engine_id = EngineIdentity::new(&limits).id();
        Ok(Sandbox { engine, limits, engine_id, compiled: Mutex::default(), cache_dir, ticker })
    }

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
        let plugin = Arc::new(Plugin::load(self, hash, bytes)?);
        self.compiled.lock().expect("cache lock").insert(hash, plugin.clone());
        Ok(plugin)
    }

    /// Where a compiled plug-in is kept on disk, if a cache directory is set.
    pub(crate) fn cache_path(&self, hash: &PluginHash) -> Option<PathBuf> {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        let dir = self.cache_dir.as_ref()?;
        Some(dir.join(format!("{hash}-{:016x}.cwasm", h.finish())))
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
    pub wasmtime: String,
    pub contract: String,
    pub fuel: u64,
    pub memory_bytes: u64,
    pub wasm_stack_bytes: u64,
    pub deadline_ms: u64,
    pub output_bytes: u64,
    pub max_amount: u64,
    pub nan_canonicalization: bool,
    pub relaxed_simd_deterministic: bool,
}

impl EngineIdentity {
    fn new(limits: &Limits) -> EngineIdentity {
        EngineIdentity {
            wasmtime: wasmtime_environ::VERSION.to_owned(),
            contract: super::CONTRACT.to_owned(),
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

/// Make sure the cache directory is the current user's alone. What is in it
/// is machine code that runs in this process without the plug-in's signature
/// being checked again, so nobody else may be able to put a file there.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::metadata(dir)?;
    anyhow::ensure!(meta.uid() == rustix::process::geteuid().as_raw(), "it belongs to another user");
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A cached file is used only if this user wrote it and nobody else can change it.
pub(crate) fn private_file(meta: &std::fs::Metadata) -> bool {
    meta.uid() == rustix::process::geteuid().as_raw() && meta.mode() & 0o022 == 0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_the_users_alone() {
        let root = tempfile::tempdir().unwrap();
        // Made owner-only; an open one of ours is closed.
        let made = root.path().join("made/cache");
        private_dir(&made).unwrap();
        assert_eq!(std::fs::metadata(&made).unwrap().mode() & 0o777, 0o700);
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&open).unwrap();
        assert_eq!(std::fs::metadata(&open).unwrap().mode() & 0o777, 0o700);

        // A file others may change is not used.
        let file = made.join("x.cwasm");
        std::fs::write(&file, b"compiled").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(private_file(&std::fs::metadata(&file).unwrap()));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(!private_file(&std::fs::metadata(&file).unwrap()));
    }
}
