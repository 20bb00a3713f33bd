//! Payment instructions: the identifiers that tie a bank's answer back to a
//! payment, the files a run issues (pain.001, the bank CSV, the VNPost cash
//! list), the outbox they are written to, and the pain.002 reader for the
//! bank's answer.

pub mod lists;
pub mod outbox;
pub mod pain001;
pub mod pain002;

use crate::model::Month;

/// The account the money leaves from: the province's treasury account.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Payer {
    pub name: String,
    pub account: String,
    /// 6-digit BIN of the payer's bank.
    pub bin: String,
}

/// A province's treasury: the debtor accounts its payments leave from, and
/// whether its bank also takes the bank CSV. From the configuration
/// ([`crate::config`]) at the first issue, then stored on the run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Treasury {
    /// Bank transfers leave from here.
    pub bank: Payer,
    /// E-wallet transfers leave from here; `None`: from the bank account.
    pub ewallet: Option<Payer>,
    /// Also write the bank transfers as the bank CSV of `payments.md`.
    pub bank_csv: bool,
}

impl Treasury {
    /// The debtor account of the e-wallet file.
    pub fn ewallet_payer(&self) -> &Payer {
        self.ewallet.as_ref().unwrap_or(&self.bank)
    }
}

/// The EndToEndId of a payment: `AS`, the paid month, the run and the payment's
/// row id, e.g. `AS202409R12P3456`. Unique (the payment id is), deterministic
/// (from stored rows only), at most 35 characters for any id below 10^12, and
/// free of the person's ID number.
pub fn end_to_end_id(period: Month, run_id: i64, payment_id: i64) -> String {
    format!("AS{:04}{:02}R{run_id}P{payment_id}", period.year(), period.month())
}

/// The run and payment an EndToEndId of [`end_to_end_id`]'s form names, whatever
/// the run: lets a status report for another run's payment say whose it is.
pub fn parse_end_to_end_id(id: &str) -> Option<(Month, i64, i64)> {
    let rest = id.strip_prefix("AS")?;
    let (yyyymm, rest) = (rest.get(..6)?, rest.get(6..)?);
    let (run, payment) = rest.strip_prefix('R')?.split_once('P')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(yyyymm) || !digits(run) || !digits(payment) {
        return None;
    }
    let period = format!("{}-{}", &yyyymm[..4], &yyyymm[4..]).parse().ok()?;
    Some((period, run.parse().ok()?, payment.parse().ok()?))
}

/// The MsgId of a run's bank pain.001. Every MsgId of run N starts with
/// `ANSINH-RN-`, which is how a bank's answer is matched to its run.
pub fn message_id(run_id: i64, period: Month) -> String {
    format!("ANSINH-R{run_id}-{:04}{:02}", period.year(), period.month())
}

/// The MsgId of a run's e-wallet pain.001: a message of its own, since it is
/// a file of its own.
pub fn ewallet_message_id(run_id: i64, period: Month) -> String {
    format!("{}W", message_id(run_id, period))
}

/// The files a run issues. Each is written only when it has a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunFile {
    /// pain.001 of the bank transfers, from the treasury's bank account.
    BankPain001,
    /// The same transfers as the bank CSV, for a bank that takes a spreadsheet.
    BankCsv,
    /// pain.001 of the e-wallet transfers, from the e-wallet debtor account.
    EwalletPain001,
    /// The people with no account, for VNPost to pay in cash.
    VnpostCsv,
}

impl RunFile {
    /// The file's name in the outbox: a function of the run alone, so that
    /// issuing again writes to the same names.
    pub fn name(self, run_id: i64, program: &str, province: &str, period: Month) -> String {
        let scope = format!("run{run_id}-{program}-{province}-{period}");
        match self {
            RunFile::BankPain001 => format!("pain001-{scope}-bank.xml"),
            RunFile::BankCsv => format!("bank-{scope}.csv"),
            RunFile::EwalletPain001 => format!("pain001-{scope}-ewallet.xml"),
            RunFile::VnpostCsv => format!("vnpost-{scope}.csv"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end_id_fits_iso20022_max35_for_large_ids() {
        let period: Month = "2024-09".parse().unwrap();
        assert_eq!(end_to_end_id(period, 12, 3456), "AS202409R12P3456");
        let largest = end_to_end_id(period, 999_999_999_999, 999_999_999_999);
        assert!(largest.len() <= 35, "{largest} is {} characters", largest.len());
    }

    #[test]
    fn end_to_end_id_reads_back() {
        let period: Month = "2024-09".parse().unwrap();
        assert_eq!(parse_end_to_end_id(&end_to_end_id(period, 12, 3456)), Some((period, 12, 3456)));
        for other in ["AS202409R12", "AS202409RxP1", "XX202409R1P1", "AS2024R1P1", "AS202413R1P1", "AS202409R1P"] {
            assert_eq!(parse_end_to_end_id(other), None, "{other}");
        }
    }

    #[test]
    fn message_ids_fit_max35_and_share_the_run_prefix() {
        let period = "2024-09".parse().unwrap();
        assert!(ewallet_message_id(i64::MAX, period).len() <= 35);
        assert_eq!(message_id(12, period), "ANSINH-R12-202409");
        assert_eq!(ewallet_message_id(12, period), "ANSINH-R12-202409W");
    }
}
