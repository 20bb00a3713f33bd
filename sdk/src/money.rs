//! Exact money: whole đồng times a decimal coefficient, rounded half up.

use core::fmt;
use core::ops::Mul;

use crate::text::push_digits;

/// An amount in whole Vietnamese đồng (VND has no minor unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Vnd(pub u64);

/// A coefficient (hệ số) with up to three decimals, held as thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coefficient(u32);

impl Coefficient {
    /// Parse a coefficient written as in the decree, e.g. `"2.5"`.
    /// Panics at compile time (in a `const`) or at first use on a malformed literal.
    pub const fn new(text: &str) -> Coefficient {
        let b = text.as_bytes();
        let mut i = 0;
        let mut whole: u32 = 0;
        while i < b.len() && b[i] != b'.' {
            assert!(b[i].is_ascii_digit(), "coefficient: expected digits");
            whole = whole * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        let mut frac: u32 = 0;
        let mut places = 0;
        if i < b.len() {
            i += 1;
            while i < b.len() {
                assert!(b[i].is_ascii_digit(), "coefficient: expected digits");
                assert!(places < 3, "coefficient: at most three decimals");
                frac = frac * 10 + (b[i] - b'0') as u32;
                places += 1;
                i += 1;
            }
        }
        while places < 3 {
            frac *= 10;
            places += 1;
        }
        Coefficient(whole * 1000 + frac)
    }

    /// The coefficient in thousandths (2.5 → 2500).
    pub const fn thousandths(self) -> u32 {
        self.0
    }

    /// As the decree writes it, with a decimal comma: `2,5`, `1,0`.
    pub fn to_vi_string(self) -> String {
        let mut text = String::new();
        self.push_text(&mut text, b',');
        text
    }

    /// At least one decimal, no trailing zeros beyond it.
    pub(crate) fn push_text(self, out: &mut String, point: u8) {
        let (whole, mut frac, mut places) = (self.0 / 1000, self.0 % 1000, 3);
        while places > 1 && frac.is_multiple_of(10) {
            frac /= 10;
            places -= 1;
        }
        push_digits(out, u64::from(whole), 1, None);
        out.push(char::from(point));
        push_digits(out, u64::from(frac), places, None);
    }
}

impl Mul<u32> for Coefficient {
    type Output = Coefficient;

    /// A coefficient counted per person, e.g. "hệ số 1,0 cho mỗi con": 1.0 × 3 = 3.0.
    /// Panics if the result exceeds `u32::MAX` thousandths (over four million).
    fn mul(self, n: u32) -> Coefficient {
        Coefficient(self.0.checked_mul(n).expect("coefficient overflow"))
    }
}

impl fmt::Display for Coefficient {
    /// `2.5`, `1.0`, `1.125`: at least one decimal, no trailing zeros beyond it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.push_text(&mut text, b'.');
        f.write_str(&text)
    }
}

impl Mul<Coefficient> for Vnd {
    type Output = Vnd;

    /// Standard level × coefficient, rounded half up to the đồng
    /// (social-assistance.md: platform convention).
    fn mul(self, k: Coefficient) -> Vnd {
        Vnd((self.0 * u64::from(k.0) + 500) / 1000)
    }
}

impl Mul<u32> for Vnd {
    type Output = Vnd;

    fn mul(self, n: u32) -> Vnd {
        Vnd(self.0 * u64::from(n))
    }
}

impl Vnd {
    /// As Vietnamese text writes money: `1250000` → `1.250.000 đồng`.
    pub fn to_vi_string(self) -> String {
        let mut text = String::new();
        push_digits(&mut text, self.0, 1, Some(b'.'));
        text.push_str(" đồng");
        text
    }
}

impl fmt::Display for Vnd {
    /// `1250000` → `1,250,000 VND`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        crate::Piece::push_to(self, &mut text);
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_parse_exactly() {
        assert_eq!(Coefficient::new("2.5").thousandths(), 2500);
        assert_eq!(Coefficient::new("1").thousandths(), 1000);
        assert_eq!(Coefficient::new("1.125").thousandths(), 1125);
    }

    #[test]
    fn level_times_coefficient_rounds_half_up() {
        // Worked example of social-assistance.md: 2.5 × 500,000 = 1,250,000.
        assert_eq!(Vnd(500_000) * Coefficient::new("2.5"), Vnd(1_250_000));
        assert_eq!(Vnd(1) * Coefficient::new("1.5"), Vnd(2), "0.5 đồng rounds up");
        assert_eq!(Vnd(1) * Coefficient::new("1.499"), Vnd(1));
        assert_eq!(Vnd(3) * Coefficient::new("0.5"), Vnd(2));
        assert_eq!(Vnd(360_000) * Coefficient::new("1.5"), Vnd(540_000));
    }

    #[test]
    fn display_groups_thousands() {
        assert_eq!(Vnd(1_250_000).to_string(), "1,250,000 VND");
        assert_eq!(Vnd(500).to_string(), "500 VND");
        assert_eq!(Vnd(1_250_000).to_vi_string(), "1.250.000 đồng");
        assert_eq!(Vnd(0).to_vi_string(), "0 đồng");
    }

    #[test]
    fn coefficients_display_as_the_decree_writes_them() {
        assert_eq!(Coefficient::new("2.5").to_string(), "2.5");
        assert_eq!(Coefficient::new("1").to_string(), "1.0");
        assert_eq!(Coefficient::new("1.125").to_string(), "1.125");
        assert_eq!(Coefficient::new("0.05").to_string(), "0.05");
        assert_eq!(Coefficient::new("2.5").to_vi_string(), "2,5");
    }

    #[test]
    fn coefficient_per_person_multiplies_exactly() {
        assert_eq!(Coefficient::new("1.0") * 3, Coefficient::new("3"));
        assert_eq!(Coefficient::new("1.125") * 4, Coefficient::new("4.5"));
        assert_eq!(Vnd(500_000) * (Coefficient::new("1.0") * 2), Vnd(1_000_000));
    }
}
