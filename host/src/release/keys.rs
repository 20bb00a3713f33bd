//! Ed25519 signing keys of an authority (the nation or one province), and the
//! exact message a release signature covers.
//!
//! Key files are PKCS#8 PEM, the format `openssl genpkey -algorithm ed25519`
//! writes, so a province may make its key with the tools it already trusts and
//! register only the public half, once the national root key certified it
//! (`ansinh keys certify`, `ansinh keys register`; `certificate.rs`).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::identity::provinces;
use ansinh_sandbox::PluginHash;

/// Who a key signs for: `national` or a 3-digit province code.
pub fn check_authority(authority: &str) -> anyhow::Result<()> {
    if authority == "national" || provinces::is_known(authority) {
        Ok(())
    } else {
        bail!("authority {authority:?}: expected `national` or a 3-digit province code of identity.md, e.g. 001")
    }
}

/// A key's short name: the first 16 hex digits of the sha256 of its public key.
pub fn key_id(public: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(public.as_bytes())[..8])
}

/// A new key from the operating system's randomness.
pub fn generate() -> anyhow::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the operating system: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Write the secret key to `path` (owner-only) and its public half to
/// `path.pub`; never replaces an existing file.
pub fn write_pair(path: &Path, key: &SigningKey) -> anyhow::Result<std::path::PathBuf> {
    let secret = key.to_pkcs8_pem(Default::default()).context("encoding the secret key")?;
    write_new(path, secret.as_bytes(), 0o600)?;
    let public_path = path.with_extension("pub");
    let public = key.verifying_key().to_public_key_pem(Default::default()).context("encoding the public key")?;
    write_new(&public_path, public.as_bytes(), 0o644)?;
    Ok(public_path)
}

/// Write `bytes` to a new file at `path` with `mode`; an existing file is never replaced.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating {} (an existing key or certificate file is never replaced; choose another name)",
            path.display()
        )
    })?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", path.display()))
}

/// Read a secret key file (PKCS#8 PEM), refusing one that others on the
/// machine may read: whoever can read it can sign releases.
pub fn read_secret(path: &Path) -> anyhow::Result<SigningKey> {
    let mut file = std::fs::File::open(path).with_context(|| format!("reading the key file {}", path.display()))?;
    crate::config::check_owner_only(path, &file, "a secret signing key")?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not an ed25519 secret key in PKCS#8 PEM ({e}); make one with `ansinh keys generate`",
            path.display()
        )
    })
}

/// Read a public key file (SubjectPublicKeyInfo PEM, as `openssl pkey -pubout` writes).
pub fn read_public(path: &Path) -> anyhow::Result<VerifyingKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the key file {}", path.display()))?;
    VerifyingKey::from_public_key_pem(&text)
        .map_err(|e| anyhow::anyhow!("{}: not an ed25519 public key in PEM ({e}); give the .pub file", path.display()))
}

/// What a release signature covers: the plug-in's bytes (by hash), the
/// authority and programme it is released for, and the cases shipped with it.
pub fn signed_message(plugin: PluginHash, authority: &str, program: &str, cases: &str) -> Vec<u8> {
    let cases = hex::encode(Sha256::digest(cases.as_bytes()));
    format!("ansinh-release-v1\nplugin {plugin}\nauthority {authority}\nprogram {program}\ncases {cases}\n")
        .into_bytes()
}

pub fn sign(key: &SigningKey, message: &[u8]) -> String {
    hex::encode(key.sign(message).to_bytes())
}

/// Check a hex signature of `message` by the hex public key.
pub fn verify(public_hex: &str, message: &[u8], signature_hex: &str) -> anyhow::Result<()> {
    let mut public = [0u8; 32];
    hex::decode_to_slice(public_hex, &mut public).context("a stored public key is not 32 bytes of hex")?;
    let public = VerifyingKey::from_bytes(&public).context("a stored public key is not an ed25519 key")?;
    let mut signature = [0u8; 64];
    hex::decode_to_slice(signature_hex, &mut signature).context("the stored signature is not 64 bytes of hex")?;
    public.verify(message, &Signature::from_bytes(&signature)).map_err(|_| {
        anyhow::anyhow!("the signature does not match: the plug-in, its cases or its scope changed after signing")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_bytes_scope_and_cases() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = hex::encode(key.verifying_key().as_bytes());
        let plugin = PluginHash::of(b"plugin");
        let message = signed_message(plugin, "001", "social-assistance", "- case");
        let signature = sign(&key, &message);
        verify(&public, &message, &signature).unwrap();
        for changed in [
            signed_message(PluginHash::of(b"other"), "001", "social-assistance", "- case"),
            signed_message(plugin, "031", "social-assistance", "- case"),
            signed_message(plugin, "001", "social-pension", "- case"),
            signed_message(plugin, "001", "social-assistance", "- other case"),
        ] {
            assert!(verify(&public, &changed, &signature).is_err());
        }
    }

    #[test]
    fn key_files_round_trip_and_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hanoi.pem");
        let key = generate().unwrap();
        let public_path = write_pair(&path, &key).unwrap();
        assert_eq!(read_secret(&path).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(read_public(&public_path).unwrap(), key.verifying_key());
        assert!(write_pair(&path, &generate().unwrap()).is_err());
        assert!(read_secret(&public_path).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            // Readable by the group: refused, with the chmod that mends it.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            let said = read_secret(&path).unwrap_err().to_string();
            assert!(
                said.contains("(mode 0640)") && said.contains(&format!("`chmod 600 {}`", path.display())),
                "{said}"
            );
        }
    }
}
