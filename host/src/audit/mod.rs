//! The audit trail: what lets an auditor prove that every payment followed
//! from the registry facts and the rules in force, and see who did what.
//!
//! - [`log`]: the append-only, hash-chained log of every action that changed
//!   state, written in the action's own transaction.
//! - [`digest`]: a digest of each decision, and the chain of a run's decisions
//!   that its `run.evaluate` entry holds.
//! - [`person`]: the keyed hash a person appears as in the audit trail.
//! - [`replay`]: re-executes a run's decisions from what was stored, in a fresh
//!   sandbox, and compares output and fuel byte for byte.
//! - [`bundle`]: a run exported as one self-contained file, replayable offline.
//! - [`verify`]: walks the chain and every digest it covers.
//!
//! Architecture invariant: the audit trail never holds a raw ID number. A
//! person is a beneficiary id inside one database, or a [`person::PersonKey`]
//! hash outside it.

pub mod bundle;
pub mod digest;
pub mod log;
pub mod person;
pub mod replay;
pub mod verify;

pub use log::append;

use crate::store::Tx;
use crate::store::decisions::{self, Key};
use digest::{Chain, Sealed};

/// Digests read per query when a run's decisions are chained.
const PAGE: i64 = 10_000;

/// The subject an entry about run `id` names.
pub fn run_subject(id: i64) -> String {
    format!("run:{id}")
}

/// The chain of run `run_id`'s decision digests, read in `tx`.
pub async fn seal_decisions(tx: &mut Tx, run_id: i64) -> anyhow::Result<Sealed> {
    let mut chain = Chain::default();
    let mut after: Key = (String::new(), 0);
    loop {
        let page = decisions::digests_page(tx, run_id, &after, PAGE).await?;
        let Some((period, beneficiary, _)) = page.last() else { break };
        after = (period.clone(), *beneficiary);
        page.iter().for_each(|(_, _, digest)| chain.push(digest));
    }
    Ok(chain.seal())
}
