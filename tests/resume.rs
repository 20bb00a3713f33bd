//! Nothing lost: `run evaluate` killed with SIGKILL in the middle resumes where
//! it stopped, and the run ends exactly as an uninterrupted one.

mod support;

use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{Backend, TestDb, ansinh, ok, scalar, stdout};

const PEOPLE: u64 = 6000;

/// A database with the synthetic province imported and a run created; the run's id.
fn prepared(db: &TestDb, dir: &Path) -> String {
    let spec =
        ansinh::synthetic::Spec { seed: 7, people: PEOPLE, province: "001".into(), period: "2024-09".parse().unwrap() };
    let (registry, enrolment) = (dir.join("registry.csv"), dir.join("enrolment.csv"));
    let create = |p: &Path| BufWriter::new(std::fs::File::create(p).unwrap());
    ansinh::synthetic::generate(&spec, create(&registry), create(&enrolment)).unwrap();
    let cli = || support::cli(&db.url);
    support::import(&db.url, &registry, &enrolment);
    support::release_national(&db.url);
    let created =
        ok(cli().args(["run", "create", "--program", "social-assistance", "--province", "001", "--period", "2024-09"]));
    stdout(&created).trim().to_owned()
}

/// Outcome, count and total of every outcome of run 1, as one comparable text.
fn outcomes(url: &str) -> Vec<(String, i64, i64)> {
    use ansinh::store::Db;
    support::sql(url, |db| {
        Box::pin(async move {
            const SQL: &str = "SELECT outcome, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM decisions \
                               WHERE run_id = 1 GROUP BY outcome ORDER BY outcome";
            match db {
                Db::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(&pool).await,
                Db::Postgres(pool) => sqlx::query_as(SQL).fetch_all(&pool).await,
            }
            .unwrap()
        })
    })
}

fn killed_evaluation_resumes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let reference = TestDb::new(Backend::Sqlite);
    let run = prepared(&reference, dir.path());
    ok(ansinh().args(["--database-url", &reference.url, "run", "evaluate", &run]));
    let expected = outcomes(&reference.url);
    let total = scalar(&reference.url, "SELECT COUNT(*) FROM beneficiaries");

    let db = TestDb::new(backend);
    let run = prepared(&db, dir.path());
    let mut child = ansinh()
        .args(["--database-url", &db.url, "--workers", "1", "run", "evaluate", &run])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as its first batch of decisions is committed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while scalar(&db.url, "SELECT COUNT(*) FROM decisions") == 0 {
        assert!(Instant::now() < deadline, "no decision committed in two minutes");
        assert!(child.try_wait().unwrap().is_none(), "evaluate ended before any decision was seen");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stored = scalar(&db.url, "SELECT COUNT(*) FROM decisions");
    assert!(stored < total, "evaluate finished ({stored} of {total}) before it could be killed");
    assert_eq!(scalar(&db.url, "SELECT COUNT(*) FROM runs WHERE status = 'created'"), 1);

    // Evaluating again decides only the rest, and the run ends as if never killed.
    ok(ansinh().args(["--database-url", &db.url, "run", "evaluate", &run]));
    assert_eq!(scalar(&db.url, "SELECT COUNT(*) FROM decisions"), total);
    assert_eq!(outcomes(&db.url), expected);
    assert_eq!(scalar(&db.url, "SELECT COUNT(*) FROM runs WHERE status = 'evaluated'"), 1);
}

#[test]
fn killed_evaluation_resumes_on_sqlite() {
    killed_evaluation_resumes(Backend::Sqlite);
}

#[test]
fn killed_evaluation_resumes_on_postgres() {
    killed_evaluation_resumes(Backend::Postgres);
}
