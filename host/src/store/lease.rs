//! Leases: the one way a piece of shared work (a shard of an evaluation,
//! `store::shards`; a part of a job, `store::parts`) is held by one process
//! at a time. A holder claims a row under a lease (`lease_owner` until
//! `lease_until`), renews it with its heartbeat, and marks the row finished or
//! gives it back; a row whose holder died is claimed again once its lease has
//! run out. PostgreSQL hands rows out with `FOR UPDATE SKIP LOCKED`, so that
//! claimers never wait on one another; SQLite has one writer anyway.
//!
//! Architecture invariant: every claim, renewal and release is one statement
//! that checks `lease_owner` (and, for a claim, the lease again), so two
//! processes never both hold a row, and a holder whose lease was taken over
//! learns it at its next heartbeat and stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tracing::warn;

use super::{Db, on_pool};

/// A table of leased work: its name, the column naming what each row is a
/// piece of (a run, a job), the column counting what its holders did, and
/// the columns a claim returns.
pub struct Leased {
    pub table: &'static str,
    pub owner: &'static str,
    pub count: &'static str,
    pub columns: &'static str,
    /// What one row is called in messages: `shard`, `part`.
    pub noun: &'static str,
}

/// One row to make: its month, and the beneficiary id it starts after (each ends where the next begins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub period: String,
    pub after_id: i64,
    pub upto_id: Option<i64>,
}

impl Cut {
    /// The rows of month `period` cut at beneficiary ids `bounds` (ascending):
    /// up to each bound in turn, then the rest, unbounded, so that whoever
    /// comes after the last bound is in one too.
    pub fn month(period: &str, bounds: &[i64]) -> Vec<Cut> {
        let afters = std::iter::once(0).chain(bounds.iter().copied());
        let uptos = bounds.iter().copied().map(Some).chain(std::iter::once(None));
        afters.zip(uptos).map(|(after_id, upto_id)| Cut { period: period.to_owned(), after_id, upto_id }).collect()
    }
}

/// A row type a claim can return on either backend.
pub trait Row:
    for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin
{
}

impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin
{
}

/// Claim for `holder`, until `lease` from now, the first unfinished row whose
/// lease has run out (or that was never claimed) and that has had fewer than
/// `most_claims` claims: of `of` (a run, a job), or of any. A row claimed
/// `most_claims` times already, each ending with its holder, is left alone:
/// it is likely what ends them (see [`Standing::abandoned`]).
pub async fn claim<T: Row>(
    db: &Db,
    t: &Leased,
    holder: &str,
    lease: Duration,
    of: Option<i64>,
    most_claims: i64,
) -> anyhow::Result<Option<T>> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease)?;
    let (table, owner, columns) = (t.table, t.owner, t.columns);
    let free = "finished_at IS NULL AND (lease_until IS NULL OR lease_until < $3) AND attempts < $5";
    let of_one = if of.is_some() { format!("AND {owner} = $4") } else { "AND $4 = 0".to_owned() };
    let lock = if matches!(db, Db::Postgres(_)) { " FOR UPDATE SKIP LOCKED" } else { "" };
    let query = format!(
        "UPDATE {table} SET lease_owner = $1, lease_until = $2, heartbeat_at = $3, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM {table} WHERE {free} {of_one} ORDER BY {owner}, id LIMIT 1{lock}) AND {free} \
         RETURNING {columns}"
    );
    Ok(on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(query.as_str()))
            .bind(holder)
            .bind(until)
            .bind(now)
            .bind(of.unwrap_or(0))
            .bind(most_claims)
            .fetch_optional(pool)
            .await?
    }))
}

/// The holder's heartbeat: what it did so far (`count`), and the lease renewed.
/// False when the row is no longer `holder`'s (its lease ran out and another took it).
pub async fn beat(db: &Db, t: &Leased, id: i64, holder: &str, lease: Duration, count: i64) -> anyhow::Result<bool> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease)?;
    let query = format!(
        "UPDATE {} SET {} = $1, heartbeat_at = $2, lease_until = $3 \
         WHERE id = $4 AND lease_owner = $5 AND finished_at IS NULL",
        t.table, t.count
    );
    let updated = on_pool!(db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(query.as_str()))
            .bind(count)
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

/// The row is done: `count` done, and what was found (`result`, for a table
/// that keeps one); false when it is no longer `holder`'s.
pub async fn finish(
    db: &Db,
    t: &Leased,
    id: i64,
    holder: &str,
    count: i64,
    result: Option<&str>,
) -> anyhow::Result<bool> {
    let kept = if result.is_some() { ", result = $5" } else { "" };
    let query = format!(
        "UPDATE {} SET {} = $1, finished_at = $2, heartbeat_at = $2, error = NULL, lease_owner = NULL, \
         lease_until = NULL{kept} WHERE id = $3 AND lease_owner = $4 AND finished_at IS NULL",
        t.table, t.count
    );
    let updated = on_pool!(db, pool => {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(query.as_str())).bind(count).bind(Utc::now()).bind(id).bind(holder);
        if let Some(result) = result {
            q = q.bind(result);
        }
        q.execute(pool).await?.rows_affected()
    });
    Ok(updated == 1)
}

/// Give the row back unfinished: it is no one's from now on. Stopped cleanly,
/// or not begun (`error` None): at once, for the next claimer, and this claim
/// not counted against it. Failed: with why, and paused for `retry_after`
/// (`lease_until` without a `lease_owner`), so that a row that fails is not
/// retried in a tight loop; [`retry_failed`] lifts the pause when a person asks.
pub async fn give_back(
    db: &Db,
    t: &Leased,
    id: i64,
    holder: &str,
    count: i64,
    error: Option<&str>,
    retry_after: Duration,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let until = error.map(|_| now + chrono::Duration::from_std(retry_after).unwrap_or_default());
    let query = format!(
        "UPDATE {} SET {} = $1, error = COALESCE($2, error), heartbeat_at = $3, lease_until = $4, \
         lease_owner = NULL, attempts = CASE WHEN $4 IS NULL THEN attempts - 1 ELSE attempts END \
         WHERE id = $5 AND lease_owner = $6 AND finished_at IS NULL",
        t.table, t.count
    );
    on_pool!(db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(query.as_str()))
            .bind(count)
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

/// A person asks for `of` again (`ansinh run evaluate`, a job): its rows that
/// failed and were given back are claimable at once and their failures are
/// counted afresh, so that a cause put right (a registry's token, say) is not
/// met by a pause meant for processes retrying on their own, nor by a row given
/// up after [`Standing::stuck`]'s failures. Rows held by a process are left to it.
pub async fn retry_failed(db: &Db, t: &Leased, of: i64) -> anyhow::Result<u64> {
    let query = format!(
        "UPDATE {} SET lease_until = NULL, attempts = 0 \
         WHERE {} = $1 AND finished_at IS NULL AND lease_owner IS NULL AND error IS NOT NULL",
        t.table, t.owner
    );
    Ok(on_pool!(db, pool => {
        sqlx::query(sqlx::AssertSqlSafe(query.as_str())).bind(of).execute(pool).await?.rows_affected()
    }))
}

/// Where the rows of one run or job stand.
#[derive(Clone, Copy, Debug, Default, sqlx::FromRow)]
pub struct Standing {
    /// Rows, and how many are finished.
    pub shards: i64,
    pub finished: i64,
    /// What their holders reported done (decisions made, or looked at).
    pub decided: i64,
    /// The most claims an unfinished row has had.
    pub most_attempts: i64,
    /// Unfinished rows no one holds that have had at least the claims asked about.
    pub abandoned: i64,
}

impl Standing {
    /// Err when what is left of `of` will not be finished by waiting: a row
    /// failed `failed_attempts` times (with its last error), or one was given
    /// up after `most_claims` claims that each ended with its holder.
    pub async fn stuck(
        &self,
        db: &Db,
        t: &Leased,
        of: i64,
        failed_attempts: i64,
        most_claims: i64,
    ) -> anyhow::Result<()> {
        if self.most_attempts >= failed_attempts
            && let Some(error) = last_error(db, t, of).await?
        {
            anyhow::bail!("a {} failed {} times, last with: {error}", t.noun, self.most_attempts);
        }
        anyhow::ensure!(
            self.abandoned == 0,
            "a {} was claimed {most_claims} times, each time by a process that then stopped without a word, and is \
             claimed no more: see the workers' logs for what ended them",
            t.noun
        );
        Ok(())
    }
}

/// Where the rows of `of` stand now; `abandoned` counts those with `most_claims` or more.
pub async fn standing(db: &Db, t: &Leased, of: i64, most_claims: i64) -> anyhow::Result<Standing> {
    let query = format!(
        "SELECT COUNT(*) AS shards, COUNT(finished_at) AS finished, CAST(COALESCE(SUM({count}), 0) AS BIGINT) \
         AS decided, CAST(COALESCE(MAX(CASE WHEN finished_at IS NULL THEN attempts ELSE 0 END), 0) AS BIGINT) \
         AS most_attempts, COUNT(CASE WHEN finished_at IS NULL AND attempts >= $2 \
         AND (lease_until IS NULL OR lease_until < $3) THEN 1 END) AS abandoned FROM {table} WHERE {owner} = $1",
        count = t.count,
        table = t.table,
        owner = t.owner
    );
    Ok(on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(query.as_str()))
            .bind(of)
            .bind(most_claims)
            .bind(Utc::now())
            .fetch_one(pool)
            .await?
    }))
}

/// The last error of an unfinished row of `of`, if one failed.
async fn last_error(db: &Db, t: &Leased, of: i64) -> anyhow::Result<Option<String>> {
    let query = format!(
        "SELECT error FROM {} WHERE {} = $1 AND finished_at IS NULL AND error IS NOT NULL \
         ORDER BY heartbeat_at DESC LIMIT 1",
        t.table, t.owner
    );
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(query.as_str())).bind(of).fetch_optional(pool).await?
    }))
}

/// Whether `of` has rows already (has been cut).
pub async fn planned(db: &Db, t: &Leased, of: i64) -> anyhow::Result<bool> {
    let query = format!("SELECT COUNT(*) FROM {} WHERE {} = $1", t.table, t.owner);
    let n: i64 = on_pool!(db, pool => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(query.as_str())).bind(of).fetch_one(pool).await?
    });
    Ok(n > 0)
}

/// Unfinished rows of every run or job, by state at `now`: no one's (never
/// claimed, or given back, paused or not: pending), held under a lease
/// (leased), and whose holder's lease ran out (expired), for `/metrics`.
pub async fn census(db: &Db, t: &Leased, now: chrono::DateTime<Utc>) -> anyhow::Result<(i64, i64, i64)> {
    let query = format!(
        "SELECT COUNT(CASE WHEN lease_owner IS NULL THEN 1 END), \
         COUNT(CASE WHEN lease_owner IS NOT NULL AND lease_until >= $1 THEN 1 END), \
         COUNT(CASE WHEN lease_owner IS NOT NULL AND lease_until < $1 THEN 1 END) FROM {} WHERE finished_at IS NULL",
        t.table
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(query.as_str())).bind(now).fetch_one(pool).await?))
}

/// Renew the lease of row `id` and record what is done (`before`, and `made`
/// since the claim), three times a lease, until aborted; a lease lost to
/// another process sets `halt`, and the holder stops where it is.
#[allow(clippy::too_many_arguments)] // the row, its holder and lease, what is done, and the halt
pub async fn keep(
    db: Db,
    t: &'static Leased,
    id: i64,
    holder: String,
    lease: Duration,
    before: i64,
    made: Arc<AtomicU64>,
    halt: Arc<AtomicBool>,
) {
    let mut every = tokio::time::interval(lease / 3);
    every.tick().await;
    loop {
        every.tick().await;
        let count = before + made.load(Ordering::Relaxed) as i64;
        match beat(&db, t, id, &holder, lease, count).await {
            Ok(true) => {}
            Ok(false) => {
                warn!(table = t.table, "the lease was lost: another process holds it now; stopping here");
                halt.store(true, Ordering::SeqCst);
                return;
            }
            Err(error) => warn!(error = format!("{error:#}"), "heartbeat"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cut;

    #[test]
    fn a_month_is_cut_at_its_bounds_and_the_rest_is_unbounded() {
        let cut = |after_id, upto_id| Cut { period: "2026-01".to_owned(), after_id, upto_id };
        assert_eq!(Cut::month("2026-01", &[10, 25]), [cut(0, Some(10)), cut(10, Some(25)), cut(25, None)]);
        // Fewer than a cut's worth: one row, all of the month.
        assert_eq!(Cut::month("2026-01", &[]), [cut(0, None)]);
    }
}
