//! The audit trail through the real binary, on both backends: a real run
//! replays identical, bit for bit; a tampered output, a changed input and a
//! swapped plug-in are each reported as divergent; an exported bundle replays
//! in an empty database and a tampered one does not; `audit verify` catches an
//! edited decision, an edited payment, a removed decision, and entries of the
//! log deleted or reordered directly in the database, which itself refuses to
//! change or delete an entry. A run, release or key row edited to disagree
//! with its entries, or a whole run deleted, is a finding of verify, and the
//! same edit in a bundle one of its replay; a bundle's signature is checked
//! against a key the auditor holds, and an oversized bundle is refused unread.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{self, Backend, Driver, fails, ok, run_measured, stdout};

const PERIOD: &str = "2026-01";

/// An issued run of a small synthetic Hà Nội, decided by the national plug-in.
struct Issued {
    t: Driver,
    run: String,
    config: PathBuf,
}

impl Issued {
    fn new(t: Driver) -> Issued {
        let run = t.evaluated_run(5, 400, PERIOD);
        let config = support::files::hanoi_config(t.dir.path(), true, true);
        t.approve(&run);
        ok(t.cli().arg("--config").arg(&config).args(["run", "issue", &run, "--outbox"]).arg(t.path("outbox")));
        Issued { t, run, config }
    }

    fn audit(&self) -> std::process::Command {
        let mut cmd = self.t.cli();
        cmd.arg("--config").arg(&self.config).arg("audit");
        cmd
    }

    fn count(&self, filter: &str) -> i64 {
        self.t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {} {filter}", self.run))
    }

    /// A decision's beneficiary id, the first by key matching `filter`.
    fn pick(&self, filter: &str) -> i64 {
        self.t.scalar(format!(
            "SELECT beneficiary_id FROM decisions WHERE run_id = {} {filter} ORDER BY period, beneficiary_id LIMIT 1",
            self.run
        ))
    }
}

fn replay(issued: &Issued) -> Output {
    issued.audit().args(["replay", &issued.run]).output().unwrap()
}

fn said(out: &Output) -> String {
    support::text(out)
}

fn replays_identical_and_divergences_are_caught(t: Driver) {
    let p = Issued::new(t);
    let t = &p.t;
    let asked = p.count("AND input_packed IS NOT NULL");
    let all = p.count("");
    assert!(asked > 200 && asked < all, "some decisions asked, some not: {asked} of {all}");

    // The real run: every decision the same, byte for byte, with the same fuel.
    let out = replay(&p);
    let report = said(&out);
    assert!(out.status.success(), "{report}");
    let counts = format!(
        "decisions: {all}; replayed {asked}; identical {asked}; not asked (no registry record) {}; divergent 0",
        all - asked
    );
    assert!(report.contains(&counts), "expected {counts:?} in:\n{report}");
    assert!(report.contains("IDENTICAL"), "{report}");
    assert!(!report.contains("engine:"), "the same engine made and replays them: {report}");

    // Each decision names the engine that made it, which is recorded.
    assert_eq!(p.count("AND decider_id IN (SELECT id FROM deciders WHERE engine IS NULL)"), 0);
    let identity = t.text("SELECT identity FROM engines");
    assert!(identity.contains("\"wasmtime\":\"48.") && identity.contains("\"fuel\":20000000"), "{identity}");

    // A sample, drawn again from its printed seed.
    let first = said(&ok(p.audit().args(["replay", &p.run, "--sample", "25"])));
    let seed = first.split("--seed ").nth(1).and_then(|s| s.split(')').next()).expect("a seed is printed").to_owned();
    assert!(first.contains(&format!("sample: 25 of {all} decisions")), "{first}");
    let again = said(&ok(p.audit().args(["replay", &p.run, "--sample", "25", "--seed", &seed])));
    let without_time = |s: &str| s.lines().map(|l| l.split(" (").next().unwrap_or(l).to_owned()).collect::<Vec<_>>();
    assert_eq!(without_time(&first), without_time(&again));

    // A tampered stored output.
    let victim = p.pick("AND outcome = 'payable'");
    let key = format!("run_id = {} AND beneficiary_id = {victim}", p.run);
    // Its output is one of the texts decisions share (decision_texts); the
    // forger gives this decision one of its own, inline.
    let output_id = t.scalar(format!("SELECT output_id FROM decisions WHERE {key}"));
    let forged = r#"{"eligible":false,"amount":0,"category":null,"reasons":[],"explanation":[]}"#;
    t.execute(format!("UPDATE decisions SET output = '{forged}', output_id = NULL WHERE {key}")).unwrap();
    let report = fails(p.audit().args(["replay", &p.run]));
    assert!(
        report.contains(&format!(
            "DIVERGENT {PERIOD} beneficiary #{victim}: the stored decision does not match its digest"
        )),
        "{report}"
    );
    assert!(report.contains("the output differs") && report.contains(&format!("stored:   {forged}")), "{report}");
    assert!(report.contains("divergent 1 "), "{report}");
    t.execute(format!("UPDATE decisions SET output = NULL, output_id = {output_id} WHERE {key}")).unwrap();
    ok(p.audit().args(["replay", &p.run]));

    // A stored amount the output does not give.
    t.execute(format!("UPDATE decisions SET amount = amount + 1 WHERE {key}")).unwrap();
    let report = fails(p.audit().args(["replay", &p.run]));
    assert!(report.contains("is not what the host's rules make of this output"), "{report}");
    t.execute(format!("UPDATE decisions SET amount = amount - 1 WHERE {key}")).unwrap();

    // A changed input: born a century later, so not eligible by age or at all.
    // Set inline, as a decision made before inputs were packed keeps it.
    let born_in_the_1900s = |victim: &i64| {
        let input = t.stored_input(p.run.parse().unwrap(), PERIOD, *victim).expect("the plug-in was asked");
        input.contains("\"birth_date\":\"19").then_some((*victim, input))
    };
    let (victim, input) = t
        .numbers(format!(
            "SELECT beneficiary_id FROM decisions WHERE run_id = {} AND outcome = 'payable' \
             ORDER BY period, beneficiary_id LIMIT 20",
            p.run
        ))
        .iter()
        .find_map(born_in_the_1900s)
        .expect("a payable person born in the 1900s");
    let key = format!("run_id = {} AND beneficiary_id = {victim}", p.run);
    assert_eq!(p.count(&format!("AND beneficiary_id = {victim} AND input IS NULL AND input_packed IS NOT NULL")), 1);
    let (packed, base) = (
        t.text(format!("SELECT {} FROM decisions WHERE {key}", t.backend.hex("input_packed"))),
        t.scalar(format!("SELECT input_base_id FROM decisions WHERE {key}")),
    );
    let changed = input.replace("\"birth_date\":\"19", "\"birth_date\":\"20");
    t.execute(format!(
        "UPDATE decisions SET input = '{changed}', input_packed = NULL, input_base_id = NULL WHERE {key}"
    ))
    .unwrap();
    let report = fails(p.audit().args(["replay", &p.run]));
    assert!(report.contains(&format!("DIVERGENT {PERIOD} beneficiary #{victim}")), "{report}");
    assert!(report.contains("the output differs") && report.contains("divergent 1 "), "{report}");
    // The input as given, inline: the decision is the one decided again.
    t.execute(format!("UPDATE decisions SET input = '{input}' WHERE {key}")).unwrap();
    ok(p.audit().args(["replay", &p.run]));
    // Its packed bytes damaged: the auditor is told which decision, not given a wrong input.
    t.execute(format!(
        "UPDATE decisions SET input = NULL, input_packed = {}, input_base_id = {base} WHERE {key}",
        t.backend.unhex(&packed[..packed.len() - 2])
    ))
    .unwrap();
    let report = fails(p.audit().args(["replay", &p.run]));
    assert!(report.contains(&format!("decision for {PERIOD} beneficiary #{victim} cannot be unpacked")), "{report}");
    t.execute(format!("UPDATE decisions SET input_packed = {} WHERE {key}", t.backend.unhex(&packed))).unwrap();
    ok(p.audit().args(["replay", &p.run]));

    // A decision no plug-in was asked for, made payable, its digest removed.
    let victim = p.pick("AND input IS NULL AND input_packed IS NULL");
    let key = format!("run_id = {} AND beneficiary_id = {victim}", p.run);
    let digest = t.text(format!("SELECT digest FROM decision_rows WHERE {key}"));
    t.execute(format!("UPDATE decisions SET outcome = 'payable', amount = 5000000, digest = NULL WHERE {key}"))
        .unwrap();
    let report = fails(p.audit().args(["replay", &p.run]));
    assert!(
        report.contains(&format!("DIVERGENT {PERIOD} beneficiary #{victim}: the stored decision has no digest")),
        "{report}"
    );
    assert!(report.contains("is not verified and owed nothing, but it is stored as payable 5000000"), "{report}");
    assert!(report.contains("PROBLEM: the decisions do not match audit entry"), "{report}");
    let digest = t.backend.unhex(&digest);
    t.execute(format!("UPDATE decisions SET outcome = 'not_verified', amount = 0, digest = {digest} WHERE {key}"))
        .unwrap();
    ok(p.audit().args(["replay", &p.run]));

    // A swapped plug-in: other bytes under the run's plug-in hash.
    let hash = t.text(format!("SELECT plugin_hash FROM runs WHERE id = {}", p.run));
    let other = hex::encode(std::fs::read(support::plugin("plugins/hanoi-social-assistance")).unwrap());
    let bytes = match t.backend {
        Backend::Sqlite => format!("X'{other}'"),
        Backend::Postgres => format!("decode('{other}', 'hex')"),
    };
    t.execute(format!("UPDATE plugins SET bytes = {bytes} WHERE hash = '{hash}'")).unwrap();
    let report = fails(p.audit().args(["replay", &p.run]));
    assert!(report.contains(&format!("MISSING: plug-in {hash}: the bytes stored under this hash hash to")), "{report}");
    assert!(report.contains(&format!("{asked} decisions could not be replayed")), "{report}");
}

on_both_backends!(replays_identical_and_divergences_are_caught);

fn read_gz(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
    text
}

fn write_gz(path: &Path, text: &str) {
    let mut out = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    out.write_all(text.as_bytes()).unwrap();
    out.finish().unwrap();
}

fn export_then_replay_in_an_empty_database(t: Driver) {
    let p = Issued::new(t);
    let all = p.count("");
    let bundle = p.t.path("run.bundle");
    let out = ok(p.audit().args(["export", &p.run]).arg(&bundle));
    assert!(stdout(&out).contains(&format!("Exported run {}: {all} decisions", p.run)), "{}", said(&out));
    let log = said(&ok(p.audit().args(["log", "--run", &p.run])));
    assert!(log.contains("audit.export"), "the export is in the log:\n{log}");

    // Nothing but the bundle: a new database of the same backend.
    let empty = Driver::new(p.t.backend);
    let replay = |file: &Path| empty.cli().args(["audit", "replay", "--bundle"]).arg(file).output().unwrap();
    let out = replay(&bundle);
    let report = said(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(&format!("decisions: {all};")) && report.contains("divergent 0"), "{report}");
    assert!(report.contains("signature valid over the plug-in") && report.contains("the bundle's own key"), "{report}");
    assert!(
        report.contains(&format!("the {all} decisions chain to")) && report.contains("(run.evaluate, hash "),
        "{report}"
    );
    assert_eq!(empty.scalar("SELECT COUNT(*) FROM decisions"), 0, "a replay stores nothing");

    // People are in it by keyed hash, never by ID number.
    let text = read_gz(&bundle);
    let registry = std::fs::File::open(p.t.path("registry.csv")).unwrap();
    let numbers: Vec<String> = std::io::BufReader::new(registry)
        .lines()
        .skip(1)
        .map(|l| l.unwrap().split(',').next().unwrap().to_owned())
        .collect();
    assert!(numbers.len() > 300);
    for number in &numbers {
        assert!(!text.contains(number.as_str()), "the bundle holds the ID number {number}");
    }
    let person = {
        let mut cmd = p.audit();
        cmd.arg("person").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        writeln!(child.stdin.take().unwrap(), "{}", numbers[0]).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", said(&out));
        stdout(&out)
    };
    let person = person.split_whitespace().next().unwrap();
    assert!(text.contains(&format!("\"person\":\"{person}\"")), "{person} is not in the bundle");

    // An amount edited in the bundle is caught by the decision's digest.
    let line = text.lines().position(|l| l.contains("\"outcome\":\"payable\"")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let amount = lines[line].split("\"amount\":").nth(1).unwrap().split(',').next().unwrap().to_owned();
    lines[line] = lines[line].replacen(&format!("\"amount\":{amount},"), "\"amount\":99000000,", 1);
    let edited = p.t.path("edited.bundle");
    write_gz(&edited, &(lines.join("\n") + "\n"));
    let report = said(&replay(&edited));
    assert!(report.contains("does not match its digest") && report.contains("NOT IDENTICAL"), "{report}");

    // A bundle cut short loses its trailer, and is caught even when what is left replays.
    let cut = p.t.path("cut.bundle");
    write_gz(&cut, &(text.lines().take(text.lines().count() - 2).collect::<Vec<_>>().join("\n") + "\n"));
    let out = replay(&cut);
    let report = said(&out);
    assert!(!out.status.success() && report.contains("it is cut short or was edited"), "{report}");
}

on_both_backends!(export_then_replay_in_an_empty_database);

/// `audit verify`'s verdict: its first problem, or None when verified.
fn first_problem(p: &Issued) -> Option<String> {
    let out = p.audit().arg("verify").output().unwrap();
    let report = said(&out);
    if out.status.success() {
        assert!(report.contains("VERIFIED"), "{report}");
        return None;
    }
    Some(report.split("FIRST PROBLEM: ").nth(1).unwrap_or_else(|| panic!("no first problem in:\n{report}")).to_owned())
}

/// The audit triggers gone, as an attacker with the database owner's rights would have them.
pub fn drop_append_only(t: &Driver) {
    let statements: &[&str] = match t.backend {
        Backend::Sqlite => &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
        Backend::Postgres => &["ALTER TABLE audit_log DISABLE TRIGGER USER"],
    };
    for statement in statements {
        t.execute(*statement).unwrap();
    }
}

/// The whole log rewritten from its third entry through entry `through`,
/// the third's actor changed and every hash made anew, so that the chain is
/// whole (the append-only triggers dropped first): what only a tip kept
/// outside the database shows. The new hash of entry `through`.
pub fn rewrite_log(t: &Driver, through: i64) -> String {
    drop_append_only(t);
    let mut prev = t.text("SELECT hash FROM audit_log WHERE seq = 2");
    for n in 3..=through {
        let (at, actor, action, subject, details): (String, String, String, String, String) = {
            let q = format!("SELECT at, actor, action, subject, details FROM audit_log WHERE seq = {n}");
            t.sql(move |db| {
                Box::pin(async move {
                    let q = sqlx::AssertSqlSafe(q);
                    match db {
                        ansinh::store::Db::Sqlite(pool) => sqlx::query_as(q).fetch_one(&pool).await,
                        ansinh::store::Db::Postgres(pool) => sqlx::query_as(q).fetch_one(&pool).await,
                    }
                    .unwrap()
                })
            })
        };
        let actor = if n == 3 { "someone else".to_owned() } else { actor };
        let mut entry = ansinh::store::audit::Entry {
            seq: n,
            at,
            actor,
            action,
            subject,
            details,
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        entry.hash = ansinh::trail::log::hash_of(&entry);
        let quote = |s: &str| s.replace('\'', "''");
        t.execute(format!(
            "UPDATE audit_log SET actor = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {n}",
            quote(&entry.actor),
            entry.prev_hash,
            entry.hash
        ))
        .unwrap();
        t.execute(format!("UPDATE audit_head SET hash = '{}' WHERE seq = {n}", entry.hash)).unwrap();
        prev = entry.hash;
    }
    prev
}

fn verify_catches_tampering(t: Driver) {
    let p = Issued::new(t);
    let t = &p.t;
    assert_eq!(first_problem(&p), None);
    // The tip to note down, as verify prints it.
    let report = said(&ok(p.audit().arg("verify")));
    let anchor = report.split("--anchor ").nth(1).and_then(|s| s.split('`').next()).expect("an anchor").to_owned();
    ok(p.audit().args(["verify", "--anchor", &anchor]));
    let entries = t.scalar("SELECT COUNT(*) FROM audit_log");
    let first = t.text("SELECT action FROM audit_log ORDER BY seq LIMIT 1");
    assert_eq!(first, "audit.begin");
    // The tests' accounts come first (tests/support), then the month's work.
    let work = "SELECT action FROM audit_log WHERE action NOT LIKE 'account.%' AND action NOT LIKE 'token.%'";
    let second = t.text(format!("{work} AND seq > 1 ORDER BY seq LIMIT 1"));
    assert_eq!(second, "import.registry");
    assert!(entries >= 10, "imports, release steps, key, run create/evaluate/approve/issue/files: {entries}");

    // The database refuses to change or delete an entry.
    for statement in
        ["UPDATE audit_log SET actor = 'someone else' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"]
    {
        let refused = t.execute(statement).unwrap_err();
        assert!(refused.contains("append-only"), "{statement}: {refused}");
    }

    // An edited decision amount is named.
    let victim = p.pick("AND outcome = 'not_eligible'");
    let key = format!("run_id = {} AND beneficiary_id = {victim}", p.run);
    t.execute(format!("UPDATE decisions SET amount = amount + 1000 WHERE {key}")).unwrap();
    let problem = first_problem(&p).expect("caught");
    assert!(
        problem.contains(&format!(
            "run {}: the decision of beneficiary #{victim} for {PERIOD} does not match its digest",
            p.run
        )),
        "{problem}"
    );
    t.execute(format!("UPDATE decisions SET amount = amount - 1000 WHERE {key}")).unwrap();
    assert_eq!(first_problem(&p), None);

    // An edited payment: the bank file made again no longer has the recorded sha256.
    let payment = t.scalar("SELECT MIN(id) FROM payments WHERE channel = 'bank'");
    let account = t.text(format!("SELECT account_number FROM payments WHERE id = {payment}"));
    t.execute(format!("UPDATE payments SET account_number = '999999999' WHERE id = {payment}")).unwrap();
    let problem = first_problem(&p).expect("caught");
    assert!(
        problem.contains(&format!("pain001-run{}-social-assistance-001-{PERIOD}-bank.xml made again", p.run)),
        "{problem}"
    );
    t.execute(format!("UPDATE payments SET account_number = '{account}' WHERE id = {payment}")).unwrap();
    assert_eq!(first_problem(&p), None);

    // A run put in behind the log's back: made after the log began, with no entry.
    t.execute(
        "INSERT INTO runs (program, province, first_period, period, plugin_hash, release_id, status, created_at) \
         SELECT program, province, first_period, period, plugin_hash, release_id, 'created', created_at FROM runs",
    )
    .unwrap();
    let problem = first_problem(&p).expect("caught");
    assert!(problem.contains("was made after the audit log began, but the log has no entry for it"), "{problem}");
    t.execute(format!("DELETE FROM runs WHERE id > {}", p.run)).unwrap();
    assert_eq!(first_problem(&p), None);

    // A decision removed: the run's decisions no longer chain to what was recorded.
    t.execute(format!("DELETE FROM decisions WHERE {key}")).unwrap();
    let problem = first_problem(&p).expect("caught");
    assert!(
        problem.contains(&format!("run {}: its decisions do not match audit entry", p.run))
            && problem.contains("(run.evaluate)"),
        "{problem}"
    );

    // The whole log rewritten from its third entry on, with every hash made
    // anew so the chain is whole: only the tip noted down tells.
    let rewritten = rewrite_log(t, anchor.split_once(':').unwrap().0.parse().unwrap());
    let walked = said(&p.audit().arg("verify").output().unwrap());
    assert!(
        !walked.contains("does not follow") && !walked.contains("was changed after"),
        "the chain is whole: {walked}"
    );
    let problem = said(&p.audit().args(["verify", "--anchor", &anchor]).output().unwrap());
    let seq = anchor.split(':').next().unwrap();
    assert!(problem.contains(&format!("entry {seq} hashes to {rewritten}, not to the")), "{problem}");

    // Entries reordered: the second and third swap places.
    let park = 1_000_000;
    for statement in [
        format!("UPDATE audit_log SET seq = {park} WHERE seq = 2"),
        "UPDATE audit_log SET seq = 2 WHERE seq = 3".to_owned(),
        format!("UPDATE audit_log SET seq = 3 WHERE seq = {park}"),
    ] {
        t.execute(statement).unwrap();
    }
    let problem = first_problem(&p).expect("caught");
    assert!(problem.starts_with("entry 2 does not follow the entry before it"), "{problem}");

    // The last entry deleted: the chain is whole up to it, but no longer reaches the tip.
    let fresh = Issued::new(Driver::new(t.backend));
    drop_append_only(&fresh.t);
    fresh.t.execute("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)").unwrap();
    let problem = first_problem(&fresh).expect("caught");
    assert!(problem.contains("entries at the end were deleted"), "{problem}");

    // An entry deleted from the middle.
    fresh.t.execute("DELETE FROM audit_log WHERE seq = 4").unwrap();
    let problem = first_problem(&fresh).expect("caught");
    assert!(problem.starts_with("entry 5 stands where entry 4 should"), "{problem}");
}

on_both_backends!(verify_catches_tampering);

/// A bundle as text: its header (parsed) and every other line as it is.
fn open_bundle(path: &Path) -> (serde_json::Value, Vec<String>) {
    let text = read_gz(path);
    let mut lines = text.lines().map(str::to_owned);
    let header = serde_json::from_str(&lines.next().unwrap()).unwrap();
    (header, lines.collect())
}

fn write_bundle(path: &Path, header: &serde_json::Value, lines: &[String]) {
    let mut text = serde_json::to_string(header).unwrap() + "\n";
    lines.iter().for_each(|l| text.push_str(&(l.clone() + "\n")));
    write_gz(path, &text);
}

/// An entry of a bundle's header rewritten by `edit`, its hash made anew, as
/// anyone can (the chain has no secret).
fn rehash(entry: &mut serde_json::Value, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut details: serde_json::Value = serde_json::from_str(entry["details"].as_str().unwrap()).unwrap();
    edit(&mut details);
    entry["details"] = serde_json::to_string(&details).unwrap().into();
    let mut parsed: ansinh::store::audit::Entry = serde_json::from_value(entry.clone()).unwrap();
    parsed.hash = ansinh::trail::log::hash_of(&parsed);
    entry["hash"] = parsed.hash.into();
}

/// Item 9: a bundle's release signature is checked against a key the
/// auditor holds (`--trusted-key`), not only the key inside the bundle; a
/// bundle with a line or a count past its bounds is refused, not read into memory.
fn a_bundle_is_checked_against_a_key_the_auditor_holds(t: Driver) {
    let p = Issued::new(t);
    let bundle = p.t.path("run.bundle");
    ok(p.audit().args(["export", &p.run]).arg(&bundle));
    let empty = Driver::new(p.t.backend);
    let replay = |file: &Path, trusted: Option<&Path>| {
        let mut cmd = empty.cli();
        cmd.args(["audit", "replay", "--bundle"]).arg(file);
        if let Some(key) = trusted {
            cmd.arg("--trusted-key").arg(key);
        }
        cmd
    };

    // The authority's public key, as the auditor holds it: from the database it was registered in.
    let authority_key = p.t.text("SELECT public_key FROM signing_keys");
    let authority_id = p.t.text("SELECT id FROM signing_keys");
    let trusted = p.t.path("national.pub");
    {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        let bytes: [u8; 32] = hex::decode(&authority_key).unwrap().try_into().unwrap();
        let public = ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap();
        std::fs::write(&trusted, public.to_public_key_pem(Default::default()).unwrap()).unwrap();
    }

    // Without a key of the auditor's, the output says plainly which key vouched.
    let out = said(&ok(&mut replay(&bundle, None)));
    assert!(out.contains(&format!("checked against the bundle's own key {authority_id}")), "{out}");
    assert!(out.contains("ONLY the bundle's own key vouches for the signature"), "{out}");
    // With it: checked against that key.
    let out = said(&ok(&mut replay(&bundle, Some(&trusted))));
    assert!(out.contains(&format!("checked against the trusted key {authority_id} ({})", trusted.display())), "{out}");
    assert!(!out.contains("ONLY the bundle's own key"), "{out}");

    // A bundle re-signed, whole and consistent, with a key its maker chose: the
    // release's key, signature and sign entry replaced, the old key's entries dropped.
    let (mut header, lines) = open_bundle(&bundle);
    let forger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let forged_id = ansinh::release::keys::key_id(&forger.verifying_key());
    let release = header["release"].clone();
    let message = ansinh::release::keys::signed_message(
        ansinh_sandbox::PluginHash::parse(release["plugin_hash"].as_str().unwrap()).unwrap(),
        release["authority"].as_str().unwrap(),
        release["program"].as_str().unwrap(),
        release["cases"].as_str().unwrap(),
    );
    let signature = ansinh::release::keys::sign(&forger, &message);
    header["release"]["public_key"] = hex::encode(forger.verifying_key().as_bytes()).into();
    header["release"]["key_id"] = forged_id.clone().into();
    header["release"]["signature"] = signature.clone().into();
    let entries = header["audit"].as_array_mut().unwrap();
    entries.retain(|e| e["subject"] != format!("key:{authority_id}"));
    for entry in entries.iter_mut().filter(|e| e["action"] == "release.sign") {
        rehash(entry, |d| {
            d["key"] = forged_id.clone().into();
            d["signature"] = signature.clone().into();
        });
    }
    let forged = p.t.path("forged.bundle");
    write_bundle(&forged, &header, &lines);
    // Only the bundle's own key vouches for it, and it does...
    let out = said(&ok(&mut replay(&forged, None)));
    assert!(out.contains(&format!("checked against the bundle's own key {forged_id}")), "{out}");
    // ...but not the key the auditor holds.
    let out = replay(&forged, Some(&trusted)).output().unwrap();
    let status = out.status;
    let out = support::text(&out);
    assert!(!status.success(), "{out}");
    assert!(
        out.contains(&format!("the bundle's key {forged_id} is not the trusted key {authority_id}"))
            && out.contains("the signature does not hold against the trusted key"),
        "{out}"
    );

    // The peak memory of replaying the honest bundle, to compare with.
    let (code, out, honest_peak) = run_measured(&replay(&bundle, None));
    assert_eq!(code, 0, "{out}");

    // A decision line of 256 MiB: refused once past its bound (1 MiB), the rest unread. Written
    // a piece at a time: this process's memory is every test's.
    let long = p.t.path("long.bundle");
    {
        let text = read_gz(&bundle);
        let (header, rest) = text.split_once('\n').unwrap();
        let file = std::fs::File::create(&long).unwrap();
        let mut out = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        writeln!(out, "{header}").unwrap();
        let piece = vec![b'x'; 1 << 20];
        (0..256).for_each(|_| out.write_all(&piece).unwrap());
        writeln!(out).unwrap();
        out.write_all(rest.as_bytes()).unwrap();
        out.finish().unwrap();
    }
    let (code, out, peak) = run_measured(&replay(&long, None));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("long.bundle, line 2: longer than 1,048,576 bytes"), "{out}");
    println!("peak resident memory of the replay: honest bundle {honest_peak} KiB, 256 MiB line {peak} KiB");
    assert!(
        peak < honest_peak + (64 << 10),
        "a refused line was held in memory: peak {peak} KiB, the honest bundle's {honest_peak} KiB"
    );

    // More decision lines than the header announces: refused at the first one past the count.
    let (header, mut lines) = open_bundle(&bundle);
    let count = header["decisions"].as_u64().unwrap();
    let last = lines.len() - 1;
    lines.insert(last, lines[0].clone());
    let more = p.t.path("more.bundle");
    write_bundle(&more, &header, &lines);
    let out = fails(&mut replay(&more, None));
    assert!(
        out.contains(&format!("line {}: a decision line past the {count} its header announces", count + 2)),
        "{out}"
    );
}

on_both_backends!(a_bundle_is_checked_against_a_key_the_auditor_holds);

/// Item 11: the trail, not the runs table, says who did what. A run, release or
/// key row edited to disagree with its entries fails `audit verify` (and the
/// same edit in a bundle, its replay), field by field; a run deleted whole is a
/// finding, and verify goes on.
fn the_log_is_believed_over_the_runs_table(t: Driver) {
    let p = Issued::new(t);
    let t = &p.t;
    assert_eq!(first_problem(&p), None);
    let run = &p.run;
    let entry = |action: &str| t.scalar(format!("SELECT MAX(seq) FROM audit_log WHERE action = '{action}'"));
    let (create, approve) = (entry("run.create"), entry("run.approve"));

    // The approver set to the run's creator: one person seems to have made and approved it.
    t.execute(format!("UPDATE runs SET approved_by = created_by WHERE id = {run}")).unwrap();
    let shown = stdout(&ok(t.cli().args(["run", "show", run])));
    assert!(shown.contains("test-officer"), "run show believes the table:\n{shown}");
    let problem = first_problem(&p).expect("caught");
    assert!(
        problem.starts_with(&format!(
            "run {run}: approved_by is \"test-officer\" in the database, but audit entry {approve} (run.approve) \
             recorded \"test-supervisor\""
        )),
        "{problem}"
    );
    t.execute(format!("UPDATE runs SET approved_by = 'test-supervisor' WHERE id = {run}")).unwrap();
    assert_eq!(first_problem(&p), None);

    // Every other field an entry recorded, one at a time: named, with the entry.
    let release = t.scalar(format!("SELECT release_id FROM runs WHERE id = {run}"));
    let checksum = t.text(format!("SELECT approval FROM runs WHERE id = {run}"));
    let checksum = checksum.split("\"checksum\":\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let edits = [
        (
            "created_by = 'test-supervisor'",
            "created_by = 'test-officer'",
            format!("created_by is \"test-supervisor\" in the database, but audit entry {create} (run.create)"),
        ),
        (
            "evaluated_by = 'test-supervisor'",
            "evaluated_by = 'test-officer'",
            "evaluated_by is \"test-supervisor\" in the database, but audit entry".to_owned(),
        ),
        (
            "issued_by = 'test-supervisor'",
            "issued_by = 'test-officer'",
            "issued_by is \"test-supervisor\" in the database, but audit entry".to_owned(),
        ),
        (
            "status = 'approved'",
            "status = 'issued'",
            "status is \"approved\" in the database, but its entries leave it issued".to_owned(),
        ),
        (
            "release_id = NULL",
            &format!("release_id = {release}"),
            format!(
                "release_id is empty in the database, but audit entry {create} (run.create) recorded \"{release}\""
            ),
        ),
        (
            &format!("approval = REPLACE(approval, '{checksum}', '{}')", "0".repeat(64)),
            &format!("approval = REPLACE(approval, '{}', '{checksum}')", "0".repeat(64)),
            format!(
                "approval.checksum is \"{}\" in the database, but audit entry {approve} (run.approve) recorded \"{checksum}\"",
                "0".repeat(64)
            ),
        ),
    ];
    for (edit, undo, named) in &edits {
        t.execute(format!("UPDATE runs SET {edit} WHERE id = {run}")).unwrap();
        let problem = first_problem(&p).unwrap_or_else(|| panic!("{edit}: not caught"));
        assert!(problem.contains(&format!("run {run}: {named}")), "{edit}: {problem}");
        t.execute(format!("UPDATE runs SET {undo} WHERE id = {run}")).unwrap();
        assert_eq!(first_problem(&p), None, "{undo}");
    }
    // A release approved by its own uploader, and a key added by someone else.
    t.execute("UPDATE releases SET approved_by = uploaded_by").unwrap();
    let problem = first_problem(&p).expect("caught");
    assert!(problem.contains("release 1: approved_by is \"author\" in the database, but audit entry"), "{problem}");
    t.execute("UPDATE releases SET approved_by = 'approver'").unwrap();
    t.execute("UPDATE signing_keys SET added_by = 'someone else'").unwrap();
    let problem = first_problem(&p).expect("caught");
    assert!(problem.contains("added_by is \"someone else\" in the database, but audit entry"), "{problem}");
    t.execute("UPDATE signing_keys SET added_by = 'author'").unwrap();
    assert_eq!(first_problem(&p), None);

    // The same edit in a bundle's run header: its replay fails, naming it.
    let bundle = t.path("run.bundle");
    ok(p.audit().args(["export", run]).arg(&bundle));
    let (mut header, lines) = open_bundle(&bundle);
    header["run"]["approved_by"] = header["run"]["created_by"].clone();
    let edited = t.path("edited.bundle");
    write_bundle(&edited, &header, &lines);
    let empty = Driver::new(t.backend);
    let out = fails(empty.cli().args(["audit", "replay", "--bundle"]).arg(&edited));
    assert!(
        out.contains(&format!(
            "PROBLEM: bundle: run {run}: approved_by is \"test-officer\" in the bundle, but audit entry {approve} \
             (run.approve) recorded \"test-supervisor\""
        )),
        "{out}"
    );
    ok(empty.cli().args(["audit", "replay", "--bundle"]).arg(&bundle));

    // The whole run deleted: a finding, and verify goes on to the end.
    let payments = format!("SELECT id FROM payments WHERE run_id = {run}");
    for statement in [
        format!("DELETE FROM registry_flags WHERE payment_id IN ({payments})"),
        format!("DELETE FROM payment_statuses WHERE payment_id IN ({payments})"),
        format!("DELETE FROM reconciliations WHERE run_id = {run}"),
        format!("DELETE FROM cash_payments WHERE run_id = {run}"),
        format!("DELETE FROM payments WHERE run_id = {run}"),
        format!("DELETE FROM holds WHERE run_id = {run}"),
        format!("DELETE FROM decisions WHERE run_id = {run}"),
        format!("DELETE FROM shards WHERE run_id = {run}"),
        format!("DELETE FROM runs WHERE id = {run}"),
    ] {
        // `holds` is newer than some databases: a table that is not there holds nothing.
        if let Err(e) = t.execute(&statement)
            && !statement.contains("holds")
        {
            panic!("{statement}: {e}");
        }
    }
    let out = p.audit().arg("verify").output().unwrap();
    let report = said(&out);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains(&format!(
            "FIRST PROBLEM: the log names run {run}, which is not in the database: the run was deleted"
        )),
        "{report}"
    );
    assert!(!report.contains("there is no run"), "verify stopped instead of reporting:\n{report}");
    assert!(report.contains("Rows: 0 runs, 1 releases and 1 signing keys"), "verify went on:\n{report}");
}

on_both_backends!(the_log_is_believed_over_the_runs_table);

/// Issue 13: entries written before accounts name no account (`details.by`
/// came with them). A log whose every entry is as such an entry was, its
/// chain made anew over them, still verifies, and its run still replays:
/// what accounts added to the log is read apart from what each entry
/// recorded of the rows.
fn entries_from_before_accounts_still_verify(t: Driver) {
    let run = t.evaluated_run(91, 60, "2024-09");
    t.approve(&run);
    let naming = "SELECT COUNT(*) FROM audit_log WHERE details LIKE '%\"by\":%'";
    let last = t.scalar("SELECT MAX(seq) FROM audit_log");
    assert_eq!(t.scalar(naming), last - 1, "every entry but audit.begin names its account");
    drop_append_only(&t);
    let mut prev = ansinh::trail::log::GENESIS.to_owned();
    for n in 1..=last {
        let q = format!("SELECT at, actor, action, subject, details FROM audit_log WHERE seq = {n}");
        let (at, actor, action, subject, details): (String, String, String, String, String) = t.sql(move |db| {
            Box::pin(async move {
                let q = sqlx::AssertSqlSafe(q);
                match db {
                    ansinh::store::Db::Sqlite(pool) => sqlx::query_as(q).fetch_one(&pool).await,
                    ansinh::store::Db::Postgres(pool) => sqlx::query_as(q).fetch_one(&pool).await,
                }
                .unwrap()
            })
        });
        let mut details: serde_json::Value = serde_json::from_str(&details).unwrap();
        details.as_object_mut().unwrap().remove("by");
        let details = serde_json::to_string(&details).unwrap();
        let mut entry = ansinh::store::audit::Entry {
            seq: n,
            at,
            actor,
            action,
            subject,
            details,
            prev_hash: prev,
            hash: String::new(),
        };
        entry.hash = ansinh::trail::log::hash_of(&entry);
        let quote = |s: &str| s.replace('\'', "''");
        t.execute(format!(
            "UPDATE audit_log SET details = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {n}",
            quote(&entry.details),
            entry.prev_hash,
            entry.hash
        ))
        .unwrap();
        t.execute(format!("UPDATE audit_head SET hash = '{}' WHERE seq = {n}", entry.hash)).unwrap();
        prev = entry.hash;
    }
    assert_eq!(t.scalar(naming), 0);
    let verified = stdout(&ok(t.cli().args(["audit", "verify"])));
    assert!(verified.contains("VERIFIED"), "{verified}");
    let replayed = stdout(&ok(t.cli().args(["audit", "replay", &run])));
    assert!(replayed.contains("IDENTICAL"), "{replayed}");
}

on_both_backends!(entries_from_before_accounts_still_verify);
