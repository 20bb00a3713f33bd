//! What the log's entries recorded of a run, a release and a signing key,
//! held against the row as it stands: in the database (`audit verify`) or in
//! a bundle's header (`audit replay --bundle`).
//!
//! Each step appends an entry naming who acted and what it set, in the
//! transaction of the change. A row edited afterwards (`runs.approved_by` set
//! to the run's creator, so that one person seems to have made and approved
//! it; a run's status moved on; a revoked key made whole again) breaks no hash
//! and no digest: only these comparisons show it. So every field an entry
//! recorded is compared with the row:
//!
//! - a run: who created, evaluated, approved and issued it, who cancelled it
//!   and why; what `run.create` recorded (programme, province, months,
//!   release, plug-in); the approval in force (the last `run.approve` not
//!   voided by a later `run.approval_void`), its approver and checksum; and
//!   the status its entries lead to. `run.hold`, `run.files`, `run.what_if`
//!   and `audit.export` change no field, and are not compared;
//! - a release: its uploader, plug-in, authority, programme and cases
//!   (`release.upload`), signer, key and signature (`release.sign`), approver
//!   and what approval checked (`release.approve`), effective month
//!   (`release.activate`) and state;
//! - a key: who added it, its authority and public key (`key.add`), and
//!   whether and by whom it was revoked (`key.revoke`).
//!
//! Where the entries cover a row from its first step (a run with its
//! `run.create`, a release with its `release.upload`, a key with its
//! `key.add`), a step with no entry did not happen, so the field it would set
//! must be empty too. A row older than the log is compared only with the
//! entries it has.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::store::audit::Entry;
use crate::store::keys::Key;
use crate::store::releases::Release;
use crate::store::runs::Run;
use crate::trail::action;

/// An entry, with its details read.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub seq: i64,
    pub action: String,
    pub actor: String,
    /// The account that acted and how it authenticated (`trail::Actor`);
    /// null in entries made before accounts.
    pub by: Value,
    /// What the action recorded, `by` taken out.
    pub details: Value,
}

impl Recorded {
    /// `entry` with its details parsed, or why they cannot be.
    pub fn read(entry: &Entry) -> Result<Recorded, String> {
        let mut details: Value = serde_json::from_str(&entry.details)
            .map_err(|e| format!("audit entry {} ({}): its details are not JSON: {e}", entry.seq, entry.action))?;
        let by = details.as_object_mut().and_then(|fields| fields.remove("by")).unwrap_or(Value::Null);
        Ok(Recorded { seq: entry.seq, action: entry.action.clone(), actor: entry.actor.clone(), by, details })
    }

    /// A detail as text (a number as its digits); None when not recorded.
    fn text(&self, key: &str) -> Option<String> {
        match &self.details[key] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// `entry N (action)`, for messages.
    fn named(&self) -> String {
        format!("audit entry {} ({})", self.seq, self.action)
    }
}

/// The entries about one subject (`run:3`, `release:1`, `key:…`), in log order.
#[derive(Clone, Debug, Default)]
pub struct Entries(pub Vec<Recorded>);

impl Entries {
    /// The subject's entries among `entries`, skipping (into `problems`) any whose details do not parse.
    pub fn about(entries: &[Entry], subject: &str, problems: &mut Vec<String>) -> Entries {
        let mut about = Entries::default();
        for entry in entries.iter().filter(|e| e.subject == subject) {
            match Recorded::read(entry) {
                Ok(recorded) => about.0.push(recorded),
                Err(problem) => problems.push(problem),
            }
        }
        about
    }

    /// The first entry of `action`: the one that counts for a step recorded once.
    pub fn first(&self, action: &str) -> Option<&Recorded> {
        self.0.iter().find(|e| e.action == action)
    }

    fn last(&self, action: &str) -> Option<&Recorded> {
        self.0.iter().rev().find(|e| e.action == action)
    }

    fn all(&self, action: &str) -> Vec<i64> {
        self.0.iter().filter(|e| e.action == action).map(|e| e.seq).collect()
    }
}

/// A run's fields that entries record, from wherever the run is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFields {
    pub id: i64,
    pub status: String,
    pub program: String,
    pub province: String,
    pub first_period: String,
    pub period: String,
    pub plugin_hash: String,
    pub release: Option<i64>,
    pub created_by: Option<String>,
    pub evaluated_by: Option<String>,
    pub approved_by: Option<String>,
    /// JSON of what was approved (`run::approve::Approval`).
    pub approval: Option<String>,
    pub issued_by: Option<String>,
    /// Who cancelled it and why; None where the source does not hold them (a bundle).
    pub cancelled: Option<(Option<String>, Option<String>)>,
}

impl From<&Run> for RunFields {
    fn from(run: &Run) -> RunFields {
        RunFields {
            id: run.id,
            status: run.status.as_str().to_owned(),
            program: run.program.clone(),
            province: run.province.clone(),
            first_period: run.first_period.to_string(),
            period: run.period.to_string(),
            plugin_hash: run.plugin_hash.to_string(),
            release: run.release_id,
            created_by: run.created_by.clone(),
            evaluated_by: run.evaluated_by.clone(),
            approved_by: run.approved_by.clone(),
            approval: run.approval.clone(),
            issued_by: run.issued_by.clone(),
            cancelled: Some((run.cancelled_by.clone(), run.cancel_reason.clone())),
        }
    }
}

/// Where the row compared was read, and what to do when it differs from the log.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// "in the database", "in the bundle".
    pub place: &'static str,
    pub remedy: &'static str,
}

/// A row of the database, by `audit verify`.
pub const DATABASE: Source = Source {
    place: "in the database",
    remedy: "the row was changed behind the log's back: the entry is what happened, so find who changed the row \
             and restore it from the entry",
};

/// A bundle's header, by `audit replay --bundle`.
pub const BUNDLE: Source = Source {
    place: "in the bundle",
    remedy: "the bundle was edited after it was exported: do not rely on it, and export the run again from its \
             database",
};

/// A field shown in a message: quoted, or "empty".
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "empty".to_owned(), |v| format!("{v:?}"))
}

/// Compare `field` of `what` (e.g. "run 3") with what `entry` recorded; a
/// problem naming both when they differ.
fn compare(
    problems: &mut Vec<String>,
    what: &str,
    field: &str,
    found: Option<&str>,
    entry: &Recorded,
    recorded: Option<&str>,
    source: Source,
) {
    if found != recorded {
        problems.push(format!(
            "{what}: {field} is {} {}, but {} recorded {}: {}",
            shown(found),
            source.place,
            entry.named(),
            shown(recorded),
            source.remedy
        ));
    }
}

/// A field that must be empty because no entry records the step that sets it.
fn empty_without(problems: &mut Vec<String>, what: &str, field: &str, found: Option<&str>, why: &str, source: Source) {
    if let Some(found) = found {
        problems.push(format!("{what}: {field} is {found:?} {}, but {why}: {}", source.place, source.remedy));
    }
}

/// What a run's status becomes after each step, from the entries alone:
/// the statuses allowed, and the last entry that moved it. None when no entry
/// moves it (a run older than the log, with none of its steps since).
fn run_status_implied(entries: &Entries) -> Option<(Vec<&'static str>, &Recorded)> {
    use action::*;
    let mut implied: Option<(Vec<&'static str>, &Recorded)> = None;
    for e in &entries.0 {
        let next = match e.action.as_str() {
            RUN_CREATE => vec!["created"],
            RUN_EVALUATE => vec!["evaluated"],
            // Issuing has no entry: the run moves on from approved to it
            // and on to issued (run.issue) or back.
            RUN_APPROVE => vec!["approved", "issuing"],
            // What was approved changed: the run is back to evaluated.
            RUN_APPROVAL_VOID => vec!["evaluated"],
            RUN_ISSUE => vec!["issued"],
            RUN_CANCEL => vec!["cancelled"],
            // A report moves the run to reconciled once any payment has an
            // answer; one that wrote no status leaves it where it was.
            RUN_RECONCILE => match e.details["statuses_written"].as_u64() {
                Some(0) => continue,
                Some(_) => vec!["reconciled"],
                None => {
                    let mut either = implied.map(|(s, _)| s).unwrap_or_else(|| vec!["issued"]);
                    either.push("reconciled");
                    either
                }
            },
            _ => continue,
        };
        implied = Some((next, e));
    }
    implied
}

/// The steps a run's status implies, each recorded once; and how many times
/// each step that happens once was recorded. `made_since`: the run was made
/// after the log began, so it needs every step's entry; else only those from
/// its first recorded step on.
fn run_steps(r: &RunFields, entries: &Entries, made_since: bool, problems: &mut Vec<String>) -> bool {
    use action::*;
    let id = r.id;
    let status = r.status.as_str();
    let steps: &[&str] = match status {
        "created" => &[RUN_CREATE],
        "evaluated" => &[RUN_CREATE, RUN_EVALUATE],
        "approved" | "issuing" => &[RUN_CREATE, RUN_EVALUATE, RUN_APPROVE],
        "issued" => &[RUN_CREATE, RUN_EVALUATE, RUN_APPROVE, RUN_ISSUE, RUN_FILES],
        "reconciled" => &[RUN_CREATE, RUN_EVALUATE, RUN_APPROVE, RUN_ISSUE, RUN_FILES, RUN_RECONCILE],
        "cancelled" => &[RUN_CREATE, RUN_CANCEL],
        _ => &[],
    };
    let before = problems.len();
    let first = if made_since { 0 } else { steps.iter().position(|s| entries.first(s).is_some()).unwrap_or(0) };
    for step in &steps[first..] {
        if entries.first(step).is_some() {
            continue;
        }
        problems.push(if *step == RUN_FILES {
            format!("run {id} is {status}, but its files were never recorded: issue it again (`ansinh run issue {id}`)")
        } else {
            format!("run {id} is {status}, but the log has no {step} entry for it: it was removed")
        });
    }
    for step in [RUN_CREATE, RUN_EVALUATE, RUN_ISSUE, RUN_FILES] {
        let seqs = entries.all(step);
        if seqs.len() > 1 {
            problems.push(format!(
                "run {id} has {} {step} entries ({}): a run has one; the first is the one checked",
                seqs.len(),
                seqs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    problems.len() == before
}

/// Run `r`, as `source` holds it, against its `entries`. `made_since`: it was
/// made after the log began. Problems in the order to read them.
pub fn run_problems(r: &RunFields, entries: &Entries, made_since: bool, source: Source) -> Vec<String> {
    use action::*;
    let mut problems = Vec::new();
    let what = format!("run {}", r.id);
    let steps_whole = run_steps(r, entries, made_since, &mut problems);
    // Covered from its creation: a step with no entry never happened.
    let covered = entries.first(RUN_CREATE).is_some();

    if let Some(e) = entries.first(RUN_CREATE) {
        compare(&mut problems, &what, "created_by", r.created_by.as_deref(), e, Some(&e.actor), source);
        let release = r.release.map(|id| id.to_string());
        for (field, found, key) in [
            ("program", Some(r.program.as_str()), "program"),
            ("province", Some(r.province.as_str()), "province"),
            ("first_period", Some(r.first_period.as_str()), "first_period"),
            ("period", Some(r.period.as_str()), "period"),
            ("release_id", release.as_deref(), "release"),
            ("plugin_hash", Some(r.plugin_hash.as_str()), "plugin"),
        ] {
            // A detail an older version did not record is not compared.
            if let Some(recorded) = e.text(key) {
                compare(&mut problems, &what, field, found, e, Some(&recorded), source);
            }
        }
    }

    match entries.first(RUN_EVALUATE) {
        Some(e) => {
            compare(&mut problems, &what, "evaluated_by", r.evaluated_by.as_deref(), e, Some(&e.actor), source);
            if let Some(plugin) = e.text("plugin") {
                compare(&mut problems, &what, "plugin_hash", Some(&r.plugin_hash), e, Some(&plugin), source);
            }
        }
        None if covered => {
            let why = "the log has no run.evaluate entry for it";
            empty_without(&mut problems, &what, "evaluated_by", r.evaluated_by.as_deref(), why, source);
        }
        None => {}
    }

    check_approval(r, entries, covered, &what, source, &mut problems);

    match entries.first(RUN_ISSUE) {
        Some(e) => compare(&mut problems, &what, "issued_by", r.issued_by.as_deref(), e, Some(&e.actor), source),
        // An issue under way names who issues before its entry, made at its end.
        None if covered && r.status != "issuing" => {
            let why = "the log has no run.issue entry for it";
            empty_without(&mut problems, &what, "issued_by", r.issued_by.as_deref(), why, source);
        }
        None => {}
    }

    if let Some((by, reason)) = &r.cancelled {
        match entries.first(RUN_CANCEL) {
            Some(e) => {
                compare(&mut problems, &what, "cancelled_by", by.as_deref(), e, Some(&e.actor), source);
                if let Some(recorded) = e.text("reason") {
                    compare(&mut problems, &what, "cancel_reason", reason.as_deref(), e, Some(&recorded), source);
                }
            }
            None if covered => {
                let why = "the log has no run.cancel entry for it";
                empty_without(&mut problems, &what, "cancelled_by", by.as_deref(), why, source);
            }
            None => {}
        }
    }

    // Only when every step is there: a missing one is already the problem to look at.
    if steps_whole
        && let Some((allowed, last)) = run_status_implied(entries)
        && !allowed.contains(&r.status.as_str())
    {
        problems.push(format!(
            "{what}: status is {:?} {}, but its entries leave it {} (the last that moves it is {}): {}",
            r.status,
            source.place,
            allowed.join(" or "),
            last.named(),
            source.remedy
        ));
    }
    problems
}

/// The approval in force (the last `run.approve` no `run.approval_void` came
/// after) against `approved_by` and `approval`; with none in force, both empty.
fn check_approval(
    r: &RunFields,
    entries: &Entries,
    covered: bool,
    what: &str,
    source: Source,
    problems: &mut Vec<String>,
) {
    let approve = entries.last(action::RUN_APPROVE);
    let void = entries.last(action::RUN_APPROVAL_VOID);
    let in_force = approve.filter(|a| void.is_none_or(|v| v.seq < a.seq));
    let Some(e) = in_force else {
        let why = match (approve, void) {
            (Some(_), Some(v)) => format!("its approval was voided by {}", v.named()),
            _ if covered => "the log has no run.approve entry for it".to_owned(),
            // Older than the log and no approval recorded since: nothing to compare.
            _ => return,
        };
        empty_without(problems, what, "approved_by", r.approved_by.as_deref(), &why, source);
        empty_without(problems, what, "approval", r.approval.as_deref(), &why, source);
        return;
    };
    compare(problems, what, "approved_by", r.approved_by.as_deref(), e, Some(&e.actor), source);
    let Some(json) = &r.approval else {
        problems.push(format!(
            "{what}: approval is empty {}, but {} recorded the approval of checksum {}: {}",
            source.place,
            e.named(),
            shown(e.text("checksum").as_deref()),
            source.remedy
        ));
        return;
    };
    let Ok(approval) = serde_json::from_str::<Value>(json) else {
        problems.push(format!(
            "{what}: approval {} is not JSON, unlike what {} recorded: {}",
            source.place,
            e.named(),
            source.remedy
        ));
        return;
    };
    // What the entry recorded of the approval, field by field; the approver is its actor.
    let fields = ["checksum", "transfers", "transfer_total", "cash", "cash_total"];
    for field in fields.into_iter().filter(|f| !e.details[f].is_null()) {
        if approval[field] != e.details[field] {
            problems.push(format!(
                "{what}: approval.{field} is {} {}, but {} recorded {}: {}",
                approval[field],
                source.place,
                e.named(),
                e.details[field],
                source.remedy
            ));
        }
    }
    let by = approval["approved_by"].as_str();
    compare(problems, what, "approval.approved_by", by, e, Some(&e.actor), source);
}

/// A release's fields that entries record. Those a bundle does not hold are None.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseFields {
    pub id: i64,
    pub plugin_hash: String,
    pub authority: String,
    pub program: String,
    pub cases: String,
    pub key_id: Option<String>,
    pub signature: Option<String>,
    pub signed_by: Option<String>,
    pub approved_by: Option<String>,
    pub uploaded_by: Option<String>,
    pub state: Option<String>,
    pub approval: Option<Option<String>>,
    pub effective_from: Option<Option<String>>,
}

impl From<&Release> for ReleaseFields {
    fn from(r: &Release) -> ReleaseFields {
        ReleaseFields {
            id: r.id,
            plugin_hash: r.plugin_hash.to_string(),
            authority: r.authority.clone(),
            program: r.program.clone(),
            cases: r.cases.clone(),
            key_id: r.key_id.clone(),
            signature: r.signature.clone(),
            signed_by: r.signed_by.clone(),
            approved_by: r.approved_by.clone(),
            uploaded_by: Some(r.uploaded_by.clone()),
            state: Some(r.state.as_str().to_owned()),
            approval: Some(r.approval.clone()),
            effective_from: Some(r.effective_from.map(|m| m.to_string())),
        }
    }
}

/// Release `r`, as `source` holds it, against its `entries`.
pub fn release_problems(r: &ReleaseFields, entries: &Entries, source: Source) -> Vec<String> {
    use action::*;
    let mut problems = Vec::new();
    let what = format!("release {}", r.id);
    let p = &mut problems;
    let covered = entries.first(RELEASE_UPLOAD).is_some();
    if let Some(e) = entries.first(RELEASE_UPLOAD) {
        if let Some(by) = &r.uploaded_by {
            compare(p, &what, "uploaded_by", Some(by), e, Some(&e.actor), source);
        }
        let cases = hex::encode(Sha256::digest(r.cases.as_bytes()));
        for (field, found, key) in [
            ("plugin_hash", r.plugin_hash.as_str(), "plugin"),
            ("authority", &r.authority, "authority"),
            ("program", &r.program, "program"),
            ("the sha256 of its cases", &cases, "cases_sha256"),
        ] {
            if let Some(recorded) = e.text(key) {
                compare(p, &what, field, Some(found), e, Some(&recorded), source);
            }
        }
    }
    // Every later step's entry names the plug-in too.
    for e in entries.0.iter().filter(|e| e.action != RELEASE_UPLOAD) {
        if let Some(plugin) = e.text("plugin") {
            compare(p, &what, "plugin_hash", Some(&r.plugin_hash), e, Some(&plugin), source);
        }
    }
    match entries.first(RELEASE_SIGN) {
        Some(e) => {
            compare(p, &what, "signed_by", r.signed_by.as_deref(), e, Some(&e.actor), source);
            compare(p, &what, "key_id", r.key_id.as_deref(), e, e.text("key").as_deref(), source);
            compare(p, &what, "signature", r.signature.as_deref(), e, e.text("signature").as_deref(), source);
        }
        None if covered => {
            let why = "the log has no release.sign entry for it";
            empty_without(p, &what, "signed_by", r.signed_by.as_deref(), why, source);
            empty_without(p, &what, "key_id", r.key_id.as_deref(), why, source);
            empty_without(p, &what, "signature", r.signature.as_deref(), why, source);
        }
        None => {}
    }
    match entries.first(RELEASE_APPROVE) {
        Some(e) => {
            compare(p, &what, "approved_by", r.approved_by.as_deref(), e, Some(&e.actor), source);
            if let Some(approval) = &r.approval {
                // The entry holds what approval checked, and the plug-in.
                let mut recorded = e.details.clone();
                if let Some(map) = recorded.as_object_mut() {
                    map.remove("plugin");
                }
                let stored = approval.as_deref().and_then(|a| serde_json::from_str::<Value>(a).ok());
                if stored.as_ref() != Some(&recorded) {
                    p.push(format!(
                        "{what}: approval is {} {}, but {} recorded {recorded}: {}",
                        shown(approval.as_deref()),
                        source.place,
                        e.named(),
                        source.remedy
                    ));
                }
            }
        }
        None if covered => {
            let why = "the log has no release.approve entry for it";
            empty_without(p, &what, "approved_by", r.approved_by.as_deref(), why, source);
        }
        None => {}
    }
    if let Some(from) = &r.effective_from {
        match entries.first(RELEASE_ACTIVATE) {
            Some(e) => compare(p, &what, "effective_from", from.as_deref(), e, e.text("from").as_deref(), source),
            None if covered => {
                let why = "the log has no release.activate entry for it";
                empty_without(p, &what, "effective_from", from.as_deref(), why, source);
            }
            None => {}
        }
    }
    if let Some(state) = &r.state {
        let last = entries.0.iter().rev().find_map(|e| {
            let implied = match e.action.as_str() {
                RELEASE_UPLOAD => "uploaded",
                RELEASE_SIGN => "signed",
                RELEASE_APPROVE => "approved",
                RELEASE_ACTIVATE => "active",
                RELEASE_RETIRE => "retired",
                _ => return None,
            };
            Some((implied, e))
        });
        if let Some((implied, e)) = last
            && implied != state
        {
            p.push(format!(
                "{what}: state is {state:?} {}, but its entries leave it {implied:?} (the last is {}): {}",
                source.place,
                e.named(),
                source.remedy
            ));
        }
    }
    problems
}

/// A signing key's fields that entries record. Those a bundle does not hold are None.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFields {
    pub id: String,
    pub authority: String,
    /// ed25519, hex.
    pub public_key: String,
    pub added_by: Option<String>,
    /// Who revoked it, if anyone; None where the source does not say.
    pub revoked: Option<Option<String>>,
}

impl From<&Key> for KeyFields {
    fn from(k: &Key) -> KeyFields {
        // A revocation is its time; who did it is kept beside it.
        let revoked = k.revoked_at.map(|_| k.revoked_by.clone().unwrap_or_default());
        KeyFields {
            id: k.id.clone(),
            authority: k.authority.clone(),
            public_key: k.public_key.clone(),
            added_by: Some(k.added_by.clone()),
            revoked: Some(revoked),
        }
    }
}

/// Key `k`, as `source` holds it, against its `entries`; and its id against its public key.
pub fn key_problems(k: &KeyFields, entries: &Entries, source: Source) -> Vec<String> {
    use action::*;
    let mut problems = Vec::new();
    let what = format!("key {}", k.id);
    let p = &mut problems;
    let id_of_public = hex::decode(&k.public_key)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok())
        .map(|public| crate::release::keys::key_id(&public));
    if id_of_public.as_deref() != Some(k.id.as_str()) {
        p.push(format!(
            "{what}: its public key {} is not the key this id names (a key's id is the start of the sha256 of its \
             public key): {}",
            source.place, source.remedy
        ));
    }
    let covered = entries.first(KEY_ADD).is_some();
    if let Some(e) = entries.first(KEY_ADD) {
        if let Some(by) = &k.added_by {
            compare(p, &what, "added_by", Some(by), e, Some(&e.actor), source);
        }
        for (field, found, key) in
            [("authority", &k.authority, "authority"), ("public_key", &k.public_key, "public_key")]
        {
            if let Some(recorded) = e.text(key) {
                compare(p, &what, field, Some(found), e, Some(&recorded), source);
            }
        }
    }
    if let Some(revoked) = &k.revoked {
        match entries.first(KEY_REVOKE) {
            Some(e) => match revoked {
                Some(by) => compare(p, &what, "revoked_by", Some(by), e, Some(&e.actor), source),
                None => p.push(format!(
                    "{what}: it is not revoked {}, but {} revoked it, so releases it signed would run again: {}",
                    source.place,
                    e.named(),
                    source.remedy
                )),
            },
            None if covered => {
                let why = "the log has no key.revoke entry for it";
                empty_without(p, &what, "revoked_by", revoked.as_deref(), why, source);
            }
            None => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, action: &str, actor: &str, details: Value) -> Recorded {
        Recorded { seq, action: action.into(), actor: actor.into(), by: Value::Null, details }
    }

    fn run(status: &str) -> RunFields {
        RunFields {
            id: 1,
            status: status.into(),
            program: "social-assistance".into(),
            province: "001".into(),
            first_period: "2024-09".into(),
            period: "2024-09".into(),
            plugin_hash: "ab".into(),
            release: Some(1),
            created_by: Some("an".into()),
            evaluated_by: Some("an".into()),
            approved_by: Some("binh".into()),
            approval: Some(
                r#"{"transfers":1,"transfer_total":5,"cash":0,"cash_total":0,"checksum":"c1","approved_by":"binh"}"#
                    .into(),
            ),
            issued_by: None,
            cancelled: Some((None, None)),
        }
    }

    fn lifecycle() -> Entries {
        let created = serde_json::json!({"program": "social-assistance", "province": "001", "first_period": "2024-09",
            "period": "2024-09", "release": 1, "plugin": "ab"});
        let tally =
            serde_json::json!({"transfers": 1, "transfer_total": 5, "cash": 0, "cash_total": 0, "checksum": "c1"});
        Entries(vec![
            entry(3, action::RUN_CREATE, "an", created),
            entry(4, action::RUN_EVALUATE, "an", serde_json::json!({"plugin": "ab"})),
            entry(5, "run.hold", "binh", serde_json::json!({"held": []})),
            entry(6, action::RUN_APPROVE, "binh", tally),
        ])
    }

    #[test]
    fn a_run_as_its_entries_recorded_passes() {
        assert_eq!(run_problems(&run("approved"), &lifecycle(), true, DATABASE), Vec::<String>::new());
    }

    #[test]
    fn each_field_changed_behind_the_log_is_named() {
        let said = |r: RunFields| run_problems(&r, &lifecycle(), true, DATABASE).join("\n");
        let p = said(RunFields { approved_by: Some("an".into()), ..run("approved") });
        assert!(
            p.contains(
                "run 1: approved_by is \"an\" in the database, but audit entry 6 (run.approve) recorded \"binh\""
            ),
            "{p}"
        );
        let p = said(RunFields { status: "evaluated".into(), ..run("approved") });
        assert!(p.contains("status is \"evaluated\" in the database, but its entries leave it approved"), "{p}");
        let p = said(RunFields { release: Some(2), ..run("approved") });
        assert!(
            p.contains("release_id is \"2\" in the database, but audit entry 3 (run.create) recorded \"1\""),
            "{p}"
        );
        let p = said(RunFields { issued_by: Some("an".into()), ..run("approved") });
        assert!(p.contains("issued_by is \"an\" in the database, but the log has no run.issue entry"), "{p}");
        let edited = run("approved").approval.unwrap().replace("c1", "c2");
        let p = said(RunFields { approval: Some(edited), ..run("approved") });
        assert!(
            p.contains("approval.checksum is \"c2\" in the database, but audit entry 6 (run.approve) recorded \"c1\""),
            "{p}"
        );
    }

    #[test]
    fn a_run_being_issued_names_its_issuer_before_its_entry() {
        // `run issue` moves an approved run to issuing, with who issues, and
        // appends run.issue only once its payments are checked.
        let issuing = RunFields { issued_by: Some("an".into()), ..run("issuing") };
        assert_eq!(run_problems(&issuing, &lifecycle(), true, DATABASE), Vec::<String>::new());
        let p =
            run_problems(&RunFields { issued_by: Some("an".into()), ..run("approved") }, &lifecycle(), true, DATABASE);
        assert!(p.join("\n").contains("the log has no run.issue entry"), "{p:?}");
    }

    #[test]
    fn a_void_approval_leaves_the_run_evaluated_and_unapproved() {
        let mut entries = lifecycle();
        entries.0.push(entry(7, action::RUN_APPROVAL_VOID, "chi", serde_json::json!({})));
        let voided = RunFields { approved_by: None, approval: None, ..run("evaluated") };
        assert_eq!(run_problems(&voided, &entries, true, DATABASE), Vec::<String>::new());
        let p = run_problems(&run("approved"), &entries, true, DATABASE).join("\n");
        assert!(
            p.contains("approved_by is \"binh\" in the database, but its approval was voided by audit entry 7"),
            "{p}"
        );
        assert!(p.contains("its entries leave it evaluated"), "{p}");
    }
}
