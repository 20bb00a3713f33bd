//! Plug-in test cases (`formats.md`, "Plug-in test cases") and their runner:
//! each case goes through the real sandbox, as a run would.

use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::model::{Disability, Household, Month, PersonFacts, Sex, Status};
use ansinh_sandbox::{DecisionOutput, Plugin};

/// One case as written in a YAML file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub period: Month,
    pub program: String,
    pub province: String,
    pub verified: bool,
    pub person: CasePerson,
    pub expect: Expect,
}

/// The `person` of a case; left-out fields take the defaults of `formats.md`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasePerson {
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub residence_province: String,
    #[serde(default)]
    pub death_date: Option<NaiveDate>,
    #[serde(default = "no_household")]
    pub household: Household,
    #[serde(default = "no_disability")]
    pub disability: Disability,
    #[serde(default)]
    pub has_pension: bool,
    #[serde(default)]
    pub difficult_commune: bool,
    #[serde(default)]
    pub statuses: Vec<Status>,
    #[serde(default)]
    pub dependent_children: u32,
}

fn no_household() -> Household {
    Household::None
}

fn no_disability() -> Disability {
    Disability::None
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub eligible: bool,
    pub amount: u64,
    #[serde(default)]
    pub category: Option<String>,
}

impl CasePerson {
    /// Every fact filled in; the plug-in's `reads` then cut it down.
    pub fn facts(&self) -> PersonFacts {
        PersonFacts {
            birth_date: Some(self.birth_date),
            sex: Some(self.sex),
            residence_province: Some(self.residence_province.clone()),
            death_date: Some(self.death_date),
            household: Some(self.household),
            disability: Some(self.disability),
            has_pension: Some(self.has_pension),
            difficult_commune: Some(self.difficult_commune),
            statuses: Some(self.statuses.clone()),
            dependent_children: Some(self.dependent_children),
        }
    }
}

/// Read a YAML file of cases; errors name the file and the place in it.
pub fn load(path: &Path) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, &path.display().to_string())
}

/// Read cases from YAML text; `source` names where the text came from.
pub fn parse(text: &str, source: &str) -> anyhow::Result<Vec<Case>> {
    serde_yaml_ng::from_str(text).with_context(|| format!("{source}: not a list of test cases as in formats.md"))
}

/// The outcome of one case.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub fuel: u64,
    /// The plug-in's decision, when it made one.
    pub decision: Option<DecisionOutput>,
    /// What differs from the expectation; empty when the case passed.
    pub problems: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Run one case through the sandbox and compare with its expectation.
pub fn run(plugin: &Plugin, case: &Case) -> Outcome {
    let input = plugin.input(case.period, &case.program, &case.province, case.verified, &case.person.facts());
    let evaluation = plugin.evaluate(&input);
    let decision = match evaluation.result {
        Ok(checked) => checked.output,
        Err(error) => {
            return Outcome {
                fuel: evaluation.fuel,
                decision: None,
                problems: vec![format!("plug-in error: {error}")],
            };
        }
    };
    let expect = &case.expect;
    let mut problems = Vec::new();
    if decision.eligible != expect.eligible {
        problems.push(format!("expected eligible: {}, got {}", expect.eligible, decision.eligible));
    }
    if decision.amount != expect.amount {
        problems.push(format!("expected amount {}, got {}", expect.amount, decision.amount));
    }
    if let Some(category) = &expect.category
        && decision.category.as_ref() != Some(category)
    {
        let got = decision.category.as_deref().unwrap_or("none");
        problems.push(format!("expected category {category}, got {got}"));
    }
    Outcome { fuel: evaluation.fuel, decision: Some(decision), problems }
}
