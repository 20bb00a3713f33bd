//! The README's "Authoring a rule plug-in" section, run as written by a new
//! user: in a fresh copy of the checkout, its shell blocks in one bash session,
//! its Rust and YAML blocks applied where it says. If the README drifts from
//! what the commands do, this fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, Backend, Driver, TestDb, text, workspace};

const SECTION: &str = "## Authoring a rule plug-in";

/// The fenced blocks of the README's authoring section, in order: (language, text).
fn blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let start = readme.find(SECTION).expect("the README has an authoring section");
    let section = &readme[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut out = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            out.push((language.to_owned(), body.join("\n") + "\n"));
        }
    }
    out
}

/// A fresh checkout in `dir`: the workspace manifest and lock, the SDK and the
/// national plug-ins a new crate reuses (linked, not copied), an empty target.
fn checkout(dir: &Path) {
    let ws = workspace();
    let root = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    let shared = &root[root.find("[workspace.package]").expect("workspace.package")..];
    let manifest = format!("[workspace]\nresolver = \"3\"\nmembers = [\"sdk\", \"plugins/*\"]\n\n{shared}");
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(ws.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir(dir.join("plugins")).unwrap();
    std::os::unix::fs::symlink(ws.join("sdk"), dir.join("sdk")).unwrap();
    for reused in ["national-social-assistance", "social-pension"] {
        std::os::unix::fs::symlink(ws.join("plugins").join(reused), dir.join("plugins").join(reused)).unwrap();
    }
}

/// The section as one bash script: shell blocks as they are; the Rust line
/// inserted into the new crate's `LEVELS`, the YAML case appended to its cases.
fn script(dir: &Path, crate_name: &str) -> String {
    let mut script = String::from("set -euo pipefail\n");
    let lib = format!("plugins/{crate_name}/src/lib.rs");
    let cases = format!("plugins/{crate_name}/cases.yaml");
    for (index, (language, body)) in blocks().into_iter().enumerate() {
        match language.as_str() {
            "sh" => script.push_str(&body),
            "rust" => {
                let snippet = dir.join(format!("snippet-{index}.rs"));
                std::fs::write(&snippet, body).unwrap();
                script.push_str(&format!("sed -i '/STANDARD_LEVELS\\[1\\],/r {}' {lib}\n", snippet.display()));
            }
            "yaml" => {
                let snippet = dir.join(format!("snippet-{index}.yaml"));
                std::fs::write(&snippet, format!("\n{body}")).unwrap();
                script.push_str(&format!("cat {} >> {cases}\n", snippet.display()));
            }
            other => panic!("a block in {other:?} in the authoring section: the test does not know how to run it"),
        }
    }
    script
}

#[test]
fn the_readme_authoring_section_works_as_written() {
    let dir = tempfile::tempdir().unwrap();
    checkout(dir.path());
    let all = blocks();
    let first = &all.iter().find(|(l, _)| l == "sh").expect("a shell block").1;
    let crate_name = first
        .split_whitespace()
        .skip_while(|w| *w != "new")
        .nth(1)
        .expect("the first block starts with `ansinh plugin new NAME`")
        .to_owned();

    // `ansinh` on PATH is the binary under test.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ansinh"), bin.join("ansinh")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());

    let mut bash = Command::new("bash");
    bash.arg("-c").arg(script(dir.path(), &crate_name)).current_dir(dir.path()).env("PATH", path);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ANSINH_") {
            bash.env_remove(key);
        }
    }
    bash.env("ANSINH_CACHE_DIR", workspace().join("target/test-cache"));
    let out = bash.output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "the README's authoring section failed:\n{said}");

    // The starter crate passed its own cases, then the edited one its four.
    assert!(said.contains("3 passed, 0 failed"), "{said}");
    assert!(said.contains("4 passed, 0 failed"), "{said}");
    assert!(
        said.contains("Resolution 99/2025/NQ-HDND of Quang Ninh (example)"),
        "--explain shows the citation:\n{said}"
    );
    assert!(said.contains("  scope     province 022 Quảng Ninh"), "{said}");
    assert!(said.contains("is in force from 2026-01"), "{said}");

    // Run 1 is the demo's (national rules); run 2 the one the README made, by
    // the province's release: the same people at 600,000 instead of 500,000.
    let db: PathBuf = dir.path().join("demo-022/ansinh.db");
    let url = db.display().to_string();
    let t = Driver::on(Backend::Sqlite, TestDb::sqlite_file(&url), dir);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM runs"), 2);
    assert_eq!(
        t.scalar(
            "SELECT COUNT(*) FROM runs r JOIN releases l ON l.id = r.release_id WHERE r.id = 2 AND l.authority = '022'"
        ),
        1
    );
    let national = t.scalar("SELECT SUM(amount) FROM decisions WHERE run_id = 1");
    let province = t.scalar("SELECT SUM(amount) FROM decisions WHERE run_id = 2");
    assert!(national > 0);
    assert_eq!(province * 5, national * 6, "every amount scales with the level: 600,000 / 500,000");
}

/// `plugin new --program social-pension` too builds and passes its starter
/// cases (Decree 176/2025/ND-CP, the higher of it and social assistance).
#[test]
fn a_new_social_pension_plugin_passes_its_starter_cases() {
    let dir = tempfile::tempdir().unwrap();
    checkout(dir.path());
    let ansinh = || {
        let mut cmd = support::ansinh();
        cmd.current_dir(dir.path());
        cmd
    };
    let made =
        support::ok(ansinh().args(["plugin", "new", "qn-pension", "--province", "022", "--program", "social-pension"]));
    assert!(support::stdout(&made).trim().ends_with("plugins/qn-pension"));
    let built = support::stdout(&support::ok(ansinh().args(["plugin", "build", "plugins/qn-pension"])));
    let wasm = built.lines().last().unwrap().trim().to_owned();
    let tested = support::stdout(&support::ok(ansinh().args([
        "plugin",
        "test",
        "--plugin",
        &wasm,
        "plugins/qn-pension/cases.yaml",
    ])));
    assert!(tested.ends_with("3 passed, 0 failed\n"), "{tested}");
    // A second crate of the same name is refused, and nothing is overwritten.
    let said = support::fails(ansinh().args([
        "plugin",
        "new",
        "qn-pension",
        "--province",
        "022",
        "--program",
        "social-pension",
    ]));
    assert!(said.contains("already exists: choose another name"), "{said}");
}
