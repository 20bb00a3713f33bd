//! What the payment files can carry of a payee: the one place for the limits
//! of the pain.001.001.09, the bank CSV and the VNPost cash list (`payments.md`).
//!
//! Checked where data comes in (the import, through [`super::records`], and
//! the registry service's answers), where a run's lines leave (`run issue`,
//! before it commits) and by the writers themselves (`payment::pain001`,
//! `payment::lists`), so that a line that passed the first two can always be
//! written: one bad row must not strand a month's payments after they are
//! committed.
//!
//! Per payment line: [`transfer`] (a bank or e-wallet transfer: agent, account,
//! holder) and [`cash`] (a line of the VNPost list: name, commune), each
//! answering with the first field that breaks a limit, as a [`Breach`]. Per
//! field: [`agent`], [`account`], [`holder`], [`cash_name`], [`commune`]. The
//! rules under them, for the writers' other fields: [`text`] (an ISO 20022
//! `MaxNText`), [`cell`] (a CSV cell), [`bin`], [`forbidden_char`] and
//! [`formula_start`].
//!
//! Where each field goes, and so what it must fit:
//!
//! | field | bank | e-wallet | cash |
//! |---|---|---|---|
//! | agent (`bank_bin`) | pain.001 `ClrSysMmbId/MmbId` (6-digit BIN), bank CSV cell | pain.001 `Othr/Id` (`Max35Text`) | – |
//! | account (`account_number`) | pain.001 `Max34Text`, bank CSV cell | pain.001 `Max34Text` | – |
//! | holder (`account_name`) | pain.001 `Max140Text`, bank CSV cell folded to upper-case ASCII | pain.001 `Max140Text` | – |
//! | name (`full_name`), commune | – | – | VNPost CSV cells |
//!
//! E-wallet transfers are written only in the e-wallet pain.001, never in a
//! CSV, so an e-wallet number may start with `+` (a phone number, +84...)
//! while a bank account number may not. The bank-CSV rules apply to every bank
//! transfer, whether or not the province's treasury asks for the bank CSV
//! today: that is one line of configuration away, and a line let in must be
//! payable whatever it says.

use unicode_normalization::UnicodeNormalization;

ansinh_sandbox::vocabulary!(
    /// How a beneficiary is paid: the enrolment's `channel`.
    Channel { Bank = "bank", Ewallet = "ewallet", None = "none" }
);

/// `Max34Text`: an account's `Othr/Id` (one shorter than `Max35Text`).
pub const MAX34: usize = 34;
/// `Max35Text`: a wallet provider's code (`CdtrAgt/FinInstnId/Othr/Id`), identifiers.
pub const MAX35: usize = 35;
/// `Max140Text`: names (`Cdtr/Nm`), the remittance text.
pub const MAX140: usize = 140;

/// The first characters of a cell that a spreadsheet runs as a formula (OWASP,
/// "CSV injection"). Tab and CR, also on that list, are control characters.
pub const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

/// Why a value cannot be carried by a payment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfit {
    /// Empty or only white space.
    Blank,
    /// Longer than the schema's `MaxNText`, counted in characters (code points) as XSD does.
    TooLong { len: usize, max: usize },
    /// A control character (C0, DEL, C1) or U+FFFE/U+FFFF: XML 1.0 cannot carry most of them,
    /// and in a one-line field or a CSV cell they are data errors (a tab, a line break).
    /// `position` counts characters from 0.
    Control { code: u32, position: usize },
    /// Starts, after white space, with one of [`FORMULA_STARTS`]: a spreadsheet would run it.
    Formula { first: char },
    /// Does not fold to upper-case ASCII (`identity::names::fold`), as the bank CSV
    /// writes holders; `found` is the first character that does not.
    NotAscii { found: char },
    /// Not a 6-digit NAPAS BIN.
    NotBin,
    /// Channel `none` is paid in cash: it has no transfer.
    NotTransfer,
}

impl Unfit {
    /// What was expected instead, for a message that names the field before it.
    pub fn expected(&self) -> String {
        match *self {
            Unfit::Blank => "a value, not an empty or blank cell: a payment file cannot carry an empty one".to_owned(),
            Unfit::TooLong { len, max } => format!(
                "at most {max} characters, the most the pain.001 payment file can carry here (Max{max}Text); \
                 this one has {len}"
            ),
            Unfit::Control { code, position } => format!(
                "text without control characters; found {} at character {}, which no payment file can carry",
                describe_control(code),
                position + 1
            ),
            Unfit::Formula { first } => format!(
                "text that does not start with {first}: a spreadsheet opening the bank CSV or the VNPost list \
                 would run it as a formula"
            ),
            Unfit::NotAscii { found } => format!(
                "a name in Vietnamese or Latin letters, as the bank CSV writes it in upper-case ASCII \
                 (NGUYEN VAN AN); {found:?} (U+{:04X}) has no such spelling",
                u32::from(found)
            ),
            Unfit::NotBin => "the bank's 6-digit BIN, e.g. 970436".to_owned(),
            Unfit::NotTransfer => "bank or ewallet: only they are paid by transfer".to_owned(),
        }
    }
}

/// A control character by its code point, with its common name where it has one.
fn describe_control(code: u32) -> String {
    let name = match code {
        0x00 => " (NUL)",
        0x09 => " (a tab)",
        0x0A => " (a line break)",
        0x0D => " (a carriage return)",
        0x1B => " (ESC)",
        0x7F => " (DEL)",
        _ => "",
    };
    format!("U+{code:04X}{name}")
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {}", self.expected())
    }
}

/// A field of a payment line, named as `formats.md` names its column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Channel,
    /// `bank_bin`: the BIN of a bank, or a wallet provider's code.
    Agent,
    /// `account_number`.
    Account,
    /// `account_name`.
    Holder,
    /// `full_name` (the registry's, on the VNPost list).
    Name,
    /// `residence_commune`.
    Commune,
}

impl Field {
    /// The column of `formats.md` the field comes from.
    pub fn column(self) -> &'static str {
        match self {
            Field::Channel => "channel",
            Field::Agent => "bank_bin",
            Field::Account => "account_number",
            Field::Holder => "account_name",
            Field::Name => "full_name",
            Field::Commune => "residence_commune",
        }
    }
}

/// The first field of a payment line that a payment file cannot carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{}`: {problem}", field.column())]
pub struct Breach {
    pub field: Field,
    pub problem: Unfit,
}

fn at(field: Field) -> impl Fn(Unfit) -> Breach {
    move |problem| Breach { field, problem }
}

/// A transfer by `channel` (bank or e-wallet) to `agent` (the bank's BIN, or
/// the wallet provider's code), account `account` held by `holder`: `Ok` when
/// every file it goes in (the pain.001 of its channel and, for a bank, the bank
/// CSV) can carry it.
pub fn transfer(channel: Channel, agent: &str, account: &str, holder: &str) -> Result<(), Breach> {
    if channel == Channel::None {
        return Err(Breach { field: Field::Channel, problem: Unfit::NotTransfer });
    }
    self::agent(channel, agent).map_err(at(Field::Agent))?;
    self::account(channel, account).map_err(at(Field::Account))?;
    self::holder(channel, holder).map_err(at(Field::Holder))
}

/// A line of the VNPost cash list: the registry's name and commune.
pub fn cash(name: &str, commune: &str) -> Result<(), Breach> {
    cash_name(name).map_err(at(Field::Name))?;
    self::commune(commune).map_err(at(Field::Commune))
}

/// The bank's BIN (bank), or the wallet provider's code (e-wallet, `Max35Text`).
/// Channel `none` carries nothing: `Ok`.
pub fn agent(channel: Channel, agent: &str) -> Result<(), Unfit> {
    match channel {
        Channel::Bank => bin(agent).and_then(|()| cell(agent)),
        Channel::Ewallet => text(agent, MAX35),
        Channel::None => Ok(()),
    }
}

/// The account number: `Max34Text`, and a bank CSV cell for a bank.
pub fn account(channel: Channel, account: &str) -> Result<(), Unfit> {
    match channel {
        Channel::Bank => text(account, MAX34).and_then(|()| cell(account)),
        // Only in the e-wallet pain.001 (see the module documentation): `+84...` is fine.
        Channel::Ewallet => text(account, MAX34),
        Channel::None => Ok(()),
    }
}

/// The account holder: `Max140Text`; for a bank, also the bank CSV's holder,
/// folded to upper-case ASCII.
pub fn holder(channel: Channel, holder: &str) -> Result<(), Unfit> {
    match channel {
        Channel::Bank => text(holder, MAX140).and_then(|()| bank_csv_holder(holder)),
        Channel::Ewallet => text(holder, MAX140),
        Channel::None => Ok(()),
    }
}

/// The name on the VNPost list: a cell, not blank (it is who the clerk pays).
pub fn cash_name(name: &str) -> Result<(), Unfit> {
    if name.trim().is_empty() {
        return Err(Unfit::Blank);
    }
    cell(name)
}

/// The commune on the VNPost list: a cell; may be empty.
pub fn commune(commune: &str) -> Result<(), Unfit> {
    cell(commune)
}

/// An ISO 20022 `MaxNText` as the pain.001 writer takes it: 1 to `max`
/// characters (code points, as XSD counts: pass NFC, NFD is longer), not blank,
/// no [`forbidden_char`]. The schema admits blank text, but a blank name or
/// reference identifies no one and only fails later, at the bank.
pub fn text(value: &str, max: usize) -> Result<(), Unfit> {
    if value.trim().is_empty() {
        return Err(Unfit::Blank);
    }
    control(value)?;
    // Counting stops past the limit: a long value costs no more than a short one.
    let len = value.chars().take(max + 1).count();
    if len > max {
        return Err(Unfit::TooLong { len: value.chars().count(), max });
    }
    Ok(())
}

/// A text cell of the bank CSV or the VNPost list: one line, no control
/// character, and nothing a spreadsheet would run ([`formula_start`]). May be empty.
pub fn cell(value: &str) -> Result<(), Unfit> {
    control(value)?;
    match formula_start(value) {
        Some(first) => Err(Unfit::Formula { first }),
        None => Ok(()),
    }
}

/// A NAPAS BIN: six digits (970436 Vietcombank, ...). `MmbId` itself would
/// take any `Max35Text`, so a typo would otherwise only show at the bank.
pub fn bin(value: &str) -> Result<(), Unfit> {
    if value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit()) { Ok(()) } else { Err(Unfit::NotBin) }
}

/// The first character no payment file carries ([`forbidden`]), with its
/// position in characters.
pub fn forbidden_char(value: &str) -> Option<(usize, char)> {
    // Every cell of every row passes here: first a look at the bytes that can
    // begin such a character in UTF-8 (C0 and DEL themselves, 0xC2 for C1,
    // 0xEF for U+FFFE/U+FFFF), which ordinary text seldom has.
    if !value.bytes().any(|b| b < 0x20 || b == 0x7F || b == 0xC2 || b == 0xEF) {
        return None;
    }
    value.chars().enumerate().find(|&(_, c)| forbidden(c))
}

/// A character no payment file carries: a control character (C0, DEL, C1:
/// `char::is_control`), or U+FFFE/U+FFFF, which are not XML characters.
pub fn forbidden(c: char) -> bool {
    c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}'
}

fn control(value: &str) -> Result<(), Unfit> {
    match forbidden_char(value) {
        Some((position, c)) => Err(Unfit::Control { code: u32::from(c), position }),
        None => Ok(()),
    }
}

/// The formula character a cell starts with, if any: the first character that
/// is not white space, nor one of the marks `names::fold` drops, once
/// decomposed. Spreadsheets differ in whether leading spaces hide a formula, so
/// they do not here; and a holder is written folded, so what folding removes
/// cannot hide one either (≠ folds to =).
pub fn formula_start(value: &str) -> Option<char> {
    let first = match value.as_bytes().first() {
        // An ASCII character is its own decomposition, and the first of it.
        Some(&b) if b.is_ascii() && !char::from(b).is_whitespace() => char::from(b),
        _ => value.nfd().find(|&c| !c.is_whitespace() && !is_fold_mark(c))?,
    };
    FORMULA_STARTS.contains(&first).then_some(first)
}

/// Whether `names::fold(name)` is ASCII, without folding (the model is below
/// `identity`): the fold decomposes (NFD), drops the marks U+0300-U+036F, makes
/// đ/Đ a D, upper-cases and collapses white space, character by character; so
/// its result is ASCII exactly when each character of the name, so treated,
/// upper-cases to ASCII (as every ASCII character does). `payment::lists`
/// checks this against the fold itself for every character there is.
pub fn folds_to_ascii(name: &str) -> Result<(), Unfit> {
    for c in name.chars().filter(|c| !c.is_ascii()) {
        let folds = c
            .nfd()
            .filter(|&d| !is_fold_mark(d) && !d.is_whitespace())
            .all(|d| matches!(d, 'đ' | 'Đ') || d.to_uppercase().all(|u| u.is_ascii()));
        if !folds {
            return Err(Unfit::NotAscii { found: c });
        }
    }
    Ok(())
}

/// The bank CSV's holder: the name as a cell, folding to upper-case ASCII that
/// is not blank (a name of marks alone folds to nothing).
pub fn bank_csv_holder(name: &str) -> Result<(), Unfit> {
    cell(name)?;
    folds_to_ascii(name)?;
    if !name.chars().any(|c| !c.is_whitespace() && !is_fold_mark(c)) {
        return Err(Unfit::Blank);
    }
    Ok(())
}

/// The combining marks `names::fold` drops.
fn is_fold_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_fits_the_files_of_its_channel() {
        assert_eq!(transfer(Channel::Bank, "970436", "0011001234567", "Nguyễn Văn An"), Ok(()));
        let breach = |field, problem| Err(Breach { field, problem });
        let forty = "1".repeat(40);
        assert_eq!(
            transfer(Channel::Bank, "970436", &forty, "NGUYEN VAN AN"),
            breach(Field::Account, Unfit::TooLong { len: 40, max: 34 })
        );
        assert_eq!(
            transfer(Channel::Ewallet, "VIETTELMONEY", "0987\t654321", "Nguyễn Văn An"),
            breach(Field::Account, Unfit::Control { code: 9, position: 4 })
        );
        // A phone number is an e-wallet's account, never written in a CSV; a bank account is.
        assert_eq!(transfer(Channel::Ewallet, "VIETTELMONEY", "+84987654321", "Ðặng Văn An"), Ok(()));
        assert_eq!(
            transfer(Channel::Bank, "970436", "+84987654321", "NGUYEN VAN AN"),
            breach(Field::Account, Unfit::Formula { first: '+' })
        );
        assert_eq!(
            transfer(Channel::Bank, "970436", "0011", "Ðặng Văn An"),
            breach(Field::Holder, Unfit::NotAscii { found: 'Ð' })
        );
        assert_eq!(transfer(Channel::Bank, "VCB", "0011", "A"), breach(Field::Agent, Unfit::NotBin));
        assert_eq!(
            transfer(Channel::Ewallet, &"V".repeat(36), "0987", "A"),
            breach(Field::Agent, Unfit::TooLong { len: 36, max: 35 })
        );
        assert_eq!(transfer(Channel::Bank, "970436", "0011", " "), breach(Field::Holder, Unfit::Blank));
        assert_eq!(transfer(Channel::None, "", "", ""), breach(Field::Channel, Unfit::NotTransfer));
        let err = transfer(Channel::Bank, "970436", &forty, "A").unwrap_err().to_string();
        assert_eq!(
            err,
            "field `account_number`: expected at most 34 characters, the most the pain.001 payment file can carry \
             here (Max34Text); this one has 40"
        );
    }

    #[test]
    fn names_count_characters_not_bytes() {
        let name = "Nguyễn ".repeat(20);
        assert_eq!(name.trim_end().chars().count(), 139);
        assert_eq!(text(name.trim_end(), MAX140), Ok(()));
        assert_eq!(text(&"Đ".repeat(141), MAX140), Err(Unfit::TooLong { len: 141, max: 140 }));
    }

    #[test]
    fn a_cash_line_has_a_name_and_no_formula() {
        assert_eq!(cash("Trần Thị Lan", ""), Ok(()));
        assert_eq!(cash("", "Phường Ba Đình"), Err(Breach { field: Field::Name, problem: Unfit::Blank }));
        assert_eq!(
            cash("Trần Thị Lan", "-2+3"),
            Err(Breach { field: Field::Commune, problem: Unfit::Formula { first: '-' } })
        );
        assert_eq!(
            cash("Trần\u{7f}", ""),
            Err(Breach { field: Field::Name, problem: Unfit::Control { code: 0x7f, position: 4 } })
        );
    }

    #[test]
    fn formulas_are_seen_behind_spaces_marks_and_decomposition() {
        for formula in ["=1+1", "+84", "-1", "@SUM(A1)", "  =1", "\t=1", "\u{b}=1", "\u{301}=1", "≠1"] {
            assert!(formula_start(formula).is_some(), "{formula:?}");
        }
        for text in ["Nguyễn", "1-2", "a=b", "", "  ", "'=1", "＝1"] {
            assert_eq!(formula_start(text), None, "{text:?}");
        }
    }

    #[test]
    fn control_and_non_xml_characters_are_found_anywhere() {
        assert_eq!(forbidden_char("abc"), None);
        assert_eq!(forbidden_char("ab\0c"), Some((2, '\0')));
        assert_eq!(forbidden_char("Xã\u{85}"), Some((2, '\u{85}')));
        assert_eq!(forbidden_char("x\u{FFFF}"), Some((1, '\u{FFFF}')));
        let expected = Unfit::Control { code: 0, position: 2 }.expected();
        assert_eq!(
            expected,
            "text without control characters; found U+0000 (NUL) at character 3, which no payment file can carry"
        );
    }

    #[test]
    fn holders_of_the_bank_csv_fold_to_ascii() {
        for name in ["Nguyễn Thị Đào", "NGUYEN VAN AN", "Lê Văn Tám", "O'Brien"] {
            assert_eq!(bank_csv_holder(name), Ok(()), "{name}");
        }
        assert_eq!(bank_csv_holder("王小明"), Err(Unfit::NotAscii { found: '王' }));
        assert_eq!(bank_csv_holder("\u{301}\u{300}"), Err(Unfit::Blank));
        assert_eq!(bank_csv_holder("=A"), Err(Unfit::Formula { first: '=' }));
    }
}
