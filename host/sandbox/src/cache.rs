//! Compiled plug-ins on disk, by content hash and engine settings, so that a
//! process does not compile again what an earlier one compiled.
//!
//! Architecture invariant: what is in the cache is machine code that runs in
//! this process without the plug-in's signature being checked again, so the
//! directory and each file must be this user's alone; anything else is not used.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::plugin::PluginHash;

/// A directory of compiled plug-ins, or none (compile every time).
pub(crate) struct DiskCache {
    dir: Option<PathBuf>,
}

impl DiskCache {
    /// Use `dir`, made owner-only if need be; with none, or one that cannot be
    /// made the user's alone, nothing is cached (a warning says why).
    pub(crate) fn new(dir: Option<PathBuf>) -> DiskCache {
        let dir = dir.and_then(|dir| match private_dir(&dir) {
            Ok(()) => Some(dir),
            Err(why) => {
                tracing::warn!(dir = %dir.display(), %why, "not caching compiled plug-ins");
                None
            }
        });
        DiskCache { dir }
    }

    /// Compile `bytes`, or take the machine code from the cache.
    pub(crate) fn compile(&self, engine: &Engine, hash: &PluginHash, bytes: &[u8]) -> wasmtime::Result<Component> {
        let cached = self.path(engine, hash);
        let usable = |p: &&PathBuf| std::fs::metadata(p).is_ok_and(|m| private_file(&m));
        if let Some(path) = cached.as_ref().filter(usable) {
            // SAFETY: the cache directory and the file are this user's alone
            // (`private_dir`, `private_file`), and the file was written by
            // `Component::serialize` below; wasmtime checks that it matches this
            // engine's version and settings and refuses it otherwise.
            match unsafe { Component::deserialize_file(engine, path) } {
                Ok(component) => return Ok(component),
                Err(error) => tracing::warn!(path = %path.display(), %error, "ignoring a stale compiled plug-in"),
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Some(path) = cached
            && let Err(error) = write(&component, &path)
        {
            tracing::warn!(path = %path.display(), %error, "could not cache the compiled plug-in");
        }
        Ok(component)
    }

    /// Where a compiled plug-in is kept, if there is a cache: named by the
    /// plug-in's hash and the engine's compatibility hash.
    fn path(&self, engine: &Engine, hash: &PluginHash) -> Option<PathBuf> {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let dir = self.dir.as_ref()?;
        let mut h = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Some(dir.join(format!("{hash}-{:016x}.cwasm", h.finish())))
    }
}

/// Through a temporary file of a fresh name (owner-only), then a rename: a
/// reader sees no file or the whole one.
fn write(component: &Component, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &component.serialize()?)?;
    tmp.persist(path)?;
    Ok(())
}

/// Make sure the cache directory is the current user's alone: nobody else may
/// be able to put a file there.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::metadata(dir)?;
    anyhow::ensure!(meta.uid() == rustix::process::geteuid().as_raw(), "it belongs to another user");
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A cached file is used only if this user wrote it and nobody else can change it.
fn private_file(meta: &std::fs::Metadata) -> bool {
    meta.uid() == rustix::process::geteuid().as_raw() && meta.mode() & 0o022 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_the_users_alone() {
        let root = tempfile::tempdir().unwrap();
        // Made owner-only; an open one of ours is closed.
        let made = root.path().join("made/cache");
        private_dir(&made).unwrap();
        assert_eq!(std::fs::metadata(&made).unwrap().mode() & 0o777, 0o700);
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&open).unwrap();
        assert_eq!(std::fs::metadata(&open).unwrap().mode() & 0o777, 0o700);

        // A file others may change is not used.
        let file = made.join("x.cwasm");
        std::fs::write(&file, b"compiled").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(private_file(&std::fs::metadata(&file).unwrap()));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(!private_file(&std::fs::metadata(&file).unwrap()));
    }
}
