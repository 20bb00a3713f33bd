//! The ansinh host service.
//!
//! For a province, a programme and a month, ansinh verifies each enrolled
//! beneficiary against the population registry, runs the province's rule
//! plug-ins in a WebAssembly sandbox, stores every decision with its exact input,
//! plug-in hash and fuel, and issues ISO 20022 payment instructions exactly once
//! per person and month. See ARCHITECTURE.md for the map.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod authoring;
pub mod cli;
pub mod config;
pub mod format;
pub mod identity;
pub mod import;
pub mod jobs;
pub mod metrics;
pub mod model;
pub mod payment;
pub mod registry;
pub mod release;
pub mod run;
pub mod server;
pub mod store;
pub mod synthetic;
pub mod trail;
