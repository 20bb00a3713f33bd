//! `ansinh keys …`: the ed25519 keys that sign plug-in releases, the national
//! root key that certifies them, and the key of the audit log's signed tips.
//!
//! `generate` and `certify` work offline (no database, no account): a key's
//! secret is made where it is kept, and the root's holder certifies a public
//! key without touching any installation. `register`, `list` and `revoke`
//! work on the database, as an account.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;

use crate::accounts::{Act, Place};
use crate::app::{App, Settings};
use crate::format::Shown;
use crate::release::certificate::{self, Certificate};
use crate::release::{self, Registered, keys};
use crate::store;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a new ed25519 key pair: writes FILE (secret, owner-only) and FILE with .pub (public).
    /// Offline: needs no database and no account, and registers nothing. With --authority, a
    /// key that signs that authority's releases once the root certifies it (prints its id);
    /// with --root, the national root key (prints its [trust] root_public_key line); with
    /// --tip, the key `serve` signs the audit log's tip with (prints its tip_public_key line).
    Generate {
        /// `national`, or the 3-digit code of the province the key signs for.
        #[arg(long, required_unless_present_any = ["root", "tip"], conflicts_with_all = ["root", "tip"])]
        authority: Option<String>,
        /// Make the national root key, which certifies signing keys.
        #[arg(long, conflicts_with = "tip")]
        root: bool,
        /// Make the key that signs the audit log's tip (`serve --tip-key`).
        #[arg(long)]
        tip: bool,
        /// Where to write the secret key (PKCS#8 PEM); never replaced.
        #[arg(long)]
        out: PathBuf,
    },
    /// Certify, with the national root key, that a public key signs for an authority: writes
    /// the certificate `keys register` takes. Offline: needs no database and no account.
    Certify {
        /// The national root key's secret file (`keys generate --root`; owner-only).
        #[arg(long, value_name = "FILE")]
        root_key: PathBuf,
        /// `national`, or the 3-digit code of the province the key signs for.
        #[arg(long)]
        authority: String,
        /// The public key file (PEM) to certify.
        public: PathBuf,
        /// Where to write the certificate (JSON); never replaced.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The last day (YYYY-MM-DD, UTC) the certificate is valid; without it, until revoked.
        #[arg(long, value_name = "DAY")]
        not_after: Option<NaiveDate>,
    },
    /// Register the public half of a key with the national root's certificate of it (`keys
    /// certify`), checked against [trust] root_public_key of the configuration. A key already
    /// registered takes the new certificate. Needs an author of the key's authority.
    #[command(alias = "add")]
    Register {
        #[arg(long)]
        authority: String,
        /// The public key file (PEM).
        public: PathBuf,
        /// The certificate of `keys certify`.
        #[arg(long, value_name = "FILE")]
        certificate: PathBuf,
    },
    /// List the registered keys, and whether each one's certificate holds.
    List,
    /// Revoke a key: releases it signed are no longer run. Needs an author's token.
    Revoke { id: String },
}

impl KeysCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        match self {
            KeysCommand::Generate { authority, root, tip, out } => return generate(authority, root, tip, &out),
            KeysCommand::Certify { root_key, authority, public, out, not_after } => {
                return certify(&root_key, &authority, &public, &out, not_after);
            }
            _ => {}
        }
        let app = App::connect(settings).await?;
        match self {
            KeysCommand::Register { authority, public, certificate } => {
                keys::check_authority(&authority)?;
                let what = format!("authority {authority}");
                let by = app.acting(Act::Author, Place::Authority(&authority), &what).await?.actor;
                let root = app.config.root()?;
                let key = keys::read_public(&public)?;
                let text = std::fs::read_to_string(&certificate)
                    .map_err(|e| anyhow::anyhow!("reading the certificate {}: {e}", certificate.display()))?;
                let (id, registered) = release::register_key(&app.db, root, &authority, &key, &text, &by).await?;
                match registered {
                    Registered::Added => {
                        esayln!("Registered key {id} for {authority}, certified by the national root.")
                    }
                    Registered::Certified => esayln!("Key {id} of {authority} now has the new certificate."),
                }
                sayln!("{id}");
            }
            KeysCommand::List => {
                app.acting(Act::ReadReleases, Place::Anywhere, "key").await?;
                let root = app.config.root().ok();
                let today = chrono::Utc::now().date_naive();
                for key in store::keys::list(&app.db).await? {
                    let state = match (&key.revoked_at, &key.revoked_by) {
                        (Some(at), by) => format!("revoked {} by {}", at.date_naive(), by.as_deref().unwrap_or("?")),
                        (None, _) => "active".to_owned(),
                    };
                    let certified = match root {
                        None => "certificate not checked (no [trust] root_public_key)".to_owned(),
                        Some(root) => match certificate::check_stored(&key, root, today) {
                            Ok(()) => match key.certificate.as_deref().and_then(|c| Certificate::parse(c).ok()) {
                                Some(c) => match c.not_after {
                                    Some(day) => format!("certified until {day}"),
                                    None => "certified".to_owned(),
                                },
                                None => "certified".to_owned(),
                            },
                            Err(_) if key.certificate.is_none() => "NOT CERTIFIED: no certificate".to_owned(),
                            Err(_) => "NOT CERTIFIED: its certificate does not hold".to_owned(),
                        },
                    };
                    sayln!(
                        "{}  {:<8}  added {} by {}  {state}  {certified}",
                        key.id,
                        key.authority,
                        key.added_at.date_naive(),
                        Shown(&key.added_by)
                    );
                }
            }
            KeysCommand::Revoke { id } => {
                let authority = store::keys::get(&app.db, &id).await?.map(|key| key.authority).unwrap_or_default();
                let what = format!("key {id}");
                let by = app.acting(Act::Author, Place::Authority(&authority), &what).await?.actor;
                release::revoke_key(&app.db, &id, &by).await?;
                esayln!("Revoked key {id}.");
            }
            KeysCommand::Generate { .. } | KeysCommand::Certify { .. } => unreachable!("handled above"),
        }
        app.db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}

/// `keys generate`: a key pair into files, and nothing else. clap takes
/// exactly one of `authority`, `root` and `tip`.
fn generate(authority: Option<String>, root: bool, tip: bool, out: &Path) -> anyhow::Result<ExitCode> {
    if let Some(authority) = &authority {
        keys::check_authority(authority)?;
    }
    anyhow::ensure!(
        out.extension().is_none_or(|e| e != "pub"),
        "--out {}: the secret key's file must not end in .pub (its public half goes there)",
        out.display()
    );
    let key = keys::generate()?;
    let public = keys::write_pair(out, &key)?;
    let id = keys::key_id(&key.verifying_key());
    let public_hex = hex::encode(key.verifying_key().as_bytes());
    let files =
        format!("secret key: {} (unencrypted PEM, owner-only); public key: {}", out.display(), public.display());
    match authority {
        Some(authority) => {
            esayln!("Made key {id} for {authority}: {files}.");
            esayln!(
                "Next: the national root key's holder certifies it (`ansinh keys certify --root-key ROOT.pem \
                 --authority {authority} {} --out CERT`), then an author of {authority} registers it with that \
                 certificate (`ansinh keys register --authority {authority} {} --certificate CERT`).",
                public.display(),
                public.display()
            );
            sayln!("{id}");
        }
        None if root && !tip => {
            esayln!(
                "Made the national root key {id}: {files}. Keep the secret key offline: it certifies signing keys."
            );
            esayln!("Put the line below under [trust] in the configuration of every installation that trusts it.");
            sayln!("root_public_key = \"{public_hex}\"");
        }
        None => {
            esayln!("Made the audit tip key {id}: {files}. Give the secret key to `ansinh serve --tip-key`.");
            esayln!("Put the line below under [trust] in the configuration `audit verify --tips` reads.");
            sayln!("tip_public_key = \"{public_hex}\"");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keys certify`: the root's certificate of a public key, into a file.
fn certify(
    root_key: &Path,
    authority: &str,
    public: &Path,
    out: &Path,
    not_after: Option<NaiveDate>,
) -> anyhow::Result<ExitCode> {
    keys::check_authority(authority)?;
    let root = keys::read_secret(root_key)?;
    let key = keys::read_public(public)?;
    let certificate = Certificate::issue(&root, authority, &key, not_after, chrono::Utc::now())?;
    keys::write_new(out, certificate.to_text().as_bytes(), 0o644)?;
    let until = certificate.not_after.as_deref().map(|d| format!(", valid through {d}")).unwrap_or_default();
    esayln!(
        "Certified key {} for {authority} with the root key {}{until}: {}.",
        certificate.key_id,
        certificate.root_key_id,
        out.display()
    );
    esayln!(
        "Next: an author of {authority} registers it (`ansinh keys register --authority {authority} {} --certificate \
         {}`).",
        public.display(),
        out.display()
    );
    sayln!("{}", certificate.key_id);
    Ok(ExitCode::SUCCESS)
}
