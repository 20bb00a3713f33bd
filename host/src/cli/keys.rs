//! `ansinh keys …`: the ed25519 keys that sign plug-in releases.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::accounts::{Act, Place};
use crate::app::{App, Settings};
use crate::release::{self, keys};
use crate::store;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a new ed25519 key for an authority: writes FILE (secret, owner-only)
    /// and FILE.pub, and registers the public half. Needs an author's token.
    Generate {
        /// `national`, or the 3-digit code of the province the key signs for.
        #[arg(long)]
        authority: String,
        /// Where to write the secret key (PKCS#8 PEM); never replaced.
        #[arg(long)]
        out: PathBuf,
    },
    /// Register the public half of a key made elsewhere (e.g. `openssl genpkey
    /// -algorithm ed25519`, then `openssl pkey -pubout`). Needs an author's token.
    Add {
        #[arg(long)]
        authority: String,
        /// The public key file (PEM).
        public: PathBuf,
    },
    /// List the registered keys.
    List,
    /// Revoke a key: releases it signed are no longer run. Needs an author's token.
    Revoke { id: String },
}

impl KeysCommand {
    pub async fn execute(self, settings: &Settings) -> anyhow::Result<ExitCode> {
        let app = App::connect(settings).await?;
        match self {
            KeysCommand::Generate { authority, out } => {
                keys::check_authority(&authority)?;
                let what = format!("authority {authority}");
                let by = app.acting(Act::Author, Place::Authority(&authority), &what).await?.actor;
                anyhow::ensure!(
                    out.extension().is_none_or(|e| e != "pub"),
                    "--out {}: the secret key's file must not end in .pub (its public half goes there)",
                    out.display()
                );
                let key = keys::generate()?;
                let public = keys::write_pair(&out, &key)?;
                let id = match release::register_key(&app.db, &authority, &key.verifying_key(), &by).await {
                    Ok(id) => id,
                    Err(e) => {
                        // An unregistered key is of no use: leave nothing behind.
                        let _ = std::fs::remove_file(&out);
                        let _ = std::fs::remove_file(&public);
                        return Err(e);
                    }
                };
                esayln!("Registered key {id} for {authority}.");
                esayln!(
                    "Secret key: {} (unencrypted PEM, owner-only: keep it offline); public key: {}",
                    out.display(),
                    public.display()
                );
                sayln!("{id}");
            }
            KeysCommand::Add { authority, public } => {
                keys::check_authority(&authority)?;
                let what = format!("authority {authority}");
                let by = app.acting(Act::Author, Place::Authority(&authority), &what).await?.actor;
                let key = keys::read_public(&public)?;
                let id = release::register_key(&app.db, &authority, &key, &by).await?;
                esayln!("Registered key {id} for {authority}.");
                sayln!("{id}");
            }
            KeysCommand::List => {
                app.acting(Act::ReadReleases, Place::Anywhere, "key").await?;
                for key in store::keys::list(&app.db).await? {
                    let state = match (&key.revoked_at, &key.revoked_by) {
                        (Some(at), by) => format!("revoked {} by {}", at.date_naive(), by.as_deref().unwrap_or("?")),
                        (None, _) => "active".to_owned(),
                    };
                    sayln!(
                        "{}  {:<8}  added {} by {}  {state}",
                        key.id,
                        key.authority,
                        key.added_at.date_naive(),
                        key.added_by
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
        }
        app.db.close().await;
        Ok(ExitCode::SUCCESS)
    }
}
