//! The store's transactions beside each other, as a server has them: a job
//! writing while requests read and write. A transaction that reads before it
//! writes must wait its turn behind another writer, never fail at its write:
//! on SQLite a deferred transaction does (SQLITE_BUSY_SNAPSHOT, at once and
//! without the busy timeout), which the API answered with a 500. The one
//! exception is made on purpose and tried again by the store itself: the
//! first try of approval's, issue's and the seal's long read, which on
//! SQLite takes the write lock only when it writes (`Db::begin_read_first`).

use std::future::Future;
use std::time::Duration;

use ansinh::store::{self, Db, Tx, payments};

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

/// The columns a decision is stored in, for copies of one made in SQL.
const DECISION_COLUMNS: &str = "run_id, period, beneficiary_id, outcome, amount, category, verification_id, \
                                decider_id, input_packed, input_base_id, output_id, error, fuel, exception, channel, \
                                bank_bin, account_number, account_name, payee_name, commune, digest";

/// `statement` fails, with an error that says one of `expected`.
fn refused(t: &Driver, statement: String, expected: &[&str]) {
    let error = t.execute(statement.clone()).expect_err(&statement);
    assert!(expected.iter().any(|e| error.contains(e)), "{statement}: {error}");
}

/// The texts decisions share (`decision_texts`: verdicts, outputs, reference
/// inputs) are written once and never changed or deleted, and no decision
/// refers to a text that is not stored, whether inserted or changed: SQLite by
/// its foreign keys, PostgreSQL by a check once a statement (migration 21).
fn decision_texts_stay_and_decisions_refer_only_to_stored_ones(t: Driver) {
    let run = t.evaluated_run(5, 300, "2024-09");
    let one = format!(
        "run_id = {run} AND beneficiary_id = (SELECT MIN(beneficiary_id) FROM decisions WHERE run_id = {run} \
         AND output_id IS NOT NULL)"
    );
    let append_only = ["decision_texts is append-only"];
    refused(&t, "UPDATE decision_texts SET text = text || ' '".into(), &append_only);
    refused(&t, "DELETE FROM decision_texts".into(), &append_only);
    assert!(t.scalar("SELECT COUNT(*) FROM decision_texts") > 0);

    let missing = ["FOREIGN KEY constraint failed", "refers to decision text 999999999, which is not stored"];
    for column in ["verification_id", "output_id", "input_base_id"] {
        refused(&t, format!("UPDATE decisions SET {column} = 999999999 WHERE {one}"), &missing);
    }
    let copied = DECISION_COLUMNS.replace("period", "'2099-01'").replace("output_id", "999999999");
    refused(
        &t,
        format!("INSERT INTO decisions ({DECISION_COLUMNS}) SELECT {copied} FROM decisions WHERE {one}"),
        &missing,
    );

    // What refers to stored texts is let through, as before.
    assert_eq!(t.execute(format!("UPDATE decisions SET fuel = fuel WHERE {one}")), Ok(1));
    let copied = DECISION_COLUMNS.replace("period", "'2099-01'");
    assert_eq!(
        t.execute(format!("INSERT INTO decisions ({DECISION_COLUMNS}) SELECT {copied} FROM decisions WHERE {one}")),
        Ok(1)
    );
}

on_both_backends!(decision_texts_stay_and_decisions_refer_only_to_stored_ones);

/// What decisions and payments refer to (their run, and their plug-in and
/// engine through `deciders`; the decision a payment or a cash line pays) is
/// there when they are written and stays while they refer to it: SQLite by its
/// foreign keys, PostgreSQL by triggers, once a statement on the rows written
/// and once a row on the rows referred to (migrations 22 and 24). Deciders keep
/// their plug-in and engine by foreign keys on both.
fn decisions_and_payments_refer_only_to_stored_rows_and_keep_them(t: Driver) {
    let run = t.evaluated_run(5, 300, "2024-09");
    let one = format!(
        "run_id = {run} AND period = '2024-09' AND beneficiary_id = (SELECT MIN(beneficiary_id) FROM decisions \
         WHERE run_id = {run})"
    );
    let refused_for = |statement: String, expected: &str| {
        refused(&t, statement, &["FOREIGN KEY constraint failed", expected]);
    };
    let copy = |column: &str, value: &str| {
        let copied = DECISION_COLUMNS.replace("period", "'2099-01'").replace(column, value);
        format!("INSERT INTO decisions ({DECISION_COLUMNS}) SELECT {copied} FROM decisions WHERE {one}")
    };
    refused_for(copy("run_id", "999999999"), "refers to run 999999999, which is not stored");
    refused_for(copy("decider_id", "999999999"), "refers to decider 999999999, which is not stored");
    refused_for(
        format!("UPDATE decisions SET decider_id = 999999999 WHERE {one}"),
        "refers to decider 999999999, which is not stored",
    );
    let foreign_key = "violates foreign key constraint";
    refused_for("INSERT INTO deciders (plugin_hash, engine) VALUES ('no such plug-in', NULL)".into(), foreign_key);
    refused_for(
        format!(
            "INSERT INTO deciders (plugin_hash, engine) SELECT plugin_hash, 'no such engine' FROM runs WHERE id = {run}"
        ),
        foreign_key,
    );
    assert_eq!(t.execute(copy("run_id", "run_id")), Ok(1), "a copy that refers to stored rows is let through");

    let payment = |table: &str, beneficiary: &str| match table {
        "payments" => format!(
            "INSERT INTO payments (run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, \
             account_number, account_name) SELECT run_id, {beneficiary}, 'p', period, 'x', 1, 'bank', '970415', '1', \
             'A' FROM decisions WHERE {one}"
        ),
        _ => format!(
            "INSERT INTO cash_payments (run_id, beneficiary_id, program, period, id_number, amount, full_name, \
             commune) SELECT run_id, {beneficiary}, 'p', period, 'y', 1, 'A', 'c' FROM decisions WHERE {one}"
        ),
    };
    for table in ["payments", "cash_payments"] {
        refused_for(payment(table, "999999999"), &format!("a row of {table} pays the decision of run {run}"));
        assert_eq!(t.execute(payment(table, "beneficiary_id")), Ok(1), "{table} that pays a stored decision");
    }

    // What is referred to stays: the paid decision, its run, its decider, and the decider's plug-in and engine.
    let kept = "violates the reference from table";
    refused_for(format!("DELETE FROM decisions WHERE {one}"), kept);
    refused_for(format!("UPDATE decisions SET period = '2098-01' WHERE {one}"), kept);
    refused_for(format!("DELETE FROM runs WHERE id = {run}"), kept);
    let decider = format!("id = (SELECT decider_id FROM decisions WHERE {one})");
    refused_for(format!("DELETE FROM deciders WHERE {decider}"), kept);
    let plugin = format!("hash = (SELECT plugin_hash FROM runs WHERE id = {run})");
    refused_for(format!("DELETE FROM plugins WHERE {plugin}"), foreign_key);
    refused_for(format!("UPDATE plugins SET hash = 'another' WHERE {plugin}"), foreign_key);
    refused_for(format!("DELETE FROM engines WHERE id = (SELECT engine FROM deciders WHERE {decider})"), foreign_key);
    // A change that keeps a key, and a row nothing refers to, go through.
    assert_eq!(t.execute(format!("UPDATE plugins SET hash = hash WHERE {plugin}")), Ok(1));
    assert_eq!(t.execute(format!("DELETE FROM decisions WHERE run_id = {run} AND period = '2099-01'")), Ok(1));
}

on_both_backends!(decisions_and_payments_refer_only_to_stored_rows_and_keep_them);

/// Reads the scratch rows' count and adds the next number, in a
/// [`payments::snapshot`] transaction; `meanwhile` runs between the read and
/// the write.
async fn add_next(db: &Db, attempt: store::Attempt, meanwhile: impl Future<Output = ()>) -> anyhow::Result<i64> {
    let mut tx = payments::snapshot(db, attempt).await?;
    let next = count(&mut tx).await + 1;
    meanwhile.await;
    insert(&mut tx, next).await?;
    tx.commit().await?;
    Ok(next)
}

/// Approval and issue read a run, then write what they read ([`payments::snapshot`]).
/// On SQLite the first try reads without the write lock, so that checking a
/// million decisions does not stall every other writer for seconds; what it
/// writes must then still be what it read, or it is tried again, the second
/// time holding the lock. Here another such transaction commits between the
/// first try's read and its write: the first try is given up and the second
/// writes from what is there now, on both backends (PostgreSQL by SERIALIZABLE).
fn a_snapshot_that_another_writer_overtook_is_tried_again_and_then_waits_its_turn(t: Driver) {
    t.execute("CREATE TABLE scratch (n BIGINT NOT NULL)").unwrap();
    let (attempts, written) = t.sql(|db: Db| {
        Box::pin(async move {
            let mut attempts = 0;
            let written = store::retry_serializable("scratch", |attempt| {
                attempts += 1;
                let db = db.clone();
                async move {
                    let other = async {
                        if attempt.is_first() {
                            let first = store::retry_serializable("other", |a| add_next(&db, a, async {})).await;
                            assert_eq!(first.expect("the other writer commits"), 1);
                        }
                    };
                    add_next(&db, attempt, other).await
                }
            })
            .await
            .expect("tried again, the writer commits");
            (attempts, written)
        })
    });
    assert_eq!(attempts, 2, "the try overtaken by another writer is given up and made again, once");
    assert_eq!(written, 2, "the second try counts what the other wrote");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM scratch WHERE n IN (1, 2)"), 2);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM scratch"), 2);
}

on_both_backends!(a_snapshot_that_another_writer_overtook_is_tried_again_and_then_waits_its_turn);
