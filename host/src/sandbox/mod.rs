//! The sandbox: runs rule plug-ins (WebAssembly components) one fresh instance
//! per decision, deterministically, within fuel, memory, stack, time and output
//! limits.
//!
//! Entry points: [`Sandbox::new`] builds the engine once per process;
//! [`Sandbox::load`] checks and compiles a plug-in (cached by content hash);
//! [`Plugin::evaluate`] makes one decision.
//!
//! Architecture invariant: a plug-in imports nothing. It cannot read a clock,
//! draw a random number or touch a file, so its output depends only on its bytes
//! and its input; fuel counts wasm operators, so the fuel used is deterministic
//! too. The epoch deadline is a wall-clock backstop only: with no imports, fuel
//! always runs out first.

mod contract;
mod engine;
mod limits;
mod plugin;

pub use contract::{CheckedOutput, DecisionInput, DecisionOutput, Explanation, OutputError, check_output};
pub use engine::{EngineIdentity, Sandbox};
pub use limits::Limits;
pub use plugin::{CONTRACT, Description, Evaluation, LoadError, Plugin, PluginError, PluginHash};
