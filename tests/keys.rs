//! Trust in signing keys, through the real binary: a key is trusted only
//! when the national root key of the configuration certified it. Keys are
//! made and certified offline (no database, no account); `keys register`
//! takes only a certificate that holds against the configured root, for that
//! key and authority, unexpired; a key put into the database behind the
//! host's back (with no certificate, a forged one, or another key's) makes
//! `plugin sign`, `plugin approve`, `run create` and `run evaluate` refuse,
//! and is a finding of `audit verify`; a key registered before keys were
//! certified is refused until it is certified and registered again. And the
//! audit log's tip, signed by `serve` into a file outside the database,
//! catches a log rewritten with every hash made anew.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ansinh::release::certificate::Certificate;
use ansinh::release::keys;

use crate::support::files::test_root_key;
use crate::support::service::Server;
use crate::support::{Driver, ansinh, fails, hostile_plugin, national_plugin, ok, stdout, workspace};

/// `ansinh` in `dir` with no database, no configuration and no token.
fn offline(dir: &Path) -> std::process::Command {
    let mut cmd = ansinh();
    cmd.current_dir(dir);
    cmd
}

/// `keys generate --authority` in `dir`: the secret file and the id printed.
fn generate(dir: &Path, authority: &str, name: &str) -> (PathBuf, String) {
    let file = dir.join(name);
    let id = stdout(&ok(offline(dir).args(["keys", "generate", "--authority", authority, "--out"]).arg(&file)));
    (file, id.trim().to_owned())
}

/// `keys certify` of `public` for `authority` with the root at `root`, into `out`.
fn certify(dir: &Path, root: &Path, authority: &str, public: &Path, out: &Path) -> std::process::Output {
    offline(dir)
        .args(["keys", "certify", "--root-key"])
        .arg(root)
        .args(["--authority", authority])
        .arg(public)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn keys_are_made_and_certified_offline() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // A signing key: no database, no account, nothing registered.
    let (key, id) = generate(dir, "001", "hanoi.pem");
    assert_eq!(id.len(), 16, "{id}");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(dir.join("hanoi.pub").is_file());
    // The root: its line for [trust] on standard output.
    let root = dir.join("root.pem");
    let line = stdout(&ok(offline(dir).args(["keys", "generate", "--root", "--out"]).arg(&root)));
    let hex = line.trim().strip_prefix("root_public_key = \"").and_then(|l| l.strip_suffix('"')).unwrap();
    assert_eq!(hex, ::hex::encode(keys::read_public(&dir.join("root.pub")).unwrap().as_bytes()));
    let said = fails(offline(dir).args(["keys", "generate", "--root", "--authority", "001", "--out", "x.pem"]));
    assert!(said.contains("cannot be used with"), "{said}");
    let said = fails(offline(dir).args(["keys", "generate", "--out", "x.pem"]));
    assert!(said.contains("--authority"), "{said}");

    // The root's secret must be its owner's alone.
    let cert = dir.join("hanoi.cert");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = certify(dir, &root, "001", &dir.join("hanoi.pub"), &cert);
    let said = crate::support::text(&out);
    assert!(!out.status.success() && said.contains(&format!("`chmod 600 {}`", root.display())), "{said}");
    assert!(!cert.exists());
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = certify(dir, &root, "001", &dir.join("hanoi.pub"), &cert);
    assert!(out.status.success(), "{}", crate::support::text(&out));
    assert_eq!(stdout(&out).trim(), id);
    let certificate = Certificate::parse(&std::fs::read_to_string(&cert).unwrap()).unwrap();
    assert_eq!((certificate.authority.as_str(), certificate.key_id.as_str()), ("001", id.as_str()));
    let root_public = keys::read_public(&dir.join("root.pub")).unwrap();
    certificate.check(&root_public, "001", &hex_of(&dir.join("hanoi.pub")), chrono::Utc::now().date_naive()).unwrap();
    // Never replaced; an unknown authority refused.
    assert!(!certify(dir, &root, "001", &dir.join("hanoi.pub"), &cert).status.success());
    let said = crate::support::text(&certify(dir, &root, "999", &dir.join("hanoi.pub"), &dir.join("x.cert")));
    assert!(said.contains("authority \"999\""), "{said}");
    // Nothing was made but the files asked for: no database.
    let mut made: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    made.sort();
    assert_eq!(made, ["hanoi.cert", "hanoi.pem", "hanoi.pub", "root.pem", "root.pub"]);
}

/// The hex of a public key file.
fn hex_of(public: &Path) -> String {
    ::hex::encode(keys::read_public(public).unwrap().as_bytes())
}

fn register(t: &Driver, authority: &str, public: &Path, cert: &Path) -> std::process::Output {
    t.as_("keeper")
        .args(["keys", "register", "--authority", authority])
        .arg(public)
        .arg("--certificate")
        .arg(cert)
        .output()
        .unwrap()
}

fn registering_checks_the_certificate(t: Driver) {
    let dir = t.dir.path();
    let (_, id) = generate(dir, "001", "hanoi.pem");
    let public = dir.join("hanoi.pub");
    let refused = |out: std::process::Output, says: &str| {
        let said = crate::support::text(&out);
        assert!(!out.status.success() && said.contains(says), "expected {says:?}:\n{said}");
        assert!(said.contains("ansinh keys certify --root-key"), "the remedy is given:\n{said}");
    };

    // No certificate: refused by the command line itself.
    let said = fails(t.as_("keeper").args(["keys", "register", "--authority", "001"]).arg(&public));
    assert!(said.contains("--certificate"), "{said}");
    // A certificate made by another root.
    let other_root = dir.join("other-root.pem");
    ok(offline(dir).args(["keys", "generate", "--root", "--out"]).arg(&other_root));
    let foreign = dir.join("foreign.cert");
    assert!(certify(dir, &other_root, "001", &public, &foreign).status.success());
    refused(register(&t, "001", &public, &foreign), "another root, which this installation does not trust");
    // A certificate for another authority.
    let root = t.root_key();
    let haiphong = dir.join("haiphong.cert");
    assert!(certify(dir, &root, "031", &public, &haiphong).status.success());
    refused(register(&t, "001", &public, &haiphong), "it certifies the key for 031, not for 001");
    // A certificate of another key.
    let (_, other_id) = generate(dir, "001", "other.pem");
    let other = dir.join("other.cert");
    assert!(certify(dir, &root, "001", &dir.join("other.pub"), &other).status.success());
    refused(register(&t, "001", &public, &other), &format!("it certifies the key {other_id}"));
    // A certificate changed after it was issued (its authority, say).
    let good = dir.join("hanoi.cert");
    assert!(certify(dir, &root, "031", &public, &good).status.success());
    let edited = dir.join("edited.cert");
    std::fs::write(&edited, std::fs::read_to_string(&good).unwrap().replace("\"031\"", "\"001\"")).unwrap();
    refused(register(&t, "001", &public, &edited), "the root key's signature does not hold");
    std::fs::remove_file(&good).unwrap();
    // Expired (made by the library: `keys certify` refuses a day past).
    let key = keys::read_public(&public).unwrap();
    let then = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().to_utc();
    let expired = Certificate::issue(&test_root_key(), "001", &key, "2025-06-30".parse().ok(), then).unwrap();
    std::fs::write(dir.join("expired.cert"), expired.to_text()).unwrap();
    refused(register(&t, "001", &public, &dir.join("expired.cert")), "it expired after 2025-06-30");
    // Without a root in the configuration, no key is registered: the error says how to configure one.
    let bare = dir.join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    assert!(certify(dir, &root, "001", &public, &good).status.success());
    let said = fails(
        t.as_("keeper")
            .arg("--config")
            .arg(&bare)
            .args(["keys", "register", "--authority", "001"])
            .arg(&public)
            .arg("--certificate")
            .arg(&good),
    );
    assert!(said.contains("has no [trust] root_public_key") && said.contains("keys generate --root"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM signing_keys"), 0, "nothing refused was registered");

    // The certificate that holds: registered, and listed as certified.
    let out = register(&t, "001", &public, &good);
    assert!(out.status.success(), "{}", crate::support::text(&out));
    assert_eq!(stdout(&out).trim(), id);
    let listed = stdout(&ok(t.cli().args(["keys", "list"])));
    assert!(listed.contains(&id) && listed.contains("active  certified"), "{listed}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM key_certificates"), 1);
    // Registered again with a renewed certificate (`keys add` is the old name): the new one is kept.
    let renewed = dir.join("renewed.cert");
    let made = offline(dir)
        .args(["keys", "certify", "--root-key"])
        .arg(&root)
        .args(["--authority", "001", "--not-after", "2099-12-31"])
        .arg(&public)
        .arg("--out")
        .arg(&renewed)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", crate::support::text(&made));
    let said = crate::support::text(&ok(t
        .as_("keeper")
        .args(["keys", "add", "--authority", "001"])
        .arg(&public)
        .arg("--certificate")
        .arg(&renewed)));
    assert!(said.contains("now has the new certificate"), "{said}");
    let listed = stdout(&ok(t.cli().args(["keys", "list"])));
    assert!(listed.contains("certified until 2099-12-31"), "{listed}");
    let log = stdout(&ok(t.cli().args(["audit", "log"])));
    assert!(log.contains("key.add") && log.contains("key.certify"), "{log}");
    let verified = stdout(&ok(t.cli().args(["audit", "verify"])));
    assert!(verified.contains("VERIFIED") && verified.contains("1 keys in use certified"), "{verified}");
}

on_both_backends!(registering_checks_the_certificate);

/// An SQL literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Sign release `release` with `key` as its row stands (plug-in, authority,
/// programme, cases), by SQL: what an attacker with the database does, having
/// put their own key in.
fn forge_signature(t: &Driver, release: &str, key: &ed25519_dalek::SigningKey) {
    let hash = t.text(format!("SELECT plugin_hash FROM releases WHERE id = {release}"));
    let authority = t.text(format!("SELECT authority FROM releases WHERE id = {release}"));
    let program = t.text(format!("SELECT program FROM releases WHERE id = {release}"));
    let cases = t.text(format!("SELECT cases FROM releases WHERE id = {release}"));
    let message = keys::signed_message(ansinh_sandbox::PluginHash::parse(&hash).unwrap(), &authority, &program, &cases);
    let signature = keys::sign(key, &message);
    let id = keys::key_id(&key.verifying_key());
    let done = t.execute(format!(
        "UPDATE releases SET key_id = '{id}', signature = '{signature}', signed_by = 'author', \
         signed_at = uploaded_at, state = CASE WHEN state = 'uploaded' THEN 'signed' ELSE state END \
         WHERE id = {release}"
    ));
    assert_eq!(done, Ok(1));
}

/// The run create of social assistance in Hà Nội for `period`, as the test officer.
fn create(t: &Driver, period: &str) -> std::process::Output {
    t.cli()
        .args(["run", "create", "--program", "social-assistance", "--province", "001", "--period", period])
        .output()
        .unwrap()
}

fn a_key_put_in_behind_the_hosts_back_signs_nothing_that_runs(t: Driver) {
    let dir = t.dir.path();
    let (registry, enrolment) = t.population(3, 30, "2024-09");
    t.import(&registry, &enrolment);
    // The national release, with a genuine key: it runs.
    let genuine = dir.join("national.pem");
    let genuine_id = t.key("keeper", "national", &genuine);
    let cases = workspace().join("plugins/national-social-assistance/cases.yaml");
    let upload = |plugin: &Path, cases: &Path| {
        let out = ok(t.as_("author").args(["plugin", "upload"]).arg(plugin).arg("--cases").arg(cases));
        stdout(&out).trim().to_owned()
    };
    let release = upload(&national_plugin(), &cases);
    ok(t.as_("author").args(["plugin", "sign", &release, "--key"]).arg(&genuine));
    ok(t.as_("approver").args(["plugin", "approve", &release]));
    ok(t.as_("approver").args(["plugin", "activate", &release, "--from", "2021-07"]));
    let run = t.create_run("2024-09");

    // The attacker's key, made offline and put straight into the database, with no certificate.
    let rogue = keys::generate().unwrap();
    let rogue_id = keys::key_id(&rogue.verifying_key());
    let rogue_public = ::hex::encode(rogue.verifying_key().as_bytes());
    t.execute(format!(
        "INSERT INTO signing_keys (id, authority, public_key, added_by, added_at) \
         SELECT '{rogue_id}', 'national', '{rogue_public}', 'keeper', added_at FROM signing_keys \
         WHERE id = '{genuine_id}'"
    ))
    .unwrap();
    let rogue_file = dir.join("rogue.pem");
    keys::write_pair(&rogue_file, &rogue).unwrap();

    // `plugin sign` with it is refused.
    let candidate = upload(&hostile_plugin(), &workspace().join("tests/plugins/hostile/cases.yaml"));
    let said = fails(t.as_("author").args(["plugin", "sign", &candidate, "--key"]).arg(&rogue_file));
    let uncertified = format!("key {rogue_id} of national has no certificate of the national root key");
    assert!(said.contains(&uncertified), "{said}");
    // Signed by SQL: `plugin approve` refuses it.
    forge_signature(&t, &candidate, &rogue);
    let said = fails(t.as_("approver").args(["plugin", "approve", &candidate]));
    assert!(said.contains(&format!("refusing release {candidate}")) && said.contains(&uncertified), "{said}");
    assert!(said.contains("ansinh keys certify"), "{said}");

    // The release in force re-signed by SQL with the attacker's key: `run create` and `run evaluate` refuse.
    forge_signature(&t, &release, &rogue);
    let said = crate::support::text(&create(&t, "2024-10"));
    assert!(said.contains(&format!("refusing release {release}")) && said.contains(&uncertified), "{said}");
    let said = fails(t.cli().args(["run", "evaluate", &run]));
    assert!(said.contains(&uncertified), "{said}");

    // A certificate forged with a root of the attacker's own: refused alike.
    let forged =
        Certificate::issue(&keys::generate().unwrap(), "national", &rogue.verifying_key(), None, chrono::Utc::now())
            .unwrap();
    t.execute(format!(
        "INSERT INTO key_certificates (key_id, certificate, registered_by, registered_at) \
         SELECT '{rogue_id}', {}, 'keeper', added_at FROM signing_keys WHERE id = '{rogue_id}'",
        quoted(&forged.to_text())
    ))
    .unwrap();
    let untrusted = format!("key {rogue_id} of national: its certificate does not hold against the national root key");
    for said in [
        fails(t.as_("approver").args(["plugin", "approve", &candidate])),
        crate::support::text(&create(&t, "2024-10")),
        fails(t.cli().args(["run", "evaluate", &run])),
    ] {
        assert!(said.contains(&untrusted) && said.contains("another root"), "{said}");
    }
    // The genuine key's certificate copied to it: the root's signature holds, but of another key.
    t.execute(format!(
        "UPDATE key_certificates SET certificate = (SELECT certificate FROM key_certificates WHERE key_id = \
         '{genuine_id}') WHERE key_id = '{rogue_id}'"
    ))
    .unwrap();
    let said = crate::support::text(&create(&t, "2024-10"));
    assert!(said.contains(&untrusted) && said.contains(&format!("it certifies the key {genuine_id}")), "{said}");
    // And `audit verify` names it.
    let verified = crate::support::text(&t.cli().args(["audit", "verify"]).output().unwrap());
    assert!(verified.contains(&untrusted), "{verified}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM runs"), 1, "no run was made");

    // Put back, the genuine release runs again.
    forge_signature(&t, &release, &keys::read_secret(&genuine).unwrap());
    assert!(create(&t, "2024-10").status.success());

    // A key registered before keys were certified (its certificate gone): refused with the
    // remedy, until it is certified and registered again.
    t.execute(format!("DELETE FROM key_certificates WHERE key_id = '{genuine_id}'")).unwrap();
    let said = crate::support::text(&create(&t, "2024-11"));
    assert!(said.contains(&format!("key {genuine_id} of national has no certificate")), "{said}");
    assert!(said.contains("registered before keys were certified"), "{said}");
    assert!(
        said.contains("ansinh keys certify --root-key ROOT.pem --authority national KEY.pub")
            && said.contains("ansinh keys register --authority national KEY.pub --certificate KEY.cert"),
        "{said}"
    );
    let again = dir.join("national-again.cert");
    assert!(certify(dir, &t.root_key(), "national", &genuine.with_extension("pub"), &again).status.success());
    let out = register(&t, "national", &genuine.with_extension("pub"), &again);
    assert!(out.status.success(), "{}", crate::support::text(&out));
    assert!(create(&t, "2024-11").status.success());
}

on_both_backends!(a_key_put_in_behind_the_hosts_back_signs_nothing_that_runs);

/// The day's signed tip file in `dir`.
fn tip_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one tip a day: {files:?}");
    files.into_iter().next().unwrap()
}

fn the_signed_tip_catches_a_rewritten_log(t: Driver) {
    let dir = t.dir.path();
    t.release_national();
    let tip_key = dir.join("tip.pem");
    let line = stdout(&ok(offline(dir).args(["keys", "generate", "--tip", "--out"]).arg(&tip_key)));
    assert!(line.starts_with("tip_public_key = \""), "{line}");
    let tips = dir.join("tips");
    // The auditor's account first, so that the tip is the log's last entry.
    t.token("test-officer");
    let entries = t.scalar("SELECT COUNT(*) FROM audit_log");

    // `serve` signs the tip at start, into a file outside the database, and writes nothing to it.
    let args = [OsStr::new("--tip-key"), tip_key.as_os_str(), OsStr::new("--tips"), tips.as_os_str()];
    drop(Server::start_with(&t, &args));
    let file = tip_file(&tips);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name, format!("tip-{}.json", chrono::Utc::now().format("%Y-%m-%d")));
    let tip: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(tip["seq"], entries, "{tip}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log"), entries, "serve appended nothing");
    // Started again the same day: the day's tip is kept.
    let before = std::fs::read_to_string(&file).unwrap();
    drop(Server::start_with(&t, &args));
    assert_eq!(std::fs::read_to_string(tip_file(&tips)).unwrap(), before);

    let verify = || {
        let out = t
            .cli()
            .args(["audit", "verify", "--tips"])
            .arg(&tips)
            .arg("--tip-public")
            .arg(tip_key.with_extension("pub"))
            .output()
            .unwrap();
        (out.status.success(), crate::support::text(&out))
    };
    let (fine, said) = verify();
    assert!(fine && said.contains("1 tips (noted down or signed) checked"), "{said}");
    // Without the tip key's public half, it says how to give one.
    let said = fails(t.cli().args(["audit", "verify", "--tips"]).arg(&tips));
    assert!(said.contains("--tip-public FILE.pub, or tip_public_key under [trust]"), "{said}");

    // A tip file changed: not trusted, named.
    std::fs::write(&file, before.replace(&format!("\"seq\": {entries}"), "\"seq\": 1")).unwrap();
    let (fine, said) = verify();
    assert!(!fine && said.contains(&format!("the signed tip {} cannot be trusted", file.display())), "{said}");
    std::fs::write(&file, &before).unwrap();

    // The log rewritten with every hash made anew: its chain is whole, but the signed tip names it.
    let rewritten = crate::audit::rewrite_log(&t, entries);
    let (fine, said) = verify();
    assert!(!fine, "{said}");
    assert!(
        said.contains(&format!("entry {entries} hashes to {rewritten}, not to the"))
            && said.contains(&format!("of the signed tip {}", file.display())),
        "{said}"
    );
    let plain = crate::support::text(&t.cli().args(["audit", "verify"]).output().unwrap());
    assert!(!plain.contains("does not follow") && !plain.contains("signed tip"), "the chain is whole:\n{plain}");
}

on_both_backends!(the_signed_tip_catches_a_rewritten_log);

/// `serve` refuses a tip key without a folder for the tips, and one others may read.
#[test]
fn serve_refuses_a_tip_key_it_cannot_use() {
    let t = Driver::new(crate::support::Backend::Sqlite);
    let dir = t.dir.path();
    let tip_key = dir.join("tip.pem");
    ok(offline(dir).args(["keys", "generate", "--tip", "--out"]).arg(&tip_key));
    let said = fails(t.bare().args(["serve", "--listen", "127.0.0.1:0", "--tip-key"]).arg(&tip_key));
    assert!(said.contains("--tips DIR"), "{said}");
    std::fs::set_permissions(&tip_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let said = fails(t.bare().args(["serve", "--listen", "127.0.0.1:0", "--tips", "tips", "--tip-key"]).arg(&tip_key));
    assert!(said.contains("chmod 600"), "{said}");
}
