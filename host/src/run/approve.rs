//! `run approve`: four eyes on the money. A second person, who neither
//! created nor evaluated the run, approves exactly what it will pay: the
//! transfers and the cash list, by count, total and a checksum over every line.
//!
//! The approver gives the checksum they reviewed (`run show` prints it), so an
//! approval cannot approve something other than what was seen. `run issue`
//! computes the checksum again in the transaction that inserts the payments;
//! if anything changed since (an account, a person paid by another run or
//! reported deceased), the approval is void and the run goes back to
//! evaluated. Both check first that the decisions are still those evaluation
//! sealed: a decision changed in the database is tampering, and stops them.

use crate::trail::Actor;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::info;

use crate::store::decisions::DecisionRow;
use crate::store::holds::{self, Hold};
use crate::store::payments;
use crate::store::runs::{self, Run, RunStatus};
use crate::store::{self, Db, Tx};
use crate::trail::{self, Tampered};

/// What a run would pay, summed up: what an approver approves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Bank and e-wallet transfers.
    pub transfers: i64,
    pub transfer_total: i64,
    /// People with no account, listed for cash payment through VNPost.
    pub cash: i64,
    pub cash_total: i64,
    /// sha256, in hex, over every line in order (see [`line`]).
    pub checksum: String,
}

/// A recorded approval: what was approved, by whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    #[serde(flatten)]
    pub tally: Tally,
    pub approved_by: String,
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::format::group;
        write!(
            f,
            "{} transfers, {} VND; {} cash payments (VNPost), {} VND; checksum {}",
            group(self.transfers),
            group(self.transfer_total),
            group(self.cash),
            group(self.cash_total),
            self.checksum
        )
    }
}

/// One line of what a run would pay: a transfer (payable) or a cash payment
/// through VNPost (no account), with where the money goes.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    pub period: &'a str,
    pub beneficiary_id: i64,
    pub outcome: &'a str,
    pub id_number: &'a str,
    pub amount: i64,
    pub channel: &'a str,
    pub bank_bin: &'a str,
    pub account_number: &'a str,
    pub account_name: &'a str,
    /// The registry's name and commune: what the cash list shows.
    pub payee_name: &'a str,
    pub commune: &'a str,
}

impl<'a> Line<'a> {
    /// The line of decision `d`, owed to the person of ID number `id_number`.
    pub fn of(d: &'a DecisionRow, id_number: &'a str) -> Line<'a> {
        Line {
            period: &d.period,
            beneficiary_id: d.beneficiary_id,
            outcome: &d.outcome,
            id_number,
            amount: d.amount,
            channel: &d.channel,
            bank_bin: &d.bank_bin,
            account_number: &d.account_number,
            account_name: &d.account_name,
            payee_name: &d.payee_name,
            commune: &d.commune,
        }
    }

    /// Its text in the checksum: every field that decides where money goes and
    /// how much, and who collects cash. The ID number is hashed, never shown.
    fn text(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}\n",
            self.period,
            self.beneficiary_id,
            self.outcome,
            self.id_number,
            self.amount,
            self.channel,
            self.bank_bin,
            self.account_number,
            self.account_name,
            self.payee_name,
            self.commune
        )
    }
}

/// A [`Tally`] being made, line by line in key order.
#[derive(Default)]
pub struct Adding {
    hasher: Sha256,
    tally: Tally,
}

impl Adding {
    pub fn add(&mut self, line: &Line) {
        self.hasher.update(line.text().as_bytes());
        if line.outcome == "payable" {
            self.tally.transfers += 1;
            self.tally.transfer_total += line.amount;
        } else {
            self.tally.cash += 1;
            self.tally.cash_total += line.amount;
        }
    }

    pub fn finish(self) -> Tally {
        Tally { checksum: hex::encode(self.hasher.finalize()), ..self.tally }
    }
}

/// Check run `run_id`'s decisions against what evaluation sealed and count,
/// sum and checksum what it would pay, in one pass over the caller's
/// transaction ([`trail::check_sealed`]).
pub async fn checked_tally(db: &Db, tx: &mut Tx, run_id: i64) -> anyhow::Result<Result<Tally, Tampered>> {
    let mut adding = Adding::default();
    let checked =
        trail::check_sealed(db, tx, run_id, &mut |row, id_number| adding.add(&Line::of(row, id_number))).await?;
    Ok(checked.map(|()| adding.finish()))
}

/// What approving run `run_id` now would approve: the tally of what it would
/// pay, and the people held from it; or, if its decisions are not what
/// evaluation sealed, what differs.
#[derive(Clone, Debug)]
pub struct Proposal {
    pub tally: Tally,
    pub held: Vec<Hold>,
}

/// The proposal of an evaluated run, for `run show`, the demo and the approver.
pub async fn proposal(db: &Db, run_id: i64) -> anyhow::Result<Result<Proposal, Tampered>> {
    let mut tx = payments::read_snapshot(db).await?;
    let tally = match checked_tally(db, &mut tx, run_id).await? {
        Ok(tally) => tally,
        Err(tampered) => return Ok(Err(tampered)),
    };
    let held = holds::current(&mut tx, run_id).await?;
    tx.commit().await?;
    Ok(Ok(Proposal { tally, held }))
}

/// Approve run `run_id` as `by`, who reviewed `checksum`. In one snapshot
/// transaction: the decisions must still be what evaluation sealed; the people
/// held now ([`holds`]) are left out of what is approved and recorded as held;
/// and the checksum of the rest must be the one reviewed.
pub async fn approve(db: &Db, run_id: i64, checksum: &str, by: &Actor) -> anyhow::Result<Approval> {
    let run = runs::get(db, run_id).await?;
    match run.status {
        RunStatus::Evaluated => {}
        RunStatus::Created => anyhow::bail!("run {run_id} is not evaluated yet: `ansinh run evaluate {run_id}` first"),
        RunStatus::Approved => {
            anyhow::bail!("run {run_id} is already approved by {}", run.approved_by.as_deref().unwrap_or("?"))
        }
        other => anyhow::bail!("run {run_id} is {}: there is nothing to approve", other.as_str()),
    }
    check_four_eyes(&run, by, "approve")?;
    let approval =
        store::retry_serializable("run approve", |attempt| approve_once(db, run_id, checksum, by, attempt)).await?;
    info!(run = run_id, transfers = approval.tally.transfers, total = approval.tally.transfer_total, "approved");
    Ok(approval)
}

async fn approve_once(
    db: &Db,
    run_id: i64,
    checksum: &str,
    by: &Actor,
    attempt: store::Attempt,
) -> anyhow::Result<Approval> {
    let mut tx = payments::snapshot(db, attempt).await?;
    // Entries are appended at the end; the log's lock is taken first.
    store::audit::lock_head(&mut tx).await?;
    let tally = checked_tally(db, &mut tx, run_id).await??;
    let held = holds::current(&mut tx, run_id).await?;
    if !tally.checksum.eq_ignore_ascii_case(checksum.trim()) {
        anyhow::bail!(
            "run {run_id}: the checksum given ({}) is not the run's ({}). Review the run again with \
             `ansinh run show {run_id}` and approve the checksum it shows",
            checksum.trim(),
            tally.checksum
        );
    }
    let approval = Approval { tally, approved_by: by.name.clone() };
    let json = serde_json::to_string(&approval).expect("plain data serialises");
    if !runs::mark_approved(&mut tx, run_id, &by.name, &json).await? {
        anyhow::bail!(
            "run {run_id} changed state while it was being approved; look at it with `ansinh run show {run_id}`"
        );
    }
    holds::record(&mut tx, run_id, &held, &by.name).await?;
    let subject = trail::run_subject(run_id);
    if !held.is_empty() {
        let details = serde_json::json!({ "held": held });
        trail::append(&mut tx, by, trail::action::RUN_HOLD, &subject, details).await?;
    }
    let details = serde_json::to_value(&approval.tally).expect("plain data serialises");
    trail::append(&mut tx, by, trail::action::RUN_APPROVE, &subject, details).await?;
    tx.commit().await?;
    Ok(approval)
}

/// Who approves or refuses a run is a second account: neither its creator nor
/// its evaluator, whatever roles it holds (account names are unique and never
/// change, so the names a run records are accounts).
pub(super) fn check_four_eyes(run: &Run, by: &Actor, act: &str) -> anyhow::Result<()> {
    for (step, who) in [("created", &run.created_by), ("evaluated", &run.evaluated_by)] {
        if who.as_deref() == Some(by.name.as_str()) {
            anyhow::bail!(
                "run {}: {} {step} it and cannot also {act} it, under any role; that needs a second person's account",
                run.id,
                by.name
            );
        }
    }
    Ok(())
}

/// The approval recorded on run `run_id`, from its stored JSON.
pub fn parse(run_id: i64, json: Option<&str>) -> anyhow::Result<Approval> {
    let json = json.ok_or_else(|| anyhow::anyhow!("run {run_id} has no recorded approval"))?;
    serde_json::from_str(json).map_err(|e| anyhow::anyhow!("run {run_id}: stored approval is unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_pay(account: &str) -> Line<'_> {
        Line {
            period: "2024-09",
            beneficiary_id: 7,
            outcome: "payable",
            id_number: "001198000001",
            amount: 500_000,
            channel: "bank",
            bank_bin: "970436",
            account_number: account,
            account_name: "NGUYEN THI THU HIEN",
            payee_name: "NGUYỄN THỊ THU HIỀN",
            commune: "Phường Hàng Bạc",
        }
    }

    #[test]
    fn a_line_covers_where_the_money_goes() {
        assert_ne!(to_pay("0011001234567").text(), to_pay("0011001234568").text());
        assert_ne!(to_pay("1").text(), Line { amount: 500_001, ..to_pay("1") }.text());
        assert_ne!(to_pay("1").text(), Line { period: "2024-08", ..to_pay("1") }.text());
        assert_ne!(to_pay("1").text(), Line { account_name: "NGUYEN THI THU HIEM", ..to_pay("1") }.text());
        assert_ne!(to_pay("1").text(), Line { commune: "Phường Hàng Đào", ..to_pay("1") }.text());
    }

    #[test]
    fn approval_record_round_trips() {
        let approval = Approval {
            tally: Tally {
                transfers: 2,
                transfer_total: 1_000_000,
                cash: 1,
                cash_total: 500_000,
                checksum: "ab".into(),
            },
            approved_by: "chi".into(),
        };
        let json = serde_json::to_string(&approval).unwrap();
        assert_eq!(
            json,
            r#"{"transfers":2,"transfer_total":1000000,"cash":1,"cash_total":500000,"checksum":"ab","approved_by":"chi"}"#
        );
        assert_eq!(serde_json::from_str::<Approval>(&json).unwrap(), approval);
    }
}
