//! Shards (`shards`): a run's evaluation cut into ranges of beneficiaries,
//! each claimed by one process at a time under a lease its heartbeat renews
//! (`store::lease`), so that any number of processes share a run through the
//! database alone.

use std::time::Duration;

pub use super::lease::Standing;
use super::lease::{self, Cut, Leased};
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

/// The shards of runs, as leased work.
pub static SHARDS: Leased =
    Leased { table: "shards", owner: "run_id", count: "decided", columns: COLUMNS, noun: "shard" };

/// Whether `run_id` has been cut into shards.
pub async fn planned(db: &Db, run_id: i64) -> anyhow::Result<bool> {
    lease::planned(db, &SHARDS, run_id).await
}

/// Claim for `holder`, until `lease` from now, the first free shard of run `run`, or of any run
/// ([`lease::claim`]).
pub async fn claim(
    db: &Db,
    holder: &str,
    lease: Duration,
    run: Option<i64>,
    most_claims: i64,
) -> anyhow::Result<Option<Shard>> {
    lease::claim(db, &SHARDS, holder, lease, run, most_claims).await
}

/// The shard is decided: every beneficiary of its range has a decision.
pub async fn finish(db: &Db, id: i64, holder: &str, decided: i64) -> anyhow::Result<bool> {
    lease::finish(db, &SHARDS, id, holder, decided, None).await
}

/// Give the shard back unfinished ([`lease::give_back`]).
pub async fn give_back(
    db: &Db,
    id: i64,
    holder: &str,
    decided: i64,
    error: Option<&str>,
    retry_after: Duration,
) -> anyhow::Result<()> {
    lease::give_back(db, &SHARDS, id, holder, decided, error, retry_after).await
}

/// A person asks for run `run_id` again: its failed shards may be claimed at once ([`lease::retry_failed`]).
pub async fn retry_failed(db: &Db, run_id: i64) -> anyhow::Result<u64> {
    lease::retry_failed(db, &SHARDS, run_id).await
}

/// Where run `run_id`'s shards stand now; `abandoned` counts those with `most_claims` or more.
pub async fn standing(db: &Db, run_id: i64, most_claims: i64) -> anyhow::Result<Standing> {
    lease::standing(db, &SHARDS, run_id, most_claims).await
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
