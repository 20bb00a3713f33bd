//! The population registry: who a person is, as the national population database confirms it.
//!
//! A run verifies every beneficiary against the registry (`verify.rs`). Where the records come
//! from is a deployment's choice, so a run sees only [`Registry`]: one batch lookup per page of
//! beneficiaries. Two sources implement it:
//!
//! - [`Sql`], the default: the `registry_people` table, loaded from the registry CSV extract by
//!   `ansinh registry import`.
//! - [`Http`]: a registry service asked over HTTPS with a bearer token, with timeouts, retries
//!   and a cache for the run. Its wire contract is in [`http`]'s documentation and the README.
//!
//! A run records the [`Registry::source`] it was evaluated against (`runs.registry_source`), so
//! an auditor replaying it knows which registry to ask, and a resumed run cannot mix two.

use std::future::Future;
use std::pin::Pin;

use crate::model::RegistryRecord;

pub mod http;
mod sql;

pub use http::Http;
pub use sql::Sql;

/// Clear the open death-report flags of a beneficiary's person as `by`, for
/// `reason`, with its audit entry; how many were open.
pub async fn clear_flags(db: &crate::store::Db, beneficiary_id: i64, by: &str, reason: &str) -> anyhow::Result<u64> {
    anyhow::ensure!(
        !crate::identity::id_number::holds_one(reason),
        "--reason holds what looks like an ID number: the reason is kept in the audit log for ever, which never \
         holds one; say what the registry check found without it"
    );
    let mut tx = db.begin().await?;
    let cleared = crate::store::flags::clear(&mut tx, beneficiary_id, by, reason).await?;
    if cleared > 0 {
        let details = serde_json::json!({ "cleared": cleared, "reason": reason });
        crate::audit::append(
            &mut tx,
            by,
            crate::audit::action::REGISTRY_CLEAR_FLAG,
            &format!("beneficiary:{beneficiary_id}"),
            details,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(cleared)
}

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
