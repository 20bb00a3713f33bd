//! People a bank reported deceased (MD07, `run reconcile`): their later payments are held until
//! an officer checks the registry and clears the flag.

use crate::identity::id_number;
use crate::store::{self, Db};
use crate::trail;
use crate::trail::Actor;

/// Clear the open death-report flags of a beneficiary's person as `by`, for
/// `reason`, with its audit entry; how many were open.
pub async fn clear(db: &Db, beneficiary_id: i64, by: &Actor, reason: &str) -> anyhow::Result<u64> {
    anyhow::ensure!(
        !id_number::holds_one(reason),
        "--reason holds what looks like an ID number: the reason is kept in the audit log for ever, which never \
         holds one; say what the registry check found without it"
    );
    let mut tx = db.begin().await?;
    let cleared = store::flags::clear(&mut tx, beneficiary_id, &by.name, reason).await?;
    if cleared > 0 {
        let details = serde_json::json!({ "cleared": cleared, "reason": reason });
        trail::append(
            &mut tx,
            by,
            trail::action::REGISTRY_CLEAR_FLAG,
            &format!("beneficiary:{beneficiary_id}"),
            details,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(cleared)
}
