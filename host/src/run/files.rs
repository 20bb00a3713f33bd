//! The files of an issued run, made from its stored rows in one pass: each
//! payment, read once in id order, goes to its pain.001 (bank or e-wallet)
//! and, if bank, to the bank CSV; each cash line to the VNPost list; and
//! every row into the chains that the `run.issue` entry keeps
//! ([`Paying`]). Issue makes the files with it in the transaction that
//! pays, so that a line a file cannot carry stops the payment; `audit verify`
//! makes them again into hashes, and a replica of the service remakes one. A
//! file is a pure function of the rows and of the run's `issued_at` and
//! treasury: made again, it is the same bytes.
//!
//! One pass, not one per file: at a million people the bank pain.001 and the
//! bank CSV are the same 670,000 transfers, and the chains are every row
//! again; reading them three times was most of what writing them cost.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::model::{Month, Total};
use crate::payment::lists::{BankCsv, BankRow, CashList, CashRow};
use crate::payment::pain001::{CreditorAgent, Header, Pain001Writer, Transfer};
use crate::payment::{Payer, RunFile, Treasury, end_to_end_id, ewallet_message_id, message_id};
use crate::store::Tx;
use crate::store::payments::{self, PaymentRow};
use crate::store::runs::Run;
use crate::trail::{Paid, Paying};

/// Rows read per query.
const PAGE: i64 = 1000;

/// A line that a file cannot carry: which person, and why.
#[derive(Debug, thiserror::Error)]
#[error("{who} cannot be written: {error:#}")]
pub struct Unwritable {
    /// "the payment of beneficiary #12 for 2024-09".
    pub who: String,
    pub error: anyhow::Error,
}

/// A file being made, or why it could not be.
enum Slot<T> {
    /// Not asked for.
    Off,
    On(T),
    /// A line could not be written; the rest of the file is not made.
    Failed(anyhow::Error),
}

impl<T> Slot<T> {
    fn failed(&self) -> bool {
        matches!(self, Slot::Failed(_))
    }

    /// Push a line into the file with `push`; a line it refuses fails the file, named by `who`.
    fn push(&mut self, who: &dyn Fn() -> String, push: impl FnOnce(&mut T) -> anyhow::Result<()>) {
        if let Slot::On(writer) = self
            && let Err(error) = push(writer)
        {
            *self = Slot::Failed(Unwritable { who: who(), error }.into());
        }
    }
}

/// The files of one run being made: those asked for, each over its `W`.
pub struct Making<'r, W: Write> {
    run: &'r Run,
    bank: Slot<Pain001Writer<W>>,
    bank_csv: Slot<BankCsv<W>>,
    ewallet: Slot<Pain001Writer<W>>,
    cash: Slot<CashList<W>>,
    /// The kinds asked for, in the order given.
    kinds: Vec<RunFile>,
    /// The kind of each line that failed, in the order the lines were read.
    failed: Vec<RunFile>,
    /// The chains of the rows read, when asked for ([`Making::chained`]).
    paying: Option<Paying>,
}

/// What [`Making::make`] made: each file asked for, with the lines and sum it
/// carries and its output, or why it could not be made; and, if asked for,
/// the chains of every row read.
pub struct Made<W> {
    pub files: Vec<(RunFile, anyhow::Result<(Total, W)>)>,
    /// The kinds whose files failed, in the order their first bad line was read.
    pub failed: Vec<RunFile>,
    /// The chains of the rows, if [`Making::chained`] asked for them.
    pub paid: Option<Paid>,
}

impl<'r, W: Write> Making<'r, W> {
    /// The files `outs` of `run`, issued at `issued_at` from `treasury`: each
    /// kind with the lines and sum its pain.001 header declares (the CSVs
    /// declare none), and where it goes.
    pub fn new(
        run: &'r Run,
        issued_at: DateTime<Utc>,
        treasury: &Treasury,
        outs: Vec<(RunFile, Total, W)>,
    ) -> anyhow::Result<Making<'r, W>> {
        let mut making = Making {
            run,
            bank: Slot::Off,
            bank_csv: Slot::Off,
            ewallet: Slot::Off,
            cash: Slot::Off,
            kinds: outs.iter().map(|(kind, _, _)| *kind).collect(),
            failed: Vec::new(),
            paying: None,
        };
        let header = |message_id: String, payer: &Payer, declared: Total| Header {
            payment_info_id: format!("{message_id}-1"),
            message_id,
            created: issued_at,
            initiating_party: payer.name.clone(),
            execution_date: issued_at.date_naive(),
            debtor_name: payer.name.clone(),
            debtor_account: payer.account.clone(),
            debtor_agent_bin: payer.bin.clone(),
            number_of_transactions: declared.count as u64,
            control_sum: declared.amount as u64,
        };
        let accounts = |e: crate::payment::pain001::Pain001Error| {
            anyhow::Error::from(e).context(format!(
                "run {}: the treasury account of province {} cannot be written in a pain.001; correct it in the \
                 configuration",
                run.id, run.province
            ))
        };
        for (kind, declared, out) in outs {
            match kind {
                RunFile::BankPain001 => {
                    let header = header(message_id(run.id, run.period), &treasury.bank, declared);
                    making.bank = Slot::On(Pain001Writer::new(out, &header).map_err(accounts)?);
                }
                RunFile::EwalletPain001 => {
                    let id = ewallet_message_id(run.id, run.period);
                    let header = header(id, treasury.ewallet_payer(), declared);
                    making.ewallet = Slot::On(Pain001Writer::new(out, &header).map_err(accounts)?);
                }
                RunFile::BankCsv => making.bank_csv = Slot::On(BankCsv::new(out)?),
                RunFile::VnpostCsv => making.cash = Slot::On(CashList::new(out)?),
            }
        }
        Ok(making)
    }

    /// Make the chains of every row read too (a digest a row: what writing
    /// the files alone, as issuing again does, need not pay for).
    pub fn chained(mut self) -> Making<'r, W> {
        self.paying = Some(Paying::default());
        self
    }

    /// Read run's payments and then its cash list, in id order, in `tx`, into
    /// the files and the chains; then close the files. A line a file cannot
    /// carry fails that file alone: the pass goes on, so that the chains are
    /// whole and the other files made.
    pub async fn make(mut self, tx: &mut Tx) -> anyhow::Result<Made<W>> {
        let mut after = 0;
        loop {
            let page = payments::rows_in(tx, self.run.id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            page.iter().try_for_each(|row| self.payment(row))?;
        }
        let mut after = 0;
        loop {
            let page = payments::cash_rows_in(tx, self.run.id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            page.iter().try_for_each(|row| self.cash(row))?;
        }
        Ok(self.finish())
    }

    fn payment(&mut self, row: &PaymentRow) -> anyhow::Result<()> {
        if let Some(paying) = &mut self.paying {
            paying.payment(row);
        }
        let who = || format!("the payment of beneficiary #{} for {}", row.beneficiary_id, row.period);
        // A channel no file carries is not a line of any: the stored row was changed.
        let transfer = transfer(self.run, row).map_err(|error| Unwritable { who: who(), error })?;
        let failed_before = self.failing();
        if row.channel == "bank" {
            self.bank.push(&who, |w| Ok(w.push(&transfer)?));
            self.bank_csv.push(&who, |w| w.push(&bank_row(row, &transfer)));
        } else {
            self.ewallet.push(&who, |w| Ok(w.push(&transfer)?));
        }
        self.note_failures(failed_before);
        Ok(())
    }

    fn cash(&mut self, row: &payments::CashRow) -> anyhow::Result<()> {
        if let Some(paying) = &mut self.paying {
            paying.cash(row);
        }
        let who = || format!("the cash payment of beneficiary #{} for {}", row.beneficiary_id, row.period);
        let period = month(row.id, &row.period)?;
        let reference = cash_reference(period, self.run.id, row.id);
        let failed_before = self.failing();
        self.cash.push(&who, |w| w.push(&cash_row(period, row, &reference)));
        self.note_failures(failed_before);
        Ok(())
    }

    /// Which kinds have failed so far, in [`Making::note_failures`]' order.
    fn failing(&self) -> [bool; 4] {
        [self.bank.failed(), self.bank_csv.failed(), self.ewallet.failed(), self.cash.failed()]
    }

    /// Note the kinds that failed since `before`, in order.
    fn note_failures(&mut self, before: [bool; 4]) {
        let kinds = [RunFile::BankPain001, RunFile::BankCsv, RunFile::EwalletPain001, RunFile::VnpostCsv];
        for ((was, is), kind) in before.into_iter().zip(self.failing()).zip(kinds) {
            if is && !was {
                self.failed.push(kind);
            }
        }
    }

    /// Close each file: a pain.001's transactions are checked against its header's count and sum.
    fn finish(self) -> Made<W> {
        let Making { bank, bank_csv, ewallet, cash, kinds, failed, paying, .. } = self;
        let (mut bank, mut bank_csv, mut ewallet, mut cash) = (Some(bank), Some(bank_csv), Some(ewallet), Some(cash));
        let files = kinds
            .into_iter()
            .map(|kind| {
                let file = match kind {
                    RunFile::BankPain001 => close_pain001(bank.take()),
                    RunFile::EwalletPain001 => close_pain001(ewallet.take()),
                    RunFile::BankCsv => close(bank_csv.take(), BankCsv::finish),
                    RunFile::VnpostCsv => close(cash.take(), CashList::finish),
                };
                (kind, file)
            })
            .collect();
        Made { files, failed, paid: paying.map(Paying::seal) }
    }
}

fn close_pain001<W: Write>(slot: Option<Slot<Pain001Writer<W>>>) -> anyhow::Result<(Total, W)> {
    close(slot, |writer| {
        let declared = writer.declared();
        Ok((writer.finish()?, declared))
    })
}

fn close<T, W>(
    slot: Option<Slot<T>>,
    finish: impl FnOnce(T) -> anyhow::Result<(W, Total)>,
) -> anyhow::Result<(Total, W)> {
    match slot {
        Some(Slot::On(writer)) => finish(writer).map(|(out, total)| (total, out)),
        Some(Slot::Failed(e)) => Err(e),
        Some(Slot::Off) | None => anyhow::bail!("a file was asked for twice"),
    }
}

/// A bank transfer as a row of the bank CSV.
fn bank_row<'a>(p: &'a PaymentRow, t: &'a Transfer) -> BankRow<'a> {
    BankRow {
        account_number: &t.creditor_account,
        account_name: &t.creditor_name,
        bin: &p.bank_bin,
        amount: t.amount,
        remittance: &t.remittance,
    }
}

/// A cash payment as a row of the VNPost list.
fn cash_row<'a>(period: Month, c: &'a payments::CashRow, reference: &'a str) -> CashRow<'a> {
    CashRow {
        reference,
        full_name: &c.full_name,
        id_number: &c.id_number,
        commune: &c.commune,
        period,
        amount: c.amount as u64,
    }
}

/// The reference of cash payment `id`, in the EndToEndId's shape with `C` for
/// cash: `AS202409R12C345`. VNPost reports each payment back with it.
fn cash_reference(period: Month, run_id: i64, id: i64) -> String {
    format!("AS{:04}{:02}R{run_id}C{id}", period.year(), period.month())
}

fn month(row: i64, stored: &str) -> anyhow::Result<Month> {
    stored.parse().map_err(|e| anyhow::anyhow!("payment {row}: stored month: {e}"))
}

fn transfer(run: &Run, p: &PaymentRow) -> anyhow::Result<Transfer> {
    let period = month(p.id, &p.period)?;
    let end_to_end_id = end_to_end_id(period, run.id, p.id);
    let creditor_agent = match p.channel.as_str() {
        "bank" => CreditorAgent::Bank { bin: p.bank_bin.clone() },
        "ewallet" => CreditorAgent::Wallet { provider: p.bank_bin.clone() },
        other => anyhow::bail!("payment {} has channel {other:?}, which is not paid by transfer", p.id),
    };
    Ok(Transfer {
        remittance: remittance(&run.program, period, &end_to_end_id),
        end_to_end_id,
        amount: p.amount as u64,
        creditor_name: p.account_name.clone(),
        creditor_account: p.account_number.clone(),
        creditor_agent,
    })
}

/// The text the beneficiary sees on their statement, in ASCII as banks print it.
fn remittance(program: &str, period: Month, end_to_end_id: &str) -> String {
    let what = match program {
        "social-assistance" => "TRO CAP XA HOI",
        "social-pension" => "TRO CAP HUU TRI XA HOI",
        other => other,
    };
    format!("{what} THANG {:02}/{:04} {end_to_end_id}", period.month(), period.year())
}
