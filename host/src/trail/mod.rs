//! The audit trail every step writes: what lets an auditor see who did what,
//! and prove later that nothing was changed behind the log's back.
//!
//! - [`log`]: the append-only, hash-chained log of every action that changed
//!   state, written in the action's own transaction ([`append`]);
//! - [`action`]: the name of each kind of entry;
//! - [`actor`]: who acts, an account, and how it authenticated;
//! - [`digest`]: a digest of each decision, and the chains of a run's decisions
//!   and of what it paid that its entries hold ([`seal_decisions`], [`Paying`]);
//! - [`person`]: the keyed hash a person appears as outside the database.
//!
//! Auditors' tools over it (verify, replay, export) are in [`crate::audit`].
//!
//! Architecture invariant: the audit trail never holds a raw ID number. A
//! person is a beneficiary id inside one database, or a [`person::PersonKey`]
//! hash outside it.

pub mod action;
pub mod actor;
pub mod digest;
pub mod log;
pub mod person;

pub use actor::{Actor, Auth};
pub use log::append;

use std::ops::ControlFlow;

use crate::store::decisions::{self, DecisionRow, Key};
use crate::store::{self, Tx};
use digest::{Chain, Escapes, Sealed};

/// Digests read per query when a run's decisions are chained.
const PAGE: i64 = 10_000;

/// The grant behind an act: the entry that gave an account its roles.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Grant {
    /// The granting entry's number in the log.
    pub seq: i64,
    pub at: String,
    /// Who granted them (an admin; `accounts init` for the first).
    pub by: String,
    pub roles: Vec<String>,
}

/// The grant behind the last `action` entry about `subject` (the approval of
/// `run:12`, of `release:3`): shown beside the approval it made possible.
pub async fn grant_for(db: &store::Db, subject: &str, action: &str) -> anyhow::Result<Option<Grant>> {
    let entries = store::audit::about(db, subject).await?;
    match entries.iter().rev().find(|e| e.action == action) {
        Some(entry) => grant_behind(db, entry).await,
        None => Ok(None),
    }
}

/// The grant behind `entry`'s act (`run.approve`, `release.approve`): the
/// `account.create` entry of the account that `details.by` names. None for an
/// entry from before accounts, which names nobody's account.
pub async fn grant_behind(db: &store::Db, entry: &store::audit::Entry) -> anyhow::Result<Option<Grant>> {
    let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap_or_default();
    let Some(account) = details["by"]["account"].as_i64() else { return Ok(None) };
    let entries = store::audit::about(db, &format!("account:{account}")).await?;
    Ok(entries.into_iter().find(|e| e.action == action::ACCOUNT_CREATE).map(|e| {
        let granted: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
        let roles = granted["roles"]
            .as_array()
            .map_or_else(Vec::new, |roles| roles.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect());
        Grant { seq: e.seq, at: e.at, by: e.actor, roles }
    }))
}

/// Record that `by` read personal data about `subject` (`what` was read,
/// `people` of them): Decree 13/2023/ND-CP on personal data protection has
/// the controller keep a record of who processed whose data. One entry per
/// read (a page, a list, a file), in a transaction of its own: a read is
/// recorded before its data is shown, or not shown.
pub async fn record_read(
    db: &store::Db,
    by: &Actor,
    subject: &str,
    what: &str,
    people: usize,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    let mut record = serde_json::json!({ "what": what, "people": people });
    if let (Some(record), Some(details)) = (record.as_object_mut(), details.as_object()) {
        record.extend(details.clone());
    }
    let mut tx = db.begin().await?;
    append(&mut tx, by, action::PERSONAL_READ, subject, record).await?;
    tx.commit().await?;
    Ok(())
}

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

/// The chains of a run's payments and cash list, made row by row in id order.
#[derive(Default)]
pub struct Paying {
    payments: Chain,
    cash: Chain,
}

impl Paying {
    pub fn payment(&mut self, row: &store::payments::PaymentRow) {
        self.payments.push(&digest::record_digest("ansinh-payment/1", row));
    }

    pub fn cash(&mut self, row: &store::payments::CashRow) {
        self.cash.push(&digest::record_digest("ansinh-cash/1", row));
    }

    pub fn seal(self) -> Paid {
        Paid { payments: self.payments.seal(), cash: self.cash.seal() }
    }
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

/// Decisions that are not what evaluation sealed: what differs, and which entry says so.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct Tampered(pub String);

/// A decision as checking reads it: the row, the ID number it is paid under
/// if it is owed now (`store::payments::owed!`), and its digest made again
/// from its fields if one is stored with it.
pub struct Remade {
    pub row: DecisionRow,
    pub owed_to: Option<String>,
    pub remade: Option<String>,
}

/// Read run `run_id`'s decisions in `tx`, `page` at a time in key order, each
/// with its digest made again ([`Remade`]), and hand each page to `each`
/// until it breaks: what approval, issue and `audit verify` check a run with.
/// A page's digests are made on a blocking thread while the database reads
/// the next: at a million decisions each is about half of the pass.
pub async fn read_remade(
    tx: &mut Tx,
    run_id: i64,
    page: i64,
    mut each: impl FnMut(&[Remade]) -> ControlFlow<()>,
) -> anyhow::Result<()> {
    let mut reader = decisions::Reader::default();
    let mut escapes = Escapes::default();
    let mut read = reader.page_owed_in(tx, run_id, &(String::new(), 0), page).await?;
    while let Some((last, _)) = read.last() {
        let after: Key = (last.period.clone(), last.beneficiary_id);
        let remaking = tokio::task::spawn_blocking(move || {
            let remade = read
                .into_iter()
                .map(|(row, owed_to)| {
                    let remade = row.digest.as_ref().map(|_| row.remade_digest(&mut escapes));
                    Remade { row, owed_to, remade }
                })
                .collect::<Vec<Remade>>();
            (remade, escapes)
        });
        let (next, remaking) = tokio::join!(reader.page_owed_in(tx, run_id, &after, page), remaking);
        let remade;
        (remade, escapes) = remaking?;
        if each(&remade).is_break() {
            return Ok(());
        }
        read = next?;
    }
    Ok(())
}

/// Decisions read per query when a run's seal is checked.
const CHECK_PAGE: i64 = 2_000;

/// Check run `run_id`'s decisions, read in `tx`, against the chain its
/// `run.evaluate` entry sealed, each digest made again from the decision's
/// fields (never the stored digest column, which whoever changed a field could
/// change too). What approval approves and what issue pays must be what was
/// evaluated: an error names the entry, the first decision that differs and
/// what it was, and says it is tampering. A run evaluated before the audit
/// log has no seal to check against.
///
/// In the same pass, each decision owed now (what the run would pay,
/// `store::payments::owed!`) is handed to `owed` with the ID number it is
/// paid under, in key order: the tally is made from the rows checked, not
/// from a second read. Tampering is the inner error, apart from failures to
/// read.
pub async fn check_sealed(
    db: &store::Db,
    tx: &mut Tx,
    run_id: i64,
    owed: &mut (dyn FnMut(&DecisionRow, &str) + Send),
) -> anyhow::Result<Result<(), Tampered>> {
    let entries = store::audit::about(db, &run_subject(run_id)).await?;
    let entry = entries.iter().rev().find(|e| e.action == action::RUN_EVALUATE);
    if entry.is_none() && entries.iter().any(|e| e.action == action::RUN_CREATE) {
        return Ok(Err(Tampered(format!(
            "run {run_id}: its run.create entry is in the audit log but its run.evaluate entry, which seals its \
             decisions, is not: that is tampering, and nothing of this run is paid. `ansinh audit verify` says more"
        ))));
    }
    // None: evaluated before the audit log, with no seal to check against; its rows are still read for `owed`.
    let sealed = match entry {
        None => None,
        Some(entry) => Some(
            serde_json::from_str::<serde_json::Value>(&entry.details)
                .ok()
                .and_then(|d| serde_json::from_value::<Sealed>(d["decisions"].clone()).ok())
                .map(|sealed| (entry, sealed))
                .ok_or_else(|| anyhow::anyhow!("audit entry {} (run.evaluate) holds no decision chain", entry.seq))?,
        ),
    };
    let tampering = |entry: &store::audit::Entry, what: String| {
        Tampered(format!(
            "run {run_id}: {what}, not what audit entry {} (run.evaluate, hash {}) sealed at evaluation. The \
             database was changed behind the log: that is tampering, and nothing of this run is paid. \
             `ansinh audit verify` names every change",
            entry.seq, entry.hash
        ))
    };
    let mut chain = Chain::default();
    let mut tampered = None;
    read_remade(tx, run_id, CHECK_PAGE, |page| {
        for r in page {
            if let Some((entry, _)) = &sealed {
                match (&r.row.digest, &r.remade) {
                    (Some(stored), Some(remade)) => {
                        if stored != remade {
                            let row = &r.row;
                            tampered = Some(tampering(
                                entry,
                                format!(
                                    "the decision of beneficiary #{} for {} ({} {} VND, paid to {} {} {}) is not the one \
                                 stored with it",
                                    row.beneficiary_id,
                                    row.period,
                                    row.outcome,
                                    row.amount,
                                    row.channel,
                                    row.bank_bin,
                                    crate::identity::masked(&row.account_number)
                                ),
                            ));
                            return ControlFlow::Break(());
                        }
                        chain.push(remade);
                    }
                    // Made before digests were kept (none stored, none made again): sealed as such.
                    _ => chain.push_stored(None),
                }
            }
            if let Some(id_number) = &r.owed_to {
                owed(&r.row, id_number);
            }
        }
        ControlFlow::Continue(())
    })
    .await?;
    if let Some(tampered) = tampered {
        return Ok(Err(tampered));
    }
    if let Some((entry, sealed)) = &sealed {
        let now = chain.seal();
        if now != *sealed {
            return Ok(Err(tampering(
                entry,
                format!(
                    "its {} decisions chain to {}, where {} chained to {}: a decision was added, removed or changed \
                 with its digest",
                    now.count, now.chain, sealed.count, sealed.chain
                ),
            )));
        }
    }
    Ok(Ok(()))
}
