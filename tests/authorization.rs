//! The authorisation matrix: every route of the service's OpenAPI document,
//! called by every kind of caller, about a subject of their own province, of
//! another, or national, gets the status that `administration.md` (of the
//! domain facts) and issue 13 say. The expected statuses are written here by
//! hand from those texts, never read from the server's own policy; a route in
//! the document without expected statuses here fails the test, so that no
//! route is added without its rule.
//!
//! Callers: no token; the first admin (national); machine accounts made by
//! it: officers of 001 and of 079, an auditor of 001, a national auditor, a
//! national author; and a person, an approver of 001, with the token they
//! made for themself (approving is a person's act).
//!
//! The steps of a run are tried on runs made for them: evaluate and issue on
//! each province's run (queued as jobs: 202, whatever the job then finds),
//! approve, refuse and cancel on a fresh run never evaluated (so approving
//! and refusing it is 409: the step exists for the caller, the run's state
//! does not allow it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::json;

use crate::support::service::{Server, form};
use crate::support::{Driver, ok, stdout};

const CALLERS: [&str; 8] = [
    "anonymous",
    "admin",
    "officer 001",
    "auditor 001",
    "approver 001",
    "officer 079",
    "auditor national",
    "author national",
];

/// The status `caller` gets from `route` about `subject` ("-" where the route
/// has none; "001"/"079": a run or account of that province; "fresh": one
/// made for this call). From administration.md: runs are read by officers,
/// approvers and auditors within their scope, and another province's run is
/// not found, not forbidden (nothing leaks); admins make accounts, tokens for
/// machines, link a person's account to their OpenID subject (issue 13),
/// disable and revoke, and read no run; authors read no run; a machine makes
/// nothing. None: the route has no rule written here.
fn expected(route: &str, caller: &str, subject: &str) -> Option<u16> {
    let anonymous = caller == "anonymous";
    let admin = caller == "admin";
    Some(match route {
        // Probes, metrics (counts, no person, run or account) and the document: for anyone.
        "GET /healthz" | "GET /readyz" | "GET /metrics" | "GET /openapi.json" => 200,
        _ if anonymous => 401,
        "GET /v1/me" => 200,
        "POST /v1/accounts" => {
            if admin {
                201
            } else {
                403
            }
        }
        "POST /v1/accounts/{id}/tokens" => {
            if admin {
                201
            } else {
                404
            }
        }
        "POST /v1/accounts/{id}/disable" => {
            if admin {
                204
            } else {
                403
            }
        }
        "POST /v1/accounts/{id}/oidc" => {
            if admin {
                204
            } else {
                403
            }
        }
        "POST /v1/tokens/{id}/revoke" => {
            if admin {
                204
            } else {
                404
            }
        }
        "GET /v1/runs" => match caller {
            "admin" | "author national" => 403,
            _ => 200,
        },
        "GET /v1/runs/{id}"
        | "GET /v1/runs/{id}/exceptions"
        | "GET /v1/runs/{id}/files"
        | "GET /v1/jobs/{id}"
        | "GET /v1/jobs/{id}/events" => {
            match (caller, subject) {
                // A job is seen by whoever may read its run (its owner among them).
                ("admin" | "author national", _) if route.starts_with("GET /v1/runs") => 403,
                ("auditor national", _) => 200,
                ("officer 001" | "auditor 001" | "approver 001", "001") | ("officer 079", "079") => 200,
                _ => 404,
            }
        }
        // No run here was issued: no file to download, for anyone who may read runs.
        "GET /v1/runs/{id}/files/{name}" => match caller {
            "admin" | "author national" => 403,
            _ => 404,
        },
        // Officers create, evaluate, issue and cancel their province's runs.
        "POST /v1/runs" | "POST /v1/runs/{id}/evaluate" | "POST /v1/runs/{id}/issue" | "POST /v1/runs/{id}/cancel" => {
            let done = match route {
                "POST /v1/runs" => 201,
                "POST /v1/runs/{id}/cancel" => 204,
                _ => 202,
            };
            match (caller, subject.trim_start_matches("fresh ")) {
                ("officer 001", "001") | ("officer 079", "079") => done,
                ("officer 001" | "officer 079", _) => 404,
                _ => 403,
            }
        }
        // Auditors read the log within their scope; the whole log is verified by national ones.
        "GET /v1/audit/log" => match caller {
            "auditor 001" | "auditor national" => 200,
            _ => 403,
        },
        "POST /v1/audit/verify" => match caller {
            "auditor national" => 202,
            "auditor 001" => 404,
            _ => 403,
        },
        // Officers review the registry's flags (people a bank reported deceased); none is open here.
        "GET /v1/registry/flags" => match caller {
            "officer 001" | "officer 079" => 200,
            _ => 403,
        },
        "POST /v1/registry/flags/{beneficiary}/clear" => match caller {
            "officer 001" | "officer 079" => 404,
            _ => 403,
        },
        // Officers apply a bank's answer to their province's runs; to one never issued, it cannot be.
        "POST /v1/runs/{id}/reconcile" => match (caller, subject) {
            ("officer 001", "fresh 001") | ("officer 079", "fresh 079") => 409,
            ("officer 001" | "officer 079", _) => 404,
            _ => 403,
        },
        // Approvers approve and refuse their province's runs; one never evaluated cannot be.
        "POST /v1/runs/{id}/approve" | "POST /v1/runs/{id}/refuse" => match (caller, subject) {
            ("approver 001", "fresh 001") => 409,
            ("approver 001", _) => 404,
            _ => 403,
        },
        // Officers ask a candidate release over their runs (a what-if); auditors replay and export runs of
        // their scope, as jobs, and look a person up (this service has no [audit] person_key: 409).
        "POST /v1/runs/{id}/diff" => match (caller, subject) {
            ("officer 001", "001") | ("officer 079", "079") => 202,
            ("officer 001" | "officer 079", _) => 404,
            _ => 403,
        },
        "POST /v1/runs/{id}/replay" | "POST /v1/runs/{id}/export" => match (caller, subject) {
            ("auditor 001", "001") | ("auditor national", _) => 202,
            ("auditor 001", _) => 404,
            _ => 403,
        },
        // The job given is an evaluation, not an export: there is no such bundle, for those who may audit.
        "GET /v1/audit/exports/{job}" => match caller {
            "auditor 001" | "auditor national" => 404,
            _ => 403,
        },
        "POST /v1/audit/person" => match caller {
            "auditor 001" | "auditor national" => 409,
            _ => 403,
        },
        // Officers import registry extracts and their provinces' enrolment lists.
        "POST /v1/imports/registry" | "POST /v1/imports/enrolments" => match caller {
            "officer 001" | "officer 079" => 200,
            _ => 403,
        },
        // Releases: every account that reads releases reads the national ones, a province's by
        // that province; authors upload, sign and withdraw theirs; approvers approve, activate and
        // retire them (administration.md, "rules"). Here the fresh releases are Hà Nội's, just
        // uploaded: not signed, so not approvable nor activatable (409).
        "GET /v1/releases" => match caller {
            "admin" => 403,
            _ => 200,
        },
        "GET /v1/releases/{id}" => match (caller, subject) {
            ("admin", _) => 403,
            ("officer 079", "001") => 404,
            _ => 200,
        },
        "POST /v1/releases" => match caller {
            "author national" => 201,
            _ => 403,
        },
        "POST /v1/releases/{id}/signature" => match caller {
            "author national" => 409,
            _ => 403,
        },
        "POST /v1/releases/{id}/approve" | "POST /v1/releases/{id}/activate" => match caller {
            "approver 001" => 409,
            _ => 403,
        },
        "POST /v1/releases/{id}/retire" => match caller {
            "author national" => 204,
            _ => 403,
        },
        _ => return None,
    })
}

/// The subjects a route is tried about.
fn subjects(route: &str) -> &'static [&'static str] {
    match route {
        "GET /v1/runs/{id}"
        | "GET /v1/runs/{id}/exceptions"
        | "GET /v1/runs/{id}/files"
        | "GET /v1/runs/{id}/files/{name}"
        | "POST /v1/accounts/{id}/tokens"
        | "POST /v1/runs"
        | "POST /v1/runs/{id}/evaluate"
        | "POST /v1/runs/{id}/issue"
        | "POST /v1/runs/{id}/diff"
        | "POST /v1/runs/{id}/replay"
        | "POST /v1/runs/{id}/export"
        | "GET /v1/jobs/{id}"
        | "GET /v1/jobs/{id}/events" => &["001", "079"],
        "POST /v1/runs/{id}/approve"
        | "POST /v1/runs/{id}/refuse"
        | "POST /v1/runs/{id}/cancel"
        | "POST /v1/runs/{id}/reconcile" => &["fresh 001", "fresh 079"],
        "POST /v1/accounts/{id}/disable" | "POST /v1/accounts/{id}/oidc" | "POST /v1/tokens/{id}/revoke" => &["fresh"],
        "GET /v1/releases/{id}" => &["national", "001"],
        "POST /v1/releases/{id}/signature"
        | "POST /v1/releases/{id}/approve"
        | "POST /v1/releases/{id}/activate"
        | "POST /v1/releases/{id}/retire" => &["fresh 001"],
        _ => &["-"],
    }
}

fn every_route_answers_every_caller_as_administration_says(t: Driver) {
    // Two runs: Hà Nội's and Hồ Chí Minh City's.
    let national = t.release_national();
    // Hà Nội's plug-in, a new build each time (its bytes differ by a custom section), uploaded by
    // a national author.
    let builds = AtomicU32::new(0);
    let hanoi_build = || {
        let n = builds.fetch_add(1, Ordering::Relaxed);
        let mut bytes = std::fs::read(crate::support::plugin("plugins/hanoi-social-assistance")).unwrap();
        bytes.extend(crate::releases::custom_section("ansinh-test", format!("build {n}").as_bytes()));
        let file = t.path(format!("hanoi-{n}.wasm"));
        std::fs::write(&file, bytes).unwrap();
        file
    };
    let hanoi_cases = crate::support::workspace().join("plugins/hanoi-social-assistance/cases.yaml");
    let fresh_release = || {
        let file = hanoi_build();
        stdout(&ok(t.as_("author").args(["plugin", "upload"]).arg(&file).arg("--cases").arg(&hanoi_cases)))
            .trim()
            .to_owned()
    };
    let releases = BTreeMap::from([("national", national), ("001", fresh_release())]);
    let mut runs = BTreeMap::new();
    for province in ["001", "079"] {
        let made = ok(t
            .cli()
            .args(["run", "create", "--program", "social-assistance", "--province", province])
            .args(["--period", "2024-09"]));
        runs.insert(province, stdout(&made).trim().to_owned());
    }
    let admin = t.token(crate::support::TEST_ADMIN);
    let server = Server::start(&t);
    let names = AtomicU32::new(0);
    let machine = |role: &str, scope: &str| -> i64 {
        let name = format!("machine {}", names.fetch_add(1, Ordering::Relaxed));
        let made = server.post(
            "/v1/accounts",
            &admin,
            &json!({ "name": name, "kind": "machine", "roles": [role], "scopes": [scope] }),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        made.json()["id"].as_i64().unwrap()
    };
    let token_of = |account: i64| -> (String, String) {
        let made =
            server.post(&format!("/v1/accounts/{account}/tokens"), &admin, &json!({ "name": "matrix", "days": 1 }));
        assert_eq!(made.status, 201, "{}", made.body);
        let made = made.json();
        (made["token"].as_str().unwrap().to_owned(), made["id"].as_str().unwrap().to_owned())
    };
    let mut tokens: BTreeMap<&str, String> = BTreeMap::new();
    tokens.insert("admin", admin.clone());
    for (caller, role, scope) in [
        ("officer 001", "officer", "province:001"),
        ("auditor 001", "auditor", "province:001"),
        ("officer 079", "officer", "province:079"),
        ("auditor national", "auditor", "national"),
        ("author national", "author", "national"),
    ] {
        tokens.insert(caller, token_of(machine(role, scope)).0);
    }
    tokens.insert("approver 001", t.person("Phạm Văn Minh", &["approver"], &["province:001"]));
    // A job on each province's run, by its officer.
    let mut jobs = BTreeMap::new();
    for (province, officer) in [("001", "officer 001"), ("079", "officer 079")] {
        let queued = server.post(&format!("/v1/runs/{}/evaluate", runs[province]), &tokens[officer], &json!({}));
        assert_eq!(queued.status, 202, "{}", queued.body);
        jobs.insert(province, queued.json()["job"].as_i64().unwrap().to_string());
    }
    let fresh_run = |province: &str| {
        let made = ok(t
            .cli()
            .args(["run", "create", "--program", "social-assistance", "--province", province])
            .args(["--period", "2024-10"]));
        stdout(&made).trim().to_owned()
    };
    let targets =
        BTreeMap::from([("001", machine("officer", "province:001")), ("079", machine("officer", "province:079"))]);

    let document = server.get("/openapi.json").json();
    let mut routes = Vec::new();
    for (path, methods) in document["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            routes.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(routes.len() >= 9, "{routes:?}");

    let mut wrong = Vec::new();
    let mut calls = 0;
    for route in &routes {
        let (method, template) = route.split_once(' ').unwrap();
        for caller in CALLERS {
            for subject in subjects(route) {
                let Some(want) = expected(route, caller, subject) else {
                    panic!("{route} has no expected statuses here: write them from administration.md");
                };
                let (path, body) = match (route.as_str(), *subject) {
                    ("GET /v1/runs/{id}" | "POST /v1/runs/{id}/evaluate" | "POST /v1/runs/{id}/issue", province) => {
                        (template.replace("{id}", &runs[province]), json!({}))
                    }
                    ("GET /v1/runs/{id}/files", province) => (template.replace("{id}", &runs[province]), json!({})),
                    ("GET /v1/runs/{id}/files/{name}", province) => {
                        (template.replace("{id}", &runs[province]).replace("{name}", "pain001.xml"), json!({}))
                    }
                    ("GET /v1/runs/{id}/exceptions", province) => {
                        (format!("{}?kind=near_name", template.replace("{id}", &runs[province])), json!({}))
                    }
                    ("GET /v1/jobs/{id}" | "GET /v1/jobs/{id}/events", province) => {
                        (template.replace("{id}", &jobs[province]), json!({}))
                    }
                    ("POST /v1/runs", province) => (
                        template.to_owned(),
                        json!({ "program": "social-assistance", "province": province, "period": "2024-11" }),
                    ),
                    ("POST /v1/runs/{id}/approve", fresh) => {
                        (template.replace("{id}", &fresh_run(&fresh[6..])), json!({ "checksum": "0".repeat(64) }))
                    }
                    ("POST /v1/registry/flags/{beneficiary}/clear", _) => {
                        (template.replace("{beneficiary}", "1"), json!({ "reason": "the registry shows them alive" }))
                    }
                    ("POST /v1/runs/{id}/reconcile", fresh) => {
                        (template.replace("{id}", &fresh_run(&fresh[6..])), json!("<Document/>"))
                    }
                    ("POST /v1/runs/{id}/refuse" | "POST /v1/runs/{id}/cancel", fresh) => {
                        (template.replace("{id}", &fresh_run(&fresh[6..])), json!({ "reason": "the matrix" }))
                    }
                    ("POST /v1/accounts/{id}/tokens", province) => {
                        (template.replace("{id}", &targets[province].to_string()), json!({ "name": "m", "days": 1 }))
                    }
                    ("POST /v1/accounts/{id}/disable", _) => {
                        (template.replace("{id}", &machine("officer", "province:001").to_string()), json!({}))
                    }
                    ("POST /v1/accounts/{id}/oidc", _) => {
                        let n = names.fetch_add(1, Ordering::Relaxed);
                        let body = json!({
                            "name": format!("person {n}"), "kind": "person", "roles": ["officer"], "scopes": ["province:001"]
                        });
                        let made = server.post("/v1/accounts", &admin, &body);
                        assert_eq!(made.status, 201, "{}", made.body);
                        let person = made.json()["id"].as_i64().unwrap();
                        let link = json!({ "subject": format!("subject {n}"), "issuer": "https://id.example.gov.vn" });
                        (template.replace("{id}", &person.to_string()), link)
                    }
                    ("POST /v1/tokens/{id}/revoke", _) => {
                        (template.replace("{id}", &token_of(targets["001"]).1), json!({}))
                    }
                    ("POST /v1/accounts", _) => {
                        let name = format!("person {}", names.fetch_add(1, Ordering::Relaxed));
                        (
                            "/v1/accounts".to_owned(),
                            json!({ "name": name, "kind": "person", "roles": ["officer"], "scopes": ["province:001"] }),
                        )
                    }
                    ("POST /v1/runs/{id}/diff", province) => (
                        template.replace("{id}", &runs[province]),
                        json!({ "release": releases["national"].parse::<i64>().unwrap() }),
                    ),
                    ("POST /v1/runs/{id}/replay" | "POST /v1/runs/{id}/export", province) => {
                        (template.replace("{id}", &runs[province]), json!({}))
                    }
                    ("GET /v1/audit/exports/{job}", _) => (template.replace("{job}", &jobs["001"]), json!({})),
                    ("POST /v1/audit/person", _) => (template.to_owned(), json!({ "id_number": "001040000001" })),
                    ("GET /v1/releases/{id}", authority) => (template.replace("{id}", &releases[authority]), json!({})),
                    ("POST /v1/releases/{id}/signature", _) => (
                        template.replace("{id}", &fresh_release()),
                        json!({ "key": "0".repeat(16), "signature": "0".repeat(128) }),
                    ),
                    ("POST /v1/releases/{id}/activate", _) => {
                        (template.replace("{id}", &fresh_release()), json!({ "from": "2024-01" }))
                    }
                    ("POST /v1/releases/{id}/approve" | "POST /v1/releases/{id}/retire", _) => {
                        (template.replace("{id}", &fresh_release()), json!({}))
                    }
                    _ => (template.to_owned(), json!({})),
                };
                let bearer = tokens.get(caller).map(|token| format!("Bearer {token}"));
                let mut headers = vec![("Content-Type", "application/json")];
                if let Some(bearer) = &bearer {
                    headers.push(("Authorization", bearer));
                }
                let got = if let Some(kind) = route.strip_prefix("POST /v1/imports/") {
                    // A file of the format's header alone: nothing to load, nothing wrong.
                    let header = match kind {
                        "registry" => {
                            "id_number,full_name,birth_date,sex,residence_province,residence_commune,death_date\n"
                        }
                        _ => {
                            "id_number,full_name,birth_date,program,province,household,disability,has_pension,\
                              difficult_commune,statuses,dependent_children,channel,bank_bin,account_number,\
                              account_name\n"
                        }
                    };
                    headers[0] = ("Content-Type", "text/csv");
                    server.send(method, &path, &headers, header)
                } else if route == "POST /v1/releases" {
                    // A form: a new build of Hà Nội's plug-in with its cases.
                    let plugin = std::fs::read(hanoi_build()).unwrap();
                    let cases = std::fs::read(&hanoi_cases).unwrap();
                    let (content_type, form) = form(&[("plugin", &plugin), ("cases", &cases)]);
                    headers[0] = ("Content-Type", &content_type);
                    server.send_bytes(method, &path, &headers, &form)
                } else {
                    let body = if method == "POST" { body.to_string() } else { String::new() };
                    server.send(method, &path, &headers, &body)
                };
                calls += 1;
                // A list shows only what is in the caller's scope.
                if route == "GET /v1/runs" && got.status == 200 {
                    let provinces: Vec<String> = got.json()["runs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["province"].as_str().unwrap().to_owned())
                        .collect();
                    let sees = |p: &str| match caller {
                        "auditor national" => true,
                        "officer 079" => p == "079",
                        _ => p == "001",
                    };
                    let expected: Vec<String> =
                        ["001", "079"].into_iter().filter(|p| sees(p)).map(str::to_owned).collect();
                    if provinces != expected {
                        wrong.push(format!("{route} by {caller} lists {provinces:?}, expected {expected:?}"));
                    }
                }
                // A province's auditor reads only the entries about its runs.
                if route == "GET /v1/audit/log" && got.status == 200 && caller == "auditor 001" {
                    let subjects: Vec<String> = got.json()["entries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["subject"].as_str().unwrap().to_owned())
                        .collect();
                    let other = format!("run:{}", runs["079"]);
                    if subjects.is_empty() || subjects.iter().any(|s| !s.starts_with("run:") || *s == other) {
                        wrong.push(format!("{route} by {caller} lists {subjects:?}: only entries about 001's runs"));
                    }
                }
                // Another province's releases are not listed.
                if route == "GET /v1/releases" && got.status == 200 {
                    let authorities: Vec<String> = got.json()["releases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["authority"].as_str().unwrap().to_owned())
                        .collect();
                    if caller == "officer 079" && authorities.iter().any(|a| a != "national")
                        || !authorities.iter().any(|a| a == "national")
                    {
                        wrong.push(format!("{route} by {caller} lists {authorities:?}"));
                    }
                }
                if got.status != want {
                    wrong.push(format!(
                        "{route} by {caller} about {subject}: {} (expected {want}): {}",
                        got.status, got.body
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {calls} calls got another status:\n{}", wrong.len(), wrong.join("\n"));
}

on_both_backends!(every_route_answers_every_caller_as_administration_says);
