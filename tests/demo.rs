//! The README's first command, end to end, through the real `ansinh` binary on
//! both backends: generate, import, verify, decide in the sandbox, issue a
//! pain.001 file that the official XSD accepts, and issue again without paying
//! twice.

mod support;

use std::path::Path;

use support::{Backend, TestDb, ansinh, fails, first_element, ok, outcome_count, scalar, stdout, sum_elements};

const PEOPLE: &str = "1500";

#[test]
fn demo_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(ansinh().args(["demo", "--people", PEOPLE, "--dir"]).arg(dir.path()));
    // `--dir DIR` puts the database at DIR/ansinh.db.
    let url = dir.path().join("ansinh.db").display().to_string();
    assert!(Path::new(&url).is_file(), "no database at {url}");
    check_demo(&url, dir.path(), &stdout(&out));
}

#[test]
fn demo_on_postgres() {
    let db = TestDb::new(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let out = ok(ansinh().args(["--database-url", &db.url, "demo", "--people", PEOPLE, "--dir"]).arg(dir.path()));
    assert!(!dir.path().join("ansinh.db").exists(), "with --database-url the demo must not make a SQLite file");
    check_demo(&db.url, dir.path(), &stdout(&out));

    // A database that holds releases is not the demo's to sign into.
    let runs = support::scalar(&db.url, "SELECT COUNT(*) FROM runs");
    let said =
        support::fails(ansinh().args(["--database-url", &db.url, "demo", "--people", PEOPLE, "--dir"]).arg(dir.path()));
    assert!(said.contains("already holds plug-in releases or signing keys"), "{said}");
    assert_eq!(support::scalar(&db.url, "SELECT COUNT(*) FROM runs"), runs);
}

/// What a demo must have done, whatever the backend.
fn check_demo(url: &str, dir: &Path, summary: &str) {
    // The summary names every outcome, and the synthetic province has some of each
    // (the national plug-in never errs on well-formed input).
    let paid = outcome_count(summary, "paid");
    for label in ["not eligible", "not verified", "no account"] {
        assert!(outcome_count(summary, label) > 0, "no `{label}` in a 1,500-person demo:\n{summary}");
    }
    assert_eq!(outcome_count(summary, "plug-in error"), 0, "{summary}");
    assert_eq!(outcome_count(summary, "total"), scalar(url, "SELECT COUNT(*) FROM beneficiaries"), "{summary}");
    assert!(summary.contains("decisions/s"), "{summary}");

    // Every decision is stored with its input, the plug-in's hash and the fuel used.
    assert_eq!(scalar(url, "SELECT COUNT(*) FROM decisions WHERE plugin_hash <> (SELECT plugin_hash FROM runs)"), 0);
    let decided_by_plugin = scalar(url, "SELECT COUNT(*) FROM decisions WHERE input IS NOT NULL");
    assert!(decided_by_plugin > 0);
    assert_eq!(
        scalar(url, "SELECT COUNT(*) FROM decisions WHERE input IS NOT NULL AND (fuel <= 0 OR output IS NULL)"),
        0,
        "a decision the plug-in made lacks its fuel or output"
    );

    // The file: valid pain.001.001.09, one transaction per payment, totals that add up.
    let file = dir.join("outbox/pain001-run1-social-assistance-001-2024-09.xml");
    assert!(summary.contains(&file.display().to_string()), "the summary must name {}:\n{summary}", file.display());
    support::xsd::validate_pain001(&file).unwrap();
    let xml = std::fs::read_to_string(&file).unwrap();
    let (transactions, sum) = sum_elements(&xml, "InstdAmt");
    assert_eq!(transactions as i64, paid);
    assert_eq!(transactions as i64, scalar(url, "SELECT COUNT(*) FROM payments"));
    assert_eq!(sum as i64, scalar(url, "SELECT CAST(SUM(amount) AS BIGINT) FROM payments"));
    assert_eq!(first_element(&xml, "NbOfTxs"), transactions.to_string());
    assert_eq!(first_element(&xml, "CtrlSum"), sum.to_string());
    // No raw ID number travels in the file.
    let id_number = first_id_number(url);
    assert!(!xml.contains(&id_number), "the payment file carries an ID number");

    // Issuing again from the same account: the same bytes, no new payments.
    let before = std::fs::read(&file).unwrap();
    let issue = |payer_name: &str| {
        let mut cmd = ansinh();
        cmd.args(["--database-url", url, "run", "issue", "1", "--outbox"]).arg(dir.join("outbox"));
        cmd.args(["--payer-name", payer_name, "--payer-account", "3711000000001", "--payer-bin", "970415"]);
        cmd
    };
    let again = stdout(&ok(&mut issue("KHO BAC NHA NUOC HA NOI (DEMO)")));
    assert!(again.contains("Payment file (Unchanged)"), "{again}");
    assert_eq!(std::fs::read(&file).unwrap(), before, "a second issue changed the payment file");
    assert_eq!(scalar(url, "SELECT COUNT(*) FROM payments") as u64, transactions);

    // From another account: refused, since the file must stay what was issued.
    let said = fails(&mut issue("SOMEONE ELSE"));
    assert!(said.contains("cannot be issued again from SOMEONE ELSE"), "{said}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(scalar(url, "SELECT COUNT(*) FROM payments") as u64, transactions);
}

fn first_id_number(url: &str) -> String {
    let n = scalar(url, "SELECT CAST(MIN(id_number) AS BIGINT) FROM payments");
    format!("{n:012}")
}
