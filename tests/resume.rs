//! Nothing lost: `run evaluate` killed with SIGKILL in the middle resumes where
//! it stopped, and the run ends exactly as an uninterrupted one.

use std::time::{Duration, Instant};

use crate::support::{Backend, Driver};

const PEOPLE: u64 = 6000;

/// The synthetic province imported and a run created; the run's id.
fn prepared(t: &Driver) -> String {
    let (registry, enrolment) = t.population(7, PEOPLE, "2024-09");
    t.import(&registry, &enrolment);
    t.release_national();
    t.create_run("2024-09")
}

/// Outcome, count and total of every outcome of run 1, as one comparable text.
fn outcomes(t: &Driver) -> Vec<(String, i64, i64)> {
    use ansinh::store::Db;
    t.sql(|db| {
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

fn killed_evaluation_resumes(t: Driver) {
    let reference = Driver::new(Backend::Sqlite);
    let run = prepared(&reference);
    reference.evaluate(&run);
    let expected = outcomes(&reference);
    let total = reference.scalar("SELECT COUNT(*) FROM beneficiaries");

    let run = prepared(&t);
    let mut child = t
        .cli()
        .args(["--workers", "1", "run", "evaluate", &run])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as its first batch of decisions is committed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while t.scalar("SELECT COUNT(*) FROM decisions") == 0 {
        assert!(Instant::now() < deadline, "no decision committed in two minutes");
        assert!(child.try_wait().unwrap().is_none(), "evaluate ended before any decision was seen");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stored = t.scalar("SELECT COUNT(*) FROM decisions");
    assert!(stored < total, "evaluate finished ({stored} of {total}) before it could be killed");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM runs WHERE status = 'created'"), 1);

    // Evaluating again decides only the rest, and the run ends as if never killed.
    t.evaluate(&run);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM decisions"), total);
    assert_eq!(outcomes(&t), expected);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM runs WHERE status = 'evaluated'"), 1);
}

on_both_backends!(killed_evaluation_resumes);

/// How the database plans the read of run `run`'s next page of people to decide for `period`.
fn planned_pending(t: &Driver, run: i64, period: &'static str) -> String {
    let (run, period, upto) = (run.to_string(), format!("'{period}'"), i64::MAX.to_string());
    t.plan(
        ansinh::store::beneficiaries::PENDING,
        &["'social-assistance'", "'001'", &run, &period, "FALSE", &upto, "0", "500"],
    )
}

/// The second month of a province reads its people to decide at the pace of
/// the first: whether a person is decided yet is one probe of the primary key
/// of `decisions` (run, month, beneficiary). PostgreSQL's statistics, made
/// when the first month was sealed, know no decision of the second month's
/// run; planned by them, the probe took `decisions_by_outcome`, which walks
/// every decision of the run for each person (a page of 500 took 4 s, then
/// 68 s, in a 200,000-person province; 27 ms by the key).
fn a_second_month_probes_decisions_by_their_key(t: Driver) {
    t.evaluated_run(11, 2000, "2024-09");
    let second: i64 = t.create_run("2024-10").parse().unwrap();
    let plan = planned_pending(&t, second, "2024-10");
    let by_key = match t.backend {
        Backend::Sqlite => {
            "SEARCH d USING COVERING INDEX sqlite_autoindex_decisions_1 (run_id=? AND period=? AND beneficiary_id=?)"
        }
        Backend::Postgres => "Index Only Scan using decisions_pkey on decisions d",
    };
    assert!(plan.contains(by_key), "the probe of decisions is not by their key:\n{plan}");
    assert!(!plan.contains("decisions_by_outcome"), "the probe walks decisions by outcome:\n{plan}");
}

on_both_backends!(a_second_month_probes_decisions_by_their_key);
