//! Who may do what, where: the one rule both front ends (the CLI and the
//! HTTP API) apply before an action, from `administration.md` of the domain.
//!
//! An act needs one of its roles ([`Act::roles`]) and a scope that covers
//! where it acts ([`Place`]). Four-eyes (the approver of a run is not its
//! creator or evaluator; the approver of a release did not upload or sign
//! it) is checked by the action itself, which knows who did the steps
//! before.
//!
//! Architecture invariant: every action of the CLI and every route of the
//! API names its [`Act`]; `tests/authorization.rs` checks the API's routes
//! against a table written from `administration.md`, not from this file.

use chrono::{Datelike, Utc};

use super::caller::{Caller, Refusal};
use crate::identity::provinces;
use crate::model::Month;

/// What an account asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Load a registry extract or an enrolment list.
    Import,
    /// Create, evaluate, issue, reconcile, cancel a run; ask a candidate plug-in over it.
    WorkRun,
    /// Approve or refuse a run: a province's approver (finance).
    DecideRun,
    /// Read a run: its summary, exceptions, files.
    ReadRun,
    /// Upload and sign a release; register and revoke its authority's keys.
    Author,
    /// Approve, activate or retire a release: a second account of its authority.
    DecideRelease,
    /// Read releases and keys.
    ReadReleases,
    /// Verify the log, replay, export, look a person up: read-only.
    Audit,
    /// Clear a registry flag after checking the person (an officer's review).
    ReviewRegistry,
}

impl Act {
    /// The roles that may do it.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Act::Import | Act::WorkRun | Act::ReviewRegistry => &["officer"],
            Act::DecideRun | Act::DecideRelease => &["approver"],
            Act::ReadRun => &["officer", "approver", "auditor"],
            Act::Author => &["author"],
            Act::ReadReleases => &["author", "officer", "approver", "auditor"],
            Act::Audit => &["auditor"],
        }
    }

    /// What it is called in a refusal.
    fn doing(self) -> &'static str {
        match self {
            Act::Import => "importing",
            Act::WorkRun => "creating, evaluating, issuing or reconciling runs",
            Act::DecideRun => "approving or refusing runs",
            Act::ReadRun => "reading runs",
            Act::Author => "uploading and signing releases, registering keys",
            Act::DecideRelease => "approving, activating or retiring releases",
            Act::ReadReleases => "reading releases",
            Act::Audit => "auditing: verify, replay, export",
            Act::ReviewRegistry => "reviewing registry flags",
        }
    }
}

/// Where an act acts.
#[derive(Clone, Copy, Debug)]
pub enum Place<'a> {
    /// A province, by its 3-digit code: covered by national scope, that
    /// province's, or that of the province it was merged into.
    Province(&'a str),
    /// An authority of rules: `national` (national scope only) or a province code.
    Authority(&'a str),
    /// Not one province: any scope will do (each row or item is then checked by its own province).
    Anywhere,
}

/// Whether `caller` may do `act` at `place`: a role refused is 403, a place
/// outside the scope 404 (what is not in scope is not shown to exist). `what`
/// names the thing in the 404 ("run 12").
pub fn allow(caller: &Caller, act: Act, place: Place<'_>, what: &str) -> Result<(), Refusal> {
    if !caller.roles.iter().any(|role| act.roles().contains(&role.as_str())) {
        return Err(Refusal::Forbidden(format!(
            "{} is for the {} role{}; {} holds {}",
            act.doing(),
            act.roles().join(" or "),
            if act.roles().len() > 1 { "s" } else { "" },
            caller.actor.name,
            if caller.roles.is_empty() { "none".to_owned() } else { caller.roles.join(", ") }
        )));
    }
    let covered = match place {
        Place::Province(code) => covers_province(caller, code),
        Place::Authority("national") => caller.scopes.iter().any(|s| s == "national"),
        Place::Authority(code) => covers_province(caller, code),
        Place::Anywhere => true,
    };
    if !covered {
        return Err(Refusal::NotFound(format!("there is no {what} in your scope ({})", caller.scopes.join(", "))));
    }
    Ok(())
}

/// Whether `caller`'s scope covers province `code`: national, that province,
/// or the province it has since been merged into (an account of the merged
/// province covers the former one's runs from before the merger).
pub fn covers_province(caller: &Caller, code: &str) -> bool {
    let today = Utc::now().date_naive();
    let now = Month::new(today.year() as u16, today.month() as u8).expect("today is a month");
    let governing = provinces::governing(code, now);
    caller.scopes.iter().any(|scope| {
        scope == "national"
            || scope.strip_prefix("province:").is_some_and(|province| province == code || province == governing)
    })
}

/// Whether `caller` reads the releases of `authority`: national rules are
/// every province's to read; a province's are its own (and national accounts').
pub fn sees_authority(caller: &Caller, authority: &str) -> bool {
    authority == "national" || covers_province(caller, authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::{Actor, Auth};

    fn caller(roles: &[&str], scopes: &[&str]) -> Caller {
        Caller {
            actor: Actor { account: 1, name: "Lan".into(), auth: Auth::Token("0".repeat(16)) },
            kind: "person".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_role_and_a_scope_are_both_needed() {
        let officer = caller(&["officer"], &["province:001"]);
        assert_eq!(allow(&officer, Act::WorkRun, Place::Province("001"), "run 1"), Ok(()));
        assert!(matches!(allow(&officer, Act::WorkRun, Place::Province("079"), "run 1"), Err(Refusal::NotFound(_))));
        assert!(matches!(allow(&officer, Act::DecideRun, Place::Province("001"), "run 1"), Err(Refusal::Forbidden(_))));
        let author = caller(&["author"], &["province:001"]);
        assert!(matches!(allow(&author, Act::Author, Place::Authority("national"), "key"), Err(Refusal::NotFound(_))));
        assert_eq!(allow(&author, Act::Author, Place::Authority("001"), "key"), Ok(()));
    }

    #[test]
    fn the_merged_province_covers_the_former_ones_runs() {
        // Resolution 202/2025/QH15: Hải Dương (030) merged into Hải Phòng (031) from 2025-07-01
        // (`identity::provinces::MERGERS`).
        let officer = caller(&["officer"], &["province:031"]);
        assert_eq!(allow(&officer, Act::ReadRun, Place::Province("030"), "run 1"), Ok(()));
        let former = caller(&["officer"], &["province:030"]);
        assert!(allow(&former, Act::ReadRun, Place::Province("031"), "run 1").is_err());
    }
}
