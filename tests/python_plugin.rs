//! The Python twin of the national plug-in (`plugins/national-social-assistance-py`), built from
//! source with componentize-py (pinned in `tests/requirements.txt`, installed into
//! `target/pydeps` by `.ci/run`): it imports nothing, passes the national cases through the real
//! host, and decides every case as the Rust plug-in does.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, ansinh, national_plugin, ok, stdout, text, workspace};

/// The plug-in's folder and the cases it shares with its Rust twin.
const PLUGIN_DIR: &str = "plugins/national-social-assistance-py";
const CASES: &str = "plugins/national-social-assistance/cases.yaml";

/// componentize-py's command line, without the `bin/` script that pip writes with the absolute
/// path of the installing interpreter.
const ENTRY_POINT: &str =
    "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())";

/// `componentize-py` from `target/pydeps`, at the version pinned in `tests/requirements.txt`.
/// Missing, it fails the test (never a skip) and says how to install it.
fn componentize_py() -> Command {
    let pydeps = support::xsd::pinned_python_deps()
        .unwrap_or_else(|e| panic!("{e:#}\nRun `.ci/run` to install the Python test tools into target/pydeps."));
    let pinned = include_str!("requirements.txt")
        .lines()
        .find_map(|line| line.trim().strip_prefix("componentize-py=="))
        .expect("tests/requirements.txt pins componentize-py");
    let out = support::xsd::python_in(&pydeps).args(["-c", ENTRY_POINT, "--version"]).output().expect("run python3");
    let said = text(&out);
    assert!(
        out.status.success() && said.trim() == format!("componentize-py {pinned}"),
        "componentize-py {pinned} is not usable from {}: run `.ci/run`, which installs tests/requirements.txt \
         there.\n{said}",
        pydeps.display()
    );
    let mut cmd = support::xsd::python_in(&pydeps);
    cmd.args(["-c", ENTRY_POINT]);
    cmd
}

/// Build the component from the plug-in's source, in `dir`: the README's command.
fn build_python_plugin(dir: &Path) -> PathBuf {
    // A copy of the source, so that the build leaves nothing (__pycache__) in the work tree.
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::copy(workspace().join(PLUGIN_DIR).join("app.py"), src.join("app.py")).unwrap();
    let wasm = dir.join("national-social-assistance-py.wasm");
    let out = componentize_py()
        .current_dir(&src)
        .arg("-d")
        .arg(workspace().join("sdk/wit"))
        .args(["-w", "rule-plugin", "componentize", "--stub-wasi", "app", "-p"])
        .arg(&src)
        .arg("-o")
        .arg(&wasm)
        .output()
        .expect("run componentize-py");
    assert!(out.status.success(), "componentize-py failed ({}):\n{}", out.status, text(&out));
    assert!(wasm.is_file(), "componentize-py wrote no {}", wasm.display());
    wasm
}

/// The names a component imports and exports, read from its bytes (nothing compiled or run).
fn world_of(wasm: &Path) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(wasm).unwrap();
    match wit_component::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e:#}", wasm.display())) {
        wit_component::DecodedWasm::Component(resolve, world) => {
            let world = &resolve.worlds[world];
            let imports = world.imports.keys().map(|k| resolve.name_world_key(k)).collect();
            let exports = world.exports.keys().map(|k| resolve.name_world_key(k)).collect();
            (imports, exports)
        }
        _ => panic!("{} is a WIT package, not a component", wasm.display()),
    }
}

/// Each case of an `ansinh plugin test --explain` output: its name, the verdict line
/// (eligible, amount, category; or the reasons) and the fuel it used.
fn verdicts(out: &str) -> Vec<(String, String, u64)> {
    let mut cases = Vec::new();
    let mut lines = out.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("ok    ").or_else(|| line.strip_prefix("FAIL  ")) else { continue };
        let (name, tail) = rest.rsplit_once("  (").expect("a case line ends with its fuel");
        let fuel = tail.rsplit_once("fuel ").and_then(|(_, f)| f.trim_end_matches(')').parse().ok()).expect("fuel");
        let verdict = lines
            .next()
            .and_then(|l| l.trim_start().strip_prefix("→ "))
            .unwrap_or_else(|| panic!("no verdict after {line:?}"));
        cases.push((name.to_owned(), verdict.to_owned(), fuel));
    }
    cases
}

fn min_median_max(cases: &[(String, String, u64)]) -> (u64, u64, u64) {
    let mut fuel: Vec<u64> = cases.iter().map(|c| c.2).collect();
    fuel.sort_unstable();
    (fuel[0], fuel[fuel.len() / 2], fuel[fuel.len() - 1])
}

#[test]
fn python_twin_imports_nothing_and_decides_every_case_as_the_rust_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let python = build_python_plugin(dir.path());
    // A new build has new bytes (its snapshot holds seeds drawn at build time), so its compiled
    // code is kept with it in the temporary folder, not in the shared test cache.
    let cache = dir.path().join("compiled");
    let host = || {
        let mut cmd = ansinh();
        cmd.env("ANSINH_CACHE_DIR", &cache);
        cmd
    };

    // No WASI (--stub-wasi), nothing at all: no clock, randomness or I/O.
    let (imports, exports) = world_of(&python);
    assert_eq!(imports, Vec::<String>::new(), "a rule plug-in imports nothing");
    assert!(exports.iter().any(|e| e == "ansinh:rules/rules@0.1.0"), "{exports:?}");
    // And the host, which refuses any import at load, loads it.
    let inspected = stdout(&ok(host().args(["plugin", "inspect"]).arg(&python)));
    assert!(inspected.starts_with("national-social-assistance-py 0.1.0\n"), "{inspected}");
    assert!(inspected.contains("  contract  ansinh:rules/rules@0.1.0\n"), "{inspected}");
    assert!(inspected.contains("  scope     national\n"), "{inspected}");
    assert!(inspected.contains("  programs  social-assistance\n"), "{inspected}");
    // Least data, as its twin: the same fields, no sex, no residence.
    let reads = |out: &str| out.lines().find_map(|l| l.strip_prefix("  reads     ")).map(str::to_owned);
    let rust_inspected = stdout(&ok(ansinh().args(["plugin", "inspect"]).arg(national_plugin())));
    assert_eq!(reads(&inspected), reads(&rust_inspected), "{inspected}");

    // Decree 20/2021/ND-CP as amended by Decree 76/2024/ND-CP: every national case passes.
    let cases = workspace().join(CASES);
    let count = match serde_yaml_ng::from_str(&std::fs::read_to_string(&cases).unwrap()).unwrap() {
        serde_yaml_ng::Value::Sequence(all) => all.len(),
        other => panic!("{CASES} is not a list: {other:?}"),
    };
    assert!(count >= 25, "{CASES} has only {count} cases");
    let out = stdout(&ok(host().args(["plugin", "test", "--explain", "--plugin"]).arg(&python).arg(&cases)));
    assert_eq!(out.lines().last(), Some(format!("{count} passed, 0 failed").as_str()), "{out}");
    let citations: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with('[')).collect();
    assert!(
        citations.iter().all(|c| c.contains("Decree") || c.contains("Decision") || c.contains("platform")),
        "every explanation line cites its basis:\n{out}"
    );
    assert!(out.contains("vi: Tuổi tính đến ngày 01/09/2024: "), "{out}");

    // The twins agree case by case: eligible, amount and category (or the reasons).
    let rust_out =
        stdout(&ok(ansinh().args(["plugin", "test", "--explain", "--plugin"]).arg(national_plugin()).arg(&cases)));
    let (py, rs) = (verdicts(&out), verdicts(&rust_out));
    assert_eq!(py.len(), count);
    assert_eq!(rs.len(), count);
    for (p, r) in py.iter().zip(&rs) {
        assert_eq!((&p.0, &p.1), (&r.0, &r.1), "the Python and Rust plug-ins differ on this case");
    }
    let ((pmin, pmed, pmax), (rmin, rmed, rmax)) = (min_median_max(&py), min_median_max(&rs));
    println!("fuel per decision, min/median/max: Python {pmin}/{pmed}/{pmax}, Rust {rmin}/{rmed}/{rmax}");
}
