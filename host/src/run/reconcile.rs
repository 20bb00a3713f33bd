//! `run reconcile`: apply a bank's pain.002 status report to an issued run.
//!
//! Per transaction: `ACSC`/`ACCC` settle the payment; `RJCT` rejects it with its first reason
//! code (AC04 closed account, MD07 deceased...), and MD07 also flags the beneficiary for the
//! registry check; `ACCP`, `ACSP`, `PDNG` and the other interim codes mark it accepted, not yet
//! settled, so that a later report can settle or reject it. Settled and rejected are final: a
//! later report that says otherwise is a contradiction, reported and not applied. Only
//! per-transaction statuses are applied; a payment the report does not list keeps its status,
//! because a group status alone (`GrpSts`) does not say which payments it covers once a run is
//! paid in more than one file.
//!
//! Problems are reported, never passed over, and make the command exit non-zero: an EndToEndId
//! this run never issued (another run's included), a transaction listed twice, an amount that is
//! not the payment's, a status code that means nothing applicable, totals (`OrgnlNbOfTxs`,
//! `OrgnlCtrlSum`) that disagree with the listed transactions or the run, a contradiction of an
//! earlier report. What is known and unambiguous is applied all the same, in one transaction, so
//! that one bad line does not hold back a thousand good ones; the problems say what was not. A
//! report for another run (an `OrgnlMsgId` that is not `ANSINH-R{run}-...`: a run may be paid in
//! several files, each with its own MsgId) is refused whole: nothing in it can be trusted to be
//! this run's. Applying the same file again changes nothing: every status is already so, flags
//! exist, and the file is recorded once per run (by sha256).

use crate::trail::Actor;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::model::Total;
use crate::payment::pain002::{self, Answer, GroupStatus, TransactionStatus};
use crate::payment::{ewallet_message_id, message_id, parse_end_to_end_id};
use crate::store::payments;
use crate::store::reconcile::{self, Change, Flag, Standing, Stored, Writes};
use crate::store::runs::{self, Run};
use crate::store::{Db, Tx};
use crate::trail;

use crate::format::{Shown, group};

/// The reason code of a rejection because the beneficiary has died.
pub const DECEASED: &str = "MD07";

/// Something in a report that was not applied, or does not add up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The line of the transaction (or element) it is about.
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", Shown(&self.message)),
            None => write!(f, "{}", Shown(&self.message)),
        }
    }
}

/// What applying a report decided and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciled {
    pub run_id: i64,
    pub file: String,
    pub sha256: String,
    pub group: GroupStatus,
    /// `TxInfAndSts` in the file.
    pub listed: usize,
    /// Payments this report settled, rejected (by reason) or marked accepted: changes only.
    pub settled: i64,
    pub rejected: BTreeMap<String, i64>,
    pub accepted: i64,
    /// Statuses the payments already had.
    pub unchanged: i64,
    /// People flagged for the registry check now.
    pub flagged: u64,
    /// The same file was applied to this run before, by whom and when.
    pub earlier: Option<(String, DateTime<Utc>)>,
    /// Told, not wrong: e.g. a pending status for a payment already settled (older news).
    pub notes: Vec<String>,
    pub problems: Vec<Problem>,
    /// Where the run's payments stand after this report.
    pub standing: Standing,
}

/// Apply the pain.002 at `path` to run `run_id`, as `by`.
///
/// The report is read as a stream, before any lock is taken: what is kept of
/// it is bounded by the run's payments (each one's listings) and a bounded
/// number of problems, never by the file's size. Then, in one transaction
/// under the run's lock, the statuses the payments have by then decide what
/// to write.
pub async fn reconcile(db: &Db, run_id: i64, path: &Path, by: &Actor) -> anyhow::Result<Reconciled> {
    let run = runs::get(db, run_id).await?;
    if !run.status.is_issued() {
        anyhow::bail!("run {run_id} is {}: only an issued run's payments can be reconciled", run.status.as_str());
    }
    let shown = path.display().to_string();
    let file = File::open(path).with_context(|| format!("opening the status report {shown}"))?;
    // Which payments the run has, their month, file and amount: none of that changes once issued.
    let issued = reconcile::payments_of(db, run_id).await?;
    let mut listings = Listings::default();
    let read = pain002::read(BufReader::with_capacity(64 * 1024, file), |tx| {
        listings.add(&run, &issued, tx);
        Ok(())
    })
    .with_context(|| format!("reading the status report {shown}"))?;
    drop(issued);

    let prefix = format!("ANSINH-R{run_id}-");
    if !read.group.original_message_id.starts_with(&prefix) {
        anyhow::bail!(
            "{shown} answers the message {:?}, which is not one of run {run_id}'s (their MsgIds start with {prefix}): \
             nothing applied",
            read.group.original_message_id
        );
    }
    let answered = answered(db, &run, &read.group.original_message_id).await?;
    let listed = listings.listed;
    let report = reconcile::Report {
        file: &shown,
        sha256: &read.sha256,
        message_id: &read.group.message_id,
        original_message_id: &read.group.original_message_id,
        transactions: listed as i64,
        by: &by.name,
    };
    let mut tx = db.begin().await?;
    let (applied, plan) = reconcile::apply(&mut tx, run_id, &report, |stored| {
        let mut plan = plan(&run, answered, &read.group, listings, stored);
        (std::mem::take(&mut plan.writes), plan)
    })
    .await?;
    if applied.changed_anything() {
        let details = serde_json::json!({
            "file": report.file,
            "sha256": report.sha256,
            "message_id": report.message_id,
            "original_message_id": report.original_message_id,
            "transactions": report.transactions,
            "statuses_written": applied.statuses_written,
            "new_flags": applied.new_flags,
            "problems": applied.problems,
        });
        trail::append(&mut tx, by, trail::action::RUN_RECONCILE, &trail::run_subject(run_id), details).await?;
    }
    void_approvals_of_the_flagged(&mut tx, applied.reconciliation_id, by).await?;
    tx.commit().await?;
    Ok(Reconciled {
        run_id,
        file: shown,
        sha256: read.sha256,
        group: read.group,
        listed: listed as usize,
        settled: plan.settled,
        rejected: plan.rejected,
        accepted: plan.accepted,
        unchanged: plan.unchanged,
        flagged: applied.new_flags,
        earlier: applied.earlier,
        notes: plan.notes,
        problems: plan.problems,
        standing: reconcile::standing(db, run_id).await?,
    })
}

/// A person a bank reported deceased is held from every payment not yet issued:
/// the approval of a run that would pay them no longer approves what it would
/// pay, so it is void (the run goes back to evaluated), with its entry, and the
/// next approval holds them (`store::holds`).
async fn void_approvals_of_the_flagged(tx: &mut Tx, reconciliation_id: i64, by: &Actor) -> anyhow::Result<()> {
    for (run_id, approval, beneficiaries) in reconcile::approved_runs_paying_flagged(tx, reconciliation_id).await? {
        let record = serde_json::json!({
            "approved": serde_json::from_str::<serde_json::Value>(&approval).unwrap_or_default(),
            "reason": format!("a bank reported deceased ({DECEASED}) people this run would pay"),
            "beneficiaries": beneficiaries,
            "reconciliation": reconciliation_id,
            "voided_by": by.name,
        });
        runs::void_approval(tx, run_id, &record.to_string()).await?;
        trail::append(tx, by, trail::action::RUN_APPROVAL_VOID, &trail::run_subject(run_id), record).await?;
        tracing::warn!(run = run_id, "approval void: a person it would pay was reported deceased");
    }
    Ok(())
}

/// Problems listed of the transactions that name none of the run's payments:
/// the rest are counted. A report of a million lines that are all wrong must
/// not become a million messages held in memory.
const PROBLEMS_SHOWN: usize = 1_000;

/// A report's transactions, as they are read: for each of the run's payments
/// the report lists, its listings; the problems of those that name none. What
/// is kept grows with the run's payments, not with the file.
#[derive(Debug, Default)]
struct Listings {
    /// `TxInfAndSts` in the report.
    listed: u64,
    /// The sum of the listed amounts while every transaction repeats its amount.
    amounts: Option<u64>,
    by_payment: HashMap<i64, Listing>,
    problems: Vec<Problem>,
    /// Problems counted but not kept.
    unshown: u64,
}

/// Every listing of one payment.
#[derive(Debug)]
struct Listing {
    end_to_end_id: String,
    first: TransactionStatus,
    /// How many times it is listed, the lines of the first few, and whether
    /// every listing says what the first does.
    times: u64,
    lines: Vec<u64>,
    same: bool,
}

/// Lines named when a payment is listed more than once.
const LINES_SHOWN: usize = 10;

impl Listings {
    /// Take one transaction of the report: keep it under the payment it names, or a problem.
    fn add(&mut self, run: &Run, issued: &HashMap<i64, Stored>, tx: TransactionStatus) {
        self.amounts = match (self.listed, self.amounts, tx.amount) {
            (0, _, amount) => amount,
            (_, Some(sum), Some(amount)) => sum.checked_add(amount),
            _ => None,
        };
        self.listed += 1;
        let line = Some(tx.line);
        let Some(id) = tx.end_to_end_id.clone().filter(|id| !id.is_empty()) else {
            return self
                .problem(line, "TxInfAndSts has no OrgnlEndToEndId: cannot tell which payment it is".to_owned());
        };
        let payment_id = match parse_end_to_end_id(&id) {
            None => return self.problem(line, format!("{id} is not an EndToEndId ansinh issued: not applied")),
            Some((_, other, _)) if other != run.id => {
                return self
                    .problem(line, format!("{id} is a payment of run {other}, not of run {}: not applied", run.id));
            }
            // The month is the payment's own: a back-pay run pays earlier months too.
            Some((period, _, payment_id)) => match issued.get(&payment_id) {
                Some(payment) if payment.period == period.to_string() => payment_id,
                _ => {
                    return self
                        .problem(line, format!("no payment of run {} has the EndToEndId {id}: not applied", run.id));
                }
            },
        };
        match self.by_payment.get_mut(&payment_id) {
            None => {
                let lines = vec![tx.line];
                self.by_payment
                    .insert(payment_id, Listing { end_to_end_id: id, first: tx, times: 1, lines, same: true });
            }
            Some(listing) => {
                listing.times += 1;
                if listing.lines.len() < LINES_SHOWN {
                    listing.lines.push(tx.line);
                }
                let first = &listing.first;
                listing.same &= (&tx.status, &tx.reasons, tx.amount) == (&first.status, &first.reasons, first.amount);
            }
        }
    }

    fn problem(&mut self, line: Option<u64>, message: String) {
        if self.problems.len() < PROBLEMS_SHOWN {
            self.problems.push(Problem { line, message });
        } else {
            self.unshown += 1;
        }
    }
}

/// What [`plan`] decides: the writes, and the figures and problems to show.
#[derive(Debug, Default)]
struct Plan {
    writes: Writes,
    settled: i64,
    rejected: BTreeMap<String, i64>,
    accepted: i64,
    unchanged: i64,
    notes: Vec<String>,
    problems: Vec<Problem>,
}

impl Plan {
    fn problem(&mut self, line: Option<u64>, message: String) {
        self.problems.push(Problem { line, message });
    }
}

/// Decide, from the report's listings and the run's payments as stored, what to write and what to report.
fn plan(
    run: &Run,
    answered: Answered,
    header: &GroupStatus,
    listings: Listings,
    stored: &HashMap<i64, Stored>,
) -> Plan {
    let mut plan = Plan::default();
    check_totals(&mut plan, run, answered, header, listings.listed, listings.amounts);
    let totals = std::mem::take(&mut plan.problems);

    // Each payment once, in the order of its first listing.
    let mut ordered: Vec<(i64, Listing)> = listings.by_payment.into_iter().collect();
    ordered.sort_by_key(|(_, listing)| listing.first.line);
    for (payment_id, listing) in ordered {
        let (id, tx) = (&listing.end_to_end_id, &listing.first);
        if listing.times > 1 {
            let mut lines: Vec<String> = listing.lines.iter().map(u64::to_string).collect();
            if listing.times > listing.lines.len() as u64 {
                lines.push("…".to_owned());
            }
            let (times, lines) = (listing.times, lines.join(", "));
            if listing.same {
                plan.problem(Some(tx.line), format!("{id} is listed {times} times (lines {lines}); applied once"));
            } else {
                plan.problem(
                    Some(tx.line),
                    format!("{id} is listed {times} times with different statuses (lines {lines}): not applied"),
                );
                continue;
            }
        }
        match stored.get(&payment_id) {
            Some(payment) => apply_one(&mut plan, answered, id, tx, payment),
            None => plan
                .problem(Some(tx.line), format!("no payment of run {} has the EndToEndId {id}: not applied", run.id)),
        }
    }
    // The problems of the listings, in the order of their lines, after those of the totals.
    let mut listed = std::mem::take(&mut plan.problems);
    listed.extend(listings.problems);
    listed.sort_by_key(|p| p.line);
    plan.problems = totals;
    plan.problems.extend(listed);
    plan.writes.problems = plan.problems.len() as i64 + listings.unshown as i64;
    if listings.unshown > 0 {
        plan.problem(
            None,
            format!(
                "… and {} more transactions that name no payment of run {}: not applied",
                group(listings.unshown as i64),
                run.id
            ),
        );
    }
    plan
}

/// The payments of the message a report answers: the run's bank file or its
/// e-wallet file, whose totals a report must match exactly; for any other
/// MsgId of the run, all its payments, which a report may not exceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Answered {
    /// `bank` or `ewallet` when the message is one of the run's files.
    channel: Option<&'static str>,
    count: i64,
    total: i64,
    /// Whether the message is one file of the run, so its totals are known exactly.
    exact: bool,
}

async fn answered(db: &Db, run: &Run, original_message_id: &str) -> anyhow::Result<Answered> {
    let channel = if original_message_id == message_id(run.id, run.period) {
        Some("bank")
    } else if original_message_id == ewallet_message_id(run.id, run.period) {
        Some("ewallet")
    } else {
        None
    };
    let (Total { count, amount: total }, exact) = match channel {
        Some(channel) => {
            let mut tx = db.snapshot().await?;
            let total = payments::channel_totals(&mut tx, run.id, channel).await?;
            tx.commit().await?;
            (total, true)
        }
        None => (payments::totals(db, run.id).await?, false),
    };
    Ok(Answered { channel, count, total, exact })
}

/// The group's totals against the listed transactions and the message answered.
fn check_totals(
    plan: &mut Plan,
    run: &Run,
    answered: Answered,
    header: &GroupStatus,
    listed: u64,
    amounts: Option<u64>,
) {
    let Answered { count: payment_count, total: payment_total, exact: whole_run, .. } = answered;
    let name = &header.original_message_name;
    if !name.is_empty() && !name.starts_with("pain.001.") {
        plan.problem(None, format!("OrgnlMsgNmId is {name:?}: this report answers something other than a pain.001"));
    }
    if listed == 0 {
        let status = header.status.as_deref().unwrap_or("none");
        plan.problem(
            None,
            format!(
                "the report lists no transaction (GrpSts {status}): reconcile applies per-transaction statuses only, \
                 so nothing was applied"
            ),
        );
    }
    if let Some(n) = header.original_transactions {
        if listed > n {
            plan.problem(None, format!("the report lists {listed} transactions, more than its OrgnlNbOfTxs {n}"));
        }
        if n > payment_count as u64 || (whole_run && n != payment_count as u64) {
            plan.problem(None, format!("OrgnlNbOfTxs is {n}, but run {} issued {payment_count} payments", run.id));
        }
    }
    if let Some(sum) = header.original_control_sum {
        if sum > payment_total as u64 || (whole_run && sum != payment_total as u64) {
            plan.problem(
                None,
                format!(
                    "OrgnlCtrlSum is {} VND, but run {} issued {} VND",
                    group(sum as i64),
                    run.id,
                    group(payment_total)
                ),
            );
        }
        // Only a report that lists every transaction, with its amount, can be added up.
        if header.original_transactions == Some(listed)
            && let Some(amounts) = amounts
            && amounts != sum
        {
            plan.problem(
                None,
                format!(
                    "the {listed} transactions listed add up to {} VND, not OrgnlCtrlSum {} VND",
                    group(amounts as i64),
                    group(sum as i64)
                ),
            );
        }
    }
}

/// One listed transaction against the payment it names, as stored now.
fn apply_one(plan: &mut Plan, answered: Answered, id: &str, tx: &TransactionStatus, payment: &Stored) {
    let line = Some(tx.line);
    if let Some(channel) = answered.channel.filter(|c| *c != payment.channel) {
        plan.problem(
            line,
            format!(
                "{id} is a payment of the run's {} file, not of the {channel} file this report answers: not applied",
                payment.channel
            ),
        );
        return;
    }
    let Some(code) = tx.status.as_deref() else {
        plan.problem(line, format!("{id} has no TxSts: not applied"));
        return;
    };
    let Some(answer) = Answer::of(code) else {
        plan.problem(
            line,
            format!(
                "{id} has TxSts {code:?}, which reconcile does not apply (expected ACSC or ACCC settled, RJCT \
                 rejected, or ACCP, ACSP, ACTC, PDNG... accepted): not applied"
            ),
        );
        return;
    };
    if let Some(amount) = tx.amount
        && amount != payment.amount as u64
    {
        plan.problem(
            line,
            format!(
                "{id} is reported for {} VND, but the payment is {} VND: not applied",
                group(amount as i64),
                group(payment.amount)
            ),
        );
        return;
    }
    let (status, reason) = match answer {
        Answer::Settled => ("settled", None),
        Answer::Rejected => ("rejected", tx.reasons.first().cloned()),
        Answer::Pending => ("accepted", None),
    };
    let was = (payment.status.as_deref(), payment.bank_status.as_deref(), payment.reason.as_deref());
    match was {
        (Some(s), Some(b), r) if s == status && b == code && r == reason.as_deref() => plan.unchanged += 1,
        (Some(s @ ("settled" | "rejected")), Some(b), r) => {
            if answer == Answer::Pending {
                plan.notes.push(format!("line {}: {id} is already {s} ({b}); its {code} here is older news", tx.line));
            } else if s == status && b == code || s == "settled" && status == "settled" {
                plan.unchanged += 1;
            } else {
                let earlier = r.map_or_else(|| b.to_owned(), |r| format!("{b} {r}"));
                let now = reason.as_deref().map_or_else(|| code.to_owned(), |r| format!("{code} {r}"));
                plan.problem(
                    line,
                    format!("{id} was {s} ({earlier}) by an earlier report; this one says {now}: not applied"),
                );
                return;
            }
        }
        _ => {
            match answer {
                Answer::Settled => plan.settled += 1,
                Answer::Rejected => {
                    *plan.rejected.entry(reason.clone().unwrap_or_else(|| "no reason given".into())).or_default() += 1
                }
                Answer::Pending => plan.accepted += 1,
            }
            plan.writes.changes.push(Change {
                payment_id: payment.payment_id,
                status,
                bank_status: code.to_owned(),
                reason,
            });
        }
    }
    // Flagged whenever the bank says so, even if the rejection was recorded before: the flag's
    // key keeps it single, and a flag cleared by hand is not undone by ignoring the report.
    if answer == Answer::Rejected && tx.reasons.iter().any(|r| r == DECEASED) {
        plan.writes.flags.push(Flag {
            payment_id: payment.payment_id,
            beneficiary_id: payment.beneficiary_id,
            reason: DECEASED.into(),
        });
    }
}

impl fmt::Display for Reconciled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.group;
        writeln!(
            f,
            "Run {} · status report {} ({}) for {} · {} transactions listed · GrpSts {}",
            self.run_id,
            Shown(&g.message_id),
            Shown(g.namespace.rsplit(':').next().unwrap_or_default()),
            Shown(&g.original_message_id),
            self.listed,
            Shown(g.status.as_deref().unwrap_or("none"))
        )?;
        writeln!(f, "File {} (sha256 {})", Shown(&self.file), self.sha256)?;
        if let Some((by, at)) = &self.earlier {
            writeln!(f, "This file was applied to run {} before, by {} at {at}.", self.run_id, Shown(by))?;
        }
        let rejected: i64 = self.rejected.values().sum();
        writeln!(
            f,
            "\nApplied now: {} settled, {} rejected, {} accepted not yet settled; {} already so.",
            group(self.settled),
            group(rejected),
            group(self.accepted),
            group(self.unchanged)
        )?;
        for (reason, count) in &self.rejected {
            writeln!(f, "  rejected {:<16} {:>8}", Shown(reason), group(*count))?;
        }
        if self.flagged > 0 {
            writeln!(f, "{} people flagged for the registry check ({DECEASED}, deceased).", self.flagged)?;
        }
        write!(f, "{}", self.standing)?;
        if !self.notes.is_empty() {
            writeln!(f, "\nNotes:")?;
            for note in &self.notes {
                writeln!(f, "  {}", Shown(note))?;
            }
        }
        if !self.problems.is_empty() {
            writeln!(f, "\n{} problems (not applied where it says so):", self.problems.len())?;
            for problem in &self.problems {
                writeln!(f, "  {problem}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::end_to_end_id;
    use crate::store::runs::RunStatus;
    use ansinh_sandbox::PluginHash;

    fn run() -> Run {
        Run {
            id: 7,
            program: "social-assistance".into(),
            province: "001".into(),
            first_period: "2024-09".parse().unwrap(),
            period: "2024-09".parse().unwrap(),
            plugin_hash: PluginHash::parse(&"0".repeat(64)).unwrap(),
            release_id: None,
            status: RunStatus::Issued,
            created_at: Utc::now(),
            evaluated_at: None,
            approved_at: None,
            issued_at: None,
            created_by: None,
            evaluated_by: None,
            approved_by: None,
            issued_by: None,
            approval: None,
            voided_approval: None,
            cancelled_by: None,
            cancel_reason: None,
        }
    }

    /// The run's four payments, answered as the one file they were all in.
    const ALL_FOUR: Answered = Answered { channel: Some("bank"), count: 4, total: 2_000_000, exact: true };
    /// A message of the run other than its bank or e-wallet file: at most its four payments.
    const SOME_OF_FOUR: Answered = Answered { channel: None, exact: false, ..ALL_FOUR };

    /// Payments 1..=4 of 500,000 each, the first already settled, the second rejected AC04.
    fn stored() -> HashMap<i64, Stored> {
        (1..=4)
            .map(|id| {
                let (status, bank, reason) = match id {
                    1 => (Some("settled"), Some("ACSC"), None),
                    2 => (Some("rejected"), Some("RJCT"), Some("AC04")),
                    _ => (None, None, None),
                };
                let s = Stored {
                    payment_id: id,
                    beneficiary_id: 100 + id,
                    period: "2024-09".into(),
                    channel: "bank".into(),
                    amount: 500_000,
                    status: status.map(Into::into),
                    bank_status: bank.map(Into::into),
                    reason: reason.map(Into::into),
                };
                (id, s)
            })
            .collect()
    }

    fn e2e(payment: i64) -> String {
        end_to_end_id("2024-09".parse().unwrap(), 7, payment)
    }

    fn tx(line: u64, id: &str, status: &str, reasons: &[&str], amount: Option<u64>) -> TransactionStatus {
        TransactionStatus {
            line,
            end_to_end_id: Some(id.into()),
            status: Some(status.into()),
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            amount,
        }
    }

    fn group_of(n: u64, sum: u64) -> GroupStatus {
        GroupStatus {
            original_message_id: "ANSINH-R7-202409".into(),
            original_message_name: "pain.001.001.09".into(),
            original_transactions: Some(n),
            original_control_sum: Some(sum),
            ..Default::default()
        }
    }

    /// The plan for `txs` read as a report of run `run`.
    fn plan_of(
        run: &Run,
        answered: Answered,
        header: &GroupStatus,
        txs: &[TransactionStatus],
        stored: &HashMap<i64, Stored>,
    ) -> Plan {
        let mut listings = Listings::default();
        for tx in txs {
            listings.add(run, stored, tx.clone());
        }
        plan(run, answered, header, listings, stored)
    }

    fn messages(plan: &Plan) -> Vec<String> {
        plan.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn applies_new_statuses_and_flags_the_deceased() {
        let txs = [
            tx(10, &e2e(1), "ACSC", &[], Some(500_000)),
            tx(11, &e2e(2), "RJCT", &["AC04"], None),
            tx(12, &e2e(3), "RJCT", &["MD07"], None),
            tx(13, &e2e(4), "PDNG", &[], None),
        ];
        let plan = plan_of(&run(), ALL_FOUR, &group_of(4, 2_000_000), &txs, &stored());
        assert!(plan.problems.is_empty(), "{:?}", messages(&plan));
        assert_eq!((plan.settled, plan.accepted, plan.unchanged), (0, 1, 2));
        assert_eq!(plan.rejected, BTreeMap::from([("MD07".to_owned(), 1)]));
        assert_eq!(
            plan.writes.changes,
            [
                Change { payment_id: 3, status: "rejected", bank_status: "RJCT".into(), reason: Some("MD07".into()) },
                Change { payment_id: 4, status: "accepted", bank_status: "PDNG".into(), reason: None },
            ]
        );
        assert_eq!(plan.writes.flags, [Flag { payment_id: 3, beneficiary_id: 103, reason: "MD07".into() }]);
    }

    #[test]
    fn reports_unknown_duplicate_contradicting_and_mismatched_transactions() {
        let txs = [
            tx(10, &e2e(1), "RJCT", &["AC04"], None), // settled before
            tx(11, &end_to_end_id("2024-09".parse().unwrap(), 8, 3), "ACSC", &[], None), // run 8's
            tx(12, &e2e(99), "ACSC", &[], None),      // no such payment
            tx(13, "SOMETHING-ELSE", "ACSC", &[], None),
            tx(14, &e2e(3), "ACSC", &[], None),
            tx(15, &e2e(3), "RJCT", &["AC01"], None), // listed twice, differently
            tx(16, &e2e(4), "ACSC", &[], Some(400_000)),
            tx(17, &e2e(2), "CANC", &[], None),
        ];
        let plan = plan_of(&run(), ALL_FOUR, &group_of(9, 5_000_000), &txs, &stored());
        assert!(plan.writes.changes.is_empty(), "{:?}", plan.writes.changes);
        assert_eq!(
            messages(&plan),
            [
                "OrgnlNbOfTxs is 9, but run 7 issued 4 payments",
                "OrgnlCtrlSum is 5,000,000 VND, but run 7 issued 2,000,000 VND",
                "line 10: AS202409R7P1 was settled (ACSC) by an earlier report; this one says RJCT AC04: not applied",
                "line 11: AS202409R8P3 is a payment of run 8, not of run 7: not applied",
                "line 12: no payment of run 7 has the EndToEndId AS202409R7P99: not applied",
                "line 13: SOMETHING-ELSE is not an EndToEndId ansinh issued: not applied",
                "line 14: AS202409R7P3 is listed 2 times with different statuses (lines 14, 15): not applied",
                "line 16: AS202409R7P4 is reported for 400,000 VND, but the payment is 500,000 VND: not applied",
                "line 17: AS202409R7P2 has TxSts \"CANC\", which reconcile does not apply (expected ACSC or ACCC \
                 settled, RJCT rejected, or ACCP, ACSP, ACTC, PDNG... accepted): not applied",
            ]
        );
        assert_eq!(plan.writes.problems, 9);
    }

    #[test]
    fn a_repeated_identical_listing_is_applied_once_and_reported() {
        let txs = [tx(10, &e2e(3), "ACSC", &[], None), tx(20, &e2e(3), "ACSC", &[], None)];
        let header = GroupStatus { original_message_id: "ANSINH-R7-202409-B".into(), ..Default::default() };
        let plan = plan_of(&run(), SOME_OF_FOUR, &header, &txs, &stored());
        assert_eq!(messages(&plan), ["line 10: AS202409R7P3 is listed 2 times (lines 10, 20); applied once"]);
        assert_eq!(plan.writes.changes.len(), 1);
        assert_eq!(plan.settled, 1);
    }

    #[test]
    fn totals_must_agree_with_the_listed_transactions() {
        let txs = [tx(10, &e2e(3), "ACSC", &[], Some(500_000)), tx(11, &e2e(4), "ACSC", &[], Some(500_000))];
        // A file of its own (bank or e-wallet part of the run): 2 of the run's 4 payments.
        let mut g = group_of(2, 900_000);
        g.original_message_id = "ANSINH-R7-202409-W".into();
        let plan = plan_of(&run(), SOME_OF_FOUR, &g, &txs, &stored());
        assert_eq!(
            messages(&plan),
            ["the 2 transactions listed add up to 1,000,000 VND, not OrgnlCtrlSum 900,000 VND"]
        );
        assert_eq!(plan.settled, 2, "the transactions themselves are unambiguous");
    }

    #[test]
    fn pending_after_final_is_a_note_and_same_status_changes_nothing() {
        let txs = [tx(10, &e2e(1), "PDNG", &[], None), tx(11, &e2e(2), "RJCT", &["AC04"], None)];
        let plan = plan_of(&run(), ALL_FOUR, &group_of(4, 2_000_000), &txs, &stored());
        assert!(plan.problems.is_empty(), "{:?}", messages(&plan));
        assert_eq!(plan.notes, ["line 10: AS202409R7P1 is already settled (ACSC); its PDNG here is older news"]);
        assert_eq!(plan.unchanged, 1);
        assert!(plan.writes.changes.is_empty());
    }

    #[test]
    fn an_arrears_payment_is_matched_by_its_own_month_and_file() {
        let mut stored = stored();
        stored.get_mut(&3).unwrap().period = "2024-07".into();
        stored.get_mut(&4).unwrap().channel = "ewallet".into();
        let arrears = end_to_end_id("2024-07".parse().unwrap(), 7, 3);
        let txs = [tx(10, &arrears, "ACSC", &[], None), tx(11, &e2e(4), "ACSC", &[], None)];
        let plan = plan_of(&run(), ALL_FOUR, &group_of(2, 1_000_000), &txs, &stored);
        assert_eq!(plan.settled, 1, "the arrears payment of 2024-07 is run 7's");
        assert!(
            messages(&plan).iter().any(|m| m.contains("is a payment of the run's ewallet file, not of the bank file")),
            "{:?}",
            messages(&plan)
        );
    }
}
