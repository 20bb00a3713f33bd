//! The 12-digit personal identification number (số định danh cá nhân), the number
//! on the CCCD card: `PPP G YY RRRRRR` (Decree 137/2015/NĐ-CP Art. 13; Circular
//! 07/2016/TT-BCA Art. 7; `identity.md`).
//!
//! - `PPP` (digits 1-3): province where the birth was registered ([`provinces`]);
//! - `G` (digit 4): sex and century of birth;
//! - `YY` (digits 5-6): last two digits of the birth year;
//! - `RRRRRR` (digits 7-12): random.
//!
//! Errors name digit positions and the offending part only: they never echo the
//! whole number, so they can go to logs and into stored decisions.

use std::fmt;

use thiserror::Error;

use super::provinces;
use crate::model::Sex;

/// Digits in a personal identification number.
const LENGTH: usize = 12;
/// Digits in an old identity card (CMND) number, still found in bank records.
const CMND_LENGTH: usize = 9;
/// First and last birth year that digit 4 can encode for a living person.
const FIRST_YEAR: i32 = 1900;
const LAST_YEAR: i32 = 2199;

/// A structurally valid personal identification number.
///
/// `Debug` masks the number ([`super::masked`]); [`IdNumber::as_str`] gives the
/// digits to code that needs them (lookups, storage), never to logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    digits: String,
    province: &'static str,
    sex: Sex,
    century: i32,
    year_in_century: i32,
}

/// Why a string is not a personal identification number, or disagrees with a
/// person's recorded sex and birth year.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum IdNumberError {
    #[error("an old 9-digit identity card (CMND) number, expected a 12-digit personal identification number")]
    OldCmnd,
    #[error("expected 12 digits, found {found}")]
    Length { found: usize },
    #[error("character {position} is {found:?}, expected a digit 0-9")]
    NotDigit { position: usize, found: char },
    #[error("digits 1-3 (province of birth registration) are {code}, expected one of the 63 province codes")]
    UnknownProvince { code: String },
    #[error("digit 4 (sex and century) is {found}, expected 0-5")]
    SexCentury { found: u8 },
    #[error("birth year {year} cannot be written in the number, expected {FIRST_YEAR}-{LAST_YEAR}")]
    YearOutOfRange { year: i32 },
    #[error("digit 4 (sex and century) is {found} ({}), expected {expected} ({})", meaning(*found), meaning(*expected))]
    SexCenturyDisagrees { found: u8, expected: u8 },
    #[error("digits 5-6 (birth year) are {found:02}, expected {expected:02} for birth year {year}")]
    YearDisagrees { found: i32, expected: i32, year: i32 },
}

impl IdNumber {
    /// Checks the structure: exactly 12 ASCII digits, a known province code and a
    /// sex-and-century digit 0-5.
    ///
    /// No trimming: callers hand over the field as read, so that a stray space is
    /// reported rather than silently accepted.
    pub fn parse(s: &str) -> Result<IdNumber, IdNumberError> {
        check_digits(s)?;
        match s.len() {
            LENGTH => {}
            CMND_LENGTH => return Err(IdNumberError::OldCmnd),
            found => return Err(IdNumberError::Length { found }),
        }
        let province = provinces::static_code(&s[0..3])
            .ok_or_else(|| IdNumberError::UnknownProvince { code: s[0..3].to_string() })?;
        let g = s.as_bytes()[3] - b'0';
        let (sex, century) = decode_sex_century(g).ok_or(IdNumberError::SexCentury { found: g })?;
        let year_in_century = s[4..6].parse().expect("two ASCII digits");
        Ok(IdNumber { digits: s.to_string(), province, sex, century, year_in_century })
    }

    /// The twelve digits. Not for logs: use [`super::masked`] there.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// Code of the province where the birth was registered: not the residence.
    pub fn province_code(&self) -> &'static str {
        self.province
    }

    /// Name of the province where the birth was registered.
    pub fn province_name(&self) -> &'static str {
        provinces::name(self.province).expect("parse accepts known codes only")
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// First year of the birth century that digit 4 encodes: 1900, 2000 or 2100.
    pub fn birth_century(&self) -> i32 {
        self.century
    }

    /// The full birth year: century from digit 4, last two digits from digits 5-6.
    pub fn birth_year(&self) -> i32 {
        self.century + self.year_in_century
    }

    /// Checks that digit 4 and digits 5-6 agree with a person's recorded sex and
    /// birth year: a number that disagrees is malformed (`identity.md`).
    pub fn agrees_with(&self, birth_year: i32, sex: Sex) -> Result<(), IdNumberError> {
        let expected = encode_sex_century(sex, birth_year)?;
        let found = self.sex_century_digit();
        if found != expected {
            return Err(IdNumberError::SexCenturyDisagrees { found, expected });
        }
        self.agrees_with_year(birth_year)
    }

    /// Checks the birth year only, for when the person's sex is not known (an
    /// enrolment without a registry record): digit 4's century and digits 5-6.
    pub fn agrees_with_year(&self, birth_year: i32) -> Result<(), IdNumberError> {
        if !(FIRST_YEAR..=LAST_YEAR).contains(&birth_year) {
            return Err(IdNumberError::YearOutOfRange { year: birth_year });
        }
        let century = birth_year - birth_year.rem_euclid(100);
        if century != self.century {
            // Keep the sex the number states: only the century is at fault.
            let found = self.sex_century_digit();
            let expected = encode_sex_century(self.sex, birth_year)?;
            return Err(IdNumberError::SexCenturyDisagrees { found, expected });
        }
        let expected = birth_year.rem_euclid(100);
        if self.year_in_century != expected {
            return Err(IdNumberError::YearDisagrees { found: self.year_in_century, expected, year: birth_year });
        }
        Ok(())
    }

    fn sex_century_digit(&self) -> u8 {
        self.digits.as_bytes()[3] - b'0'
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber").field(&super::masked(&self.digits)).finish()
    }
}

/// The first character that is not an ASCII digit, if any, by 1-based position.
fn check_digits(s: &str) -> Result<(), IdNumberError> {
    match s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, found)) => Err(IdNumberError::NotDigit { position: i + 1, found }),
        None => Ok(()),
    }
}

/// Digit 4 as (sex, first year of the century). Circular 07/2016 also assigns
/// 6-9 to births from 2200 on; nobody can be born then yet, so they are refused.
fn decode_sex_century(g: u8) -> Option<(Sex, i32)> {
    if g > 5 {
        return None;
    }
    let sex = if g.is_multiple_of(2) { Sex::Male } else { Sex::Female };
    Some((sex, FIRST_YEAR + 100 * i32::from(g / 2)))
}

/// The digit 4 a person of this sex born in this year must have.
fn encode_sex_century(sex: Sex, birth_year: i32) -> Result<u8, IdNumberError> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&birth_year) {
        return Err(IdNumberError::YearOutOfRange { year: birth_year });
    }
    let century_index = u8::try_from((birth_year - FIRST_YEAR) / 100).expect("0, 1 or 2");
    Ok(2 * century_index + u8::from(sex == Sex::Female))
}

/// Digit 4 in words, for error messages: "female, born 1900-1999".
fn meaning(g: u8) -> String {
    match decode_sex_century(g) {
        Some((sex, century)) => format!("{sex}, born {century}-{}", century + 99),
        None => "not a sex-and-century digit".to_string(),
    }
}

/// Whether `text` holds something shaped like an ID number (12 digits in a
/// row): free text kept for ever, such as a reason in the audit log, must not.
pub fn holds_one(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit()).any(|run| run.len() == 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_holding_an_id_number_is_told_apart() {
        assert!(holds_one("wrong person, 001087012345 is his brother"));
        assert!(holds_one("001087012345"));
        assert!(!holds_one("beneficiary #1234, account 0011000123456 (13 digits), phone 0912345678"));
    }

    /// identity.md's example: a woman born in 1998, birth registered in Hà Nội.
    const EXAMPLE: &str = "001198000001";

    fn parse_err(s: &str) -> IdNumberError {
        IdNumber::parse(s).expect_err(s)
    }

    #[test]
    fn parses_the_example_of_identity_md() {
        let id = IdNumber::parse(EXAMPLE).unwrap();
        assert_eq!(id.as_str(), EXAMPLE);
        assert_eq!(id.province_code(), "001");
        assert_eq!(id.province_name(), "Hà Nội");
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.birth_century(), 1900);
        assert_eq!(id.birth_year(), 1998);
        assert_eq!(id.agrees_with(1998, Sex::Female), Ok(()));
    }

    #[test]
    fn digit_4_encodes_sex_and_century() {
        // Decree 137/2015 Art. 13 / Circular 07/2016 Art. 7, table in identity.md:
        // 1900s 0 male 1 female, 2000s 2/3, 2100s 4/5.
        let cases = [
            ('0', Sex::Male, 1945),
            ('1', Sex::Female, 1945),
            ('2', Sex::Male, 2045),
            ('3', Sex::Female, 2045),
            ('4', Sex::Male, 2145),
            ('5', Sex::Female, 2145),
        ];
        for (g, sex, year) in cases {
            let id = IdNumber::parse(&format!("040{g}45123456")).unwrap();
            assert_eq!((id.sex(), id.birth_year()), (sex, year), "digit 4 = {g}");
            assert_eq!(id.agrees_with(year, sex), Ok(()), "digit 4 = {g}");
        }
    }

    #[test]
    fn nine_digit_cmnd_numbers_get_their_own_message() {
        // identity.md: old 9-digit CMND numbers still appear in bank records;
        // they are not personal identification numbers.
        let err = parse_err("123456789");
        assert_eq!(err, IdNumberError::OldCmnd);
        assert!(err.to_string().contains("CMND"), "{err}");
    }

    #[test]
    fn refuses_wrong_lengths() {
        assert_eq!(parse_err(""), IdNumberError::Length { found: 0 });
        assert_eq!(parse_err("00119800000"), IdNumberError::Length { found: 11 });
        assert_eq!(parse_err("0011980000011"), IdNumberError::Length { found: 13 });
        assert_eq!(parse_err("00119800000").to_string(), "expected 12 digits, found 11");
    }

    #[test]
    fn refuses_non_digits_naming_the_position() {
        assert_eq!(parse_err("00119800000X"), IdNumberError::NotDigit { position: 12, found: 'X' });
        assert_eq!(parse_err(" 001198000001"), IdNumberError::NotDigit { position: 1, found: ' ' });
        assert_eq!(parse_err("001 198 000001"), IdNumberError::NotDigit { position: 4, found: ' ' });
        // Full-width and other non-ASCII digits are not accepted as digits.
        assert_eq!(parse_err("00119800000１"), IdNumberError::NotDigit { position: 12, found: '１' });
        assert_eq!(parse_err("-01198000001").to_string(), "character 1 is '-', expected a digit 0-9");
    }

    #[test]
    fn refuses_codes_out_of_the_province_list() {
        // identity.md: codes are unevenly spaced, check the list, not a range.
        for code in ["003", "099", "000", "097"] {
            let err = parse_err(&format!("{code}198000001"));
            assert_eq!(err, IdNumberError::UnknownProvince { code: code.to_string() });
        }
        assert_eq!(
            parse_err("003198000001").to_string(),
            "digits 1-3 (province of birth registration) are 003, expected one of the 63 province codes"
        );
    }

    #[test]
    fn refuses_sex_century_digits_6_to_9() {
        for g in 6..=9u8 {
            assert_eq!(parse_err(&format!("001{g}98000001")), IdNumberError::SexCentury { found: g });
        }
        assert_eq!(parse_err("001798000001").to_string(), "digit 4 (sex and century) is 7, expected 0-5");
    }

    #[test]
    fn disagreeing_sex_is_malformed() {
        // identity.md: a number whose G/YY disagree with the recorded sex and
        // birth year is malformed.
        let id = IdNumber::parse(EXAMPLE).unwrap();
        let err = id.agrees_with(1998, Sex::Male).unwrap_err();
        assert_eq!(err, IdNumberError::SexCenturyDisagrees { found: 1, expected: 0 });
        assert_eq!(
            err.to_string(),
            "digit 4 (sex and century) is 1 (female, born 1900-1999), expected 0 (male, born 1900-1999)"
        );
    }

    #[test]
    fn disagreeing_century_is_malformed() {
        let id = IdNumber::parse(EXAMPLE).unwrap();
        let err = id.agrees_with(2098, Sex::Female).unwrap_err();
        assert_eq!(err, IdNumberError::SexCenturyDisagrees { found: 1, expected: 3 });
        // Without the sex, the century still has to agree.
        assert_eq!(id.agrees_with_year(2098), Err(IdNumberError::SexCenturyDisagrees { found: 1, expected: 3 }));
    }

    #[test]
    fn disagreeing_year_is_malformed() {
        let id = IdNumber::parse(EXAMPLE).unwrap();
        let err = id.agrees_with(1989, Sex::Female).unwrap_err();
        assert_eq!(err, IdNumberError::YearDisagrees { found: 98, expected: 89, year: 1989 });
        assert_eq!(err.to_string(), "digits 5-6 (birth year) are 98, expected 89 for birth year 1989");
        assert_eq!(id.agrees_with_year(1989), Err(err));
        assert_eq!(id.agrees_with_year(1998), Ok(()));
    }

    #[test]
    fn years_the_number_cannot_encode_are_refused() {
        let id = IdNumber::parse("001098000001").unwrap();
        assert_eq!(id.agrees_with(1898, Sex::Male), Err(IdNumberError::YearOutOfRange { year: 1898 }));
        assert_eq!(id.agrees_with_year(2298), Err(IdNumberError::YearOutOfRange { year: 2298 }));
    }

    #[test]
    fn messages_and_debug_never_carry_the_whole_number() {
        let id = IdNumber::parse(EXAMPLE).unwrap();
        assert_eq!(format!("{id:?}"), "IdNumber(\"*********001\")");
        let errors = [
            id.agrees_with(1998, Sex::Male).unwrap_err(),
            id.agrees_with(1989, Sex::Female).unwrap_err(),
            parse_err("003198000001"),
            parse_err("001798000001"),
            parse_err("00119800000X"),
            parse_err("0011980000011"),
        ];
        for err in errors {
            let text = format!("{err} {err:?}");
            assert!(!text.contains("198000001"), "{text}");
        }
    }
}
