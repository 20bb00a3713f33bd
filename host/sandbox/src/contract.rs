//! The WIT contract (`sdk/wit/rules.wit`) in host terms: the canonical input a
//! decision is given, the validated output it returns, and the conversions to and
//! from the component's types.
//!
//! The canonical JSON forms of [`DecisionInput`] and [`DecisionOutput`] are what
//! the database stores and what an auditor replays: field order is fixed by these
//! structs, and a stored input has the shape of a plug-in test case (`formats.md`).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::facts::{Disability, Household, Month, PersonFacts, Sex, Status};
use crate::limits::Limits;

/// The version of the contract this host runs (`sdk/wit/rules.wit`).
pub const CONTRACT: &str = "ansinh:rules/rules@0.1.0";

mod bindings {
    #![allow(missing_docs)] // generated from the WIT file, whose comments document it
    wasmtime::component::bindgen!({
        path: "../../sdk/wit",
        world: "rule-plugin",
    });
}

pub(crate) use bindings::{RulePlugin, RulePluginIndices, RulePluginPre};

pub(crate) use bindings::exports::ansinh::rules::rules as wit;

/// Everything a plug-in is told for one decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// The paid month.
    pub period: Month,
    /// The programme, e.g. `social-assistance`.
    pub program: String,
    /// The paying province's 3-digit code.
    pub province: String,
    /// The registry confirmed this person's identity.
    pub verified: bool,
    /// Only the fields the plug-in declares it reads.
    pub person: PersonFacts,
}

/// One line of explanation, in Vietnamese and English, with its legal basis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    /// In Vietnamese.
    pub vi: String,
    /// In English.
    pub en: String,
    /// The decree and article it rests on.
    pub citation: String,
}

/// A plug-in's decision, after the host has checked it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionOutput {
    /// Whether the person is eligible in the paid month.
    pub eligible: bool,
    /// Whole đồng per month; 0 when not eligible.
    pub amount: u64,
    /// The category code applied (e.g. `elderly_80_no_pension`); required when eligible.
    pub category: Option<String>,
    /// Reason codes, e.g. why not eligible.
    pub reasons: Vec<String>,
    /// Explanation lines, each with its legal basis.
    pub explanation: Vec<Explanation>,
}

/// A checked decision with its canonical JSON, made once: the output limit is
/// measured on it, and it is what the database stores and an auditor replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedOutput {
    /// The decision.
    pub output: DecisionOutput,
    /// Its canonical JSON.
    pub json: String,
}

/// Why the host refused a plug-in's output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// Not eligible, with an amount.
    #[error("not eligible but amount {0} (expected 0)")]
    AmountWhenIneligible(u64),
    /// Eligible for nothing.
    #[error("eligible with amount 0 (expected a positive monthly amount)")]
    ZeroAmount,
    /// More than [`Limits::max_amount`] a month: a broken plug-in, not a payment.
    #[error("amount {amount} is above the limit of {limit} đồng per month")]
    AbsurdAmount {
        /// The amount returned.
        amount: u64,
        /// [`Limits::max_amount`].
        limit: u64,
    },
    /// Eligible, but no category says why.
    #[error("eligible without a category (expected the category code applied)")]
    MissingCategory,
    /// A category or reason that is not a code.
    #[error("{what} {found:?} is not a code (expected 1-64 of a-z, 0-9, _)")]
    BadCode {
        /// `category` or `reason`.
        what: &'static str,
        /// Its first 80 characters.
        found: String,
    },
    /// Larger than [`Limits::output_bytes`].
    #[error("output is {size} bytes, above the limit of {limit}")]
    TooLarge {
        /// The output's size, in bytes.
        size: usize,
        /// [`Limits::output_bytes`].
        limit: usize,
    },
}

impl DecisionOutput {
    /// Check a plug-in's raw decision against the contract and the limits.
    pub(crate) fn validate(d: wit::Decision, max_amount: u64, max_bytes: usize) -> Result<CheckedOutput, OutputError> {
        // Measure before anything else: a hostile plug-in may return megabytes.
        let size = d.reasons.iter().map(String::len).sum::<usize>()
            + d.category.as_ref().map_or(0, String::len)
            + d.explanation.iter().map(|e| e.vi.len() + e.en.len() + e.citation.len()).sum::<usize>();
        if size > max_bytes {
            return Err(OutputError::TooLarge { size, limit: max_bytes });
        }
        match (d.eligible, d.amount) {
            (false, 0) | (true, 1..) => {}
            (false, amount) => return Err(OutputError::AmountWhenIneligible(amount)),
            (true, 0) => return Err(OutputError::ZeroAmount),
        }
        if d.amount > max_amount {
            return Err(OutputError::AbsurdAmount { amount: d.amount, limit: max_amount });
        }
        if d.eligible && d.category.is_none() {
            return Err(OutputError::MissingCategory);
        }
        for (what, code) in d.category.iter().map(|c| ("category", c)).chain(d.reasons.iter().map(|r| ("reason", r))) {
            if !is_code(code) {
                return Err(OutputError::BadCode { what, found: code.chars().take(80).collect() });
            }
        }
        let output = DecisionOutput {
            eligible: d.eligible,
            amount: d.amount,
            category: d.category,
            reasons: d.reasons,
            explanation: d
                .explanation
                .into_iter()
                .map(|e| Explanation { vi: e.vi, en: e.en, citation: e.citation })
                .collect(),
        };
        let json = output.canonical_json();
        if json.len() > max_bytes {
            return Err(OutputError::TooLarge { size: json.len(), limit: max_bytes });
        }
        Ok(CheckedOutput { output, json })
    }

    /// The JSON that is stored and replayed: fields in declaration order, no spaces.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// The host's check of a plug-in's decision, given in host types as if a
/// plug-in had returned it, within `limits`. The fuzzing entry point of the
/// output validation (`host/sandbox/fuzz`, target `output`); the host itself checks
/// the component's value directly.
pub fn check_output(d: DecisionOutput, limits: &Limits) -> Result<CheckedOutput, OutputError> {
    let explanation =
        d.explanation.into_iter().map(|e| wit::Explanation { vi: e.vi, en: e.en, citation: e.citation }).collect();
    let raw =
        wit::Decision { eligible: d.eligible, amount: d.amount, category: d.category, reasons: d.reasons, explanation };
    DecisionOutput::validate(raw, limits.max_amount, limits.output_bytes)
}

impl DecisionInput {
    /// The JSON that is stored with the decision and replayed: fields in
    /// declaration order, no spaces.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }

    pub(crate) fn to_wit(&self) -> wit::Input {
        wit::Input {
            period: wit::Month { year: self.period.year(), month: self.period.month() },
            program: self.program.clone(),
            province: self.province.clone(),
            person: person_to_wit(&self.person),
            verdict: wit::Verdict { verified: self.verified },
        }
    }
}

fn is_code(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn date_to_wit(d: NaiveDate) -> wit::Date {
    wit::Date { year: d.year() as u16, month: d.month() as u8, day: d.day() as u8 }
}

fn person_to_wit(p: &PersonFacts) -> wit::Person {
    wit::Person {
        birth_date: p.birth_date.map(date_to_wit),
        sex: p.sex.map(|s| match s {
            Sex::Male => wit::Sex::Male,
            Sex::Female => wit::Sex::Female,
        }),
        residence_province: p.residence_province.clone(),
        death_date: p.death_date.map(|d| d.map(date_to_wit)),
        household: p.household.map(|h| match h {
            Household::None => wit::Household::None,
            Household::Poor => wit::Household::Poor,
            Household::NearPoor => wit::Household::NearPoor,
        }),
        disability: p.disability.map(|d| match d {
            Disability::None => wit::Disability::None,
            Disability::Severe => wit::Disability::Severe,
            Disability::EspeciallySevere => wit::Disability::EspeciallySevere,
        }),
        has_pension: p.has_pension,
        difficult_commune: p.difficult_commune,
        statuses: p.statuses.as_ref().map(|list| list.iter().map(|s| status_to_wit(*s)).collect()),
        dependent_children: p.dependent_children,
    }
}

fn status_to_wit(s: Status) -> wit::Status {
    match s {
        Status::Orphan => wit::Status::Orphan,
        Status::Studying => wit::Status::Studying,
        Status::Hiv => wit::Status::Hiv,
        Status::SingleParent => wit::Status::SingleParent,
        Status::NoSupporter => wit::Status::NoSupporter,
        Status::CommunityCare => wit::Status::CommunityCare,
    }
}

/// Keep only the person fields a plug-in declared (least data).
pub(crate) fn restrict(p: &PersonFacts, reads: &[wit::PersonField]) -> PersonFacts {
    use wit::PersonField as F;
    let has = |f: F| reads.contains(&f);
    PersonFacts {
        birth_date: p.birth_date.filter(|_| has(F::BirthDate)),
        sex: p.sex.filter(|_| has(F::Sex)),
        residence_province: p.residence_province.clone().filter(|_| has(F::ResidenceProvince)),
        death_date: p.death_date.filter(|_| has(F::DeathDate)),
        household: p.household.filter(|_| has(F::Household)),
        disability: p.disability.filter(|_| has(F::Disability)),
        has_pension: p.has_pension.filter(|_| has(F::HasPension)),
        difficult_commune: p.difficult_commune.filter(|_| has(F::DifficultCommune)),
        statuses: p.statuses.clone().filter(|_| has(F::Statuses)),
        dependent_children: p.dependent_children.filter(|_| has(F::DependentChildren)),
    }
}

/// The kebab-case WIT name of a person field, as shown to users.
pub(crate) fn field_name(f: wit::PersonField) -> &'static str {
    use wit::PersonField as F;
    match f {
        F::BirthDate => "birth-date",
        F::Sex => "sex",
        F::ResidenceProvince => "residence-province",
        F::DeathDate => "death-date",
        F::Household => "household",
        F::Disability => "disability",
        F::HasPension => "has-pension",
        F::DifficultCommune => "difficult-commune",
        F::Statuses => "statuses",
        F::DependentChildren => "dependent-children",
    }
}
