//! `run cancel`: withdraw a run before it pays anything. Its decisions stay,
//! for the record; an issued run cannot be cancelled, since its money has left.

use crate::trail::Actor;
use tracing::info;

use crate::store::Db;
use crate::store::runs::{self, RunStatus};
use crate::trail;

/// Cancel run `run_id` as `by`, for `reason`.
pub async fn cancel(db: &Db, run_id: i64, by: &Actor, reason: &str) -> anyhow::Result<()> {
    let reason = super::reason::for_the_log(reason, "cancelled")?;
    let run = runs::get(db, run_id).await?;
    if run.status.is_issued() {
        anyhow::bail!(
            "run {run_id} is {}: its payments have left and it cannot be cancelled; rejected payments come back \
             through `ansinh run reconcile`",
            run.status.as_str()
        );
    }
    if run.status == RunStatus::Issuing {
        anyhow::bail!(
            "run {run_id} is being issued: `ansinh run issue {run_id}` finishes its issue, or undoes it if what it \
             pays is not what was approved; cancel it after that if it is not issued"
        );
    }
    if run.status == RunStatus::Cancelled {
        anyhow::bail!("run {run_id} is already cancelled");
    }
    let mut tx = db.begin().await?;
    if !runs::mark_cancelled(&mut tx, run_id, &by.name, reason).await? {
        anyhow::bail!(
            "run {run_id} changed state while it was being cancelled; look at it with `ansinh run show {run_id}`"
        );
    }
    let details = serde_json::json!({ "from": run.status.as_str(), "reason": reason });
    trail::append(&mut tx, by, crate::trail::action::RUN_CANCEL, &trail::run_subject(run_id), details).await?;
    tx.commit().await?;
    info!(run = run_id, "cancelled");
    Ok(())
}
