//! What auditors run over the audit trail ([`crate::trail`]) to prove that
//! every payment followed from the registry facts and the rules in force:
//!
//! - [`verify`]: walks the log's chain and every digest it covers, and holds
//!   each run, release and key against what its entries recorded ([`record`]);
//! - [`replay`]: re-executes a run's decisions from what was stored, in a fresh
//!   sandbox, and compares output and fuel byte for byte;
//! - [`bundle`]: a run exported as one self-contained file, replayable offline;
//! - [`tip`]: the log's tip signed each day by `serve` with a key held outside
//!   the database, into files outside it, which `verify` holds the log against.
//!
//! They read; the only things they write are the log entry of an export and
//! the signed tip files.

pub mod bundle;
pub mod person;
pub mod record;
pub mod replay;
pub mod tip;
pub mod verify;

use crate::store;
use crate::trail::action;
use crate::trail::digest::Sealed;

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
