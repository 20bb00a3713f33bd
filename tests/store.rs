//! The store's transactions beside each other, as a server has them: a job
//! writing while requests read and write. A transaction that reads before it
//! writes must wait its turn behind another writer, never fail at its write:
//! on SQLite a deferred transaction does (SQLITE_BUSY_SNAPSHOT, at once and
//! without the busy timeout), which the API answered with a 500.

use std::time::Duration;

use ansinh::store::{Db, Tx};

use crate::support::Driver;

async fn count(tx: &mut Tx) -> i64 {
    const Q: &str = "SELECT COUNT(*) FROM scratch";
    match tx {
        Tx::Sqlite(tx) => sqlx::query_scalar(Q).fetch_one(&mut **tx).await,
        Tx::Postgres(tx) => sqlx::query_scalar(Q).fetch_one(&mut **tx).await,
    }
    .expect("count the scratch rows")
}

async fn insert(tx: &mut Tx, n: i64) -> Result<(), sqlx::Error> {
    const Q: &str = "INSERT INTO scratch (n) VALUES ($1)";
    match tx {
        Tx::Sqlite(tx) => sqlx::query(Q).bind(n).execute(&mut **tx).await.map(drop),
        Tx::Postgres(tx) => sqlx::query(Q).bind(n).execute(&mut **tx).await.map(drop),
    }
}

fn a_writer_that_read_first_is_not_refused_for_another_writer(t: Driver) {
    t.execute("CREATE TABLE scratch (n BIGINT NOT NULL)").unwrap();
    let seen = t.sql(|db: Db| {
        Box::pin(async move {
            let mut first = db.begin().await.unwrap();
            let before = count(&mut first).await;
            let second = tokio::spawn({
                let db = db.clone();
                async move {
                    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
                    insert(&mut tx, 2).await.map_err(|e| e.to_string())?;
                    tx.commit().await.map_err(|e| e.to_string())
                }
            });
            // Time enough for the second to commit, were it let through first.
            tokio::time::sleep(Duration::from_millis(300)).await;
            insert(&mut first, 1).await.expect("the first writer writes after its read, the second waiting");
            first.commit().await.expect("the first writer commits");
            second.await.unwrap().expect("the second writer, in its turn");
            before
        })
    });
    assert_eq!(seen, 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM scratch"), 2, "both writes are kept");
}

on_both_backends!(a_writer_that_read_first_is_not_refused_for_another_writer);
