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

use crate::store::decisions::{self, Key};
use crate::store::{self, Tx};
use digest::{Chain, Sealed};

/// The actions the log records, one name each: a check that looks an entry
/// up by action uses the same constant as the code that appends it.
pub mod action {
    /// The first entry of a log: what existed before it, which it does not cover.
    pub const AUDIT_BEGIN: &str = "audit.begin";
    pub const AUDIT_EXPORT: &str = "audit.export";
    pub const IMPORT_REGISTRY: &str = "import.registry";
    pub const IMPORT_ENROLMENT: &str = "import.enrolment";
    pub const KEY_ADD: &str = "key.add";
    pub const KEY_REVOKE: &str = "key.revoke";
    pub const RELEASE_UPLOAD: &str = "release.upload";
    pub const RELEASE_SIGN: &str = "release.sign";
    pub const RELEASE_APPROVE: &str = "release.approve";
    pub const RELEASE_ACTIVATE: &str = "release.activate";
    pub const RELEASE_RETIRE: &str = "release.retire";
    pub const REGISTRY_CLEAR_FLAG: &str = "registry.clear_flag";
    pub const RUN_CREATE: &str = "run.create";
    pub const RUN_EVALUATE: &str = "run.evaluate";
    pub const RUN_APPROVE: &str = "run.approve";
    pub const RUN_APPROVAL_VOID: &str = "run.approval_void";
    pub const RUN_ISSUE: &str = "run.issue";
    pub const RUN_FILES: &str = "run.files";
    pub const RUN_RECONCILE: &str = "run.reconcile";
    pub const RUN_CANCEL: &str = "run.cancel";
    pub const RUN_WHAT_IF: &str = "run.what_if";
}

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

/// A run's decisions (their `chain`) against what its `run.evaluate` entry
/// among `entries` recorded: a note when they match, else the problem.
pub fn compare_chain(entries: &[store::audit::Entry], chain: &Sealed) -> Result<String, String> {
    let Some(entry) = entries.iter().find(|e| e.action == action::RUN_EVALUATE) else {
        return if entries.iter().any(|e| e.action == action::RUN_CREATE) {
            Err("the run's entries have run.create but no run.evaluate: it was removed".to_owned())
        } else {
            Ok("no run.evaluate entry: the run was evaluated before the audit log".to_owned())
        };
    };
    let recorded = serde_json::from_str::<serde_json::Value>(&entry.details)
        .ok()
        .and_then(|d| serde_json::from_value::<Sealed>(d["decisions"].clone()).ok());
    match recorded {
        Some(recorded) if recorded == *chain => Ok(format!(
            "the {} decisions chain to {}, as audit entry {} (run.evaluate, hash {}) recorded",
            chain.count, chain.chain, entry.seq, entry.hash
        )),
        Some(recorded) => Err(format!(
            "the decisions do not match audit entry {} (run.evaluate): it recorded {} decisions chaining to {}, \
             there are {} chaining to {}",
            entry.seq, recorded.count, recorded.chain, chain.count, chain.chain
        )),
        None => Err(format!("audit entry {} (run.evaluate) holds no decision chain", entry.seq)),
    }
}
