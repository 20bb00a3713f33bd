//! Plug-ins stored content-addressed: the key is the sha256 of the bytes.

use chrono::Utc;

use ansinh_sandbox::{Plugin, PluginHash};

use crate::model::PluginName;

use super::{Db, on_pool};

/// Store a loaded plug-in's bytes (idempotent: the same bytes, the same row).
pub async fn store(db: &Db, plugin: &Plugin, bytes: &[u8]) -> anyhow::Result<()> {
    let d = plugin.description();
    let description = serde_json::to_string(d)?;
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO plugins (hash, name, version, description, bytes, added_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(plugin.hash().to_string())
        .bind(&d.name)
        .bind(&d.version)
        .bind(description)
        .bind(bytes)
        .bind(Utc::now())
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The exact bytes stored under `hash`.
pub async fn bytes(db: &Db, hash: PluginHash) -> anyhow::Result<Vec<u8>> {
    find(db, hash).await?.ok_or_else(|| anyhow::anyhow!("no plug-in with hash {hash} is stored"))
}

/// The bytes stored under `hash`, if any.
pub async fn find(db: &Db, hash: PluginHash) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT bytes FROM plugins WHERE hash = $1").bind(hash.to_string()).fetch_optional(pool).await?
    }))
}

/// Name and version of a stored plug-in.
pub async fn name(db: &Db, hash: PluginHash) -> anyhow::Result<PluginName> {
    let found: Option<(String, String)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT name, version FROM plugins WHERE hash = $1").bind(hash.to_string()).fetch_optional(pool).await?
    });
    let (name, version) = found.ok_or_else(|| anyhow::anyhow!("no plug-in with hash {hash} is stored"))?;
    Ok(PluginName { name, version })
}
