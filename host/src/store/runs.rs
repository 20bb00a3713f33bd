//! Payment runs and their life:
//!
//! ```text
//! created ─evaluate─▶ evaluated ─approve─▶ approved ─issue─▶ issued ─reconcile─▶ reconciled
//!    │                    │  ▲                 │
//!    └──────cancel────────┴──┼─────────────────┴──▶ cancelled
//!                            └─ approval void (what was approved changed)
//! ```
//!
//! Every move is one `UPDATE ... WHERE status = <from>`, so two processes
//! racing on the same run cannot both make it.

use chrono::{DateTime, Utc};

use crate::model::Month;
use ansinh_sandbox::PluginHash;

use super::{Db, Tx, on_pool, on_tx};

/// Where a run is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Created,
    Evaluated,
    Approved,
    /// Its payments being inserted, in parts, and checked against its
    /// approval: nothing sent yet. `run issue` finishes it, or undoes it.
    Issuing,
    Issued,
    Reconciled,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Created => "created",
            RunStatus::Evaluated => "evaluated",
            RunStatus::Approved => "approved",
            RunStatus::Issuing => "issuing",
            RunStatus::Issued => "issued",
            RunStatus::Reconciled => "reconciled",
            RunStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> anyhow::Result<RunStatus> {
        Ok(match s {
            "created" => RunStatus::Created,
            "evaluated" => RunStatus::Evaluated,
            "approved" => RunStatus::Approved,
            "issuing" => RunStatus::Issuing,
            "issued" => RunStatus::Issued,
            "reconciled" => RunStatus::Reconciled,
            "cancelled" => RunStatus::Cancelled,
            other => anyhow::bail!("unknown run status {other:?} in the database"),
        })
    }

    /// Whether payments have left: the run can no longer be cancelled.
    pub fn is_issued(self) -> bool {
        matches!(self, RunStatus::Issued | RunStatus::Reconciled)
    }
}

#[derive(Clone, Debug)]
pub struct Run {
    pub id: i64,
    pub program: String,
    pub province: String,
    /// The first month decided: earlier than `period` for a back-pay run.
    pub first_period: Month,
    /// The run's own month, the last it decides.
    pub period: Month,
    pub plugin_hash: PluginHash,
    /// The release that decides it (None only for runs made before releases).
    pub release_id: Option<i64>,
    pub status: RunStatus,
    pub created_at: DateTime<Utc>,
    pub evaluated_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    /// Who created, evaluated, approved and issued it (the accounts; None for runs
    /// made before it was kept).
    pub created_by: Option<String>,
    pub evaluated_by: Option<String>,
    pub approved_by: Option<String>,
    pub issued_by: Option<String>,
    /// JSON of what was approved (`run::approve::Approval`).
    pub approval: Option<String>,
    /// JSON of the last approval found void, if any.
    pub voided_approval: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
}

impl Run {
    /// The months this run decides, in order.
    pub fn months(&self) -> impl Iterator<Item = Month> {
        self.first_period.through(self.period)
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    program: String,
    province: String,
    first_period: String,
    period: String,
    plugin_hash: String,
    release_id: Option<i64>,
    status: String,
    created_at: DateTime<Utc>,
    evaluated_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    issued_at: Option<DateTime<Utc>>,
    created_by: Option<String>,
    evaluated_by: Option<String>,
    approved_by: Option<String>,
    issued_by: Option<String>,
    approval: Option<String>,
    voided_approval: Option<String>,
    cancelled_by: Option<String>,
    cancel_reason: Option<String>,
}

/// What a new run is for.
pub struct NewRun<'a> {
    pub program: &'a str,
    pub province: &'a str,
    pub first_period: Month,
    pub period: Month,
    pub plugin: PluginHash,
    pub release_id: i64,
    pub by: &'a str,
}

pub async fn create(tx: &mut Tx, run: &NewRun<'_>) -> anyhow::Result<i64> {
    let id = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "INSERT INTO runs (program, province, first_period, period, plugin_hash, release_id, status, created_at, \
             created_by) VALUES ($1, $2, $3, $4, $5, $6, 'created', $7, $8) RETURNING id",
        )
        .bind(run.program)
        .bind(run.province)
        .bind(run.first_period.to_string())
        .bind(run.period.to_string())
        .bind(run.plugin.to_string())
        .bind(run.release_id)
        .bind(Utc::now())
        .bind(run.by)
        .fetch_one(conn)
        .await?
    });
    Ok(id)
}

/// Run `id`; an error that says how to make one if there is none.
pub async fn get(db: &Db, id: i64) -> anyhow::Result<Run> {
    find(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no run {id}; `ansinh run create --help` tells how to make one"))
}

/// Run `id`, if there is one: None only when there is none, an error when the
/// database could not say.
pub async fn find(db: &Db, id: i64) -> anyhow::Result<Option<Run>> {
    let row: Option<RunRow> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, program, province, first_period, period, plugin_hash, release_id, status, created_at, \
             evaluated_at, approved_at, issued_at, created_by, evaluated_by, approved_by, issued_by, approval, \
             voided_approval, cancelled_by, cancel_reason FROM runs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    let Some(row) = row else { return Ok(None) };
    let month = |s: &str| s.parse::<Month>().map_err(|e| anyhow::anyhow!("run {id}: stored month: {e}"));
    Ok(Some(Run {
        id: row.id,
        program: row.program,
        province: row.province,
        first_period: month(&row.first_period)?,
        period: month(&row.period)?,
        plugin_hash: PluginHash::parse(&row.plugin_hash)
            .ok_or_else(|| anyhow::anyhow!("run {id}: stored plug-in hash is not a sha256"))?,
        release_id: row.release_id,
        status: RunStatus::parse(&row.status)?,
        created_at: row.created_at,
        evaluated_at: row.evaluated_at,
        approved_at: row.approved_at,
        issued_at: row.issued_at,
        created_by: row.created_by,
        evaluated_by: row.evaluated_by,
        approved_by: row.approved_by,
        issued_by: row.issued_by,
        approval: row.approval,
        voided_approval: row.voided_approval,
        cancelled_by: row.cancelled_by,
        cancel_reason: row.cancel_reason,
    }))
}

/// The latest run before `run` of the same programme and province for the
/// month before `run.period` that was not cancelled: what `run show` compares with.
pub async fn previous_month(db: &Db, run: &Run) -> anyhow::Result<Option<i64>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM runs WHERE program = $1 AND province = $2 AND period = $3 AND status <> 'cancelled' \
             AND status <> 'created' ORDER BY id DESC LIMIT 1",
        )
        .bind(&run.program)
        .bind(&run.province)
        .bind(run.period.previous().to_string())
        .fetch_optional(pool)
        .await?
    }))
}

/// created → evaluated, once every beneficiary has a decision. False when
/// another process moved it first.
pub async fn mark_evaluated(tx: &mut Tx, id: i64, by: &str) -> anyhow::Result<bool> {
    let moved = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE runs SET status = 'evaluated', evaluated_at = $2, evaluated_by = $3 WHERE id = $1 AND status = 'created'",
        )
        .bind(id)
        .bind(Utc::now())
        .bind(by)
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(moved == 1)
}

/// evaluated → approved, recording what was approved. False when the run was
/// no longer evaluated (another process moved it first).
pub async fn mark_approved(tx: &mut Tx, id: i64, by: &str, approval: &str) -> anyhow::Result<bool> {
    let moved = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE runs SET status = 'approved', approved_at = $2, approved_by = $3, approval = $4 \
             WHERE id = $1 AND status = 'evaluated'",
        )
        .bind(id)
        .bind(Utc::now())
        .bind(by)
        .bind(approval)
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(moved == 1)
}

/// approved → evaluated: what was approved changed, so the approval is void.
/// The void approval is kept in `voided_approval` with what changed.
pub async fn void_approval(tx: &mut Tx, id: i64, record: &str) -> anyhow::Result<()> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE runs SET status = 'evaluated', voided_approval = $2, approved_at = NULL, approved_by = NULL, \
             approval = NULL WHERE id = $1 AND status = 'approved'",
        )
        .bind(id)
        .bind(record)
        .execute(conn)
        .await?;
    });
    Ok(())
}

/// Any state before issue → cancelled. False when the run was issued (or
/// cancelled) meanwhile.
pub async fn mark_cancelled(tx: &mut Tx, id: i64, by: &str, reason: &str) -> anyhow::Result<bool> {
    let moved = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE runs SET status = 'cancelled', cancelled_at = $2, cancelled_by = $3, cancel_reason = $4 \
             WHERE id = $1 AND status IN ('created', 'evaluated', 'approved')",
        )
        .bind(id)
        .bind(Utc::now())
        .bind(by)
        .bind(reason)
        .execute(conn)
        .await?
        .rows_affected()
    });
    Ok(moved == 1)
}

/// Record the registry a run is evaluated against, unless one is recorded already; the one
/// recorded, which differs from `source` when the run was begun against another.
pub async fn record_registry_source(db: &Db, id: i64, source: &str) -> anyhow::Result<String> {
    let recorded: Option<String> = on_pool!(db, pool => {
        sqlx::query("UPDATE runs SET registry_source = $2 WHERE id = $1 AND registry_source IS NULL")
            .bind(id)
            .bind(source)
            .execute(pool)
            .await?;
        sqlx::query_scalar("SELECT registry_source FROM runs WHERE id = $1").bind(id).fetch_one(pool).await?
    });
    Ok(recorded.unwrap_or_default())
}

/// Every run's id and status, by id.
pub async fn statuses(db: &Db) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(on_pool!(db, pool => sqlx::query_as("SELECT id, status FROM runs ORDER BY id").fetch_all(pool).await?))
}

/// A page of runs after run `after`, by id: id, programme, province, month and status.
pub async fn page(db: &Db, after: i64, limit: i64) -> anyhow::Result<Vec<(i64, String, String, String, String)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, program, province, period, status FROM runs WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}
