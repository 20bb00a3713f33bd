//! Job parts (`job_parts`): a long read-only job (a full replay, a what-if)
//! cut into ranges of its run's decisions, each claimed by one process at a
//! time under a lease its heartbeat renews (`store::lease`), so that every
//! worker sharing the database does a part. A finished part holds what it
//! found (JSON), which the job's holder merges in order.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;

use super::lease::{self, Cut, Leased, Standing};
use super::{Db, on_pool};

/// A part, as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Part {
    pub id: i64,
    pub job_id: i64,
    /// The month of the run's decisions it covers (`YYYY-MM`).
    pub period: String,
    pub seq: i64,
    /// Decisions of beneficiaries with `after_id < beneficiary_id <= upto_id` (no upper bound when None).
    pub after_id: i64,
    pub upto_id: Option<i64>,
    /// Claims so far, this one included.
    pub attempts: i64,
}

const COLUMNS: &str = "id, job_id, period, seq, after_id, upto_id, attempts";

/// The parts of jobs, as leased work.
pub static PARTS: Leased =
    Leased { table: "job_parts", owner: "job_id", count: "done", columns: COLUMNS, noun: "part" };

/// Record the parts of job `job_id`, unless it has some already: true when
/// these were recorded. Two holders of the job planning at once (one whose
/// lease ran out while it planned) cut the same decisions alike, so the
/// unique key on job and order keeps one set.
pub async fn plan(db: &Db, job_id: i64, cuts: &[Cut]) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    let mut recorded = 0;
    for (seq, cut) in cuts.iter().enumerate() {
        recorded += super::on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO job_parts (job_id, period, seq, after_id, upto_id) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (job_id, seq) DO NOTHING",
            )
            .bind(job_id)
            .bind(&cut.period)
            .bind(seq as i64)
            .bind(cut.after_id)
            .bind(cut.upto_id)
            .execute(conn)
            .await?
            .rows_affected()
        });
    }
    tx.commit().await?;
    Ok(recorded > 0)
}

/// Whether job `job_id` has been cut into parts.
pub async fn planned(db: &Db, job_id: i64) -> anyhow::Result<bool> {
    lease::planned(db, &PARTS, job_id).await
}

/// Claim for `holder`, until `lease` from now, the first free part of job `job`, or of any job
/// ([`lease::claim`]).
pub async fn claim(
    db: &Db,
    holder: &str,
    lease: Duration,
    job: Option<i64>,
    most_claims: i64,
) -> anyhow::Result<Option<Part>> {
    lease::claim(db, &PARTS, holder, lease, job, most_claims).await
}

/// The part is done: `done` decisions looked at, and what was found (`result`, JSON).
pub async fn finish(db: &Db, id: i64, holder: &str, done: i64, result: &str) -> anyhow::Result<bool> {
    lease::finish(db, &PARTS, id, holder, done, Some(result)).await
}

/// Give the part back unfinished ([`lease::give_back`]): what it found so far is not kept.
pub async fn give_back(
    db: &Db,
    id: i64,
    holder: &str,
    error: Option<&str>,
    retry_after: Duration,
) -> anyhow::Result<()> {
    lease::give_back(db, &PARTS, id, holder, 0, error, retry_after).await
}

/// Where job `job_id`'s parts stand now; `abandoned` counts those with `most_claims` or more.
pub async fn standing(db: &Db, job_id: i64, most_claims: i64) -> anyhow::Result<Standing> {
    lease::standing(db, &PARTS, job_id, most_claims).await
}

/// What the parts of job `job_id` found, in order: Err unless every part was done.
pub async fn results(db: &Db, job_id: i64) -> anyhow::Result<Vec<String>> {
    let found: Vec<(i64, Option<String>)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT seq, result FROM job_parts WHERE job_id = $1 ORDER BY seq")
            .bind(job_id)
            .fetch_all(pool)
            .await?
    });
    found
        .into_iter()
        .map(|(seq, result)| {
            result.with_context(|| format!("job {job_id}: part {seq} was closed undone: the job cannot be merged"))
        })
        .collect()
}

/// The job with a part free to claim (unfinished, its lease run out or never
/// claimed, and claimed fewer than `most_claims` times), the oldest first.
pub async fn next_job(db: &Db, most_claims: i64) -> anyhow::Result<Option<i64>> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT job_id FROM job_parts WHERE finished_at IS NULL AND (lease_until IS NULL OR lease_until < $1) \
             AND attempts < $2 ORDER BY job_id, id LIMIT 1",
        )
        .bind(Utc::now())
        .bind(most_claims)
        .fetch_optional(pool)
        .await?
    }))
}

/// Close the unfinished parts of job `job_id`, which ended without them (it
/// failed): no one is to claim them any more.
pub async fn close(db: &Db, job_id: i64) -> anyhow::Result<()> {
    on_pool!(db, pool => {
        sqlx::query(
            "UPDATE job_parts SET finished_at = $1, lease_owner = NULL, lease_until = NULL, \
             error = COALESCE(error, 'its job ended first') WHERE job_id = $2 AND finished_at IS NULL",
        )
        .bind(Utc::now())
        .bind(job_id)
        .execute(pool)
        .await?;
    });
    Ok(())
}
