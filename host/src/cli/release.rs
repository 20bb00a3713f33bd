//! `ansinh keys …` and the release steps of `ansinh plugin …`: upload, sign,
//! approve, activate, retire, releases.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::app::{App, Settings};
use crate::model::Month;
use crate::release::{self, keys};
use crate::store::{keys as stored_keys, releases};

/// What `run diff` found for a release's plug-in over past runs, as recorded: what its approver
/// should have seen.
async fn print_what_ifs(db: &crate::store::Db, id: i64) -> anyhow::Result<()> {
    let hash = releases::get(db, id).await?.plugin_hash.to_string();
    let entries = crate::store::audit::what_ifs(db, &hash).await?;
    if entries.is_empty() {
        println!(
            "No what-if of this plug-in is on record: `ansinh run diff RUN --plugin FILE` shows what it would change."
        );
    }
    for e in entries {
        let summary = serde_json::from_str(&e.details).unwrap_or_default();
        println!(
            "What-if over {} ({}, {}): {}",
            e.subject,
            e.actor,
            e.at,
            crate::run::diff::WhatIf::summary_line(&summary)
        );
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a new ed25519 key for an authority: writes FILE (secret, owner-only)
    /// and FILE.pub, and registers the public half. Needs --as.
    Generate {
        /// `national`, or the 3-digit code of the province the key signs for.
        #[arg(long)]
        authority: String,
        /// Where to write the secret key (PKCS#8 PEM); never replaced.
        #[arg(long)]
        out: PathBuf,
    },
    /// Register the public half of a key made elsewhere (e.g. `openssl genpkey
    /// -algorithm ed25519`, then `openssl pkey -pubout`). Needs --as.
    Add {
        #[arg(long)]
        authority: String,
        /// The public key file (PEM).
        public: PathBuf,
    },
    /// List the registered keys.
    List,
    /// Revoke a key: releases it signed are no longer run. Needs --as.
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum ReleaseCommand {
    /// Upload a plug-in with its own test cases as a new release; prints the
    /// release's id. Needs --as.
    Upload {
        /// The plug-in component (.wasm).
        plugin: PathBuf,
        /// The YAML cases shipped with the release (approval runs them).
        #[arg(long)]
        cases: PathBuf,
        /// The programme, when the plug-in serves more than one.
        #[arg(long)]
        program: Option<String>,
    },
    /// Sign an uploaded release with the authority's secret key. Needs --as.
    Sign {
        release: i64,
        /// The secret key file of `ansinh keys generate`.
        #[arg(long)]
        key: PathBuf,
    },
    /// Approve a signed release after running its cases and comparing its fuel
    /// with the active release's; a person who neither uploaded nor signed it. Needs --as.
    Approve {
        release: i64,
        /// Refuse if the cases take more than this many times the fuel of the
        /// active release of the same authority and programme.
        #[arg(long, default_value_t = 1.5, value_parser = fuel_growth)]
        max_fuel_growth: f64,
    },
    /// Put an approved release in force from a month (YYYY-MM). Needs --as.
    Activate {
        release: i64,
        #[arg(long)]
        from: Month,
    },
    /// Retire (or withdraw) a release: it is chosen for no month any more. Needs --as.
    Retire { release: i64 },
    /// List releases with their state and effective month.
    Releases,
}

/// A growth factor: a finite number of at least 1.
fn fuel_growth(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(factor) if factor.is_finite() && factor >= 1.0 => Ok(factor),
        _ => Err(format!("expected a number of at least 1, e.g. 1.5, not {text:?}")),
    }
}

pub async fn keys(global: &Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let app = App::connect(global).await?;
    match command {
        KeysCommand::Generate { authority, out } => {
            let by = App::actor(global)?;
            keys::check_authority(&authority)?;
            anyhow::ensure!(
                out.extension().is_none_or(|e| e != "pub"),
                "--out {}: the secret key's file must not end in .pub (its public half goes there)",
                out.display()
            );
            let key = keys::generate()?;
            let public = keys::write_pair(&out, &key)?;
            let id = match release::register_key(&app.db, &authority, &key.verifying_key(), by).await {
                Ok(id) => id,
                Err(e) => {
                    // An unregistered key is of no use: leave nothing behind.
                    let _ = std::fs::remove_file(&out);
                    let _ = std::fs::remove_file(&public);
                    return Err(e);
                }
            };
            eprintln!("Registered key {id} for {authority}.");
            eprintln!(
                "Secret key: {} (unencrypted PEM, owner-only: keep it offline); public key: {}",
                out.display(),
                public.display()
            );
            println!("{id}");
        }
        KeysCommand::Add { authority, public } => {
            let by = App::actor(global)?;
            let key = keys::read_public(&public)?;
            let id = release::register_key(&app.db, &authority, &key, by).await?;
            eprintln!("Registered key {id} for {authority}.");
            println!("{id}");
        }
        KeysCommand::List => {
            for key in stored_keys::list(&app.db).await? {
                let state = match (&key.revoked_at, &key.revoked_by) {
                    (Some(at), by) => format!("revoked {} by {}", at.date_naive(), by.as_deref().unwrap_or("?")),
                    (None, _) => "active".to_owned(),
                };
                println!(
                    "{}  {:<8}  added {} by {}  {state}",
                    key.id,
                    key.authority,
                    key.added_at.date_naive(),
                    key.added_by
                );
            }
        }
        KeysCommand::Revoke { id } => {
            let by = App::actor(global)?;
            release::revoke_key(&app.db, &id, by).await?;
            eprintln!("Revoked key {id}.");
        }
    }
    app.db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn release(global: &Settings, command: ReleaseCommand) -> anyhow::Result<ExitCode> {
    let app = App::connect(global).await?;
    let (db, sandbox) = (&app.db, &app.sandbox);
    match command {
        ReleaseCommand::Upload { plugin, cases, program } => {
            let by = App::actor(global)?;
            let bytes = std::fs::read(&plugin).with_context(|| format!("reading the plug-in {}", plugin.display()))?;
            let yaml = std::fs::read_to_string(&cases).with_context(|| format!("reading {}", cases.display()))?;
            let source = cases.display().to_string();
            let id = release::upload(db, sandbox, &bytes, &yaml, &source, program.as_deref(), by)
                .await
                .with_context(|| format!("uploading {}", plugin.display()))?;
            eprintln!("Uploaded release {id}; next: `ansinh plugin sign {id} --key FILE`.");
            println!("{id}");
        }
        ReleaseCommand::Sign { release: id, key } => {
            let by = App::actor(global)?;
            let key = keys::read_secret(&key)?;
            let key_id = release::sign(db, id, &key, by).await?;
            eprintln!("Signed release {id} with key {key_id}; next: a second person approves it.");
        }
        ReleaseCommand::Approve { release: id, max_fuel_growth } => {
            let by = App::actor(global)?;
            let approval = release::approve(db, sandbox, id, by, max_fuel_growth).await?;
            println!("Approved release {id}: {approval}.");
            print_what_ifs(db, id).await?;
        }
        ReleaseCommand::Activate { release: id, from } => {
            let by = App::actor(global)?;
            release::activate(db, sandbox, id, from, by).await?;
            println!("Release {id} is in force from {from}.");
        }
        ReleaseCommand::Retire { release: id } => {
            let by = App::actor(global)?;
            release::retire(db, id, by).await?;
            println!("Release {id} is retired.");
        }
        ReleaseCommand::Releases => {
            for r in releases::list(db).await? {
                let (name, version) = crate::store::plugins::name_version(db, r.plugin_hash).await?;
                let from = r.effective_from.map(|m| format!("from {m}")).unwrap_or_default();
                let approval = r.approval.map(|a| format!("\n      approval {a}")).unwrap_or_default();
                println!(
                    "{:>4}  {:<9} {:<8}  {:<18}  {name} {version}  {from}\n      sha256 {}  uploaded by {}{}{}{approval}",
                    r.id,
                    r.state.as_str(),
                    r.authority,
                    r.program,
                    r.plugin_hash,
                    r.uploaded_by,
                    r.signed_by.map(|s| format!(", signed by {s}")).unwrap_or_default(),
                    r.approved_by.map(|a| format!(", approved by {a}")).unwrap_or_default(),
                );
            }
        }
    }
    app.db.close().await;
    Ok(ExitCode::SUCCESS)
}
