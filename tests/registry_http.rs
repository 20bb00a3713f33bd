//! The population registry over HTTP (`host/src/registry/http.rs`), through the real binary on
//! both backends: a registry service started here on loopback serves the demo's registry
//! extract, and a run evaluated against it decides exactly as one evaluated against the
//! imported table, through a refused token, transient failures, a slow answer, an interrupted
//! run and its resumption, and people the service does not know.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use ansinh::model::RegistryRecord;
use ansinh::store::Db;

use crate::support::{self, Backend, Driver, fails, ok, outcome_count, stdout};

const TOKEN: &str = "s3cret-registry-token";

/// What the service answers to the next requests, in order; then it answers normally.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Normal,
    Status(u16),
    /// Answers normally, too late.
    Slow(Duration),
}

/// The service's state, which the test both sets and inspects.
struct Served {
    people: HashMap<String, Value>,
    /// People the registry does not know, though the extract has them.
    hidden: Mutex<HashSet<String>>,
    script: Mutex<VecDeque<Answer>>,
    /// How often each ID number was in a request answered in time (lookups that count).
    looked_up: Mutex<BTreeMap<String, u32>>,
    refused_tokens: AtomicUsize,
    largest_request: AtomicUsize,
}

/// A registry service on 127.0.0.1, by the contract, stopped when dropped.
struct RegistryService {
    addr: SocketAddr,
    served: Arc<Served>,
    _runtime: tokio::runtime::Runtime,
}

impl RegistryService {
    /// Serve the records of a registry extract (read with the host's own CSV reader).
    fn start(extract: &Path) -> RegistryService {
        let people = ansinh::import::parse::registry_rows(extract)
            .expect("the demo's registry extract")
            .map(|row| {
                let record = row.expect("a well-formed row");
                (record.id_number.clone(), wire(&record))
            })
            .collect();
        let served = Arc::new(Served {
            people,
            hidden: Mutex::default(),
            script: Mutex::default(),
            looked_up: Mutex::default(),
            refused_tokens: AtomicUsize::new(0),
            largest_request: AtomicUsize::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let app =
            axum::Router::new().route("/v1/people:lookup", axum::routing::post(lookup)).with_state(served.clone());
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        RegistryService { addr, served, _runtime: runtime }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn script(&self, answers: &[Answer]) {
        *self.served.script.lock().unwrap() = answers.iter().copied().collect();
    }

    /// The lookups counted since the last call.
    fn take_lookups(&self) -> BTreeMap<String, u32> {
        std::mem::take(&mut *self.served.looked_up.lock().unwrap())
    }
}

/// A record as the contract puts it on the wire.
fn wire(r: &RegistryRecord) -> Value {
    json!({
        "id_number": r.id_number,
        "full_name": r.full_name,
        "birth_date": r.birth_date.to_string(),
        "sex": r.sex.as_str(),
        "residence_province": r.residence_province,
        "residence_commune": if r.residence_commune.is_empty() { Value::Null } else { r.residence_commune.clone().into() },
        "death_date": r.death_date.map(|d| d.to_string()),
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Asked {
    id_numbers: Vec<String>,
}

async fn lookup(State(served): State<Arc<Served>>, headers: HeaderMap, Json(asked): Json<Asked>) -> Response {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {TOKEN}")) {
        served.refused_tokens.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::UNAUTHORIZED, "unknown token").into_response();
    }
    served.largest_request.fetch_max(asked.id_numbers.len(), Ordering::Relaxed);
    let answer = served.script.lock().unwrap().pop_front().unwrap_or(Answer::Normal);
    match answer {
        Answer::Status(400) => {
            // Echoes an ID number, as real services do: the host must not repeat it raw.
            let echoed = format!("cannot look up {}", asked.id_numbers[0]);
            return (StatusCode::BAD_REQUEST, echoed).into_response();
        }
        Answer::Status(code) => {
            let mut response = (StatusCode::from_u16(code).unwrap(), "not now").into_response();
            response.headers_mut().insert(header::RETRY_AFTER, "0".parse().unwrap());
            return response;
        }
        Answer::Slow(pause) => tokio::time::sleep(pause).await,
        Answer::Normal => {
            let mut counts = served.looked_up.lock().unwrap();
            for id in &asked.id_numbers {
                *counts.entry(id.clone()).or_default() += 1;
            }
        }
    }
    let hidden = served.hidden.lock().unwrap();
    let people: Vec<&Value> =
        asked.id_numbers.iter().filter(|id| !hidden.contains(*id)).filter_map(|id| served.people.get(id)).collect();
    Json(json!({ "people": people })).into_response()
}

/// Each decision of a run, by beneficiary: everything it says but when.
type Decisions = BTreeMap<i64, (String, i64, Option<String>, Arc<str>, Option<String>, Option<Arc<str>>, i64)>;

fn decisions(t: &Driver, run: i64) -> Decisions {
    t.sql(move |db| {
        Box::pin(async move {
            // As ansinh reads them back: inputs unpacked, texts whole.
            let rows = ansinh::store::decisions::Reader::default().page(&db, run, &(String::new(), 0), i64::MAX).await;
            rows.expect("read decisions")
                .into_iter()
                .map(|d| {
                    (d.beneficiary_id, (d.outcome, d.amount, d.category, d.verification, d.input, d.output, d.fuel))
                })
                .collect()
        })
    })
}

/// The ID numbers of the run's beneficiaries, by beneficiary id.
fn beneficiaries(t: &Driver) -> BTreeMap<i64, String> {
    t.sql(|db| {
        Box::pin(async move {
            const Q: &str = "SELECT id, id_number FROM beneficiaries";
            match db {
                Db::Sqlite(pool) => sqlx::query_as(Q).fetch_all(&pool).await,
                Db::Postgres(pool) => sqlx::query_as(Q).fetch_all(&pool).await,
            }
            .expect("read beneficiaries")
            .into_iter()
            .collect()
        })
    })
}

fn http_registry_decides_as_the_table_does(t: Driver) {
    // Run 1: the demo's, verified against the imported table.
    t.demo(1200);
    let table = decisions(&t, 1);
    let people = beneficiaries(&t);
    assert_eq!(table.len(), people.len());
    assert_eq!(t.text("SELECT registry_source FROM runs WHERE id = 1"), "table registry_people");

    let registry = RegistryService::start(&t.path("registry.csv"));
    let token_file = t.path("registry.token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    // A token file must be its owner's alone, or it is refused.
    std::fs::set_permissions(&token_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let create = || t.create_run("2024-09").parse::<i64>().unwrap();
    let evaluate = |run: i64| {
        let mut cmd = t.cli();
        cmd.args(["run", "evaluate", &run.to_string(), "--registry-url", &registry.url()]);
        cmd
    };
    let mut said = Vec::new();
    let endpoint = format!("{}/v1/people:lookup", registry.url());

    // Run 2, against the service. A wrong token is refused clearly, and nothing is decided.
    // Asked again by the officer, each time at once (not after the pause between a worker's
    // own tries of a shard that failed) and never given up (the shard's failures are counted
    // afresh for each time a person asks): more times than a shard may fail.
    let run = create();
    for tries in 1..=ansinh::run::evaluate::FAILED_ATTEMPTS + 1 {
        let started = Instant::now();
        let out = fails(evaluate(run).env("ANSINH_REGISTRY_TOKEN", "not-the-token"));
        assert!(out.contains(&format!("the population registry at {endpoint} refused the token (401")), "{out}");
        assert!(out.contains("check ANSINH_REGISTRY_TOKEN or the --registry-token-file"), "{out}");
        assert!(!out.contains("not-the-token"), "a token is never shown:\n{out}");
        assert_eq!(registry.served.refused_tokens.load(Ordering::Relaxed), tries as usize, "a 401 is not retried");
        assert!(started.elapsed() < Duration::from_secs(20), "try {tries} waited {:?}", started.elapsed());
    }
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run}")), 0);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM shards WHERE lease_owner IS NOT NULL"),
        0,
        "held by a process that ended"
    );
    let out = fails(evaluate(run).env_remove("ANSINH_REGISTRY_TOKEN"));
    assert!(out.contains("needs a bearer token: set ANSINH_REGISTRY_TOKEN, or give --registry-token-file"), "{out}");
    said.push(out);

    // The service fails for good after its first answer: the run stops with the pages decided
    // so far committed.
    registry.script(&[Answer::Normal, Answer::Status(400)]);
    let out = fails(evaluate(run).env("ANSINH_REGISTRY_TOKEN", TOKEN));
    assert!(out.contains(&format!("the population registry at {endpoint} answered 400 Bad Request: cannot look up")));
    assert!(out.contains("version 1 of the registry contract"), "{out}");
    let decided = t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run}"));
    assert!(decided > 0 && (decided as usize) < people.len(), "{decided} of {} decided:\n{out}", people.len());
    said.push(out);

    // Resumed against another registry: refused, so that one run has one registry.
    let out = fails(t.cli().args(["run", "evaluate", &run.to_string()]));
    assert!(out.contains(&format!("run {run} was begun against the population registry {}", registry.url())));
    said.push(out);

    // Resumed against the same one, through two failures and an answer too late, each retried;
    // the token from a file this time.
    registry.script(&[Answer::Status(503), Answer::Slow(Duration::from_secs(3)), Answer::Status(429)]);
    let mut resume = evaluate(run);
    resume.arg("--registry-token-file").arg(&token_file).args(["--registry-timeout", "1"]);
    let out = ok(&mut resume);
    let report = stdout(&out);
    said.push(support::text(&out));
    assert_eq!(registry.served.script.lock().unwrap().len(), 0, "every scripted failure was met");
    assert_eq!(decisions(&t, run), table, "the same decisions as against the table");
    assert_eq!(outcome_count(&report, "payable"), table.values().filter(|d| d.0 == "payable").count() as i64);
    assert_eq!(t.text(format!("SELECT registry_source FROM runs WHERE id = {run}")), registry.url());

    // Over the three evaluations each person was looked up once, in requests of one page at most.
    let lookups = registry.take_lookups();
    let wanted: BTreeMap<String, u32> = people.values().map(|id| (id.clone(), 1)).collect();
    assert_eq!(lookups, wanted, "each beneficiary looked up once in the run, resumption included");
    assert!(registry.served.largest_request.load(Ordering::Relaxed) <= 500);

    // Run 3: people the service does not know come out not verified; everyone else as before.
    let hidden: HashSet<String> = people.values().step_by(7).cloned().collect();
    registry.served.hidden.lock().unwrap().clone_from(&hidden);
    let run = create();
    let out = ok(evaluate(run).env("ANSINH_REGISTRY_TOKEN", TOKEN));
    said.push(support::text(&out));
    assert_eq!(registry.take_lookups().len(), people.len());
    let http = decisions(&t, run);
    assert_eq!(http.len(), table.len());
    for (beneficiary, decision) in &http {
        if hidden.contains(&people[beneficiary]) {
            assert_eq!((decision.0.as_str(), decision.1, &decision.4), ("not_verified", 0, &None));
            assert!(decision.3.contains(r#"{"check":"in_registry","passed":false"#), "{}", decision.3);
        } else {
            assert_eq!(decision, &table[beneficiary], "beneficiary {beneficiary}");
        }
    }
    let unknown = decisions(&t, run).values().filter(|d| d.0 == "not_verified").count();
    assert!(unknown >= hidden.len());

    // Run 4: a service that never answers ends the run with an error naming it, not a hang.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let run = create();
    let started = Instant::now();
    let out = fails(
        t.cli()
            .args(["run", "evaluate", &run.to_string(), "--registry-url", &silent_url, "--registry-timeout", "1"])
            .env("ANSINH_REGISTRY_TOKEN", TOKEN),
    );
    let took = started.elapsed();
    assert!(
        out.contains(&format!(
            "the population registry at {silent_url}/v1/people:lookup did not answer after 4 attempts"
        )),
        "{out}"
    );
    assert!(out.contains("no answer within 1 s") && out.contains("evaluate the run again"), "{out}");
    assert!(took < Duration::from_secs(30), "gave up after {took:?}");
    said.push(out);
    drop(silent);

    // Least data: no message carried a raw ID number.
    for out in &said {
        for id in registry.served.people.keys() {
            assert!(!out.contains(id.as_str()), "a raw ID number in:\n{out}");
        }
    }
}

on_both_backends!(http_registry_decides_as_the_table_does);

#[test]
fn plain_http_is_refused_beyond_this_machine() {
    let t = Driver::new(Backend::Sqlite);
    let out = fails(
        t.cli()
            .args(["run", "evaluate", "1"])
            .args(["--registry-url", "http://registry.example.gov.vn"])
            .env("ANSINH_REGISTRY_TOKEN", TOKEN),
    );
    assert!(out.contains("plain http:// is refused except to this machine"), "{out}");
}
