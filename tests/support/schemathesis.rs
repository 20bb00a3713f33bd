//! schemathesis (PyPI), at the versions pinned in `tests/schemathesis/requirements.txt`
//! (every package of it, so that every machine checks with the same code), in a virtual
//! environment of its own under the target directory. Installed the first time a test
//! needs it (and by `.ci/run`, the same way): into a folder of its own, then moved into
//! place, so that tests that find it missing at once never see half an install.

use std::path::PathBuf;
use std::process::Command;

/// The pins, and the marker that says an environment holds exactly them.
const REQUIREMENTS: &str = include_str!("../schemathesis/requirements.txt");
const MARKER: &str = ".ansinh-requirements";

/// schemathesis's command line (`st`) from the pinned environment, installed if need be.
pub fn st() -> Command {
    let target = super::xsd::target_dir().expect("the target directory");
    let venv = target.join("schemathesis");
    let installed = |venv: &PathBuf| std::fs::read_to_string(venv.join(MARKER)).is_ok_and(|pins| pins == REQUIREMENTS);
    if !installed(&venv) {
        std::fs::create_dir_all(&target).unwrap();
        let staging = tempfile::tempdir_in(&target).unwrap();
        let run = |cmd: &mut Command, what: &str| {
            let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e} (python3 with venv and pip is needed)"));
            assert!(
                out.status.success(),
                "{what} failed; run it by hand to see why:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let env = staging.path().join("venv");
        run(Command::new("python3").args(["-m", "venv"]).arg(&env), "python3 -m venv");
        let pins = staging.path().join("requirements.txt");
        std::fs::write(&pins, REQUIREMENTS).unwrap();
        run(
            Command::new(env.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "--no-input", "--only-binary=:all:"])
                .arg("-r")
                .arg(&pins),
            "pip install -r tests/schemathesis/requirements.txt",
        );
        std::fs::write(env.join(MARKER), REQUIREMENTS).unwrap();
        // The first to finish moves theirs in; the others' are dropped with their folders.
        // A venv's scripts name the path it was made at, so it is run as `python -m`.
        let _ = std::fs::rename(&env, &venv);
        assert!(installed(&venv), "no schemathesis in {}", venv.display());
    }
    let mut st = Command::new(venv.join("bin/python"));
    st.args(["-m", "schemathesis.cli"]);
    st
}
