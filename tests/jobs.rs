//! The service's jobs and the month over HTTP, through the real `ansinh serve`:
//! an evaluation survives the server that ran it being killed (SIGKILL) and
//! is finished by the next one; and four accounts of one province take a run
//! from creation to issue over the API, with the refusals on the way.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::pain002::{pain002, tx};
use crate::support::service::Server;
use crate::support::{Driver, ok, stdout};

/// Wait up to `limit` for `check` to give something, looking every 20 ms.
fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The job `id` as `token`'s holder sees it.
fn job(server: &Server, token: &str, id: i64) -> Value {
    let got = server.request("GET", &format!("/v1/jobs/{id}"), &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()
}

/// Issue 13: jobs live in the database with a lease and a heartbeat, so a
/// server killed with SIGKILL mid-evaluation and started again finishes the
/// same job: every beneficiary decided once, the run sealed, the log whole.
fn a_killed_server_leaves_its_job_to_the_next(t: Driver) {
    let (registry, enrolment) = t.population(71, 6_000, "2024-09");
    t.import(&registry, &enrolment);
    t.release_national();
    let run = t.create_run("2024-09");
    let officer = t.token("test-officer");
    // One worker and a short lease: slow enough to be caught mid-way, quick to be taken over.
    let start = || Server::start_with(&t, &["--workers".as_ref(), "1".as_ref(), "--job-lease".as_ref(), "2".as_ref()]);
    let first = start();
    let queued = first.post(&format!("/v1/runs/{run}/evaluate"), &officer, &json!({}));
    assert_eq!(queued.status, 202, "{}", queued.body);
    assert_eq!(queued.header("location"), Some(format!("/v1/jobs/{}", queued.json()["job"]).as_str()));
    let id = queued.json()["job"].as_i64().unwrap();
    // Asking again while it is open gives the same job.
    let again = first.post(&format!("/v1/runs/{run}/evaluate"), &officer, &json!({}));
    assert_eq!(again.json()["job"].as_i64(), Some(id));

    let decided = || t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run}"));
    let at_kill = wait_for(Duration::from_secs(120), "the first decisions", || Some(decided()).filter(|&n| n > 0));
    let mut first = first;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, no word to the database.
    first.child.wait().unwrap();
    let left = decided();
    assert!(left >= at_kill && left < 6_000, "killed after {left} of 6,000 decisions: not mid-way");
    assert_eq!(t.text(format!("SELECT state FROM jobs WHERE id = {id}")), "running", "the job was left running");

    let second = start();
    let done = wait_for(Duration::from_secs(300), "the job to end", || {
        let job = job(&second, &officer, id);
        (job["state"] != "running" && job["state"] != "queued").then_some(job)
    });
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["attempts"], 2, "taken up again once: {done}");
    assert_eq!(done["done"], done["total"], "{done}");
    let beneficiaries = t.scalar("SELECT COUNT(*) FROM beneficiaries");
    assert_eq!(decided(), beneficiaries, "every beneficiary decided, none twice");
    assert_eq!(t.text(format!("SELECT status FROM runs WHERE id = {run}")), "evaluated");
    // Its events end with `done`.
    let events =
        second.request("GET", &format!("/v1/jobs/{id}/events"), &[("Authorization", &format!("Bearer {officer}"))]);
    assert_eq!(events.header("content-type"), Some("text/event-stream"), "{}", events.body);
    assert!(events.body.contains("event: done"), "{}", events.body);
    drop(second);
    ok(t.cli().args(["audit", "verify"]));
}

on_both_backends!(a_killed_server_leaves_its_job_to_the_next);

/// Issue 13: the month over HTTP by four accounts of Hà Nội (an officer who
/// also approves elsewhere, an approver, an auditor, and the admin), from a
/// run's creation to its files, with the refusals: the officer approving the
/// run they made, the admin approving anything, a wrong checksum, a revoked
/// token, an expired token, a disabled account's token.
fn the_month_over_http(t: Driver) {
    let (registry, enrolment) = t.population(72, 300, "2024-09");
    t.import(&registry, &enrolment);
    let scope = ["province:001"];
    let officer = t.person("Lê Văn Hùng", &["officer", "approver"], &scope);
    let approver = t.person("Phạm Văn Minh", &["approver"], &scope);
    let auditor = t.person("Nguyễn Thị Thu", &["auditor"], &scope);
    let admin = t.token(crate::support::TEST_ADMIN);
    let config = crate::support::files::hanoi_config(t.dir.path(), true, true);
    let outbox = t.path("outbox");
    let server =
        Server::start_with(&t, &["--config".as_ref(), config.as_os_str(), "--outbox".as_ref(), outbox.as_os_str()]);
    let get = |path: &str, token: &str| server.request("GET", path, &[("Authorization", &format!("Bearer {token}"))]);
    let follow = |id: i64, token: &str| {
        wait_for(Duration::from_secs(120), "the job to end", || {
            let job = job(&server, token, id);
            (job["state"] == "done" || job["state"] == "failed").then_some(job)
        })
    };
    // The rules, released over HTTP by the national authority's author and a second person.
    let cases = crate::support::workspace().join("plugins/national-social-assistance/cases.yaml");
    let release = server.release(&t, &crate::support::national_plugin(), &cases, "national", "2021-07");

    let made = server.post(
        "/v1/runs",
        &officer,
        &json!({ "program": "social-assistance", "province": "001", "period": "2024-09" }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let run = made.json()["id"].as_i64().unwrap();
    let bad = server.post(
        "/v1/runs",
        &officer,
        &json!({ "program": "social-assistance", "province": "001", "period": "2024-13" }),
    );
    bad.assert_problem(422, "period: expected a month, YYYY-MM");
    let evaluating = server.post(&format!("/v1/runs/{run}/evaluate"), &officer, &json!({}));
    assert_eq!(evaluating.status, 202, "{}", evaluating.body);
    let evaluated = follow(evaluating.json()["job"].as_i64().unwrap(), &officer);
    assert_eq!(evaluated["state"], "done", "{evaluated}");
    assert_eq!(evaluated["result"]["decided"], t.scalar("SELECT COUNT(*) FROM beneficiaries"), "{evaluated}");
    // The approver sees the run and what to approve; so does the auditor, who may not approve.
    let summary = get(&format!("/v1/runs/{run}"), &approver);
    assert_eq!(summary.status, 200, "{}", summary.body);
    let checksum = summary.json()["to_approve"]["checksum"].as_str().unwrap().to_owned();
    assert_eq!(get(&format!("/v1/runs/{run}"), &auditor).status, 200);
    // Reading who is an exception is a read of personal data, recorded with the account
    // (Decree 13/2023/ND-CP); so is a `run show` that lists people.
    let reads = || t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal.read'");
    let before = reads();
    let page = get(&format!("/v1/runs/{run}/exceptions?kind=not_verified"), &auditor);
    assert_eq!(page.status, 200, "{}", page.body);
    let listed = page.json()["exceptions"].as_array().unwrap().len() as i64;
    let counted =
        t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run} AND exception = 'not_verified'"));
    assert!(listed > 0 && listed == counted.min(100), "{}", page.body);
    assert_eq!(reads(), before + 1);
    let read = t.text("SELECT details FROM audit_log WHERE action = 'personal.read' ORDER BY seq DESC LIMIT 1");
    let read: Value = serde_json::from_str(&read).unwrap();
    assert_eq!(
        (&read["by"]["name"], &read["people"], &read["kind"]),
        (&json!("Nguyễn Thị Thu"), &json!(listed), &json!("not_verified"))
    );
    get(&format!("/v1/runs/{run}/exceptions?kind=nobody"), &auditor).assert_problem(422, "kind: expected one of");
    ok(t.cli().args(["run", "show", &run.to_string()]));
    assert_eq!(reads(), before + 2, "run show listed people: a read");

    let approve = |token: &str, checksum: &str| {
        server.post(&format!("/v1/runs/{run}/approve"), token, &json!({ "checksum": checksum }))
    };
    approve(&officer, &checksum)
        .assert_problem(409, "Lê Văn Hùng created it and cannot also approve it, under any role");
    approve(&admin, &checksum).assert_problem(403, "is for the approver role");
    approve(&auditor, &checksum).assert_problem(403, "is for the approver role");
    approve(&approver, &"0".repeat(64)).assert_problem(409, "is not the run's");
    let issue_early = server.post(&format!("/v1/runs/{run}/issue"), &officer, &json!({}));
    let early = follow(issue_early.json()["job"].as_i64().unwrap(), &officer);
    assert_eq!(early["state"], "failed", "{early}");
    assert!(early["error"].as_str().unwrap().contains("not approved"), "{early}");

    // Tokens that no longer act: revoked, expired, of a disabled account.
    let spare = t.person("Trần Văn Spare", &["approver"], &scope);
    let spare_id = spare.split('_').nth(1).unwrap().to_owned();
    assert_eq!(server.post(&format!("/v1/tokens/{spare_id}/revoke"), &spare, &json!({})).status, 204);
    approve(&spare, &checksum).assert_problem(401, "was revoked");
    let late = t.person("Đỗ Thị Late", &["approver"], &scope);
    let late_id = late.split('_').nth(1).unwrap().to_owned();
    t.execute(format!("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00Z' WHERE id = '{late_id}'")).unwrap();
    approve(&late, &checksum).assert_problem(401, "expired");
    let gone = t.person("Vũ Văn Gone", &["approver"], &scope);
    let gone_account = get("/v1/me", &gone).json()["account"].as_i64().unwrap();
    assert_eq!(server.post(&format!("/v1/accounts/{gone_account}/disable"), &admin, &json!({})).status, 204);
    approve(&gone, &checksum).assert_problem(401, "is disabled");
    assert_eq!(t.text(format!("SELECT status FROM runs WHERE id = {run}")), "evaluated", "nothing approved it yet");

    // The approver approves what they saw; the officer issues; the files are as recorded.
    let approved = approve(&approver, &checksum);
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.json()["approved_by"], "Phạm Văn Minh");
    // Beside the approval, the grant that made it possible: the entry that made Minh an approver.
    let grant = get(&format!("/v1/runs/{run}"), &auditor).json()["approver_grant"].clone();
    assert_eq!((&grant["roles"], &grant["by"]), (&json!(["approver"]), &json!(crate::support::TEST_ADMIN)), "{grant}");
    let granted =
        t.scalar("SELECT seq FROM audit_log WHERE action = 'account.create' AND details LIKE '%Phạm Văn Minh%'");
    assert_eq!(grant["seq"], granted, "{grant}");
    let shown = stdout(&ok(t.cli().args(["run", "show", &run.to_string()])));
    assert!(shown.contains(&format!("Phạm Văn Minh holds approver by entry #{granted} of the audit log")), "{shown}");
    let issuing = server.post(&format!("/v1/runs/{run}/issue"), &officer, &json!({}));
    assert_eq!(issuing.status, 202, "{}", issuing.body);
    let issued = follow(issuing.json()["job"].as_i64().unwrap(), &officer);
    assert_eq!(issued["state"], "done", "{issued}");
    let files = issued["result"]["files"].as_array().unwrap();
    assert!(!files.is_empty(), "{issued}");
    for file in files {
        let bytes = std::fs::read(outbox.join(file["name"].as_str().unwrap())).unwrap();
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        assert_eq!(file["sha256"], sha256.as_str(), "{file}");
    }
    // The files over HTTP, as issued: listed with their sha256, each download checked and
    // recorded as a read; a file changed in the outbox is refused, never served.
    let listed = get(&format!("/v1/runs/{run}/files"), &auditor);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let listed = listed.json()["files"].as_array().unwrap().clone();
    assert_eq!(listed.len(), files.len(), "{listed:?}");
    for file in &listed {
        let got = get(file["href"].as_str().unwrap(), &officer);
        assert_eq!(got.status, 200, "{}", got.body);
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(got.body.as_bytes()));
        assert_eq!(
            (got.header("x-content-sha256"), file["sha256"].as_str()),
            (Some(sha256.as_str()), Some(sha256.as_str()))
        );
    }
    // Another replica, whose outbox never saw the issue, serves the same bytes: made again from
    // the stored rows and checked against what the issue recorded (issue 16).
    let elsewhere = t.path("outbox-of-another-replica");
    let replica =
        Server::start_with(&t, &["--config".as_ref(), config.as_os_str(), "--outbox".as_ref(), elsewhere.as_os_str()]);
    for file in &listed {
        let bearer = format!("Bearer {officer}");
        let got = replica.request("GET", file["href"].as_str().unwrap(), &[("Authorization", &bearer)]);
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.header("x-content-sha256"), file["sha256"].as_str());
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&got.bytes));
        assert_eq!(Some(sha256.as_str()), file["sha256"].as_str());
    }
    drop(replica);
    let reads =
        t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal.read' AND details LIKE '%payment file%'");
    assert_eq!(reads, 2 * listed.len() as i64);
    let first = listed[0]["name"].as_str().unwrap();
    std::fs::write(outbox.join(first), "changed").unwrap();
    get(&format!("/v1/runs/{run}/files/{first}"), &officer).assert_problem(409, "is not the file run");
    get(&format!("/v1/runs/{run}/files/other.csv"), &officer).assert_problem(404, "issued no file");
    // The bank's answer over HTTP: one transfer rejected (AC04, account closed); an auditor applies none.
    let first_bank = t.scalar(format!(
        "SELECT beneficiary_id FROM payments WHERE run_id = {run} AND channel = 'bank' ORDER BY id LIMIT 1"
    ));
    let (e2e, amount) = crate::money_path::payment_of(&t, &run.to_string(), first_bank);
    let bank = |what: &str| {
        t.scalar(format!(
            "SELECT CAST(COALESCE({what}, 0) AS BIGINT) FROM payments WHERE run_id = {run} AND channel = 'bank'"
        ))
    };
    let answer = pain002(
        "12",
        &format!("ANSINH-R{run}-202409"),
        bank("COUNT(*)") as u64,
        bank("SUM(amount)") as u64,
        "PART",
        &[tx(&e2e, "RJCT", Some("AC04"), Some(amount))],
    );
    let send = |token: &str| {
        let bearer = format!("Bearer {token}");
        let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/xml")];
        server.send("POST", &format!("/v1/runs/{run}/reconcile"), &headers, &answer)
    };
    send(&auditor).assert_problem(403, "is for the officer role");
    let applied = send(&officer);
    assert_eq!(applied.status, 200, "{}", applied.body);
    let applied = applied.json();
    assert_eq!((&applied["rejected"], &applied["problems"]), (&json!({ "AC04": 1 }), &json!([])), "{applied}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run} AND rejected")), 1);
    // The auditor follows the job too; the log names each account and how it signed in.
    assert_eq!(get(&format!("/v1/jobs/{}", issued["id"]), &auditor).status, 200);
    let by = t.text("SELECT details FROM audit_log WHERE action = 'run.approve'");
    let by: Value = serde_json::from_str(&by).unwrap();
    assert_eq!(by["by"]["name"], "Phạm Văn Minh", "{by}");
    assert!(by["by"]["auth"]["token"].is_string(), "{by}");
    // The whole log is verified by a national auditor, as a job; a province's is not shown it.
    server.post("/v1/audit/verify", &auditor, &json!({})).assert_problem(404, "no whole audit log in your scope");
    let national = t.person("Kiểm toán Nhà nước", &["auditor"], &["national"]);
    let verifying = server.post("/v1/audit/verify", &national, &json!({}));
    assert_eq!(verifying.status, 202, "{}", verifying.body);
    let verified = follow(verifying.json()["job"].as_i64().unwrap(), &national);
    assert_eq!((&verified["state"], &verified["result"]["verified"]), (&json!("done"), &json!(true)), "{verified}");

    // A what-if of the release in force over the run (an officer's job): nothing changes, and
    // the release's approver sees it on record.
    let asking = server.post(&format!("/v1/runs/{run}/diff"), &officer, &json!({ "release": release }));
    assert_eq!(asking.status, 202, "{}", asking.body);
    let asked = follow(asking.json()["job"].as_i64().unwrap(), &officer);
    let what_if = &asked["result"]["what_if"];
    assert_eq!(
        (&asked["state"], &what_if["gained"]["people"], &what_if["lost"]["people"]),
        (&json!("done"), &json!(0), &json!(0)),
        "{asked}"
    );
    assert_eq!(
        what_if["decisions"],
        t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run}")),
        "{asked}"
    );
    let seen = get(&format!("/v1/releases/{release}"), &approver).json();
    assert_eq!(seen["what_ifs"][0]["subject"], format!("run:{run}"), "{seen}");

    // The auditor replays the run, whole and as a sample drawn again from its seed, as jobs.
    let replay = |body: Value| {
        let asked = server.post(&format!("/v1/runs/{run}/replay"), &auditor, &body);
        assert_eq!(asked.status, 202, "{}", asked.body);
        follow(asked.json()["job"].as_i64().unwrap(), &auditor)
    };
    let whole = replay(json!({}));
    assert_eq!(
        (&whole["state"], &whole["result"]["identical"], &whole["result"]["divergent"]),
        (&json!("done"), &json!(true), &json!(0)),
        "{whole}"
    );
    let sampled = replay(json!({ "sample": 7, "seed": 42 }));
    assert_eq!(
        (&sampled["result"]["sample"], &sampled["result"]["decisions"]),
        (&json!({ "size": 7, "seed": 42 }), &json!(7)),
        "{sampled}"
    );
    server.post(&format!("/v1/runs/{run}/replay"), &officer, &json!({})).assert_problem(403, "auditor");
    server
        .post(&format!("/v1/runs/{run}/replay"), &auditor, &json!({ "seed": 1 }))
        .assert_problem(422, "seed: only with a sample");

    // Exported as a job, downloaded as written (checked, recorded as a read), replayed offline.
    let exporting = server.post(&format!("/v1/runs/{run}/export"), &auditor, &json!({}));
    assert_eq!(exporting.status, 202, "{}", exporting.body);
    let export = exporting.json()["job"].as_i64().unwrap();
    let exported = follow(export, &auditor);
    assert_eq!(exported["state"], "done", "{exported}");
    let bundle = get(&format!("/v1/audit/exports/{export}"), &auditor);
    assert_eq!(bundle.status, 200, "{}", bundle.body);
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bundle.bytes));
    assert_eq!(
        (bundle.header("x-content-sha256"), exported["result"]["sha256"].as_str()),
        (Some(sha256.as_str()), Some(sha256.as_str()))
    );
    get(&format!("/v1/audit/exports/{export}"), &officer).assert_problem(403, "auditor");
    get(&format!("/v1/audit/exports/{}", issued["id"]), &auditor).assert_problem(404, "no export");
    let file = t.path("run.bundle");
    std::fs::write(&file, &bundle.bytes).unwrap();
    let offline = stdout(&ok(crate::support::ansinh().args(["audit", "replay", "--bundle"]).arg(&file)));
    assert!(offline.contains("IDENTICAL"), "{offline}");

    // A person looked up by ID number, sent in the body: the one whose transfer the bank
    // rejected is not paid for September; another bank payee is, by this run.
    let number_of = |beneficiary: i64| t.text(format!("SELECT id_number FROM beneficiaries WHERE id = {beneficiary}"));
    let look_up = |token: &str, number: &str| server.post("/v1/audit/person", token, &json!({ "id_number": number }));
    let rejected = look_up(&auditor, &number_of(first_bank));
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    let rejected = rejected.json();
    let september = |history: &Value| {
        history["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["period"] == "2024-09" && d["run"] == run)
            .cloned()
            .unwrap_or_else(|| panic!("{history}"))
    };
    assert_eq!(
        (&september(&rejected)["outcome"], &september(&rejected)["paid_by"]),
        (&json!("payable"), &Value::Null),
        "{rejected}"
    );
    let paid = t.scalar(format!("SELECT beneficiary_id FROM payments WHERE run_id = {run} AND channel = 'bank' AND NOT rejected ORDER BY id LIMIT 1"));
    let paid = look_up(&auditor, &number_of(paid)).json();
    assert_eq!(september(&paid)["paid_by"], run, "{paid}");
    // The keyed hash is the one `ansinh audit person` prints for the same number.
    let mut hashing = t
        .bare()
        .args(["--config"])
        .arg(&config)
        .args(["audit", "person"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(hashing.stdin.as_mut().unwrap(), format!("{}\n", number_of(first_bank)).as_bytes())
        .unwrap();
    let hashed = String::from_utf8(hashing.wait_with_output().unwrap().stdout).unwrap();
    assert!(hashed.starts_with(rejected["person"].as_str().unwrap()), "{hashed} / {rejected}");
    look_up(&officer, &number_of(first_bank)).assert_problem(403, "auditor");
    look_up(&auditor, "12345").assert_problem(422, "id_number");
    let lookups =
        t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal.read' AND details LIKE '%person history%'");
    assert_eq!(lookups, 2);
    drop(server);
    let verified = stdout(&ok(t.cli().args(["audit", "verify"])));
    assert!(verified.contains("VERIFIED"), "{verified}");
}

on_both_backends!(the_month_over_http);
