//! The keyed hash a person appears as in the audit trail and in audit
//! bundles: HMAC-SHA256 of the ID number under a key held in the
//! configuration (`[audit] person_key`). Without the key the hash does not
//! give the number back (there are too few ID numbers for a plain hash to hide
//! one); with it, an auditor can look a person up.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Bytes of the key.
const KEY_BYTES: usize = 32;

/// The key that turns an ID number into its audit name.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonKey([u8; KEY_BYTES]);

impl std::fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonKey({})", self.id())
    }
}

impl PersonKey {
    /// Read a key written as 64 hex digits.
    pub fn parse(hex_text: &str) -> anyhow::Result<PersonKey> {
        let mut key = [0; KEY_BYTES];
        hex::decode_to_slice(hex_text.trim(), &mut key).map_err(|_| {
            anyhow::anyhow!(
                "expected {} hex digits (a 256-bit key; `ansinh audit new-key` makes one), found {} characters",
                KEY_BYTES * 2,
                hex_text.trim().len()
            )
        })?;
        Ok(PersonKey(key))
    }

    /// A fresh random key, as 64 hex digits.
    pub fn generate() -> anyhow::Result<String> {
        let mut key = [0; KEY_BYTES];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
        Ok(hex::encode(key))
    }

    /// Which key this is, without giving it away: 16 hex digits of its sha256.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.0)[..8])
    }

    /// The audit name of the person with `id_number`: 32 hex digits.
    pub fn person(&self, id_number: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"ansinh-person/1\n");
        mac.update(id_number.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_names_a_person_the_same_and_another_key_differently() {
        let one = PersonKey::parse(&"ab".repeat(32)).unwrap();
        let two = PersonKey::parse(&"cd".repeat(32)).unwrap();
        assert_eq!(one.person("001087012345"), one.person("001087012345"));
        assert_ne!(one.person("001087012345"), one.person("001087012346"));
        assert_ne!(one.person("001087012345"), two.person("001087012345"));
        assert_eq!(one.person("001087012345").len(), 32);
        assert!(!one.person("001087012345").contains("012345"));
        assert_ne!(one.id(), two.id());
    }

    #[test]
    fn a_malformed_key_says_what_is_expected() {
        let said = PersonKey::parse("abc").unwrap_err().to_string();
        assert!(said.contains("64 hex digits") && said.contains("ansinh audit new-key"), "{said}");
        assert!(PersonKey::generate().is_ok_and(|k| PersonKey::parse(&k).is_ok()));
    }
}
