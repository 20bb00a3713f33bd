//! `run refuse`: a second person declines what a run would pay, with a
//! reason. An evaluated run stays evaluated; an approved run, not yet issued,
//! goes back to evaluated and its approval is void. Either way the refusal is
//! on record (a `run.refuse` entry), and `run show` lists it; the officers
//! correct what the reason says and the run is approved later, or cancelled.

use crate::trail::Actor;
use tracing::info;

use crate::store::Db;
use crate::store::runs::{self, RunStatus};
use crate::trail::{self, action};

/// Refuse run `run_id` as `by`, for `reason`.
pub async fn refuse(db: &Db, run_id: i64, by: &Actor, reason: &str) -> anyhow::Result<()> {
    let reason = super::reason::for_the_log(reason, "refused")?;
    let run = runs::get(db, run_id).await?;
    if !matches!(run.status, RunStatus::Evaluated | RunStatus::Approved) {
        anyhow::bail!(
            "run {run_id} is {}: only a run evaluated or approved, and not yet issued, is refused",
            run.status.as_str()
        );
    }
    super::approve::check_four_eyes(&run, by, "refuse")?;
    let mut tx = db.begin().await?;
    if run.status == RunStatus::Approved {
        let record = serde_json::json!({
            "approved": run.approval.as_deref().map(serde_json::from_str::<serde_json::Value>).transpose()?,
            "refused_by": by.name,
            "reason": reason,
        });
        runs::void_approval(&mut tx, run_id, &record.to_string()).await?;
        trail::append(&mut tx, by, action::RUN_APPROVAL_VOID, &trail::run_subject(run_id), record).await?;
    }
    let details = serde_json::json!({ "from": run.status.as_str(), "reason": reason });
    trail::append(&mut tx, by, action::RUN_REFUSE, &trail::run_subject(run_id), details).await?;
    tx.commit().await?;
    info!(run = run_id, "refused");
    Ok(())
}
