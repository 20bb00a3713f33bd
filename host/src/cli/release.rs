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
        #[arg(long, default_value_t = 1.5)]
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

pub async fn keys(global: &Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let app = App::connect(global).await?;
    match command {
        KeysCommand::Generate { authority, out } => {
            let by = App::actor(global)?;
            keys::check_authority(&authority)?;
            let key = keys::generate()?;
            let public = keys::write_pair(&out, &key)?;
            let id = register(&app, &authority, &key.verifying_key(), by).await?;
            eprintln!("Secret key: {} (keep it secret); public key: {}", out.display(), public.display());
            println!("{id}");
        }
        KeysCommand::Add { authority, public } => {
            let by = App::actor(global)?;
            keys::check_authority(&authority)?;
            let key = keys::read_public(&public)?;
            println!("{}", register(&app, &authority, &key, by).await?);
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
            anyhow::ensure!(stored_keys::revoke(&app.db, &id, by).await?, "no active key {id} (`ansinh keys list`)");
            eprintln!("Revoked key {id}.");
        }
    }
    app.db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn register(app: &App, authority: &str, key: &ed25519_dalek::VerifyingKey, by: &str) -> anyhow::Result<String> {
    let id = keys::key_id(key);
    stored_keys::add(&app.db, &id, authority, &hex::encode(key.as_bytes()), by).await?;
    eprintln!("Registered key {id} for {authority}.");
    Ok(id)
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
                println!(
                    "{:>4}  {:<9} {:<8}  {:<18}  {name} {version}  {from}\n      sha256 {}  uploaded by {}{}{}",
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
