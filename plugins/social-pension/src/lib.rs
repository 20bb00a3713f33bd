//! The national social pension (trợ cấp hưu trí xã hội) for ansinh.
//!
//! This rule plug-in decides, for one person and one paid month, whether the
//! programme `social-pension` pays them, under **Decree 176/2025/NĐ-CP**, which
//! details the social pension of the Law on Social Insurance 41/2024/QH15, in
//! force from 2025-07. The facts come from `shared/domain/social-assistance.md`
//! ("Social pension").
//!
//! 500,000 đồng a month for a person
//! - aged 75 or over with no pension or monthly social-insurance benefit, or
//! - aged 70 to 74 in a poor or near-poor household, with no pension or monthly
//!   social-insurance benefit either,
//!
//! except that **a person who also qualifies for monthly social assistance gets
//! the higher of the two, not both**. The social-assistance decision is the
//! national plug-in's ([`national_social_assistance::decide`] with
//! [`STANDARD_LEVELS`]), linked as a library, never copied: if it pays at least
//! the pension, the pension is not paid (`paid_by_social_assistance`).
//!
//! # Order of the rules
//!
//! 1. A programme other than `social-pension`: error.
//! 2. A month before 2025-07: `not_in_force` (the programme did not exist yet).
//! 3. Identity not confirmed by the population registry: `not_verified`, whatever else applies.
//! 4. Died before the paid month: `deceased` (a death during the month still pays it).
//! 5. Born after the paid month (a data error): `not_born`.
//! 6. Under 70: `under_70`. A pension or monthly social-insurance benefit:
//!    `has_pension`. Aged 70 to 74 outside a poor or near-poor household:
//!    `aged_70_74_not_poor`.
//! 7. Monthly social assistance for the same person and month pays at least
//!    the pension: `paid_by_social_assistance`. **Ties** go to social assistance.
//! 8. Otherwise eligible, category `social_pension_75` or `social_pension_70_poor`.
//!
//! Ages are taken on the first day of the paid month (platform convention).
//!
//! # \[unverified\]
//!
//! Only the decree, its amount and its start (2025-07) come from the domain
//! facts. The article numbers cited (Decree 176/2025 Art. 2 for who, Art. 3 for
//! the amount and the higher-of-two rule; Law 41/2024/QH15 Art. 21) were not
//! checked against the primary text, and say so in every citation.
//!
//! No floating point anywhere: money is whole đồng.

use ansinh_sdk::{Decision, Description, Household, Input, Month, Padded, PersonField, RuleError, Rules, Vnd, text};
use national_social_assistance::{self as social_assistance, CATEGORIES, STANDARD_LEVELS, StandardLevel, not_verified};

/// The rule plug-in; see the crate documentation.
pub struct SocialPension;

/// The only programme this plug-in decides.
pub const PROGRAM: &str = "social-pension";

/// Who qualifies. Article numbers \[unverified\].
pub const WHO: &str = "Decree 176/2025/ND-CP, Art. 2 [unverified]; Law 41/2024/QH15, Art. 21 [unverified]";
/// The monthly amount. Article number \[unverified\].
pub const AMOUNT: &str = "Decree 176/2025/ND-CP, Art. 3 [unverified]";
/// Only the higher of the social pension and monthly social assistance. Article number \[unverified\].
pub const HIGHER: &str =
    "Decree 176/2025/ND-CP, Art. 3 [unverified]: only the higher of social pension and social assistance";
/// The start of the programme.
pub const IN_FORCE: &str = "Decree 176/2025/ND-CP, in force from 2025-07-01";

/// The person fields the pension rules themselves read.
pub const OWN_READS: [PersonField; 4] =
    [PersonField::BirthDate, PersonField::DeathDate, PersonField::Household, PersonField::HasPension];

/// The person fields read: the union of [`OWN_READS`] and what the
/// social-assistance rules read to decide the higher of the two. The pension's
/// own fields are all among the national ones (a unit test checks it), so the
/// union is the national list.
pub const READS: [PersonField; 8] = social_assistance::READS;

/// The monthly amount of the social pension from a month on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PensionLevel {
    pub from: Month,
    pub amount: Vnd,
    pub citation: &'static str,
}

/// The pension levels, oldest first. The first month is the month from which the
/// national social-assistance plug-in hands group Art. 5(5)(c) to this programme.
pub const PENSION_LEVELS: [PensionLevel; 1] =
    [PensionLevel { from: social_assistance::SOCIAL_PENSION_FROM, amount: Vnd(500_000), citation: AMOUNT }];

/// The pension level of the paid month; `None` before the programme exists.
pub fn pension_level(period: Month) -> Option<&'static PensionLevel> {
    PENSION_LEVELS.iter().rev().find(|level| period >= level.from)
}

/// The group a person qualifies in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Aged 75 or over, no pension or monthly social-insurance benefit.
    Aged75,
    /// Aged 70 to 74, poor or near-poor household, no pension or monthly social-insurance benefit.
    Aged70Poor,
}

impl Group {
    pub const fn code(self) -> &'static str {
        match self {
            Group::Aged75 => "social_pension_75",
            Group::Aged70Poor => "social_pension_70_poor",
        }
    }

    const fn vi(self) -> &'static str {
        match self {
            Group::Aged75 => "Người từ đủ 75 tuổi trở lên không hưởng lương hưu, trợ cấp bảo hiểm xã hội hàng tháng",
            Group::Aged70Poor => {
                "Người từ đủ 70 tuổi đến dưới 75 tuổi thuộc hộ nghèo, hộ cận nghèo, không hưởng lương hưu, trợ cấp bảo hiểm xã hội hàng tháng"
            }
        }
    }

    const fn en(self) -> &'static str {
        match self {
            Group::Aged75 => "Aged 75 or over with no pension or monthly social-insurance benefit",
            Group::Aged70Poor => {
                "Aged 70 to 74 in a poor or near-poor household with no pension or monthly social-insurance benefit"
            }
        }
    }
}

/// The group of a person by age (on the first of the month), pension and
/// household; `Err` with the reason code when they are in none.
pub fn group(age: u32, has_pension: bool, household: Household) -> Result<Group, &'static str> {
    if age < 70 {
        return Err("under_70");
    }
    if has_pension {
        return Err("has_pension");
    }
    if age >= 75 {
        return Ok(Group::Aged75);
    }
    match household {
        Household::Poor | Household::NearPoor => Ok(Group::Aged70Poor),
        Household::None => Err("aged_70_74_not_poor"),
    }
}

impl Rules for SocialPension {
    fn describe() -> Description {
        Description::national("social-pension", env!("CARGO_PKG_VERSION"), &[PROGRAM], &READS)
    }

    fn evaluate(input: &Input) -> Result<Decision, RuleError> {
        decide(&STANDARD_LEVELS, input)
    }
}

/// The social pension, comparing it with monthly social assistance decided by
/// the national rules at the social-assistance levels `sa_levels` (oldest
/// first): the nation's ([`STANDARD_LEVELS`]) for this plug-in.
pub fn decide(sa_levels: &[StandardLevel], input: &Input) -> Result<Decision, RuleError> {
    if input.program != PROGRAM {
        return Err(RuleError::Other(format!(
            "the social-pension rules decide only the programme `{PROGRAM}`, not `{}`",
            input.program
        )));
    }
    let Some(level) = pension_level(input.period) else {
        return Ok(not_in_force(input.period));
    };
    if !input.verdict.verified {
        return Ok(not_verified());
    }
    if input.died_before_period()? {
        return Ok(deceased());
    }
    if input.person.birth_date()?.month_of() > input.period {
        return Ok(not_born());
    }
    let age = input.age()?;
    let group = match group(age, input.person.has_pension()?, input.person.household()?) {
        Ok(group) => group,
        Err(reason) => return Ok(not_in_group(reason, age, input.period)),
    };
    let social = social_assistance_for(sa_levels, input)?;
    // Ties go to social assistance: the amounts are equal, so the person loses
    // nothing, and they stay on the list they are already on (the commune's
    // social-assistance list) instead of being moved between programmes for no gain.
    if social.eligible && social.money() >= level.amount {
        return Ok(paid_by_social_assistance(group, level, social));
    }
    Ok(paid(group, age, input.period, level, &social))
}

/// The monthly social-assistance decision for the same person and month.
pub fn social_assistance_for(sa_levels: &[StandardLevel], input: &Input) -> Result<Decision, RuleError> {
    let input = Input { program: social_assistance::PROGRAM.into(), ..input.clone() };
    social_assistance::decide(sa_levels, &input)
}

/// A social-assistance category's name in both languages, or its code if unknown.
fn category_names(code: &str) -> (&str, &str) {
    CATEGORIES.iter().find(|c| c.code == code).map_or((code, code), |c| (c.vi, c.en))
}

fn paid(group: Group, age: u32, period: Month, level: &PensionLevel, social: &Decision) -> Decision {
    // text! rather than format!: in a plug-in, core::fmt costs more fuel than the rules.
    let vi = text!(
        "Tuổi tính đến ngày 01/",
        Padded(period.month.into(), 2),
        "/",
        period.year,
        ": ",
        age,
        ". Mức trợ cấp hưu trí xã hội ",
        level.amount.to_vi_string(),
        " mỗi tháng."
    );
    let en = text!("Age on the first day of ", period, ": ", age, ". Social pension ", level.amount, " per month.");
    let decision = Decision::eligible(level.amount, group.code()).explain(group.vi(), group.en(), WHO).explain(
        &vi,
        &en,
        level.citation,
    );
    match (&social.category, social.reasons.first()) {
        // Eligible for social assistance at a lower amount (a level below the pension's).
        (Some(code), _) => {
            let (cat_vi, cat_en) = category_names(code);
            decision.explain(
                &text!(
                    "Trợ cấp xã hội hàng tháng “",
                    cat_vi,
                    "” (",
                    code.as_str(),
                    ") ",
                    social.money().to_vi_string(),
                    " thấp hơn trợ cấp hưu trí xã hội: chỉ hưởng mức cao hơn là trợ cấp hưu trí xã hội."
                ),
                &text!(
                    "Monthly social assistance “",
                    cat_en,
                    "” (",
                    code.as_str(),
                    ") of ",
                    social.money(),
                    " is lower than the social pension: only the higher, the social pension, is paid."
                ),
                HIGHER,
            )
        }
        (None, reason) => decision.explain(
            &text!(
                "Không hưởng trợ cấp xã hội hàng tháng (",
                reason.map_or("", String::as_str),
                "): hưởng trợ cấp hưu trí xã hội."
            ),
            &text!(
                "Not eligible for monthly social assistance (",
                reason.map_or("", String::as_str),
                "): the social pension is paid."
            ),
            HIGHER,
        ),
    }
}

/// Qualifies for the pension, but social assistance pays at least as much: the
/// pension is not paid. The social-assistance decision's own lines follow, so
/// the amount compared can be audited.
fn paid_by_social_assistance(group: Group, level: &PensionLevel, social: Decision) -> Decision {
    let code = social.category.as_deref().unwrap_or("");
    let (cat_vi, cat_en) = category_names(code);
    let amount = social.money();
    let (vi, en) = if amount == level.amount {
        (
            text!(
                "Đồng thời thuộc diện trợ cấp xã hội hàng tháng “",
                cat_vi,
                "” (",
                code,
                "): ",
                amount.to_vi_string(),
                ", bằng mức trợ cấp hưu trí xã hội ",
                level.amount.to_vi_string(),
                ". Chỉ hưởng một mức; hai mức bằng nhau nên giữ trợ cấp xã hội đang hưởng, không hưởng trợ cấp hưu trí xã hội."
            ),
            text!(
                "Also qualifies for monthly social assistance “",
                cat_en,
                "” (",
                code,
                "): ",
                amount,
                ", equal to the social pension of ",
                level.amount,
                ". Only one is paid; the amounts are equal, so the person stays on social assistance, not the social pension."
            ),
        )
    } else {
        (
            text!(
                "Đồng thời thuộc diện trợ cấp xã hội hàng tháng “",
                cat_vi,
                "” (",
                code,
                "): ",
                amount.to_vi_string(),
                ", cao hơn mức trợ cấp hưu trí xã hội ",
                level.amount.to_vi_string(),
                ". Chỉ hưởng mức cao hơn là trợ cấp xã hội, không hưởng trợ cấp hưu trí xã hội."
            ),
            text!(
                "Also qualifies for monthly social assistance “",
                cat_en,
                "” (",
                code,
                "): ",
                amount,
                ", above the social pension of ",
                level.amount,
                ". Only the higher, social assistance, is paid, not the social pension."
            ),
        )
    };
    let mut decision = Decision::not_eligible("paid_by_social_assistance")
        .explain(group.vi(), group.en(), WHO)
        .explain(&vi, &en, HIGHER);
    decision.explanation.extend(social.explanation);
    decision
}

fn not_in_force(period: Month) -> Decision {
    Decision::not_eligible("not_in_force").explain(
        &text!(
            "Trợ cấp hưu trí xã hội áp dụng từ tháng 07/2025: tháng ",
            Padded(period.month.into(), 2),
            "/",
            period.year,
            " chưa có chế độ này."
        ),
        &text!("The social pension applies from 2025-07: there is none for ", period, "."),
        IN_FORCE,
    )
}

fn not_in_group(reason: &str, age: u32, period: Month) -> Decision {
    let (vi, en) = match reason {
        "under_70" => ("Chưa đủ 70 tuổi.", "Under 70."),
        "has_pension" => (
            "Đang hưởng lương hưu hoặc trợ cấp bảo hiểm xã hội hàng tháng.",
            "Receives a pension or a monthly social-insurance benefit.",
        ),
        _ => (
            "Từ đủ 70 đến dưới 75 tuổi nhưng không thuộc hộ nghèo, hộ cận nghèo.",
            "Aged 70 to 74 but not in a poor or near-poor household.",
        ),
    };
    Decision::not_eligible(reason).explain(
        &text!(
            "Tuổi tính đến ngày 01/",
            Padded(period.month.into(), 2),
            "/",
            period.year,
            ": ",
            age,
            ". ",
            vi,
            " Không thuộc diện hưởng trợ cấp hưu trí xã hội."
        ),
        &text!("Age on the first day of ", period, ": ", age, ". ", en, " Not in the social pension's groups."),
        WHO,
    )
}

fn deceased() -> Decision {
    Decision::not_eligible("deceased").explain(
        "Người hưởng đã chết trước tháng chi trả: thôi hưởng từ tháng sau tháng chết.",
        "The beneficiary died before the paid month: payment stops from the month after death.",
        "Decree 176/2025/ND-CP [article unverified]; platform rule: the month of death is paid",
    )
}

fn not_born() -> Decision {
    Decision::not_eligible("not_born").explain(
        "Ngày sinh sau tháng chi trả: không có căn cứ chi trả (kiểm tra lại dữ liệu).",
        "Born after the paid month: nothing to pay (check the data).",
        "platform rule",
    )
}

// Left out when another plug-in links these rules as a library (it exports its own).
#[cfg(feature = "plugin")]
ansinh_sdk::export!(SocialPension);

#[cfg(test)]
mod tests {
    use super::*;
    use ansinh_sdk::{Date, Disability, Person, Status};

    type P = SocialPension;

    /// A verified, living person in the programme, every declared field at its default.
    fn input(period: (u16, u8), born: (u16, u8, u8)) -> Input {
        Input {
            period: Month::new(period.0, period.1),
            program: PROGRAM.into(),
            person: Person {
                birth_date: Some(Date::new(born.0, born.1, born.2)),
                death_date: Some(None),
                household: Some(Household::None),
                disability: Some(Disability::None),
                has_pension: Some(false),
                difficult_commune: Some(false),
                statuses: Some(Vec::new()),
                dependent_children: Some(0),
                ..Person::empty()
            },
            ..Input::example()
        }
    }

    fn decide_(input: &Input) -> Decision {
        let d = P::evaluate(input).expect("decides");
        assert_eq!(d.eligible, d.amount > 0, "eligible iff paid");
        d
    }

    fn paid(input: &Input) -> (u64, String) {
        let d = decide_(input);
        (d.amount, d.category.expect("a category"))
    }

    fn reason(input: &Input) -> String {
        let d = decide_(input);
        assert_eq!((d.amount, d.category), (0, None));
        assert_eq!(d.reasons.len(), 1);
        d.reasons[0].clone()
    }

    /// Social-assistance levels below the pension, to see the pension win:
    /// 400,000 from 2024-07 (no real table is this low; a test of the comparison only).
    const LOW: [StandardLevel; 1] =
        [StandardLevel { from: Month::new(2024, 7), amount: Vnd(400_000), citation: "test level" }];

    #[test]
    fn describes_itself_and_reads_the_union_of_both_rules() {
        let d = P::describe();
        assert_eq!(d.name, "social-pension");
        assert_eq!(d.programs, ["social-pension"]);
        assert_eq!(d.scope, ansinh_sdk::ScopeKind::National);
        for field in OWN_READS.iter().chain(&social_assistance::READS) {
            assert!(d.reads.contains(field), "{field:?}");
        }
        assert!(!d.reads.contains(&PersonField::Sex));
        assert!(!d.reads.contains(&PersonField::ResidenceProvince));
        // Every declared field is needed: the social-assistance rules read them all.
        let mut i = input((2025, 7), (1945, 1, 1));
        i.person.dependent_children = None;
        assert_eq!(P::evaluate(&i), Err(RuleError::Undeclared(PersonField::DependentChildren)));
    }

    #[test]
    fn starts_with_the_national_hand_over_of_group_5_5_c() {
        assert_eq!(PENSION_LEVELS[0].from, Month::new(2025, 7));
        assert_eq!(pension_level(Month::new(2025, 6)), None);
        assert_eq!(pension_level(Month::new(2025, 7)).unwrap().amount, Vnd(500_000));
        assert_eq!(reason(&input((2025, 6), (1940, 1, 1))), "not_in_force");
        assert_eq!(paid(&input((2025, 7), (1940, 1, 1))), (500_000, "social_pension_75".into()));
    }

    #[test]
    fn other_programmes_are_errors() {
        let mut i = input((2025, 7), (1940, 1, 1));
        i.program = "social-assistance".into();
        let Err(RuleError::Other(message)) = P::evaluate(&i) else { panic!("expected an error") };
        assert!(message.contains("social-assistance"));
    }

    #[test]
    fn groups_by_age_pension_and_household() {
        assert_eq!(group(75, false, Household::None), Ok(Group::Aged75));
        assert_eq!(group(74, false, Household::None), Err("aged_70_74_not_poor"));
        assert_eq!(group(74, false, Household::NearPoor), Ok(Group::Aged70Poor));
        assert_eq!(group(70, false, Household::Poor), Ok(Group::Aged70Poor));
        assert_eq!(group(69, false, Household::Poor), Err("under_70"));
        assert_eq!(group(90, true, Household::Poor), Err("has_pension"));
        assert_eq!(group(72, true, Household::Poor), Err("has_pension"));
    }

    #[test]
    fn not_verified_and_deaths() {
        let mut i = input((2025, 9), (1945, 1, 1));
        i.verdict.verified = false;
        assert_eq!(reason(&i), "not_verified");
        i.verdict.verified = true;
        i.person.death_date = Some(Some(Date::new(2025, 9, 30)));
        assert_eq!(paid(&i), (500_000, "social_pension_75".into()));
        i.person.death_date = Some(Some(Date::new(2025, 8, 31)));
        assert_eq!(reason(&i), "deceased");
    }

    #[test]
    fn higher_social_assistance_is_paid_instead() {
        // 76, no pension, severe disability: social assistance 2.0 × 500,000 = 1,000,000.
        let mut i = input((2025, 9), (1949, 3, 1));
        i.person.disability = Some(Disability::Severe);
        let d = decide_(&i);
        assert_eq!(d.reasons, ["paid_by_social_assistance"]);
        assert!(d.explanation[1].vi.contains("1.000.000 đồng, cao hơn"), "{:?}", d.explanation[1]);
        assert!(d.explanation[1].en.contains("1,000,000 VND, above the social pension of 500,000 VND"));
        assert!(
            d.explanation[1].en.contains(
                "Person with a severe disability (higher for a child or an elderly person)” (disability_severe)"
            ),
            "names the category"
        );
        assert!(d.explanation[1].vi.contains("Người khuyết tật nặng"), "in both languages");
        assert!(d.explanation[1].citation.starts_with("Decree 176/2025/ND-CP"));
        // The social-assistance decision's own lines follow, with their basis.
        assert!(d.explanation.iter().any(|e| e.citation.contains("Decree 20/2021/ND-CP, Art. 5(6)")));
    }

    #[test]
    fn a_tie_goes_to_social_assistance() {
        // 76, near-poor, especially difficult commune: social assistance Art. 5(5)(b),
        // 1.0 × 500,000 = 500,000, equal to the pension.
        let mut i = input((2025, 9), (1949, 3, 1));
        i.person.household = Some(Household::NearPoor);
        i.person.difficult_commune = Some(true);
        let social = social_assistance_for(&STANDARD_LEVELS, &i).unwrap();
        assert_eq!((social.amount, social.category.as_deref()), (500_000, Some("elderly_75_difficult_commune")));
        let d = decide_(&i);
        assert_eq!(d.reasons, ["paid_by_social_assistance"]);
        assert!(d.explanation[1].en.contains("equal to the social pension"), "{:?}", d.explanation[1]);
        assert!(d.explanation[1].vi.contains("bằng mức trợ cấp hưu trí xã hội"));
    }

    #[test]
    fn lower_social_assistance_leaves_the_pension_paid() {
        // The same tie at a social-assistance level of 400,000: 400,000 < 500,000.
        let mut i = input((2025, 9), (1949, 3, 1));
        i.person.household = Some(Household::NearPoor);
        i.person.difficult_commune = Some(true);
        let d = decide(&LOW, &i).unwrap();
        assert_eq!((d.amount, d.category.as_deref()), (500_000, Some("social_pension_75")));
        assert!(d.explanation[2].en.contains("of 400,000 VND is lower than the social pension"), "{:?}", d.explanation);
        // One đồng short of the pension still loses; equal wins (the tie above).
        let just_below = [StandardLevel { from: Month::new(2024, 7), amount: Vnd(499_999), citation: "test level" }];
        assert!(decide(&just_below, &i).unwrap().eligible);
        // A disability at 400,000 is 2.0 × 400,000 = 800,000: social assistance again.
        i.person.disability = Some(Disability::Severe);
        assert_eq!(decide(&LOW, &i).unwrap().reasons, ["paid_by_social_assistance"]);
    }

    #[test]
    fn national_social_assistance_is_never_below_the_national_pension() {
        // Every national coefficient is at least 1.0 and the national level from
        // 2024-07 equals the pension, so anyone social assistance pays is not paid
        // the pension by this plug-in (README).
        let level = social_assistance::standard_level(&STANDARD_LEVELS, Month::new(2025, 7)).unwrap();
        assert_eq!(level.amount, PENSION_LEVELS[0].amount);
        // 72, poor, no one to support them: Art. 5(5)(a), 1.5 × 500,000 = 750,000.
        let mut i = input((2025, 9), (1953, 1, 1));
        i.person.household = Some(Household::Poor);
        i.person.statuses = Some(vec![Status::NoSupporter]);
        assert_eq!(reason(&i), "paid_by_social_assistance");
        // Without that status: in no social-assistance category, the pension is paid.
        i.person.statuses = Some(Vec::new());
        let d = decide_(&i);
        assert_eq!((d.amount, d.category.as_deref()), (500_000, Some("social_pension_70_poor")));
        assert!(d.explanation[2].en.contains("(no_category)"), "{:?}", d.explanation);
    }

    #[test]
    fn aged_80_without_pension_moves_here_from_social_assistance() {
        let i = input((2025, 7), (1945, 7, 1));
        let social = social_assistance_for(&STANDARD_LEVELS, &i).unwrap();
        assert_eq!(social.reasons, ["served_by_social_pension"]);
        assert_eq!(paid(&i), (500_000, "social_pension_75".into()));
    }
}
