//! The README's first command, end to end, through the real `ansinh` binary on
//! both backends: generate, import, verify, decide in the sandbox, issue the
//! run's files (pain.001 for banks and for e-wallets, which the official XSD
//! accepts, the bank CSV, VNPost's cash list), and issue again without paying
//! twice or changing a byte.

mod support;

use std::path::Path;

use support::{Backend, TestDb, ansinh, fails, first_element, ok, outcome_count, scalar, stdout};

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

    // The files: the bank transfers in a pain.001 valid against the official
    // XSD and in the bank CSV, the e-wallet transfers in a pain.001 of their
    // own, the people with no account in VNPost's cash list; each adds up to
    // the decisions, and none carries a raw ID number.
    let outbox = dir.join("outbox");
    let files = support::files::run_files(&outbox, "1", "2024-09");
    for file in [&files.bank, &files.bank_csv, &files.ewallet, &files.vnpost] {
        assert!(summary.contains(&file.display().to_string()), "the summary must name {}:\n{summary}", file.display());
    }
    let counted = support::files::check_run_files(url, &outbox, "1", "2024-09", true);
    let decided = |outcome: &str, channel: &str| {
        let q = |what: &str| {
            scalar(
                url,
                format!(
                    "SELECT {what} FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id \
                     WHERE d.run_id = 1 AND d.outcome = '{outcome}' AND b.channel = '{channel}'"
                ),
            )
        };
        (q("COUNT(*)"), q("CAST(COALESCE(SUM(d.amount), 0) AS BIGINT)"))
    };
    assert_eq!(counted.bank, decided("payable", "bank"));
    assert_eq!(counted.ewallet, decided("payable", "ewallet"));
    assert_eq!(counted.cash, decided("no_account", "none"));
    assert!(counted.bank.0 > 0 && counted.ewallet.0 > 0 && counted.cash.0 > 0, "{counted:?}");
    assert_eq!(counted.bank.0 + counted.ewallet.0, paid);
    assert_eq!(counted.cash.0, outcome_count(summary, "no account"));
    let ewallet = std::fs::read_to_string(&files.ewallet).unwrap();
    assert_eq!(first_element(&ewallet, "MsgId"), "ANSINH-R1-202409W");
    assert!(ewallet.contains("<Id>3711000000002</Id>"), "the e-wallet file is debited from the e-wallet account");

    // Issuing again, with the demo's configuration: the same bytes, no new payments.
    let all = [&files.bank, &files.bank_csv, &files.ewallet, &files.vnpost];
    let before: Vec<Vec<u8>> = all.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let payments = scalar(url, "SELECT COUNT(*) FROM payments");
    let issue = |config: &Path| {
        let mut cmd = ansinh();
        cmd.args(["--database-url", url, "--config"]).arg(config).args(["run", "issue", "1", "--outbox"]).arg(&outbox);
        cmd
    };
    let again = stdout(&ok(&mut issue(&dir.join("ansinh.toml"))));
    assert_eq!(again.matches("(Unchanged)").count(), 4, "{again}");
    assert!(!again.contains("Note:"), "{again}");
    let after: Vec<Vec<u8>> = all.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(before == after, "a second issue changed a payment file");
    assert_eq!(scalar(url, "SELECT COUNT(*) FROM payments"), payments);

    // With other accounts configured since: the run keeps those it was issued
    // from, so its files stay the same, and the output says so.
    let other = tempfile::tempdir().unwrap();
    let said = stdout(&ok(&mut issue(&support::files::hanoi_config(other.path(), false, false))));
    assert!(said.contains("Note: the configuration now gives other treasury accounts"), "{said}");
    let after: Vec<Vec<u8>> = all.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(before == after, "an issue with another configuration changed a payment file");

    // A broken configuration is refused with the file, the key and what was expected.
    let broken = other.path().join("broken.toml");
    std::fs::write(&broken, "[treasury.\"001\"]\nholder = \"KB\"\naccount = \"1\"\nbin = \"9704\"\n").unwrap();
    let said = fails(&mut issue(&broken));
    assert!(said.contains("broken.toml: treasury.\"001\".bin = \"9704\": expected the 6-digit"), "{said}");
}
