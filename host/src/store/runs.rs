//! Payment runs and their life: created → evaluated → issued.

use chrono::{DateTime, Utc};

use crate::model::Month;
use crate::sandbox::PluginHash;

use super::{Db, on_pool};

/// Where a run is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Created,
    Evaluated,
    Issued,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Created => "created",
            RunStatus::Evaluated => "evaluated",
            RunStatus::Issued => "issued",
        }
    }

    fn parse(s: &str) -> anyhow::Result<RunStatus> {
        Ok(match s {
            "created" => RunStatus::Created,
            "evaluated" => RunStatus::Evaluated,
            "issued" => RunStatus::Issued,
            other => anyhow::bail!("unknown run status {other:?} in the database"),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Run {
    pub id: i64,
    pub program: String,
    pub province: String,
    pub period: Month,
    pub plugin_hash: PluginHash,
    /// The release that decides it (None only for runs made before releases).
    pub release_id: Option<i64>,
    pub status: RunStatus,
    pub created_at: DateTime<Utc>,
    pub evaluated_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    /// Who created, evaluated and issued it (`--as`; None for runs made before it was kept).
    pub created_by: Option<String>,
    pub evaluated_by: Option<String>,
    pub issued_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    program: String,
    province: String,
    period: String,
    plugin_hash: String,
    release_id: Option<i64>,
    status: String,
    created_at: DateTime<Utc>,
    evaluated_at: Option<DateTime<Utc>>,
    issued_at: Option<DateTime<Utc>>,
    created_by: Option<String>,
    evaluated_by: Option<String>,
    issued_by: Option<String>,
}

pub async fn create(
    db: &Db,
    program: &str,
    province: &str,
    period: Month,
    plugin: PluginHash,
    release_id: i64,
    by: &str,
) -> anyhow::Result<i64> {
    let id = on_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO runs (program, province, period, plugin_hash, release_id, status, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, 'created', $6, $7) RETURNING id",
        )
        .bind(program)
        .bind(province)
        .bind(period.to_string())
        .bind(plugin.to_string())
        .bind(release_id)
        .bind(Utc::now())
        .bind(by)
        .fetch_one(pool)
        .await?
    });
    Ok(id)
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Run> {
    let row: Option<RunRow> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, program, province, period, plugin_hash, release_id, status, created_at, evaluated_at, issued_at, \
             created_by, evaluated_by, issued_by \
             FROM runs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    let row =
        row.ok_or_else(|| anyhow::anyhow!("there is no run {id}; `ansinh run create --help` tells how to make one"))?;
    Ok(Run {
        id: row.id,
        program: row.program,
        province: row.province,
        period: row.period.parse().map_err(anyhow::Error::msg)?,
        plugin_hash: PluginHash::parse(&row.plugin_hash)
            .ok_or_else(|| anyhow::anyhow!("run {id}: stored plug-in hash is not a sha256"))?,
        release_id: row.release_id,
        status: RunStatus::parse(&row.status)?,
        created_at: row.created_at,
        evaluated_at: row.evaluated_at,
        issued_at: row.issued_at,
        created_by: row.created_by,
        evaluated_by: row.evaluated_by,
        issued_by: row.issued_by,
    })
}

/// created → evaluated, once every beneficiary has a decision.
pub async fn mark_evaluated(db: &Db, id: i64, by: &str) -> anyhow::Result<()> {
    on_pool!(db, pool => {
        sqlx::query(
            "UPDATE runs SET status = 'evaluated', evaluated_at = $2, evaluated_by = $3 WHERE id = $1 AND status = 'created'",
        )
            .bind(id)
            .bind(Utc::now())
            .bind(by)
            .execute(pool)
            .await?;
    });
    Ok(())
}
