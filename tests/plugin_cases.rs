//! `ansinh plugin test`: the national plug-in's own cases pass through the real
//! sandbox, and a failing case makes the command fail, naming the case.

use crate::support::{self, ansinh, fails, national_plugin, ok, stdout, workspace};

#[test]
fn national_plugin_passes_its_cases() {
    // Decree 20/2021/ND-CP as amended by Decree 76/2024/ND-CP: the cases beside
    // the plug-in encode the law's table, levels and boundaries.
    let cases = workspace().join("plugins/national-social-assistance/cases.yaml");
    let out = stdout(&ok(ansinh().args(["plugin", "test", "--plugin"]).arg(national_plugin()).arg(&cases)));
    let last = out.lines().last().unwrap();
    let passed: u32 = last.split_whitespace().next().unwrap().parse().unwrap();
    assert!(passed >= 25, "the issue asks for at least 25 cases: {last}");
    assert_eq!(last, format!("{passed} passed, 0 failed"));
    assert!(out.lines().filter(|l| l.starts_with("ok ")).all(|l| l.contains("(fuel ")), "{out}");
}

#[test]
fn a_failing_case_fails_the_command_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wrong.yaml");
    std::fs::write(
        &file,
        r#"
- name: aged 80 without pension, 2024-09 (right)
  period: 2024-09
  program: social-assistance
  province: "001"
  verified: true
  person: { birth_date: 1940-05-12, sex: female, residence_province: "001" }
  expect: { eligible: true, amount: 500000, category: elderly_80_no_pension }
- name: aged 80 without pension, with the old level (wrong on purpose)
  period: 2024-09
  program: social-assistance
  province: "001"
  verified: true
  person: { birth_date: 1940-05-12, sex: female, residence_province: "001" }
  expect: { eligible: true, amount: 360000 }
"#,
    )
    .unwrap();
    let said = fails(ansinh().args(["plugin", "test", "--plugin"]).arg(national_plugin()).arg(&file));
    assert!(said.contains("ok    aged 80 without pension, 2024-09 (right)"), "{said}");
    assert!(said.contains("FAIL  aged 80 without pension, with the old level (wrong on purpose)"), "{said}");
    assert!(said.contains("wrong.yaml, case 2"), "{said}");
    assert!(said.contains("360000") && said.contains("500000"), "{said}");
    assert!(said.contains("1 passed, 1 failed"), "{said}");
}

#[test]
fn a_malformed_case_file_is_named_with_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("malformed.yaml");
    std::fs::write(&file, "- name: no period\n  program: social-assistance\n").unwrap();
    let said = fails(ansinh().args(["plugin", "test", "--plugin"]).arg(national_plugin()).arg(&file));
    assert!(said.contains("malformed.yaml"), "{said}");
    assert!(said.contains("period"), "{said}");
}

#[test]
fn inspect_shows_what_the_plugin_is_and_reads() {
    let path = national_plugin();
    let bytes = std::fs::read(&path).unwrap();
    let out = stdout(&ok(ansinh().args(["plugin", "inspect"]).arg(&path)));
    assert!(out.starts_with("national-social-assistance 0.1.0\n"), "{out}");
    assert!(out.contains("  contract  ansinh:rules/rules@0.1.0\n"), "{out}");
    assert!(out.contains("  scope     national\n"), "{out}");
    assert!(out.contains("  programs  social-assistance\n"), "{out}");
    // Least data: the national rules read no residence, sex or name.
    let reads = out.lines().find_map(|l| l.strip_prefix("  reads     ")).expect("a reads line");
    assert!(reads.contains("birth-date") && reads.contains("household"), "{reads}");
    assert!(!reads.contains("sex") && !reads.contains("residence"), "{reads}");
    assert!(out.contains(&format!("  sha256    {}\n", ansinh_sandbox::PluginHash::of(&bytes))), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"not wasm at all").unwrap();
    let said = fails(ansinh().args(["plugin", "inspect"]).arg(&bogus));
    assert!(said.contains("bogus.wasm") && said.contains("not a WebAssembly file"), "{said}");
}

#[test]
fn explain_shows_each_decision_with_its_legal_basis() {
    let cases = workspace().join("plugins/national-social-assistance/cases.yaml");
    let out =
        stdout(&ok(ansinh().args(["plugin", "test", "--explain", "--plugin"]).arg(national_plugin()).arg(&cases)));
    // Every case is followed by its verdict, and every explanation line cites its basis.
    let verdicts = out.lines().filter(|l| l.trim_start().starts_with("→ ")).count();
    let cases_run = out.lines().filter(|l| l.starts_with("ok ") || l.starts_with("FAIL ")).count();
    assert_eq!(verdicts, cases_run, "{out}");
    assert!(out.contains("→ eligible, 500,000 VND, elderly_80_no_pension"), "{out}");
    assert!(out.contains("vi: Tuổi tính đến ngày 01/09/2024: "), "{out}");
    let citations: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with('[')).collect();
    assert!(!citations.is_empty());
    assert!(
        citations.iter().all(|c| c.contains("Decree") || c.contains("Decision") || c.contains("platform")),
        "{out}"
    );
}

/// A province plug-in passes its own cases and says which province it serves.
fn province_plugin_passes_its_cases(dir: &str, scope: &str) -> std::path::PathBuf {
    let plugin = support::plugin(dir);
    let cases = workspace().join(dir).join("cases.yaml");
    let out = stdout(&ok(ansinh().args(["plugin", "test", "--plugin"]).arg(&plugin).arg(&cases)));
    assert!(out.ends_with(" passed, 0 failed\n"), "{out}");
    let inspected = stdout(&ok(ansinh().args(["plugin", "inspect"]).arg(&plugin)));
    assert!(inspected.contains(&format!("  scope     {scope}\n")), "{inspected}");
    plugin
}

#[test]
fn hanoi_plugin_reuses_the_national_rules_at_the_city_level() {
    // Resolution 63/2025/NQ-HDND of Ha Noi: 650,000 from 2026-01; the rest is Decree 20/2021/ND-CP.
    // That it is never chosen for another province's run: tests/releases.rs.
    province_plugin_passes_its_cases("plugins/hanoi-social-assistance", "province 001 Hà Nội");
}

#[test]
fn haiphong_plugin_pays_former_hai_duong_residents_at_their_level() {
    // Hai Phong 700,000 from 2026-01; Resolution 07/NQ-HDND of Hai Duong 550,000 from 2024-08
    // until the merger of 2025-07-01; Decree 20/2021/ND-CP for the rest.
    let plugin = province_plugin_passes_its_cases("plugins/haiphong-social-assistance", "province 031 Hải Phòng");
    // It reads the residence (to pick the level), which the national rules do not.
    let inspected = stdout(&ok(ansinh().args(["plugin", "inspect"]).arg(&plugin)));
    assert!(inspected.contains("residence-province"), "{inspected}");
}

#[test]
fn social_pension_plugin_pays_only_when_social_assistance_pays_less() {
    // Decree 176/2025/ND-CP from 2025-07; the higher of it and social assistance
    // (Decree 20/2021/ND-CP, the national rules linked as a library), not both.
    let plugin = support::plugin("plugins/social-pension");
    let cases = workspace().join("plugins/social-pension/cases.yaml");
    let out = stdout(&ok(ansinh().args(["plugin", "test", "--plugin"]).arg(&plugin).arg(&cases)));
    let last = out.lines().last().unwrap();
    let passed: u32 = last.split_whitespace().next().unwrap().parse().unwrap();
    assert!(passed >= 20, "the issue asks for at least 20 cases: {last}");
    assert_eq!(last, format!("{passed} passed, 0 failed"));
    let inspected = stdout(&ok(ansinh().args(["plugin", "inspect"]).arg(&plugin)));
    assert!(inspected.contains("  scope     national\n"), "{inspected}");
    assert!(inspected.contains("  programs  social-pension\n"), "{inspected}");

    // The comparison is explained with both amounts and the category, in both languages.
    let out = stdout(&ok(ansinh().args(["plugin", "test", "--explain", "--plugin"]).arg(&plugin).arg(&cases)));
    assert!(out.contains("→ not eligible (paid_by_social_assistance)"), "{out}");
    assert!(out.contains("1,000,000 VND, above the social pension of 500,000 VND"), "{out}");
    assert!(out.contains("1.000.000 đồng, cao hơn mức trợ cấp hưu trí xã hội 500.000 đồng"), "{out}");
    assert!(out.contains("equal to the social pension of 500,000 VND"), "{out}");
    assert!(out.contains("→ eligible, 500,000 VND, social_pension_75"), "{out}");
}
