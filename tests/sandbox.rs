//! A run with a plug-in that misbehaves: each misbehaviour is stored against
//! its own person with a clear error, and the rest of the run completes and is
//! paid. Each hostile plug-in on its own, refusals at load and determinism:
//! `tests/hostile.rs`, `tests/determinism.rs`.
//!
//! The hostile plug-in (`tests/plugins/hostile`) picks its misbehaviour from the
//! person's `dependent_children`, so one run holds every kind beside sound
//! decisions.

use std::path::Path;

use ansinh_sandbox::Limits;

use crate::support::{self, Backend, Driver, fails, hostile_plugin, ok, outcome_count, stdout};

/// One person per behaviour of the hostile plug-in, and sound ones between.
/// (dependent_children, what the run must record)
const PEOPLE: [(u32, &str); 14] = [
    (0, "payable 100000"),
    (1, "used up its fuel budget of 20000000 units"),
    (2, "tried to grow its memory beyond the limit of 16777216 bytes"),
    (3, "trapped on `unreachable`: a Rust plug-in panicked"),
    (4, "accessed memory out of bounds (runaway recursion past its own stack"),
    (5, "returned an invalid decision: not eligible but amount 1 (expected 0)"),
    (6, "returned an invalid decision: output is 1048597 bytes, above the limit of 16384"), // with its category
    (7, "returned an invalid decision: output is 100000 bytes, above the limit of 16384"),
    (8, "returned an invalid decision: amount 18446744073709551615 is above the limit of 100000000"),
    (9, "returned an invalid decision: category \"Không phải mã\" is not a code"),
    // A global counter in the plug-in: with a fresh instance per decision it is
    // 1 at every call, so both are paid 101,000.
    (10, "payable 101000"),
    (11, "refused to decide: refuses on purpose"),
    (10, "payable 101000"),
    (0, "payable 100000"),
];

/// Registry and enrolment CSV (formats.md) for [`PEOPLE`], all in Hà Nội (001),
/// all verified, all with a bank account.
fn write_population(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut registry =
        String::from("id_number,full_name,birth_date,sex,residence_province,residence_commune,death_date\n");
    let mut enrolment = String::from(
        "id_number,full_name,birth_date,program,province,household,disability,has_pension,difficult_commune,\
         statuses,dependent_children,channel,bank_bin,account_number,account_name\n",
    );
    for (i, (children, _)) in PEOPLE.iter().enumerate() {
        // 001 (Hà Nội), 0 (male, born 1900-1999), 40 (1940), six digits.
        let id = format!("001040{:06}", 100_001 + i);
        let given = [
            "An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hải", "Khoa", "Lâm", "Minh", "Nam", "Phúc", "Quang", "Sơn",
        ];
        let name = format!("Nguyễn Văn {}", given[i]);
        registry.push_str(&format!("{id},{name},1940-05-12,male,001,,\n"));
        // The bank holds the name in ASCII capitals (identity.md).
        let holder = ansinh::identity::names::fold(&name);
        enrolment.push_str(&format!(
            "{id},{name},1940-05-12,social-assistance,001,none,none,false,false,,{children},bank,970436,00110000{i:05},\
             {holder}\n"
        ));
    }
    let (r, e) = (dir.join("registry.csv"), dir.join("enrolment.csv"));
    std::fs::write(&r, registry).unwrap();
    std::fs::write(&e, enrolment).unwrap();
    (r, e)
}

fn hostile_run_is_contained(t: Driver) {
    let (registry, enrolment) = write_population(t.dir.path());
    t.import(&registry, &enrolment);
    let hostile = hostile_plugin();
    let cases = support::workspace().join("tests/plugins/hostile/cases.yaml");
    t.release(&hostile, &cases, "national", "2024-09");
    let run = t.create_run("2024-09");

    // The run completes: every person has a decision, the sound ones are payable.
    let report = stdout(&t.evaluate(&run));
    assert_eq!(outcome_count(&report, "payable"), 4, "{report}");
    assert_eq!(outcome_count(&report, "plug-in error"), 10, "{report}");
    assert_eq!(outcome_count(&report, "total"), 14, "{report}");

    // Each misbehaviour is stored against its own person, with a specific message.
    for (i, (_, expected)) in PEOPLE.iter().enumerate() {
        let id = format!("001040{:06}", 100_001 + i);
        let recorded = decision_of(&t, &id);
        assert!(recorded.contains(expected), "person {i}: expected {expected:?}, stored {recorded:?}");
    }
    // A runaway used its whole budget, and the fuel is recorded.
    assert_eq!(t.scalar("SELECT MAX(fuel) FROM decisions"), Limits::default().fuel as i64);

    // And the run goes on to pay the sound decisions.
    t.approve(&run);
    let issued = stdout(&ok(t
        .cli()
        .arg("--config")
        .arg(support::files::hanoi_config(t.dir.path(), false, false))
        .args(["run", "issue", &run, "--outbox"])
        .arg(t.path("outbox"))));
    assert!(issued.contains("Issued 4 payments, 402,000 VND in all."), "{issued}");
    support::files::check_run_files(&t, &t.path("outbox"), &run, "2024-09", false);
}

/// `payable AMOUNT`, or the stored plug-in error, of one person's decision.
fn decision_of(t: &Driver, id_number: &str) -> String {
    use ansinh::store::Db;
    let query = format!(
        "SELECT CASE WHEN d.outcome = 'payable' THEN 'payable ' || d.amount ELSE COALESCE(d.error, d.outcome) END \
         FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id WHERE b.id_number = '{id_number}'"
    );
    t.sql(move |db| {
        Box::pin(async move {
            match db {
                Db::Sqlite(pool) => {
                    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(query.as_str())).fetch_one(&pool).await
                }
                Db::Postgres(pool) => {
                    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(query.as_str())).fetch_one(&pool).await
                }
            }
            .unwrap()
        })
    })
}

on_both_backends!(hostile_run_is_contained);

/// A component that imports the WASI wall clock: a plug-in that would read the time.
const IMPORTS_WASI_CLOCK: &str = r#"
(component
  (import "wasi:clocks/wall-clock@0.2.0" (instance
    (export "now" (func (result u64)))
  ))
)
"#;

#[test]
fn a_refused_plugin_names_the_file_and_the_rest_goes_on() {
    let t = Driver::new(Backend::Sqlite);
    let wasi = t.path("reads-the-clock.wasm");
    std::fs::write(&wasi, wat::parse_str(IMPORTS_WASI_CLOCK).unwrap()).unwrap();
    let cases = support::workspace().join("plugins/national-social-assistance/cases.yaml");
    let msg = fails(t.as_("author").args(["plugin", "upload"]).arg(&wasi).arg("--cases").arg(&cases));
    assert!(msg.contains("uploading") && msg.contains("reads-the-clock.wasm"), "{msg}");
    assert!(msg.contains("wasi:clocks/wall-clock"), "{msg}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM releases"), 0, "a refused plug-in must not make a release");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM plugins"), 0);

    t.release_national();
    let create = t
        .cli()
        .args(["run", "create", "--program", "social-assistance"])
        .args(["--province", "001", "--period", "2024-09"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&create.stdout).trim(), "1");
}
