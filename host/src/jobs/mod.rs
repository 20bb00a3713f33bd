//! Jobs: the long actions of the service (evaluate a run, issue it), kept in
//! the database with an owner, a lease and a heartbeat (`store::jobs`), and
//! done by a [`runner::Runner`] in any process that serves.
//!
//! A request queues a job and is answered at once (`202 Accepted`, the job's
//! id); the job shows its state, how many items of how many are done, its rate
//! and the time left, and streams them as server-sent events.
//!
//! Architecture invariant: a job only calls actions that are resumable
//! (`run::evaluate` reads only beneficiaries without a decision; `run::issue`
//! pays each decision once, by the database's unique index), so a job that a
//! dead process left is simply run again by whoever claims it next, and
//! finishes the same work without doing any of it twice.

use crate::store::{self, Db};
use crate::trail::Actor;

pub mod runner;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `run evaluate`: verify and decide every beneficiary of a run.
    EvaluateRun,
    /// `run issue`: pay an approved run once and write its files.
    IssueRun,
    /// `audit verify`: the log's chain and every digest it covers (read-only, so it may simply run again).
    VerifyAudit,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EvaluateRun => "run.evaluate",
            Kind::IssueRun => "run.issue",
            Kind::VerifyAudit => "audit.verify",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        [Kind::EvaluateRun, Kind::IssueRun, Kind::VerifyAudit].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Queue `kind` on run `run_id`, acting as `by` (whom the caller has already
/// allowed to do it). The job's id, and whether it is new: asking again while
/// one is open gives that one.
pub async fn submit(db: &Db, kind: Kind, run_id: i64, by: &Actor) -> anyhow::Result<(i64, bool)> {
    submit_on(db, kind, &crate::trail::run_subject(run_id), by).await
}

/// Queue `kind` on `subject` (`run:ID`, or `audit` for the whole log), acting as `by`.
pub async fn submit_on(db: &Db, kind: Kind, subject: &str, by: &Actor) -> anyhow::Result<(i64, bool)> {
    let actor = serde_json::to_string(by)?;
    store::jobs::submit(db, kind.as_str(), subject, "{}", by.account, &actor).await
}

/// The run a job acts on.
pub fn run_of(job: &store::jobs::Job) -> Option<i64> {
    job.subject.strip_prefix("run:")?.parse().ok()
}
