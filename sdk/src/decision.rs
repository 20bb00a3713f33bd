//! Building decisions and their explanations.

use core::fmt;

use crate::{Decision, Description, Explanation, PersonField, ScopeKind, Vnd};

/// Why a plug-in could not decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// The rule read a person field that its description does not declare.
    Undeclared(PersonField),
    /// Anything else, in the author's words.
    Other(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::Undeclared(field) => {
                write!(f, "the rule read person field {field:?}, which describe() does not declare in `reads`")
            }
            RuleError::Other(message) => f.write_str(message),
        }
    }
}

impl Decision {
    /// Eligible for `amount` per month under `category`.
    pub fn eligible(amount: Vnd, category: &str) -> Decision {
        Decision {
            eligible: true,
            amount: amount.0,
            category: Some(category.into()),
            reasons: Vec::new(),
            explanation: Vec::new(),
        }
    }

    /// Not eligible, for the machine-readable `reason` (e.g. `deceased`).
    pub fn not_eligible(reason: &str) -> Decision {
        Decision { eligible: false, amount: 0, category: None, reasons: vec![reason.into()], explanation: Vec::new() }
    }

    /// Add a reason code.
    pub fn reason(mut self, code: &str) -> Decision {
        self.reasons.push(code.into());
        self
    }

    /// Add an explanation line in Vietnamese and English with its legal basis.
    pub fn explain(mut self, vi: &str, en: &str, citation: &str) -> Decision {
        self.explanation.push(Explanation { vi: vi.into(), en: en.into(), citation: citation.into() });
        self
    }

    /// The monthly amount as money.
    pub fn money(&self) -> Vnd {
        Vnd(self.amount)
    }
}

impl Description {
    /// A plug-in that applies in every province.
    pub fn national(name: &str, version: &str, programs: &[&str], reads: &[PersonField]) -> Description {
        Description {
            name: name.into(),
            version: version.into(),
            scope: ScopeKind::National,
            province: None,
            programs: programs.iter().map(|p| (*p).into()).collect(),
            reads: reads.to_vec(),
        }
    }

    /// A plug-in of one province (3-digit code).
    pub fn province(code: &str, name: &str, version: &str, programs: &[&str], reads: &[PersonField]) -> Description {
        Description {
            scope: ScopeKind::Province,
            province: Some(code.into()),
            ..Description::national(name, version, programs, reads)
        }
    }
}
