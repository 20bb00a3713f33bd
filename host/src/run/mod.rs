//! Payment runs: evaluate every beneficiary of a run, then issue its payments.
//! The storage of runs is in `store::runs`; this module is what runs *do*.

pub mod approve;
pub mod cancel;
mod decide;
pub mod evaluate;
pub mod issue;
pub mod report;

pub use approve::approve;
pub use cancel::cancel;
pub use evaluate::{Evaluated, evaluate};
pub use issue::{IssueReport, issue};
pub use report::{RunReport, report};
