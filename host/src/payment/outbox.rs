//! The outbox: the one directory payment files are written to.
//!
//! It is opened as a `cap-std` directory handle, so no file name, however
//! crafted, can reach outside it. Files appear whole or not at all: they are
//! written under a temporary name of the writer's own, flushed to disk, then
//! linked to their name, which fails rather than replace a file already there.
//! A writer holds a lock on its temporary file while it lives; one killed
//! leaves its file unlocked, and the next writer of that name to finish
//! removes it.

use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sha2::{Digest, Sha256};

pub struct Outbox {
    dir: Dir,
    path: PathBuf,
}

/// A file being written to the outbox.
pub struct Partial<'a> {
    outbox: &'a Outbox,
    name: String,
    partial: String,
    /// Locked (`File::lock`) until closed: the lock tells a live writer's file from a dead one's.
    file: Option<BufWriter<std::fs::File>>,
}

impl Write for Partial<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open until commit").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("open until commit").flush()
    }
}

impl Partial<'_> {
    /// Make the file appear whole under its name. If a file of that name exists
    /// with the same bytes it is left alone; with other bytes, it is an error:
    /// an issued file is never silently replaced.
    pub fn commit(mut self) -> anyhow::Result<Written> {
        let mut file = self.file.take().expect("committed once");
        file.flush()?;
        file.get_ref().sync_all()?;
        // Still open, so still locked, until this is dropped: no other writer takes it for dead.
        self.file = Some(file);
        let (dir, name, partial) = (&self.outbox.dir, self.name.as_str(), self.partial.as_str());
        // A hard link, not a rename: it fails where the name exists, so that of two writers the
        // second compares its bytes with the first's instead of replacing them.
        match dir.hard_link(partial, dir, name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.outbox.sweep(name);
                if self.outbox.digest(name)? != self.outbox.digest(partial)? {
                    bail!(
                        "{} already exists with other contents; it is left as it is. Compare it with what the \
                         database says was issued before moving it away",
                        self.outbox.path_of(name).display()
                    );
                }
                return Ok(Written::Unchanged);
            }
            Err(e) => return Err(e.into()),
        }
        // Make the new name itself durable.
        std::fs::File::open(&self.outbox.path)?.sync_all()?;
        self.outbox.sweep(name);
        Ok(Written::Created)
    }
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        self.file.take();
        // Whatever happened, no partial file stays behind (after a commit it is
        // a second name of the file, or a duplicate of the existing one).
        let _ = self.outbox.dir.remove_file(&self.partial);
    }
}

/// What writing a file did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The file was new.
    Created,
    /// The same bytes were already there.
    Unchanged,
}

impl Outbox {
    /// Open (creating if needed) the outbox directory.
    pub fn open(path: &Path) -> anyhow::Result<Outbox> {
        std::fs::create_dir_all(path).with_context(|| format!("creating the outbox {}", path.display()))?;
        let dir = Dir::open_ambient_dir(path, ambient_authority())
            .with_context(|| format!("opening the outbox {}", path.display()))?;
        Ok(Outbox { dir, path: path.to_owned() })
    }

    /// The full path of a file in the outbox, for messages.
    /// Open file `name` of the outbox to read it (within the outbox only).
    pub fn read(&self, name: &str) -> anyhow::Result<std::fs::File> {
        let file = self.dir.open(name).with_context(|| format!("opening {} in the outbox", name))?;
        Ok(file.into_std())
    }

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Start writing `name`: bytes go to a hidden partial file until
    /// [`Partial::commit`]. Dropped without a commit, the partial file is removed.
    pub fn create(&self, name: &str) -> anyhow::Result<Partial<'_>> {
        check_name(name)?;
        // A name of this writer's own: two processes issuing the same run into one outbox (two
        // workers, a retry beside a job) must never write into, or move, each other's file.
        // Created under the name a sweep looks at, so that a kill at any instant leaves nothing
        // but a `.partial` file the next writer removes. Between creating and locking it, a sweep
        // may take it for a dead writer's and remove it: once locked, a file still linked is ours
        // for good; one unlinked was swept, and a new name is tried.
        for _ in 0..8 {
            let mut nonce = [0u8; 8];
            getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness for a partial file's name: {e}"))?;
            let partial = format!(".{name}.{}.partial", hex::encode(nonce));
            let file = self
                .dir
                .create(&partial)
                .with_context(|| format!("creating {partial} in {}", self.path.display()))?
                .into_std();
            file.lock().with_context(|| format!("locking {partial} in {}", self.path.display()))?;
            if still_linked(&file)? {
                return Ok(Partial { outbox: self, name: name.to_owned(), partial, file: Some(BufWriter::new(file)) });
            }
        }
        bail!(
            "every temporary file made for {name} in {} was removed before it could be locked: is another \
             process removing files from the outbox?",
            self.path.display()
        )
    }

    /// Remove the temporary files of `name` that writers killed mid-way left:
    /// those no live writer holds locked. Best effort: what cannot be removed stays hidden.
    fn sweep(&self, name: &str) {
        let prefix = format!(".{name}.");
        let Ok(entries) = self.dir.entries() else { return };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if !(file_name.starts_with(&prefix) && file_name.ends_with(".partial")) {
                continue;
            }
            let Ok(file) = self.dir.open(&file_name) else { continue };
            let file = file.into_std();
            if file.try_lock().is_ok() {
                // Removed while the lock is held: a writer that locks it after finds it unlinked.
                let _ = self.dir.remove_file(&file_name);
            }
            drop(file);
        }
    }

    fn digest(&self, name: &str) -> io::Result<[u8; 32]> {
        let mut file = self.dir.open(name)?;
        let mut hasher = Sha256::new();
        let mut buf = [0; 64 << 10];
        loop {
            match file.read(&mut buf)? {
                0 => return Ok(hasher.finalize().into()),
                n => hasher.update(&buf[..n]),
            }
        }
    }
}

/// Whether an open file still has a name: a sweep unlinks a temporary file
/// only while it holds its lock, so a file locked and still linked stays.
fn still_linked(file: &std::fs::File) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(file.metadata()?.nlink() > 0)
    }
    #[cfg(not(unix))]
    {
        // Elsewhere an open file cannot be removed: it is still there.
        let _ = file;
        Ok(true)
    }
}

/// A plain file name: no separators, no dot-dot, nothing hidden. cap-std would
/// stop an escape anyway; this makes the message clear.
fn check_name(name: &str) -> anyhow::Result<()> {
    let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0']) && name.len() <= 200;
    if !plain {
        bail!("{name:?} is not a plain file name for the outbox");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(outbox: &Outbox, name: &str, bytes: &[u8]) -> anyhow::Result<Written> {
        let mut partial = outbox.create(name)?;
        partial.write_all(bytes)?;
        partial.commit()
    }

    fn outbox() -> (tempfile::TempDir, Outbox) {
        let tmp = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&tmp.path().join("outbox")).unwrap();
        (tmp, outbox)
    }

    #[test]
    fn writes_whole_file_and_recognises_same_bytes() {
        let (_tmp, outbox) = outbox();
        assert_eq!(write(&outbox, "a.xml", b"<Document/>").unwrap(), Written::Created);
        assert_eq!(write(&outbox, "a.xml", b"<Document/>").unwrap(), Written::Unchanged);
        assert_eq!(std::fs::read(outbox.path_of("a.xml")).unwrap(), b"<Document/>");
    }

    #[test]
    fn refuses_to_replace_different_bytes() {
        let (_tmp, outbox) = outbox();
        write(&outbox, "a.xml", b"one").unwrap();
        let err = write(&outbox, "a.xml", b"two").unwrap_err();
        assert!(err.to_string().contains("already exists with other contents"), "{err}");
        assert_eq!(std::fs::read(outbox.path_of("a.xml")).unwrap(), b"one");
    }

    #[test]
    fn no_name_escapes_the_outbox() {
        let (tmp, outbox) = outbox();
        for name in ["../escape.xml", "/tmp/escape.xml", "..", ".hidden", "a/b.xml", ""] {
            assert!(write(&outbox, name, b"x").is_err(), "{name:?} was accepted");
        }
        assert!(!tmp.path().join("escape.xml").exists());
    }

    #[test]
    fn two_writers_of_one_name_keep_apart() {
        // Two processes issuing one run into one outbox, interleaved: each writes its own
        // partial file; the first to commit makes the file, the second finds the same bytes.
        let (_tmp, outbox) = outbox();
        let (mut first, mut second) = (outbox.create("a.xml").unwrap(), outbox.create("a.xml").unwrap());
        first.write_all(b"<Docu").unwrap();
        second.write_all(b"<Document/>").unwrap();
        first.write_all(b"ment/>").unwrap();
        assert_eq!(second.commit().unwrap(), Written::Created);
        assert_eq!(first.commit().unwrap(), Written::Unchanged);
        assert_eq!(std::fs::read(outbox.path_of("a.xml")).unwrap(), b"<Document/>");
        // With other bytes, the second is refused and the first's file stays as it was.
        let mut other = outbox.create("a.xml").unwrap();
        other.write_all(b"<Other/>").unwrap();
        assert!(other.commit().unwrap_err().to_string().contains("already exists with other contents"));
        assert_eq!(std::fs::read(outbox.path_of("a.xml")).unwrap(), b"<Document/>");
    }

    #[test]
    fn a_killed_writers_file_is_swept_and_a_live_ones_kept() {
        let (tmp, outbox) = outbox();
        // What a writer killed mid-way leaves: its temporary file, no longer locked by anyone.
        std::fs::write(tmp.path().join("outbox/.a.xml.0123456789abcdef.partial"), b"<Docu").unwrap();
        let mut live = outbox.create("a.xml").unwrap();
        live.write_all(b"<Document/>").unwrap();
        assert_eq!(write(&outbox, "a.xml", b"<Document/>").unwrap(), Written::Created);
        let hidden = |tmp: &tempfile::TempDir| -> usize {
            std::fs::read_dir(tmp.path().join("outbox"))
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.'))
                .count()
        };
        assert_eq!(hidden(&tmp), 1, "the dead writer's file swept, the live one's kept");
        assert_eq!(live.commit().unwrap(), Written::Unchanged);
        assert_eq!(hidden(&tmp), 0);
    }

    #[test]
    fn a_file_swept_before_its_writer_locked_it_is_known_unlinked() {
        let (_tmp, outbox) = outbox();
        let partial = outbox.create("a.xml").unwrap();
        let file = partial.file.as_ref().unwrap().get_ref();
        assert!(still_linked(file).unwrap());
        outbox.dir.remove_file(&partial.partial).unwrap();
        assert!(!still_linked(file).unwrap(), "a removed file must not be taken for one still named");
    }

    #[test]
    fn an_abandoned_file_leaves_nothing() {
        let (tmp, outbox) = outbox();
        let mut partial = outbox.create("a.xml").unwrap();
        partial.write_all(b"half").unwrap();
        drop(partial);
        assert!(!outbox.path_of("a.xml").exists());
        let left: Vec<_> = std::fs::read_dir(tmp.path().join("outbox")).unwrap().collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
