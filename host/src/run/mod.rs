//! Payment runs: evaluate every beneficiary of a run, issue its payments, then
//! reconcile them with the bank's status reports.
//! The storage of runs is in `store::runs`; this module is what runs *do*.

pub mod approve;
pub mod cancel;
pub mod create;
mod decide;
pub mod diff;
pub mod evaluate;
pub mod files;
pub mod issue;
mod reason;
pub mod reconcile;
pub mod refuse;
pub mod report;
pub mod review;

pub use approve::approve;
pub use cancel::cancel;
pub use create::create;
pub(crate) use decide::settle;
pub use diff::{WhatIf, diff};
pub use evaluate::{Crew, Evaluated, evaluate};
pub use issue::{IssueReport, issue};
pub use reconcile::{Reconciled, reconcile};
pub use refuse::refuse;
pub use report::{RunReport, report};
