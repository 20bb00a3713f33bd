//! An import staged on SQLite: its rows written first to a temporary table of
//! one connection of its own, then merged into their table in order of their
//! key, a part a statement (`import::load` says why).
//!
//! A temporary table is the connection's own database, so writing it takes no
//! lock on the main one: a file being read holds nobody back, and a refused
//! one leaves nothing. The merge goes in key order because that is how a B-tree
//! takes many parts cheaply: merged in file order, each part of 25,000 rows
//! touched most pages of the table's key, and every commit wrote them all again
//! (a million registry rows: 22.6 s in 40 parts against 5.7 s in one; in key
//! order, 4.9 s in 40 parts; `sqlite3`, 7 December). The temporary tables live
//! in a file SQLite makes and removes (`temp_store = FILE` on this connection
//! alone), not in memory; the connection is closed when the staging ends, never
//! given back to the pool with them.
//!
//! So on SQLite the new enrolments of a file get their ids (`beneficiaries.id`)
//! in the order of their key, where PostgreSQL gives them in the file's: the
//! ids are the database's own, and nothing decided, paid or recorded depends on
//! their order (giving them in file order would scatter the table's own pages
//! over every part again).

use sqlx::pool::PoolConnection;
use sqlx::{QueryBuilder, Sqlite};

use super::{Db, beneficiaries, registry};
use crate::model::{Enrolment, RegistryRecord};

/// Rows merged by one statement, its own transaction: a few tenths of a
/// second of the database's one write lock.
pub const PART: i64 = 25_000;

/// A table an import of rows `T` is merged into.
pub struct Target<T> {
    table: &'static str,
    /// Its columns, in parentheses, in the order `push` binds them.
    columns: &'static str,
    /// The key the rows are sorted by and upserted on.
    key: &'static str,
    /// What a row already there takes from a staged one (`ON CONFLICT ...`).
    update: &'static str,
    push: fn(&mut QueryBuilder<Sqlite>, &[T]),
}

/// The registry's people, by ID number.
pub const REGISTRY: Target<RegistryRecord> = Target {
    table: "registry_people",
    columns: registry::COLUMNS,
    key: "id_number",
    update: registry::UPDATE,
    push: registry::push_values,
};

/// The enrolments, by person, programme and province.
pub const BENEFICIARIES: Target<Enrolment> = Target {
    table: "beneficiaries",
    columns: beneficiaries::COLUMNS,
    key: "id_number, program, province",
    update: beneficiaries::UPDATE,
    push: beneficiaries::push_values,
};

/// Rows `T` staged on one connection, for their [`Target`].
pub struct Staging<T: 'static> {
    conn: PoolConnection<Sqlite>,
    target: &'static Target<T>,
    /// Rows staged, then the rows of the sorted table (rowid 1 to this).
    rows: i64,
}

impl<T> Staging<T> {
    /// A staging for `target` on SQLite; `None` on PostgreSQL, which loads a file in one transaction.
    pub async fn open(db: &Db, target: &'static Target<T>) -> anyhow::Result<Option<Staging<T>>> {
        let Db::Sqlite(pool) = db else { return Ok(None) };
        let mut conn = pool.acquire().await?;
        conn.close_on_drop();
        sqlx::query("PRAGMA temp_store = FILE").execute(&mut *conn).await?;
        let create = format!(
            "CREATE TEMP TABLE import_stage AS SELECT {} FROM main.{} WHERE false",
            target.columns.trim_matches(['(', ')']),
            target.table
        );
        sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut *conn).await?;
        Ok(Some(Staging { conn, target, rows: 0 }))
    }

    /// Stage a batch of rows.
    pub async fn add(&mut self, rows: &[T]) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut q = QueryBuilder::new(format!("INSERT INTO temp.import_stage {} ", self.target.columns));
        (self.target.push)(&mut q, rows);
        q.build().execute(&mut *self.conn).await?;
        self.rows += rows.len() as i64;
        Ok(())
    }

    /// Sort the staged rows by their key, ready to be merged; the parts to merge.
    pub async fn sort(&mut self) -> anyhow::Result<i64> {
        let sort =
            format!("CREATE TEMP TABLE import_sorted AS SELECT * FROM temp.import_stage ORDER BY {}", self.target.key);
        sqlx::query(sqlx::AssertSqlSafe(sort)).execute(&mut *self.conn).await?;
        sqlx::query("DROP TABLE temp.import_stage").execute(&mut *self.conn).await?;
        Ok((self.rows + PART - 1) / PART)
    }

    /// Merge part `part` (from 0) of the sorted rows into the table, in one
    /// statement: its own transaction.
    pub async fn merge(&mut self, part: i64) -> anyhow::Result<()> {
        let Target { table, columns, update, .. } = self.target;
        let names = columns.trim_matches(['(', ')']);
        // The WHERE before ON CONFLICT is SQLite's rule for an upsert from a SELECT.
        let merge = format!(
            "INSERT INTO main.{table} {columns} SELECT {names} FROM temp.import_sorted \
             WHERE rowid > $1 AND rowid <= $2 ORDER BY rowid {update}"
        );
        sqlx::query(sqlx::AssertSqlSafe(merge))
            .bind(part * PART)
            .bind((part + 1) * PART)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }
}
