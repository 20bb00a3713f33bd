//! `run create`: a run for a programme, a province and a month, decided by the
//! release the host finds in force then, never by a plug-in the caller names.

use crate::trail::Actor;
use ansinh_sandbox::Sandbox;
use anyhow::bail;

use crate::config::TrustRoot;
use crate::identity::provinces;
use crate::model::Month;
use crate::release;
use crate::store::{Db, runs};
use crate::trail;

/// Create a run decided by the release in force for this programme,
/// province and month (the host's choice), after checking its signature
/// (by a key the national `root` certified) and that its plug-in serves them. With `back_from`, the run also pays
/// arrears: the months from `back_from` to the one before `period`, for
/// people not paid then, each month decided and paid on its own.
#[allow(clippy::too_many_arguments)] // where the rules come from, the run's scope, who acts
pub async fn create(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    program: &str,
    province: &str,
    period: Month,
    back_from: Option<Month>,
    by: &Actor,
) -> anyhow::Result<i64> {
    if !provinces::is_known(province) {
        bail!("--province {province:?}: expected a 3-digit province code of identity.md, e.g. 001 for Hà Nội");
    }
    if let Some((into, since)) = provinces::merged_by(province, period) {
        bail!(
            "--province {province}: {} was merged into {into} {} from {since}; pay {period} from {into}",
            provinces::name(province).unwrap_or("?"),
            provinces::name(into).unwrap_or("?")
        );
    }
    crate::import::ensure_none_loading(db).await?;
    let first_period = back_from.unwrap_or(period);
    if first_period > period {
        bail!("--back-pay-from {first_period} is after --period {period}: arrears are for earlier months");
    }
    let release = release::in_force(db, program, province, period).await?;
    let plugin = release::load(db, sandbox, root, &release).await?;
    // One run, one plug-in: arrears across a change of rules would need
    // two, so such a run is refused with the month where the rules change.
    for month in first_period.through(period) {
        let then = release::in_force(db, program, province, month).await?;
        if then.id != release.id {
            bail!(
                "release {} decides {month} and release {} decides {period}: a run is decided by one release, \
                 so pay the months of each release in a run of its own",
                then.id,
                release.id
            );
        }
        release::check_fits(&release, &plugin, program, province, month)?;
    }
    let run = runs::NewRun {
        program,
        province,
        first_period,
        period,
        plugin: plugin.hash(),
        release_id: release.id,
        by: &by.name,
    };
    let mut tx = db.begin().await?;
    let id = runs::create(&mut tx, &run).await?;
    let details = serde_json::json!({
        "program": program,
        "province": province,
        "first_period": first_period.to_string(),
        "period": period.to_string(),
        "release": release.id,
        "plugin": plugin.hash().to_string(),
    });
    trail::append(&mut tx, by, trail::action::RUN_CREATE, &trail::run_subject(id), details).await?;
    tx.commit().await?;
    Ok(id)
}
