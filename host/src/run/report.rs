//! What a run decided and paid, for `run show` and the demo's summary.

use std::fmt;

use crate::format::{group, heading};
use crate::model::{Outcome, PluginName, Total};
use crate::store::Db;
use crate::store::decisions::{self, OutcomeTotal};
use crate::store::reconcile::{self, Standing};
use crate::store::runs::{self, Run, RunStatus};
use crate::store::{payments, plugins};

use super::approve::{self, Tally};
use super::review::{self, Review};

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
    /// What the run would pay now, while it awaits approval (evaluated runs).
    pub to_approve: Option<Tally>,
    /// How the payments stand with the bank (`run reconcile`).
    pub standing: Standing,
    /// Exceptions, categories, and the difference from the previous month.
    pub review: Review,
}

impl RunReport {
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
    let to_approve = if run.status == RunStatus::Evaluated { Some(approve::current(db, run_id).await?) } else { None };
    Ok(RunReport {
        to_approve,
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
        write!(f, "Plug-in {} (sha256 {})", self.plugin, run.plugin_hash)?;
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
            steps.iter().filter_map(|(step, by)| by.as_ref().map(|by| format!("{step} by {by}"))).collect();
        if !who.is_empty() {
            writeln!(f, "{}", who.join(", "))?;
        }
        if let Some(reason) = &run.cancel_reason {
            writeln!(f, "Cancelled: {reason}")?;
        }
        writeln!(f)?;
        writeln!(f, "  {:<14} {:>10} {:>22}", "outcome", "people", "monthly amount (VND)")?;
        for t in &self.outcomes {
            writeln!(f, "  {:<14} {:>10} {:>22}", label(t.outcome, run.status), group(t.count), group(t.amount))?;
        }
        writeln!(f, "  {:<14} {:>10}", "total", group(self.decided()))?;
        write!(f, "{}", self.review)?;
        if run.status.is_issued() {
            let Total { count, amount } = self.payments;
            writeln!(f, "\nIssued {} payments, {} VND in all.", group(count), group(amount))?;
            let left_out = self.count(Outcome::Payable) - count;
            if left_out > 0 {
                writeln!(f, "{} payable people were already paid for {} by another run.", group(left_out), run.period)?;
            }
        }
        if let Some(tally) = &self.to_approve {
            writeln!(f, "\nTo pay: {tally}.")?;
            if run.voided_approval.is_some() {
                writeln!(f, "An earlier approval was void: what it approved changed before the run was issued.")?;
            }
            let makers: Vec<&str> =
                [&run.created_by, &run.evaluated_by].into_iter().flatten().map(|s| s.as_str()).collect();
            writeln!(
                f,
                "Approve it, as someone other than {}: ansinh run approve {} --checksum {}",
                makers.join(" and "),
                run.id,
                tally.checksum
            )?;
        }
        if self.standing.any_answer() {
            write!(f, "{}", self.standing)?;
        }
        if !self.errors.is_empty() {
            writeln!(f, "\nPlug-in errors:")?;
            for (error, count) in &self.errors {
                writeln!(f, "  {:>8} × {error}", group(*count))?;
            }
        }
        Ok(())
    }
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

fn label(outcome: Outcome, status: RunStatus) -> &'static str {
    match outcome {
        Outcome::Payable if status.is_issued() => "paid",
        Outcome::Payable => "payable",
        Outcome::Held => "held (review)",
        Outcome::NotEligible => "not eligible",
        Outcome::NotVerified => "not verified",
        Outcome::NoAccount => "no account",
        Outcome::PluginError => "plug-in error",
    }
}
