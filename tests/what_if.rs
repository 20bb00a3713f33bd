//! `run diff`: a candidate plug-in asked over the stored inputs of a past run,
//! through the real binary, on both backends. Hà Nội's plug-in over a run the
//! national plug-in decided: everyone owed money gains, by exactly the ratio of
//! the standard levels, nobody loses, and nothing is paid or stored. A
//! candidate the stored inputs cannot answer for is refused, with what to do.

use std::path::Path;
use std::time::Instant;

use crate::support::{self, Driver, fails, ok, plugin, stdout};
use ansinh::format::group;

/// More people than one page of stored decisions (500), so that the diff pages.
const PEOPLE: u64 = 1500;
/// The first month of Hà Nội's own standard level.
const PERIOD: &str = "2026-01";

/// The standard levels the two plug-ins apply in 2026-01, in đồng a month:
/// the nation's, Decree 76/2024/NĐ-CP (500,000 from 2024-07), and Hà Nội's,
/// Resolution 63/2025/NQ-HĐND of Hà Nội (650,000 from 2026-01; its scope is
/// unverified and read by the plug-in as the level of every category:
/// plugins/hanoi-social-assistance, shared/domain/social-assistance.md).
/// Both plug-ins pay the level × the same coefficient of Decree 20/2021/NĐ-CP.
const NATIONAL_LEVEL: i64 = 500_000;
const HANOI_LEVEL: i64 = 650_000;

/// Outcomes that owe a person money (paid, held, or listed for cash).
const OWED: &str = "outcome IN ('payable', 'held', 'no_account')";

/// The synthetic Hà Nội imported and run 1, decided by the national
/// plug-in, evaluated.
fn evaluated_run(t: &Driver) -> String {
    t.evaluated_run(63, PEOPLE, PERIOD)
}

/// Every stored decision of every run, as one comparable list.
type Row = (i64, String, i64, String, i64, Option<String>, Option<String>, Option<String>, i64);

fn all_decisions(t: &Driver) -> Vec<Row> {
    use ansinh::store::Db;
    t.sql(|db| {
        Box::pin(async move {
            const SQL: &str = "SELECT run_id, period, beneficiary_id, outcome, amount, category, output, error, fuel \
                               FROM decision_rows ORDER BY run_id, period, beneficiary_id";
            match db {
                Db::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(&pool).await,
                Db::Postgres(pool) => sqlx::query_as(SQL).fetch_all(&pool).await,
            }
            .unwrap()
        })
    })
}

/// What a run is, and what was paid: must not move under a what-if.
fn state(t: &Driver) -> (i64, i64, i64, i64, i64) {
    (
        t.scalar("SELECT COUNT(*) FROM runs"),
        t.scalar("SELECT COUNT(*) FROM runs WHERE status = 'evaluated'"),
        t.scalar("SELECT COUNT(*) FROM payments"),
        t.scalar("SELECT COUNT(*) FROM cash_payments"),
        t.scalar("SELECT COUNT(*) FROM plugins"),
    )
}

fn national_to_hanoi(t: Driver) {
    let started = Instant::now();
    let run = evaluated_run(&t);
    let hanoi = plugin("plugins/hanoi-social-assistance");
    let decisions_before = all_decisions(&t);
    let state_before = state(&t);

    // What to expect, from the stored decisions: each person owed money by the
    // national plug-in is owed level × coefficient, so Hà Nội owes the same
    // coefficient × 650,000. Exact in whole đồng: every stored amount is a
    // multiple of 500,000 × 0.5.
    let q = |what: &str, filter: &str| t.scalar(format!("SELECT {what} FROM decisions WHERE run_id = {run} {filter}"));
    let owed = format!("AND {OWED}");
    let gainers = q("COUNT(*)", &owed);
    assert!(gainers > 100, "the synthetic province should have people to pay: {gainers}");
    assert_eq!(q("COUNT(*)", &format!("{owed} AND (amount * {HANOI_LEVEL}) % {NATIONAL_LEVEL} <> 0")), 0);
    let before = q("CAST(COALESCE(SUM(amount), 0) AS BIGINT)", &owed);
    let gained =
        q(&format!("CAST(COALESCE(SUM(amount * {HANOI_LEVEL} / {NATIONAL_LEVEL} - amount), 0) AS BIGINT)"), &owed);
    assert!(gained > 0);
    let not_asked = q("COUNT(*)", "AND input IS NULL AND input_packed IS NULL");
    let total = q("COUNT(*)", "");
    assert!(total > 500, "more than one page: {total}");

    let diffed = Instant::now();
    let out = ok(t.cli().args(["run", "diff", &run, "--plugin"]).arg(&hanoi).args(["--list", "3"]));
    let diff_time = diffed.elapsed();
    let report = stdout(&out);
    let row = |what: &str, count: i64, amount: &str| format!("  {what:<32} {:>10} {amount:>22}\n", group(count));
    for expected in [
        row("gain", gainers, &format!("+{}", group(gained))),
        row("lose", 0, "-0"),
        row("other outcome, same amount", 0, ""),
        row("unchanged", total - gainers - not_asked, ""),
        row("not asked (no registry record)", not_asked, ""),
        row("candidate errors", 0, "(owed 0 before)"),
        row("total", total, ""),
        format!(
            "Owed a month (paid, held or cash): {} → {} VND (+{}).",
            group(before),
            group(before + gained),
            group(gained)
        ),
        "Candidate      hanoi-social-assistance".to_owned(),
        format!("Gain: {}\n", group(gainers)),
        format!("… and {} more", group(gainers - 3)),
    ] {
        assert!(report.contains(&expected), "expected {expected:?} in:\n{report}");
    }
    assert!(!report.contains("\nLose:"), "{report}");
    // Per category: the same people, each at 650/500 of the amount.
    let categories: Vec<(String, i64, i64)> = t.sql({
        let sql = format!(
            "SELECT category, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM decisions WHERE run_id = {run} AND {OWED} \
             GROUP BY category ORDER BY category"
        );
        move |db| {
            Box::pin(async move {
                let q = || sqlx::AssertSqlSafe(sql.clone());
                match db {
                    ansinh::store::Db::Sqlite(pool) => sqlx::query_as(q()).fetch_all(&pool).await,
                    ansinh::store::Db::Postgres(pool) => sqlx::query_as(q()).fetch_all(&pool).await,
                }
                .unwrap()
            })
        }
    });
    assert!(categories.len() > 2, "{categories:?}");
    for (category, people, amount) in &categories {
        let line = format!(
            "  {category:<32} {:>21} {:>37}\n",
            format!("{} → {}", group(*people), group(*people)),
            format!("{} → {}", group(*amount), group(amount * HANOI_LEVEL / NATIONAL_LEVEL))
        );
        assert!(report.contains(&line), "expected {line:?} in:\n{report}");
    }
    // People are named by the decision's payee and number, never by an ID number.
    let first = t.scalar(format!("SELECT MIN(beneficiary_id) FROM decisions WHERE run_id = {run} {owed}"));
    assert!(report.contains(&format!("    #{first:<8} ")), "{report}");
    let id_numbers = t.text("SELECT MIN(id_number) FROM beneficiaries");
    assert!(!report.contains(&id_numbers), "{report}");

    // A read: the decisions, the run and the payments are as they were.
    assert_eq!(all_decisions(&t), decisions_before);
    assert_eq!(state(&t), state_before);
    assert_eq!(state_before.2 + state_before.3, 0);

    // It is on record, and whoever approves the candidate's release is shown it.
    let log = stdout(&ok(t.cli().args(["audit", "log", "--run", &run])));
    assert!(log.contains("run.what_if"), "{log}");
    let key = t.path("hanoi.pem");
    t.key("author", "001", &key);
    let cases = support::workspace().join("plugins/hanoi-social-assistance/cases.yaml");
    let release = stdout(&ok(t.as_("author").args(["plugin", "upload"]).arg(&hanoi).arg("--cases").arg(&cases)));
    ok(t.as_("author").args(["plugin", "sign", release.trim(), "--key"]).arg(&key));
    let approved = stdout(&ok(t.as_("approver").args(["plugin", "approve", release.trim()])));
    let seen = format!("What-if over run:{run} (test-officer, ");
    assert!(approved.contains(&seen), "{approved}");
    let figures = format!(
        "{} gain (+{} VND a month), 0 lose (-0), 0 other outcome, 0 errors; owed {} → {} VND",
        group(gainers),
        group(gained),
        group(before),
        group(before + gained)
    );
    assert!(approved.contains(&figures), "expected {figures:?} in:\n{approved}");
    eprintln!(
        "{:?}: diff of {total} decisions in {:.1} s; the whole test in {:.1} s\n{report}",
        t.backend,
        diff_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

on_both_backends!(national_to_hanoi);

/// A national plug-in written by hand: it declares `program` and reads the
/// person fields `reads` (WIT enum indices); it never decides (the diff
/// refuses it before asking).
fn hand_written(program: &str, reads: &[u8]) -> Vec<u8> {
    let le = |n: u32| n.to_le_bytes().iter().map(|b| format!("\\{b:02x}")).collect::<String>();
    let reads_data: String = reads.iter().map(|b| format!("\\{b:02x}")).collect();
    // description: name@0, version@8, scope@16 (national), province option@20 (none),
    // programs@32, reads@40 (canonical ABI).
    let description = [le(0x100), le(4), le(0x110), le(5), le(0), le(0), le(0), le(0), le(0x160), le(1)].concat()
        + &le(0x170)
        + &le(reads.len() as u32);
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 0x1000))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (data (i32.const 0x100) "nosy")
  (data (i32.const 0x110) "0.1.0")
  (data (i32.const 0x120) "{program}")
  (data (i32.const 0x160) "{programs}")
  (data (i32.const 0x170) "{reads_data}")
  (data (i32.const 0x200) "{description}")
  (func (export "ansinh:rules/rules@0.1.0#describe") (result i32) (i32.const 0x200))
  (func (export "ansinh:rules/rules@0.1.0#evaluate") (param i32) (result i32) unreachable)
)"#,
        programs = le(0x120) + &le(program.len() as u32),
    );
    let wit = std::fs::read_to_string(support::workspace().join("sdk/wit/rules.wit")).unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_source("rules.wit", &wit).unwrap();
    let world = resolve.select_world(&[package], Some("rule-plugin")).unwrap();
    let mut module = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8).unwrap();
    wit_component::ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap()
}

fn refusals(t: Driver) {
    let run = evaluated_run(&t);
    let decisions_before = all_decisions(&t);
    let diff = |candidate: &Path| fails(t.cli().args(["run", "diff", &run, "--plugin"]).arg(candidate));

    // It reads the sex and the residence province, which the national plug-in
    // does not read: the stored inputs do not hold them.
    let nosy = t.path("nosy.wasm");
    std::fs::write(&nosy, hand_written("social-assistance", &[1, 2, 0])).unwrap();
    let said = diff(&nosy);
    assert!(
        said.contains(&format!(
            "the candidate nosy 0.1.0 reads sex, residence-province, which run {run}'s plug-in national-social-assistance"
        )) && said.contains("stored inputs do not hold it")
            && said.contains("evaluate it in a new run"),
        "{said}"
    );
    // Another programme's rules say nothing about this run.
    let pension = t.path("pension.wasm");
    std::fs::write(&pension, hand_written("social-pension", &[0])).unwrap();
    let said = diff(&pension);
    assert!(said.contains(&format!("serves social-pension, not run {run}'s programme social-assistance")), "{said}");
    // Not WebAssembly: the file is named, and what was expected.
    let text = t.path("rules.wasm");
    std::fs::write(&text, "eligible: yes\n").unwrap();
    let said = diff(&text);
    assert!(
        said.contains(&format!("loading the candidate plug-in {}", text.display()))
            && said.contains("not a WebAssembly file")
            && said.contains("expected the bytes 00 61 73 6d"),
        "{said}"
    );
    let said = diff(&t.path("missing.wasm"));
    assert!(said.contains("missing.wasm"), "{said}");
    // A run not evaluated yet has nothing to compare.
    let fresh = t.create_run("2026-02");
    let said = fails(t.cli().args(["run", "diff", &fresh, "--plugin"]).arg(plugin("plugins/hanoi-social-assistance")));
    assert!(said.contains(&format!("`ansinh run evaluate {fresh}`")), "{said}");
    assert_eq!(all_decisions(&t), decisions_before);
}

on_both_backends!(refusals);
