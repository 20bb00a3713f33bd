//! Verification of one enrolment against its population registry record, for one
//! paid month.
//!
//! A beneficiary whose identity the registry does not confirm is not paid,
//! whatever a rule says (`social-assistance.md`). [`verify`] makes nine checks,
//! always all nine and always in this order, so that stored results line up:
//!
//! 1. [`CheckName::IdNumber`]: the enrolment's number is well formed and its
//!    digits 4-6 agree with the registry's sex and birth year (`identity.md`);
//! 2. [`CheckName::InRegistry`]: the registry has a record for that number;
//! 3. [`CheckName::BirthDate`]: the enrolment's birth date is the registry's;
//! 4. [`CheckName::Name`]: the enrolment's name against the registry's
//!    ([`names::compare`]);
//! 5. [`CheckName::Alive`]: the person was alive in the paid month;
//! 6. [`CheckName::Residence`]: the registry's residence is in the paying
//!    province that month, through the 2025 mergers ([`provinces::governing`]);
//! 7. [`CheckName::AccountName`]: the bank's or wallet's account holder is the
//!    registry's person ([`names::compare`]: banks hold upper-case ASCII, so a
//!    folded match passes); a person with no account passes, there is no holder;
//! 8. [`CheckName::SingleEnrolment`]: the person is enrolled in this programme
//!    in no other province. A flag, not a bar: the unique key on payments pays
//!    them once whichever run issues first, and residence says which should;
//! 9. [`CheckName::NoDeathReport`]: no bank has answered a payment to them
//!    with MD07 (deceased) that an officer has not cleared; else held.
//!
//! A check that needs the registry record fails with the detail
//! `"no registry record"` when there is none. The serialised [`Verification`] is
//! stored with each decision: details are short and never hold the raw
//! identification number.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use crate::identity::id_number::{IdNumber, IdNumberError};
use crate::identity::names::{self, NameMatch};
use crate::identity::provinces;
use crate::model::{Channel, Enrolment, Month, RegistryRecord};
use crate::store::beneficiaries::OtherRecords;

/// Detail of a check that needs the registry record when there is none.
const NO_RECORD: &str = "no registry record";

/// The checks, in the order [`verify`] makes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    IdNumber,
    InRegistry,
    BirthDate,
    Name,
    Alive,
    Residence,
    AccountName,
    SingleEnrolment,
    NoDeathReport,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub check: CheckName,
    pub passed: bool,
    /// Why the check failed. Never the raw identification number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For [`CheckName::Name`] with a registry record: how closely the names agree,
    /// kept when the check passes too, since a folded match is weak evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_match: Option<NameMatch>,
}

/// All nine checks of one enrolment for one paid month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// [`names::MATCHER_VERSION`] at the time of the checks.
    pub matcher_version: String,
    pub checks: Vec<Check>,
}

impl Verification {
    /// Whether the registry confirms who this is: number, record, birth date and
    /// name all pass. A name that is only [`NameMatch::Near`] goes to manual review,
    /// so it does not confirm.
    pub fn identity_confirmed(&self) -> bool {
        [CheckName::IdNumber, CheckName::InRegistry, CheckName::BirthDate, CheckName::Name]
            .into_iter()
            .all(|name| self.passed(name))
    }

    /// Whether the person was alive in the paid month, by the payment convention
    /// (see [`CheckName::Alive`] in [`verify`]).
    pub fn alive_in_period(&self) -> bool {
        self.passed(CheckName::Alive)
    }

    /// Whether the registry puts the person's residence in the paying province.
    pub fn resides_in_province(&self) -> bool {
        self.passed(CheckName::Residence)
    }

    /// Whether the payment can go without a person's review: the account is
    /// the person's, and no bank has reported them deceased since.
    pub fn account_holder_confirmed(&self) -> bool {
        self.passed(CheckName::AccountName)
    }

    /// Whether a bank's report of the person's death awaits an officer.
    pub fn death_reported(&self) -> bool {
        !self.passed(CheckName::NoDeathReport)
    }

    /// The checks that failed, in order.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// A check that is missing (from a stored result of another shape) counts as
    /// failed: absence of evidence confirms nothing.
    fn passed(&self, name: CheckName) -> bool {
        self.checks.iter().any(|c| c.check == name && c.passed)
    }
}

impl Check {
    fn pass(check: CheckName) -> Check {
        Check { check, passed: true, detail: None, name_match: None }
    }

    fn fail(check: CheckName, detail: impl Into<String>) -> Check {
        Check { check, passed: false, detail: Some(detail.into()), name_match: None }
    }

    fn from_result(check: CheckName, result: Result<(), String>) -> Check {
        match result {
            Ok(()) => Check::pass(check),
            Err(detail) => Check::fail(check, detail),
        }
    }
}

/// Verifies one enrolment against the registry record found for its number
/// (`None` when the registry has none) for the paid month `period`.
pub fn verify(
    enrolment: &Enrolment,
    registry: Option<&RegistryRecord>,
    period: Month,
    others: &OtherRecords,
) -> Verification {
    let checks = vec![
        check_id_number(enrolment, registry),
        check_in_registry(enrolment, registry),
        check_birth_date(enrolment, registry),
        check_name(enrolment, registry),
        check_alive(registry, period),
        check_residence(enrolment, registry, period),
        check_account_name(enrolment, registry),
        check_single_enrolment(others),
        check_no_death_report(others),
    ];
    Verification { matcher_version: names::MATCHER_VERSION.to_string(), checks }
}

/// Structure, then agreement of digits 4-6 with the registry's sex and birth
/// year; without a record, with the enrolment's birth year only (sex unknown).
fn check_id_number(enrolment: &Enrolment, registry: Option<&RegistryRecord>) -> Check {
    let agreement = |id: IdNumber| -> Result<(), IdNumberError> {
        match registry {
            Some(record) => id.agrees_with(record.birth_date.year(), record.sex),
            None => id.agrees_with_year(enrolment.birth_date.year()),
        }
    };
    let result = IdNumber::parse(&enrolment.id_number).and_then(agreement);
    Check::from_result(CheckName::IdNumber, result.map_err(|e| e.to_string()))
}

/// The record must exist and be the one for this number: a record handed over
/// for another number is a caller's mistake and must not confirm anyone.
fn check_in_registry(enrolment: &Enrolment, registry: Option<&RegistryRecord>) -> Check {
    let result = match registry {
        None => Err(NO_RECORD.to_string()),
        Some(record) if record.id_number != enrolment.id_number => {
            Err("registry record is for another identification number".to_string())
        }
        Some(_) => Ok(()),
    };
    Check::from_result(CheckName::InRegistry, result)
}

fn check_birth_date(enrolment: &Enrolment, registry: Option<&RegistryRecord>) -> Check {
    let result = match registry {
        None => Err(NO_RECORD.to_string()),
        Some(record) if record.birth_date != enrolment.birth_date => {
            Err(format!("enrolment has {}, registry has {}", enrolment.birth_date, record.birth_date))
        }
        Some(_) => Ok(()),
    };
    Check::from_result(CheckName::BirthDate, result)
}

/// Passes on an exact or folded match only; the level is recorded either way.
fn check_name(enrolment: &Enrolment, registry: Option<&RegistryRecord>) -> Check {
    let wording = ("name differs from the registry's by one letter: manual review", "name differs from the registry's");
    name_check(CheckName::Name, registry, &enrolment.full_name, wording)
}

/// `name` against the registry's: exact or folded passes, else fails with the
/// (near, mismatch) wording; the level is recorded either way.
fn name_check(
    check: CheckName,
    registry: Option<&RegistryRecord>,
    name: &str,
    (near, mismatch): (&str, &str),
) -> Check {
    let Some(record) = registry else {
        return Check::fail(check, NO_RECORD);
    };
    let level = names::compare(&record.full_name, name);
    let mut result = match level {
        NameMatch::Exact | NameMatch::Folded => Check::pass(check),
        NameMatch::Near => Check::fail(check, near),
        NameMatch::Mismatch => Check::fail(check, mismatch),
    };
    result.name_match = Some(level);
    result
}

/// Payment stops from the month after a death, so a person who died on any day
/// of the paid month is still paid for it; one who died before it is not
/// (`social-assistance.md`; Decree 20/2021/NĐ-CP Art. 8(3)). A death date after
/// the paid month (a later registry extract) means alive in it.
fn check_alive(registry: Option<&RegistryRecord>, period: Month) -> Check {
    let result = match registry {
        None => Err(NO_RECORD.to_string()),
        Some(RegistryRecord { death_date: Some(died), .. }) if Month::of(*died) < period => {
            Err(format!("died {died}, before the paid month {period}"))
        }
        Some(_) => Ok(()),
    };
    Check::from_result(CheckName::Alive, result)
}

/// The paying province must be where the registry says the person lives,
/// that month: a former Hải Dương resident belongs to Hải Phòng from 2025-07.
fn check_residence(enrolment: &Enrolment, registry: Option<&RegistryRecord>, period: Month) -> Check {
    let result = match registry {
        None => Err(NO_RECORD.to_string()),
        Some(record) => {
            let lives_in = provinces::governing(&record.residence_province, period);
            if lives_in == enrolment.province {
                Ok(())
            } else {
                let name = |code: &str| provinces::name(code).unwrap_or("unknown code");
                Err(format!(
                    "the registry has residence in {} {}, not the paying province {} {} in {period}",
                    record.residence_province,
                    name(&record.residence_province),
                    enrolment.province,
                    name(&enrolment.province)
                ))
            }
        }
    };
    Check::from_result(CheckName::Residence, result)
}

/// Banks hold the holder's name in upper-case ASCII: exact or folded agrees.
/// One letter off or another name: the payment is held for review, since the
/// money would go to an account that may not be the person's.
fn check_account_name(enrolment: &Enrolment, registry: Option<&RegistryRecord>) -> Check {
    if enrolment.channel == Channel::None {
        return Check::pass(CheckName::AccountName);
    }
    let wording = (
        "account holder's name differs from the registry's by one letter: held for review",
        "account holder's name is not the registry's: held for review",
    );
    name_check(CheckName::AccountName, registry, &enrolment.account_name, wording)
}

fn check_single_enrolment(others: &OtherRecords) -> Check {
    match (others.enrolments, &others.enrolled_in) {
        (0, _) => Check::pass(CheckName::SingleEnrolment),
        (n, province) => Check::fail(
            CheckName::SingleEnrolment,
            format!(
                "also enrolled in this programme in {n} other province(s), e.g. {}: paid at most once",
                province.as_deref().unwrap_or("?")
            ),
        ),
    }
}

/// A bank's MD07 (beneficiary deceased) outweighs nothing on its own, but a
/// payment into the account of someone a bank believes dead waits until an
/// officer has checked the registry and cleared the flag.
fn check_no_death_report(others: &OtherRecords) -> Check {
    if others.death_reported {
        Check::fail(
            CheckName::NoDeathReport,
            "a bank reported this person deceased (MD07): check the registry, then `ansinh registry clear-flag`",
        )
    } else {
        Check::pass(CheckName::NoDeathReport)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::model::{Disability, Household, Sex};

    fn none() -> OtherRecords {
        OtherRecords::default()
    }

    /// identity.md's example number: a woman born in 1998, registered in Hà Nội.
    const NUMBER: &str = "001198000001";

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn month(s: &str) -> Month {
        s.parse().unwrap()
    }

    fn record() -> RegistryRecord {
        RegistryRecord {
            id_number: NUMBER.to_string(),
            full_name: "NGUYỄN THỊ THU HIỀN".to_string(),
            birth_date: date("1998-03-15"),
            sex: Sex::Female,
            residence_province: "001".to_string(),
            residence_commune: String::new(),
            death_date: None,
        }
    }

    fn enrolment() -> Enrolment {
        Enrolment {
            id_number: NUMBER.to_string(),
            full_name: "Nguyễn Thị Thu Hiền".to_string(),
            birth_date: date("1998-03-15"),
            program: "social-assistance".to_string(),
            province: "001".to_string(),
            household: Household::Poor,
            disability: Disability::Severe,
            has_pension: false,
            difficult_commune: false,
            statuses: Vec::new(),
            dependent_children: 0,
            channel: Channel::Bank,
            bank_bin: "970436".to_string(),
            account_number: "0011001234567".to_string(),
            account_name: "NGUYEN THI THU HIEN".to_string(),
        }
    }

    fn check(v: &Verification, name: CheckName) -> &Check {
        v.checks.iter().find(|c| c.check == name).unwrap()
    }

    fn failed_names(v: &Verification) -> Vec<CheckName> {
        v.failed().map(|c| c.check).collect()
    }

    fn dead(on: &str) -> RegistryRecord {
        RegistryRecord { death_date: Some(date(on)), ..record() }
    }

    const ORDER: [CheckName; 9] = [
        CheckName::IdNumber,
        CheckName::InRegistry,
        CheckName::BirthDate,
        CheckName::Name,
        CheckName::Alive,
        CheckName::Residence,
        CheckName::AccountName,
        CheckName::SingleEnrolment,
        CheckName::NoDeathReport,
    ];

    #[test]
    fn a_matching_living_person_passes_everything() {
        let v = verify(&enrolment(), Some(&record()), month("2024-09"), &none());
        assert_eq!(v.checks.iter().map(|c| c.check).collect::<Vec<_>>(), ORDER);
        assert_eq!(failed_names(&v), []);
        assert!(v.identity_confirmed());
        assert!(v.alive_in_period());
        assert_eq!(v.matcher_version, names::MATCHER_VERSION);
        assert_eq!(check(&v, CheckName::Name).name_match, Some(NameMatch::Exact));
    }

    #[test]
    fn serialised_form_is_compact_and_stable() {
        let v = verify(&enrolment(), Some(&record()), month("2024-09"), &none());
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(
            json,
            r#"{"matcher_version":"names-1","checks":[{"check":"id_number","passed":true},{"check":"in_registry","passed":true},{"check":"birth_date","passed":true},{"check":"name","passed":true,"name_match":"exact"},{"check":"alive","passed":true},{"check":"residence","passed":true},{"check":"account_name","passed":true,"name_match":"folded"},{"check":"single_enrolment","passed":true},{"check":"no_death_report","passed":true}]}"#
        );
        assert_eq!(serde_json::from_str::<Verification>(&json).unwrap(), v);
    }

    #[test]
    fn without_a_registry_record_every_dependent_check_fails() {
        let v = verify(&enrolment(), None, month("2024-09"), &none());
        assert_eq!(v.checks.len(), 9, "all nine checks are always present");
        assert!(check(&v, CheckName::IdNumber).passed, "structure and birth year still agree");
        for name in [
            CheckName::InRegistry,
            CheckName::BirthDate,
            CheckName::Name,
            CheckName::Alive,
            CheckName::Residence,
            CheckName::AccountName,
        ] {
            let c = check(&v, name);
            assert!(!c.passed, "{name:?}");
            assert_eq!(c.detail.as_deref(), Some("no registry record"), "{name:?}");
            assert_eq!(c.name_match, None);
        }
        assert!(!v.identity_confirmed());
        assert!(!v.alive_in_period());
    }

    #[test]
    fn without_a_record_the_number_is_checked_against_the_enrolment_birth_year() {
        let e = Enrolment { birth_date: date("1989-03-15"), ..enrolment() };
        let v = verify(&e, None, month("2024-09"), &none());
        let c = check(&v, CheckName::IdNumber);
        assert!(!c.passed);
        assert_eq!(c.detail.as_deref(), Some("digits 5-6 (birth year) are 98, expected 89 for birth year 1989"));
    }

    #[test]
    fn malformed_number_fails_without_echoing_it() {
        for (number, detail) in [
            ("123456789", "CMND"),
            ("003198000001", "digits 1-3"),
            ("001798000001", "digit 4 (sex and century) is 7, expected 0-5"),
            ("00119800000", "expected 12 digits, found 11"),
        ] {
            let e = Enrolment { id_number: number.to_string(), ..enrolment() };
            let r = RegistryRecord { id_number: number.to_string(), ..record() };
            let v = verify(&e, Some(&r), month("2024-09"), &none());
            assert_eq!(failed_names(&v), [CheckName::IdNumber], "{number}");
            let text = serde_json::to_string(&v).unwrap();
            assert!(text.contains(detail), "{text}");
            assert!(!text.contains(number), "{text}");
            assert!(!v.identity_confirmed());
        }
    }

    #[test]
    fn number_disagreeing_with_the_registry_sex_fails() {
        // identity.md: G/YY disagreeing with the recorded sex and birth year is malformed.
        let r = RegistryRecord { sex: Sex::Male, ..record() };
        let v = verify(&enrolment(), Some(&r), month("2024-09"), &none());
        assert_eq!(failed_names(&v), [CheckName::IdNumber]);
        assert!(
            check(&v, CheckName::IdNumber).detail.as_deref().unwrap().starts_with("digit 4 (sex and century) is 1")
        );
        assert!(!v.identity_confirmed());
    }

    #[test]
    fn number_disagreeing_with_the_registry_birth_year_fails_both_checks() {
        let r = RegistryRecord { birth_date: date("1989-03-15"), ..record() };
        let v = verify(&enrolment(), Some(&r), month("2024-09"), &none());
        assert_eq!(failed_names(&v), [CheckName::IdNumber, CheckName::BirthDate]);
        assert_eq!(
            check(&v, CheckName::BirthDate).detail.as_deref(),
            Some("enrolment has 1998-03-15, registry has 1989-03-15")
        );
    }

    #[test]
    fn different_birth_date_fails() {
        let e = Enrolment { birth_date: date("1998-03-16"), ..enrolment() };
        let v = verify(&e, Some(&record()), month("2024-09"), &none());
        assert_eq!(failed_names(&v), [CheckName::BirthDate]);
        assert!(!v.identity_confirmed());
        assert!(v.alive_in_period(), "the checks are independent");
    }

    #[test]
    fn record_for_another_number_does_not_confirm() {
        let r = RegistryRecord { id_number: "001198000002".to_string(), ..record() };
        let v = verify(&enrolment(), Some(&r), month("2024-09"), &none());
        assert_eq!(failed_names(&v), [CheckName::InRegistry]);
        assert!(!serde_json::to_string(&v).unwrap().contains("198000002"));
        assert!(!v.identity_confirmed());
    }

    #[test]
    fn folded_name_confirms_and_is_recorded() {
        // identity.md: a folded match is weak evidence, but identity rests on
        // the number and birth date; the name is a secondary check.
        let e = Enrolment { full_name: "NGUYEN THI THU HIEN".to_string(), ..enrolment() };
        let v = verify(&e, Some(&record()), month("2024-09"), &none());
        assert!(v.identity_confirmed());
        assert_eq!(check(&v, CheckName::Name).name_match, Some(NameMatch::Folded));
    }

    #[test]
    fn near_name_goes_to_review_and_does_not_confirm() {
        // identity.md: one edit on one word: manual review, never paid automatically.
        let e = Enrolment { full_name: "Nguyễn Thị Thu Hiếm".to_string(), ..enrolment() };
        let v = verify(&e, Some(&record()), month("2024-09"), &none());
        assert_eq!(failed_names(&v), [CheckName::Name]);
        let c = check(&v, CheckName::Name);
        assert_eq!(c.name_match, Some(NameMatch::Near));
        assert!(c.detail.as_deref().unwrap().contains("manual review"));
        assert!(!v.identity_confirmed());
    }

    #[test]
    fn mismatched_name_does_not_confirm() {
        let e = Enrolment { full_name: "Thu Hiền Nguyễn Thị".to_string(), ..enrolment() };
        let v = verify(&e, Some(&record()), month("2024-09"), &none());
        assert_eq!(failed_names(&v), [CheckName::Name]);
        assert_eq!(check(&v, CheckName::Name).name_match, Some(NameMatch::Mismatch));
        assert!(!v.identity_confirmed());
    }

    #[test]
    fn death_during_the_paid_month_still_pays_that_month() {
        // social-assistance.md: payment stops from the month after the death, so a
        // death on any day of the paid month still pays it (Decree 20/2021 Art. 8(3)).
        for day in ["2024-09-01", "2024-09-15", "2024-09-30"] {
            let v = verify(&enrolment(), Some(&dead(day)), month("2024-09"), &none());
            assert!(v.alive_in_period(), "died {day}");
            assert!(v.identity_confirmed());
        }
    }

    #[test]
    fn death_before_the_paid_month_stops_payment() {
        for day in ["2024-08-31", "2024-01-10", "2023-09-15"] {
            let v = verify(&enrolment(), Some(&dead(day)), month("2024-09"), &none());
            assert_eq!(failed_names(&v), [CheckName::Alive], "died {day}");
            assert!(!v.alive_in_period());
            assert!(v.identity_confirmed(), "identity is still confirmed");
        }
        let v = verify(&enrolment(), Some(&dead("2024-08-31")), month("2024-09"), &none());
        assert_eq!(
            check(&v, CheckName::Alive).detail.as_deref(),
            Some("died 2024-08-31, before the paid month 2024-09")
        );
    }

    #[test]
    fn death_after_the_paid_month_means_alive_in_it() {
        let v = verify(&enrolment(), Some(&dead("2024-10-01")), month("2024-09"), &none());
        assert!(v.alive_in_period());
    }

    #[test]
    fn a_stored_result_missing_a_check_confirms_nothing() {
        let mut v = verify(&enrolment(), Some(&record()), month("2024-09"), &none());
        v.checks.retain(|c| c.check != CheckName::Name);
        assert!(!v.identity_confirmed());
        v.checks.retain(|c| c.check != CheckName::Alive);
        assert!(!v.alive_in_period());
    }

    #[test]
    fn residence_elsewhere_fails_and_names_both_provinces() {
        let r = RegistryRecord { residence_province: "040".to_string(), ..record() };
        let v = verify(&enrolment(), Some(&r), month("2024-09"), &none());
        assert_eq!(failed_names(&v), [CheckName::Residence]);
        assert!(!v.resides_in_province());
        assert!(v.identity_confirmed(), "who the person is, is not in doubt");
        assert_eq!(
            check(&v, CheckName::Residence).detail.as_deref(),
            Some("the registry has residence in 040 Nghệ An, not the paying province 001 Hà Nội in 2024-09")
        );
    }

    #[test]
    fn a_hai_duong_resident_belongs_to_hai_phong_from_july_2025() {
        // identity.md: on 2025-07-01 Hải Dương was merged into Hải Phòng; the
        // registry keeps the old code 030.
        let e = Enrolment { province: "031".to_string(), ..enrolment() };
        let r = RegistryRecord { residence_province: "030".to_string(), ..record() };
        assert!(!verify(&e, Some(&r), month("2025-06"), &none()).resides_in_province());
        assert!(verify(&e, Some(&r), month("2025-07"), &none()).resides_in_province());
        let hai_duong = Enrolment { province: "030".to_string(), ..enrolment() };
        assert!(verify(&hai_duong, Some(&r), month("2025-06"), &none()).resides_in_province());
        assert!(!verify(&hai_duong, Some(&r), month("2025-07"), &none()).resides_in_province());
    }

    #[test]
    fn account_names_as_banks_write_them_pass() {
        // identity.md: banks hold the name in upper-case ASCII; NFC, NFD and
        // either tone-mark style are the same name.
        let registry = RegistryRecord { full_name: "NGUYỄN THỊ THU HÒA".to_string(), ..record() };
        let nfd: String = unicode_normalization::UnicodeNormalization::nfd("Nguyễn Thị Thu Hoà").collect();
        for holder in ["NGUYEN THI THU HOA", "nguyen  thi thu hoa", "NGUYỄN THỊ THU HOÀ", nfd.as_str()] {
            let e =
                Enrolment { account_name: holder.to_string(), full_name: registry.full_name.clone(), ..enrolment() };
            let v = verify(&e, Some(&registry), month("2024-09"), &none());
            assert!(v.account_holder_confirmed(), "{holder:?}: {:?}", check(&v, CheckName::AccountName));
        }
    }

    #[test]
    fn another_account_holder_holds_the_payment() {
        let dang = RegistryRecord { full_name: "ĐẶNG THỊ THU HIỀN".to_string(), ..record() };
        for (registry, holder, level) in [
            (record(), "NGUYEN THI THU HIEM", NameMatch::Near),
            (record(), "TRAN VAN BINH", NameMatch::Mismatch),
            // The look-alike Ð (U+00D0) is not Đ: one letter off, a person looks.
            (dang.clone(), "ÐANG THI THU HIEN", NameMatch::Near),
        ] {
            let e =
                Enrolment { account_name: holder.to_string(), full_name: registry.full_name.clone(), ..enrolment() };
            let v = verify(&e, Some(&registry), month("2024-09"), &none());
            assert_eq!(failed_names(&v), [CheckName::AccountName], "{holder}");
            let c = check(&v, CheckName::AccountName);
            assert_eq!(c.name_match, Some(level), "{holder}");
            assert!(c.detail.as_deref().unwrap().contains("held for review"), "{holder}");
            assert!(!v.account_holder_confirmed());
        }
        let e = Enrolment {
            account_name: "DANG THI THU HIEN".to_string(),
            full_name: dang.full_name.clone(),
            ..enrolment()
        };
        assert!(verify(&e, Some(&dang), month("2024-09"), &none()).account_holder_confirmed(), "Đ folds to D");
    }

    #[test]
    fn no_account_has_no_holder_to_check() {
        let e = Enrolment { channel: Channel::None, account_name: String::new(), ..enrolment() };
        assert!(verify(&e, Some(&record()), month("2024-09"), &none()).account_holder_confirmed());
    }

    #[test]
    fn a_second_enrolment_is_flagged_but_does_not_bar() {
        let others = OtherRecords { enrolments: 1, enrolled_in: Some("031".to_string()), ..none() };
        let v = verify(&enrolment(), Some(&record()), month("2024-09"), &others);
        assert_eq!(failed_names(&v), [CheckName::SingleEnrolment]);
        assert!(check(&v, CheckName::SingleEnrolment).detail.as_deref().unwrap().contains("e.g. 031"));
        assert!(v.identity_confirmed() && v.alive_in_period() && v.resides_in_province());
    }

    #[test]
    fn a_bank_death_report_awaits_an_officer() {
        let others = OtherRecords { death_reported: true, ..none() };
        let v = verify(&enrolment(), Some(&record()), month("2024-09"), &others);
        assert_eq!(failed_names(&v), [CheckName::NoDeathReport]);
        assert!(v.death_reported());
        assert!(v.identity_confirmed() && v.alive_in_period(), "the registry still says alive");
    }
}
