//! Who calls, signed in, and why what they asked is not done.

use crate::trail::Actor;

/// An account, signed in: who acts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Caller {
    /// The account, and how it authenticated.
    #[serde(flatten)]
    pub actor: Actor,
    /// `person` or `machine`.
    pub kind: String,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
}

/// Why an action on accounts or tokens is not done: said to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not do it (403).
    #[error("{0}")]
    Forbidden(String),
    /// What was asked for is not valid (422).
    #[error("{0}")]
    Invalid(String),
    /// It clashes with what exists (409).
    #[error("{0}")]
    Conflict(String),
    /// No such account or token in the caller's scope (404).
    #[error("{0}")]
    NotFound(String),
}
