//! The release lifecycle through the real binary, on both backends: who may
//! sign and approve, what approval checks, which release the host picks for a
//! month, and what it refuses to run.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{
    Backend, TestDb, ansinh, execute, fails, national_plugin, ok, plugin, scalar, stdout, text_scalar, workspace,
};

/// The CLI on one database, acting as `who`.
fn as_(db: &TestDb, who: &str) -> Command {
    let mut cmd = ansinh();
    cmd.args(["--database-url", &db.url, "--as", who]);
    cmd
}

fn national_cases() -> PathBuf {
    workspace().join("plugins/national-social-assistance/cases.yaml")
}

fn hanoi() -> (PathBuf, PathBuf) {
    (plugin("plugins/hanoi-social-assistance"), workspace().join("plugins/hanoi-social-assistance/cases.yaml"))
}

/// A key for `authority` in `dir`; its id.
fn key(db: &TestDb, dir: &Path, authority: &str) -> (PathBuf, String) {
    let file = dir.join(format!("{authority}.pem"));
    let id = stdout(&ok(as_(db, "keeper").args(["keys", "generate", "--authority", authority, "--out"]).arg(&file)));
    (file, id.trim().to_owned())
}

fn upload(db: &TestDb, plugin: &Path, cases: &Path) -> String {
    stdout(&ok(as_(db, "author").args(["plugin", "upload"]).arg(plugin).arg("--cases").arg(cases))).trim().to_owned()
}

/// `run create` for Hà Nội (001) or another province; the run's plug-in hash, or the error.
fn run_plugin(db: &TestDb, province: &str, period: &str) -> Result<String, String> {
    let out = ansinh()
        .args(["--database-url", &db.url, "run", "create", "--program", "social-assistance"])
        .args(["--province", province, "--period", period])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(support::text(&out));
    }
    let id = stdout(&out).trim().to_owned();
    Ok(text_scalar(&db.url, format!("SELECT plugin_hash FROM runs WHERE id = {id}")))
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn four_eyes_and_keys(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let (hanoi, hanoi_cases) = hanoi();
    let (hanoi_key, _) = key(&db, dir.path(), "001");
    let (haiphong_key, _) = key(&db, dir.path(), "031");

    // A command that changes state says who acted.
    let said = fails(
        ansinh().args(["--database-url", &db.url, "plugin", "upload"]).arg(&hanoi).arg("--cases").arg(&hanoi_cases),
    );
    assert!(said.contains("--as NAME") && said.contains("ANSINH_USER"), "{said}");

    let id = upload(&db, &hanoi, &hanoi_cases);
    // Not yet signed: nothing runs, and it cannot be approved.
    assert!(run_plugin(&db, "001", "2026-01").unwrap_err().contains("no release of social-assistance is in force"));
    let said = fails(as_(&db, "approver").args(["plugin", "approve", &id]));
    assert!(
        said.contains(&format!("release {id} is uploaded: only a release that is signed can be approved")),
        "{said}"
    );

    // Only Hà Nội's key signs Hà Nội's plug-in.
    let said = fails(as_(&db, "author").args(["plugin", "sign", &id, "--key"]).arg(&haiphong_key));
    assert!(said.contains("signs for 031, but release") && said.contains("only 001's key may sign it"), "{said}");
    ok(as_(&db, "author").args(["plugin", "sign", &id, "--key"]).arg(&hanoi_key));

    // Four eyes: neither the uploader nor the signer approves.
    let said = fails(as_(&db, "author").args(["plugin", "approve", &id]));
    assert!(said.contains("a second person must approve it"), "{said}");
    let approved = stdout(&ok(as_(&db, "approver").args(["plugin", "approve", &id])));
    assert!(approved.contains("9 cases passed"), "{approved}");
    assert!(approved.contains("no active release to compare fuel with"), "{approved}");
    ok(as_(&db, "approver").args(["plugin", "activate", &id, "--from", "2026-01"]));
    assert_eq!(run_plugin(&db, "001", "2026-01").unwrap(), sha256(&hanoi));

    // Who did what is kept with the release.
    let listed = stdout(&ok(ansinh().args(["--database-url", &db.url, "plugin", "releases"])));
    assert!(listed.contains("active") && listed.contains("from 2026-01"), "{listed}");
    assert!(listed.contains("uploaded by author, signed by author, approved by approver"), "{listed}");

    // A revoked key's releases no longer run.
    let keys = stdout(&ok(ansinh().args(["--database-url", &db.url, "keys", "list"])));
    let hanoi_key_id =
        keys.lines().find(|l| l.contains(" 001 ")).unwrap().split_whitespace().next().unwrap().to_owned();
    ok(as_(&db, "keeper").args(["keys", "revoke", &hanoi_key_id]));
    let said = run_plugin(&db, "001", "2026-02").unwrap_err();
    assert!(said.contains(&format!("key {hanoi_key_id} was revoked")), "{said}");
}

#[test]
fn four_eyes_and_keys_on_sqlite() {
    four_eyes_and_keys(Backend::Sqlite);
}

#[test]
fn four_eyes_and_keys_on_postgres() {
    four_eyes_and_keys(Backend::Postgres);
}

/// The host picks the release in force in the paid month: a past month keeps
/// the rules of its time.
fn effective_dates(backend: Backend) {
    let db = TestDb::new(backend);
    let national = support::release_national(&db.url);
    let (hanoi, hanoi_cases) = hanoi();
    let hanoi_release = support::release(&db.url, &hanoi, &hanoi_cases, "001", "2026-01");

    // Hà Nội's level (Resolution 63/2025) from 2026-01; the national rules before,
    // and for every other province.
    assert_eq!(run_plugin(&db, "001", "2025-12").unwrap(), sha256(&national_plugin()));
    assert_eq!(run_plugin(&db, "001", "2026-01").unwrap(), sha256(&hanoi));
    assert_eq!(run_plugin(&db, "001", "2026-06").unwrap(), sha256(&hanoi));
    assert_eq!(run_plugin(&db, "031", "2026-06").unwrap(), sha256(&national_plugin()));
    assert!(
        run_plugin(&db, "001", "2021-06")
            .unwrap_err()
            .contains("no release of social-assistance is in force in 2021-06")
    );

    // Retired, Hà Nội's release is chosen for no month; the national one takes over.
    ok(as_(&db, "approver").args(["plugin", "retire", &hanoi_release]));
    assert_eq!(run_plugin(&db, "001", "2026-06").unwrap(), sha256(&national_plugin()));
    let said = fails(as_(&db, "approver").args(["plugin", "retire", &hanoi_release]));
    assert!(said.contains(&format!("release {hanoi_release} is retired: it cannot be retired again")), "{said}");
    assert_eq!(national, "1");
}

#[test]
fn effective_dates_on_sqlite() {
    effective_dates(Backend::Sqlite);
}

#[test]
fn effective_dates_on_postgres() {
    effective_dates(Backend::Postgres);
}

/// Approval runs the release's own cases, and compares its fuel with the
/// active release's on the same cases.
#[test]
fn approval_runs_the_cases_and_watches_fuel() {
    let db = TestDb::new(Backend::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let (key_file, _) = key(&db, dir.path(), "national");

    // A case the plug-in does not pass (the 2021 level for a 2024 month).
    let wrong = dir.path().join("wrong.yaml");
    std::fs::write(
        &wrong,
        "- name: aged 80 without pension at the old level (wrong on purpose)\n  period: 2024-09\n  program: \
         social-assistance\n  province: \"001\"\n  verified: true\n  person: { birth_date: 1940-05-12, sex: female, \
         residence_province: \"001\" }\n  expect: { eligible: true, amount: 360000 }\n",
    )
    .unwrap();
    let id = upload(&db, &national_plugin(), &wrong);
    ok(as_(&db, "author").args(["plugin", "sign", &id, "--key"]).arg(&key_file));
    let said = fails(as_(&db, "approver").args(["plugin", "approve", &id]));
    assert!(said.contains(&format!("release {id} is not approved: its own cases fail")), "{said}");
    assert!(said.contains("case 1 \"aged 80 without pension at the old level (wrong on purpose)\""), "{said}");
    assert!(said.contains("expected amount 360000, got 500000"), "{said}");
    assert_eq!(scalar(&db.url, format!("SELECT COUNT(*) FROM releases WHERE id = {id} AND state = 'signed'")), 1);

    // Withdrawn, the same plug-in is released with its real cases; then Hà Nội's build of the
    // rules, compared on the national cases' fuel.
    ok(as_(&db, "author").args(["plugin", "retire", &id]));
    support::release_national(&db.url);
    let (hanoi, _) = hanoi();
    let candidate = upload(&db, &hanoi, &national_cases_for_hanoi(dir.path()));
    let (hanoi_key, _) = key(&db, dir.path(), "001");
    ok(as_(&db, "author").args(["plugin", "sign", &candidate, "--key"]).arg(&hanoi_key));
    // Hà Nội has no active release of its own: nothing to compare with.
    let approved = stdout(&ok(as_(&db, "approver").args(["plugin", "approve", &candidate])));
    assert!(approved.contains("no active release to compare fuel with"), "{approved}");

    // A national release compared with the active national one: same code, same
    // fuel (1.00×), refused under a limit below 1.
    let again = upload_national_again(&db, dir.path());
    ok(as_(&db, "author").args(["plugin", "sign", &again, "--key"]).arg(&key_file));
    let said = fails(as_(&db, "approver").args(["plugin", "approve", &again, "--max-fuel-growth", "0.9"]));
    assert!(said.contains("more than 0.9×") && said.contains("(active) on the same cases"), "{said}");
    let approved = stdout(&ok(as_(&db, "approver").args(["plugin", "approve", &again])));
    assert!(approved.contains("(active) used") && approved.contains(": 1.00× (limit 1.50×)"), "{approved}");

    // Two releases in force from the same month would make the choice a guess.
    let said = fails(as_(&db, "approver").args(["plugin", "activate", &again, "--from", "2021-07"]));
    assert!(
        said.contains("another release of national for social-assistance is already active from 2021-07"),
        "{said}"
    );
    ok(as_(&db, "approver").args(["plugin", "activate", &again, "--from", "2024-07"]));
}

/// The national cases, for Hà Nội's plug-in, in months before its own level.
fn national_cases_for_hanoi(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(national_cases()).unwrap();
    let cases: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).unwrap();
    let before_2026: Vec<_> = cases
        .into_iter()
        .filter(|c| c["period"].as_str().is_some_and(|p| p < "2026-01") && c["province"].as_str() == Some("001"))
        .collect();
    assert!(before_2026.len() > 10);
    let path = dir.join("national-for-hanoi.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&before_2026).unwrap()).unwrap();
    path
}

/// The national plug-in again as a new release: the same bytes with other
/// cases (a subset), so that it is a new upload.
fn upload_national_again(db: &TestDb, dir: &Path) -> String {
    let text = std::fs::read_to_string(national_cases()).unwrap();
    let cases: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).unwrap();
    let path = dir.join("national-subset.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&cases[..20]).unwrap()).unwrap();
    let said = fails(as_(db, "author").args(["plugin", "upload"]).arg(national_plugin()).arg("--cases").arg(&path));
    assert!(said.contains("already uploaded for social-assistance as release"), "{said}");
    // A second build: the same code with one more custom section, as a rebuild
    // with other metadata would be.
    let copy = dir.join("national-again.wasm");
    let mut bytes = std::fs::read(national_plugin()).unwrap();
    bytes.extend(custom_section("ansinh-test", b"a second build"));
    std::fs::write(&copy, bytes).unwrap();
    upload(db, &copy, &path)
}

/// A component custom section (id 0): name and payload.
fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend(name.as_bytes());
    body.extend(payload);
    let mut out = vec![0, body.len() as u8];
    out.extend(body);
    out
}

/// What is changed in the database after signing is refused at `run create`
/// and at `run evaluate`.
fn tampering(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let release = support::release_national(&db.url);
    let good = run_plugin(&db, "001", "2024-09").unwrap();
    assert_eq!(good, sha256(&national_plugin()));

    // The cases changed after signing.
    assert_eq!(
        execute(&db.url, format!("UPDATE releases SET cases = cases || '# edited' WHERE id = {release}")).unwrap(),
        1
    );
    let said = run_plugin(&db, "001", "2024-10").unwrap_err();
    assert!(
        said.contains(&format!("refusing release {release}")) && said.contains("the signature does not match"),
        "{said}"
    );
    // Run 1, created before, is refused at evaluation too.
    let said = fails(ansinh().args(["--database-url", &db.url, "run", "evaluate", "1"]));
    assert!(said.contains("the signature does not match"), "{said}");
    assert_eq!(
        execute(&db.url, format!("UPDATE releases SET cases = replace(cases, '# edited', '') WHERE id = {release}"))
            .unwrap(),
        1
    );
    run_plugin(&db, "001", "2024-10").unwrap();

    // Signed with another province's key: the key row says 031.
    let (_, other) = key(&db, dir.path(), "031");
    assert_eq!(execute(&db.url, format!("UPDATE releases SET key_id = '{other}' WHERE id = {release}")).unwrap(), 1);
    let said = run_plugin(&db, "001", "2024-11").unwrap_err();
    assert!(said.contains("signs for 031, but release"), "{said}");
}

#[test]
fn tampering_on_sqlite() {
    tampering(Backend::Sqlite);
}

#[test]
fn tampering_on_postgres() {
    tampering(Backend::Postgres);
}

/// Bytes as an SQL literal of the backend.
fn blob_literal(db: &TestDb, bytes: &[u8]) -> String {
    if db.url.starts_with("postgres") {
        format!("'\\x{}'::bytea", hex::encode(bytes))
    } else {
        format!("X'{}'", hex::encode(bytes))
    }
}

/// The bytes changed under the signature: refused with both hashes named.
fn changed_bytes_are_refused(backend: Backend) {
    let db = TestDb::new(backend);
    let release = support::release_national(&db.url);
    let hostile = std::fs::read(support::hostile_plugin()).unwrap();
    let hostile_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&hostile))
    };
    // Swap the stored bytes for another plug-in's (what an attacker with
    // database access would do), keeping the row's hash.
    assert_eq!(execute(&db.url, format!("UPDATE plugins SET bytes = {}", blob_literal(&db, &hostile))).unwrap(), 1);
    let said = run_plugin(&db, "001", "2024-09").unwrap_err();
    assert!(said.contains(&format!("refusing release {release} (plug-in sha256 {hostile_hash}")), "{said}");
    assert!(said.contains("the signature does not match"), "{said}");
    assert_eq!(scalar(&db.url, "SELECT COUNT(*) FROM runs"), 0);
}

#[test]
fn changed_bytes_are_refused_on_sqlite() {
    changed_bytes_are_refused(Backend::Sqlite);
}

#[test]
fn changed_bytes_are_refused_on_postgres() {
    changed_bytes_are_refused(Backend::Postgres);
}
