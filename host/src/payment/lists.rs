//! The two CSV files a run may issue beside its pain.001 files, written row
//! by row like the pain.001 (a run can be a million lines):
//!
//! - the **bank CSV** of `payments.md` (`STT`, `Số tài khoản`, `Tên người thụ
//!   hưởng`, `Ngân hàng thụ hưởng`, `Số tiền`, `Nội dung`), for a treasury
//!   whose bank takes a spreadsheet: the bank transfers of the pain.001, with
//!   the account holder folded to upper-case ASCII as banks print it;
//! - the **VNPost cash list**: eligible people with no account, whom VNPost
//!   pays in cash at the counter after checking their ID card. Least data: the
//!   name as on the card, the commune, the month, the amount, a reference to
//!   report back with, and the ID number masked as logs show it
//!   (`identity::masked`: its last three digits), enough for the clerk to
//!   tell two namesakes apart with the card in hand, without the list being a
//!   register of ID numbers.
//!
//! Both are UTF-8 without a byte-order mark, comma-separated, quoted only where
//! needed, one header row. A cell that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-` or `@`) or that holds a control character is
//! refused rather than written: the names come from enrolment files and
//! registry extracts made elsewhere. The rules are the payee limits of
//! `model::payee`, which the import and `run issue` check before a line gets
//! here. Output is deterministic: the same rows give the same bytes.

use std::io::Write;

use anyhow::{Context, anyhow, bail};

use crate::identity::{masked, names};
use crate::model::payee::{self, Channel};
use crate::model::{Month, Total};

/// One bank transfer as a row of the bank CSV.
pub struct BankRow<'a> {
    pub account_number: &'a str,
    /// The holder's name as stored; folded here.
    pub account_name: &'a str,
    pub bin: &'a str,
    pub amount: u64,
    /// The same remittance text as the pain.001, with its EndToEndId.
    pub remittance: &'a str,
}

/// Writes the bank CSV.
pub struct BankCsv<W: Write> {
    csv: csv::Writer<W>,
    totals: Total,
}

impl<W: Write> BankCsv<W> {
    pub fn new(out: W) -> anyhow::Result<Self> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(["STT", "Số tài khoản", "Tên người thụ hưởng", "Ngân hàng thụ hưởng", "Số tiền", "Nội dung"])?;
        Ok(BankCsv { csv, totals: Total::default() })
    }

    pub fn push(&mut self, row: &BankRow) -> anyhow::Result<()> {
        let n = self.totals.count + 1;
        // The bank transfer of the pain.001, with its holder folded as this file writes it.
        if let Err(breach) = payee::transfer(Channel::Bank, row.bin, row.account_number, row.account_name) {
            bail!("bank CSV row {n} ({}): {breach}", row.remittance);
        }
        let holder = names::fold(row.account_name);
        let cells = [n.to_string(), cell(n, row.account_number)?, cell(n, &holder)?, cell(n, row.bin)?];
        let tail = [row.amount.to_string(), cell(n, row.remittance)?];
        self.csv.write_record(cells.iter().chain(&tail))?;
        self.totals = Total { count: n, amount: self.totals.amount + row.amount as i64 };
        Ok(())
    }

    /// Flush and return the output with what was written: rows and their sum.
    pub fn finish(self) -> anyhow::Result<(W, Total)> {
        let out = self.csv.into_inner().map_err(|e| e.into_error()).context("writing the bank CSV")?;
        Ok((out, self.totals))
    }
}

/// One person of the VNPost cash list.
pub struct CashRow<'a> {
    /// The reference VNPost reports the payment back with.
    pub reference: &'a str,
    /// The name as the registry (and so the ID card) has it.
    pub full_name: &'a str,
    /// The full ID number: only its last three digits are written.
    pub id_number: &'a str,
    /// Commune of residence; may be empty.
    pub commune: &'a str,
    pub period: Month,
    pub amount: u64,
}

/// Writes the VNPost cash list.
pub struct CashList<W: Write> {
    csv: csv::Writer<W>,
    totals: Total,
}

impl<W: Write> CashList<W> {
    pub fn new(out: W) -> anyhow::Result<Self> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record([
            "STT",
            "Mã tham chiếu",
            "Họ và tên",
            "Số định danh (3 số cuối)",
            "Xã/phường",
            "Tháng",
            "Số tiền",
        ])?;
        Ok(CashList { csv, totals: Total::default() })
    }

    pub fn push(&mut self, row: &CashRow) -> anyhow::Result<()> {
        let n = self.totals.count + 1;
        if let Err(breach) = payee::cash(row.full_name, row.commune) {
            bail!("VNPost cash list row {n} ({}): {breach}", row.reference);
        }
        let month = format!("{:02}/{:04}", row.period.month(), row.period.year());
        self.csv.write_record([
            n.to_string(),
            cell(n, row.reference)?,
            cell(n, row.full_name)?,
            masked(row.id_number),
            cell(n, row.commune)?,
            month,
            row.amount.to_string(),
        ])?;
        self.totals = Total { count: n, amount: self.totals.amount + row.amount as i64 };
        Ok(())
    }

    /// Flush and return the output with what was written: rows and their sum.
    pub fn finish(self) -> anyhow::Result<(W, Total)> {
        let out = self.csv.into_inner().map_err(|e| e.into_error()).context("writing the VNPost cash list")?;
        Ok((out, self.totals))
    }
}

/// A text cell: one line, and nothing a spreadsheet would evaluate ([`payee::cell`]).
fn cell(row: i64, value: &str) -> anyhow::Result<String> {
    payee::cell(value).map_err(|unfit| anyhow!("row {row}: {value:?} is not written: {unfit}"))?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank_row<'a>(name: &'a str, remittance: &'a str) -> BankRow<'a> {
        BankRow { account_number: "0011001234567", account_name: name, bin: "970436", amount: 500_000, remittance }
    }

    #[test]
    fn bank_csv_has_the_columns_of_payments_md_and_folded_names() {
        let mut w = BankCsv::new(Vec::new()).unwrap();
        w.push(&bank_row("Nguyễn Thị Đào, Hà", "TRO CAP XA HOI THANG 09/2024 AS202409R1P1")).unwrap();
        w.push(&bank_row("Lê Văn Tám", "TRO CAP XA HOI THANG 09/2024 AS202409R1P2")).unwrap();
        let (bytes, totals) = w.finish().unwrap();
        assert_eq!(totals, Total { count: 2, amount: 1_000_000 });
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "STT,Số tài khoản,Tên người thụ hưởng,Ngân hàng thụ hưởng,Số tiền,Nội dung\n\
             1,0011001234567,\"NGUYEN THI DAO, HA\",970436,500000,TRO CAP XA HOI THANG 09/2024 AS202409R1P1\n\
             2,0011001234567,LE VAN TAM,970436,500000,TRO CAP XA HOI THANG 09/2024 AS202409R1P2\n"
        );
    }

    #[test]
    fn bank_csv_refuses_names_it_cannot_write() {
        let mut w = BankCsv::new(Vec::new()).unwrap();
        let err = w.push(&bank_row("=HYPERLINK(\"x\")", "R1")).unwrap_err().to_string();
        assert!(err.contains("row 1") && err.contains("formula"), "{err}");
        let err = w.push(&bank_row("Ðặng", "R1")).unwrap_err().to_string();
        assert!(err.contains("bank CSV row 1 (R1)") && err.contains("ASCII"), "{err}");
    }

    #[test]
    fn bank_csv_refuses_what_the_pain001_cannot_carry_either() {
        let mut w = BankCsv::new(Vec::new()).unwrap();
        let mut row = bank_row("NGUYEN VAN AN", "R1");
        let forty = "1".repeat(40);
        row.account_number = &forty;
        let err = w.push(&row).unwrap_err().to_string();
        assert!(err.starts_with("bank CSV row 1 (R1): field `account_number`: expected at most 34"), "{err}");
        let err = w.push(&bank_row("≠1+1", "R1")).unwrap_err().to_string();
        assert!(err.contains("field `account_name`") && err.contains("formula"), "{err}");
    }

    #[test]
    fn cash_list_refuses_formulas_and_control_characters() {
        let mut w = CashList::new(Vec::new()).unwrap();
        let row = |full_name, commune| CashRow {
            reference: "AS202409R1C7",
            full_name,
            id_number: "001140123456",
            commune,
            period: "2024-09".parse().unwrap(),
            amount: 750_000,
        };
        let err = w.push(&row("Trần Thị Lan", "=cmd|' /C calc'!A0")).unwrap_err().to_string();
        assert!(err.starts_with("VNPost cash list row 1 (AS202409R1C7): field `residence_commune`"), "{err}");
        let err = w.push(&row("Trần\tThị Lan", "")).unwrap_err().to_string();
        assert!(err.contains("field `full_name`") && err.contains("U+0009 (a tab)"), "{err}");
    }

    /// `model::payee` is below `identity` and cannot call `names::fold`: it
    /// says whether a name folds to ASCII (and to nothing), and whether a cell
    /// could fold into a formula, on its own. For every character there is, it must agree with
    /// the fold; a name is folded character by character (NFD decomposes each
    /// alone and only reorders marks), so this holds for every name.
    #[test]
    fn the_payee_limits_agree_with_the_fold_for_every_character() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let (text, folded) = (c.to_string(), names::fold(c.encode_utf8(&mut [0; 4])));
            assert_eq!(payee::folds_to_ascii(&text).is_ok(), folded.is_ascii(), "{c:?} folds to {folded:?}");
            if payee::cell(&text).is_ok() {
                assert_eq!(payee::formula_start(&folded), None, "{c:?} folds to {folded:?}");
                if folded.is_ascii() {
                    let blank = payee::bank_csv_holder(&text) == Err(payee::Unfit::Blank);
                    assert_eq!(blank, folded.is_empty(), "{c:?} folds to {folded:?}");
                }
            }
        }
        for name in ["Nguyễn Thị Đào", "ÐẶNG", "Trần\u{00a0}Văn", " \u{301}Lê", "≠Lê", "王 Lan"] {
            assert_eq!(payee::folds_to_ascii(name).is_ok(), names::fold(name).is_ascii(), "{name:?}");
        }
    }

    #[test]
    fn cash_list_shows_only_the_last_digits_of_the_id_number() {
        let mut w = CashList::new(Vec::new()).unwrap();
        let period = "2024-09".parse().unwrap();
        let row = CashRow {
            reference: "AS202409R1C7",
            full_name: "Trần Thị Lan",
            id_number: "001140123456",
            commune: "Phường Ba Đình",
            period,
            amount: 750_000,
        };
        w.push(&row).unwrap();
        let (bytes, totals) = w.finish().unwrap();
        assert_eq!(totals, Total { count: 1, amount: 750_000 });
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().nth(1), Some("1,AS202409R1C7,Trần Thị Lan,*********456,Phường Ba Đình,09/2024,750000"));
        assert!(!text.contains("001140123456"));
    }
}
