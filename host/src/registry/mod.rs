//! The population registry: who a person is, as the national population database confirms it.
//!
//! A run verifies every beneficiary against the registry ([`verify`]: nine checks of an
//! enrolment against its record). Where the records come
//! from is a deployment's choice, so a run sees only [`Registry`]: one batch lookup per page of
//! beneficiaries. Two sources implement it:
//!
//! - [`sql::Sql`], the default: the `registry_people` table, loaded from the registry CSV extract by
//!   `ansinh registry import`.
//! - [`http::Http`]: a registry service asked over HTTPS with a bearer token, with timeouts, retries
//!   and a cache for the run. Its wire contract is in [`http`]'s documentation and the README.
//!
//! A run records the [`Registry::source`] it was evaluated against (`runs.registry_source`), so
//! an auditor replaying it knows which registry to ask, and a resumed run cannot mix two.
//!
//! A bank that answers a payment with MD07 (deceased) flags the person for a check in the
//! registry; [`flags`] is the officer's side of it: clearing a flag once the registry is checked.

use std::future::Future;
use std::pin::Pin;

use crate::model::RegistryRecord;

pub mod flags;
pub mod http;
pub mod sql;
pub mod verify;

/// What [`Registry::lookup`] returns: a boxed future, so that the trait stays usable as
/// `Arc<dyn Registry>` without a macro crate.
pub type Lookup<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Vec<RegistryRecord>>> + Send + 'a>>;

/// A source of population registry records, shared by a run's reader (`Arc<dyn Registry>`).
pub trait Registry: Send + Sync {
    /// The records of those of `id_numbers` the registry holds, in any order. A person left out
    /// is one the registry has no record of (the run decides them not verified); an error is a
    /// registry that could not answer, and stops the run (it resumes where it stopped).
    fn lookup<'a>(&'a self, id_numbers: &'a [String]) -> Lookup<'a>;

    /// Which registry this is, as runs record it: `table registry_people`, or the service's
    /// base URL. Holds no secret.
    fn source(&self) -> String;
}
