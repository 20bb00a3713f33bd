//! What a run decided and paid, for `run show` and the demo's summary.

use std::fmt;

use crate::format::{Shown, group, heading};
use crate::identity::masked;
use crate::model::{Outcome, PluginName, Total};
use crate::store::Db;
use crate::store::decisions::{self, OutcomeTotal};
use crate::store::holds::{self, ACCOUNT_CHANGED};
use crate::store::reconcile::{self, Rejected, Standing};
use crate::store::runs::{self, Run, RunStatus};
use crate::store::{self, payments, plugins};
use crate::trail::{self, Tampered};

use super::approve::{self, Tally};
use super::review::{self, Review};

/// A person held from a run's payment, as `run show` lists them.
#[derive(Clone, Debug)]
pub struct Held {
    pub period: String,
    pub beneficiary_id: i64,
    pub full_name: String,
    pub reason: String,
    pub detail: String,
}

/// Plug-in error messages listed, most frequent first.
const ERRORS_SHOWN: i64 = 10;

#[derive(Clone, Debug)]
pub struct RunReport {
    pub run: Run,
    pub plugin: PluginName,
    /// Every outcome, in a fixed order, zeros included.
    pub outcomes: Vec<OutcomeTotal>,
    /// Number and total of payments issued.
    pub payments: Total,
    /// Distinct plug-in errors with how many decisions each.
    pub errors: Vec<(String, i64)>,
    /// What the run would pay now, while it awaits approval (evaluated runs),
    /// or why it cannot be approved: its decisions are not what evaluation sealed.
    pub to_approve: Option<Result<Tally, Tampered>>,
    /// The people held from this run's payment: now, while it awaits approval;
    /// as its approval recorded them, once approved.
    pub held: Vec<Held>,
    /// Payments the bank rejected: how many, and the first.
    pub rejected: (i64, Vec<Rejected>),
    /// How the payments stand with the bank (`run reconcile`).
    pub standing: Standing,
    /// Exceptions, categories, and the difference from the previous month.
    pub review: Review,
    /// Refusals (`run refuse`), oldest first: who, when, why.
    pub refusals: Vec<Refusal>,
    /// The grant that made its approval possible: the entry that gave the approver their roles.
    pub approver_grant: Option<trail::Grant>,
}

/// A refusal of the run, as the log recorded it.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub by: String,
    pub at: String,
    pub reason: String,
}

impl RunReport {
    /// How many people it names: the review's, the held and the rejected listed.
    pub fn people_listed(&self) -> usize {
        self.review.people_listed() + self.held.len() + self.rejected.1.len()
    }

    pub fn count(&self, outcome: Outcome) -> i64 {
        self.outcomes.iter().find(|t| t.outcome == outcome).map_or(0, |t| t.count)
    }

    pub fn decided(&self) -> i64 {
        self.outcomes.iter().map(|t| t.count).sum()
    }
}

/// People listed per exception kind and per change, unless asked for more.
pub const LISTED: i64 = 10;

/// The report on run `run_id`, listing up to `listed` people per list.
pub async fn report(db: &Db, run_id: i64, listed: i64) -> anyhow::Result<RunReport> {
    let run = runs::get(db, run_id).await?;
    let stored = decisions::totals(db, run_id).await?;
    let outcomes = Outcome::ALL
        .iter()
        .map(|&outcome| {
            stored.iter().find(|t| t.outcome == outcome).cloned().unwrap_or(OutcomeTotal {
                outcome,
                count: 0,
                amount: 0,
            })
        })
        .collect();
    let (to_approve, held) = if run.status == RunStatus::Evaluated {
        match approve::proposal(db, run_id).await? {
            Ok(proposal) => {
                let held = proposal.held.into_iter().map(|h| Held {
                    period: h.period,
                    beneficiary_id: h.beneficiary_id,
                    full_name: h.full_name,
                    reason: h.reason,
                    detail: h.detail,
                });
                (Some(Ok(proposal.tally)), held.collect())
            }
            Err(tampered) => (Some(Err(tampered)), Vec::new()),
        }
    } else {
        let recorded = holds::of_run(db, run_id).await?.into_iter().map(|h| Held {
            period: h.period,
            beneficiary_id: h.beneficiary_id,
            full_name: h.full_name,
            reason: h.reason,
            detail: h.detail,
        });
        (None, recorded.collect())
    };
    let approver_grant = match run.approved_by {
        Some(_) => trail::grant_for(db, &trail::run_subject(run_id), trail::action::RUN_APPROVE).await?,
        None => None,
    };
    let refusals = store::audit::about(db, &trail::run_subject(run_id))
        .await?
        .into_iter()
        .filter(|e| e.action == trail::action::RUN_REFUSE)
        .map(|e| {
            let details: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
            Refusal { by: e.actor, at: e.at, reason: details["reason"].as_str().unwrap_or_default().to_owned() }
        })
        .collect();
    Ok(RunReport {
        refusals,
        approver_grant,
        to_approve,
        held,
        rejected: reconcile::rejected(db, run_id, listed).await?,
        plugin: plugins::name(db, run.plugin_hash).await?,
        payments: payments::totals(db, run_id).await?,
        errors: decisions::error_summary(db, run_id, ERRORS_SHOWN).await?,
        standing: reconcile::standing(db, run_id).await?,
        review: review::review(db, &run, listed).await?,
        outcomes,
        run,
    })
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = &self.run;
        writeln!(f, "Run {}", heading(run))?;
        write!(f, "Plug-in {} (sha256 {})", Shown(&self.plugin.to_string()), run.plugin_hash)?;
        match run.release_id {
            Some(release) => writeln!(f, ", release {release}")?,
            None => writeln!(f)?,
        }
        let steps = [
            ("created", &run.created_by),
            ("evaluated", &run.evaluated_by),
            ("approved", &run.approved_by),
            ("issued", &run.issued_by),
            ("cancelled", &run.cancelled_by),
        ];
        let who: Vec<String> =
            steps.iter().filter_map(|(step, by)| by.as_ref().map(|by| format!("{step} by {}", Shown(by)))).collect();
        if !who.is_empty() {
            writeln!(f, "{}", who.join(", "))?;
        }
        if let (Some(approver), Some(grant)) = (&run.approved_by, &self.approver_grant) {
            writeln!(
                f,
                "{} holds {} by entry #{} of the audit log ({}, granted by {})",
                Shown(approver),
                grant.roles.join(", "),
                grant.seq,
                grant.at,
                Shown(&grant.by)
            )?;
        }
        if let Some(reason) = &run.cancel_reason {
            writeln!(f, "Cancelled: {}", Shown(reason))?;
        }
        for r in &self.refusals {
            writeln!(f, "Refused by {} at {}: {}", Shown(&r.by), r.at, Shown(&r.reason))?;
        }
        writeln!(f)?;
        writeln!(f, "  {:<18} {:>10} {:>22}", "outcome", "people", "monthly amount (VND)")?;
        let row = |f: &mut fmt::Formatter<'_>, label: &str, count: i64, amount: i64| {
            writeln!(f, "  {label:<18} {:>10} {:>22}", group(count), group(amount))
        };
        for t in &self.outcomes {
            if t.outcome == Outcome::Payable && run.status.is_issued() {
                // What this run paid, and the payable people it did not: never "paid" for those.
                let paid = self.payments;
                row(f, "paid", paid.count, paid.amount)?;
                if t.count > paid.count {
                    row(f, "payable, not paid", t.count - paid.count, t.amount - paid.amount)?;
                }
            } else {
                row(f, label(t.outcome), t.count, t.amount)?;
            }
        }
        writeln!(f, "  {:<18} {:>10}", "total", group(self.decided()))?;
        write!(f, "{}", self.review)?;
        self.held_and_rejected(f)?;
        if run.status.is_issued() {
            let Total { count, amount } = self.payments;
            writeln!(f, "\nIssued {} payments, {} VND in all.", group(count), group(amount))?;
            let held = self.held.len() as i64;
            let left_out = self.count(Outcome::Payable) - count - held;
            if left_out > 0 {
                writeln!(f, "{} payable people were already paid for {} by another run.", group(left_out), run.period)?;
            }
        }
        match &self.to_approve {
            Some(Ok(tally)) => {
                writeln!(f, "\nTo pay: {tally}.")?;
                let voided = run.voided_approval.as_deref().map(serde_json::from_str::<serde_json::Value>);
                match voided {
                    Some(Ok(record)) if record["refused_by"].is_string() => writeln!(
                        f,
                        "An earlier approval was withdrawn: {} refused the run.",
                        Shown(record["refused_by"].as_str().unwrap_or_default())
                    )?,
                    Some(_) => writeln!(
                        f,
                        "An earlier approval was void: what it approved changed before the run was issued."
                    )?,
                    None => {}
                }
                let mut makers: Vec<String> =
                    [&run.created_by, &run.evaluated_by].into_iter().flatten().map(|s| Shown(s).to_string()).collect();
                makers.dedup();
                writeln!(
                    f,
                    "Approve it, as someone other than {}: ansinh run approve {} --checksum {}",
                    makers.join(" and "),
                    run.id,
                    tally.checksum
                )?;
            }
            Some(Err(tampered)) => writeln!(f, "\nNOT TO BE APPROVED: {tampered}")?,
            None => {}
        }
        if self.standing.any_answer() {
            write!(f, "{}", self.standing)?;
        }
        if !self.errors.is_empty() {
            writeln!(f, "\nPlug-in errors:")?;
            for (error, count) in &self.errors {
                writeln!(f, "  {:>8} × {}", group(*count), Shown(error))?;
            }
        }
        Ok(())
    }
}

impl RunReport {
    /// The people held from this run's payment, and those whose payment the bank rejected.
    fn held_and_rejected(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.held.is_empty() {
            let when = if self.run.status == RunStatus::Evaluated { "now" } else { "by its approval" };
            writeln!(
                f,
                "\nHeld from this run's payment {when} (a later run for the month can pay them): {}",
                group(self.held.len() as i64)
            )?;
            for h in &self.held {
                let why = if h.reason == ACCOUNT_CHANGED {
                    format!("account changed since evaluation: {}", Shown(&h.detail))
                } else {
                    "reported deceased by a bank (MD07) since evaluation, not cleared".to_owned()
                };
                writeln!(f, "    #{:<8} {} ({}): {why}", h.beneficiary_id, Shown(&h.full_name), h.period)?;
            }
        }
        let (count, first) = &self.rejected;
        if *count > 0 {
            writeln!(f, "\nRejected by the bank (a later run for the month can pay them, once): {}", group(*count))?;
            for r in first {
                writeln!(
                    f,
                    "    #{:<8} {} ({}): {} {} {} {}",
                    r.beneficiary_id,
                    Shown(&r.full_name),
                    r.period,
                    r.reason.as_deref().map_or("RJCT (no reason given)".to_owned(), reason_text),
                    r.channel,
                    Shown(&r.bank_bin),
                    Shown(&masked(&r.account_number))
                )?;
            }
            if *count > first.len() as i64 {
                writeln!(
                    f,
                    "    … and {} more (`run show ID --list N` lists more)",
                    group(count - first.len() as i64)
                )?;
            }
        }
        Ok(())
    }
}

/// A rejection's reason code, with what it means (payments.md).
fn reason_text(code: &str) -> String {
    let meaning = match code {
        "AC01" => "wrong account number",
        "AC04" => "closed account",
        "AC06" => "blocked account",
        "AM04" => "insufficient funds",
        "MD07" => "beneficiary deceased",
        _ => return code.to_owned(),
    };
    format!("{code} {meaning}")
}

/// The bank's answers so far: settled, accepted, rejected by reason code, unanswered.
impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\n  {:<20} {:>10} {:>22}", "with the bank", "payments", "amount (VND)")?;
        let mut line = |label: &str, Total { count, amount }: Total| {
            writeln!(f, "  {label:<20} {:>10} {:>22}", group(count), group(amount))
        };
        line("settled", self.settled)?;
        line("accepted", self.accepted)?;
        for (reason, total) in &self.rejected {
            line(&format!("rejected {}", reason.as_deref().unwrap_or("(no code)")), *total)?;
        }
        line("no answer yet", self.unanswered)
    }
}

fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Payable => "payable",
        Outcome::Held => "held (review)",
        Outcome::NotEligible => "not eligible",
        Outcome::NotVerified => "not verified",
        Outcome::NoAccount => "no account",
        Outcome::PluginError => "plug-in error",
    }
}
