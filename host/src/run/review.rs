//! What an officer reviews before approving a run: the exceptions (people a
//! person must look at), the amounts by category, and what changed since the
//! previous month's run of the same province and programme.

use std::fmt;

use crate::model::Total;
use crate::registry::verify::{CheckName, Verification};
use crate::store::Db;
use crate::store::decisions::{self, Change, Exception};
use crate::store::runs::{self, Run};

use crate::format::{Shown, group};

/// The kinds of exception, in the order shown, with their heading.
const KINDS: [(&str, &str); 8] = [
    ("not_verified", "not verified by the registry"),
    ("near_name", "name one letter off the registry's (review)"),
    ("account_name", "account holder not the registry's person (held)"),
    ("death_reported", "reported deceased by a bank, MD07 (held)"),
    ("no_account", "no account: cash through VNPost"),
    ("plugin_error", "plug-in errors"),
    ("residence", "registry residence in another province"),
    ("duplicate", "enrolled in another province too"),
];

#[derive(Clone, Debug)]
pub struct Review {
    /// The kinds that have any, in [`KINDS`] order.
    pub exceptions: Vec<Exceptions>,
    /// Each category's people and monthly amount, for those the run pays or lists.
    pub categories: Vec<(String, Total)>,
    pub diff: Option<Diff>,
}

/// One kind of exception: how many, and the first people with why.
#[derive(Clone, Debug)]
pub struct Exceptions {
    pub heading: &'static str,
    pub count: i64,
    pub first: Vec<(Exception, String)>,
}

/// The difference from the previous month's run.
#[derive(Clone, Debug)]
pub struct Diff {
    pub previous_run: i64,
    /// Each with the people and their monthly amount (for `changed`, the net change), and the
    /// first people.
    pub added: (Total, Vec<Change>),
    pub dropped: (Total, Vec<Change>),
    pub changed: (Total, Vec<Change>),
}

/// The review of `run`, listing at most `listed` people per list.
pub async fn review(db: &Db, run: &Run, listed: i64) -> anyhow::Result<Review> {
    let counts = decisions::exception_counts(db, run.id).await?;
    let mut exceptions = Vec::new();
    for (kind, heading) in KINDS {
        let Some((_, count)) = counts.iter().find(|(k, _)| k == kind) else { continue };
        let first = self::exceptions(db, run.id, kind, &(String::new(), 0), listed).await?;
        exceptions.push(Exceptions { heading, count: *count, first });
    }
    let categories = decisions::category_totals(db, run.id, &run.period.to_string()).await?;
    let diff = diff(db, run, listed).await?;
    Ok(Review { exceptions, categories, diff })
}

/// What changed since the previous month's run of `run`'s province and
/// programme, listing at most `listed` people per list; None: there is none.
pub async fn diff(db: &Db, run: &Run, listed: i64) -> anyhow::Result<Option<Diff>> {
    let Some(previous_run) = runs::previous_month(db, run).await? else { return Ok(None) };
    diff_from(db, run, previous_run, listed).await.map(Some)
}

/// What changed from run `previous_run` (of the month before) to `run`,
/// listing at most `listed` people per list.
pub async fn diff_from(db: &Db, run: &Run, previous_run: i64, listed: i64) -> anyhow::Result<Diff> {
    let (period, before) = (run.period.to_string(), run.period.previous().to_string());
    let (now, then) = ((run.id, period.as_str()), (previous_run, before.as_str()));
    Ok(Diff {
        previous_run,
        added: decisions::only_in(db, now, then, listed).await?,
        dropped: decisions::only_in(db, then, now, listed).await?,
        changed: decisions::changed(db, now, then, listed).await?,
    })
}

/// Whether `kind` is a kind of exception.
pub fn is_kind(kind: &str) -> bool {
    KINDS.iter().any(|(k, _)| *k == kind)
}

/// The kinds of exception, in the order `run show` lists them.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|(kind, _)| *kind)
}

/// The next `limit` exceptions of `kind` after `after` (period, beneficiary id), each with why.
pub async fn exceptions(
    db: &Db,
    run_id: i64,
    kind: &str,
    after: &(String, i64),
    limit: i64,
) -> anyhow::Result<Vec<(Exception, String)>> {
    let page = decisions::exceptions(db, run_id, kind, after, limit).await?;
    Ok(page
        .into_iter()
        .map(|e| {
            let why = why(kind, &e);
            (e, why)
        })
        .collect())
}

/// Why a decision is an exception, from its stored checks or error.
fn why(kind: &str, e: &Exception) -> String {
    if let Some(error) = &e.error {
        return error.clone();
    }
    let check = match kind {
        "account_name" => Some(CheckName::AccountName),
        "death_reported" => Some(CheckName::NoDeathReport),
        "residence" => Some(CheckName::Residence),
        "duplicate" => Some(CheckName::SingleEnrolment),
        "no_account" => return "eligible; no bank or e-wallet account".to_owned(),
        _ => None,
    };
    let Ok(verification) = serde_json::from_str::<Verification>(&e.verification) else {
        return "stored checks are unreadable".to_owned();
    };
    let failed = verification.failed().find(|c| check.is_none_or(|name| c.check == name));
    failed.and_then(|c| c.detail.clone()).unwrap_or_default()
}

impl Review {
    /// How many people it names (the exceptions listed, and those added,
    /// dropped and changed since the previous month): what reading it reads.
    pub fn people_listed(&self) -> usize {
        let exceptions: usize = self.exceptions.iter().map(|e| e.first.len()).sum();
        let diff = self.diff.as_ref().map_or(0, |d| d.added.1.len() + d.dropped.1.len() + d.changed.1.len());
        exceptions + diff
    }
}

impl fmt::Display for Review {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.categories.is_empty() {
            writeln!(f, "\n  {:<32} {:>10} {:>22}", "category (owed a month)", "people", "monthly amount (VND)")?;
            for (category, total) in &self.categories {
                writeln!(f, "  {:<32} {:>10} {:>22}", Shown(category), group(total.count), group(total.amount))?;
            }
        }
        if !self.exceptions.is_empty() {
            writeln!(f, "\nExceptions:")?;
        }
        for kind in &self.exceptions {
            writeln!(f, "  {}: {}", kind.heading, group(kind.count))?;
            for (e, why) in &kind.first {
                writeln!(f, "    #{:<8} {} ({}): {}", e.beneficiary_id, Shown(&e.full_name), e.period, Shown(why))?;
            }
            more(f, kind.count, kind.first.len())?;
        }
        if let Some(diff) = &self.diff {
            writeln!(f, "\nSince run {} (the month before):", diff.previous_run)?;
            let lists = [("added", &diff.added), ("dropped", &diff.dropped), ("changed amount", &diff.changed)];
            for (what, (total, first)) in lists {
                writeln!(f, "  {what}: {} people, {} VND a month", group(total.count), group(total.amount))?;
                for c in first {
                    let amount = |a: Option<i64>| a.map_or("-".to_owned(), group);
                    writeln!(
                        f,
                        "    #{:<8} {}: {} → {}",
                        c.beneficiary_id,
                        Shown(&c.full_name),
                        amount(c.before),
                        amount(c.after)
                    )?;
                }
                more(f, total.count, first.len())?;
            }
        }
        Ok(())
    }
}

fn more(f: &mut fmt::Formatter<'_>, count: i64, shown: usize) -> fmt::Result {
    match count - shown as i64 {
        rest if rest > 0 => writeln!(f, "    … and {} more (`run show ID --list N` lists more)", group(rest)),
        _ => Ok(()),
    }
}
