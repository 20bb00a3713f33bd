//! The integration tests of `ansinh`, one test binary with a module per
//! subject. They drive the real `ansinh` binary (a target of this package, so
//! `CARGO_BIN_EXE_ansinh`) against real SQLite files and fresh PostgreSQL
//! databases, with real plug-ins built from source by `ansinh plugin build`,
//! and check the payment files against the official ISO 20022 XSDs with a real
//! validator. Nothing is mocked, and nothing skips: a test that lacks
//! PostgreSQL or the validator fails and says what to do.
//!
//! A test on both backends is one body, `fn some_test(t: Driver)`, and
//! `on_both_backends!(some_test)`: the tests `some_test::sqlite` and
//! `some_test::postgres`, each with a fresh database and folder (the macro and
//! the `Driver`, whose methods are the steps of a run's life: `support/mod.rs`).
//!
//! ```sh
//! cargo test -p ansinh --test integration                # all of them
//! cargo test -p ansinh --test integration hostile::      # one module
//! cargo test -p ansinh --test integration sqlite         # one backend
//! cargo test -p ansinh --test integration -- --list      # what there is
//! ```

#[macro_use]
mod support;

mod api_contract;
mod architecture;
mod audit;
mod authoring;
mod authorization;
mod demo;
mod determinism;
mod earlier_release;
mod hostile;
mod import;
mod issue_crash;
mod jobs;
mod keys;
mod lifecycle;
mod money_path;
mod oidc;
mod pages;
mod pain001_schema;
mod payments;
mod plugin_cases;
mod python_plugin;
mod reconcile;
mod registry_http;
mod releases;
mod resume;
mod sandbox;
mod schema;
mod secrets;
mod server;
mod store;
mod verification;
mod what_if;
mod workers;
