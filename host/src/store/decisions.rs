//! Decisions: what each beneficiary was given, what the plug-in returned, the
//! outcome for payment, and the fuel it cost.

use std::str::FromStr;

use crate::model::{Month, Outcome};

use super::{Db, on_pool};

/// A decision to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDecision {
    /// The month decided: the run's own, or an earlier one in a back-pay run.
    pub period: Month,
    pub beneficiary_id: i64,
    pub outcome: Outcome,
    /// Whole đồng per month; 0 unless the person is eligible.
    pub amount: u64,
    pub category: Option<String>,
    /// JSON of the verification checks.
    pub verification: String,
    pub plugin_hash: String,
    /// Canonical JSON given to the plug-in; `None` when it was not called.
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub fuel: u64,
}

/// Store a batch of decisions in one statement. A decision already stored for
/// the same run, month and beneficiary is kept: a resumed run never decides twice.
pub async fn insert(db: &Db, run_id: i64, rows: &[NewDecision]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    on_pool!(db, pool => {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO decisions (run_id, period, beneficiary_id, outcome, amount, category, verification, plugin_hash, \
             input, output, error, fuel) ",
        );
        q.push_values(rows, |mut b, d| {
            b.push_bind(run_id)
                .push_bind(d.period.to_string())
                .push_bind(d.beneficiary_id)
                .push_bind(d.outcome.as_str())
                .push_bind(i64::try_from(d.amount).expect("amounts are capped far below i64::MAX"))
                .push_bind(&d.category)
                .push_bind(&d.verification)
                .push_bind(&d.plugin_hash)
                .push_bind(&d.input)
                .push_bind(&d.output)
                .push_bind(&d.error)
                .push_bind(i64::try_from(d.fuel).expect("fuel is capped far below i64::MAX"));
        });
        q.push(" ON CONFLICT (run_id, period, beneficiary_id) DO NOTHING");
        q.build().execute(pool).await?;
    });
    Ok(())
}

/// Count and monthly total for one outcome of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeTotal {
    pub outcome: Outcome,
    pub count: i64,
    pub amount: i64,
}

pub async fn totals(db: &Db, run_id: i64) -> anyhow::Result<Vec<OutcomeTotal>> {
    let rows: Vec<(String, i64, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT outcome, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM decisions \
             WHERE run_id = $1 GROUP BY outcome ORDER BY outcome",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(outcome, count, amount)| {
            Ok(OutcomeTotal { outcome: Outcome::from_str(&outcome).map_err(anyhow::Error::msg)?, count, amount })
        })
        .collect()
}

/// Plug-in errors of a run, most frequent first: what an officer looks at.
pub async fn error_summary(db: &Db, run_id: i64, limit: i64) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT error, COUNT(*) AS n FROM decisions WHERE run_id = $1 AND error IS NOT NULL \
             GROUP BY error ORDER BY n DESC, error LIMIT $2",
        )
        .bind(run_id)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}
