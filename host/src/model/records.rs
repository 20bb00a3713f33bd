//! The two records of the public formats (`formats.md`): a population registry
//! record and a beneficiary enrolment, their columns, and the rule each field is
//! read by, whatever carries the record: a row of a CSV file (`import::parse`)
//! or the registry service's JSON answer (`registry::http`).
//!
//! Field rules follow `formats.md`; only the first problem of a record is
//! reported, and "first" means leftmost in the source, whatever the column order.
//! Besides its format, a record must fit the payment files its fields reach
//! ([`super::payee`]): the registry's name and commune go on the VNPost cash
//! list, the enrolment's account on the pain.001 and the bank CSV. And no
//! field, whatever it is, may hold a control character.

use std::str::FromStr;

use chrono::NaiveDate;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use ansinh_sandbox::{Disability, Household, Sex, Status};

pub use super::payee::Channel;
use super::payee::{self, Unfit};

/// One row of the population registry extract (`formats.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryRecord {
    pub id_number: String,
    /// NFC.
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub residence_province: String,
    pub residence_commune: String,
    pub death_date: Option<NaiveDate>,
}

/// One row of a beneficiary enrolment file (`formats.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    pub id_number: String,
    /// NFC.
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub program: String,
    pub province: String,
    pub household: Household,
    pub disability: Disability,
    pub has_pension: bool,
    pub difficult_commune: bool,
    pub statuses: Vec<Status>,
    pub dependent_children: u32,
    pub channel: Channel,
    pub bank_bin: String,
    pub account_number: String,
    pub account_name: String,
}

/// A record format: its name, its columns in `formats.md` order, and how a
/// record is read from its cells.
pub struct Format<T: 'static> {
    /// What the format is called in messages, e.g. "population registry extract".
    pub name: &'static str,
    pub columns: &'static [&'static str],
    parse: fn(&mut Cells<'_>) -> T,
}

/// The population registry extract.
pub const REGISTRY: Format<RegistryRecord> =
    Format { name: "population registry extract", columns: registry::COLUMNS, parse: registry::parse };

/// The beneficiary enrolment.
pub const ENROLMENT: Format<Enrolment> =
    Format { name: "beneficiary enrolment", columns: enrolment::COLUMNS, parse: enrolment::parse };

/// Enough for the widest format; checked below at compile time.
pub const MAX_COLUMNS: usize = 16;
const _: () = assert!(registry::COLUMNS.len() <= MAX_COLUMNS && enrolment::COLUMNS.len() <= MAX_COLUMNS);

/// The first field of a record that breaks its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field's index in [`Format::columns`].
    pub column: usize,
    /// What was expected there.
    pub expected: String,
}

impl<T> Format<T> {
    /// Read one record from its trimmed cells, `values[i]` for column `i` of
    /// [`Format::columns`]; `positions[i]` is that column's position in the
    /// source, so that the problem reported is the leftmost there.
    pub fn read(&self, values: [&str; MAX_COLUMNS], positions: &[usize]) -> Result<T, Problem> {
        let mut cells = Cells { values, positions, problem: None };
        // Before any field's own rule, so that for its column this is what is reported.
        for (col, value) in values.iter().enumerate().take(self.columns.len()) {
            if let Some((position, c)) = payee::forbidden_char(value) {
                cells.fail(col, control_expected(c, position));
            }
        }
        let record = (self.parse)(&mut cells);
        cells.problem.map_or(Ok(record), Err)
    }

    /// Read one record from its fields in [`Format::columns`] order, for a
    /// source other than a file (the HTTP registry answers in the same
    /// format). On a problem: the field and what was expected there.
    pub fn read_fields(&self, fields: &[&str]) -> Result<T, (&'static str, String)> {
        assert_eq!(fields.len(), self.columns.len(), "one value per column of the {}", self.name);
        let in_order: [usize; MAX_COLUMNS] = std::array::from_fn(|i| i);
        let mut values = [""; MAX_COLUMNS];
        values[..fields.len()].copy_from_slice(fields);
        self.read(values, &in_order).map_err(|Problem { column, expected }| (self.columns[column], expected))
    }
}

/// The trimmed cells of one record, in the format's column order, with the
/// leftmost problem found so far. Getters return a placeholder on a problem so
/// that parsing goes on: a later getter may find a problem further left.
pub struct Cells<'a> {
    values: [&'a str; MAX_COLUMNS],
    /// For each column of the format, its position in the source.
    positions: &'a [usize],
    problem: Option<Problem>,
}

impl<'a> Cells<'a> {
    fn text(&self, col: usize) -> &'a str {
        self.values[col]
    }

    /// Records a problem unless one further left in the file is already known.
    fn fail(&mut self, col: usize, expected: String) {
        let pos = self.positions[col];
        if self.problem.as_ref().is_none_or(|p| pos < self.positions[p.column]) {
            self.problem = Some(Problem { column: col, expected });
        }
    }

    fn id_number(&mut self, col: usize) -> String {
        let s = self.text(col);
        if s.len() != 12 || !all_digits(s) {
            self.fail(col, id_number_expected(s));
        }
        s.to_owned()
    }

    /// Records the problem of a payment-file limit ([`payee`]) on `col`, if any.
    fn limit(&mut self, col: usize, fits: Result<(), Unfit>) {
        if let Err(unfit) = fits {
            self.fail(col, unfit.expected());
        }
    }

    /// A person's name, in NFC. Either record's may reach the VNPost cash list
    /// (the enrolment's when the registry has none): a cell of it.
    fn full_name(&mut self, col: usize) -> String {
        let s = self.text(col);
        if s.is_empty() {
            self.fail(col, "the full name, which must not be empty".to_owned());
        }
        let name = to_nfc(s);
        self.limit(col, payee::cash_name(&name));
        name
    }

    /// The commune of residence, in NFC; may be empty. A cell of the VNPost list.
    fn commune(&mut self, col: usize) -> String {
        let commune = to_nfc(self.text(col));
        self.limit(col, payee::commune(&commune));
        commune
    }

    fn date(&mut self, col: usize) -> NaiveDate {
        let s = self.text(col);
        parse_date(s).unwrap_or_else(|| {
            self.fail(col, date_expected(s, false));
            NaiveDate::MIN
        })
    }

    fn optional_date(&mut self, col: usize) -> Option<NaiveDate> {
        let s = self.text(col);
        if s.is_empty() {
            return None;
        }
        let date = parse_date(s);
        if date.is_none() {
            self.fail(col, date_expected(s, true));
        }
        date
    }

    fn province(&mut self, col: usize) -> String {
        let s = self.text(col);
        if s.len() != 3 || !all_digits(s) {
            let mut expected = "a 3-digit province code, e.g. 001".to_owned();
            if (1..3).contains(&s.len()) && all_digits(s) {
                expected.push_str(" (a spreadsheet may have dropped the leading zeros: format the column as text)");
            }
            self.fail(col, expected);
        }
        s.to_owned()
    }

    /// A value of one of the model's vocabularies.
    fn choice<V: FromStr>(&mut self, col: usize, expected: fn() -> String) -> Option<V> {
        let value = self.text(col).parse().ok();
        if value.is_none() {
            self.fail(col, expected());
        }
        value
    }

    fn boolean(&mut self, col: usize) -> bool {
        match self.text(col) {
            "true" => true,
            "false" => false,
            _ => {
                self.fail(col, "true or false, in lower case".to_owned());
                false
            }
        }
    }

    fn count(&mut self, col: usize) -> u32 {
        let s = self.text(col);
        // u32's parser would also take "+3"; the format wants plain digits.
        match s.parse() {
            Ok(n) if all_digits(s) => n,
            _ => {
                self.fail(col, "a whole number, 0 or more (0 when there are none)".to_owned());
                0
            }
        }
    }

    fn statuses(&mut self, col: usize) -> Vec<Status> {
        let s = self.text(col);
        let mut statuses = Vec::new();
        if s.is_empty() {
            return statuses;
        }
        for part in s.split(';').map(str::trim) {
            match part.parse() {
                Ok(status) if !statuses.contains(&status) => statuses.push(status),
                Ok(_) => self.fail(col, format!("each status at most once; {part} is repeated")),
                Err(_) => self.fail(col, statuses_expected()),
            }
        }
        statuses
    }

    fn program(&mut self, col: usize) -> String {
        let s = self.text(col);
        if !PROGRAMS.contains(&s) {
            self.fail(col, format!("one of {}", PROGRAMS.join(", ")));
        }
        s.to_owned()
    }

    /// The bank BIN (or wallet provider), the account number and its holder,
    /// checked for the channel: the format's rules, then what the payment
    /// files of the channel can carry ([`payee`]). When the channel itself is
    /// bad its problem is reported instead.
    fn payee(
        &mut self,
        channel: Option<Channel>,
        bin_col: usize,
        account_col: usize,
        holder_col: usize,
    ) -> (String, String, String) {
        let (bin, account, holder) = (self.text(bin_col), self.text(account_col), self.text(holder_col));
        match channel {
            Some(Channel::Bank) => {
                if bin.len() != 6 || !all_digits(bin) {
                    self.fail(bin_col, "the bank's 6-digit BIN, e.g. 970436, as the channel is bank".to_owned());
                }
                if account.is_empty() || !all_digits(account) {
                    self.fail(account_col, "the account number, digits only, as the channel is bank".to_owned());
                }
            }
            Some(Channel::Ewallet) => {
                if bin.is_empty() || !bin.bytes().all(|b| b.is_ascii_uppercase()) {
                    self.fail(
                        bin_col,
                        "the wallet provider's code in capital letters, e.g. VIETTELMONEY, as the channel is ewallet"
                            .to_owned(),
                    );
                }
                if account.is_empty() {
                    self.fail(account_col, "the wallet number, as the channel is ewallet".to_owned());
                }
            }
            Some(Channel::None) | None => {}
        }
        if let Some(channel) = channel {
            self.limit(bin_col, payee::agent(channel, bin));
            self.limit(account_col, payee::account(channel, account));
            self.limit(holder_col, payee::holder(channel, holder));
        }
        // The holder is stored as the bank has it: name matching normalises on its own.
        (bin.to_owned(), account.to_owned(), holder.to_owned())
    }
}

const PROGRAMS: &[&str] = &["social-assistance", "social-pension"];

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn to_nfc(s: &str) -> String {
    // The quick check answers for ASCII and precomposed text without allocating.
    if is_nfc_quick(s.chars()) == IsNormalized::Yes { s.to_owned() } else { s.nfc().collect() }
}

/// `YYYY-MM-DD`, a day that exists.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number =
        |digits: &[u8]| digits.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')));
    let year = i32::try_from(number(&b[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&b[5..7])?, number(&b[8..10])?)
}

fn date_expected(s: &str, optional: bool) -> String {
    let mut expected = "a date as YYYY-MM-DD, e.g. 1940-05-12".to_owned();
    if s.contains('/') || s.contains('.') {
        expected.push_str(", not day/month/year");
    } else if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        expected = "a real calendar date as YYYY-MM-DD; this day does not exist".to_owned();
    }
    if optional {
        expected.push_str(", or an empty cell while the person is alive");
    }
    expected
}

fn id_number_expected(s: &str) -> String {
    let plain = "a 12-digit personal identification number (the number on the CCCD card), e.g. 001198000001";
    let hint = if all_digits(s) && s.len() == 9 {
        "; this looks like an old 9-digit CMND number, which is not accepted: ask for the 12-digit number"
    } else if all_digits(s) && (10..12).contains(&s.len()) {
        "; a spreadsheet may have dropped the leading zeros: format the column as text and enter the numbers again"
    } else if s.contains(['E', 'e']) && s.contains('+') {
        "; a spreadsheet turned it into scientific notation: format the column as text and enter the numbers again"
    } else {
        ""
    };
    format!("{plain}{hint}")
}

/// What a cell with a control character was expected to be. TCVN3 puts some
/// capital letters on C0 control codes, which are valid UTF-8: say so.
fn control_expected(c: char, position: usize) -> String {
    let mut expected = Unfit::Control { code: u32::from(c), position }.expected();
    if c < ' ' && !matches!(c, '\0' | '\t' | '\n' | '\r') {
        expected.push_str(
            "; if the file comes from an old program it may be in TCVN3: convert it to UTF-8 (e.g. with \
             UniKey's converter) and import again",
        );
    }
    expected
}

fn statuses_expected() -> String {
    let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    format!("statuses separated by ';', each one of {}, or an empty cell", names.join(", "))
}

/// The population registry extract.
mod registry {
    use super::*;

    pub const COLUMNS: &[&str] =
        &["id_number", "full_name", "birth_date", "sex", "residence_province", "residence_commune", "death_date"];
    const ID_NUMBER: usize = 0;
    const FULL_NAME: usize = 1;
    const BIRTH_DATE: usize = 2;
    const SEX: usize = 3;
    const RESIDENCE_PROVINCE: usize = 4;
    const RESIDENCE_COMMUNE: usize = 5;
    const DEATH_DATE: usize = 6;

    pub(super) fn parse(c: &mut Cells<'_>) -> RegistryRecord {
        RegistryRecord {
            id_number: c.id_number(ID_NUMBER),
            full_name: c.full_name(FULL_NAME),
            birth_date: c.date(BIRTH_DATE),
            sex: c.choice(SEX, Sex::expected).unwrap_or(Sex::Male),
            residence_province: c.province(RESIDENCE_PROVINCE),
            residence_commune: c.commune(RESIDENCE_COMMUNE),
            death_date: c.optional_date(DEATH_DATE),
        }
    }
}

/// The beneficiary enrolment.
mod enrolment {
    use super::*;

    pub const COLUMNS: &[&str] = &[
        "id_number",
        "full_name",
        "birth_date",
        "program",
        "province",
        "household",
        "disability",
        "has_pension",
        "difficult_commune",
        "statuses",
        "dependent_children",
        "channel",
        "bank_bin",
        "account_number",
        "account_name",
    ];
    const ID_NUMBER: usize = 0;
    const FULL_NAME: usize = 1;
    const BIRTH_DATE: usize = 2;
    const PROGRAM: usize = 3;
    const PROVINCE: usize = 4;
    const HOUSEHOLD: usize = 5;
    const DISABILITY: usize = 6;
    const HAS_PENSION: usize = 7;
    const DIFFICULT_COMMUNE: usize = 8;
    const STATUSES: usize = 9;
    const DEPENDENT_CHILDREN: usize = 10;
    const CHANNEL: usize = 11;
    const BANK_BIN: usize = 12;
    const ACCOUNT_NUMBER: usize = 13;
    const ACCOUNT_NAME: usize = 14;

    pub(super) fn parse(c: &mut Cells<'_>) -> Enrolment {
        let channel = c.choice(CHANNEL, Channel::expected);
        let (bank_bin, account_number, account_name) = c.payee(channel, BANK_BIN, ACCOUNT_NUMBER, ACCOUNT_NAME);
        Enrolment {
            id_number: c.id_number(ID_NUMBER),
            full_name: c.full_name(FULL_NAME),
            birth_date: c.date(BIRTH_DATE),
            program: c.program(PROGRAM),
            province: c.province(PROVINCE),
            household: c.choice(HOUSEHOLD, Household::expected).unwrap_or(Household::None),
            disability: c.choice(DISABILITY, Disability::expected).unwrap_or(Disability::None),
            has_pension: c.boolean(HAS_PENSION),
            difficult_commune: c.boolean(DIFFICULT_COMMUNE),
            statuses: c.statuses(STATUSES),
            dependent_children: c.count(DEPENDENT_CHILDREN),
            channel: channel.unwrap_or(Channel::None),
            bank_bin,
            account_number,
            account_name,
        }
    }
}
