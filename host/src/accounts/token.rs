//! API tokens: `ansinh_<id>_<secret>`. The id (8 random bytes, hex) is
//! public: it finds the row and names the token in the audit log. The secret
//! (32 random bytes, hex) is shown once and stored only as its sha256.

use std::fmt;

use sha2::{Digest, Sha256};

/// What every token starts with, so that one pasted in the wrong place (a
/// log, a ticket) is recognised by a secret scanner.
pub const PREFIX: &str = "ansinh_";

/// A token as its holder has it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub id: String,
    secret: String,
}

impl Secret {
    /// A new token, from the operating system's randomness.
    pub fn generate() -> anyhow::Result<Secret> {
        let mut id = [0u8; 8];
        let mut secret = [0u8; 32];
        getrandom::fill(&mut id)
            .and_then(|()| getrandom::fill(&mut secret))
            .map_err(|e| anyhow::anyhow!("no randomness from the operating system for a token: {e}"))?;
        Ok(Secret { id: hex::encode(id), secret: hex::encode(secret) })
    }

    /// Read a token as a client sent it; None if it is not one of ours.
    pub fn parse(text: &str) -> Option<Secret> {
        let (id, secret) = text.strip_prefix(PREFIX)?.split_once('_')?;
        let hex_of = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        (hex_of(id, 16) && hex_of(secret, 64)).then(|| Secret { id: id.to_owned(), secret: secret.to_owned() })
    }

    /// What is stored of it: the sha256 of the secret, hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.secret.as_bytes()))
    }

    /// Whether `stored` is this secret's hash, compared in time that does not
    /// depend on where they differ.
    pub fn matches(&self, stored: &str) -> bool {
        let mine = self.hash();
        mine.len() == stored.len() && mine.bytes().zip(stored.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
    }
}

impl fmt::Display for Secret {
    /// The whole token, secret included: printed once, to its holder.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}_{}", self.id, self.secret)
    }
}

impl fmt::Debug for Secret {
    /// Never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({PREFIX}{}_…)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_and_only_its_secret_matches() {
        let token = Secret::generate().unwrap();
        let text = token.to_string();
        assert!(text.starts_with("ansinh_") && text.len() == 7 + 16 + 1 + 64, "{text}");
        let read = Secret::parse(&text).unwrap();
        assert!(read.matches(&token.hash()));
        let other = Secret::generate().unwrap();
        assert!(!other.matches(&token.hash()));
        assert!(!format!("{token:?}").contains(&token.secret), "Debug shows the secret");
        for bad in ["", "ansinh_", "ansinh_zz_00", &text[..text.len() - 1], &text.replace("ansinh_", "other_")] {
            assert_eq!(Secret::parse(bad), None, "{bad}");
        }
    }
}
