//! Payment instructions: the identifiers that tie a bank's answer back to a
//! payment, the pain.001 writer, the outbox the files are written to, and the
//! pain.002 reader for the bank's answer.

pub mod outbox;
pub mod pain001;
pub mod pain002;

use crate::model::Month;

/// The account the money leaves from: the province's treasury account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payer {
    pub name: String,
    pub account: String,
    /// 6-digit BIN of the payer's bank.
    pub bin: String,
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

/// The MsgId of a run's pain.001: one message per run.
pub fn message_id(run_id: i64, period: Month) -> String {
    format!("ANSINH-R{run_id}-{:04}{:02}", period.year(), period.month())
}

/// The file a run's pain.001 is written to in the outbox.
pub fn pain001_file_name(run_id: i64, program: &str, province: &str, period: Month) -> String {
    format!("pain001-run{run_id}-{program}-{province}-{period}.xml")
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
    fn message_id_fits_max35() {
        assert!(message_id(i64::MAX, "2024-09".parse().unwrap()).len() <= 35);
    }
}
