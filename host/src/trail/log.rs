//! The audit log: one entry per action that changed state, chained by hash.
//!
//! An entry's hash is the sha256 of its fields and the hash of the entry
//! before it, so changing, removing or reordering any entry breaks every link
//! after it. Entries are appended in the transaction of the action they
//! record: both land or neither. The database refuses to update or delete an
//! entry (migration 000008), and `audit_head` holds the tip, so a log cut
//! short at its end is caught too.

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::action;
use super::actor::Actor;
use crate::store::Tx;
use crate::store::audit::{self as table, Entry};

/// The hash the first entry follows.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a hash covers: every field but the hash itself, in this order.
#[derive(Serialize)]
struct Covered<'a> {
    chain: &'static str,
    seq: i64,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    details: &'a str,
    prev_hash: &'a str,
}

/// The hash `entry` should have, from its other fields.
pub fn hash_of(entry: &Entry) -> String {
    let covered = Covered {
        chain: "ansinh-audit-log/1",
        seq: entry.seq,
        at: &entry.at,
        actor: &entry.actor,
        action: &entry.action,
        subject: &entry.subject,
        details: &entry.details,
        prev_hash: &entry.prev_hash,
    };
    hex::encode(Sha256::digest(serde_json::to_vec(&covered).expect("plain data serialises")))
}

/// Append an entry: `actor` did `action` to `subject`; `details` holds the
/// hashes of what it touched, and gains `by`: the account and how it
/// authenticated. Call it in the action's own transaction.
///
/// The log's first entry is `audit.begin`, which records the last run that
/// existed before the log did: `audit verify` expects every later run to have
/// its entries, so a run put into the database behind the log's back shows.
pub async fn append(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    subject: &str,
    mut details: serde_json::Value,
) -> anyhow::Result<Entry> {
    if let Some(fields) = details.as_object_mut() {
        fields.insert("by".to_owned(), actor.details());
    }
    let actor = actor.name.as_str();
    let (mut seq, mut prev_hash) = table::advance_head(tx).await?;
    if seq == 1 {
        let before = serde_json::json!({ "runs_before": table::last_run(tx).await? });
        let begin = write(tx, seq, prev_hash, actor, action::AUDIT_BEGIN, "audit", before).await?;
        (seq, prev_hash) = table::advance_head(tx).await?;
        debug_assert_eq!(prev_hash, begin.hash);
    }
    write(tx, seq, prev_hash, actor, action, subject, details).await
}

async fn write(
    tx: &mut Tx,
    seq: i64,
    prev_hash: String,
    actor: &str,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> anyhow::Result<Entry> {
    let mut entry = Entry {
        seq,
        at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        details: serde_json::to_string(&details).expect("JSON values serialise"),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = hash_of(&entry);
    table::insert(tx, &entry).await?;
    Ok(entry)
}

/// Why an entry does not fit the chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("entry {found} stands where entry {expected} should: entries before it were deleted or reordered")]
    Sequence { expected: i64, found: i64 },
    #[error(
        "entry {seq} does not follow the entry before it (its prev_hash is not that entry's hash): an entry was deleted, inserted or reordered"
    )]
    Link { seq: i64 },
    #[error("entry {seq} was changed after it was written (its fields no longer hash to its hash)")]
    Content { seq: i64 },
}

/// Walks a chain entry by entry, in stored order.
#[derive(Debug)]
pub struct Walk {
    /// The number and hash of the last entry checked.
    pub seq: i64,
    pub hash: String,
}

impl Default for Walk {
    fn default() -> Walk {
        Walk { seq: 0, hash: GENESIS.to_owned() }
    }
}

impl Walk {
    /// Check the next entry.
    pub fn next(&mut self, entry: &Entry) -> Result<(), Break> {
        if entry.seq != self.seq + 1 {
            return Err(Break::Sequence { expected: self.seq + 1, found: entry.seq });
        }
        if entry.prev_hash != self.hash {
            return Err(Break::Link { seq: entry.seq });
        }
        if hash_of(entry) != entry.hash {
            return Err(Break::Content { seq: entry.seq });
        }
        self.seq = entry.seq;
        self.hash = entry.hash.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = Entry {
                    seq,
                    at: format!("2026-11-26T00:00:0{seq}.000000Z"),
                    actor: "an".into(),
                    action: "run.create".into(),
                    subject: format!("run:{seq}"),
                    details: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = hash_of(&e);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn walk(entries: &[Entry]) -> Result<(), Break> {
        let mut w = Walk::default();
        entries.iter().try_for_each(|e| w.next(e))
    }

    #[test]
    fn an_intact_chain_walks() {
        assert_eq!(walk(&chain(4)), Ok(()));
    }

    #[test]
    fn each_kind_of_tampering_breaks_the_chain() {
        let mut changed = chain(4);
        changed[2].actor = "someone else".into();
        assert_eq!(walk(&changed), Err(Break::Content { seq: 3 }));

        let mut deleted = chain(4);
        deleted.remove(1);
        assert_eq!(walk(&deleted), Err(Break::Sequence { expected: 2, found: 3 }));

        // Reordered, with the numbers rewritten to hide the gap: the links break.
        let mut reordered = chain(4);
        reordered.swap(1, 2);
        reordered[1].seq = 2;
        reordered[2].seq = 3;
        assert_eq!(walk(&reordered), Err(Break::Link { seq: 2 }));
    }
}
