//! The audit log's tip, signed each day with a key held outside the database
//! (`ansinh serve --tip-key FILE --tips DIR`), into a file outside it: so that
//! a log rewritten with every hash made anew, which its chain alone cannot
//! show, fails `audit verify --tips DIR` naming the tip it no longer holds,
//! with no tip noted down by hand.
//!
//! One file a day, `DIR/tip-YYYY-MM-DD.json` (the UTC day it was signed; the
//! first tip of a day is kept, never replaced), format `ansinh-audit-tip`
//! version 1:
//!
//! ```json
//! {
//!   "format": "ansinh-audit-tip",
//!   "version": 1,
//!   "seq": 812,
//!   "hash": "…64 hex digits: entry 812's hash…",
//!   "signed_at": "2026-12-05T09:30:00Z",
//!   "key_id": "…16 hex digits: the tip key's id…",
//!   "signature": "…128 hex digits…"
//! }
//! ```
//!
//! The signature is the tip key's ed25519 signature of exactly
//! `ansinh-audit-tip-v1\nseq 812\nhash <hash>\nsigned_at <signed_at>\nkey_id <key_id>\n`.
//! Signing appends nothing to the database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::verify::Anchor;
use crate::release::keys;
use crate::store::{Db, audit as table};

/// The `format` of a tip file.
pub const FORMAT: &str = "ansinh-audit-tip";
/// The `version` this host reads and writes.
pub const VERSION: u32 = 1;

/// How often `serve` signs the tip.
pub const EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// A signed tip, as its file holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTip {
    pub format: String,
    pub version: u32,
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    pub key_id: String,
    pub signature: String,
}

impl SignedTip {
    /// The tip `(seq, hash)` signed by `key` at `now`.
    pub fn sign(key: &SigningKey, seq: i64, hash: &str, now: DateTime<Utc>) -> SignedTip {
        let mut tip = SignedTip {
            format: FORMAT.to_owned(),
            version: VERSION,
            seq,
            hash: hash.to_owned(),
            signed_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            key_id: keys::key_id(&key.verifying_key()),
            signature: String::new(),
        };
        tip.signature = hex::encode(key.sign(&tip.message()).to_bytes());
        tip
    }

    /// Exactly what the signature covers.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "ansinh-audit-tip-v1\nseq {}\nhash {}\nsigned_at {}\nkey_id {}\n",
            self.seq, self.hash, self.signed_at, self.key_id
        )
        .into_bytes()
    }

    /// A tip file's text, its form checked (not yet its signature).
    pub fn parse(text: &str) -> anyhow::Result<SignedTip> {
        let tip: SignedTip = serde_json::from_str(text).context("not a signed tip (format ansinh-audit-tip)")?;
        if tip.format != FORMAT || tip.version != VERSION {
            bail!("format {:?} version {}: expected {FORMAT:?} version {VERSION}", tip.format, tip.version);
        }
        let hex = |value: &str, digits: usize| {
            value.len() == digits && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if tip.seq < 0 || !hex(&tip.hash, 64) || !hex(&tip.key_id, 16) || !hex(&tip.signature, 128) {
            bail!("seq, hash, key_id or signature is not of its form");
        }
        DateTime::parse_from_rfc3339(&tip.signed_at)
            .map_err(|_| anyhow::anyhow!("signed_at {:?}: expected an RFC 3339 instant", tip.signed_at))?;
        Ok(tip)
    }

    /// The file's text: pretty JSON and a final line feed.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a tip serialises");
        text.push('\n');
        text
    }

    /// Whether `public` signed it.
    pub fn check(&self, public: &VerifyingKey) -> anyhow::Result<()> {
        let id = keys::key_id(public);
        if self.key_id != id {
            bail!("it was signed by the key {}, not by the tip key {id}", self.key_id);
        }
        let mut signature = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut signature).context("its signature is not 64 bytes of hex")?;
        public
            .verify(&self.message(), &Signature::from_bytes(&signature))
            .map_err(|_| anyhow::anyhow!("its signature does not hold: the file was changed after it was signed"))
    }
}

/// The file a tip signed at `now` goes to in `dir`.
pub fn file_for(dir: &Path, now: DateTime<Utc>) -> PathBuf {
    dir.join(format!("tip-{}.json", now.format("%Y-%m-%d")))
}

/// What [`sign`] did.
#[derive(Debug)]
pub enum Signed {
    /// The tip, entry `seq`, signed into the file.
    Wrote { file: PathBuf, seq: i64 },
    /// Today's file was there already, and is kept.
    Kept(PathBuf),
}

/// Sign the log's tip as it stands now with `key` into today's file in
/// `dir` (made if missing), unless today's is there already.
pub async fn sign(db: &Db, key: &SigningKey, dir: &Path) -> anyhow::Result<Signed> {
    let now = Utc::now();
    let file = file_for(dir, now);
    if file.exists() {
        return Ok(Signed::Kept(file));
    }
    let (seq, hash) = table::head(db).await?;
    let tip = SignedTip::sign(key, seq, &hash, now);
    std::fs::create_dir_all(dir).with_context(|| format!("making the folder of signed tips {}", dir.display()))?;
    keys::write_new(&file, tip.to_text().as_bytes(), 0o644)?;
    Ok(Signed::Wrote { file, seq })
}

/// Sign the tip every [`EVERY`] from now on, for the life of the process
/// (the first is signed by the caller, at start, so that a key or folder
/// that does not work stops it there). A failure is logged, and tried again
/// the next day.
pub async fn sign_daily(db: Db, key: SigningKey, dir: PathBuf) {
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
    loop {
        every.tick().await;
        match sign(&db, &key, &dir).await {
            Ok(Signed::Wrote { file, seq }) => {
                tracing::info!(seq, file = %file.display(), "signed the audit log's tip")
            }
            Ok(Signed::Kept(file)) => tracing::info!(file = %file.display(), "today's tip is signed already"),
            Err(e) => tracing::error!("signing the audit log's tip: {e:#}"),
        }
    }
}

/// The signed tips of `dir` (every `tip-*.json`, in name order), each
/// checked against `public`: the anchors of those that hold, and a finding
/// naming each file that does not.
pub fn read(dir: &Path, public: &VerifyingKey) -> anyhow::Result<(Vec<Anchor>, Vec<String>)> {
    let listing = std::fs::read_dir(dir).with_context(|| format!("--tips {}: reading the folder", dir.display()))?;
    let mut files = Vec::new();
    for entry in listing {
        let entry = entry.with_context(|| format!("--tips {}: reading the folder", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("tip-") && name.ends_with(".json") {
            files.push(entry.path());
        }
    }
    files.sort();
    let (mut anchors, mut problems) = (Vec::new(), Vec::new());
    for file in files {
        let checked = std::fs::read_to_string(&file)
            .map_err(anyhow::Error::from)
            .and_then(|text| SignedTip::parse(&text))
            .and_then(|tip| tip.check(public).map(|()| tip));
        match checked {
            // An empty log has no entry to hold.
            Ok(tip) if tip.seq == 0 => {}
            Ok(tip) => anchors.push(Anchor { seq: tip.seq, hash: tip.hash, tip_file: Some(file) }),
            Err(e) => problems.push(format!(
                "the signed tip {} cannot be trusted: {e:#}; the tip key did not sign it as it is",
                file.display()
            )),
        }
    }
    if anchors.is_empty() && problems.is_empty() {
        problems.push(format!(
            "--tips {}: the folder holds no signed tip (tip-YYYY-MM-DD.json): `ansinh serve --tip-key` writes them",
            dir.display()
        ));
    }
    Ok((anchors, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tip_holds_for_its_key_and_its_fields_only() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let now = DateTime::parse_from_rfc3339("2026-12-05T09:30:00Z").unwrap().to_utc();
        let tip = SignedTip::sign(&key, 12, &"ab".repeat(32), now);
        let read = SignedTip::parse(&tip.to_text()).unwrap();
        assert_eq!(read, tip);
        read.check(&key.verifying_key()).unwrap();
        let said = format!("{:#}", read.check(&SigningKey::from_bytes(&[8; 32]).verifying_key()).unwrap_err());
        assert!(said.contains("not by the tip key"), "{said}");
        let moved = SignedTip { seq: 13, ..tip.clone() };
        assert!(moved.check(&key.verifying_key()).unwrap_err().to_string().contains("does not hold"));
        assert_eq!(file_for(Path::new("tips"), now), Path::new("tips/tip-2026-12-05.json"));
        assert!(SignedTip::parse(&tip.to_text().replace("\"seq\": 12", "\"seq\": \"12\"")).is_err());
    }
}
