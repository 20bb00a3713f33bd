//! Determinism of the national plug-in over a few hundred varied people: the
//! same canonical output JSON and the same fuel whatever order instances are
//! made and reused in (forward, reversed, interleaved, from two threads), in a
//! second engine, and in two processes of the real binary.
//!
//! `tests/sandbox.rs` checks three people in one process and the YAML cases
//! across two processes; this widens both to a varied population, compares the
//! binary's fuel with the in-process fuel case by case, and adds concurrent
//! reuse of the instance pool.

use std::path::Path;

use crate::support::{ansinh, national_plugin, ok, stdout};
use ansinh::authoring::cases::{self, Case};
use ansinh_sandbox::{Limits, Plugin, Sandbox};

const PERIODS: [&str; 6] = ["2021-07", "2022-01", "2024-06", "2024-07", "2025-09", "2026-01"];

/// The demo's synthetic population as YAML cases (formats.md), varied further:
/// six paid months, some not verified, some deceased. `expect` is a
/// placeholder until [`with_expectations`] fills it in.
fn case_yaml(people: u64) -> String {
    let spec = ansinh::synthetic::Spec {
        seed: 20_261_125,
        people,
        province: "001".into(),
        period: "2024-09".parse().unwrap(),
    };
    let (mut registry, mut enrolment) = (Vec::new(), Vec::new());
    ansinh::synthetic::generate(&spec, &mut registry, &mut enrolment).unwrap();
    let mut reader = csv::Reader::from_reader(enrolment.as_slice());
    let headers = reader.headers().unwrap().clone();
    let mut yaml = String::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.unwrap();
        let get = |name: &str| row.get(headers.iter().position(|h| h == name).expect("column")).unwrap_or("");
        let statuses = get("statuses").split(';').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ");
        let death = if i % 17 == 5 { ", death_date: 2024-03-02" } else { "" };
        yaml.push_str(&format!(
            "- name: person {i}\n  period: {period}\n  program: social-assistance\n  province: \"001\"\n  \
             verified: {verified}\n  person: {{ birth_date: {birth}, sex: {sex}, residence_province: \"001\", \
             household: {household}, disability: {disability}, has_pension: {pension}, difficult_commune: {commune}, \
             statuses: [{statuses}], dependent_children: {children}{death} }}\n  \
             expect: {{ eligible: false, amount: 0 }}\n",
            period = PERIODS[i % PERIODS.len()],
            verified = i % 11 != 3,
            birth = get("birth_date"),
            sex = if i % 2 == 0 { "female" } else { "male" },
            household = get("household"),
            disability = get("disability"),
            pension = get("has_pension"),
            commune = get("difficult_commune"),
            children = get("dependent_children"),
        ));
    }
    yaml
}

/// The decision of each case, and its fuel: (canonical JSON or error, fuel).
type Decided = Vec<(Result<String, String>, u64)>;

fn decide_in_order(plugin: &Plugin, cases: &[Case], order: &[usize]) -> Decided {
    let mut out = vec![None; cases.len()];
    for &i in order {
        let c = &cases[i];
        let e = plugin.evaluate(&plugin.input(c.period, &c.program, &c.province, c.verified, &c.person.facts()));
        out[i] = Some((e.result.map(|o| o.json).map_err(|e| e.to_string()), e.fuel));
    }
    out.into_iter().map(|d| d.expect("every case decided")).collect()
}

/// The cases again, expecting what the plug-in decided, so `plugin test` passes.
fn with_expectations(yaml: &str, decided: &Decided) -> String {
    let mut out = String::new();
    let mut i = 0;
    for line in yaml.lines() {
        if line.starts_with("  expect:") {
            let json = decided[i].0.as_ref().expect("the national plug-in decides every case");
            let d: ansinh_sandbox::DecisionOutput = serde_json::from_str(json).unwrap();
            let category = d.category.map(|c| format!(", category: {c}")).unwrap_or_default();
            out.push_str(&format!("  expect: {{ eligible: {}, amount: {}{category} }}\n", d.eligible, d.amount));
            i += 1;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `(name, fuel)` of each `ok` line of `plugin test`.
fn fuel_lines(out: &str) -> Vec<(String, u64)> {
    out.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("ok    ")?;
            let (name, fuel) = rest.rsplit_once("  (fuel ")?;
            Some((name.to_owned(), fuel.trim_end_matches(')').parse().unwrap()))
        })
        .collect()
}

#[test]
fn national_plugin_is_deterministic_over_a_varied_population() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("population.yaml");
    std::fs::write(&file, case_yaml(320)).unwrap();
    let cases = cases::load(&file).unwrap();
    assert!(cases.len() >= 250, "{} cases", cases.len()); // not everyone generated is enrolled
    let bytes = std::fs::read(national_plugin()).unwrap();

    let first = Sandbox::new(Limits::default(), None).unwrap();
    let plugin = first.load(&bytes).unwrap();
    let n = cases.len();
    let forward: Vec<usize> = (0..n).collect();
    let once = decide_in_order(&plugin, &cases, &forward);
    // A population worth the name: payable, not eligible for several reasons, several amounts.
    let eligible = once.iter().filter(|(r, _)| r.as_ref().is_ok_and(|j| j.contains("\"eligible\":true"))).count();
    assert!(eligible > 20 && eligible < n - 20, "{eligible} of {n} eligible");
    let fuels: std::collections::BTreeSet<u64> = once.iter().map(|(_, f)| *f).collect();
    assert!(fuels.len() > 10, "fuel should vary with the input: {fuels:?}");

    let reversed: Vec<usize> = (0..n).rev().collect();
    let interleaved: Vec<usize> = (0..n).step_by(2).chain((1..n).step_by(2)).collect();
    let shuffled: Vec<usize> =
        (0..n).rev().step_by(3).chain((0..n).rev().skip(1).step_by(3)).chain((0..n).rev().skip(2).step_by(3)).collect();
    for (name, order) in [("forward", &forward), ("reversed", &reversed), ("interleaved", &interleaved)] {
        assert!(decide_in_order(&plugin, &cases, order) == once, "{name} order in the same engine differs");
    }
    // Two threads taking instances from the pool at once.
    let halves = std::thread::scope(|s| {
        let a = s.spawn(|| decide_in_order(&plugin, &cases, &forward));
        let b = s.spawn(|| decide_in_order(&plugin, &cases, &reversed));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(halves.0 == once && halves.1 == once, "concurrent decisions differ");
    // A second engine, with its own pool and compilation.
    let second = Sandbox::new(Limits::default(), None).unwrap();
    assert!(decide_in_order(&second.load(&bytes).unwrap(), &cases, &shuffled) == once, "a second engine differs");

    // Two processes of the real binary: the same lines, and the fuel of each
    // case is the fuel decided in this process.
    let expected = dir.path().join("expected.yaml");
    std::fs::write(&expected, with_expectations(&std::fs::read_to_string(&file).unwrap(), &once)).unwrap();
    let run = |cases: &Path| {
        let out =
            stdout(&ok(ansinh().args(["plugin", "test", "--explain", "--plugin"]).arg(national_plugin()).arg(cases)));
        // The summary may end with the time a decision took, which no one can fix.
        out.lines().map(|l| l.split("; time per decision").next().unwrap().to_owned() + "\n").collect::<String>()
    };
    let (a, b) = (run(&expected), run(&expected));
    assert_eq!(a, b, "two processes said different things");
    assert!(a.ends_with(&format!("{n} passed, 0 failed\n")), "{a}");
    let binary: Vec<(String, u64)> = fuel_lines(&a);
    let here: Vec<(String, u64)> = cases.iter().zip(&once).map(|(c, (_, fuel))| (c.name.clone(), *fuel)).collect();
    assert_eq!(binary, here, "the binary's fuel differs from this process's");
    // The explanations printed are those of the canonical JSON.
    for (_, (json, _)) in cases.iter().zip(&once) {
        let d: ansinh_sandbox::DecisionOutput = serde_json::from_str(json.as_ref().unwrap()).unwrap();
        for line in &d.explanation {
            assert!(a.contains(&format!("          vi: {}\n", line.vi)), "{}", line.vi);
        }
    }
}
