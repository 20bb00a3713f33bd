//! Reading a person's facts: each accessor fails with a clear error when the
//! plug-in did not declare the field in its description (the host sends only
//! declared fields: least data).

use crate::decision::RuleError;
use crate::{Date, Disability, Household, Input, Month, Person, PersonField, Sex, Status, Verdict};

fn declared<T: Clone>(value: &Option<T>, field: PersonField) -> Result<T, RuleError> {
    value.clone().ok_or(RuleError::Undeclared(field))
}

impl Person {
    /// The birth date, from the registry (`birth-date`).
    pub fn birth_date(&self) -> Result<Date, RuleError> {
        declared(&self.birth_date, PersonField::BirthDate)
    }
    /// The sex, from the registry (`sex`).
    pub fn sex(&self) -> Result<Sex, RuleError> {
        declared(&self.sex, PersonField::Sex)
    }
    /// The 3-digit code of the province the registry has the person living in (`residence-province`).
    pub fn residence_province(&self) -> Result<String, RuleError> {
        declared(&self.residence_province, PersonField::ResidenceProvince)
    }
    /// `None` while alive.
    pub fn death_date(&self) -> Result<Option<Date>, RuleError> {
        declared(&self.death_date, PersonField::DeathDate)
    }
    /// Poor, near-poor or neither, from the commune's lists (`household`).
    pub fn household(&self) -> Result<Household, RuleError> {
        declared(&self.household, PersonField::Household)
    }
    /// The certified disability level (`disability`).
    pub fn disability(&self) -> Result<Disability, RuleError> {
        declared(&self.disability, PersonField::Disability)
    }
    /// Whether the person receives a pension or a monthly social-insurance benefit (`has-pension`).
    pub fn has_pension(&self) -> Result<bool, RuleError> {
        declared(&self.has_pension, PersonField::HasPension)
    }
    /// Whether the person lives in an especially difficult commune (`difficult-commune`).
    pub fn difficult_commune(&self) -> Result<bool, RuleError> {
        declared(&self.difficult_commune, PersonField::DifficultCommune)
    }
    /// Whether enrolment recorded this circumstance (`statuses`).
    pub fn has_status(&self, status: Status) -> Result<bool, RuleError> {
        Ok(declared(&self.statuses, PersonField::Statuses)?.contains(&status))
    }
    /// The number of children the person raises (`dependent-children`).
    pub fn dependent_children(&self) -> Result<u32, RuleError> {
        declared(&self.dependent_children, PersonField::DependentChildren)
    }

    /// A person with no field filled in: the starting point for tests.
    pub const fn empty() -> Person {
        Person {
            birth_date: None,
            sex: None,
            residence_province: None,
            death_date: None,
            household: None,
            disability: None,
            has_pension: None,
            difficult_commune: None,
            statuses: None,
            dependent_children: None,
        }
    }
}

impl Input {
    /// The person's age in the paid month: their age on its first day
    /// (social-assistance.md, age convention of the platform).
    pub fn age(&self) -> Result<u32, RuleError> {
        Ok(self.person.birth_date()?.age_on(self.period.first_day()))
    }

    /// Whether the person died before the paid month. Payment stops from the month
    /// after death, so a death during the paid month still pays that month
    /// (Decree 20/2021/ND-CP, Art. 8(3); social-assistance.md).
    pub fn died_before_period(&self) -> Result<bool, RuleError> {
        Ok(self.person.death_date()?.is_some_and(|d| d.month_of() < self.period))
    }

    /// An input for doc tests and unit tests: 2024-09, social assistance, Hà Nội,
    /// verified, no facts.
    pub fn example() -> Input {
        Input {
            period: Month::new(2024, 9),
            program: "social-assistance".into(),
            province: "001".into(),
            person: Person::empty(),
            verdict: Verdict { verified: true },
        }
    }
}
