//! The per-decision budget a plug-in runs within.

use std::time::Duration;

/// How often the engine's epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits for one decision. The defaults suit the national plug-in with a wide
/// margin: it uses a few thousand units of fuel and a few pages of memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wasm operators a decision may execute (instantiation included).
    pub fuel: u64,
    /// Largest linear memory a plug-in may grow to, in bytes.
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
