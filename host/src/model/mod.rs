//! The domain's vocabulary: months, people, enrolments, outcomes.
//!
//! Field and variant names follow `formats.md` (the public file formats), so the
//! serde forms of these types *are* those formats. The facts a plug-in reads
//! (the month, the person's fields) are the sandbox's, re-exported here; the two
//! records of the formats and the rules their fields are read by are in
//! [`records`]; what the payment files can carry of a payee, in [`payee`].

pub mod payee;
pub mod records;

pub use ansinh_sandbox::{Disability, Household, Month, PersonFacts, Sex, Status};
pub use payee::Channel;
pub use records::{Enrolment, RegistryRecord};

ansinh_sandbox::vocabulary!(
    /// What a run decided for one beneficiary. `held`: eligible, but the
    /// payment waits for a person's review (the account holder's name is not
    /// the registry's).
    Outcome {
        Payable = "payable",
        Held = "held",
        NotEligible = "not_eligible",
        NotVerified = "not_verified",
        NoAccount = "no_account",
        PluginError = "plugin_error",
    }
);

/// How many, and their sum in whole đồng: payments of a run, people of a
/// category, lines of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Total {
    pub count: i64,
    pub amount: i64,
}

impl From<(i64, i64)> for Total {
    /// From a `COUNT(*), SUM(amount)` row.
    fn from((count, amount): (i64, i64)) -> Total {
        Total { count, amount }
    }
}

/// A plug-in as it names itself (`describe()`): e.g. `national-social-assistance 1.2.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginName {
    pub name: String,
    pub version: String,
}

impl std::fmt::Display for PluginName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}
