//! Hà Nội (province code 001): monthly social assistance by the national rules
//! of Decree 20/2021/NĐ-CP as amended, with the city's higher standard level.
//!
//! A People's Council may raise the standard level, never lower it
//! (`social-assistance.md`). Hà Nội's Resolution 63/2025/NQ-HĐND sets 650,000
//! đồng from 2026-01 (reported; the scope is \[unverified\]: read here as the
//! standard level for every category). Before that the national levels apply.
//! Everything else (categories, coefficients, ages, deaths) is the national
//! plug-in's, reused as a library, not copied.

use ansinh_sdk::*;
use national_social_assistance::{PROGRAM, READS, STANDARD_LEVELS, StandardLevel, decide};

/// Hà Nội's province code (`identity.md`).
pub const PROVINCE: &str = "001";

/// The standard levels for Hà Nội, oldest first: the nation's, then the city's.
pub const LEVELS: [StandardLevel; 3] = [
    STANDARD_LEVELS[0],
    STANDARD_LEVELS[1],
    StandardLevel { from: Month::new(2026, 1), amount: Vnd(650_000), citation: "Resolution 63/2025/NQ-HDND of Ha Noi" },
];

pub struct HanoiSocialAssistance;

impl Rules for HanoiSocialAssistance {
    fn describe() -> Description {
        Description::province(PROVINCE, "hanoi-social-assistance", env!("CARGO_PKG_VERSION"), &[PROGRAM], &READS)
    }

    fn evaluate(input: &Input) -> Result<Decision, RuleError> {
        decide(&LEVELS, input)
    }
}

ansinh_sdk::export!(HanoiSocialAssistance);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_level_only_raises_the_national_one() {
        // social-assistance.md: a province may set a higher level, never lower.
        for national in STANDARD_LEVELS {
            let city = national_social_assistance::standard_level(&LEVELS, national.from).unwrap();
            assert!(city.amount >= national.amount);
        }
        let from_2026 = national_social_assistance::standard_level(&LEVELS, Month::new(2026, 1)).unwrap();
        assert_eq!(from_2026.amount, Vnd(650_000));
        let before = national_social_assistance::standard_level(&LEVELS, Month::new(2025, 12)).unwrap();
        assert_eq!(before.amount, Vnd(500_000));
    }
}
