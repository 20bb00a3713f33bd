//! Who acts: an account, and how it proved it. Every entry of the log names
//! both ([`crate::trail::append`] adds them to the entry's details as `by`).

use serde::Serialize;

/// An account acting, as the log records it.
///
/// Architecture invariant: account names are unique and never change, so the
/// name a run or a release records for a step (`created_by`, `approved_by`)
/// is one account; four-eyes compares those names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Actor {
    /// The account's id.
    pub account: i64,
    /// The account's name.
    pub name: String,
    /// How it authenticated.
    pub auth: Auth,
}

/// How an account proved who it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// An API token: its public id (never the secret).
    Token(String),
    /// An OpenID Connect access token: its issuer and subject.
    Oidc { issuer: String, subject: String },
    /// `ansinh accounts init` on the database's machine: the first admin, before any token.
    Init,
    /// `ansinh demo`: the demo's own accounts, in its own fresh database.
    Demo,
}

impl Actor {
    /// What an entry's details hold of who acted.
    pub fn details(&self) -> serde_json::Value {
        serde_json::json!({ "account": self.account, "name": self.name, "auth": self.auth })
    }
}
