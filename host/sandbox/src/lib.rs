//! The ansinh sandbox: runs rule plug-ins (WebAssembly components of the
//! contract `sdk/wit/rules.wit`) one fresh instance per decision,
//! deterministically, within fuel, memory, stack, time and output limits.
//!
//! It knows nothing of databases, HTTP or payments: it takes a plug-in's bytes
//! and the facts of one person for one month, and gives back a checked decision
//! with the fuel it took. The `ansinh` host, its fuzz targets and its decision
//! benchmark are built on it.
//!
//! Entry points: [`Sandbox::new`] builds the engine once per process;
//! [`Sandbox::load`] checks and compiles a plug-in (cached by content hash);
//! [`Plugin::input`] cuts a person's facts down to what the plug-in declared it
//! reads, and [`Plugin::evaluate`] makes one decision. Any number of threads may
//! decide at once: past [`Sandbox::slots`] decisions, one waits for another to
//! finish, and none fails for want of an instance.
//!
//! ```no_run
//! use ansinh_sandbox::{Disability, Household, Limits, Month, PersonFacts, Sandbox, Sex};
//!
//! # fn main() -> anyhow::Result<()> {
//! let sandbox = Sandbox::new(Limits::default(), None)?;
//! // Built by `ansinh plugin build plugins/national-social-assistance`.
//! let bytes = std::fs::read("target/plugins/national-social-assistance.wasm")?;
//! let plugin = sandbox.load(&bytes)?;
//!
//! // Everything the host knows of the person; the plug-in is given only
//! // the fields it declared it reads.
//! let person = PersonFacts {
//!     birth_date: "1940-05-12".parse().ok(),
//!     sex: Some(Sex::Female),
//!     residence_province: Some("001".into()),
//!     death_date: Some(None), // alive
//!     household: Some(Household::None),
//!     disability: Some(Disability::None),
//!     has_pension: Some(false),
//!     difficult_commune: Some(false),
//!     statuses: Some(vec![]),
//!     dependent_children: Some(0),
//! };
//! let period: Month = "2024-09".parse().map_err(anyhow::Error::msg)?;
//! let input = plugin.input(period, "social-assistance", "001", true, &person);
//! let evaluation = plugin.evaluate(&input);
//! let decision = evaluation.result?;
//! println!("{} (fuel {})", decision.json, evaluation.fuel);
//! # Ok(())
//! # }
//! ```
//!
//! `examples/decide.rs` is the same as a program: `cargo run -p ansinh-sandbox
//! --example decide -- PLUGIN.wasm INPUT.json`.
//!
//! Architecture invariant: a plug-in imports nothing. It cannot read a clock,
//! draw a random number or touch a file, so its output depends only on its bytes
//! and its input; fuel counts wasm operators, so the fuel used is deterministic
//! too. The epoch deadline is a wall-clock backstop only: with no imports, fuel
//! always runs out first.

#![deny(missing_docs)]

mod cache;
mod contract;
mod engine;
mod facts;
mod limits;
mod plugin;
mod slots;

pub use contract::{CONTRACT, CheckedOutput, DecisionInput, DecisionOutput, Explanation, OutputError, check_output};
pub use engine::{EngineIdentity, Sandbox};
pub use facts::{Disability, Household, Month, PersonFacts, Sex, Status};
pub use limits::{Limits, MAX_PLUGIN_BYTES};
pub use plugin::{Description, Evaluation, LoadError, Plugin, PluginError, PluginHash};
