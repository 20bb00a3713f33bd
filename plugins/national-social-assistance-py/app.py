"""National monthly social assistance (trợ cấp xã hội hàng tháng) for ansinh, in Python.

The Python twin of `plugins/national-social-assistance` (Rust): the same rules, built
with componentize-py against the same contract (`sdk/wit/rules.wit`, world `rule-plugin`),
passing the same cases (`plugins/national-social-assistance/cases.yaml`).

It decides, for one person and one paid month, whether the programme
`social-assistance` pays them and how much, under **Decree 20/2021/NĐ-CP** (Art. 4
standard level, Art. 5 categories, Art. 6 coefficients) as amended by **Decree
76/2024/NĐ-CP** (standard level from 2024-07), with **Decree 176/2025/NĐ-CP** (social
pension) taking over group Art. 5(5)(c) from 2025-07. Facts:
`shared/domain/social-assistance.md`.

Amount = national standard level of the paid month × the coefficient of the person's
category. Ages are taken on the first day of the paid month.

    paid month            standard level   basis
    2021-07 .. 2024-06    360,000 VND      Decree 20/2021/ND-CP, Art. 4
    from 2024-07          500,000 VND      Decree 76/2024/ND-CP

A month before 2021-07 is an error. 540,000 VND from 2026-07 is [unverified] (no primary
legal text found) and is NOT encoded, exactly as in the Rust plug-in.

Order of the rules (as the Rust twin):
 1. a programme other than `social-assistance`, or a month before 2021-07: error;
 2. identity not confirmed by the population registry: `not_verified`;
 3. died before the paid month: `deceased` (a death during the month still pays it);
 4. born after the paid month (a data error): `not_born`;
 5. the categories of CATEGORIES; several apply: only the single highest monthly amount
    is paid (Art. 6); ties go to the category listed first (the order of Art. 5);
 6. none applies: `no_category`, or `served_by_social_pension` for a person who would be
    in group Art. 5(5)(c) in a month from 2025-07.

No floating point anywhere: money is whole đồng (int), coefficients are thousandths (int),
level × coefficient is rounded half up to the đồng with integer arithmetic.

The component imports nothing: it is built with `componentize-py componentize --stub-wasi`,
so it has no clock, randomness or I/O (see README.md).
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.rules import (
    Decision,
    Description,
    Disability,
    Explanation,
    Household,
    Input,
    PersonField,
    ScopeKind,
    Status,
)

NAME = "national-social-assistance-py"
VERSION = "0.1.0"

# The only programme this plug-in decides.
PROGRAM = "social-assistance"

# The person fields read, and no others (least data: not sex, not residence).
READS = [
    PersonField.BIRTH_DATE,
    PersonField.DEATH_DATE,
    PersonField.HOUSEHOLD,
    PersonField.DISABILITY,
    PersonField.HAS_PENSION,
    PersonField.DIFFICULT_COMMUNE,
    PersonField.STATUSES,
    PersonField.DEPENDENT_CHILDREN,
]

# Months are compared as (year, month) tuples.
# The standard levels (mức chuẩn trợ giúp xã hội), oldest first: (from, amount in đồng, citation).
STANDARD_LEVELS = [
    ((2021, 7), 360_000, "Decree 20/2021/ND-CP, Art. 4"),
    ((2024, 7), 500_000, "Decree 76/2024/ND-CP"),
]

# From this month group Art. 5(5)(c) is served by the social pension (Decree 176/2025/NĐ-CP).
SOCIAL_PENSION_FROM = (2025, 7)

CHILD_UNDER = 16  # a child is under 16
ELDERLY_FROM = 60  # an elderly person is 60 or over

# Coefficients (hệ số, Art. 6(1)) in thousandths: 2.5 is 2500.
K1_0 = 1000
K1_5 = 1500
K2_0 = 2000
K2_5 = 2500
K3_0 = 3000


class RuleError(Exception):
    """The plug-in could not decide; becomes the `err` of `evaluate`."""


def declared(value, field):
    """A person field the host filled in; the host fills only declared fields."""
    if value is None:
        raise RuleError(f"the rule read person field {field}, which describe() does not declare in `reads`")
    return value


class Facts:
    """The facts the clauses decide on, read once from the input."""

    def __init__(self, input: Input):
        person = input.person
        birth = declared(person.birth_date, "BirthDate")
        statuses = declared(person.statuses, "Statuses")
        self.period = (input.period.year, input.period.month)
        self.age = age_on((birth.year, birth.month, birth.day), (input.period.year, input.period.month, 1))
        self.household = declared(person.household, "Household")
        self.disability = declared(person.disability, "Disability")
        self.has_pension = declared(person.has_pension, "HasPension")
        self.difficult_commune = declared(person.difficult_commune, "DifficultCommune")
        self.orphan = Status.ORPHAN in statuses
        self.studying = Status.STUDYING in statuses
        self.hiv = Status.HIV in statuses
        self.single_parent = Status.SINGLE_PARENT in statuses
        self.no_supporter = Status.NO_SUPPORTER in statuses
        self.community_care = Status.COMMUNITY_CARE in statuses
        self.dependent_children = declared(person.dependent_children, "DependentChildren")

    def child(self):
        return self.age < CHILD_UNDER

    def elderly(self):
        return self.age >= ELDERLY_FROM

    def poor(self):
        return self.household == Household.POOR

    def poor_or_near_poor(self):
        return self.household in (Household.POOR, Household.NEAR_POOR)

    def aged_80_without_pension(self):
        """The facts of group Art. 5(5)(c), whatever the month."""
        return self.age >= 80 and not self.has_pension


def age_on(born, day):
    """Completed years of age on `day` (0 before the first birthday); dates as (y, m, d).

    A person born on 29 February turns a year older on 1 March in common years.
    """
    if day < born:
        return 0
    years = day[0] - born[0]
    return years if day[1:] >= born[1:] else years - 1


# The clauses of Art. 5: each returns the coefficient (thousandths) or None when the
# person is not in the category.


def k1_orphan_child(f):
    """Art. 5(1): child under 16 without a source of support; 2.5 under 4, 1.5 from 4."""
    if f.orphan and f.child():
        return K2_5 if f.age < 4 else K1_5
    return None


def k2_orphan_student(f):
    """Art. 5(2): from group 5(1), still studying, aged 16 to 22; 1.5 [unverified]."""
    if f.orphan and f.studying and 16 <= f.age <= 22:
        return K1_5
    return None


def k3_child_hiv_poor(f):
    """Art. 5(3): child with HIV in a poor household; 2.5 under 4, 2.0 from 4 to 15."""
    if f.hiv and f.poor() and f.child():
        return K2_5 if f.age < 4 else K2_0
    return None


def k4_single_parent_poor(f):
    """Art. 5(4): single parent of a poor or near-poor household; 1.0 per child raised."""
    if f.single_parent and f.poor_or_near_poor() and f.dependent_children > 0:
        return K1_0 * f.dependent_children
    return None


def k5a_elderly_poor_alone(f):
    """Art. 5(5)(a): 60+, poor household, no one obliged to support them; 1.5 aged 60-79, 2.0 aged 80+."""
    if f.elderly() and f.poor() and f.no_supporter:
        return K1_5 if f.age < 80 else K2_0
    return None


def k5b_elderly_75_difficult_commune(f):
    """Art. 5(5)(b): aged 75-79, poor or near-poor household, especially difficult commune; 1.0."""
    if 75 <= f.age < 80 and f.poor_or_near_poor() and f.difficult_commune:
        return K1_0
    return None


def k5c_elderly_80_no_pension(f):
    """Art. 5(5)(c): 80+ with no pension; 1.0. Months before 2025-07 only: from then the
    social pension serves this group (Decree 176/2025/NĐ-CP)."""
    if f.aged_80_without_pension() and f.period < SOCIAL_PENSION_FROM:
        return K1_0
    return None


def k5d_elderly_community_care(f):
    """Art. 5(5)(d): a person of Art. 5(5)(a) cared for in the community; 3.0."""
    if k5a_elderly_poor_alone(f) is not None and f.community_care:
        return K3_0
    return None


def k6_disability_especially_severe(f):
    """Art. 5(6): especially severe disability; 2.0, or 2.5 for a child or an elderly person."""
    if f.disability == Disability.ESPECIALLY_SEVERE:
        return K2_5 if f.child() or f.elderly() else K2_0
    return None


def k6_disability_severe(f):
    """Art. 5(6): severe disability; 1.5, or 2.0 for a child or an elderly person."""
    if f.disability == Disability.SEVERE:
        return K2_0 if f.child() or f.elderly() else K1_5
    return None


def k7_child_under_3_difficult_commune(f):
    """Art. 5(7): child under 3, poor or near-poor household, especially difficult commune; 1.5 [unverified]."""
    if f.age < 3 and f.poor_or_near_poor() and f.difficult_commune:
        return K1_5
    return None


def k8_adult_hiv_poor(f):
    """Art. 5(8): person (16+) with HIV in a poor household with no monthly income
    (read: no pension or social-insurance benefit); 1.5 [unverified]."""
    if f.hiv and f.poor() and not f.child() and not f.has_pension:
        return K1_5
    return None


# The categories in the order of Art. 5; on a tie the first listed wins.
# (code, clause, Vietnamese, English, citation)
CATEGORIES = [
    (
        "orphan_child",
        k1_orphan_child,
        "Trẻ em dưới 16 tuổi không có nguồn nuôi dưỡng",
        "Child under 16 without a source of support",
        "Decree 20/2021/ND-CP, Art. 5(1); Art. 6(1)",
    ),
    (
        "orphan_student",
        k2_orphan_student,
        "Người từ 16 đến 22 tuổi không có nguồn nuôi dưỡng đang đi học",
        "Person aged 16 to 22 without a source of support, still studying",
        "Decree 20/2021/ND-CP, Art. 5(2); Art. 6(1)",
    ),
    (
        "child_hiv_poor",
        k3_child_hiv_poor,
        "Trẻ em nhiễm HIV/AIDS thuộc hộ nghèo",
        "Child with HIV/AIDS in a poor household",
        "Decree 20/2021/ND-CP, Art. 5(3); Art. 6(1)",
    ),
    (
        "single_parent_poor",
        k4_single_parent_poor,
        "Người đơn thân thuộc hộ nghèo, hộ cận nghèo đang nuôi con (hệ số 1,0 cho mỗi con)",
        "Single parent of a poor or near-poor household raising children (coefficient 1.0 per child)",
        "Decree 20/2021/ND-CP, Art. 5(4); Art. 6(1)",
    ),
    (
        "elderly_poor_alone",
        k5a_elderly_poor_alone,
        "Người cao tuổi thuộc hộ nghèo, không có người có nghĩa vụ và quyền phụng dưỡng",
        "Elderly person of a poor household with no one obliged to support them",
        "Decree 20/2021/ND-CP, Art. 5(5)(a); Art. 6(1)",
    ),
    (
        "elderly_75_difficult_commune",
        k5b_elderly_75_difficult_commune,
        "Người từ đủ 75 tuổi đến dưới 80 tuổi thuộc hộ nghèo, hộ cận nghèo, sống tại xã, thôn đặc biệt khó khăn "
        "vùng đồng bào dân tộc thiểu số và miền núi",
        "Aged 75 to 79, poor or near-poor household, living in an especially difficult commune of an "
        "ethnic-minority or mountainous area",
        "Decree 20/2021/ND-CP, Art. 5(5)(b); Art. 6(1)",
    ),
    (
        "elderly_80_no_pension",
        k5c_elderly_80_no_pension,
        "Người từ đủ 80 tuổi không có lương hưu, trợ cấp bảo hiểm xã hội hàng tháng",
        "Aged 80 or over with no pension or monthly social-insurance benefit",
        "Decree 20/2021/ND-CP, Art. 5(5)(c); Art. 6(1)",
    ),
    (
        "elderly_community_care",
        k5d_elderly_community_care,
        "Người cao tuổi thuộc hộ nghèo, không có người phụng dưỡng, đủ điều kiện vào cơ sở trợ giúp xã hội "
        "nhưng được nhận chăm sóc tại cộng đồng",
        "Elderly person of a poor household with no supporter, eligible for a care facility but cared for "
        "in the community",
        "Decree 20/2021/ND-CP, Art. 5(5)(d); Art. 6(1)",
    ),
    (
        "disability_especially_severe",
        k6_disability_especially_severe,
        "Người khuyết tật đặc biệt nặng (hệ số cao hơn cho trẻ em, người cao tuổi)",
        "Person with an especially severe disability (higher for a child or an elderly person)",
        "Decree 20/2021/ND-CP, Art. 5(6); Art. 6(1)",
    ),
    (
        "disability_severe",
        k6_disability_severe,
        "Người khuyết tật nặng (hệ số cao hơn cho trẻ em, người cao tuổi)",
        "Person with a severe disability (higher for a child or an elderly person)",
        "Decree 20/2021/ND-CP, Art. 5(6); Art. 6(1)",
    ),
    (
        "child_under_3_difficult_commune",
        k7_child_under_3_difficult_commune,
        "Trẻ em dưới 3 tuổi thuộc hộ nghèo, hộ cận nghèo, sống tại xã, thôn đặc biệt khó khăn vùng đồng bào "
        "dân tộc thiểu số và miền núi",
        "Child under 3 of a poor or near-poor household living in an especially difficult commune of an "
        "ethnic-minority or mountainous area",
        "Decree 20/2021/ND-CP, Art. 5(7); Art. 6(1)",
    ),
    (
        "adult_hiv_poor",
        k8_adult_hiv_poor,
        "Người nhiễm HIV/AIDS thuộc hộ nghèo, không có nguồn trợ cấp hàng tháng",
        "Person with HIV/AIDS in a poor household with no monthly income or benefit",
        "Decree 20/2021/ND-CP, Art. 5(8); Art. 6(1)",
    ),
]


# Money and numbers as text, integers only.


def times(level, k):
    """Standard level (đồng) × coefficient (thousandths), rounded half up to the đồng
    (social-assistance.md: platform convention)."""
    return (level * k + 500) // 1000


def grouped(n, sep):
    """1250000 → '1,250,000' (sep ',') or '1.250.000' (sep '.')."""
    digits = str(n)
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def coefficient_text(k, point):
    """2500 → '2.5' / '2,5'; 1000 → '1.0'; 1125 → '1.125': at least one decimal."""
    frac = f"{k % 1000:03d}".rstrip("0") or "0"
    return f"{k // 1000}{point}{frac}"


def standard_level(period):
    """The standard level of the paid month: (from, amount, citation)."""
    for level in reversed(STANDARD_LEVELS):
        if period >= level[0]:
            return level
    raise RuleError(
        f"no national standard level is known for {period[0]}-{period[1]:02d}: "
        "Decree 20/2021/ND-CP applies from 2021-07"
    )


def decide(input: Input) -> Decision:
    """The whole rule (the Rust twin's `decide` with STANDARD_LEVELS)."""
    if input.program != PROGRAM:
        raise RuleError(
            f"the social-assistance rules decide only the programme `{PROGRAM}`, not `{input.program}`"
        )
    period = (input.period.year, input.period.month)
    level = standard_level(period)
    if not input.verdict.verified:
        return not_verified()
    death = declared(input.person.death_date, "DeathDate").value
    if death is not None and (death.year, death.month) < period:
        return deceased()
    birth = declared(input.person.birth_date, "BirthDate")
    if (birth.year, birth.month) > period:
        return not_born()
    facts = Facts(input)
    applicable = []  # (code, coefficient, amount, vi, en, citation), in the order of CATEGORIES
    for code, clause, vi, en, citation in CATEGORIES:
        k = clause(facts)
        if k is not None:
            applicable.append((code, k, times(level[1], k), vi, en, citation))
    if not applicable:
        return no_category(facts)
    # Art. 6: the single highest monthly amount; on a tie the first listed (strictly greater wins).
    best = applicable[0]
    for other in applicable[1:]:
        if other[2] > best[2]:
            best = other
    return paid(facts, level, best, applicable)


def decision(eligible, amount, category, reason, lines):
    return Decision(
        eligible=eligible,
        amount=amount,
        category=category,
        reasons=[] if reason is None else [reason],
        explanation=[Explanation(vi=vi, en=en, citation=citation) for vi, en, citation in lines],
    )


def paid(facts, level, best, applicable):
    """Paid: the category chosen, the sum (age, coefficient × level) and, if several applied, which."""
    code, k, amount, vi, en, citation = best
    (year, month), (_, level_amount, level_citation) = facts.period, level
    lines = [
        (vi, en, citation),
        (
            f"Tuổi tính đến ngày 01/{month:02d}/{year}: {facts.age}. Hệ số {coefficient_text(k, ',')} × mức chuẩn "
            f"trợ giúp xã hội {grouped(level_amount, '.')} đồng = {grouped(amount, '.')} đồng mỗi tháng.",
            f"Age on the first day of {year}-{month:02d}: {facts.age}. Coefficient {coefficient_text(k, '.')} × "
            f"standard level {grouped(level_amount, ',')} VND = {grouped(amount, ',')} VND per month.",
            f"{level_citation}; Decree 20/2021/ND-CP, Art. 6(1)",
        ),
    ]
    if len(applicable) >= 2:
        codes = ", ".join(a[0] for a in applicable)
        lines.append(
            (
                f"Thuộc nhiều diện ({codes}): chỉ hưởng một mức cao nhất.",
                f"Several categories apply ({codes}): only the highest monthly amount is paid.",
                "Decree 20/2021/ND-CP, Art. 6",
            )
        )
    return decision(True, amount, code, None, lines)


def not_verified():
    return decision(
        False,
        0,
        None,
        "not_verified",
        [
            (
                "Cơ sở dữ liệu quốc gia về dân cư chưa xác thực danh tính người hưởng: không chi trả.",
                "The national population database has not confirmed the beneficiary's identity: not paid.",
                "Decision 06/QD-TTg; platform rule (identity confirmed before payment)",
            )
        ],
    )


def deceased():
    return decision(
        False,
        0,
        None,
        "deceased",
        [
            (
                "Người hưởng đã chết trước tháng chi trả: thôi hưởng từ tháng sau tháng chết.",
                "The beneficiary died before the paid month: payment stops from the month after death.",
                "Decree 20/2021/ND-CP, Art. 8(3)",
            )
        ],
    )


def not_born():
    return decision(
        False,
        0,
        None,
        "not_born",
        [
            (
                "Ngày sinh sau tháng chi trả: không có căn cứ chi trả (kiểm tra lại dữ liệu).",
                "Born after the paid month: nothing to pay (check the data).",
                "platform rule",
            )
        ],
    )


def no_category(facts):
    if facts.aged_80_without_pension():
        return decision(
            False,
            0,
            None,
            "served_by_social_pension",
            [
                (
                    "Từ tháng 7/2025, người từ đủ 80 tuổi không có lương hưu, trợ cấp bảo hiểm xã hội hàng tháng "
                    "hưởng trợ cấp hưu trí xã hội, không hưởng trợ cấp xã hội hàng tháng theo điểm c khoản 5 Điều 5.",
                    "From 2025-07 a person aged 80 or over with no pension or monthly social-insurance benefit is "
                    "served by the social pension, no longer by social assistance under Art. 5(5)(c).",
                    "Decree 176/2025/ND-CP; Decree 20/2021/ND-CP, Art. 5(5)(c)",
                )
            ],
        )
    return decision(
        False,
        0,
        None,
        "no_category",
        [
            (
                "Không thuộc diện hưởng trợ cấp xã hội hàng tháng nào.",
                "Not in any category of monthly social assistance.",
                "Decree 20/2021/ND-CP, Art. 5",
            )
        ],
    )


class Rules(exports.Rules):
    """The export of the world `rule-plugin`: interface `ansinh:rules/rules@0.1.0`."""

    def describe(self) -> Description:
        return Description(
            name=NAME,
            version=VERSION,
            scope=ScopeKind.NATIONAL,
            province=None,
            programs=[PROGRAM],
            reads=list(READS),
        )

    def evaluate(self, input: Input) -> Decision:
        try:
            return decide(input)
        except RuleError as e:
            raise Err(str(e))
