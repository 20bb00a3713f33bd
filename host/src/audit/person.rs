//! A person's history, for an auditor who has their ID number: each run of
//! the provinces in the auditor's scope that decided about them, month by
//! month, with the outcome, the amount, and the run that paid them. The
//! person is named in the answer only by their keyed hash (`trail::person`),
//! as in the audit trail and bundles.

use serde::Serialize;

use crate::identity::id_number::IdNumber;
use crate::model::Month;
use crate::store::{Db, people};
use crate::trail::person::PersonKey;

/// What is known of one person.
#[derive(Debug, Serialize)]
pub struct History {
    /// The person's keyed hash: how the audit trail and bundles name them.
    pub person: String,
    /// The id of the key that made it.
    pub key: String,
    /// Each month a run decided about them, oldest first.
    pub decisions: Vec<Decided>,
}

/// One run's decision about the person for one month.
#[derive(Debug, Serialize)]
pub struct Decided {
    pub run: i64,
    pub program: String,
    pub province: String,
    pub period: String,
    /// The run's status.
    pub status: String,
    pub outcome: String,
    /// Whole đồng a month.
    pub amount: i64,
    pub category: Option<String>,
    /// The exception queue it is in, if any (not verified, near name, ...).
    pub exception: Option<String>,
    /// The run that paid the person for this programme and month (a payment not rejected), if any.
    pub paid_by: Option<i64>,
}

/// The history of the person with `id_number`, in the runs of the provinces
/// that `covers` (the auditor's scope).
pub async fn history(
    db: &Db,
    key: &PersonKey,
    id_number: &IdNumber,
    covers: &(dyn Fn(&str) -> bool + Sync),
) -> anyhow::Result<History> {
    let number = id_number.as_str();
    let mut decisions = Vec::new();
    for enrolled in people::enrolled(db, number).await? {
        if !covers(&enrolled.province) {
            continue;
        }
        for (run, first, last, status) in people::runs_of(db, &enrolled.program, &enrolled.province).await? {
            let month = |text: &str| text.parse::<Month>().map_err(|e| anyhow::anyhow!("run {run}: stored month: {e}"));
            for period in month(&first)?.through(month(&last)?) {
                let period = period.to_string();
                let Some(d) = people::decision(db, run, &period, enrolled.id).await? else { continue };
                let paid_by = people::paid_by(db, &enrolled.program, &period, number).await?;
                decisions.push(Decided {
                    run,
                    program: enrolled.program.clone(),
                    province: enrolled.province.clone(),
                    period,
                    status: status.clone(),
                    outcome: d.outcome,
                    amount: d.amount,
                    category: d.category,
                    exception: d.exception,
                    paid_by,
                });
            }
        }
    }
    decisions.sort_by(|a, b| (&a.period, a.run).cmp(&(&b.period, b.run)));
    Ok(History { person: key.person(number), key: key.id(), decisions })
}
