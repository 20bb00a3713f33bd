//! `ansinh plugin build DIR`: compile a plug-in crate to `wasm32-unknown-unknown`
//! and turn the core module into a component with `wit-component`.
//!
//! The build sets what makes fresh instances cheap (a 64 KiB guest stack, so the
//! initial memory is small) and what makes the bytes reproducible (release
//! profile with LTO, source paths remapped), so the author need not.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

const TARGET: &str = "wasm32-unknown-unknown";

/// The guest's stack. Rust's default is 1 MiB, which every fresh instance would
/// have to map; rule code needs far less. Deep recursion traps cleanly.
const GUEST_STACK: u32 = 64 << 10;

/// Build the plug-in crate in `dir`; returns the path of the component.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{} has no Cargo.toml: give the folder of a plug-in crate (see `ansinh plugin build --help`)",
            dir.display()
        );
    }
    let meta = metadata(&manifest)?;
    ensure_target()?;
    let target_dir = meta.target_directory.join("plugins");
    let status = Command::new(cargo())
        .arg("rustc")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--lib", "--crate-type", "cdylib", "--release", "--target", TARGET])
        .args(["--config", "profile.release.lto=true"])
        .args(["--config", "profile.release.codegen-units=1"])
        .args(["--config", "profile.release.debug=0"])
        .args(["--config", "profile.release.strip=true"])
        .args(["--config", &format!("target.{TARGET}.rustflags={}", remap_flags(&meta.workspace_root))])
        .env("CARGO_TARGET_DIR", &target_dir)
        .arg("--")
        .arg(format!("-Clink-arg=-zstack-size={GUEST_STACK}"))
        .status()
        .context("running cargo to build the plug-in")?;
    if !status.success() {
        bail!("cargo could not build the plug-in in {} (see its messages above)", dir.display());
    }
    let lib_name = meta.package_name.replace('-', "_");
    let module_path = target_dir.join(TARGET).join("release").join(format!("{lib_name}.wasm"));
    let module = std::fs::read(&module_path).with_context(|| format!("reading {}", module_path.display()))?;
    let component =
        componentize(&module).with_context(|| format!("making a component of {}", module_path.display()))?;
    let out = target_dir.join(format!("{}.wasm", meta.package_name));
    write_atomically(&out, &component).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}

/// Write through a temporary file and a rename, so that a reader (another
/// build, a running test) sees the old component or the new one, never half.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Wrap a core module built with the SDK (it carries its WIT world in a custom
/// section) into a component.
pub fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    wit_component::ComponentEncoder::default().module(module)?.validate(true).encode()
}

struct Meta {
    package_name: String,
    target_directory: PathBuf,
    workspace_root: PathBuf,
}

fn metadata(manifest: &Path) -> anyhow::Result<Meta> {
    #[derive(Deserialize)]
    struct Metadata {
        packages: Vec<Package>,
        target_directory: PathBuf,
        workspace_root: PathBuf,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
        manifest_path: PathBuf,
    }
    let output = Command::new(cargo())
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .output()
        .context("running `cargo metadata`: is cargo installed?")?;
    if !output.status.success() {
        bail!("cargo metadata failed for {}: {}", manifest.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    let meta: Metadata = serde_json::from_slice(&output.stdout).context("reading `cargo metadata` output")?;
    let manifest = manifest.canonicalize()?;
    let package = meta
        .packages
        .into_iter()
        .find(|p| p.manifest_path == manifest)
        .with_context(|| format!("{} is not a package manifest", manifest.display()))?;
    Ok(Meta {
        package_name: package.name,
        target_directory: meta.target_directory,
        workspace_root: meta.workspace_root,
    })
}

/// Install the wasm target with rustup when it is missing.
fn ensure_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET) => Ok(()),
        Ok(_) => {
            eprintln!("ansinh: adding the Rust target {TARGET} (once)");
            let status = Command::new("rustup").args(["target", "add", TARGET]).status()?;
            if !status.success() {
                bail!("`rustup target add {TARGET}` failed; install the target and build again");
            }
            Ok(())
        }
        // Without rustup, the toolchain may still have the target; cargo will say if not.
        Err(_) => Ok(()),
    }
}

/// Strip machine-specific paths from the plug-in (panic locations), so the same
/// source builds the same bytes in another checkout.
fn remap_flags(workspace_root: &Path) -> String {
    let mut flags = vec![format!("--remap-path-prefix={}=/plugin", workspace_root.display())];
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    serde_json::to_string(&flags).expect("strings serialise")
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
