//! Shards (`shards`): a run's evaluation cut into ranges of beneficiaries,
//! each claimed by one process at a time under a lease its heartbeat renews,
//! so that any number of processes share a run through the database alone.
//! PostgreSQL hands out shards with `FOR UPDATE SKIP LOCKED`, so that
//! claimers never wait on one another; SQLite has one writer anyway.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Db, on_pool};

/// A shard, as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Shard {
    pub id: i64,
    pub run_id: i64,
    /// The month it decides (`YYYY-MM`).
    pub period: String,
    pub seq: i64,
    /// Beneficiaries with `after_id < id <= upto_id` (no upper bound when None).
    pub after_id: i64,
    pub upto_id: Option<i64>,
    /// Who asked for the evaluation (`trail::Actor`, JSON): the run is sealed as them.
    pub actor: String,
    /// Claims so far, this one included.
    pub attempts: i64,
    /// Decisions its holders reported made.
    pub decided: i64,
    /// Why its last holder gave it back, if it failed.
    pub error: Option<String>,
}

const COLUMNS: &str = "id, run_id, period, seq, after_id, upto_id, actor, attempts, decided, error";

/// One shard to make: its month, and the id it starts after (each ends where the next begins).
pub struct Cut {
    pub period: String,
    pub after_id: i64,
    pub upto_id: Option<i64>,
}

/// Record the shards of `run_id`, unless it has some already: true when these were recorded.
/// Two processes planning at once record one set (the unique key on run, month and order).
pub async fn plan(db: &Db, run_id: i64, cuts: &[Cut], actor: &str) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    let mut recorded = 0;
    for (seq, cut) in cuts.iter().enumerate() {
        recorded += super::on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO shards (run_id, period, seq, after_id, upto_id, actor) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (run_id, period, seq) DO NOTHING",
            )
            .bind(run_id)
            .bind(&cut.period)
            .bind(seq as i64)
            .bind(cut.after_id)
            .bind(cut.upto_id)
            .bind(actor)
            .execute(conn)
            .await?
            .rows_affected()
        });
    }
    tx.commit().await?;
    Ok(recorded > 0)
}

/// Whether `run_id` has been cut into shards.
pub async fn planned(db: &Db, run_id: i64) -> anyhow::Result<bool> {
    let n: i64 = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM shards WHERE run_id = $1").bind(run_id).fetch_one(pool).await?
    });
    Ok(n > 0)
}

/// Claim for `holder`, until `lease` from now, the first unfinished shard
/// whose lease has run out (or that was never claimed) and that has had fewer
/// than `most_claims` claims: of run `run`, or of any run. The claim is one statement that checks the lease again, so two
/// processes never both hold a shard.
pub async fn claim(
    db: &Db,
    holder: &str,
    lease: Duration,
    run: Option<i64>,
    most_claims: i64,
) -> anyhow::Result<Option<Shard>> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease)?;
    // A shard claimed `most_claims` times already, each ending with its holder, is left alone:
    // it is likely what ends them (see `Standing::abandoned`).
    let free = "finished_at IS NULL AND (lease_until IS NULL OR lease_until < $3) AND attempts < $5";
    let of_run = if run.is_some() { "AND run_id = $4" } else { "AND $4 = 0" };
    let pick = |lock: &str| {
        format!(
            "UPDATE shards SET lease_owner = $1, lease_until = $2, heartbeat_at = $3, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM shards WHERE {free} {of_run} ORDER BY run_id, id LIMIT 1{lock}) AND {free} \
             RETURNING {COLUMNS}"
        )
    };
    let lock = if matches!(db, Db::Postgres(_)) { " FOR UPDATE SKIP LOCKED" } else { "" };
    let query = pick(lock);
    Ok(on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(query.as_str()))
            .bind(holder)
            .bind(until)
            .bind(now)
            .bind(run.unwrap_or(0))
            .bind(most_claims)
            .fetch_optional(pool)
            .await?
    }))
}

/// The holder's heartbeat: decisions made so far, and the lease renewed.
/// False when the shard is no longer `holder`'s (its lease ran out and another took it).
pub async fn beat(db: &Db, id: i64, holder: &str, lease: Duration, decided: i64) -> anyhow::Result<bool> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease)?;
    let updated = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE shards SET decided = $1, heartbeat_at = $2, lease_until = $3 \
             WHERE id = $4 AND lease_owner = $5 AND finished_at IS NULL",
        )
        .bind(decided)
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

/// The shard is decided: every beneficiary of its range has a decision.
pub async fn finish(db: &Db, id: i64, holder: &str, decided: i64) -> anyhow::Result<bool> {
    let now = Utc::now();
    let updated = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE shards SET decided = $1, finished_at = $2, heartbeat_at = $2, error = NULL, lease_owner = NULL, \
             lease_until = NULL WHERE id = $3 AND lease_owner = $4 AND finished_at IS NULL",
        )
        .bind(decided)
        .bind(now)
        .bind(id)
        .bind(holder)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Give the shard back unfinished. Stopped cleanly, or not begun (`error`
/// None): at once, for the next claimer, and this claim not counted against
/// it. Failed: with why, and still leased for `retry_after`, so that a shard
/// that fails is not retried in a tight loop.
pub async fn give_back(
    db: &Db,
    id: i64,
    holder: &str,
    decided: i64,
    error: Option<&str>,
    retry_after: Duration,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let until = error.map(|_| now + chrono::Duration::from_std(retry_after).unwrap_or_default());
    on_pool!(db, pool => {
        sqlx::query(
            "UPDATE shards SET decided = $1, error = COALESCE($2, error), heartbeat_at = $3, lease_until = $4, \
             lease_owner = CASE WHEN $4 IS NULL THEN NULL ELSE lease_owner END, \
             attempts = CASE WHEN $4 IS NULL THEN attempts - 1 ELSE attempts END \
             WHERE id = $5 AND lease_owner = $6 AND finished_at IS NULL",
        )
        .bind(decided)
        .bind(error)
        .bind(now)
        .bind(until)
        .bind(id)
        .bind(holder)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Where a run's shards stand.
#[derive(Clone, Copy, Debug, Default, sqlx::FromRow)]
pub struct Standing {
    pub shards: i64,
    pub finished: i64,
    /// Decisions their holders reported made.
    pub decided: i64,
    /// The most claims an unfinished shard has had.
    pub most_attempts: i64,
    /// Unfinished shards no one holds that have had at least the claims asked about.
    pub abandoned: i64,
}

/// Where run `run_id`'s shards stand at `now`; `abandoned` counts those with `most_claims` or more.
pub async fn standing(db: &Db, run_id: i64, most_claims: i64) -> anyhow::Result<Standing> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT COUNT(*) AS shards, COUNT(finished_at) AS finished, CAST(COALESCE(SUM(decided), 0) AS BIGINT) \
             AS decided, CAST(COALESCE(MAX(CASE WHEN finished_at IS NULL THEN attempts ELSE 0 END), 0) AS BIGINT) \
             AS most_attempts, COUNT(CASE WHEN finished_at IS NULL AND attempts >= $2 \
             AND (lease_until IS NULL OR lease_until < $3) THEN 1 END) AS abandoned FROM shards WHERE run_id = $1",
        )
        .bind(run_id)
        .bind(most_claims)
        .bind(Utc::now())
        .fetch_one(pool)
        .await?
    }))
}

/// Runs still being evaluated whose shards are all finished, with who asked for each
/// evaluation (`actor`, JSON): a holder died between its last shard and the seal.
pub async fn decided_unsealed(db: &Db) -> anyhow::Result<Vec<(i64, String)>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT s.run_id, MIN(s.actor) FROM shards s JOIN runs r ON r.id = s.run_id WHERE r.status = 'created' \
             GROUP BY s.run_id HAVING COUNT(*) = COUNT(s.finished_at) ORDER BY s.run_id",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// The last error of an unfinished shard of `run_id`, if one failed.
pub async fn last_error(db: &Db, run_id: i64) -> anyhow::Result<Option<String>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT error FROM shards WHERE run_id = $1 AND finished_at IS NULL AND error IS NOT NULL \
             ORDER BY heartbeat_at DESC LIMIT 1",
        )
        .bind(run_id)
        .fetch_optional(pool)
        .await?
    }))
}

/// Unfinished shards of every run, by state at `now`: never claimed or
/// given back (pending), held under a lease (leased), and whose holder's
/// lease ran out (expired), for `/metrics`.
pub async fn census(db: &Db, now: DateTime<Utc>) -> anyhow::Result<(i64, i64, i64)> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT COUNT(CASE WHEN lease_until IS NULL THEN 1 END), \
             COUNT(CASE WHEN lease_until >= $1 THEN 1 END), \
             COUNT(CASE WHEN lease_until < $1 THEN 1 END) FROM shards WHERE finished_at IS NULL",
        )
        .bind(now)
        .fetch_one(pool)
        .await?
    }))
}
