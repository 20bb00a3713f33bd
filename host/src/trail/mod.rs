//! The audit trail every step writes: what lets an auditor see who did what,
//! and prove later that nothing was changed behind the log's back.
//!
//! - [`log`]: the append-only, hash-chained log of every action that changed
//!   state, written in the action's own transaction ([`append`]);
//! - [`action`]: the name of each kind of entry;
//! - [`digest`]: a digest of each decision, and the chains of a run's decisions
//!   and of what it paid that its entries hold ([`seal_decisions`], [`seal_paid`]);
//! - [`person`]: the keyed hash a person appears as outside the database.
//!
//! Auditors' tools over it (verify, replay, export) are in [`crate::audit`].
//!
//! Architecture invariant: the audit trail never holds a raw ID number. A
//! person is a beneficiary id inside one database, or a [`person::PersonKey`]
//! hash outside it.

pub mod action;
pub mod digest;
pub mod log;
pub mod person;

pub use log::append;

use crate::store::decisions::{self, Key};
use crate::store::{self, Tx};
use digest::{Chain, Sealed};

/// Digests read per query when a run's decisions are chained.
const PAGE: i64 = 10_000;

/// The subject an entry about run `id` names.
pub fn run_subject(id: i64) -> String {
    format!("run:{id}")
}

/// What a run paid, row by row: its payments and its cash list, each a chain
/// of row digests in id order. Kept in the `run.issue` entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paid {
    pub payments: Sealed,
    pub cash: Sealed,
}

/// The chains of run `run_id`'s payments and cash list, read in `tx`.
pub async fn seal_paid(tx: &mut Tx, run_id: i64) -> anyhow::Result<Paid> {
    let (mut payments, mut cash) = (Chain::default(), Chain::default());
    let mut after = 0;
    loop {
        let page = store::payments::rows_in(tx, run_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        page.iter().for_each(|row| payments.push(&digest::record_digest("ansinh-payment/1", row)));
    }
    after = 0;
    loop {
        let page = store::payments::cash_rows_in(tx, run_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        page.iter().for_each(|row| cash.push(&digest::record_digest("ansinh-cash/1", row)));
    }
    Ok(Paid { payments: payments.seal(), cash: cash.seal() })
}

/// The chain of run `run_id`'s decision digests, read in `tx`.
pub async fn seal_decisions(tx: &mut Tx, run_id: i64) -> anyhow::Result<Sealed> {
    let mut chain = Chain::default();
    let mut after: Key = (String::new(), 0);
    loop {
        let page = decisions::digests_page(tx, run_id, &after, PAGE).await?;
        let Some((period, beneficiary, _)) = page.last() else { break };
        after = (period.clone(), *beneficiary);
        page.iter().for_each(|(_, _, digest)| chain.push_stored(digest.as_deref()));
    }
    Ok(chain.seal())
}
