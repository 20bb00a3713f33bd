//! Loading a plug-in (checks, compilation, description) and making decisions
//! with it, one fresh instance each.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, ResourceLimiter, Store, Trap};

use crate::contract::{
    self, CONTRACT, CheckedOutput, DecisionInput, DecisionOutput, OutputError, RulePluginIndices, RulePluginPre, wit,
};
use crate::facts::{Disability, Household, Month, PersonFacts, Sex};
use crate::limits::{Limits, MAX_CORE_INSTANCES, MAX_MEMORIES, MAX_TABLES};
use crate::slots::Slots;

/// Bytes one call may copy out of a plug-in's memory into the host (wasmtime's
/// "hostcall fuel"; its default is 128 MiB). A valid decision is at most
/// [`Limits::output_bytes`], but a plug-in can alias one string many times in a
/// list, so that copying the list would take gigabytes: this caps the copy,
/// per decision and per worker. 4 MiB leaves room for an oversized output to
/// be measured and refused with its size (an explanation of 1 MiB, 100,000
/// reasons) rather than cut short.
const COPY_BYTES: usize = 4 << 20;

/// sha256 of a plug-in's bytes: its identity everywhere (storage, runs, replay).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PluginHash([u8; 32]);

impl PluginHash {
    /// The hash of these bytes.
    pub fn of(bytes: &[u8]) -> PluginHash {
        PluginHash(Sha256::digest(bytes).into())
    }

    /// A hash written as 64 hex digits, as [`fmt::Display`] writes it.
    pub fn parse(hex_text: &str) -> Option<PluginHash> {
        let mut out = [0; 32];
        hex::decode_to_slice(hex_text, &mut out).ok()?;
        Some(PluginHash(out))
    }
}

impl fmt::Display for PluginHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PluginHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PluginHash({self})")
    }
}

/// Why a plug-in was refused at load. Nothing of it runs.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Larger than [`crate::MAX_PLUGIN_BYTES`]: refused before anything else.
    #[error(
        "it is {size} bytes, above the limit of {limit} bytes ({mib} MiB) for a plug-in: is it the right file? \
         A Rust plug-in built by `ansinh plugin build` is well under 1 MB, the Python one about 18 MB",
        mib = limit >> 20
    )]
    TooLarge {
        /// Its size, in bytes.
        size: usize,
        /// [`crate::MAX_PLUGIN_BYTES`].
        limit: usize,
    },
    /// Not WebAssembly at all; its first bytes, in hex.
    #[error("not a WebAssembly file: it starts with {0}, expected the bytes 00 61 73 6d (\"\\0asm\")")]
    NotWasm(String),
    /// A core module: not yet made a component.
    #[error(
        "a core WebAssembly module, not a component: build the plug-in with `ansinh plugin build DIR`, which makes the component"
    )]
    CoreModule,
    /// A component the engine does not accept.
    #[error("not a valid WebAssembly component: {0:#}")]
    Invalid(wasmtime::Error),
    /// A valid component that needs more than one decision may have: more
    /// core instances, memories or tables, or a memory or table larger to
    /// begin with than the limits.
    #[error(
        "it needs more than a decision may have ({why:#}); a rule plug-in may have at most {MAX_CORE_INSTANCES} \
         core instances, {MAX_MEMORIES} memories with {memory_bytes} bytes in all, and {MAX_TABLES} tables \
         (`ansinh plugin build` makes one with one of each)"
    )]
    Resources {
        /// What wasmtime's pooling allocator found.
        why: wasmtime::Error,
        /// [`Limits::memory_bytes`].
        memory_bytes: usize,
    },
    /// A component that imports something: the names.
    #[error("it imports {0}; a rule plug-in may import nothing (no clock, no randomness, no I/O)")]
    Imports(String),
    /// A component without the contract's exports, or with other types.
    #[error("it does not export the contract {CONTRACT} ({0:#}); rebuild it against this host's SDK")]
    Contract(wasmtime::Error),
    /// Its memories need more than [`Limits::memory_bytes`] together as soon
    /// as it is instantiated or describes itself.
    #[error(
        "its memories need more than the limit of {0} bytes for all of a decision's memories together, already \
         when it is instantiated and describes itself: build it to start with less (a Rust plug-in built by \
         `ansinh plugin build` starts with 128 KiB)"
    )]
    Memory(usize),
    /// `describe()` did not return.
    #[error("its describe() failed: {0}")]
    Describe(PluginError),
    /// `describe()` returned what the contract does not allow.
    #[error("its describe() is invalid: {0}")]
    Description(String),
}

/// Why a decision has no output: each becomes a plug-in error for that person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// Used [`Limits::fuel`] up.
    #[error("used up its fuel budget of {0} units (an endless loop?)")]
    OutOfFuel(u64),
    /// Asked for more memory than [`Limits::memory_bytes`], all its memories
    /// together. (The message predates several memories, and stays as it is:
    /// it is stored with decisions and compared on replay.)
    #[error("tried to grow its memory beyond the limit of {0} bytes")]
    Memory(usize),
    /// Used more than [`Limits::wasm_stack_bytes`] of the host's stack.
    #[error("overflowed its stack (runaway recursion?)")]
    StackOverflow,
    /// Ran past [`Limits::deadline`].
    #[error("ran past the wall-clock deadline of {0:?}")]
    Deadline(Duration),
    /// Reached `unreachable`.
    #[error("trapped on `unreachable`: a Rust plug-in panicked or aborted")]
    Unreachable,
    /// Rust keeps its own stack in linear memory below the data; a runaway
    /// recursion runs off its bottom (address 0) before the host stack is full.
    #[error("accessed memory out of bounds (runaway recursion past its own stack, or a bad pointer)")]
    OutOfBounds,
    /// Any other trap: its message.
    #[error("trapped: {0}")]
    Trap(String),
    /// Returned `err`: its message, shortened.
    #[error("refused to decide: {0}")]
    Refused(String),
    /// Returned a decision the host does not accept.
    #[error("returned an invalid decision: {0}")]
    Output(#[from] OutputError),
    /// Its exports are named as in the contract but have other types; found
    /// when an instance is bound, so only ever at load.
    #[error("does not match the contract {CONTRACT}: {0}")]
    Contract(String),
}

impl PluginError {
    /// The kind of failure, as one word (`out_of_fuel`, `trap`, …): for counting, never stored.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::OutOfFuel(_) => "out_of_fuel",
            PluginError::Memory(_) => "memory",
            PluginError::StackOverflow => "stack_overflow",
            PluginError::Deadline(_) => "deadline",
            PluginError::Unreachable => "unreachable",
            PluginError::OutOfBounds => "out_of_bounds",
            PluginError::Trap(_) => "trap",
            PluginError::Refused(_) => "refused",
            PluginError::Output(_) => "output",
            PluginError::Contract(_) => "contract",
        }
    }
}

/// What a plug-in says about itself (`describe()`), in host terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    /// The plug-in's name, e.g. `national-social-assistance`.
    pub name: String,
    /// Its version, e.g. `1.2.0`.
    pub version: String,
    /// `None` for a national plug-in, else the province code.
    pub province: Option<String>,
    /// The programmes it decides, e.g. `social-assistance`.
    pub programs: Vec<String>,
    /// WIT names of the person fields it reads, e.g. `birth-date`.
    pub reads: Vec<String>,
}

/// One decision: its output or error, and the fuel it used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// Fuel used, instantiation included: the same for the same bytes and input.
    pub fuel: u64,
    /// The checked output, or why there is none.
    pub result: Result<CheckedOutput, PluginError>,
}

/// A checked, compiled plug-in, ready to instantiate.
pub struct Plugin {
    hash: PluginHash,
    description: Description,
    reads: Vec<wit::PersonField>,
    pre: RulePluginPre<StoreState>,
    /// The contract's exports in `pre`'s component, type-checked on binding.
    indices: RulePluginIndices,
    limits: Limits,
    /// The engine that runs it ([`crate::EngineIdentity::id`]).
    engine: String,
    /// The sandbox's instance slots: each instantiation takes one first.
    slots: Arc<Slots>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin").field("hash", &self.hash).field("description", &self.description).finish()
    }
}

impl Plugin {
    /// Check a compiled component against the contract (it imports nothing and
    /// exports the contract) and ask it to describe itself.
    pub(crate) fn new(
        engine: &Engine,
        component: Component,
        hash: PluginHash,
        limits: &Limits,
        engine_id: &str,
        slots: Arc<Slots>,
    ) -> Result<Plugin, LoadError> {
        let imports: Vec<String> =
            component.component_type().imports(engine).map(|(name, _)| format!("`{name}`")).collect();
        if !imports.is_empty() {
            return Err(LoadError::Imports(imports.join(", ")));
        }
        let linker = Linker::new(engine);
        let pre = linker.instantiate_pre(&component).map_err(LoadError::Contract)?;
        let indices = RulePluginIndices::new(&pre).map_err(LoadError::Contract)?;
        let pre = RulePluginPre::new(pre).map_err(LoadError::Contract)?;
        let mut plugin = Plugin {
            hash,
            description: Description {
                name: String::new(),
                version: String::new(),
                province: None,
                programs: vec![],
                reads: vec![],
            },
            reads: Vec::new(),
            pre,
            indices,
            limits: limits.clone(),
            engine: engine_id.to_owned(),
            slots,
        };
        let raw = plugin.call(|store, p| p.ansinh_rules_rules().call_describe(store)).map_err(|e| match e {
            PluginError::Contract(mismatch) => LoadError::Contract(wasmtime::Error::msg(mismatch)),
            // Its memories are made when it is instantiated for describe(): say
            // that it is its memories, whatever describe() did.
            PluginError::Memory(limit) => LoadError::Memory(limit),
            e => LoadError::Describe(e),
        })?;
        plugin.reads = raw.reads.clone();
        plugin.description = describe(raw)?;
        Ok(plugin)
    }

    /// The sha256 of its bytes.
    pub fn hash(&self) -> PluginHash {
        self.hash
    }

    /// What it says about itself.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// The id of the engine identity its decisions are made under ([`crate::EngineIdentity::id`]).
    pub fn engine(&self) -> &str {
        &self.engine
    }

    /// The input this plug-in is given: the person's facts cut down to the
    /// fields it declared (least data). This is what is stored and replayed.
    pub fn input(
        &self,
        period: Month,
        program: &str,
        province: &str,
        verified: bool,
        facts: &PersonFacts,
    ) -> DecisionInput {
        DecisionInput {
            period,
            program: program.to_owned(),
            province: province.to_owned(),
            verified,
            person: contract::restrict(facts, &self.reads),
        }
    }

    /// A typical input of this plug-in: each field it declared at a common
    /// value (born 1 January 1950, female, alive, living in `province`, no
    /// household or disability mark, no pension, no status, no children).
    /// Not a person: what the host packs stored inputs against, since an
    /// input shares most of its bytes with it.
    pub fn reference_input(&self, period: Month, program: &str, province: &str) -> DecisionInput {
        let typical = PersonFacts {
            birth_date: chrono::NaiveDate::from_ymd_opt(1950, 1, 1),
            sex: Some(Sex::Female),
            residence_province: Some(province.to_owned()),
            death_date: Some(None),
            household: Some(Household::None),
            disability: Some(Disability::None),
            has_pension: Some(false),
            difficult_commune: Some(false),
            statuses: Some(Vec::new()),
            dependent_children: Some(0),
        };
        self.input(period, program, province, true, &typical)
    }

    /// Make one decision in a fresh instance.
    pub fn evaluate(&self, input: &DecisionInput) -> Evaluation {
        let wit_input = input.to_wit();
        let mut fuel = 0;
        let result = self
            .call_metered(&mut fuel, |store, p| p.ansinh_rules_rules().call_evaluate(store, &wit_input))
            .and_then(|r| r.map_err(|msg| PluginError::Refused(shorten(&msg))))
            .and_then(|d| Ok(DecisionOutput::validate(d, self.limits.max_amount, self.limits.output_bytes)?));
        Evaluation { fuel, result }
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<StoreState>, &contract::RulePlugin) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.call_metered(&mut 0, f)
    }

    /// Instantiate in a new store with the full budget, run `f`, and report the
    /// fuel used (instantiation included) into `fuel`.
    fn call_metered<R>(
        &self,
        fuel: &mut u64,
        f: impl FnOnce(&mut Store<StoreState>, &contract::RulePlugin) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        // A slot before anything else, given back after the store (declared
        // later, dropped earlier) has returned the instance to the pool. The
        // wait, if any, is before the fuel and the deadline begin.
        let _slot = self.slots.take();
        let mut store = Store::new(self.pre.engine(), StoreState::new(self.limits.memory_bytes));
        store.limiter(|s| s);
        store.set_fuel(self.limits.fuel).expect("fuel is enabled");
        store.set_epoch_deadline(self.limits.deadline_ticks());
        store.set_hostcall_fuel(COPY_BYTES);
        // `RulePluginPre::instantiate`, in two steps: a type mismatch found on
        // binding is the plug-in's contract, not a trap.
        let result = self.pre.instance_pre().instantiate(&mut store).and_then(|instance| {
            let bound = self.indices.load(&mut store, &instance).map_err(|e| Mismatch(format!("{e:#}")))?;
            f(&mut store, &bound)
        });
        *fuel = self.limits.fuel - store.get_fuel().expect("fuel is enabled");
        result.map_err(|e| self.classify(e))
    }

    fn classify(&self, error: wasmtime::Error) -> PluginError {
        if let Some(Mismatch(mismatch)) = error.downcast_ref::<Mismatch>() {
            return PluginError::Contract(shorten(mismatch));
        }
        if error.downcast_ref::<MemoryLimit>().is_some() {
            return PluginError::Memory(self.limits.memory_bytes);
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => PluginError::OutOfFuel(self.limits.fuel),
            Some(Trap::StackOverflow) => PluginError::StackOverflow,
            Some(Trap::Interrupt) => PluginError::Deadline(self.limits.deadline),
            Some(Trap::UnreachableCodeReached) => PluginError::Unreachable,
            Some(Trap::MemoryOutOfBounds) => PluginError::OutOfBounds,
            Some(trap) => PluginError::Trap(trap.to_string()),
            None => PluginError::Trap(shorten(&format!("{error:#}"))),
        }
    }
}

/// Why the engine refused to compile a component: more than a decision may
/// have (the pooling allocator's limits, checked on every compiled or cached
/// component), or not a valid component at all.
pub(crate) fn compile_error(error: wasmtime::Error, limits: &Limits) -> LoadError {
    // wasmtime gives these no type of their own; each of its messages says
    // "pooling allocator" (tests/hostile.rs pins them, with this version).
    if format!("{error:#}").contains("pooling allocator") {
        LoadError::Resources { why: error, memory_bytes: limits.memory_bytes }
    } else {
        LoadError::Invalid(error)
    }
}

/// Refuse what is not a component before handing bytes to the compiler, so the
/// message says what the file is.
pub(crate) fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_MODULE: &[u8] = &[1, 0, 0, 0];
    if !bytes.starts_with(MAGIC) {
        let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let head = if head.is_empty() { "nothing (the file is empty)".to_owned() } else { head.join(" ") };
        return Err(LoadError::NotWasm(head));
    }
    if bytes.get(4..8) == Some(CORE_MODULE) {
        return Err(LoadError::CoreModule);
    }
    Ok(())
}

fn describe(raw: wit::Description) -> Result<Description, LoadError> {
    let bad = |what: &str| Err(LoadError::Description(what.to_owned()));
    let province = match raw.scope {
        wit::ScopeKind::National if raw.province.is_none() => None,
        wit::ScopeKind::National => return bad("scope is national but a province is given"),
        wit::ScopeKind::Province => match raw.province {
            Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => Some(code),
            other => {
                return Err(LoadError::Description(format!(
                    "scope is province, expected a 3-digit province code, found {other:?}"
                )));
            }
        },
    };
    if raw.name.is_empty() || raw.name.len() > 64 || raw.version.is_empty() || raw.version.len() > 32 {
        return bad("name (1-64 bytes) and version (1-32 bytes) are required");
    }
    if raw.programs.is_empty() || raw.programs.iter().any(|p| p.is_empty() || p.len() > 64) {
        return bad("programs must name at least one programme");
    }
    Ok(Description {
        name: raw.name,
        version: raw.version,
        province,
        programs: raw.programs,
        reads: raw.reads.iter().map(|f| contract::field_name(*f).to_owned()).collect(),
    })
}

/// Cut a plug-in's message to a size fit for a database row and a terminal.
fn shorten(message: &str) -> String {
    const MAX: usize = 500;
    match message.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// The per-store state: only what the resource limiter needs.
pub(crate) struct StoreState {
    /// [`Limits::memory_bytes`]: for all of the instance's memories together.
    memory_bytes: usize,
    /// Bytes of all its memories so far: a memory made at instantiation counts
    /// as grown from nothing to its initial size.
    memory_used: usize,
}

impl StoreState {
    fn new(memory_bytes: usize) -> StoreState {
        StoreState { memory_bytes, memory_used: 0 }
    }
}

/// Raised (as a trap) when a plug-in asks for more memory than allowed.
#[derive(Debug)]
struct MemoryLimit;

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory limit reached")
    }
}

impl std::error::Error for MemoryLimit {}

/// Raised when an instance's exports do not have the contract's types.
#[derive(Debug)]
struct Mismatch(String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

impl ResourceLimiter for StoreState {
    /// The limit is per decision, not per memory: a component of many core
    /// instances, each with a memory within the limit, would otherwise have
    /// many times it. Asking for more is an error of the plug-in (a trap), not
    /// a `memory.grow` that returns -1: a rule needs no such memory.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.memory_used.saturating_add(desired.saturating_sub(current));
        if total > self.memory_bytes {
            return Err(MemoryLimit.into());
        }
        // Past the memory's own declared maximum the engine would fail the
        // growth after this (`memory.grow` returns -1, as wasm says): refuse
        // it here, so that what is counted is only what did grow. (Taking a
        // failed growth back in `memory_grow_failed` would not do: the engine
        // also reports there growths it never asked about here.)
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn the_memory_limit_counts_all_memories_together() {
        let mut state = StoreState::new(16 * MIB);
        // Two memories made at instantiation, 9 MiB and 6 MiB: 15 MiB.
        assert!(state.memory_growing(0, 9 * MIB, None).unwrap());
        assert!(state.memory_growing(0, 6 * MIB, None).unwrap());
        // The second grows by 1 MiB: 16 MiB, the limit exactly.
        assert!(state.memory_growing(6 * MIB, 7 * MIB, None).unwrap());
        // One page more, in either memory, is past it, though each alone is far below.
        for current in [9 * MIB, 7 * MIB] {
            let error = state.memory_growing(current, current + (64 << 10), None).unwrap_err();
            assert!(error.downcast_ref::<MemoryLimit>().is_some(), "{error:#}");
        }
        // A third memory, even of one page, does not fit either.
        assert!(state.memory_growing(0, 64 << 10, None).is_err());
    }

    #[test]
    fn a_growth_past_a_memorys_own_maximum_fails_and_is_not_counted() {
        let mut state = StoreState::new(16 * MIB);
        assert!(state.memory_growing(0, MIB, Some(2 * MIB)).unwrap());
        // Past its declared maximum of 2 MiB: `memory.grow` returns -1.
        assert!(!state.memory_growing(MIB, 15 * MIB, Some(2 * MIB)).unwrap());
        // So the other 15 MiB are still free, and no more.
        assert!(state.memory_growing(0, 15 * MIB, None).unwrap());
        assert!(state.memory_growing(0, 1, None).is_err());
    }
}
