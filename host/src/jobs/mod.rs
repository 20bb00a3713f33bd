//! Jobs: the long actions of the service (evaluate a run, issue it, verify
//! the log, a what-if, replay, export), kept in
//! the database with an owner, a lease and a heartbeat (`store::jobs`), and
//! done by a [`runner::Runner`] in any process that serves.
//!
//! A request queues a job and is answered at once (`202 Accepted`, the job's
//! id); the job shows its state, how many items of how many are done, its rate
//! and the time left, and streams them as server-sent events.
//!
//! Architecture invariant: a job only calls actions that are resumable
//! (`run::evaluate` reads only beneficiaries without a decision; `run::issue`
//! pays each decision once, by the database's unique index, and finishes a
//! run a dead process left issuing), so a job that a
//! dead process left is simply run again by whoever claims it next, and
//! finishes the same work without doing any of it twice.

use crate::store::{self, Db};
use crate::trail::Actor;

pub mod parts;
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
    /// `run diff`: a candidate release asked over a run's stored inputs (pays and stores nothing but the
    /// what-if's summary, so it may run again).
    DiffRun,
    /// `audit replay`: a run's decisions made again and compared (read-only).
    ReplayRun,
    /// `audit export`: a run written to a bundle (a new file each time it runs).
    ExportRun,
}

/// Every kind.
const KINDS: [Kind; 6] =
    [Kind::EvaluateRun, Kind::IssueRun, Kind::VerifyAudit, Kind::DiffRun, Kind::ReplayRun, Kind::ExportRun];

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EvaluateRun => "run.evaluate",
            Kind::IssueRun => "run.issue",
            Kind::VerifyAudit => "audit.verify",
            Kind::DiffRun => "run.diff",
            Kind::ReplayRun => "audit.replay",
            Kind::ExportRun => "audit.export",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        KINDS.into_iter().find(|kind| kind.as_str() == text)
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

/// Queue `kind` on run `run_id` with `params`, acting as `by`: the job's id,
/// the open one if it was asked with the same parameters; if one is open
/// with others (another candidate, another sample), `Err` with its id: one
/// such job at a time per run.
pub async fn submit_with(
    db: &Db,
    kind: Kind,
    run_id: i64,
    params: &serde_json::Value,
    by: &Actor,
) -> anyhow::Result<Result<i64, i64>> {
    let (actor, params) = (serde_json::to_string(by)?, serde_json::to_string(params)?);
    let subject = crate::trail::run_subject(run_id);
    let (id, new) = store::jobs::submit(db, kind.as_str(), &subject, &params, by.account, &actor).await?;
    if new {
        return Ok(Ok(id));
    }
    let open = store::jobs::get(db, id).await?;
    Ok(if open.is_some_and(|open| open.params == params) { Ok(id) } else { Err(id) })
}

/// The run a job acts on.
pub fn run_of(job: &store::jobs::Job) -> Option<i64> {
    job.subject.strip_prefix("run:")?.parse().ok()
}

/// The folder of the bundles that `audit.export` jobs write, in `outbox`
/// (made, owner-only, if it is not there).
pub fn exports(outbox: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let dir = outbox.join("exports");
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir).with_context(|| format!("making the folder of exports {}", dir.display()))?;
    Ok(dir)
}

/// The file an `audit.export` job writes.
pub fn export_name(run_id: i64, job: i64) -> String {
    format!("run-{run_id}-export-{job}.bundle")
}
