//! The release lifecycle of a rule plug-in: uploaded (content-addressed) →
//! signed by its authority's key → approved by a second person after its own
//! cases pass → active from a month → retired.
//!
//! The host runs only a signed, approved, active release, and checks the
//! signature again each time it loads one for a run, so a plug-in or its
//! cases changed in the database after signing are refused. The key that
//! signed it must be certified by the national root key of the
//! configuration (`certificate.rs`), checked again at each use too, so a key
//! added to the database behind the host's back signs nothing that runs. Which release
//! decides a month is the host's choice ([`in_force`]), not the caller's, so a
//! run for a past month uses the rules that were in force then.

pub mod certificate;
pub mod keys;

use crate::trail::Actor;
use certificate::Certificate;
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use serde::Serialize;
use sha2::Digest as _;

use crate::authoring::cases;
use crate::config::TrustRoot;
use crate::model::Month;
use crate::store::releases::{self, Release, State};
use crate::store::{Db, Tx, keys as stored_keys, plugins};
use crate::trail;
use ansinh_sandbox::{Plugin, PluginHash, Sandbox};

/// The authority of a plug-in: `national`, or its province code.
pub fn authority_of(plugin: &Plugin) -> String {
    plugin.description().province.clone().unwrap_or_else(|| "national".to_owned())
}

/// Upload a plug-in with its own test cases; returns the release's id.
/// `program` may be left out when the plug-in serves one programme.
pub async fn upload(
    db: &Db,
    sandbox: &Sandbox,
    bytes: &[u8],
    cases_yaml: &str,
    cases_source: &str,
    program: Option<&str>,
    by: &Actor,
) -> anyhow::Result<i64> {
    let plugin = sandbox.load(bytes)?;
    let shipped = cases::parse(cases_yaml, cases_source)?;
    if shipped.is_empty() {
        bail!("{cases_source} holds no case: a release ships the cases that approval runs");
    }
    let program = program_of(&plugin, program)?;
    let authority = authority_of(&plugin);
    // The cases must be about what is released, or approval proves nothing.
    for (index, case) in shipped.iter().enumerate() {
        let province_ok = authority == "national" || case.province == authority;
        if case.program != program || !province_ok {
            bail!(
                "{cases_source}, case {} \"{}\": it is for {} in province {}, but the release is {program} for {authority}",
                index + 1,
                case.name,
                case.program,
                case.province
            );
        }
    }
    plugins::store(db, &plugin, bytes).await?;
    let mut tx = db.begin().await?;
    let id = releases::insert(&mut tx, db, plugin.hash(), &authority, &program, cases_yaml, &by.name).await?;
    let description = plugin.description();
    let details = serde_json::json!({
        "plugin": plugin.hash().to_string(),
        "name": description.name,
        "version": description.version,
        "authority": authority,
        "program": program,
        "cases_sha256": hex::encode(sha2::Sha256::digest(cases_yaml.as_bytes())),
    });
    trail::append(&mut tx, by, crate::trail::action::RELEASE_UPLOAD, &release_subject(id), details).await?;
    tx.commit().await?;
    Ok(id)
}

/// The programme a release of `plugin` is for: `program` if it serves it,
/// else the one programme it serves.
fn program_of(plugin: &Plugin, program: Option<&str>) -> anyhow::Result<String> {
    let d = plugin.description();
    Ok(match (program, d.programs.as_slice()) {
        (Some(p), served) if served.iter().any(|s| s == p) => p.to_owned(),
        (Some(p), served) => bail!("the plug-in {} serves {served:?}, not the programme {p:?}", d.name),
        (None, [only]) => only.clone(),
        (None, served) => bail!("the plug-in {} serves {served:?}: say which with --program", d.name),
    })
}

/// A release's signature made apart from the database, where the key is
/// (`ansinh plugin sign --plugin`), and given to the service afterwards
/// (`POST /v1/releases/{id}/signature`): the key's id and the signature, with
/// what was signed, for whoever reads the file.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Detached {
    pub key: String,
    pub signature: String,
    /// sha256 of the plug-in's bytes.
    pub plugin: String,
    pub authority: String,
    pub program: String,
    /// sha256 of the cases file, byte for byte as it is uploaded.
    pub cases_sha256: String,
}

/// Sign, offline, the release that uploading `bytes` with `cases_yaml` (for
/// `program`, if the plug-in serves several) makes: the same message as
/// [`sign`] signs in the database.
pub fn sign_detached(
    sandbox: &Sandbox,
    bytes: &[u8],
    cases_yaml: &str,
    program: Option<&str>,
    key: &SigningKey,
) -> anyhow::Result<Detached> {
    let plugin = sandbox.load(bytes)?;
    let (authority, program) = (authority_of(&plugin), program_of(&plugin, program)?);
    let message = keys::signed_message(plugin.hash(), &authority, &program, cases_yaml);
    Ok(Detached {
        key: keys::key_id(&key.verifying_key()),
        signature: keys::sign(key, &message),
        plugin: plugin.hash().to_string(),
        authority,
        program,
        cases_sha256: hex::encode(sha2::Sha256::digest(cases_yaml.as_bytes())),
    })
}

/// The subject an audit entry about release `id` names.
fn release_subject(id: i64) -> String {
    format!("release:{id}")
}

/// Append the entry of a release's move (`release.sign`, ...), in `tx`.
async fn record(
    tx: &mut Tx,
    by: &Actor,
    action: &str,
    release: &Release,
    mut details: serde_json::Value,
) -> anyhow::Result<()> {
    details["plugin"] = release.plugin_hash.to_string().into();
    trail::append(tx, by, action, &release_subject(release.id), details).await?;
    Ok(())
}

/// What registering a key did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    /// A new key, with its certificate.
    Added,
    /// A key already registered took the new certificate (renewed, or its
    /// first: a key registered before keys were certified).
    Certified,
}

/// Register the public half of an authority's signing key with the national
/// root's certificate of it (`ansinh keys certify`), after checking that
/// certificate against the configured `root`: made by that root, of this key,
/// for this authority, valid today. A key already registered (and not
/// revoked) takes the new certificate. Its id.
pub async fn register_key(
    db: &Db,
    root: &TrustRoot,
    authority: &str,
    key: &ed25519_dalek::VerifyingKey,
    certificate_text: &str,
    by: &Actor,
) -> anyhow::Result<(String, Registered)> {
    keys::check_authority(authority)?;
    let id = keys::key_id(key);
    let public_key = hex::encode(key.as_bytes());
    let today = chrono::Utc::now().date_naive();
    let certificate = Certificate::parse(certificate_text)
        .and_then(|c| c.check(&root.key, authority, &public_key, today).map(|()| c))
        .with_context(|| {
            format!(
                "the certificate does not hold for key {id} of {authority} against the national root key of {} (key \
                 {}); {}",
                root.source,
                keys::key_id(&root.key),
                certificate::how_to_certify(authority, &id)
            )
        })?;
    let details = serde_json::json!({
        "authority": authority,
        "public_key": public_key,
        "certificate": {
            "sha256": hex::encode(sha2::Sha256::digest(certificate_text.as_bytes())),
            "root_key_id": certificate.root_key_id,
            "issued_at": certificate.issued_at,
            "not_after": certificate.not_after,
        },
    });
    let mut tx = db.begin().await?;
    let registered = match stored_keys::get(db, &id).await? {
        None => {
            let new = stored_keys::NewKey {
                id: &id,
                authority,
                public_key: &public_key,
                certificate: certificate_text,
                by: &by.name,
            };
            stored_keys::add(&mut tx, db, &new).await?;
            trail::append(&mut tx, by, crate::trail::action::KEY_ADD, &key_subject(&id), details).await?;
            Registered::Added
        }
        Some(existing) => {
            if existing.authority != authority {
                bail!(
                    "key {id} is already registered for {}, not {authority}: a key signs for one authority",
                    existing.authority
                );
            }
            if existing.revoked_at.is_some() {
                bail!("key {id} was revoked: a revoked key stays revoked; make a new key (`ansinh keys generate`)");
            }
            stored_keys::set_certificate(&mut tx, &id, certificate_text, &by.name).await?;
            trail::append(&mut tx, by, crate::trail::action::KEY_CERTIFY, &key_subject(&id), details).await?;
            Registered::Certified
        }
    };
    tx.commit().await?;
    Ok((id, registered))
}

/// The subject an audit entry about key `id` names.
fn key_subject(id: &str) -> String {
    format!("key:{id}")
}

/// Revoke a key: the releases it signed no longer run.
pub async fn revoke_key(db: &Db, id: &str, by: &Actor) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    anyhow::ensure!(stored_keys::revoke(&mut tx, id, &by.name).await?, "no active key {id} (`ansinh keys list`)");
    trail::append(&mut tx, by, crate::trail::action::KEY_REVOKE, &key_subject(id), serde_json::json!({})).await?;
    tx.commit().await
}

/// Sign an uploaded release with a key registered and certified for its authority.
pub async fn sign(db: &Db, root: &TrustRoot, id: i64, key: &SigningKey, by: &Actor) -> anyhow::Result<String> {
    let release = releases::get(db, id).await?;
    let message = keys::signed_message(release.plugin_hash, &release.authority, &release.program, &release.cases);
    let key_id = keys::key_id(&key.verifying_key());
    add_signature(db, root, id, &key_id, &keys::sign(key, &message), by).await?;
    Ok(key_id)
}

/// Sign uploaded release `id` with `signature`, made by key `key_id` (a key
/// registered and certified for the release's authority) over the release's
/// plug-in, authority, programme and cases: a signature that does not hold
/// is refused, and nothing is recorded.
pub async fn add_signature(
    db: &Db,
    root: &TrustRoot,
    id: i64,
    key_id: &str,
    signature: &str,
    by: &Actor,
) -> anyhow::Result<()> {
    let release = releases::get(db, id).await?;
    expect_state(&release, State::Uploaded, "signed")?;
    let stored = stored_keys::get(db, key_id).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "key {key_id} is not registered: {} (`ansinh keys list` shows the registered keys)",
            certificate::how_to_certify(&release.authority, key_id)
        )
    })?;
    check_key(&stored, root, &release)?;
    let message = keys::signed_message(release.plugin_hash, &release.authority, &release.program, &release.cases);
    keys::verify(&stored.public_key, &message, signature).with_context(|| {
        format!(
            "the signature is not key {key_id}'s over release {id} (plug-in sha256 {}, {} for {}, cases sha256 {}): \
             sign the same plug-in and cases file, byte for byte, for the same programme",
            release.plugin_hash,
            release.program,
            release.authority,
            hex::encode(sha2::Sha256::digest(release.cases.as_bytes()))
        )
    })?;
    let mut tx = db.begin().await?;
    if !releases::set_signed(&mut tx, id, key_id, signature, &by.name).await? {
        bail!("release {id} changed while it was being signed; look again with `ansinh plugin releases`");
    }
    let details = serde_json::json!({ "key": key_id, "signature": signature });
    record(&mut tx, by, crate::trail::action::RELEASE_SIGN, &release, details).await?;
    tx.commit().await
}

/// A key may sign for its own authority only, not once revoked, and only
/// under a certificate of the configured root that holds today.
fn check_key(key: &stored_keys::Key, root: &TrustRoot, release: &Release) -> anyhow::Result<()> {
    if key.authority != release.authority {
        bail!(
            "key {} signs for {}, but release {} is for {}: only {}'s key may sign it",
            key.id,
            key.authority,
            release.id,
            release.authority,
            release.authority
        );
    }
    if let Some(when) = key.revoked_at {
        bail!("key {} was revoked on {} by {}", key.id, when.date_naive(), key.revoked_by.as_deref().unwrap_or("?"));
    }
    certificate::check_stored(key, root, chrono::Utc::now().date_naive())
}

/// The release's plug-in bytes, after checking that its signature holds: a
/// registered, unrevoked key of the release's authority, certified by the
/// national `root` of the configuration, signed exactly these bytes, this
/// scope and these cases. Every use of a release comes through here
/// ([`load`]): approval, activation, `run create` and `run evaluate`.
pub async fn verified_bytes(db: &Db, root: &TrustRoot, release: &Release) -> anyhow::Result<Vec<u8>> {
    let (Some(key_id), Some(signature)) = (&release.key_id, &release.signature) else {
        bail!("release {} is not signed: `ansinh plugin sign {}` first", release.id, release.id);
    };
    let key = stored_keys::get(db, key_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("release {}: its signing key {key_id} is not registered", release.id))?;
    check_key(&key, root, release).with_context(|| format!("refusing release {}", release.id))?;
    let bytes = plugins::bytes(db, release.plugin_hash).await?;
    let actual = PluginHash::of(&bytes);
    let message = keys::signed_message(actual, &release.authority, &release.program, &release.cases);
    keys::verify(&key.public_key, &message, signature).with_context(|| {
        format!(
            "refusing release {} (plug-in sha256 {actual}, signed with key {key_id}): treat the database as tampered \
             with; retire the release and release the plug-in again from its source",
            release.id
        )
    })?;
    if actual != release.plugin_hash {
        bail!("refusing release {}: its stored bytes hash to {actual}, not {}", release.id, release.plugin_hash);
    }
    Ok(bytes)
}

/// A release's shipped cases run on its plug-in (`plugin`, loaded by the
/// caller: signed or not, a dry run pays nothing), each with its fuel, and
/// their fuel beside the active release's on the same cases.
pub struct CasesRun {
    /// Each case's name and outcome, in the file's order.
    pub cases: Vec<(String, cases::Outcome)>,
    pub fuel: u64,
    /// The active release compared with, and its fuel on the same cases.
    pub compared_with: Option<(i64, u64)>,
    /// Why there was an active release but no comparison.
    pub not_compared: Option<String>,
}

/// Run `release`'s shipped cases on `plugin`, and the active release's on them.
pub async fn run_cases(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    release: &Release,
    plugin: &Plugin,
) -> anyhow::Result<CasesRun> {
    let shipped = cases::parse(&release.cases, &format!("the cases of release {}", release.id))?;
    let ran: Vec<(String, cases::Outcome)> =
        shipped.iter().map(|case| (case.name.clone(), cases::run(plugin, case))).collect();
    let fuel = ran.iter().map(|(_, outcome)| outcome.fuel).sum();
    let (compared_with, not_compared) = match active_to_compare(db, release).await? {
        None => (None, None),
        // An active release that no longer loads (its key revoked, say) must
        // not block its own replacement: say so, and approve on the cases.
        Some(active) => match load(db, sandbox, root, &active).await {
            Ok(current) => {
                let active_fuel: u64 = shipped.iter().map(|case| cases::run(&current, case).fuel).sum();
                (Some((active.id, active_fuel)), None)
            }
            Err(e) => (None, Some(format!("release {} (active) does not load: {e:#}", active.id))),
        },
    };
    Ok(CasesRun { cases: ran, fuel, compared_with, not_compared })
}

/// What approval checked, kept with the release.
#[derive(Debug, Serialize)]
pub struct Approval {
    pub cases: usize,
    pub fuel: u64,
    /// The active release compared with, and its fuel on the same cases.
    pub compared_with: Option<(i64, u64)>,
    /// Why there was an active release but no comparison.
    pub not_compared: Option<String>,
    pub max_fuel_growth: f64,
}

impl std::fmt::Display for Approval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} cases passed, {} fuel in all", self.cases, self.fuel)?;
        match self.compared_with {
            Some((id, fuel)) => write!(
                f,
                "; release {id} (active) used {fuel} on the same cases: {:.2}× (limit {:.2}×)",
                self.fuel as f64 / fuel.max(1) as f64,
                self.max_fuel_growth
            ),
            None => match &self.not_compared {
                Some(why) => write!(f, "; fuel not compared: {why}"),
                None => write!(f, "; no active release to compare fuel with"),
            },
        }
    }
}

/// Approve a signed release: by a person who neither uploaded nor signed it,
/// only if every shipped case passes and the fuel on those cases is at most
/// `max_fuel_growth` times the active release's.
pub async fn approve(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    id: i64,
    by: &Actor,
    max_fuel_growth: f64,
) -> anyhow::Result<Approval> {
    let release = releases::get(db, id).await?;
    expect_state(&release, State::Signed, "approved")?;
    if by.name == release.uploaded_by || Some(by.name.as_str()) == release.signed_by.as_deref() {
        bail!(
            "{} uploaded or signed release {id}: a second person must approve it (four eyes; uploaded by {}, signed \
             by {})",
            by.name,
            release.uploaded_by,
            release.signed_by.as_deref().unwrap_or("?")
        );
    }
    let plugin = load(db, sandbox, root, &release).await?;
    let CasesRun { cases: ran, fuel, compared_with, not_compared } =
        run_cases(db, sandbox, root, &release, &plugin).await?;
    let mut failures = String::new();
    for (index, (name, outcome)) in ran.iter().enumerate() {
        if !outcome.passed() {
            let _ = writeln!(failures, "  case {} \"{name}\": {}", index + 1, outcome.problems.join("; "));
        }
    }
    if !failures.is_empty() {
        bail!("release {id} is not approved: its own cases fail:\n{failures}");
    }
    let approval = Approval { cases: ran.len(), fuel, compared_with, not_compared, max_fuel_growth };
    if let Some((active, active_fuel)) = compared_with
        && fuel as f64 > max_fuel_growth * active_fuel as f64
    {
        bail!(
            "release {id} is not approved: it uses {fuel} fuel on its cases, more than {max_fuel_growth}× the {active_fuel} \
             of release {active} (active) on the same cases; find why, or approve with a higher --max-fuel-growth"
        );
    }
    let mut tx = db.begin().await?;
    if !releases::set_approved(&mut tx, id, &by.name, &serde_json::to_string(&approval)?).await? {
        bail!("release {id} changed while it was being approved; look again with `ansinh plugin releases`");
    }
    record(&mut tx, by, crate::trail::action::RELEASE_APPROVE, &release, serde_json::to_value(&approval)?).await?;
    tx.commit().await?;
    Ok(approval)
}

/// What a release's fuel is compared with: the active release of its own
/// authority and programme, else (a province's first) the national one.
async fn active_to_compare(db: &Db, release: &Release) -> anyhow::Result<Option<Release>> {
    if let Some(own) = releases::latest_active(db, &release.authority, &release.program).await? {
        return Ok(Some(own));
    }
    releases::latest_active(db, "national", &release.program).await
}

/// Make an approved release the one in force from `from` (until a later
/// active release of the same authority and programme takes over).
pub async fn activate(
    db: &Db,
    sandbox: &Sandbox,
    root: &TrustRoot,
    id: i64,
    from: Month,
    by: &Actor,
) -> anyhow::Result<()> {
    let release = releases::get(db, id).await?;
    expect_state(&release, State::Approved, "activated")?;
    load(db, sandbox, root, &release).await?;
    let mut tx = db.begin().await?;
    match releases::set_active(&mut tx, id, from, &by.name).await {
        Ok(true) => {
            record(
                &mut tx,
                by,
                crate::trail::action::RELEASE_ACTIVATE,
                &release,
                serde_json::json!({ "from": from.to_string() }),
            )
            .await?;
            tx.commit().await
        }
        Ok(false) => {
            bail!("release {id} changed while it was being activated; look again with `ansinh plugin releases`")
        }
        Err(e) if crate::store::is_unique_violation(&e) => {
            drop(tx);
            let other = releases::in_force(db, &release.authority, &release.program, from).await?.map(|r| r.id);
            bail!(
                "another release of {} for {} (release {}) is already active from {from}: retire it first, or \
                 choose another month",
                release.authority,
                release.program,
                other.map_or("?".to_owned(), |id| id.to_string())
            )
        }
        Err(e) => Err(e),
    }
}

/// Who retires a release in `state`: withdrawing one not yet approved is its
/// authors'; retiring one approved or active, its approvers'.
pub fn act_to_retire(state: State) -> crate::accounts::Act {
    match state {
        State::Uploaded | State::Signed => crate::accounts::Act::Author,
        _ => crate::accounts::Act::DecideRelease,
    }
}

/// Retire a release: it is no longer chosen for any month, past or future.
/// A release not yet active is withdrawn the same way.
pub async fn retire(db: &Db, id: i64, by: &Actor) -> anyhow::Result<()> {
    let release = releases::get(db, id).await?;
    let mut tx = db.begin().await?;
    if !releases::set_retired(&mut tx, id, &by.name).await? {
        bail!("release {id} is {}: it cannot be retired again", release.state.as_str());
    }
    record(
        &mut tx,
        by,
        crate::trail::action::RELEASE_RETIRE,
        &release,
        serde_json::json!({ "from": release.state.as_str() }),
    )
    .await?;
    tx.commit().await
}

/// The release that decides `program` in `province` for `period`: the
/// province's own release in force then, else the national one.
pub async fn in_force(db: &Db, program: &str, province: &str, period: Month) -> anyhow::Result<Release> {
    if let Some(own) = releases::in_force(db, province, program, period).await? {
        return Ok(own);
    }
    releases::in_force(db, "national", program, period).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no release of {program} is in force in {period} for province {province} or nationally: upload, sign, \
             approve and activate one (README, \"Authoring a rule plug-in\"), or see `ansinh plugin releases`"
        )
    })
}

/// Check that `release` may decide `program` for `province` in `period`, as
/// [`in_force`] would choose it: active, for this programme, the province's
/// or national, in force by then, and its plug-in says the same. Run at
/// `run create` and again at `run evaluate`, so a run row pointed at another
/// release is refused.
pub fn check_fits(
    release: &Release,
    plugin: &Plugin,
    program: &str,
    province: &str,
    period: Month,
) -> anyhow::Result<()> {
    let id = release.id;
    if release.state != State::Active {
        bail!("release {id} is {}: only an active release decides a run", release.state.as_str());
    }
    if release.program != program {
        bail!("release {id} is for {}, not {program}", release.program);
    }
    if release.authority != province && release.authority != "national" {
        bail!("release {id} is province {}'s, not {province}'s", release.authority);
    }
    if release.effective_from.is_none_or(|from| from > period) {
        bail!("release {id} is not in force in {period}");
    }
    let d = plugin.description();
    if !d.programs.iter().any(|p| p == program) {
        bail!("the plug-in {} {} serves {:?}, not the programme {program:?}", d.name, d.version, d.programs);
    }
    if let Some(own) = d.province.as_deref().filter(|own| *own != province) {
        bail!("the plug-in {} {} is for province {own}, not {province}", d.name, d.version);
    }
    Ok(())
}

/// Load a release's plug-in after checking its signature and its key's certificate.
pub async fn load(db: &Db, sandbox: &Sandbox, root: &TrustRoot, release: &Release) -> anyhow::Result<Arc<Plugin>> {
    let bytes = verified_bytes(db, root, release).await?;
    sandbox.load(&bytes).with_context(|| format!("loading the plug-in of release {}", release.id))
}

fn expect_state(release: &Release, wanted: State, step: &str) -> anyhow::Result<()> {
    if release.state != wanted {
        bail!(
            "release {} is {}: only a release that is {} can be {step}",
            release.id,
            release.state.as_str(),
            wanted.as_str()
        );
    }
    Ok(())
}
