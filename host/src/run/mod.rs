//! Payment runs: evaluate every beneficiary of a run, issue its payments, then
//! reconcile them with the bank's status reports.
//! The storage of runs is in `store::runs`; this module is what runs *do*.

pub mod approve;
pub mod cancel;
pub mod create;
mod decide;
pub mod diff;
pub mod evaluate;
pub mod issue;
pub mod reconcile;
pub mod refuse;
pub mod report;
pub mod review;

pub use approve::approve;
pub use cancel::cancel;
pub use create::create;
pub(crate) use decide::settle;
pub use diff::{WhatIf, diff};
pub use evaluate::{Evaluated, evaluate};
pub use issue::{IssueReport, issue};
pub use reconcile::{Reconciled, reconcile};
pub use refuse::refuse;
pub use report::{RunReport, report};

/// A reason a run is `what` (cancelled, refused), as the log keeps it for
/// ever: said, trimmed, and never holding an ID number.
fn reason_for_the_log<'a>(reason: &'a str, what: &str) -> anyhow::Result<&'a str> {
    let reason = reason.trim();
    anyhow::ensure!(!reason.is_empty(), "--reason: say why the run is {what}; it is kept with the run");
    anyhow::ensure!(
        !crate::identity::id_number::holds_one(reason),
        "--reason holds what looks like an ID number: the reason is kept in the audit log for ever, which never \
         holds one; name the person by beneficiary number (#123) instead"
    );
    Ok(reason)
}
