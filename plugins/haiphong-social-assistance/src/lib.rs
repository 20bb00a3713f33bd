//! Hải Phòng (province code 031): monthly social assistance by the national
//! rules of Decree 20/2021/NĐ-CP as amended, with the local standard levels,
//! for its residents and for those of the former Hải Dương (030), merged into
//! Hải Phòng on 2025-07-01 (`identity.md`).
//!
//! Levels (`social-assistance.md`, both reported):
//! - Hải Phòng: 700,000 đồng from 2026-01; the national level before.
//! - Hải Dương: 550,000 đồng from 2024-08 until the merger (Resolution
//!   07/NQ-HĐND). From 2025-07 a former Hải Dương resident is a Hải Phòng
//!   resident and has Hải Phòng's level. Whether a transitional provision kept
//!   550,000 after the merger is not in the facts: \[unverified\], not encoded.
//!
//! Which table applies is read from the person's residence province in the
//! registry, for the paid month; a month before the merger is decided as
//! Hải Dương decided it (for back pay and audits).

use ansinh_sdk::*;
use national_social_assistance::{PROGRAM, READS, STANDARD_LEVELS, StandardLevel, decide};

/// Hải Phòng's province code, and the former Hải Dương's (`identity.md`).
pub const PROVINCE: &str = "031";
pub const HAI_DUONG: &str = "030";

/// The merger of Hải Dương into Hải Phòng (`identity.md`).
pub const MERGER: Month = Month::new(2025, 7);

/// Hải Phòng's standard levels, oldest first: the nation's, then the city's.
pub const HAI_PHONG_LEVELS: [StandardLevel; 3] = [
    STANDARD_LEVELS[0],
    STANDARD_LEVELS[1],
    StandardLevel {
        from: Month::new(2026, 1),
        amount: Vnd(700_000),
        citation: "Hai Phong People's Council, 2026 level (reported)",
    },
];

/// Hải Dương's standard levels before the merger: the nation's, then the province's.
pub const HAI_DUONG_LEVELS: [StandardLevel; 3] = [
    STANDARD_LEVELS[0],
    STANDARD_LEVELS[1],
    StandardLevel { from: Month::new(2024, 8), amount: Vnd(550_000), citation: "Resolution 07/NQ-HDND of Hai Duong" },
];

/// The national fields, and the residence that picks the level.
pub const READS_HERE: [PersonField; 9] =
    [READS[0], READS[1], READS[2], READS[3], READS[4], READS[5], READS[6], READS[7], PersonField::ResidenceProvince];

pub struct HaiPhongSocialAssistance;

impl Rules for HaiPhongSocialAssistance {
    fn describe() -> Description {
        Description::province(
            PROVINCE,
            "haiphong-social-assistance",
            env!("CARGO_PKG_VERSION"),
            &[PROGRAM],
            &READS_HERE,
        )
    }

    fn evaluate(input: &Input) -> Result<Decision, RuleError> {
        let former_hai_duong = input.person.residence_province()? == HAI_DUONG;
        let levels: &[StandardLevel] =
            if former_hai_duong && input.period < MERGER { &HAI_DUONG_LEVELS } else { &HAI_PHONG_LEVELS };
        decide(levels, input)
    }
}

ansinh_sdk::export!(HaiPhongSocialAssistance);

#[cfg(test)]
mod tests {
    use super::*;
    use national_social_assistance::standard_level;

    #[test]
    fn local_levels_only_raise_the_national_one() {
        // social-assistance.md: a province may set a higher level, never lower.
        for table in [&HAI_PHONG_LEVELS[..], &HAI_DUONG_LEVELS[..]] {
            for national in STANDARD_LEVELS {
                assert!(standard_level(table, national.from).unwrap().amount >= national.amount);
            }
        }
        assert_eq!(standard_level(&HAI_DUONG_LEVELS, Month::new(2024, 7)).unwrap().amount, Vnd(500_000));
        assert_eq!(standard_level(&HAI_DUONG_LEVELS, Month::new(2024, 8)).unwrap().amount, Vnd(550_000));
        assert_eq!(standard_level(&HAI_PHONG_LEVELS, Month::new(2026, 1)).unwrap().amount, Vnd(700_000));
    }
}
