//! The national root key's certificate of a signing key: what makes a key
//! trusted to sign an authority's releases.
//!
//! The root key's public half is in the configuration (`[trust]
//! root_public_key`), never in the database; its secret half is kept offline
//! by whoever holds it (`ansinh keys certify`, which needs neither database nor
//! account). A key is registered only with a certificate that holds against
//! the configured root, and every use of a stored key checks its stored
//! certificate again ([`check_stored`]): a key row put into the database
//! behind the host's back, with no certificate or one the root did not make,
//! signs nothing that runs.
//!
//! A certificate is a small JSON file, `ansinh-key-certificate` version 1:
//!
//! ```json
//! {
//!   "format": "ansinh-key-certificate",
//!   "version": 1,
//!   "authority": "001",
//!   "public_key": "…64 hex digits: the certified ed25519 key…",
//!   "key_id": "…16 hex digits: its id (`ansinh keys list`)…",
//!   "issued_at": "2026-12-05T09:30:00Z",
//!   "not_after": "2027-12-31",
//!   "root_key_id": "…16 hex digits: the root key's id…",
//!   "signature": "…128 hex digits…"
//! }
//! ```
//!
//! `not_after` is the last day (UTC) it is valid, or null for no end. The
//! signature is the root key's ed25519 signature of exactly these lines
//! (UTF-8, each ending in a line feed; `-` for a null `not_after`):
//!
//! ```text
//! ansinh-key-certificate-v1
//! authority 001
//! public_key <public_key>
//! key_id <key_id>
//! issued_at <issued_at, as written in the file>
//! not_after <not_after or ->
//! root_key_id <root_key_id>
//! ```
//!
//! Every field is checked for its form when the file is read, so none can
//! carry a line break into that message.

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::keys;
use crate::config::TrustRoot;
use crate::store::keys::Key;

/// The `format` of a certificate file.
pub const FORMAT: &str = "ansinh-key-certificate";
/// The `version` this host reads and writes.
pub const VERSION: u32 = 1;

/// A certificate, as its file holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub format: String,
    pub version: u32,
    pub authority: String,
    pub public_key: String,
    pub key_id: String,
    pub issued_at: String,
    pub not_after: Option<String>,
    pub root_key_id: String,
    pub signature: String,
}

impl Certificate {
    /// The root's certificate that `key` signs for `authority`, valid through
    /// `not_after` (a day, UTC) if given.
    pub fn issue(
        root: &SigningKey,
        authority: &str,
        key: &VerifyingKey,
        not_after: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Certificate> {
        keys::check_authority(authority)?;
        if let Some(last) = not_after
            && last < now.date_naive()
        {
            bail!("--not-after {last}: that day is past; a certificate must be valid today at least");
        }
        let mut certificate = Certificate {
            format: FORMAT.to_owned(),
            version: VERSION,
            authority: authority.to_owned(),
            public_key: hex::encode(key.as_bytes()),
            key_id: keys::key_id(key),
            issued_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            not_after: not_after.map(|d| d.format("%Y-%m-%d").to_string()),
            root_key_id: keys::key_id(&root.verifying_key()),
            signature: String::new(),
        };
        certificate.signature = hex::encode(root.sign(&certificate.message()).to_bytes());
        Ok(certificate)
    }

    /// Read a certificate's text, checking the form of every field (not yet
    /// the signature: [`Certificate::check`]).
    pub fn parse(text: &str) -> anyhow::Result<Certificate> {
        let c: Certificate = serde_json::from_str(text)
            .context("not a key certificate (the JSON of `ansinh keys certify`, format ansinh-key-certificate)")?;
        if c.format != FORMAT || c.version != VERSION {
            bail!("format {:?} version {}: expected {FORMAT:?} version {VERSION}", c.format, c.version);
        }
        keys::check_authority(&c.authority)?;
        let hex_of = |field: &str, value: &str, digits: usize| {
            if value.len() != digits || !value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                bail!("{field} {value:?}: expected {digits} lower-case hex digits");
            }
            Ok(())
        };
        hex_of("public_key", &c.public_key, 64)?;
        hex_of("key_id", &c.key_id, 16)?;
        hex_of("root_key_id", &c.root_key_id, 16)?;
        hex_of("signature", &c.signature, 128)?;
        DateTime::parse_from_rfc3339(&c.issued_at)
            .map_err(|_| anyhow::anyhow!("issued_at {:?}: expected an RFC 3339 instant", c.issued_at))?;
        if let Some(day) = &c.not_after {
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .ok()
                .filter(|d| d.format("%Y-%m-%d").to_string() == *day)
                .ok_or_else(|| anyhow::anyhow!("not_after {day:?}: expected a day, YYYY-MM-DD"))?;
        }
        Ok(c)
    }

    /// The file's text: pretty JSON and a final line feed.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a certificate serialises");
        text.push('\n');
        text
    }

    /// Exactly what the root's signature covers.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "ansinh-key-certificate-v1\nauthority {}\npublic_key {}\nkey_id {}\nissued_at {}\nnot_after {}\nroot_key_id {}\n",
            self.authority,
            self.public_key,
            self.key_id,
            self.issued_at,
            self.not_after.as_deref().unwrap_or("-"),
            self.root_key_id
        )
        .into_bytes()
    }

    /// The last day it is valid, if it ends.
    pub fn not_after(&self) -> Option<NaiveDate> {
        self.not_after.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    }

    /// Whether the certificate says that `public_key` (hex) signs for
    /// `authority`, signed by `root`, and is valid on `today`. The error says
    /// which of those fails.
    pub fn check(
        &self,
        root: &VerifyingKey,
        authority: &str,
        public_key: &str,
        today: NaiveDate,
    ) -> anyhow::Result<()> {
        let root_id = keys::key_id(root);
        if self.root_key_id != root_id {
            bail!(
                "it was made by the root key {}, not by the configured root key {root_id}: another root, which this \
                 installation does not trust",
                self.root_key_id
            );
        }
        let mut signature = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut signature).context("its signature is not 64 bytes of hex")?;
        root.verify(&self.message(), &Signature::from_bytes(&signature)).map_err(|_| {
            anyhow::anyhow!(
                "the root key's signature does not hold: the certificate was changed after it was issued, or forged"
            )
        })?;
        if self.public_key != public_key {
            bail!("it certifies the key {} ({}), not this one", self.key_id, short(&self.public_key));
        }
        let id_of_public = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .map(|k| keys::key_id(&k));
        if id_of_public.as_deref() != Some(self.key_id.as_str()) {
            bail!("its key_id {} is not the id of the key it certifies", self.key_id);
        }
        if self.authority != authority {
            bail!("it certifies the key for {}, not for {authority}", self.authority);
        }
        if let Some(last) = self.not_after()
            && today > last
        {
            bail!("it expired after {last}");
        }
        Ok(())
    }
}

fn short(hex: &str) -> String {
    format!("{}…", &hex[..hex.len().min(16)])
}

/// What the root holder runs to certify the key `id` for `authority`, and
/// what its author runs then: the remedy every refusal of a key gives.
pub fn how_to_certify(authority: &str, id: &str) -> String {
    format!(
        "the national root key's holder certifies the key's public half (`ansinh keys certify --root-key ROOT.pem \
         --authority {authority} KEY.pub --out KEY.cert`), and an author of {authority} registers it with that \
         certificate (`ansinh keys register --authority {authority} KEY.pub --certificate KEY.cert`; key {id})"
    )
}

/// Check a stored key's certificate against the configured `root` on
/// `today`: every use of a stored key goes through this, since a row may
/// have been written behind the host's back.
pub fn check_stored(key: &Key, root: &TrustRoot, today: NaiveDate) -> anyhow::Result<()> {
    let Some(text) = &key.certificate else {
        bail!(
            "key {} of {} has no certificate of the national root key, so it is not trusted: it was registered \
             before keys were certified, or put into the database behind the host's back. If it is genuine, {}",
            key.id,
            key.authority,
            how_to_certify(&key.authority, &key.id)
        );
    };
    Certificate::parse(text).and_then(|c| c.check(&root.key, &key.authority, &key.public_key, today)).with_context(
        || {
            format!(
                "key {} of {}: its certificate does not hold against the national root key of {} (key {}), so it \
                 is not trusted; if the key is genuine, {}",
                key.id,
                key.authority,
                root.source,
                keys::key_id(&root.key),
                how_to_certify(&key.authority, &key.id)
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-05T09:30:00Z").unwrap().to_utc()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_certificate_holds_for_its_key_authority_root_and_days_only() {
        let root = SigningKey::from_bytes(&[1; 32]);
        let key = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let public = hex::encode(key.as_bytes());
        let c = Certificate::issue(&root, "001", &key, Some(day("2027-12-31")), now()).unwrap();
        let read = Certificate::parse(&c.to_text()).unwrap();
        assert_eq!(read, c);
        let root_public = root.verifying_key();
        read.check(&root_public, "001", &public, day("2027-12-31")).unwrap();

        let err = |r: anyhow::Result<()>| format!("{:#}", r.unwrap_err());
        let said = err(read.check(&root_public, "001", &public, day("2028-01-01")));
        assert!(said.contains("expired after 2027-12-31"), "{said}");
        let said = err(read.check(&root_public, "031", &public, day("2027-01-01")));
        assert!(said.contains("for 001, not for 031"), "{said}");
        let other = hex::encode(SigningKey::from_bytes(&[4; 32]).verifying_key().as_bytes());
        let said = err(read.check(&root_public, "001", &other, day("2027-01-01")));
        assert!(said.contains("not this one"), "{said}");
        let another_root = SigningKey::from_bytes(&[5; 32]).verifying_key();
        let said = err(read.check(&another_root, "001", &public, day("2027-01-01")));
        assert!(said.contains("another root"), "{said}");

        // Any field changed after issue: the signature no longer holds.
        for changed in [
            Certificate { authority: "031".into(), ..c.clone() },
            Certificate { not_after: None, ..c.clone() },
            Certificate { issued_at: "2026-12-06T09:30:00Z".into(), ..c.clone() },
        ] {
            let said = err(changed.check(&root_public, &changed.authority, &public, day("2027-01-01")));
            assert!(said.contains("signature does not hold"), "{said}");
        }
    }

    #[test]
    fn a_malformed_certificate_is_refused_with_its_field() {
        let root = SigningKey::from_bytes(&[1; 32]);
        let key = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let c = Certificate::issue(&root, "national", &key, None, now()).unwrap();
        let text = c.to_text();
        assert!(text.contains("\"not_after\": null"), "{text}");
        for (bad, says) in [
            (text.replace("\"national\"", "\"nation\\nal\""), "authority"),
            (text.replace(&c.key_id, "KEY"), "key_id"),
            (text.replace(&c.issued_at, "yesterday"), "issued_at"),
            (text.replace("\"not_after\": null", "\"not_after\": \"2027-1-1\""), "not_after"),
            (text.replace("\"version\": 1", "\"version\": 2"), "version 2"),
            (text.replace("\"format\"", "\"extra\": 1, \"format\""), "extra"),
            ("-----BEGIN PUBLIC KEY-----".to_owned(), "not a key certificate"),
        ] {
            let said = format!("{:#}", Certificate::parse(&bad).unwrap_err());
            assert!(said.contains(says), "{says}: {said}");
        }
        let said = format!("{:#}", Certificate::issue(&root, "001", &key, Some(day("2026-12-04")), now()).unwrap_err());
        assert!(said.contains("that day is past"), "{said}");
    }
}
