//! The README's first command, end to end, through the real `ansinh` binary on
//! both backends: generate, import, verify, decide in the sandbox, issue the
//! run's files (pain.001 for banks and for e-wallets, which the official XSD
//! accepts, the bank CSV, VNPost's cash list), and issue again without paying
//! twice or changing a byte. Its folder must be its own: one holding anything
//! else is refused before anything in it is touched.

use std::path::Path;

use ansinh::model::Total;

use crate::support::{self, Backend, Driver, TestDb, ansinh, fails, first_element, ok, outcome_count, stdout};
use std::os::unix::fs::PermissionsExt;

const PEOPLE: &str = "1500";

/// On SQLite the demo makes its own database: no `--database-url`, so the
/// driver is the demo's folder and the database in it.
#[test]
fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(ansinh().args(["demo", "--people", PEOPLE, "--dir"]).arg(dir.path()));
    // `--dir DIR` puts the database at DIR/ansinh.db.
    let url = dir.path().join("ansinh.db").display().to_string();
    assert!(Path::new(&url).is_file(), "no database at {url}");
    let t = Driver::on(Backend::Sqlite, TestDb::sqlite_file(&url), dir);
    adopt_the_demo_officer(&t);
    check_demo(&t, &stdout(&out));
}

/// On PostgreSQL the demo is given the database (`--database-url`) and makes
/// no SQLite file.
#[test]
fn postgres() {
    let t = Driver::new(Backend::Postgres);
    let out = ok(t.bare().args(["demo", "--people", PEOPLE, "--dir"]).arg(t.dir.path()));
    assert!(!t.path("ansinh.db").exists(), "with --database-url the demo must not make a SQLite file");
    adopt_the_demo_officer(&t);
    check_demo(&t, &stdout(&out));

    // A database that holds releases is not the demo's to sign into.
    let runs = t.scalar("SELECT COUNT(*) FROM runs");
    let said = support::fails(t.bare().args(["demo", "--people", PEOPLE, "--dir"]).arg(t.dir.path()));
    assert!(said.contains("already holds plug-in releases or signing keys"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM runs"), runs);
}

/// The demo makes its own accounts and writes their tokens beside its
/// database, owner-only: the tests go on as its officer (an auditor too).
fn adopt_the_demo_officer(t: &Driver) {
    let file = t.path("demo-officer.token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} is mode {mode:o}", file.display());
    t.adopt("test-officer", &std::fs::read_to_string(&file).unwrap());
    let me = stdout(&ok(t.cli().args(["--token-file"]).arg(&file).args(["run", "show", "1"])));
    assert!(me.contains("approved by demo-approver"), "{me}");
}

/// What a demo in `t`'s folder must have done, whatever the backend.
fn check_demo(t: &Driver, summary: &str) {
    // Its configuration holds the person key: the owner's alone, or the next command refuses it.
    let mode = std::fs::metadata(t.path("ansinh.toml")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the demo's ansinh.toml is mode {mode:o}");
    // The summary names every outcome, and the synthetic province has some of each
    // (the national plug-in never errs on well-formed input).
    let paid = outcome_count(summary, "paid");
    for label in ["not eligible", "not verified", "no account"] {
        assert!(outcome_count(summary, label) > 0, "no `{label}` in a 1,500-person demo:\n{summary}");
    }
    assert_eq!(outcome_count(summary, "plug-in error"), 0, "{summary}");
    assert_eq!(outcome_count(summary, "total"), t.scalar("SELECT COUNT(*) FROM beneficiaries"), "{summary}");
    assert!(summary.contains("decisions/s"), "{summary}");

    // Every decision is stored with its input (packed against the run's
    // reference input), the plug-in's hash and the fuel used.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM decision_rows WHERE plugin_hash <> (SELECT plugin_hash FROM runs)"), 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM deciders"), 1, "one plug-in and engine, stored once");
    let decided_by_plugin = t.scalar("SELECT COUNT(*) FROM decisions WHERE input_packed IS NOT NULL");
    assert!(decided_by_plugin > 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM decisions WHERE input IS NOT NULL"), 0, "new inputs are packed");
    assert_eq!(
        t.scalar("SELECT COUNT(DISTINCT input_base_id) FROM decisions WHERE input_packed IS NOT NULL"),
        1,
        "one reference for the run's one month"
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM decision_rows WHERE input_packed IS NOT NULL AND (fuel <= 0 OR output IS NULL)"),
        0,
        "a decision the plug-in made lacks its fuel or output"
    );

    // The files: the bank transfers in a pain.001 valid against the official
    // XSD and in the bank CSV, the e-wallet transfers in a pain.001 of their
    // own, the people with no account in VNPost's cash list; each adds up to
    // the decisions, and none carries a raw ID number.
    let outbox = t.path("outbox");
    let files = support::files::run_files(&outbox, "1", "2024-09");
    for file in [&files.bank, &files.bank_csv, &files.ewallet, &files.vnpost] {
        assert!(summary.contains(&file.display().to_string()), "the summary must name {}:\n{summary}", file.display());
    }
    let counted = support::files::check_run_files(t, &outbox, "1", "2024-09", true);
    let decided = |outcome: &str, channel: &str| {
        let q = |what: &str| {
            t.scalar(format!(
                "SELECT {what} FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id \
                 WHERE d.run_id = 1 AND d.outcome = '{outcome}' AND b.channel = '{channel}'"
            ))
        };
        Total { count: q("COUNT(*)"), amount: q("CAST(COALESCE(SUM(d.amount), 0) AS BIGINT)") }
    };
    assert_eq!(counted.bank, decided("payable", "bank"));
    assert_eq!(counted.ewallet, decided("payable", "ewallet"));
    assert_eq!(counted.cash, decided("no_account", "none"));
    assert!(counted.bank.count > 0 && counted.ewallet.count > 0 && counted.cash.count > 0, "{counted:?}");
    assert_eq!(counted.bank.count + counted.ewallet.count, paid);
    assert_eq!(counted.cash.count, outcome_count(summary, "no account"));
    let ewallet = std::fs::read_to_string(&files.ewallet).unwrap();
    assert_eq!(first_element(&ewallet, "MsgId"), "ANSINH-R1-202409W");
    assert!(ewallet.contains("<Id>3711000000002</Id>"), "the e-wallet file is debited from the e-wallet account");

    // Issuing again, with the demo's configuration: the same bytes, no new payments.
    let all = [&files.bank, &files.bank_csv, &files.ewallet, &files.vnpost];
    let before: Vec<Vec<u8>> = all.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let payments = t.scalar("SELECT COUNT(*) FROM payments");
    let issue = |config: &Path| {
        let mut cmd = t.cli();
        cmd.arg("--config").arg(config).args(["run", "issue", "1", "--outbox"]).arg(&outbox);
        cmd
    };
    let again = stdout(&ok(&mut issue(&t.path("ansinh.toml"))));
    assert_eq!(again.matches("(Unchanged)").count(), 4, "{again}");
    assert!(!again.contains("Note:"), "{again}");
    let after: Vec<Vec<u8>> = all.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(before == after, "a second issue changed a payment file");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM payments"), payments);

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

/// Item 8: `demo --dir DIR` starts its folder afresh (it removes its old
/// database and outbox, and rewrites its files), so a folder holding anything
/// but an earlier demo's files is refused, naming what is there, before
/// anything in it is removed or written. With the database given
/// (`--database-url`) and, on SQLite, with the demo's own.
fn demo_refuses_a_folder_that_is_not_its_own(t: Driver) {
    let dir = t.path("work");
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    let precious = [("ansinh.db", "a database of real work"), ("registry.csv", "the real registry extract")];
    for (name, text) in precious {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    std::fs::write(dir.join("outbox/pain001-run7-social-assistance-001-2024-08-bank.xml"), "issued").unwrap();
    std::fs::write(dir.join("outbox/payroll.xlsx"), "mine too").unwrap();
    let untouched = |dir: &Path| {
        for (name, text) in precious {
            assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), text, "{name} was touched");
        }
        assert!(dir.join("outbox/payroll.xlsx").is_file() && dir.join("notes.txt").is_file());
        assert!(!dir.join("ansinh.toml").exists() && !dir.join("enrolment.csv").exists(), "the demo wrote there");
    };
    let demo = |mut cmd: std::process::Command| {
        cmd.args(["demo", "--people", "50", "--dir"]).arg(&dir);
        cmd
    };
    let mut runs = vec![demo(t.bare())];
    if let Backend::Sqlite = t.backend {
        // Its own database, DIR/ansinh.db, which it would remove first.
        runs.push(demo(ansinh()));
    }
    for mut cmd in runs {
        let said = fails(&mut cmd);
        assert!(
            said.contains(&format!("--dir {} holds \"notes.txt\", \"outbox/payroll.xlsx\"", dir.display())),
            "{said}"
        );
        assert!(said.contains("which an earlier demo did not write") && said.contains("Nothing was changed"), "{said}");
        untouched(&dir);
    }

    // A folder an earlier demo made is its own: the demo runs there again (on its own database).
    if let Backend::Sqlite = t.backend {
        let own = t.path("own");
        ok(ansinh().args(["demo", "--people", "50", "--dir"]).arg(&own));
        ok(ansinh().args(["demo", "--people", "50", "--dir"]).arg(&own));
    }
}

on_both_backends!(demo_refuses_a_folder_that_is_not_its_own);
