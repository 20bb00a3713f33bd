//! The release lifecycle through the real binary, on both backends: who may
//! sign and approve, what approval checks, which release the host picks for a
//! month, and what it refuses to run.

use std::path::{Path, PathBuf};

use crate::support::{self, Backend, Driver, fails, national_plugin, ok, plugin, stdout, workspace};

fn national_cases() -> PathBuf {
    workspace().join("plugins/national-social-assistance/cases.yaml")
}

fn hanoi() -> (PathBuf, PathBuf) {
    (plugin("plugins/hanoi-social-assistance"), workspace().join("plugins/hanoi-social-assistance/cases.yaml"))
}

/// A key for `authority` in the test's folder, certified and registered; its id.
fn key(t: &Driver, authority: &str) -> (PathBuf, String) {
    let file = t.path(format!("{authority}.pem"));
    let id = t.key("keeper", authority, &file);
    (file, id)
}

fn upload(t: &Driver, plugin: &Path, cases: &Path) -> String {
    stdout(&ok(t.as_("author").args(["plugin", "upload"]).arg(plugin).arg("--cases").arg(cases))).trim().to_owned()
}

/// `run create` for Hà Nội (001) or another province; the run's plug-in hash, or the error.
fn run_plugin(t: &Driver, province: &str, period: &str) -> Result<String, String> {
    let out = t
        .cli()
        .args(["run", "create", "--program", "social-assistance"])
        .args(["--province", province, "--period", period])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(support::text(&out));
    }
    let id = stdout(&out).trim().to_owned();
    Ok(t.text(format!("SELECT plugin_hash FROM runs WHERE id = {id}")))
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn four_eyes_and_keys(t: Driver) {
    let (hanoi, hanoi_cases) = hanoi();
    let (hanoi_key, _) = key(&t, "001");
    let (haiphong_key, _) = key(&t, "031");

    // Releases are an author's: an officer's token uploads none, and no token acts as no one.
    let said = fails(t.cli().args(["plugin", "upload"]).arg(&hanoi).arg("--cases").arg(&hanoi_cases));
    assert!(said.contains("is for the author role; test-officer holds auditor, officer"), "{said}");
    let said = fails(
        t.as_("author")
            .env_remove("ANSINH_TOKEN")
            .args(["plugin", "upload"])
            .arg(&hanoi)
            .arg("--cases")
            .arg(&hanoi_cases),
    );
    assert!(said.contains("set ANSINH_TOKEN") && said.contains("--token-file"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM releases"), 0);

    // An upload can be withdrawn before it is signed, and then uploaded again.
    let withdrawn = upload(&t, &hanoi, &hanoi_cases);
    ok(t.as_("author").args(["plugin", "retire", &withdrawn]));
    // Cases about another province prove nothing about this release.
    let haiphong_cases = workspace().join("plugins/haiphong-social-assistance/cases.yaml");
    let said = fails(t.as_("author").args(["plugin", "upload"]).arg(&hanoi).arg("--cases").arg(&haiphong_cases));
    assert!(said.contains("in province 031, but the release is social-assistance for 001"), "{said}");

    let id = upload(&t, &hanoi, &hanoi_cases);
    assert_ne!(id, withdrawn);
    // Not yet signed: nothing runs, and it cannot be approved.
    assert!(run_plugin(&t, "001", "2026-01").unwrap_err().contains("no release of social-assistance is in force"));
    let said = fails(t.as_("approver").args(["plugin", "approve", &id]));
    assert!(
        said.contains(&format!("release {id} is uploaded: only a release that is signed can be approved")),
        "{said}"
    );

    // Only Hà Nội's key signs Hà Nội's plug-in.
    let said = fails(t.as_("author").args(["plugin", "sign", &id, "--key"]).arg(&haiphong_key));
    assert!(said.contains("signs for 031, but release") && said.contains("only 001's key may sign it"), "{said}");
    ok(t.as_("dung").args(["plugin", "sign", &id, "--key"]).arg(&hanoi_key));

    // Four eyes: neither the uploader nor the signer approves, whatever roles they hold.
    let said = fails(t.as_("author").args(["plugin", "approve", &id]));
    assert!(said.contains("is for the approver role; author holds author"), "{said}");
    let said = fails(t.as_("dung").args(["plugin", "approve", &id]));
    assert!(said.contains(&format!("dung uploaded or signed release {id}: a second person")), "{said}");
    let said = fails(t.as_("approver").args(["plugin", "approve", &id, "--max-fuel-growth", "NaN"]));
    assert!(said.contains("expected a number of at least 1"), "{said}");
    let approved = stdout(&ok(t.as_("approver").args(["plugin", "approve", &id])));
    assert!(approved.contains("9 cases passed"), "{approved}");
    assert!(approved.contains("no active release to compare fuel with"), "{approved}");
    ok(t.as_("approver").args(["plugin", "activate", &id, "--from", "2026-01"]));
    assert_eq!(run_plugin(&t, "001", "2026-01").unwrap(), sha256(&hanoi));

    // Who did what is kept with the release.
    let listed = stdout(&ok(t.cli().args(["plugin", "releases"])));
    assert!(listed.contains("active") && listed.contains("from 2026-01"), "{listed}");
    assert!(listed.contains("uploaded by author, signed by dung, approved by approver"), "{listed}");
    assert!(listed.contains("approval {\"cases\":9,"), "{listed}");

    // A revoked key's releases no longer run.
    let keys = stdout(&ok(t.cli().args(["keys", "list"])));
    let hanoi_key_id =
        keys.lines().find(|l| l.contains(" 001 ")).unwrap().split_whitespace().next().unwrap().to_owned();
    ok(t.as_("keeper").args(["keys", "revoke", &hanoi_key_id]));
    let said = run_plugin(&t, "001", "2026-02").unwrap_err();
    assert!(said.contains(&format!("key {hanoi_key_id} was revoked")), "{said}");
}

on_both_backends!(four_eyes_and_keys);

/// The host picks the release in force in the paid month: a past month keeps
/// the rules of its time.
fn effective_dates(t: Driver) {
    let national = t.release_national();
    let (hanoi, hanoi_cases) = hanoi();
    let hanoi_release = t.release(&hanoi, &hanoi_cases, "001", "2026-01");

    // Hà Nội's level (Resolution 63/2025) from 2026-01; the national rules before,
    // and for every other province.
    assert_eq!(run_plugin(&t, "001", "2025-12").unwrap(), sha256(&national_plugin()));
    assert_eq!(run_plugin(&t, "001", "2026-01").unwrap(), sha256(&hanoi));
    assert_eq!(run_plugin(&t, "001", "2026-06").unwrap(), sha256(&hanoi));
    assert_eq!(run_plugin(&t, "031", "2026-06").unwrap(), sha256(&national_plugin()));
    assert!(
        run_plugin(&t, "001", "2021-06")
            .unwrap_err()
            .contains("no release of social-assistance is in force in 2021-06")
    );

    // A second national release from 2025-07: months before keep the first.
    let (second, second_cases) = national_rebuild(t.dir.path());
    let second_release = upload(&t, &second, &second_cases);
    let (key_file, _) = key(&t, "national");
    ok(t.as_("author").args(["plugin", "sign", &second_release, "--key"]).arg(&key_file));
    ok(t.as_("approver").args(["plugin", "approve", &second_release]));
    // Two releases in force from the same month would make the choice a guess.
    let said = fails(t.as_("approver").args(["plugin", "activate", &second_release, "--from", "2021-07"]));
    assert!(said.contains("(release 1) is already active from 2021-07: retire it first"), "{said}");
    ok(t.as_("approver").args(["plugin", "activate", &second_release, "--from", "2025-07"]));
    assert_eq!(run_plugin(&t, "031", "2025-06").unwrap(), sha256(&national_plugin()));
    assert_eq!(run_plugin(&t, "031", "2025-07").unwrap(), sha256(&second));
    assert_eq!(run_plugin(&t, "001", "2025-12").unwrap(), sha256(&second));
    assert_eq!(run_plugin(&t, "001", "2026-01").unwrap(), sha256(&hanoi));

    // Retired, Hà Nội's release is chosen for no month; the national one takes over.
    let runs_before = t.scalar("SELECT COUNT(*) FROM runs");
    let hanoi_run = t.scalar(format!("SELECT MAX(id) FROM runs WHERE release_id = {hanoi_release}"));
    ok(t.as_("approver").args(["plugin", "retire", &hanoi_release]));
    assert_eq!(run_plugin(&t, "001", "2026-06").unwrap(), sha256(&second));
    // A run made before by the retired release is not evaluated by it any more.
    let said = fails(t.cli().args(["run", "evaluate", &hanoi_run.to_string()]));
    assert!(
        said.contains(&format!("release {hanoi_release} is retired: only an active release decides a run")),
        "{said}"
    );
    // Nor can a run be pointed at another release than the one that fits it.
    let latest = runs_before + 1;
    assert_eq!(t.execute(format!("UPDATE runs SET release_id = {hanoi_release} WHERE id = {latest}")).unwrap(), 1);
    let said = fails(t.cli().args(["run", "evaluate", &latest.to_string()]));
    assert!(said.contains(&format!("run {latest} cannot be evaluated")), "{said}");
    let said = fails(t.as_("approver").args(["plugin", "retire", &hanoi_release]));
    assert!(said.contains(&format!("release {hanoi_release} is retired: it cannot be retired again")), "{said}");
    assert_eq!(national, "1");
}

on_both_backends!(effective_dates);

/// Approval runs the release's own cases, and compares its fuel with the
/// active release's on the same cases.
#[test]
fn approval_runs_the_cases_and_watches_fuel() {
    let t = Driver::new(Backend::Sqlite);
    let (key_file, _) = key(&t, "national");

    // A case the plug-in does not pass (the 2021 level for a 2024 month).
    let wrong = t.path("wrong.yaml");
    std::fs::write(
        &wrong,
        "- name: aged 80 without pension at the old level (wrong on purpose)\n  period: 2024-09\n  program: \
         social-assistance\n  province: \"001\"\n  verified: true\n  person: { birth_date: 1940-05-12, sex: female, \
         residence_province: \"001\" }\n  expect: { eligible: true, amount: 360000 }\n",
    )
    .unwrap();
    let id = upload(&t, &national_plugin(), &wrong);
    ok(t.as_("author").args(["plugin", "sign", &id, "--key"]).arg(&key_file));
    let said = fails(t.as_("approver").args(["plugin", "approve", &id]));
    assert!(said.contains(&format!("release {id} is not approved: its own cases fail")), "{said}");
    assert!(said.contains("case 1 \"aged 80 without pension at the old level (wrong on purpose)\""), "{said}");
    assert!(said.contains("expected amount 360000, got 500000"), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM releases WHERE id = {id} AND state = 'signed'")), 1);

    // Withdrawn, the same plug-in is released with its real cases. Hà Nội's
    // first release is then compared with the national one on its cases.
    ok(t.as_("author").args(["plugin", "retire", &id]));
    let national = t.release_national();
    let (hanoi, _) = hanoi();
    let candidate = upload(&t, &hanoi, &national_cases_for_hanoi(t.dir.path()));
    let (hanoi_key, _) = key(&t, "001");
    ok(t.as_("author").args(["plugin", "sign", &candidate, "--key"]).arg(&hanoi_key));
    let approved = stdout(&ok(t.as_("approver").args(["plugin", "approve", &candidate])));
    assert!(approved.contains(&format!("release {national} (active) used")), "{approved}");

    // A rebuild of the national rules: the same code, the same fuel.
    let (again, again_cases) = national_rebuild(t.dir.path());
    let again = upload(&t, &again, &again_cases);
    ok(t.as_("author").args(["plugin", "sign", &again, "--key"]).arg(&key_file));
    let approved = stdout(&ok(t.as_("approver").args(["plugin", "approve", &again])));
    assert!(approved.contains(": 1.00× (limit 1.50×)"), "{approved}");
}

/// A plug-in that needs several times the fuel of the active one on the same
/// cases is not approved under the default limit.
#[test]
fn fuel_growth_beyond_the_limit_refuses_approval() {
    let t = Driver::new(Backend::Sqlite);
    // Active: the test plug-in, which answers its one sound case in a few
    // hundred instructions.
    let hostile_cases = workspace().join("tests/plugins/hostile/cases.yaml");
    let cheap = t.release(&support::hostile_plugin(), &hostile_cases, "national", "2024-09");
    // Candidate: the national rules on the same case (a real decision, about 10× the fuel).
    let candidate = upload(&t, &national_plugin(), &hostile_cases_as_national(t.dir.path()));
    let (key_file, _) = key(&t, "national");
    ok(t.as_("author").args(["plugin", "sign", &candidate, "--key"]).arg(&key_file));
    let said = fails(t.as_("approver").args(["plugin", "approve", &candidate]));
    assert!(said.contains("more than 1.5× the") && said.contains(&format!("of release {cheap} (active)")), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM releases WHERE id = {candidate} AND state = 'signed'")), 1);
    let approved = stdout(&ok(t.as_("approver").args(["plugin", "approve", &candidate, "--max-fuel-growth", "100"])));
    assert!(approved.contains("(limit 100.00×)"), "{approved}");
}

/// The hostile plug-in's sound case, with what the national rules decide for it
/// (a man aged 84 with no pension: Decree 20/2021/ND-CP Art. 5(5)(c), 500,000 in 2024-09).
fn hostile_cases_as_national(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(workspace().join("tests/plugins/hostile/cases.yaml")).unwrap();
    let path = dir.join("national-on-hostile.yaml");
    std::fs::write(&path, text.replace("amount: 100000", "amount: 500000")).unwrap();
    path
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

/// A rebuild of the national plug-in: the same code with one more custom
/// section (as a rebuild with other metadata would be), and a subset of its
/// cases. Other bytes, so another release.
fn national_rebuild(dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(national_cases()).unwrap();
    let cases: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).unwrap();
    let cases_path = dir.join("national-subset.yaml");
    std::fs::write(&cases_path, serde_yaml_ng::to_string(&cases[..20]).unwrap()).unwrap();
    let copy = dir.join("national-again.wasm");
    let mut bytes = std::fs::read(national_plugin()).unwrap();
    bytes.extend(custom_section("ansinh-test", b"a second build"));
    std::fs::write(&copy, bytes).unwrap();
    (copy, cases_path)
}

/// A component custom section (id 0): name and payload.
pub(crate) fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend(name.as_bytes());
    body.extend(payload);
    let mut out = vec![0, body.len() as u8];
    out.extend(body);
    out
}

/// What is changed in the database after signing is refused at `run create`
/// and at `run evaluate`.
fn tampering(t: Driver) {
    let release = t.release_national();
    let good = run_plugin(&t, "001", "2024-09").unwrap();
    assert_eq!(good, sha256(&national_plugin()));

    // The cases changed after signing.
    assert_eq!(t.execute(format!("UPDATE releases SET cases = cases || '# edited' WHERE id = {release}")).unwrap(), 1);
    let said = run_plugin(&t, "001", "2024-10").unwrap_err();
    assert!(
        said.contains(&format!("refusing release {release}")) && said.contains("the signature does not match"),
        "{said}"
    );
    // Run 1, created before, is refused at evaluation too.
    let said = fails(t.cli().args(["run", "evaluate", "1"]));
    assert!(said.contains("the signature does not match"), "{said}");
    assert_eq!(
        t.execute(format!("UPDATE releases SET cases = replace(cases, '# edited', '') WHERE id = {release}")).unwrap(),
        1
    );
    run_plugin(&t, "001", "2024-10").unwrap();

    // Signed with another province's key: the key row says 031.
    let (_, other) = key(&t, "031");
    assert_eq!(t.execute(format!("UPDATE releases SET key_id = '{other}' WHERE id = {release}")).unwrap(), 1);
    let said = run_plugin(&t, "001", "2024-11").unwrap_err();
    assert!(said.contains("signs for 031, but release"), "{said}");
}

on_both_backends!(tampering);

/// Bytes as an SQL literal of the backend.
fn blob_literal(t: &Driver, bytes: &[u8]) -> String {
    if t.url().starts_with("postgres") {
        format!("'\\x{}'::bytea", hex::encode(bytes))
    } else {
        format!("X'{}'", hex::encode(bytes))
    }
}

/// The bytes changed under the signature: refused with both hashes named.
fn changed_bytes_are_refused(t: Driver) {
    let release = t.release_national();
    let hostile = std::fs::read(support::hostile_plugin()).unwrap();
    let hostile_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&hostile))
    };
    // Swap the stored bytes for another plug-in's (what an attacker with
    // database access would do), keeping the row's hash.
    assert_eq!(t.execute(format!("UPDATE plugins SET bytes = {}", blob_literal(&t, &hostile))).unwrap(), 1);
    let said = run_plugin(&t, "001", "2024-09").unwrap_err();
    assert!(said.contains(&format!("refusing release {release} (plug-in sha256 {hostile_hash}")), "{said}");
    assert!(said.contains("the signature does not match"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM runs"), 0);
}

on_both_backends!(changed_bytes_are_refused);

/// The lifecycle over HTTP (`/v1/releases`), as authors and approvers work
/// from the service: the plug-in and its cases uploaded as a form, signed
/// offline with the key file (the service never sees a secret key), approved
/// by a second person with the cases' results and fuel, activated; and the
/// refusals on the way: what does not load, a signature over other cases, an
/// approver who uploaded it, another province's author, an officer.
fn a_release_over_http(t: Driver) {
    let (key_file, key_id) = key(&t, "national");
    let server = crate::support::service::Server::start(&t);
    let (author, approver) = (t.token("dung"), t.token("approver"));
    let officer = t.person("Lê Văn Hùng", &["officer"], &["province:079"]);
    let province_author = t.person("Vũ Thị Mai", &["author"], &["province:079"]);
    let (wasm, cases) = (std::fs::read(national_plugin()).unwrap(), std::fs::read(national_cases()).unwrap());

    server
        .post_form("/v1/releases", &author, &[("plugin", b"not a plug-in"), ("cases", &cases)])
        .assert_problem(422, "plugin:");
    server.post_form("/v1/releases", &author, &[("plugin", &wasm)]).assert_problem(422, "needs a plugin");
    server.post_form("/v1/releases", &officer, &[("plugin", &wasm), ("cases", &cases)]).assert_problem(403, "author");
    // A province's author releases for their province only: the national plug-in is not theirs.
    server
        .post_form("/v1/releases", &province_author, &[("plugin", &wasm), ("cases", &cases)])
        .assert_problem(404, "authority national");
    let made = server.post_form("/v1/releases", &author, &[("plugin", &wasm), ("cases", &cases)]);
    assert_eq!(made.status, 201, "{}", made.body);
    let (id, sha256) = (made.json()["id"].as_i64().unwrap(), made.json()["sha256"].as_str().unwrap().to_owned());
    assert_eq!(sha256, self::sha256(&national_plugin()));
    let release = format!("/v1/releases/{id}");

    // Signed offline, with no database and no account: the file is the route's body.
    let sign = |cases: &Path, out: &str| {
        let out = t.path(out);
        ok(support::ansinh()
            .args(["plugin", "sign", "--key"])
            .arg(&key_file)
            .arg("--plugin")
            .arg(national_plugin())
            .arg("--cases")
            .arg(cases)
            .arg("--out")
            .arg(&out));
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(out).unwrap()).unwrap()
    };
    let other_cases = t.path("other-cases.yaml");
    std::fs::write(&other_cases, [cases.as_slice(), b"\n# changed after the upload\n"].concat()).unwrap();
    let wrong = sign(&other_cases, "wrong.sig.json");
    server.post(&format!("{release}/signature"), &author, &wrong).assert_problem(409, "the signature is not key");
    server.post(&format!("{release}/signature"), &province_author, &wrong).assert_problem(403, "national's");
    let signature = sign(&national_cases(), "release.sig.json");
    assert_eq!((&signature["key"], &signature["plugin"]), (&serde_json::json!(key_id), &serde_json::json!(sha256)));
    let signed = server.post(&format!("{release}/signature"), &author, &signature);
    assert_eq!(signed.status, 204, "{}", signed.body);

    // Four eyes: dung uploaded and signed it, and is an approver too; not of this release.
    server
        .post(&format!("{release}/approve"), &author, &serde_json::json!({}))
        .assert_problem(409, "a second person must approve");
    server.post(&format!("{release}/approve"), &officer, &serde_json::json!({})).assert_problem(403, "approver");
    server
        .post(&format!("{release}/approve"), &approver, &serde_json::json!({ "max_fuel_growth": 0.5 }))
        .assert_problem(422, "max_fuel_growth");
    let approved = server.post(&format!("{release}/approve"), &approver, &serde_json::json!({}));
    assert_eq!(approved.status, 200, "{}", approved.body);
    let cases_run = t.scalar(format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'release.approve' AND subject = 'release:{id}'"
    ));
    assert_eq!(cases_run, 1);
    assert!(
        approved.json()["cases"].as_u64().unwrap() > 0 && approved.json()["fuel"].as_u64().unwrap() > 0,
        "{}",
        approved.body
    );

    server
        .post(&format!("{release}/activate"), &approver, &serde_json::json!({ "from": "2021-13" }))
        .assert_problem(422, "from: expected a month");
    let activated = server.post(&format!("{release}/activate"), &approver, &serde_json::json!({ "from": "2021-07" }));
    assert_eq!(activated.status, 204, "{}", activated.body);
    // National rules are read by every province; who acted is on the release.
    let get = |path: &str, token: &str| server.request("GET", path, &[("Authorization", &format!("Bearer {token}"))]);
    let shown = get(&release, &officer);
    assert_eq!(shown.status, 200, "{}", shown.body);
    let shown = shown.json();
    assert_eq!(
        (&shown["state"], &shown["effective_from"], &shown["key"]),
        (&serde_json::json!("active"), &serde_json::json!("2021-07"), &serde_json::json!(key_id))
    );
    assert_eq!(
        (&shown["uploaded_by"], &shown["signed_by"], &shown["approved_by"]),
        (&serde_json::json!("dung"), &serde_json::json!("dung"), &serde_json::json!("approver"))
    );
    assert_eq!(shown["approver_grant"]["roles"], serde_json::json!(["approver"]), "{shown}");
    let listed = get("/v1/releases", &province_author).json();
    assert_eq!(
        listed["releases"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>(),
        [id]
    );
    // The host runs it: a run of September 2024 in Hà Nội is decided by it.
    assert_eq!(run_plugin(&t, "001", "2024-09").unwrap(), sha256);
    server.post(&format!("{release}/retire"), &officer, &serde_json::json!({})).assert_problem(403, "approver");
    let retired = server.post(&format!("{release}/retire"), &approver, &serde_json::json!({}));
    assert_eq!(retired.status, 204, "{}", retired.body);
    assert!(run_plugin(&t, "001", "2024-09").is_err());
}

on_both_backends!(a_release_over_http);
