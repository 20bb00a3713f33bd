//! The per-decision budget a plug-in runs within.

use std::time::Duration;

/// How often the engine's epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The largest plug-in the sandbox loads, in bytes (32 MiB), checked before
/// anything else is done with the bytes: hashing, parsing or compiling a file
/// of hundreds of megabytes takes seconds to minutes and as much memory, and a
/// rule plug-in is far smaller. A Rust plug-in built by `ansinh plugin build`
/// is under 100 KB; the Python one (`plugins/national-social-assistance-py`,
/// an interpreter and its standard library) is about 18.4 MB, the largest
/// there is, so this leaves it room to grow by more than half. Not part of
/// [`Limits`]: it decides what loads, never what a decision gives.
pub const MAX_PLUGIN_BYTES: usize = 32 << 20;

/// What one decision may have, checked for each plug-in when it is compiled in `engine.rs`
/// (wasmtime's pooling allocator refuses a component that needs more), so that
/// a slot always finds all it needs in the pool: the pool has this many of each
/// per slot. A plug-in built by `ansinh plugin build` has one core instance,
/// one memory and one table; the Python plug-in (componentize-py) has 38 core
/// instances (the interpreter, its libraries and the glue between them), one
/// memory and two tables.
pub(crate) const MAX_CORE_INSTANCES: u32 = 64;
/// Linear memories per decision. Two, not one: a component composed of two
/// would have a memory each. All of them together stay within
/// [`Limits::memory_bytes`] (the store's limiter, `plugin.rs`).
pub(crate) const MAX_MEMORIES: u32 = 2;
/// Tables per decision.
pub(crate) const MAX_TABLES: u32 = 4;

/// Limits for one decision. The defaults suit the national plug-in with a wide
/// margin: it uses a few thousand units of fuel and a few pages of memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wasm operators a decision may execute (instantiation included).
    pub fuel: u64,
    /// Memory a decision may have, in bytes: all of its instance's linear
    /// memories together, as they are created and as they grow.
    pub memory_bytes: usize,
    /// Host stack that wasm frames may use, in bytes (deep recursion traps).
    pub wasm_stack_bytes: usize,
    /// Wall-clock backstop for one decision. Fuel normally stops a runaway first.
    pub deadline: Duration,
    /// Largest decision output, measured as its canonical JSON, in bytes.
    pub output_bytes: usize,
    /// Largest monthly amount a plug-in may return, in đồng: anything above is
    /// treated as a broken plug-in, not a payment.
    pub max_amount: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            fuel: 20_000_000,
            memory_bytes: 16 << 20,
            wasm_stack_bytes: 512 << 10,
            deadline: Duration::from_secs(2),
            output_bytes: 16 << 10,
            max_amount: 100_000_000,
        }
    }
}

impl Limits {
    /// The deadline in epoch ticks, at least one.
    pub(crate) fn deadline_ticks(&self) -> u64 {
        (self.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
