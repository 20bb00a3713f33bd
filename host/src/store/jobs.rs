//! Jobs (`jobs`): the long actions of the service, queued by an account and
//! claimed by one process at a time under a lease its heartbeat renews. A
//! process that dies stops beating; once its lease has run out another claims
//! the job again (`attempts` counts the claims).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Db, on_pool};

/// A job, as stored.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Job {
    pub id: i64,
    /// What it does: `run.evaluate`, `run.issue`.
    pub kind: String,
    /// What it acts on: `run:ID`.
    pub subject: String,
    /// Its parameters, JSON.
    #[serde(skip)]
    pub params: String,
    /// The account that asked for it.
    pub owner: i64,
    /// Who it acts as (`trail::Actor`, JSON): the owner, as it authenticated.
    #[serde(skip)]
    pub actor: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// Items done, of `total` (0 while the total is not known).
    pub done: i64,
    pub total: i64,
    pub attempts: i64,
    /// What it made, JSON, once done.
    pub result: Option<String>,
    /// Why it failed, once failed.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, kind, subject, params, owner, actor, state, done, total, attempts, result, error, \
                       created_at, started_at, heartbeat_at, finished_at";

/// Queue a job, unless one of the same kind on the same subject is still
/// open: then that one. Its id, and whether it is new.
pub async fn submit(
    db: &Db,
    kind: &str,
    subject: &str,
    params: &str,
    owner: i64,
    actor: &str,
) -> anyhow::Result<(i64, bool)> {
    // An open job of the same kind and subject is the one asked for; one that
    // finishes between the insert and the look-up frees the key, so the insert
    // is tried again (a job that fails at once, asked for again and again,
    // can do that more than once).
    const ATTEMPTS: usize = 5;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let inserted: anyhow::Result<i64> = async {
            Ok(on_pool!(db, pool => {
                sqlx::query_scalar(
                    "INSERT INTO jobs (kind, subject, params, owner, actor, state, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'queued', $6) RETURNING id",
                )
                .bind(kind)
                .bind(subject)
                .bind(params)
                .bind(owner)
                .bind(actor)
                .bind(Utc::now())
                .fetch_one(pool)
                .await?
            }))
        }
        .await;
        match inserted {
            Ok(id) => return Ok((id, true)),
            Err(e) if super::is_unique_violation(&e) => {
                let open: Option<i64> = on_pool!(db, pool => {
                    sqlx::query_scalar("SELECT id FROM jobs WHERE kind = $1 AND subject = $2 AND finished_at IS NULL")
                        .bind(kind)
                        .bind(subject)
                        .fetch_optional(pool)
                        .await?
                });
                match open {
                    Some(id) => return Ok((id, false)),
                    None if attempt < ATTEMPTS => continue,
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Job `id`, if there is one.
pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<Job>> {
    let query = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(query)).bind(id).fetch_optional(pool).await?))
}

/// The open job of `kind` on `subject`, if there is one.
pub async fn open(db: &Db, kind: &str, subject: &str) -> anyhow::Result<Option<Job>> {
    let query = format!("SELECT {COLUMNS} FROM jobs WHERE kind = $1 AND subject = $2 AND finished_at IS NULL");
    Ok(on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(query)).bind(kind).bind(subject).fetch_optional(pool).await?
    }))
}

/// Claim the oldest open job whose lease has run out (or that was never
/// claimed) for `holder`, until `lease` from now. The claim is one statement
/// that checks the lease again, so two processes never both hold a job.
pub async fn claim(db: &Db, holder: &str, lease: Duration) -> anyhow::Result<Option<Job>> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease)?;
    let query = format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, heartbeat_at = $3, \
         attempts = attempts + 1, started_at = COALESCE(started_at, $3) \
         WHERE id = (SELECT id FROM jobs WHERE finished_at IS NULL AND (lease_until IS NULL OR lease_until < $3) \
                     ORDER BY id LIMIT 1) \
           AND finished_at IS NULL AND (lease_until IS NULL OR lease_until < $3) \
         RETURNING {COLUMNS}"
    );
    Ok(on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(query)).bind(holder).bind(until).bind(now).fetch_optional(pool).await?
    }))
}

/// The holder's heartbeat: progress so far, and the lease renewed. False
/// when the job is no longer `holder`'s (its lease ran out and another took it).
pub async fn beat(db: &Db, id: i64, holder: &str, lease: Duration, done: i64, total: i64) -> anyhow::Result<bool> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease)?;
    let updated = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE jobs SET done = $1, total = $2, heartbeat_at = $3, lease_until = $4 \
             WHERE id = $5 AND lease_owner = $6 AND finished_at IS NULL",
        )
        .bind(done)
        .bind(total)
        .bind(now)
        .bind(until)
        .bind(id)
        .bind(holder)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// The job is over: done with `result`, or failed with `error`.
pub async fn finish(db: &Db, id: i64, holder: &str, outcome: Result<String, String>) -> anyhow::Result<bool> {
    let (state, result, error) = match outcome {
        Ok(result) => ("done", Some(result), None),
        Err(error) => ("failed", None, Some(error)),
    };
    let updated = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE jobs SET state = $1, result = $2, error = $3, finished_at = $4, heartbeat_at = $4, \
             lease_owner = NULL, lease_until = NULL WHERE id = $5 AND lease_owner = $6 AND finished_at IS NULL",
        )
        .bind(state)
        .bind(result)
        .bind(error)
        .bind(Utc::now())
        .bind(id)
        .bind(holder)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Give the job back unfinished, its holder asked to stop: queued again at
/// once for the next claim, and that claim not counted against it.
pub async fn give_back(db: &Db, id: i64, holder: &str) -> anyhow::Result<bool> {
    let updated = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, attempts = attempts - 1 \
             WHERE id = $1 AND lease_owner = $2 AND finished_at IS NULL",
        )
        .bind(id)
        .bind(holder)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}
