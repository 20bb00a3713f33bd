//! Issue 16: workers that share a run through PostgreSQL and survive being
//! killed. Three real `ansinh worker` processes evaluate a run of 20,000
//! beneficiaries while a random one is killed with SIGKILL at a random moment,
//! twenty times, and started again; the run ends with exactly one decision per
//! beneficiary, and the same outcomes, totals and decision chain as the same
//! run evaluated by one process in an identically seeded database. Then two
//! `run issue` at once, one killed: one set of files, each person paid once.
//! And a worker stops cleanly on SIGTERM, giving its shard back. A replay of
//! every decision and a what-if are shared by the workers part by part, with
//! the holder of a part killed again and again, and find what one process finds.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::service::Worker;
use crate::support::{Backend, Driver, files, ok, plugin, stdout, workspace};

const PEOPLE: u64 = 20_000;
const PERIOD: &str = "2024-09";

/// A synthetic Hà Nội of `PEOPLE` from one seed, the national release, and a run created: its id.
fn seeded(t: &Driver) -> String {
    let (registry, enrolment) = t.population(16, PEOPLE, PERIOD);
    t.import(&registry, &enrolment);
    t.release_national();
    t.create_run(PERIOD)
}

/// What a run decided: per outcome, how many and their sum; and the chain its `run.evaluate` sealed.
fn decided(t: &Driver, run: &str) -> (String, String) {
    let outcomes = t.text(format!(
        "SELECT string_agg(outcome || ' ' || n || ' ' || total, '; ' ORDER BY outcome) FROM \
         (SELECT outcome, COUNT(*) AS n, SUM(amount) AS total FROM decisions WHERE run_id = {run} GROUP BY outcome) \
         AS by_outcome"
    ));
    let entry = t.text(format!(
        "SELECT details FROM audit_log WHERE action = 'run.evaluate' AND subject = 'run:{run}' ORDER BY seq"
    ));
    let details: serde_json::Value = serde_json::from_str(&entry).unwrap();
    (outcomes, details["decisions"].to_string())
}

/// A small, fixed-seed generator (xorshift): the kills are at random moments,
/// the same ones each time the test runs with the same seed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A worker of one thread with a lease of two seconds, so that what a killed one held is soon taken up.
fn worker(t: &Driver, log: &Path) -> Worker {
    Worker::start(t, &["--workers", "1", "--job-lease", "2"], log)
}

#[test]
fn killed_workers_lose_nothing_and_decide_as_one_process() {
    // The reference: the same run decided by one process.
    let one = Driver::new(Backend::Postgres);
    let run = seeded(&one);
    one.evaluate(&run);
    let expected = decided(&one, &run);
    drop(one);

    let t = Driver::new(Backend::Postgres);
    assert_eq!(seeded(&t), run, "the same run id in the identically seeded database");
    let log = t.path("workers.log");
    let mut workers: Vec<Worker> = (0..3).map(|_| worker(&t, &log)).collect();
    let following: Child = t
        .cli()
        .args(["run", "evaluate", &run, "--queue"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = || t.text(format!("SELECT status FROM runs WHERE id = {run}"));
    let mut dice = Dice(0x5eed_0016);
    let mut mid_run = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100 + dice.below(700)));
        if status() == "created" {
            mid_run += 1;
        }
        let victim = dice.below(3) as usize;
        workers[victim].kill();
        workers[victim] = worker(&t, &log);
    }
    let finished = following.wait_with_output_within(Duration::from_secs(600));
    assert!(finished.status.success(), "{}\n{}", String::from_utf8_lossy(&finished.stderr), tail(&log));
    assert!(mid_run >= 10, "only {mid_run} of 20 kills came while the run was being decided");
    assert_eq!(status(), "evaluated");

    let beneficiaries = t.scalar("SELECT COUNT(*) FROM beneficiaries");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run}")), beneficiaries);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM shards WHERE finished_at IS NULL"), 0);
    assert!(t.scalar("SELECT MAX(attempts) FROM shards") > 1, "no shard was taken up after a kill");
    assert_eq!(decided(&t, &run), expected, "outcomes, totals or the decision chain differ from one process's");
    // Sealed once: one run.evaluate entry, and the log whole.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'run.evaluate'"), 1);
    ok(t.cli().args(["audit", "verify"]));

    // The workers' metrics count what they decided.
    let metrics = workers[0].get("/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(metrics.body.contains("ansinh_shards{state=\"pending\"} 0"), "{}", metrics.body);
    assert!(metrics.body.contains("# TYPE ansinh_decision_seconds histogram"), "{}", metrics.body);
    assert!(metrics.body.trim_end().ends_with("# EOF"), "{}", metrics.body);
    drop(workers);

    // Two issues at once, one killed at a random moment: one set of files, each person paid once.
    t.approve(&run);
    let config = files::hanoi_config(t.dir.path(), true, true);
    let outbox = t.path("outbox");
    let issue = || {
        t.cli()
            .arg("--config")
            .arg(&config)
            .args(["run", "issue", &run, "--outbox"])
            .arg(&outbox)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (mut killed, survivor) = (issue(), issue());
    std::thread::sleep(Duration::from_millis(dice.below(1500)));
    let _ = killed.kill();
    let _ = killed.wait();
    let survived = survivor.wait_with_output_within(Duration::from_secs(300));
    assert!(survived.status.success(), "{}", String::from_utf8_lossy(&survived.stderr));
    assert_eq!(status(), "issued");
    // Paid by transfer (payable) or listed for VNPost's cash (no account), whatever their amount.
    let payable = t.scalar(format!(
        "SELECT COUNT(*) FROM decisions WHERE run_id = {run} AND outcome IN ('payable', 'no_account') AND amount > 0"
    ));
    let paid = t.scalar("SELECT COUNT(*) FROM payments") + t.scalar("SELECT COUNT(*) FROM cash_payments");
    let people = t.scalar(
        "SELECT COUNT(*) FROM (SELECT program, period, id_number FROM payments \
         UNION SELECT program, period, id_number FROM cash_payments) AS paid",
    );
    assert_eq!((paid, people), (payable, payable), "each payable person paid once");
    let names: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    // Bank pain.001 and CSV, e-wallet pain.001, VNPost list: one set, whole.
    assert_eq!(names.len(), 4, "{names:?}");
    // Issuing again writes the same bytes and refuses to replace a file with others: the files
    // in the outbox are those the stored rows make.
    ok(t.cli().arg("--config").arg(&config).args(["run", "issue", &run, "--outbox"]).arg(&outbox));
    // And as recorded: `audit verify` makes each again from the rows and compares.
    let verified = stdout(&ok(t.cli().args(["audit", "verify"])));
    assert!(verified.contains("VERIFIED"), "{verified}");
}

/// A replay of every decision and a what-if, queued, are cut into parts that
/// three workers share; whoever holds a part is killed with SIGKILL, five
/// times during each, and started again. Each ends as one process's does:
/// the replay prints the same counts, divergences and chain note, and the
/// what-if puts the same summary on record.
#[test]
fn killed_workers_share_a_replay_and_a_what_if_as_one_process_does() {
    let t = Driver::new(Backend::Postgres);
    // January 2026, when Hà Nội's own level (650,000, Resolution 63/2025/NQ-HĐND) is in force: the
    // candidate changes what many are owed.
    let (registry, enrolment) = t.population(16, PEOPLE, "2026-01");
    t.import(&registry, &enrolment);
    t.release_national();
    let run = t.create_run("2026-01");
    t.evaluate(&run);
    // Three decisions far apart (so in three parts) tampered with: their fuel no longer what the
    // plug-in spends, nor what their digest covers.
    let tampered = t.execute(format!(
        "UPDATE decisions SET fuel = fuel + 1 WHERE run_id = {run} AND beneficiary_id IN (SELECT beneficiary_id FROM \
         (SELECT beneficiary_id, ROW_NUMBER() OVER (ORDER BY beneficiary_id) AS n FROM decisions WHERE run_id = {run} \
         AND (input IS NOT NULL OR input_packed IS NOT NULL)) AS asked WHERE n IN (10, 9000, 17000))"
    ));
    assert_eq!(tampered, Ok(3));
    // Timings apart, what a replay prints.
    let printed = |out: &std::process::Output| -> String {
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let untimed = |line: &str| match line.strip_suffix(" s)").and_then(|l| l.rsplit_once(" (")) {
            Some((line, _)) => line.to_owned(),
            None => line.to_owned(),
        };
        text.lines().map(|line| untimed(line) + "\n").collect()
    };
    let alone = printed(&t.cli().args(["audit", "replay", &run]).output().unwrap());
    assert!(alone.contains("divergent 3") && alone.matches("DIVERGENT").count() == 3, "{alone}");

    let hanoi = plugin("plugins/hanoi-social-assistance");
    ok(t.cli().args(["run", "diff", &run, "--plugin"]).arg(&hanoi));
    let cases = workspace().join("plugins/hanoi-social-assistance/cases.yaml");
    let release = stdout(&ok(t.as_("author").args(["plugin", "upload"]).arg(&hanoi).arg("--cases").arg(&cases)));

    let log = t.path("workers.log");
    let mut workers: Vec<Worker> = (0..3).map(|_| worker(&t, &log)).collect();
    let mut killed = 0;
    let mut shared = |args: &[&str]| {
        let mut asked = t.cli().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let start = Instant::now();
        let mut kills = 0;
        while kills < 5 && start.elapsed() < Duration::from_secs(300) {
            // Whoever holds a part now: its process is the victim.
            let holder = t.text(
                "SELECT COALESCE(MIN(lease_owner), '') FROM job_parts WHERE finished_at IS NULL \
                 AND lease_owner IS NOT NULL AND lease_until > now()",
            );
            let victim = workers.iter().position(|w| holder.starts_with(&format!("pid {} ", w.child.id())));
            match victim {
                Some(victim) => {
                    workers[victim].kill();
                    workers[victim] = worker(&t, &log);
                    kills += 1;
                    killed += 1;
                    std::thread::sleep(Duration::from_millis(300));
                }
                None if asked.try_wait().unwrap().is_some() => break,
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        asked.wait_with_output_within(Duration::from_secs(600))
    };
    let queued = shared(&["audit", "replay", &run, "--queue"]);
    assert_eq!(printed(&queued), alone, "{}", tail(&log));
    let asked = shared(&["run", "diff", &run, "--release", release.trim()]);
    assert!(asked.status.success(), "{}\n{}", String::from_utf8_lossy(&asked.stderr), tail(&log));
    assert!(killed >= 6, "only {killed} kills came while a part was held");

    // Parts were taken up again after their holder was killed, and all are finished.
    assert!(t.scalar("SELECT MAX(attempts) FROM job_parts") > 1, "{}", tail(&log));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM job_parts WHERE finished_at IS NULL OR result IS NULL"), 0);
    assert!(t.scalar("SELECT COUNT(DISTINCT job_id) FROM job_parts") == 2);
    // The same what-if on record, by one process and by the workers.
    let what_ifs = t.text("SELECT string_agg(details, '\n' ORDER BY seq) FROM audit_log WHERE action = 'run.what_if'");
    let what_ifs: Vec<serde_json::Value> = what_ifs.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(what_ifs.len(), 2, "{what_ifs:?}");
    assert!(what_ifs[0]["gained"]["people"].as_i64().unwrap() > 100, "{what_ifs:?}");
    assert_eq!(what_ifs[0], what_ifs[1]);
}

/// A worker asked to stop (SIGTERM) ends its batch, gives its shard back at
/// once (not after its lease) and exits 0; the next worker finishes the run.
#[test]
fn a_worker_stops_cleanly_on_sigterm() {
    let t = Driver::new(Backend::Postgres);
    let run = seeded(&t);
    let log = t.path("workers.log");
    let first = Worker::start(&t, &["--workers", "1", "--job-lease", "600", "--log-format", "json"], &log);
    let queued = t.cli().args(["run", "evaluate", &run, "--queue"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    let following = queued.unwrap();
    let start = Instant::now();
    while t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run}")) == 0 {
        assert!(start.elapsed() < Duration::from_secs(120), "no decision yet: {}", tail(&log));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(first.terminate().success(), "{}", tail(&log));
    // Its JSON lines say so, in the spans of the run and the shard.
    let given_back = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["message"] == "given back")
        .unwrap_or_else(|| panic!("no shard given back: {}", tail(&log)));
    let spans = given_back["spans"].as_array().unwrap();
    assert!(spans.iter().any(|s| s["name"] == "run" && s["run"] == run.parse::<i64>().unwrap()), "{given_back}");
    assert!(spans.iter().any(|s| s["name"] == "job") && spans.iter().any(|s| s["name"] == "shard"), "{given_back}");
    // With a lease of ten minutes, only a shard and a job given back can be taken up now.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM shards WHERE lease_owner IS NOT NULL"), 0);
    assert_eq!(t.text("SELECT state FROM jobs"), "queued");
    let _second = Worker::start(&t, &["--job-lease", "600"], &log);
    let finished = following.wait_with_output_within(Duration::from_secs(300));
    assert!(finished.status.success(), "{}", tail(&log));
    assert_eq!(t.text(format!("SELECT status FROM runs WHERE id = {run}")), "evaluated");
    let beneficiaries = t.scalar("SELECT COUNT(*) FROM beneficiaries");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run}")), beneficiaries);
}

/// The last lines of the workers' log, for a failure's message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Wait for a child with a limit: killed and failed past it.
trait WaitWithin {
    fn wait_with_output_within(self, limit: Duration) -> std::process::Output;
}

impl WaitWithin for Child {
    fn wait_with_output_within(mut self, limit: Duration) -> std::process::Output {
        let start = Instant::now();
        while self.try_wait().unwrap().is_none() {
            if start.elapsed() > limit {
                let _ = self.kill();
                panic!("still running after {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.wait_with_output().unwrap()
    }
}

/// Where only a migration step changes the schema (Kubernetes' Job): a worker
/// started with `--migrate check` refuses a database that lacks migrations,
/// saying what to run; after `ansinh migrate` it starts, is ready, serves its
/// metrics, logs JSON lines, and stops with success on SIGTERM.
fn workers_check_the_schema_and_log_json(t: Driver) {
    let url = match t.backend {
        Backend::Sqlite => t.path("fresh.db").display().to_string(),
        // The driver's database, emptied: as if made by no version.
        Backend::Postgres => {
            t.execute("DO $$ BEGIN DROP SCHEMA public CASCADE; CREATE SCHEMA public; END $$").unwrap();
            t.url().to_owned()
        }
    };
    let worker = || {
        let mut cmd = crate::support::ansinh();
        cmd.args(["--database-url", &url, "--migrate", "check", "--log-format", "json", "worker"]);
        cmd.args(["--listen", "127.0.0.1:0"]).env("ANSINH_LOG", "info");
        cmd
    };
    let said = crate::support::fails(&mut worker());
    assert!(said.contains("the database lacks migrations") && said.contains("run `ansinh migrate`"), "{said}");
    let migrated = ok(crate::support::ansinh().args(["--database-url", &url, "migrate"]));
    assert!(stdout(&migrated).contains("holds every migration"), "{}", stdout(&migrated));

    let log = t.path("worker.log");
    let mut child = worker().stdout(Stdio::piped()).stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let address = crate::support::service::listening(&mut child);
    let worker = Worker { child, address };
    let ready = worker.get("/readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);
    let metrics = worker.get("/metrics");
    assert_eq!(metrics.header("content-type"), Some(ansinh::metrics::CONTENT_TYPE));
    assert!(metrics.body.contains("ansinh_db_connections{state=\"max\"}"), "{}", metrics.body);
    assert!(worker.terminate().success());
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = logged
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    let said = |message: &str| lines.iter().any(|l| l["fields"]["message"] == message);
    assert!(said("worker started") && said("worker stopped"), "{logged}");
}

on_both_backends!(workers_check_the_schema_and_log_json);
