//! National monthly social assistance (trợ cấp xã hội hàng tháng) for ansinh.
//!
//! This rule plug-in decides, for one person and one paid month, whether the
//! programme `social-assistance` pays them and how much, under
//! **Decree 20/2021/NĐ-CP** (Art. 4 standard level, Art. 5 categories, Art. 6
//! coefficients) as amended by **Decree 76/2024/NĐ-CP** (standard level from
//! 2024-07), with **Decree 176/2025/NĐ-CP** (social pension) taking over group
//! Art. 5(5)(c) from 2025-07. The facts come from `shared/domain/social-assistance.md`.
//!
//! Amount = national standard level of the paid month × the coefficient of the
//! person's category. Ages are taken on the first day of the paid month.
//!
//! | paid month | standard level | basis |
//! |---|---|---|
//! | 2021-07 .. 2024-06 | 360,000 VND | Decree 20/2021/NĐ-CP, Art. 4 |
//! | from 2024-07 | 500,000 VND | Decree 76/2024/NĐ-CP |
//!
//! A month before 2021-07 is an error: no level is known to this plug-in.
//!
//! **Not encoded: 540,000 VND from 2026-07.** It is reported but **\[unverified\]**:
//! no primary legal text was found. This version keeps paying 500,000 for every
//! month from 2024-07; a new version of the plug-in is released once the decree
//! is confirmed.
//!
//! # Order of the rules
//!
//! 1. A programme other than `social-assistance`, or a month before 2021-07: error.
//! 2. Identity not confirmed by the population registry: `not_verified`, whatever else applies.
//! 3. Died before the paid month: `deceased` (a death during the month still pays it).
//! 4. Born after the paid month (a data error): `not_born`.
//! 5. The categories of [`CATEGORIES`]; several apply: only the single highest
//!    monthly amount is paid (Art. 6). **Ties** go to the category listed first,
//!    which is the order of Art. 5 (so `orphan_child` before
//!    `disability_especially_severe`).
//! 6. None applies: `no_category`, or `served_by_social_pension` for a person who
//!    would be in group Art. 5(5)(c) in a month from 2025-07.
//!
//! # Readings where the decree or the table is loose
//!
//! - "Child" is under 16, "elderly" is 60 or over, ages on the first of the month.
//! - `orphan_student` (Art. 5(2)): statuses `orphan` and `studying`, aged 16 to 22;
//!   a person aged 23 on the first of the month is out. Under 16 it is `orphan_child`.
//! - `child_hiv_poor` (Art. 5(3)) is under 16; from 16 the same person is `adult_hiv_poor`.
//! - `single_parent_poor` (Art. 5(4)): `dependent_children` is taken as the number of
//!   children the enrolment counted as qualifying (under 16, or 16-22 and studying);
//!   the plug-in cannot see the children's ages. 0 children: not this category.
//!   The coefficient 1.0 is per child, so 2 children pay 2.0 × the level.
//! - `elderly_poor_alone` (Art. 5(5)(a)): status `no_supporter` stands for "no one
//!   obliged to support them, or that person is on monthly social assistance"; the
//!   commune decides it at enrolment.
//! - `elderly_75_difficult_commune` (Art. 5(5)(b)): aged 75 to 79.
//! - `elderly_80_no_pension` (Art. 5(5)(c)): "no other monthly allowance" is met by
//!   the single-highest rule: a person with any other category is paid that one.
//! - `elderly_community_care` (Art. 5(5)(d)): every condition of `elderly_poor_alone`
//!   plus status `community_care`.
//! - `adult_hiv_poor` (Art. 5(8)): "no stable monthly income" is read as no pension
//!   or monthly social-insurance benefit (`has_pension = false`), the incomes the
//!   decree names that the enrolment records; wages are for the commune to check.
//! - Disability (Art. 5(6)) needs no household condition; the higher coefficient
//!   applies to a child (under 16) or an elderly person (60+).
//!
//! # \[unverified\]
//!
//! - Coefficients 1.5 of `orphan_student`, `child_under_3_difficult_commune` and
//!   `adult_hiv_poor`: from secondary sources, not checked against the decree text.
//! - The clause numbers of the cessation rule (Art. 8(3)) and of the
//!   single-highest rule (cited as Art. 6) were not checked against the decree text.
//!
//! No floating point anywhere: money is whole đồng, coefficients are thousandths,
//! rounding is half up to the đồng ([`ansinh_sdk::Vnd`] × [`ansinh_sdk::Coefficient`]).

use ansinh_sdk::{
    Coefficient, Decision, Description, Disability, Household, Input, Month, Padded, PersonField, RuleError, Rules,
    Status, Vnd, text,
};

/// The rule plug-in; see the crate documentation.
pub struct NationalSocialAssistance;

/// The only programme this plug-in decides.
pub const PROGRAM: &str = "social-assistance";

/// The person fields read, and no others.
pub const READS: [PersonField; 8] = [
    PersonField::BirthDate,
    PersonField::DeathDate,
    PersonField::Household,
    PersonField::Disability,
    PersonField::HasPension,
    PersonField::DifficultCommune,
    PersonField::Statuses,
    PersonField::DependentChildren,
];

/// A standard level (mức chuẩn trợ giúp xã hội) and the first month it applies:
/// the nation's, or a province's higher one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandardLevel {
    pub from: Month,
    pub amount: Vnd,
    pub citation: &'static str,
}

/// The standard levels, oldest first. 540,000 from 2026-07 is \[unverified\] and not encoded.
pub const STANDARD_LEVELS: [StandardLevel; 2] = [
    StandardLevel { from: Month::new(2021, 7), amount: Vnd(360_000), citation: "Decree 20/2021/ND-CP, Art. 4" },
    StandardLevel { from: Month::new(2024, 7), amount: Vnd(500_000), citation: "Decree 76/2024/ND-CP" },
];

/// From this month group Art. 5(5)(c) is served by the social pension (Decree 176/2025/NĐ-CP).
pub const SOCIAL_PENSION_FROM: Month = Month::new(2025, 7);

/// A child is under 16.
const CHILD_UNDER: u32 = 16;
/// An elderly person is 60 or over.
const ELDERLY_FROM: u32 = 60;

const K1_0: Coefficient = Coefficient::new("1.0");
const K1_5: Coefficient = Coefficient::new("1.5");
const K2_0: Coefficient = Coefficient::new("2.0");
const K2_5: Coefficient = Coefficient::new("2.5");
const K3_0: Coefficient = Coefficient::new("3.0");

/// A category of Art. 5: its platform code, the clause deciding its coefficient
/// (`None` when the person is not in it), and its explanation.
pub struct Category {
    pub code: &'static str,
    pub clause: fn(&Facts) -> Option<Coefficient>,
    pub vi: &'static str,
    pub en: &'static str,
    pub citation: &'static str,
}

/// The categories in the order of Art. 5; on a tie the first listed wins.
pub const CATEGORIES: [Category; 12] = [
    Category {
        code: "orphan_child",
        clause: k1_orphan_child,
        vi: "Trẻ em dưới 16 tuổi không có nguồn nuôi dưỡng",
        en: "Child under 16 without a source of support",
        citation: "Decree 20/2021/ND-CP, Art. 5(1); Art. 6(1)",
    },
    Category {
        code: "orphan_student",
        clause: k2_orphan_student,
        vi: "Người từ 16 đến 22 tuổi không có nguồn nuôi dưỡng đang đi học",
        en: "Person aged 16 to 22 without a source of support, still studying",
        citation: "Decree 20/2021/ND-CP, Art. 5(2); Art. 6(1)",
    },
    Category {
        code: "child_hiv_poor",
        clause: k3_child_hiv_poor,
        vi: "Trẻ em nhiễm HIV/AIDS thuộc hộ nghèo",
        en: "Child with HIV/AIDS in a poor household",
        citation: "Decree 20/2021/ND-CP, Art. 5(3); Art. 6(1)",
    },
    Category {
        code: "single_parent_poor",
        clause: k4_single_parent_poor,
        vi: "Người đơn thân thuộc hộ nghèo, hộ cận nghèo đang nuôi con (hệ số 1,0 cho mỗi con)",
        en: "Single parent of a poor or near-poor household raising children (coefficient 1.0 per child)",
        citation: "Decree 20/2021/ND-CP, Art. 5(4); Art. 6(1)",
    },
    Category {
        code: "elderly_poor_alone",
        clause: k5a_elderly_poor_alone,
        vi: "Người cao tuổi thuộc hộ nghèo, không có người có nghĩa vụ và quyền phụng dưỡng",
        en: "Elderly person of a poor household with no one obliged to support them",
        citation: "Decree 20/2021/ND-CP, Art. 5(5)(a); Art. 6(1)",
    },
    Category {
        code: "elderly_75_difficult_commune",
        clause: k5b_elderly_75_difficult_commune,
        vi: "Người từ đủ 75 tuổi đến dưới 80 tuổi thuộc hộ nghèo, hộ cận nghèo, sống tại xã, thôn đặc biệt khó khăn vùng đồng bào dân tộc thiểu số và miền núi",
        en: "Aged 75 to 79, poor or near-poor household, living in an especially difficult commune of an ethnic-minority or mountainous area",
        citation: "Decree 20/2021/ND-CP, Art. 5(5)(b); Art. 6(1)",
    },
    Category {
        code: "elderly_80_no_pension",
        clause: k5c_elderly_80_no_pension,
        vi: "Người từ đủ 80 tuổi không có lương hưu, trợ cấp bảo hiểm xã hội hàng tháng",
        en: "Aged 80 or over with no pension or monthly social-insurance benefit",
        citation: "Decree 20/2021/ND-CP, Art. 5(5)(c); Art. 6(1)",
    },
    Category {
        code: "elderly_community_care",
        clause: k5d_elderly_community_care,
        vi: "Người cao tuổi thuộc hộ nghèo, không có người phụng dưỡng, đủ điều kiện vào cơ sở trợ giúp xã hội nhưng được nhận chăm sóc tại cộng đồng",
        en: "Elderly person of a poor household with no supporter, eligible for a care facility but cared for in the community",
        citation: "Decree 20/2021/ND-CP, Art. 5(5)(d); Art. 6(1)",
    },
    Category {
        code: "disability_especially_severe",
        clause: k6_disability_especially_severe,
        vi: "Người khuyết tật đặc biệt nặng (hệ số cao hơn cho trẻ em, người cao tuổi)",
        en: "Person with an especially severe disability (higher for a child or an elderly person)",
        citation: "Decree 20/2021/ND-CP, Art. 5(6); Art. 6(1)",
    },
    Category {
        code: "disability_severe",
        clause: k6_disability_severe,
        vi: "Người khuyết tật nặng (hệ số cao hơn cho trẻ em, người cao tuổi)",
        en: "Person with a severe disability (higher for a child or an elderly person)",
        citation: "Decree 20/2021/ND-CP, Art. 5(6); Art. 6(1)",
    },
    Category {
        code: "child_under_3_difficult_commune",
        clause: k7_child_under_3_difficult_commune,
        vi: "Trẻ em dưới 3 tuổi thuộc hộ nghèo, hộ cận nghèo, sống tại xã, thôn đặc biệt khó khăn vùng đồng bào dân tộc thiểu số và miền núi",
        en: "Child under 3 of a poor or near-poor household living in an especially difficult commune of an ethnic-minority or mountainous area",
        citation: "Decree 20/2021/ND-CP, Art. 5(7); Art. 6(1)",
    },
    Category {
        code: "adult_hiv_poor",
        clause: k8_adult_hiv_poor,
        vi: "Người nhiễm HIV/AIDS thuộc hộ nghèo, không có nguồn trợ cấp hàng tháng",
        en: "Person with HIV/AIDS in a poor household with no monthly income or benefit",
        citation: "Decree 20/2021/ND-CP, Art. 5(8); Art. 6(1)",
    },
];

/// The facts the clauses decide on, read once from the input.
pub struct Facts {
    pub period: Month,
    /// Age on the first day of the paid month.
    pub age: u32,
    pub household: Household,
    pub disability: Disability,
    pub has_pension: bool,
    pub difficult_commune: bool,
    pub orphan: bool,
    pub studying: bool,
    pub hiv: bool,
    pub single_parent: bool,
    pub no_supporter: bool,
    pub community_care: bool,
    pub dependent_children: u32,
}

impl Facts {
    pub fn read(input: &Input) -> Result<Facts, RuleError> {
        let person = &input.person;
        Ok(Facts {
            period: input.period,
            age: input.age()?,
            household: person.household()?,
            disability: person.disability()?,
            has_pension: person.has_pension()?,
            difficult_commune: person.difficult_commune()?,
            orphan: person.has_status(Status::Orphan)?,
            studying: person.has_status(Status::Studying)?,
            hiv: person.has_status(Status::Hiv)?,
            single_parent: person.has_status(Status::SingleParent)?,
            no_supporter: person.has_status(Status::NoSupporter)?,
            community_care: person.has_status(Status::CommunityCare)?,
            dependent_children: person.dependent_children()?,
        })
    }

    fn child(&self) -> bool {
        self.age < CHILD_UNDER
    }

    fn elderly(&self) -> bool {
        self.age >= ELDERLY_FROM
    }

    fn poor(&self) -> bool {
        self.household == Household::Poor
    }

    fn poor_or_near_poor(&self) -> bool {
        matches!(self.household, Household::Poor | Household::NearPoor)
    }

    /// The facts of group Art. 5(5)(c), whatever the month.
    fn aged_80_without_pension(&self) -> bool {
        self.age >= 80 && !self.has_pension
    }
}

/// Art. 5(1): child under 16 without a source of support; 2.5 under 4, 1.5 from 4.
fn k1_orphan_child(f: &Facts) -> Option<Coefficient> {
    (f.orphan && f.child()).then_some(if f.age < 4 { K2_5 } else { K1_5 })
}

/// Art. 5(2): from group k1, still studying, aged 16 to 22; 1.5 \[unverified\].
fn k2_orphan_student(f: &Facts) -> Option<Coefficient> {
    (f.orphan && f.studying && (16..=22).contains(&f.age)).then_some(K1_5)
}

/// Art. 5(3): child with HIV in a poor household; 2.5 under 4, 2.0 from 4 to 15.
fn k3_child_hiv_poor(f: &Facts) -> Option<Coefficient> {
    (f.hiv && f.poor() && f.child()).then_some(if f.age < 4 { K2_5 } else { K2_0 })
}

/// Art. 5(4): single parent of a poor or near-poor household; 1.0 per child raised.
fn k4_single_parent_poor(f: &Facts) -> Option<Coefficient> {
    (f.single_parent && f.poor_or_near_poor() && f.dependent_children > 0).then(|| K1_0 * f.dependent_children)
}

/// Art. 5(5)(a): aged 60+, poor household, no one obliged to support them;
/// 1.5 aged 60-79, 2.0 aged 80+.
fn k5a_elderly_poor_alone(f: &Facts) -> Option<Coefficient> {
    (f.elderly() && f.poor() && f.no_supporter).then_some(if f.age < 80 { K1_5 } else { K2_0 })
}

/// Art. 5(5)(b): aged 75-79, poor or near-poor household, especially difficult commune; 1.0.
fn k5b_elderly_75_difficult_commune(f: &Facts) -> Option<Coefficient> {
    ((75..80).contains(&f.age) && f.poor_or_near_poor() && f.difficult_commune).then_some(K1_0)
}

/// Art. 5(5)(c): aged 80+ with no pension; 1.0. Months before 2025-07 only: from
/// then the social pension serves this group (Decree 176/2025/NĐ-CP).
fn k5c_elderly_80_no_pension(f: &Facts) -> Option<Coefficient> {
    (f.aged_80_without_pension() && f.period < SOCIAL_PENSION_FROM).then_some(K1_0)
}

/// Art. 5(5)(d): a person of Art. 5(5)(a) cared for in the community; 3.0.
fn k5d_elderly_community_care(f: &Facts) -> Option<Coefficient> {
    (k5a_elderly_poor_alone(f).is_some() && f.community_care).then_some(K3_0)
}

/// Art. 5(6): especially severe disability; 2.0, or 2.5 for a child or an elderly person.
fn k6_disability_especially_severe(f: &Facts) -> Option<Coefficient> {
    (f.disability == Disability::EspeciallySevere).then_some(if f.child() || f.elderly() { K2_5 } else { K2_0 })
}

/// Art. 5(6): severe disability; 1.5, or 2.0 for a child or an elderly person.
fn k6_disability_severe(f: &Facts) -> Option<Coefficient> {
    (f.disability == Disability::Severe).then_some(if f.child() || f.elderly() { K2_0 } else { K1_5 })
}

/// Art. 5(7): child under 3, poor or near-poor household, especially difficult
/// commune; 1.5 \[unverified\].
fn k7_child_under_3_difficult_commune(f: &Facts) -> Option<Coefficient> {
    (f.age < 3 && f.poor_or_near_poor() && f.difficult_commune).then_some(K1_5)
}

/// Art. 5(8): person (16+) with HIV in a poor household with no monthly income
/// (read: no pension or social-insurance benefit); 1.5 \[unverified\].
fn k8_adult_hiv_poor(f: &Facts) -> Option<Coefficient> {
    (f.hiv && f.poor() && !f.child() && !f.has_pension).then_some(K1_5)
}

/// The standard level of the paid month in `levels` (oldest first).
pub fn standard_level(levels: &[StandardLevel], period: Month) -> Result<&StandardLevel, RuleError> {
    levels.iter().rev().find(|level| period >= level.from).ok_or_else(|| {
        RuleError::Other(text!(
            "no national standard level is known for ",
            period,
            ": Decree 20/2021/ND-CP applies from 2021-07"
        ))
    })
}

/// A category that applies, with its coefficient and monthly amount.
struct Applicable {
    category: &'static Category,
    coefficient: Coefficient,
    amount: Vnd,
}

/// Every category that applies, in the order of [`CATEGORIES`].
fn applicable(facts: &Facts, level: Vnd) -> Vec<Applicable> {
    CATEGORIES
        .iter()
        .filter_map(|category| {
            (category.clause)(facts).map(|coefficient| Applicable {
                category,
                coefficient,
                amount: level * coefficient,
            })
        })
        .collect()
}

impl Rules for NationalSocialAssistance {
    fn describe() -> Description {
        Description::national("national-social-assistance", env!("CARGO_PKG_VERSION"), &[PROGRAM], &READS)
    }

    fn evaluate(input: &Input) -> Result<Decision, RuleError> {
        decide(&STANDARD_LEVELS, input)
    }
}

/// The national rules with a table of standard levels, oldest first: the
/// nation's ([`STANDARD_LEVELS`]), or a province's that raises it. A province
/// plug-in reuses the rules by calling this with its own table.
pub fn decide(levels: &[StandardLevel], input: &Input) -> Result<Decision, RuleError> {
    if input.program != PROGRAM {
        return Err(RuleError::Other(format!(
            "the social-assistance rules decide only the programme `{PROGRAM}`, not `{}`",
            input.program
        )));
    }
    let level = standard_level(levels, input.period)?;
    if !input.verdict.verified {
        return Ok(not_verified());
    }
    if input.died_before_period()? {
        return Ok(deceased());
    }
    if input.person.birth_date()?.month_of() > input.period {
        return Ok(not_born());
    }
    let facts = Facts::read(input)?;
    let all = applicable(&facts, level.amount);
    Ok(match highest(&all) {
        Some(best) => paid(&facts, level, best, &all),
        None => no_category(&facts),
    })
}

/// The single highest monthly amount (Art. 6); on a tie, the first listed in [`CATEGORIES`].
fn highest(all: &[Applicable]) -> Option<&Applicable> {
    all.iter().reduce(|best, next| if next.amount > best.amount { next } else { best })
}

/// Paid: the category chosen, the sum (age, coefficient × level) and, if several applied, which.
fn paid(facts: &Facts, level: &StandardLevel, best: &Applicable, all: &[Applicable]) -> Decision {
    let (category, k, amount, period) = (best.category, best.coefficient, best.amount, facts.period);
    // text! rather than format!: in a plug-in, core::fmt costs more fuel than the rules.
    let vi = text!(
        "Tuổi tính đến ngày 01/",
        Padded(period.month.into(), 2),
        "/",
        period.year,
        ": ",
        facts.age,
        ". Hệ số ",
        k.to_vi_string(),
        " × mức chuẩn trợ giúp xã hội ",
        level.amount.to_vi_string(),
        " = ",
        amount.to_vi_string(),
        " mỗi tháng."
    );
    let en = text!(
        "Age on the first day of ",
        period,
        ": ",
        facts.age,
        ". Coefficient ",
        k,
        " × standard level ",
        level.amount,
        " = ",
        amount,
        " per month."
    );
    let decision = Decision::eligible(amount, category.code)
        .explain(category.vi, category.en, category.citation)
        .explain(&vi, &en, &text!(level.citation, "; Decree 20/2021/ND-CP, Art. 6(1)"));
    if all.len() < 2 {
        return decision;
    }
    let codes = all.iter().map(|a| a.category.code).collect::<Vec<_>>().join(", ");
    decision.explain(
        &text!("Thuộc nhiều diện (", codes.clone(), "): chỉ hưởng một mức cao nhất."),
        &text!("Several categories apply (", codes, "): only the highest monthly amount is paid."),
        "Decree 20/2021/ND-CP, Art. 6",
    )
}

/// Not paid: the registry did not confirm the identity. A platform rule, not
/// this decree's, so other programmes' rules give the same decision.
pub fn not_verified() -> Decision {
    Decision::not_eligible("not_verified").explain(
        "Cơ sở dữ liệu quốc gia về dân cư chưa xác thực danh tính người hưởng: không chi trả.",
        "The national population database has not confirmed the beneficiary's identity: not paid.",
        "Decision 06/QD-TTg; platform rule (identity confirmed before payment)",
    )
}

fn deceased() -> Decision {
    Decision::not_eligible("deceased").explain(
        "Người hưởng đã chết trước tháng chi trả: thôi hưởng từ tháng sau tháng chết.",
        "The beneficiary died before the paid month: payment stops from the month after death.",
        "Decree 20/2021/ND-CP, Art. 8(3)",
    )
}

fn not_born() -> Decision {
    Decision::not_eligible("not_born").explain(
        "Ngày sinh sau tháng chi trả: không có căn cứ chi trả (kiểm tra lại dữ liệu).",
        "Born after the paid month: nothing to pay (check the data).",
        "platform rule",
    )
}

fn no_category(facts: &Facts) -> Decision {
    if facts.aged_80_without_pension() {
        return Decision::not_eligible("served_by_social_pension").explain(
            "Từ tháng 7/2025, người từ đủ 80 tuổi không có lương hưu, trợ cấp bảo hiểm xã hội hàng tháng hưởng trợ cấp hưu trí xã hội, không hưởng trợ cấp xã hội hàng tháng theo điểm c khoản 5 Điều 5.",
            "From 2025-07 a person aged 80 or over with no pension or monthly social-insurance benefit is served by the social pension, no longer by social assistance under Art. 5(5)(c).",
            "Decree 176/2025/ND-CP; Decree 20/2021/ND-CP, Art. 5(5)(c)",
        );
    }
    Decision::not_eligible("no_category").explain(
        "Không thuộc diện hưởng trợ cấp xã hội hàng tháng nào.",
        "Not in any category of monthly social assistance.",
        "Decree 20/2021/ND-CP, Art. 5",
    )
}

// Left out when a province plug-in links these rules as a library (it exports its own).
#[cfg(feature = "plugin")]
ansinh_sdk::export!(NationalSocialAssistance);

#[cfg(test)]
mod tests {
    use super::*;
    use ansinh_sdk::{Date, Person};

    type N = NationalSocialAssistance;

    /// A verified, living person with every declared field at its default.
    fn input(period: (u16, u8), born: (u16, u8, u8)) -> Input {
        Input {
            period: Month::new(period.0, period.1),
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

    fn decide(input: &Input) -> (u64, Option<String>, Vec<String>) {
        let d = N::evaluate(input).expect("decides");
        assert_eq!(d.eligible, d.amount > 0, "eligible iff paid");
        (d.amount, d.category, d.reasons)
    }

    fn paid(input: &Input) -> (u64, String) {
        let (amount, category, _) = decide(input);
        (amount, category.expect("a category"))
    }

    fn reason(input: &Input) -> String {
        let (amount, category, reasons) = decide(input);
        assert_eq!((amount, category), (0, None));
        assert_eq!(reasons.len(), 1);
        reasons[0].clone()
    }

    #[test]
    fn describes_itself_and_reads_only_what_it_uses() {
        let d = N::describe();
        assert_eq!(d.name, "national-social-assistance");
        assert_eq!(d.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(d.programs, ["social-assistance"]);
        assert_eq!(d.scope, ansinh_sdk::ScopeKind::National);
        assert!(!d.reads.contains(&PersonField::Sex));
        assert!(!d.reads.contains(&PersonField::ResidenceProvince));
        // Every declared field is needed: leaving any out makes evaluation fail.
        let mut i = input((2024, 9), (1940, 1, 1));
        i.person.sex = None;
        i.person.residence_province = None;
        assert!(N::evaluate(&i).is_ok());
        i.person.dependent_children = None;
        assert_eq!(N::evaluate(&i), Err(RuleError::Undeclared(PersonField::DependentChildren)));
    }

    #[test]
    fn other_programmes_and_early_months_are_errors() {
        let mut i = input((2024, 9), (1940, 1, 1));
        i.program = "social-pension".into();
        let Err(RuleError::Other(message)) = N::evaluate(&i) else { panic!("expected an error") };
        assert!(message.contains("social-pension"));
        let i = input((2021, 6), (1940, 1, 1));
        let Err(RuleError::Other(message)) = N::evaluate(&i) else { panic!("expected an error") };
        assert!(message.contains("2021-06"));
    }

    #[test]
    fn standard_level_changes_in_2024_07_and_not_in_2026_07() {
        assert_eq!(standard_level(&STANDARD_LEVELS, Month::new(2021, 7)).unwrap().amount, Vnd(360_000));
        assert_eq!(standard_level(&STANDARD_LEVELS, Month::new(2024, 6)).unwrap().amount, Vnd(360_000));
        assert_eq!(standard_level(&STANDARD_LEVELS, Month::new(2024, 7)).unwrap().amount, Vnd(500_000));
        // 540,000 from 2026-07 is [unverified]: not encoded.
        assert_eq!(standard_level(&STANDARD_LEVELS, Month::new(2026, 7)).unwrap().amount, Vnd(500_000));
    }

    #[test]
    fn not_verified_beats_everything() {
        let mut i = input((2024, 9), (1940, 1, 1));
        i.person.disability = Some(Disability::EspeciallySevere);
        i.person.death_date = Some(Some(Date::new(2020, 1, 1)));
        i.verdict.verified = false;
        assert_eq!(reason(&i), "not_verified");
    }

    #[test]
    fn death_during_the_month_still_pays_it() {
        let mut i = input((2024, 9), (1950, 1, 1));
        i.person.disability = Some(Disability::Severe);
        i.person.death_date = Some(Some(Date::new(2024, 9, 1)));
        assert_eq!(paid(&i), (1_000_000, "disability_severe".into()));
        i.person.death_date = Some(Some(Date::new(2024, 8, 31)));
        assert_eq!(reason(&i), "deceased");
    }

    #[test]
    fn orphan_child_coefficient_changes_on_the_4th_birthday() {
        let mut i = input((2024, 9), (2020, 9, 2));
        i.person.statuses = Some(vec![Status::Orphan]);
        assert_eq!(paid(&i), (1_250_000, "orphan_child".into()), "3 on the 1st");
        i.person.birth_date = Some(Date::new(2020, 9, 1));
        assert_eq!(paid(&i), (750_000, "orphan_child".into()), "4 on the 1st");
    }

    #[test]
    fn orphan_student_until_22() {
        let mut i = input((2024, 9), (2002, 9, 2));
        i.person.statuses = Some(vec![Status::Orphan, Status::Studying]);
        assert_eq!(paid(&i), (750_000, "orphan_student".into()), "22 on the 1st");
        i.person.birth_date = Some(Date::new(2001, 9, 1));
        assert_eq!(reason(&i), "no_category", "23 on the 1st");
        i.person.birth_date = Some(Date::new(2008, 9, 1));
        i.person.statuses = Some(vec![Status::Orphan]);
        assert_eq!(reason(&i), "no_category", "16 and not studying");
    }

    #[test]
    fn single_parent_is_paid_per_child() {
        let mut i = input((2024, 9), (1990, 1, 1));
        i.person.statuses = Some(vec![Status::SingleParent]);
        i.person.household = Some(Household::NearPoor);
        i.person.dependent_children = Some(3);
        assert_eq!(paid(&i), (1_500_000, "single_parent_poor".into()));
        i.person.dependent_children = Some(0);
        assert_eq!(reason(&i), "no_category");
        i.person.dependent_children = Some(2);
        i.person.household = Some(Household::None);
        assert_eq!(reason(&i), "no_category");
    }

    #[test]
    fn aged_80_without_pension_moves_to_the_social_pension_in_2025_07() {
        let i = input((2025, 6), (1940, 5, 12));
        assert_eq!(paid(&i), (500_000, "elderly_80_no_pension".into()));
        let i = input((2025, 7), (1940, 5, 12));
        assert_eq!(reason(&i), "served_by_social_pension");
        let mut i = input((2024, 9), (1940, 5, 12));
        i.person.has_pension = Some(true);
        assert_eq!(reason(&i), "no_category");
    }

    #[test]
    fn only_the_highest_amount_is_paid() {
        // Elderly, poor, alone, cared for in the community, especially severe disability.
        let mut i = input((2024, 9), (1940, 1, 1));
        i.person.household = Some(Household::Poor);
        i.person.disability = Some(Disability::EspeciallySevere);
        i.person.statuses = Some(vec![Status::NoSupporter, Status::CommunityCare]);
        let d = N::evaluate(&i).unwrap();
        assert_eq!((d.amount, d.category.as_deref()), (1_500_000, Some("elderly_community_care")));
        assert_eq!(d.explanation.len(), 3, "category, amount, several categories");
        assert!(d.explanation[2].en.contains("elderly_poor_alone"));
    }

    #[test]
    fn ties_go_to_the_category_listed_first() {
        // Orphan under 4 (2.5) with an especially severe disability (2.5 for a child).
        let mut i = input((2024, 9), (2022, 1, 1));
        i.person.statuses = Some(vec![Status::Orphan]);
        i.person.disability = Some(Disability::EspeciallySevere);
        assert_eq!(paid(&i), (1_250_000, "orphan_child".into()));
    }

    #[test]
    fn explanations_are_bilingual_and_cited() {
        let mut i = input((2024, 9), (1940, 1, 1));
        i.person.disability = Some(Disability::EspeciallySevere);
        let d = N::evaluate(&i).unwrap();
        assert_eq!(d.amount, 1_250_000, "worked example of social-assistance.md");
        assert_eq!(
            d.explanation[1].vi,
            "Tuổi tính đến ngày 01/09/2024: 84. Hệ số 2,5 × mức chuẩn trợ giúp xã hội 500.000 đồng = 1.250.000 đồng mỗi tháng."
        );
        assert_eq!(
            d.explanation[1].en,
            "Age on the first day of 2024-09: 84. Coefficient 2.5 × standard level 500,000 VND = 1,250,000 VND per month."
        );
        assert_eq!(d.explanation[1].citation, "Decree 76/2024/ND-CP; Decree 20/2021/ND-CP, Art. 6(1)");
    }

    #[test]
    fn a_birth_date_after_the_month_is_not_paid() {
        let mut i = input((2024, 9), (2024, 10, 1));
        i.person.statuses = Some(vec![Status::Orphan]);
        assert_eq!(reason(&i), "not_born");
    }
}
