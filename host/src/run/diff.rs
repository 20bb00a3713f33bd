//! `run diff`: what a candidate plug-in would change in a past run, before
//! anyone approves it as a new rule.
//!
//! Every stored decision the run's plug-in was asked for is asked again of the
//! candidate, with the same stored input cut to the fields the candidate reads
//! (least data), in a fresh instance, and settled by the same host policy as
//! `run evaluate` ([`decide::settle`]). Decisions are read page by page in key
//! order, so memory does not grow with the run; only counts, totals per
//! category and the first people of each list are kept. Nothing is written:
//! the run, its decisions and its payments stay as they are.

use crate::trail::Actor;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::model::{Channel, Outcome, PluginName, Total};
use crate::registry::verify::Verification;
use crate::store::decisions::{self, DecisionRow};
use crate::store::runs::{self, Run, RunStatus};
use crate::store::{Db, plugins};
use ansinh_sandbox::{CheckedOutput, DecisionInput, Description, Plugin, PluginHash, Sandbox};

use super::decide::{is_owed, settle};
use crate::format::{Shown, group};

/// Decisions read and asked again per page.
const PAGE: i64 = 500;

/// Distinct candidate error messages counted one by one; the rest are counted together.
const ERRORS_KEPT: usize = 10;

/// How one decision changes under the candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Owed more a month, including newly eligible.
    Gain,
    /// Owed less a month, including no longer eligible.
    Loss,
    /// The same amount, another outcome (e.g. a plug-in error becomes not eligible).
    OutcomeOnly,
    Unchanged,
}

/// Compare what a decision owed before and would owe after, as (outcome, amount).
pub fn classify(before: (Outcome, u64), after: (Outcome, u64)) -> Change {
    match after.1.cmp(&before.1) {
        std::cmp::Ordering::Greater => Change::Gain,
        std::cmp::Ordering::Less => Change::Loss,
        std::cmp::Ordering::Equal if after.0 != before.0 => Change::OutcomeOnly,
        std::cmp::Ordering::Equal => Change::Unchanged,
    }
}

/// One person (one month) listed in the report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Listed {
    pub period: String,
    pub beneficiary_id: i64,
    /// The payee's name stored with the decision (never an ID number).
    pub name: String,
    pub before: (Outcome, u64, Option<String>),
    pub after: (Outcome, u64, Option<String>),
}

impl WhatIf {
    /// Put the what-if on record (`run.what_if`), as `by`, so that whoever
    /// approves the candidate's release is shown it.
    pub async fn record(&self, db: &Db, by: &Actor) -> anyhow::Result<()> {
        let mut tx = db.begin().await?;
        let subject = crate::trail::run_subject(self.run.id);
        crate::trail::append(&mut tx, by, crate::trail::action::RUN_WHAT_IF, &subject, self.summary()).await?;
        tx.commit().await
    }

    /// What the audit log keeps of a what-if, for the release's approver.
    pub fn summary(&self) -> serde_json::Value {
        let c = &self.changes;
        serde_json::json!({
            "candidate": self.candidate_hash.to_string(),
            "name": self.candidate.name,
            "version": self.candidate.version,
            "decisions": c.decisions,
            "gained": { "people": c.gained.count, "amount": c.gained.amount },
            "lost": { "people": c.lost.count, "amount": c.lost.amount },
            "outcome_only": c.outcome_only.count,
            "errors": c.errors.count,
            "total_before": c.total_before,
            "total_after": c.total_after,
        })
    }

    /// The summary as one line, for the approver of the candidate's release.
    pub fn summary_line(summary: &serde_json::Value) -> String {
        let n = |v: &serde_json::Value| group(v.as_i64().unwrap_or(0));
        format!(
            "{} gain (+{} VND a month), {} lose (-{}), {} other outcome, {} errors; owed {} → {} VND",
            n(&summary["gained"]["people"]),
            n(&summary["gained"]["amount"]),
            n(&summary["lost"]["people"]),
            n(&summary["lost"]["amount"]),
            n(&summary["outcome_only"]),
            n(&summary["errors"]),
            n(&summary["total_before"]),
            n(&summary["total_after"]),
        )
    }
}

/// Categories shown one by one; the rest are summed on one line.
const CATEGORIES: usize = 100;
const OTHER_CATEGORIES: &str = "(other categories)";

/// Count, and the first people.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Group {
    pub count: i64,
    /// Sum of the amounts gained (or lost), per month.
    pub amount: i64,
    pub first: Vec<Listed>,
}

impl Changes {
    /// How many people it names.
    pub fn people_listed(&self) -> usize {
        [&self.gained, &self.lost, &self.outcome_only, &self.errors].iter().map(|g| g.first.len()).sum()
    }
}

impl Group {
    fn add(&mut self, listed: usize, amount: i64, person: impl FnOnce() -> Listed) {
        self.count += 1;
        self.amount += amount;
        if self.first.len() < listed {
            self.first.push(person());
        }
    }
}

/// People and monthly amount of one category before and after, among those owed money.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CategoryTotals {
    pub before: Total,
    pub after: Total,
}

/// What the candidate would change in the run.
#[derive(Clone, Debug)]
pub struct WhatIf {
    pub run: Run,
    /// Name and version of the run's plug-in.
    pub plugin: PluginName,
    pub candidate: Description,
    pub candidate_hash: PluginHash,
    pub changes: Changes,
}

/// The counts, totals and first people of a what-if. A part of a what-if
/// (`jobs::parts`) is stored as JSON and merged ([`Changes::merge`]).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Changes {
    /// Every decision of the run.
    pub decisions: i64,
    /// Decisions the run's plug-in was never asked for (no registry record): unchanged.
    pub not_asked: i64,
    pub gained: Group,
    pub lost: Group,
    pub outcome_only: Group,
    pub unchanged: i64,
    /// Decisions the candidate failed on: counted apart, not as losses; `amount` is what they were owed before.
    pub errors: Group,
    /// The first distinct error messages of the candidate with how many decisions each.
    pub error_messages: BTreeMap<String, i64>,
    /// Errors with a message other than those kept.
    pub other_errors: i64,
    /// Owed a month over all decisions (paid, held, cash), before and after.
    pub total_before: i64,
    pub total_after: i64,
    pub categories: BTreeMap<String, CategoryTotals>,
}

/// Evaluate `candidate` over the stored inputs of run `run_id`, `workers`
/// decisions at a time, listing the first `listed` people of each kind of
/// change; `progress` is told the decisions done and the total.
pub async fn diff(
    db: &Db,
    sandbox: &Sandbox,
    run_id: i64,
    candidate: Arc<Plugin>,
    workers: usize,
    listed: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<WhatIf> {
    let (run, plugin) = check(db, sandbox, run_id, &candidate).await?;
    let total = decisions::count(db, run_id).await?;

    let mut changes = Changes::default();
    let mut reader = decisions::Reader::default();
    let mut page = reader.page(db, run_id, &(String::new(), 0), PAGE).await?;
    while let Some(last) = page.last() {
        let after = (last.period.clone(), last.beneficiary_id);
        // Read the next page while this one is asked again.
        let (candidate, workers) = (candidate.clone(), workers.max(1));
        let asking = tokio::task::spawn_blocking(move || ask_page(&candidate, page, workers));
        let (next, asked) = tokio::join!(reader.page(db, run_id, &after, PAGE), asking);
        for (stored, answer) in asked?? {
            changes.add(stored, answer, listed);
        }
        progress(changes.decisions as u64, total.max(changes.decisions) as u64);
        page = next?;
    }
    Ok(WhatIf::new(run, plugin, &candidate, changes))
}

/// Check that `candidate` can be asked over run `run_id` (evaluated, and
/// its stored inputs hold what the candidate reads): the run, and the name
/// of its plug-in.
pub async fn check(db: &Db, sandbox: &Sandbox, run_id: i64, candidate: &Plugin) -> anyhow::Result<(Run, PluginName)> {
    let run = runs::get(db, run_id).await?;
    if run.status == RunStatus::Created {
        bail!("run {run_id} is not evaluated yet, so it has no decisions to compare: `ansinh run evaluate {run_id}`");
    }
    let plugin = plugins::name(db, run.plugin_hash).await?;
    let run_plugin = sandbox
        .load(&plugins::bytes(db, run.plugin_hash).await?)
        .with_context(|| format!("loading run {run_id}'s plug-in {plugin}"))?;
    fits(&run, &run_plugin, candidate)?;
    Ok((run, plugin))
}

/// Ask `candidate` over one part of run `run_id` (the month `period`, the
/// beneficiaries in `range`: after, up to), `workers` decisions at a time,
/// reading no further page once `stops` says so (then None): what a part of
/// a what-if job found, to be merged ([`Changes::merge`]).
#[allow(clippy::too_many_arguments)] // the part, the candidate, how it is asked, when it stops, how it goes
pub async fn ask_range(
    db: &Db,
    run_id: i64,
    period: &str,
    range: (i64, Option<i64>),
    candidate: &Arc<Plugin>,
    workers: usize,
    listed: usize,
    stops: &(dyn Fn() -> bool + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Option<Changes>> {
    let mut changes = Changes::default();
    let mut reader = decisions::Reader::default();
    let mut after = range.0;
    loop {
        if stops() {
            return Ok(None);
        }
        let page = reader.range(db, run_id, period, (after, range.1), PAGE).await?;
        let Some(last) = page.last() else { return Ok(Some(changes)) };
        after = last.beneficiary_id;
        let (candidate, workers) = (candidate.clone(), workers.max(1));
        for (stored, answer) in tokio::task::spawn_blocking(move || ask_page(&candidate, page, workers)).await?? {
            changes.add(stored, answer, listed);
        }
        progress(changes.decisions as u64);
    }
}

impl WhatIf {
    /// What `candidate` would change in `run` (whose plug-in is `plugin`): `changes`.
    pub fn new(run: Run, plugin: PluginName, candidate: &Plugin, changes: Changes) -> WhatIf {
        WhatIf { run, plugin, candidate: candidate.description().clone(), candidate_hash: candidate.hash(), changes }
    }
}

/// Refuse a candidate the run's stored inputs cannot answer for, or that does
/// not serve the run's programme and province.
fn fits(run: &Run, run_plugin: &Plugin, candidate: &Plugin) -> anyhow::Result<()> {
    let (d, r) = (candidate.description(), run_plugin.description());
    if !d.programs.contains(&run.program) {
        bail!(
            "the candidate {} {} serves {}, not run {}'s programme {}: diff it against a run of its own programme",
            d.name,
            d.version,
            d.programs.join(", "),
            run.id,
            run.program
        );
    }
    if let Some(own) = d.province.as_deref().filter(|own| *own != run.province) {
        bail!(
            "the candidate {} {} is for province {own}, not run {}'s province {}: diff it against a run of province {own}",
            d.name,
            d.version,
            run.id,
            run.province
        );
    }
    let unread: Vec<&str> = d.reads.iter().filter(|f| !r.reads.contains(f)).map(String::as_str).collect();
    if !unread.is_empty() {
        bail!(
            "the candidate {} {} reads {}, which run {}'s plug-in {} {} did not read, so the run's stored inputs do not \
             hold it: a what-if over this run cannot answer for it. Declare only fields among {} in the candidate's \
             describe(), or evaluate it in a new run",
            d.name,
            d.version,
            unread.join(", "),
            run.id,
            r.name,
            r.version,
            r.reads.join(", ")
        );
    }
    Ok(())
}

/// What the candidate answers for one stored decision, settled by the host;
/// `None` when the run's plug-in was never asked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    outcome: Outcome,
    amount: u64,
    category: Option<String>,
    error: Option<String>,
}

/// Ask the candidate for every decision of a page, on `workers` threads; the answers in page order.
fn ask_page(
    candidate: &Plugin,
    page: Vec<DecisionRow>,
    workers: usize,
) -> anyhow::Result<Vec<(DecisionRow, Option<Answer>)>> {
    let chunk = page.len().div_ceil(workers).max(1);
    let answers: Vec<Vec<Option<Answer>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = page
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(|d| ask(candidate, d)).collect::<anyhow::Result<Vec<_>>>()))
            .collect();
        threads.into_iter().map(|t| t.join().expect("a what-if thread panicked")).collect::<anyhow::Result<_>>()
    })?;
    Ok(page.into_iter().zip(answers.into_iter().flatten()).collect())
}

/// Ask the candidate for one stored decision, as `run evaluate` asked the run's plug-in.
fn ask(candidate: &Plugin, stored: &DecisionRow) -> anyhow::Result<Option<Answer>> {
    let Some(input) = &stored.input else { return Ok(None) };
    let whose = || format!("the stored decision of #{} for {}", stored.beneficiary_id, stored.period);
    let input: DecisionInput =
        serde_json::from_str(input).with_context(|| format!("reading the input of {}", whose()))?;
    let verification: Verification = serde_json::from_str(&stored.verification)
        .with_context(|| format!("reading the verification of {}", whose()))?;
    let channel = Channel::from_str(&stored.channel)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("reading the channel of {}", whose()))?;
    // The candidate's own cut of the stored facts: only the fields it reads.
    let input = candidate.input(input.period, &input.program, &input.province, input.verified, &input.person);
    let result = candidate.evaluate(&input).result;
    let (outcome, amount) = settle(&verification, &result, channel);
    Ok(Some(match result {
        Ok(CheckedOutput { output, .. }) => Answer { outcome, amount, category: output.category, error: None },
        Err(error) => Answer { outcome, amount, category: None, error: Some(error.to_string()) },
    }))
}

impl Changes {
    fn add(&mut self, stored: DecisionRow, answer: Option<Answer>, listed: usize) {
        self.decisions += 1;
        // The stored outcome was written by this host; an unknown one is counted as owing what is stored.
        let before_outcome = Outcome::from_str(&stored.outcome).unwrap_or(Outcome::PluginError);
        let before_amount = u64::try_from(stored.amount).unwrap_or(0);
        let before_category = stored.category.clone().filter(|_| is_owed(before_outcome));
        let Some(answer) = answer else {
            self.not_asked += 1;
            self.tally(before_category.as_deref(), before_amount, before_category.as_deref(), before_amount);
            return;
        };
        let after_category = answer.category.clone().filter(|_| is_owed(answer.outcome));
        self.tally(before_category.as_deref(), before_amount, after_category.as_deref(), answer.amount);
        let person = || Listed {
            period: stored.period.clone(),
            beneficiary_id: stored.beneficiary_id,
            name: stored.payee_name.clone(),
            before: (before_outcome, before_amount, before_category.clone()),
            after: (answer.outcome, answer.amount, after_category.clone()),
        };
        let difference = answer.amount as i64 - before_amount as i64;
        if let Some(error) = &answer.error {
            let kept = self.error_messages.len();
            match self.error_messages.get_mut(error) {
                Some(count) => *count += 1,
                None if kept < ERRORS_KEPT => {
                    self.error_messages.insert(error.clone(), 1);
                }
                None => self.other_errors += 1,
            }
            self.errors.add(listed, before_amount as i64, person);
            return;
        }
        match classify((before_outcome, before_amount), (answer.outcome, answer.amount)) {
            Change::Gain => self.gained.add(listed, difference, person),
            Change::Loss => self.lost.add(listed, -difference, person),
            Change::OutcomeOnly => self.outcome_only.add(listed, 0, person),
            Change::Unchanged => self.unchanged += 1,
        }
    }

    /// Add what asking the candidate over other decisions found (the next
    /// part of the same run, in key order), listing the first `listed`
    /// people of each kind. Counts, totals (those recorded for the release's
    /// approver) and the people listed are what one pass finds. The count per
    /// error message and per category is too while the run has at most
    /// [`ERRORS_KEPT`] distinct messages and [`CATEGORIES`] categories; past
    /// those, which are counted one by one and which together can differ from
    /// one pass (a part keeps its own first ones), never the totals.
    pub fn merge(&mut self, part: Changes, listed: usize) {
        self.decisions += part.decisions;
        self.not_asked += part.not_asked;
        self.unchanged += part.unchanged;
        self.total_before += part.total_before;
        self.total_after += part.total_after;
        self.other_errors += part.other_errors;
        for (mine, theirs) in [
            (&mut self.gained, part.gained),
            (&mut self.lost, part.lost),
            (&mut self.outcome_only, part.outcome_only),
            (&mut self.errors, part.errors),
        ] {
            mine.count += theirs.count;
            mine.amount += theirs.amount;
            mine.first.extend(theirs.first);
            mine.first.truncate(listed);
        }
        for (message, count) in part.error_messages {
            let kept = self.error_messages.len();
            match self.error_messages.get_mut(&message) {
                Some(mine) => *mine += count,
                None if kept < ERRORS_KEPT => {
                    self.error_messages.insert(message, count);
                }
                None => self.other_errors += count,
            }
        }
        for (category, totals) in part.categories {
            let mine = self.category(&category);
            mine.before.count += totals.before.count;
            mine.before.amount += totals.before.amount;
            mine.after.count += totals.after.count;
            mine.after.amount += totals.after.amount;
        }
    }

    fn tally(&mut self, before: Option<&str>, before_amount: u64, after: Option<&str>, after_amount: u64) {
        self.total_before += before_amount as i64;
        self.total_after += after_amount as i64;
        if let Some(category) = before {
            let c = self.category(category);
            c.before.count += 1;
            c.before.amount += before_amount as i64;
        }
        if let Some(category) = after {
            let c = self.category(category);
            c.after.count += 1;
            c.after.amount += after_amount as i64;
        }
    }

    /// A category's totals; past [`CATEGORIES`] of them, one line for all the
    /// rest: a candidate could name a category per person.
    fn category(&mut self, category: &str) -> &mut CategoryTotals {
        let name = if self.categories.len() < CATEGORIES || self.categories.contains_key(category) {
            category
        } else {
            OTHER_CATEGORIES
        };
        self.categories.entry(name.to_owned()).or_default()
    }
}

impl fmt::Display for WhatIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = &self.run;
        let d = &self.candidate;
        writeln!(f, "What-if over run {}", crate::format::heading(run))?;
        writeln!(f, "Run's plug-in  {} (sha256 {})", Shown(&self.plugin.to_string()), run.plugin_hash)?;
        writeln!(f, "Candidate      {} {} (sha256 {})", Shown(&d.name), Shown(&d.version), self.candidate_hash)?;
        writeln!(f, "Nothing was paid or stored: the candidate was asked over the run's stored inputs.")?;
        if run.first_period < run.period {
            writeln!(f, "Arrears months included: a person counts once for each month decided.")?;
        }
        write!(f, "{}", self.changes)
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\n  {:<32} {:>10} {:>22}", "change", "people", "monthly amount (VND)")?;
        let rows = [
            ("gain", self.gained.count, format!("+{}", group(self.gained.amount))),
            ("lose", self.lost.count, format!("-{}", group(self.lost.amount))),
            ("other outcome, same amount", self.outcome_only.count, String::new()),
            ("unchanged", self.unchanged, String::new()),
            ("not asked (no registry record)", self.not_asked, String::new()),
            ("candidate errors", self.errors.count, format!("(owed {} before)", group(self.errors.amount))),
            ("total", self.decisions, String::new()),
        ];
        for (what, count, amount) in rows {
            writeln!(f, "  {what:<32} {:>10} {amount:>22}", group(count))?;
        }
        let change = self.total_after - self.total_before;
        let sign = if change >= 0 { "+" } else { "" };
        writeln!(
            f,
            "\nOwed a month (paid, held or cash): {} → {} VND ({sign}{}).",
            group(self.total_before),
            group(self.total_after),
            group(change)
        )?;
        if !self.categories.is_empty() {
            writeln!(f, "\n  {:<32} {:>21} {:>37}", "category (paid, held or cash)", "people", "monthly amount (VND)")?;
            for (category, c) in &self.categories {
                let people = format!("{} → {}", group(c.before.count), group(c.after.count));
                let amount = format!("{} → {}", group(c.before.amount), group(c.after.amount));
                writeln!(f, "  {:<32} {people:>21} {amount:>37}", Shown(category))?;
            }
        }
        let lists = [
            ("Gain", &self.gained),
            ("Lose", &self.lost),
            ("Other outcome, same amount", &self.outcome_only),
            ("Candidate errors", &self.errors),
        ];
        for (heading, list) in lists.into_iter().filter(|(_, list)| list.count > 0) {
            writeln!(f, "\n{heading}: {}", group(list.count))?;
            for p in &list.first {
                let (before, after) = (outcome_text(&p.before), outcome_text(&p.after));
                writeln!(f, "    #{:<8} {} ({}): {before} → {after}", p.beneficiary_id, Shown(&p.name), p.period)?;
            }
            if let rest @ 1.. = list.count - list.first.len() as i64 {
                writeln!(f, "    … and {} more (`run diff ID --plugin FILE --list N` lists more)", group(rest))?;
            }
        }
        if !self.error_messages.is_empty() {
            writeln!(f, "\nCandidate errors:")?;
            let mut messages: Vec<_> = self.error_messages.iter().collect();
            messages.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            for (error, count) in messages {
                writeln!(f, "  {:>8} × {}", group(*count), Shown(error))?;
            }
            if self.other_errors > 0 {
                writeln!(f, "  {:>8} × other messages", group(self.other_errors))?;
            }
        }
        Ok(())
    }
}

/// `650,000 payable (elderly_no_support)`, or the outcome alone when nothing is owed.
fn outcome_text((outcome, amount, category): &(Outcome, u64, Option<String>)) -> String {
    match category {
        Some(category) => format!("{} {} ({})", group(*amount as i64), outcome.as_str(), Shown(category)),
        None if *amount > 0 => format!("{} {}", group(*amount as i64), outcome.as_str()),
        None => outcome.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_amount_then_outcome() {
        use Outcome::*;
        // Newly eligible, and a higher level: gains.
        assert_eq!(classify((NotEligible, 0), (Payable, 650_000)), Change::Gain);
        assert_eq!(classify((NoAccount, 500_000), (NoAccount, 650_000)), Change::Gain);
        // No longer eligible, and a lower amount: losses.
        assert_eq!(classify((Held, 500_000), (NotEligible, 0)), Change::Loss);
        assert_eq!(classify((Payable, 750_000), (Payable, 500_000)), Change::Loss);
        // The same money under another outcome.
        assert_eq!(classify((PluginError, 0), (NotEligible, 0)), Change::OutcomeOnly);
        assert_eq!(classify((Payable, 500_000), (Payable, 500_000)), Change::Unchanged);
        assert_eq!(classify((NotVerified, 0), (NotVerified, 0)), Change::Unchanged);
    }

    fn stored(outcome: &str, amount: i64, category: Option<&str>) -> DecisionRow {
        DecisionRow {
            run_id: 1,
            period: "2026-01".into(),
            beneficiary_id: 7,
            outcome: outcome.into(),
            amount,
            category: category.map(str::to_owned),
            verification: "".into(),
            plugin_hash: "".into(),
            engine: None,
            input: Some(String::new()),
            output: None,
            error: None,
            fuel: 0,
            exception: None,
            channel: "bank".into(),
            bank_bin: String::new(),
            account_number: String::new(),
            account_name: String::new(),
            payee_name: "Nguyễn Văn An".into(),
            commune: String::new(),
            digest: None,
        }
    }

    fn answer(outcome: Outcome, amount: u64, category: Option<&str>, error: Option<&str>) -> Option<Answer> {
        Some(Answer { outcome, amount, category: category.map(str::to_owned), error: error.map(str::to_owned) })
    }

    #[test]
    fn tallies_totals_categories_and_errors_apart() {
        let mut w = Changes::default();
        use Outcome::*;
        w.add(stored("payable", 500_000, Some("a")), answer(Payable, 650_000, Some("a"), None), 1);
        w.add(stored("not_eligible", 0, Some("a")), answer(Held, 650_000, Some("b"), None), 1);
        w.add(stored("payable", 1_000_000, Some("b")), answer(NotEligible, 0, Some("b"), None), 1);
        w.add(stored("no_account", 500_000, Some("a")), answer(PluginError, 0, None, Some("trapped")), 1);
        let mut not_asked = stored("not_verified", 0, None);
        not_asked.input = None;
        w.add(not_asked, None, 1);

        assert_eq!((w.decisions, w.not_asked, w.unchanged), (5, 1, 0));
        assert_eq!((w.gained.count, w.gained.amount, w.gained.first.len()), (2, 800_000, 1));
        assert_eq!((w.lost.count, w.lost.amount), (1, 1_000_000));
        assert_eq!((w.errors.count, w.errors.amount), (1, 500_000));
        assert_eq!(w.error_messages.get("trapped"), Some(&1));
        assert_eq!((w.total_before, w.total_after), (2_000_000, 1_300_000));
        assert_eq!(w.total_before + w.gained.amount - w.lost.amount - w.errors.amount, w.total_after);
        // Before: a (payable, no_account), b (payable); the not-eligible one is in no category.
        let totals =
            |before: (i64, i64), after: (i64, i64)| CategoryTotals { before: before.into(), after: after.into() };
        assert_eq!(w.categories["a"], totals((2, 1_000_000), (1, 650_000)));
        assert_eq!(w.categories["b"], totals((1, 1_000_000), (1, 650_000)));
        assert_eq!(w.gained.first[0].name, "Nguyễn Văn An");
    }

    #[test]
    fn parts_merged_in_order_find_what_one_pass_finds() {
        use Outcome::*;
        let rows: Vec<(DecisionRow, Option<Answer>)> = (0..40)
            .map(|i| {
                let mut row = stored(if i % 3 == 0 { "payable" } else { "not_eligible" }, (i % 3) * 500_000, Some("a"));
                row.beneficiary_id = i;
                let error = (i % 7 == 0).then(|| format!("trap {}", i % 14));
                let answer = match error {
                    Some(error) => answer(PluginError, 0, None, Some(&error)),
                    None => answer(Payable, 650_000, Some(if i % 2 == 0 { "a" } else { "b" }), None),
                };
                (row, answer)
            })
            .collect();
        let mut one = Changes::default();
        rows.iter().cloned().for_each(|(row, answer)| one.add(row, answer, 3));
        let mut merged = Changes::default();
        for part in rows.chunks(9) {
            let mut found = Changes::default();
            part.iter().cloned().for_each(|(row, answer)| found.add(row, answer, 3));
            // As a part is stored and read back.
            let found: Changes = serde_json::from_str(&serde_json::to_string(&found).unwrap()).unwrap();
            merged.merge(found, 3);
        }
        assert_eq!(serde_json::to_value(&merged).unwrap(), serde_json::to_value(&one).unwrap());
        // The first three of more, by key, across parts.
        assert!(merged.gained.count > 3);
        assert_eq!(merged.gained.first.iter().map(|l| l.beneficiary_id).collect::<Vec<_>>(), [1, 3, 4]);
    }
}
