//! The configuration file (`ansinh.toml`, `--config` / `ANSINH_CONFIG`): what a
//! deployment decides and the database does not hold: each province's
//! treasury, the debtor accounts its payments leave from; the key of the audit
//! trail's person hashes; and the OpenID provider people sign in with:
//!
//! ```toml
//! [treasury."001"]                       # the paying province's code (identity.md)
//! holder = "KHO BAC NHA NUOC HA NOI"     # the account holder, as the bank has it
//! account = "3711000000001"
//! bin = "970415"                         # 6-digit NAPAS BIN of the treasury's bank
//! bank_csv = true                        # optional: also write the bank CSV (payments.md)
//!
//! [treasury."001".ewallet]               # optional: e-wallet payments leave from here
//! holder = "KHO BAC NHA NUOC HA NOI"
//! account = "3711000000002"
//! bin = "970415"
//!
//! [audit]
//! person_key = "…64 hex digits…"         # the key of the audit trail's person hashes
//!                                        # (`ansinh audit new-key`); keep it secret
//!
//! [oidc]                                 # optional: people sign in with an OpenID provider
//! issuer = "https://id.example.gov.vn/realms/ansinh"  # exactly as its tokens' `iss`
//! audience = "https://ansinh.example.gov.vn"          # this service, in its tokens' `aud`
//! jwks_uri = "https://…/certs"           # optional: else from the issuer's discovery document
//! algorithms = ["RS256", "ES256"]        # optional: these by default; never none or HS*
//! leeway_seconds = 30                    # optional: how far exp and nbf may be off
//! jwks_refetch_seconds = 30              # optional: the least time between two JWKS fetches
//! client_id = "ansinh-pages"             # optional, with redirect_uri: people sign in to the pages
//! redirect_uri = "https://ansinh.example.gov.vn/sign-in/callback"  # through the provider
//!                                        # (a public client: authorisation code with PKCE)
//!
//! [trust]                                # who is trusted to sign releases, and the log's tips
//! root_public_key = "…64 hex digits…"    # the national root key (`keys generate --root`):
//!                                        # only keys it certified sign releases
//! tip_key = "secrets/tip.pem"            # optional: `serve` signs the log's tip daily with it
//! tips = "/var/lib/ansinh/tips"          # optional: the folder those signed tips go to
//! tip_public_key = "…64 hex digits…"     # optional: `audit verify --tips` checks them with it
//! ```
//!
//! Trust comes from here, never from the database: a signing key is used
//! only with a certificate of `root_public_key` (`release::certificate`), so
//! whoever can write to the database cannot add a key of their own. Paths
//! are relative to the file's folder.
//!
//! The file is read and checked once, by [`crate::app::App`]; an error names
//! the file, the key and what was expected. A file that holds a secret
//! (`person_key`) must be readable by its owner only, or it is refused with
//! the `chmod` to run ([`check_owner_only`], which the signing key files and
//! the registry's token file go through too). The accounts are used only by the
//! first `run issue` of a run, which stores them on the run: issuing again
//! writes the same files whatever the file says by then.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::accounts::oidc;
use crate::identity::provinces;
use crate::payment::{Payer, Treasury};
use crate::trail::person::PersonKey;

/// The file read when no `--config` is given; it may be missing until a
/// command needs what it holds.
pub const DEFAULT_PATH: &str = "ansinh.toml";

/// The checked configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where it was read from (or would be), for messages.
    pub path: PathBuf,
    /// Whether the file exists: a missing default file is an empty configuration.
    pub found: bool,
    treasuries: BTreeMap<String, Treasury>,
    person_key: Option<PersonKey>,
    oidc: Option<oidc::Settings>,
    trust: Option<Trust>,
}

/// `[trust]`: the national root key every signing key must be certified by,
/// and the key and folder of the audit log's signed tips.
#[derive(Clone, Debug)]
pub struct Trust {
    pub root: TrustRoot,
    /// The secret key `serve` signs the log's tip with (a file outside the database).
    pub tip_key: Option<PathBuf>,
    /// The folder the signed tips are written to and read from.
    pub tips: Option<PathBuf>,
    /// The public half of the tip key, for `audit verify --tips`.
    pub tip_public_key: Option<ed25519_dalek::VerifyingKey>,
}

/// The national root key, and where it was configured (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRoot {
    pub key: ed25519_dalek::VerifyingKey,
    /// e.g. `ansinh.toml [trust] root_public_key`.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    treasury: BTreeMap<String, RawTreasury>,
    audit: Option<RawAudit>,
    oidc: Option<RawOidc>,
    trust: Option<RawTrust>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    root_public_key: String,
    tip_key: Option<PathBuf>,
    tips: Option<PathBuf>,
    tip_public_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    audience: String,
    jwks_uri: Option<String>,
    algorithms: Option<Vec<String>>,
    leeway_seconds: Option<u64>,
    jwks_refetch_seconds: Option<u64>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    person_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTreasury {
    holder: String,
    account: String,
    bin: String,
    #[serde(default)]
    bank_csv: bool,
    ewallet: Option<RawAccount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    holder: String,
    account: String,
    bin: String,
}

impl Config {
    /// Read and check `path`, or [`DEFAULT_PATH`] when `None`. A file named
    /// explicitly must exist; the default one may be missing.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let (path, required) = match path {
            Some(path) => (path.to_owned(), true),
            None => (PathBuf::from(DEFAULT_PATH), false),
        };
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config { path, found: false, ..Config::default() });
            }
            Err(e) => return Err(e).with_context(|| format!("reading the configuration {}", path.display())),
        };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        let config = Config::parse(&path, &text)?;
        // Only a file with a secret in it need be private: treasury accounts
        // alone may stay readable by the group that runs the service.
        if config.person_key.is_some() {
            check_owner_only(&path, &file, "[audit] person_key")?;
        }
        Ok(config)
    }

    /// Check the text of a configuration file read from `path`.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Config> {
        let file = path.display();
        let raw: RawFile = toml::from_str(text).with_context(|| format!("{file}: not a valid configuration"))?;
        let mut treasuries = BTreeMap::new();
        for (province, raw) in raw.treasury {
            let key = format!("treasury.\"{province}\"");
            if !provinces::is_known(&province) {
                bail!("{file}: [{key}]: expected a 3-digit province code of identity.md, e.g. \"001\" for Hà Nội");
            }
            let bank = account(&key, raw.holder, raw.account, raw.bin).with_context(|| file.to_string())?;
            let ewallet = match raw.ewallet {
                Some(w) => {
                    let key = format!("{key}.ewallet");
                    Some(account(&key, w.holder, w.account, w.bin).with_context(|| file.to_string())?)
                }
                None => None,
            };
            treasuries.insert(province, Treasury { bank, ewallet, bank_csv: raw.bank_csv });
        }
        let person_key = match raw.audit {
            Some(audit) => {
                Some(PersonKey::parse(&audit.person_key).with_context(|| format!("{file}: audit.person_key"))?)
            }
            None => None,
        };
        let oidc = match raw.oidc {
            Some(raw) => Some(oidc_settings(raw).with_context(|| file.to_string())?),
            None => None,
        };
        let trust = match raw.trust {
            Some(raw) => Some(trust(path, raw).with_context(|| file.to_string())?),
            None => None,
        };
        Ok(Config { path: path.to_owned(), found: true, treasuries, person_key, oidc, trust })
    }

    /// `[trust]`, if the file has it.
    pub fn trust(&self) -> Option<&Trust> {
        self.trust.as_ref()
    }

    /// The national root key, or an error saying how to configure it: no
    /// signing key is trusted without it.
    pub fn root(&self) -> anyhow::Result<&TrustRoot> {
        self.trust.as_ref().map(|t| &t.root).ok_or_else(|| {
            let file = self.path.display();
            let missing = if self.found { "has no" } else { "does not exist, so there is no" };
            anyhow::anyhow!(
                "{file} {missing} [trust] root_public_key: a signing key is trusted only when the national root key \
                 certified it, and that key is taken from the configuration, never from the database. Put the root's \
                 public key into the file as root_public_key = \"HEX\" under [trust] (`ansinh keys generate --root` \
                 prints the line), or give another file with --config / ANSINH_CONFIG"
            )
        })
    }

    /// How people sign in with OpenID Connect, if `[oidc]` says.
    pub fn oidc(&self) -> Option<&oidc::Settings> {
        self.oidc.as_ref()
    }

    /// The key of the audit trail's person hashes, or an error saying where to put one.
    pub fn person_key(&self) -> anyhow::Result<&PersonKey> {
        self.person_key.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no [audit] person_key: people appear in the audit trail as a hash under that key. Make one \
                 with `ansinh audit new-key`, put it in the file as person_key = \"...\" under [audit], and keep it \
                 with the other secrets of the deployment",
                self.path.display()
            )
        })
    }

    /// The treasury of `province`, or an error saying what to add where.
    pub fn treasury(&self, province: &str) -> anyhow::Result<&Treasury> {
        if let Some(treasury) = self.treasuries.get(province) {
            return Ok(treasury);
        }
        let name = provinces::name(province).unwrap_or("?");
        let file = self.path.display();
        let missing = if self.found { "has no" } else { "does not exist, so there is no" };
        bail!(
            "{file} {missing} treasury account for province {province} ({name}): add a table [treasury.\"{province}\"] \
             with holder, account and bin (the 6-digit BIN of its bank), or give another file with --config / \
             ANSINH_CONFIG"
        )
    }
}

/// Refuse a file that holds `secret` (e.g. "a signing key") if its group or
/// others may read it (or write it: replace the secret): whoever shares the
/// machine would have it. `file` is the file as opened, so the mode checked is that of the
/// file read, not of whatever is at `path` a moment later. The error names
/// the file, its mode and the exact `chmod` that makes it private.
pub fn check_owner_only(path: &Path, file: &std::fs::File, secret: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            file.metadata().with_context(|| format!("reading the mode of {}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            let may = if mode & 0o044 != 0 { "read" } else { "change" };
            bail!(
                "{} holds {secret}, but its group or others may {may} it (mode {:04o}): a file with a secret must \
                 be its owner's alone. Run `chmod 600 {}` and try again",
                path.display(),
                mode & 0o7777,
                shell_quoted(path)
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file, secret);
    Ok(())
}

/// `path` as one shell word, so that the `chmod` shown can be pasted as it is.
fn shell_quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%".contains(&b));
    if plain { text } else { format!("'{}'", text.replace('\'', "'\\''")) }
}

/// `[trust]`, checked; its paths taken relative to the folder of the file at `path`.
fn trust(path: &Path, raw: RawTrust) -> anyhow::Result<Trust> {
    let root = public_key(&raw.root_public_key)
        .with_context(|| format!("trust.root_public_key = {:?}", raw.root_public_key))?;
    let tip_public_key = match raw.tip_public_key {
        Some(hex) => Some(public_key(&hex).with_context(|| format!("trust.tip_public_key = {hex:?}"))?),
        None => None,
    };
    let folder = path.parent().unwrap_or(Path::new(""));
    let beside = |p: PathBuf| if p.is_relative() { folder.join(p) } else { p };
    Ok(Trust {
        root: TrustRoot { key: root, source: format!("{} [trust] root_public_key", path.display()) },
        tip_key: raw.tip_key.map(beside),
        tips: raw.tips.map(beside),
        tip_public_key,
    })
}

/// An ed25519 public key written as 64 hex digits.
pub fn public_key(text: &str) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("expected an ed25519 public key as 64 hex digits"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| anyhow::anyhow!("64 hex digits, but not an ed25519 public key"))
}

/// `[oidc]`, checked.
fn oidc_settings(raw: RawOidc) -> anyhow::Result<oidc::Settings> {
    let issuer = raw.issuer;
    oidc::provider_url(&issuer).with_context(|| {
        format!("oidc.issuer = {issuer:?}: expected the OpenID provider's issuer, exactly as its tokens name it in iss")
    })?;
    let audience = raw.audience;
    if audience.trim().is_empty() || audience.trim() != audience || audience.chars().any(char::is_control) {
        bail!(
            "oidc.audience = {audience:?}: expected this service as the provider's access tokens name it in aud (its \
             resource indicator or client id), on one line"
        );
    }
    let jwks_uri = match raw.jwks_uri {
        Some(uri) => Some(oidc::provider_url(&uri).with_context(|| format!("oidc.jwks_uri = {uri:?}"))?),
        None => None,
    };
    let algorithms = match raw.algorithms {
        Some(names) if names.is_empty() => {
            bail!("oidc.algorithms = []: expected the signature algorithms to accept, e.g. [\"RS256\", \"ES256\"]")
        }
        Some(names) => names
            .iter()
            .map(|name| oidc::algorithm(name).with_context(|| format!("oidc.algorithms: {name:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?,
        None => oidc::DEFAULT_ALGORITHMS.to_vec(),
    };
    let leeway = match raw.leeway_seconds {
        Some(seconds @ 0..=300) => std::time::Duration::from_secs(seconds),
        Some(seconds) => bail!("oidc.leeway_seconds = {seconds}: expected 0 to 300"),
        None => oidc::DEFAULT_LEEWAY,
    };
    let refetch = match raw.jwks_refetch_seconds {
        Some(seconds @ 1..=3600) => std::time::Duration::from_secs(seconds),
        Some(seconds) => bail!("oidc.jwks_refetch_seconds = {seconds}: expected 1 to 3600"),
        None => oidc::DEFAULT_REFETCH,
    };
    let client = match (raw.client_id, raw.redirect_uri) {
        (None, None) => None,
        (Some(id), Some(uri)) => {
            if id.trim().is_empty() || id.trim() != id || id.chars().any(char::is_control) {
                bail!("oidc.client_id = {id:?}: expected the pages' client id at the provider, on one line");
            }
            let redirect_uri =
                oidc::provider_url(&uri).ok().filter(|url| url.path() == "/sign-in/callback").with_context(|| {
                    format!(
                        "oidc.redirect_uri = {uri:?}: expected this service's address and /sign-in/callback, as \
                         registered at the provider (https://, or http:// on loopback)"
                    )
                })?;
            Some(oidc::PageClient { id, redirect_uri })
        }
        (Some(_), None) | (None, Some(_)) => {
            bail!(
                "[oidc]: client_id and redirect_uri go together (the pages' sign-in through the provider), or neither"
            )
        }
    };
    Ok(oidc::Settings { issuer, audience, jwks_uri, algorithms, leeway, refetch, client })
}

/// One debtor account, checked against what a pain.001 can carry.
fn account(key: &str, holder: String, account: String, bin: String) -> anyhow::Result<Payer> {
    let text = |field: &str, value: &str, max: usize| -> anyhow::Result<()> {
        let len = value.chars().count();
        if value.trim().is_empty() || len > max || value.chars().any(char::is_control) {
            bail!("{key}.{field} = {value:?}: expected 1 to {max} characters on one line");
        }
        Ok(())
    };
    text("holder", &holder, 140)?;
    text("account", &account, 34)?;
    if bin.len() != 6 || !bin.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{key}.bin = {bin:?}: expected the 6-digit NAPAS BIN of the treasury's bank, e.g. \"970415\"");
    }
    Ok(Payer { name: holder, account, bin })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Config> {
        Config::parse(Path::new("conf/ansinh.toml"), text)
    }

    const HANOI: &str = "[treasury.\"001\"]\nholder = \"KHO BAC NHA NUOC HA NOI\"\naccount = \"3711000000001\"\n\
                         bin = \"970415\"\n";

    #[test]
    fn reads_a_province_with_and_without_an_ewallet_account() {
        let config = parse(HANOI).unwrap();
        let t = config.treasury("001").unwrap();
        assert_eq!(t.bank.account, "3711000000001");
        assert_eq!((&t.ewallet, t.bank_csv), (&None, false));
        assert_eq!(t.ewallet_payer(), &t.bank);

        let text = format!(
            "{HANOI}bank_csv = true\n[treasury.\"001\".ewallet]\nholder = \"KB HN\"\naccount = \"2\"\nbin = \"970436\"\n"
        );
        let config = parse(&text).unwrap();
        let t = config.treasury("001").unwrap();
        assert!(t.bank_csv);
        assert_eq!(t.ewallet_payer().bin, "970436");
    }

    #[test]
    fn errors_name_the_file_the_key_and_what_was_expected() {
        let err = |text: &str| format!("{:#}", parse(text).unwrap_err());
        let said = err(&HANOI.replace("970415", "97041"));
        assert!(said.contains("conf/ansinh.toml") && said.contains("treasury.\"001\".bin = \"97041\""), "{said}");
        assert!(said.contains("6-digit"), "{said}");
        let said = err(&HANOI.replace("\"001\"", "\"003\""));
        assert!(said.contains("[treasury.\"003\"]: expected a 3-digit province code"), "{said}");
        let said =
            err(&format!("{HANOI}[treasury.\"001\".ewallet]\nholder = \"\"\naccount = \"2\"\nbin = \"970415\"\n"));
        assert!(said.contains("treasury.\"001\".ewallet.holder"), "{said}");
        let said = err(&HANOI.replace("holder", "holdr"));
        assert!(said.contains("conf/ansinh.toml") && said.contains("holdr"), "{said}");
        let said = err(&HANOI.replace("account = ", "account = 3 #"));
        assert!(said.contains("line"), "{said}");
    }

    #[test]
    fn reads_the_audit_key_and_says_where_one_is_missing() {
        let key = "ab".repeat(32);
        let config = parse(&format!("{HANOI}[audit]\nperson_key = \"{key}\"\n")).unwrap();
        assert_eq!(config.person_key().unwrap(), &PersonKey::parse(&key).unwrap());
        let said = parse(HANOI).unwrap().person_key().unwrap_err().to_string();
        assert!(said.contains("conf/ansinh.toml has no [audit] person_key"), "{said}");
        let said = format!("{:#}", parse("[audit]\nperson_key = \"12\"\n").unwrap_err());
        assert!(said.contains("audit.person_key") && said.contains("64 hex digits"), "{said}");
    }

    #[test]
    fn reads_oidc_and_refuses_what_would_let_others_in() {
        assert!(parse(HANOI).unwrap().oidc().is_none(), "no [oidc]: OIDC is off");
        let oidc = "[oidc]\nissuer = \"https://id.example.gov.vn/realms/ansinh\"\naudience = \"urn:ansinh\"\n";
        let config = parse(oidc).unwrap();
        let settings = config.oidc().unwrap();
        assert_eq!(
            (settings.issuer.as_str(), settings.audience.as_str()),
            ("https://id.example.gov.vn/realms/ansinh", "urn:ansinh")
        );
        assert_eq!(settings.algorithms, oidc::DEFAULT_ALGORITHMS);
        assert_eq!(
            (settings.jwks_uri.as_ref(), settings.leeway, settings.refetch),
            (None, oidc::DEFAULT_LEEWAY, oidc::DEFAULT_REFETCH)
        );
        let full = format!(
            "{oidc}jwks_uri = \"https://id.example.gov.vn/certs\"\nalgorithms = [\"ES256\"]\nleeway_seconds = 0\n\
             jwks_refetch_seconds = 2\n"
        );
        let config = parse(&full).unwrap();
        let settings = config.oidc().unwrap();
        assert_eq!(settings.jwks_uri.as_ref().unwrap().as_str(), "https://id.example.gov.vn/certs");
        assert_eq!(settings.algorithms, [jsonwebtoken::Algorithm::ES256]);
        assert_eq!((settings.leeway.as_secs(), settings.refetch.as_secs()), (0, 2));

        let err = |text: &str| format!("{:#}", parse(text).unwrap_err());
        for (text, says) in [
            (oidc.replace("https://id", "http://id"), "oidc.issuer"),
            (oidc.replace("urn:ansinh", ""), "oidc.audience"),
            (format!("{oidc}algorithms = [\"RS256\", \"HS256\"]\n"), "oidc.algorithms: \"HS256\""),
            (format!("{oidc}algorithms = [\"none\"]\n"), "unsigned token"),
            (format!("{oidc}algorithms = []\n"), "oidc.algorithms = []"),
            (format!("{oidc}jwks_uri = \"http://id.example.gov.vn/certs\"\n"), "oidc.jwks_uri"),
            (format!("{oidc}leeway_seconds = 3600\n"), "oidc.leeway_seconds = 3600"),
            (format!("{oidc}jwks_refetch_seconds = 0\n"), "oidc.jwks_refetch_seconds = 0"),
            (format!("{oidc}clock_skew = 1\n"), "clock_skew"),
            ("[oidc]\naudience = \"urn:ansinh\"\n".to_owned(), "issuer"),
        ] {
            let said = err(&text);
            assert!(said.contains("conf/ansinh.toml") && said.contains(says), "{text}: {said}");
        }
    }

    #[test]
    fn reads_the_trust_root_and_says_how_to_configure_one() {
        let root = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        let hex = hex::encode(root.as_bytes());
        let config = parse(&format!("[trust]\nroot_public_key = \"{hex}\"\n")).unwrap();
        assert_eq!(config.root().unwrap().key, root);
        assert_eq!(config.root().unwrap().source, "conf/ansinh.toml [trust] root_public_key");
        assert!(config.trust().unwrap().tip_key.is_none());
        let text = format!(
            "[trust]\nroot_public_key = \"{hex}\"\ntip_key = \"tip.pem\"\ntips = \"/var/tips\"\ntip_public_key = \"{hex}\"\n"
        );
        let config = parse(&text).unwrap();
        let trust = config.trust().unwrap();
        assert_eq!(trust.tip_key.as_deref(), Some(Path::new("conf/tip.pem")), "beside the file");
        assert_eq!(trust.tips.as_deref(), Some(Path::new("/var/tips")));
        assert_eq!(trust.tip_public_key, Some(root));

        let said = parse(HANOI).unwrap().root().unwrap_err().to_string();
        assert!(said.contains("conf/ansinh.toml has no [trust] root_public_key"), "{said}");
        assert!(said.contains("keys generate --root"), "{said}");
        let missing = Config { path: "nowhere/ansinh.toml".into(), ..Config::default() };
        let said = missing.root().unwrap_err().to_string();
        assert!(said.contains("nowhere/ansinh.toml does not exist, so there is no [trust]"), "{said}");
        let err = |text: &str| format!("{:#}", parse(text).unwrap_err());
        for (text, says) in [
            ("[trust]\nroot_public_key = \"12\"\n".to_owned(), "trust.root_public_key = \"12\": expected an ed25519"),
            (format!("[trust]\nroot_public_key = \"{hex}\"\ntip_public_key = \"zz\"\n"), "trust.tip_public_key"),
            (format!("[trust]\nroot_key = \"{hex}\"\n"), "root_key"),
            ("[trust]\n".to_owned(), "root_public_key"),
        ] {
            let said = err(&text);
            assert!(said.contains("conf/ansinh.toml") && said.contains(says), "{text}: {said}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_open_to_others_is_refused_with_the_chmod_to_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my conf.toml");
        let key = "ab".repeat(32);
        std::fs::write(&path, format!("{HANOI}[audit]\nperson_key = \"{key}\"\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let said = Config::load(Some(&path)).unwrap_err().to_string();
        let quoted = format!("'{}'", path.display());
        assert!(said.contains("holds [audit] person_key") && said.contains("(mode 0644)"), "{said}");
        assert!(said.contains(&format!("`chmod 600 {quoted}`")), "{said}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Config::load(Some(&path)).is_ok());
        // Without a secret, the group may read it.
        std::fs::write(&path, HANOI).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Config::load(Some(&path)).is_ok());
    }

    #[test]
    fn a_province_without_a_treasury_says_what_to_add() {
        let said = parse(HANOI).unwrap().treasury("031").unwrap_err().to_string();
        assert!(said.contains("conf/ansinh.toml has no treasury account for province 031 (Hải Phòng)"), "{said}");
        assert!(said.contains("[treasury.\"031\"]"), "{said}");
        let missing = Config { path: "nowhere/ansinh.toml".into(), ..Config::default() };
        let said = missing.treasury("001").unwrap_err().to_string();
        assert!(said.contains("nowhere/ansinh.toml does not exist, so there is no treasury account"), "{said}");
        let said = format!("{:#}", Config::load(Some(Path::new("nowhere/ansinh.toml"))).unwrap_err());
        assert!(said.contains("reading the configuration nowhere/ansinh.toml"), "{said}");
    }
}
