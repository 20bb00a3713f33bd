//! The two migration folders give one schema: `migrations/sqlite` and
//! `migrations/postgres` are written by hand, twice, and nothing else would see
//! a table, a column, a key, an index or a trigger that one has and the other
//! lacks. Each backend is migrated afresh by the real `Db::connect` and read
//! back from its own catalogue; the two descriptions must be equal.
//!
//! Compared, per table: the columns, each with its type through [`TYPES`] and
//! whether it may be NULL; the primary key; the unique constraints; the foreign
//! keys (columns → table and columns, and what a change or delete of the row
//! referred to does); the indexes created by name (columns, unique or not, and
//! the condition of a partial index, with PostgreSQL's casts and enclosing
//! parentheses taken away); the triggers, by timing, event and level (row or
//! statement). Constraint names are the database's own on each side, so
//! constraints are compared by what they cover, indexes by name.
//!
//! What the mapping cannot see: SQLite keeps dates, instants and text alike as
//! TEXT, and every whole number as INTEGER, so PostgreSQL's `date` against
//! `timestamptz`, or `integer` against `bigint`, is not told apart here.
//!
//! Two differences are allowed. What SQLite lacks: it has no TRUNCATE, so no
//! trigger on it ([`SQLITE_LACKS`]). And the references that SQLite checks row
//! by row with foreign keys and PostgreSQL with triggers, once a statement on
//! the rows that refer and once a row on those referred to, where a key's
//! lookup per row cost it more than a third of an insert of decisions
//! ([`CHECKED_BY_TRIGGERS`], [`CHECKING_TRIGGERS`]).

use std::collections::{BTreeMap, BTreeSet};

use ansinh::store::Db;

use crate::support::{Backend, Driver, TestDb, ok, stdout};

/// How a column type of one backend reads in the other: SQLite keeps dates and
/// instants as text (`YYYY-MM-DD`, RFC 3339), PostgreSQL in its own types; every
/// whole number is a 64-bit INTEGER in SQLite.
const TYPES: &[(&str, &[&str])] = &[
    ("INTEGER", &["bigint", "integer"]),
    ("TEXT", &["text", "date", "timestamp with time zone"]),
    ("BLOB", &["bytea"]),
    ("BOOLEAN", &["boolean"]),
];

/// Triggers PostgreSQL has and SQLite cannot: (table, timing and event).
const SQLITE_LACKS: &[(&str, &str)] =
    &[("audit_log", "BEFORE TRUNCATE FOR EACH STATEMENT"), ("decision_texts", "BEFORE TRUNCATE FOR EACH STATEMENT")];

/// References SQLite checks by foreign keys and PostgreSQL by triggers
/// (migrations 21, 22 and 24): the table, its columns that refer, the table
/// referred to.
const CHECKED_BY_TRIGGERS: &[(&str, &[&str], &str)] = &[
    ("decisions", &["input_base_id"], "decision_texts"),
    ("decisions", &["output_id"], "decision_texts"),
    ("decisions", &["verification_id"], "decision_texts"),
    ("decisions", &["run_id"], "runs"),
    ("decisions", &["decider_id"], "deciders"),
    ("payments", &["run_id"], "runs"),
    ("payments", &["run_id", "period", "beneficiary_id"], "decisions"),
    ("cash_payments", &["run_id"], "runs"),
    ("cash_payments", &["run_id", "period", "beneficiary_id"], "decisions"),
];

/// PostgreSQL's triggers that check them: on the tables that refer, once a
/// statement; on those referred to (but `decision_texts`, which is append-only
/// on both backends), a row deleted or its key changed.
const CHECKING_TRIGGERS: &[(&str, &[&str])] = &[
    ("decisions", &["AFTER INSERT FOR EACH STATEMENT", "AFTER UPDATE FOR EACH STATEMENT"]),
    ("payments", &["AFTER INSERT FOR EACH STATEMENT", "AFTER UPDATE FOR EACH STATEMENT"]),
    ("cash_payments", &["AFTER INSERT FOR EACH STATEMENT", "AFTER UPDATE FOR EACH STATEMENT"]),
    ("runs", &["BEFORE DELETE FOR EACH ROW", "BEFORE UPDATE FOR EACH ROW"]),
    ("deciders", &["BEFORE DELETE FOR EACH ROW", "BEFORE UPDATE FOR EACH ROW"]),
    ("decisions", &["BEFORE DELETE FOR EACH ROW", "BEFORE UPDATE FOR EACH ROW"]),
];

/// A table as both backends can describe it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Name → (the SQLite type it maps to, nullable).
    columns: BTreeMap<String, (&'static str, bool)>,
    primary_key: Vec<String>,
    unique: BTreeSet<Vec<String>>,
    /// (columns, referenced table, referenced columns, `ON UPDATE … ON DELETE …`).
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>, String)>,
    /// Indexes created by name: name → (columns, unique, condition of a partial index).
    indexes: BTreeMap<String, (Vec<String>, bool, Option<String>)>,
    /// e.g. `BEFORE UPDATE FOR EACH ROW`.
    triggers: BTreeSet<String>,
}

type Schema = BTreeMap<String, Table>;

/// A key as PostgreSQL's catalogue gives it: table, kind (`p`, `u`, `f`), columns,
/// and for a foreign key the referenced table and columns.
type KeyRow = (String, String, Vec<String>, Option<String>, Vec<String>, String, String);

/// A foreign key column as SQLite's `pragma_foreign_key_list` gives it: key id,
/// referenced table, column, referenced column, ON UPDATE, ON DELETE.
type SqliteKeyRow = (i64, String, String, Option<String>, String, String);

/// An index as PostgreSQL's catalogue gives it: table, name, unique, columns, condition.
type IndexRow = (String, String, bool, Vec<String>, Option<String>);

#[test]
fn both_migration_folders_give_the_same_schema() {
    let mut sqlite = describe(Backend::Sqlite);
    let mut postgres = describe(Backend::Postgres);
    for (table, trigger) in SQLITE_LACKS {
        let removed = postgres.get_mut(*table).is_some_and(|t| t.triggers.remove(*trigger));
        assert!(removed, "PostgreSQL no longer has the trigger {trigger} on {table}: update SQLITE_LACKS");
    }
    for (table, columns, referred) in CHECKED_BY_TRIGGERS {
        let keys = &mut sqlite.get_mut(*table).expect("a table checked by triggers").foreign_keys;
        let before = keys.len();
        keys.retain(|(from, to, _, _)| {
            !(from.iter().map(String::as_str).eq(columns.iter().copied()) && to == referred)
        });
        assert_eq!(
            keys.len(),
            before - 1,
            "SQLite has no key from {table} {columns:?} to {referred}: update CHECKED_BY_TRIGGERS"
        );
    }
    for (table, triggers) in CHECKING_TRIGGERS {
        for trigger in *triggers {
            let removed = postgres.get_mut(*table).is_some_and(|t| t.triggers.remove(*trigger));
            assert!(removed, "PostgreSQL has no trigger {trigger} on {table}: update CHECKING_TRIGGERS");
        }
    }
    assert!(sqlite.len() > 10, "SQLite's schema has only {:?}", sqlite.keys());

    let mut differences = Vec::new();
    let tables: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in tables {
        match (sqlite.get(name), postgres.get(name)) {
            (Some(s), Some(p)) => compare(name, s, p, &mut differences),
            (Some(_), None) => differences.push(format!("table {name}: only in migrations/sqlite")),
            (None, Some(_)) => differences.push(format!("table {name}: only in migrations/postgres")),
            (None, None) => unreachable!(),
        }
    }
    assert!(
        differences.is_empty(),
        "migrations/sqlite and migrations/postgres give different schemas:\n  {}",
        differences.join("\n  ")
    );
}

fn compare(name: &str, s: &Table, p: &Table, differences: &mut Vec<String>) {
    let columns: BTreeSet<&String> = s.columns.keys().chain(p.columns.keys()).collect();
    for column in columns {
        let (sc, pc) = (s.columns.get(column), p.columns.get(column));
        if sc != pc {
            differences.push(format!("{name}.{column}: SQLite {sc:?}, PostgreSQL {pc:?} (type, nullable)"));
        }
    }
    let mut differ = |what: &str, sqlite: String, postgres: String| {
        if sqlite != postgres {
            differences.push(format!("{name}: {what}: SQLite {sqlite}, PostgreSQL {postgres}"));
        }
    };
    differ("primary key", format!("{:?}", s.primary_key), format!("{:?}", p.primary_key));
    differ("unique constraints", format!("{:?}", s.unique), format!("{:?}", p.unique));
    differ("foreign keys", format!("{:?}", s.foreign_keys), format!("{:?}", p.foreign_keys));
    differ("indexes", format!("{:?}", s.indexes), format!("{:?}", p.indexes));
    differ("triggers", format!("{:?}", s.triggers), format!("{:?}", p.triggers));
}

/// A fresh database of `backend`, migrated by the host, described.
fn describe(backend: Backend) -> Schema {
    let db = TestDb::new(backend);
    let url = db.url.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let db = Db::connect(&url).await.expect("migrate a fresh database");
            let schema = match &db {
                Db::Sqlite(pool) => sqlite_schema(pool).await,
                Db::Postgres(pool) => postgres_schema(pool).await,
            };
            db.close().await;
            schema.unwrap_or_else(|e| panic!("reading the {backend:?} catalogue: {e}"))
        })
    })
    .join()
    .expect("schema thread")
}

/// The SQLite type `declared` maps to (its own name, in upper case), through [`TYPES`].
fn sqlite_type(table: &str, column: &str, declared: &str) -> &'static str {
    let upper = declared.to_uppercase();
    TYPES
        .iter()
        .map(|(t, _)| *t)
        .find(|t| *t == upper)
        .unwrap_or_else(|| panic!("{table}.{column}: SQLite type {declared:?} is not in TYPES; add its mapping"))
}

fn postgres_type(table: &str, column: &str, data_type: &str) -> &'static str {
    TYPES
        .iter()
        .find(|(_, pg)| pg.contains(&data_type))
        .map(|(t, _)| *t)
        .unwrap_or_else(|| panic!("{table}.{column}: PostgreSQL type {data_type:?} is not in TYPES; add its mapping"))
}

/// A partial index's condition without what only one dialect writes:
/// PostgreSQL's casts (`'x'::text`) and the parentheses it puts around the
/// whole; runs of spaces are one space. Nothing else is changed, so that
/// conditions that differ in meaning stay different.
fn condition(text: &str) -> String {
    let (mut out, mut rest) = (String::new(), text.trim());
    while let Some(at) = rest.find("::") {
        out.push_str(&rest[..at]);
        rest = rest[at + 2..].trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
    }
    out.push_str(rest);
    let mut out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.starts_with('(') && out.ends_with(')') && encloses_all(&out) {
        out = out[1..out.len() - 1].to_owned();
    }
    out
}

/// Whether the first parenthesis of `text` closes at its very end.
fn encloses_all(text: &str) -> bool {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return i == text.len() - 1;
        }
    }
    false
}

async fn sqlite_schema(pool: &sqlx::SqlitePool) -> Result<Schema, sqlx::Error> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await?;
    let mut schema = Schema::new();
    for (name, sql) in tables {
        let mut table = Table::default();
        let without_rowid = sql.to_uppercase().contains("WITHOUT ROWID");
        let columns: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
                .bind(&name)
                .fetch_all(pool)
                .await?;
        let key_columns = columns.iter().filter(|c| c.3 > 0).count();
        let mut key: Vec<(i64, String)> = Vec::new();
        for (column, declared, not_null, pk) in &columns {
            // A primary key column is NOT NULL in SQLite only as the rowid
            // (INTEGER PRIMARY KEY) or in a WITHOUT ROWID table; any other may hold NULL.
            let rowid = *pk > 0 && key_columns == 1 && declared.eq_ignore_ascii_case("INTEGER");
            let nullable = *not_null == 0 && !(rowid || (*pk > 0 && without_rowid));
            table.columns.insert(column.clone(), (sqlite_type(&name, column, declared), nullable));
            if *pk > 0 {
                key.push((*pk, column.clone()));
            }
        }
        key.sort();
        table.primary_key = key.into_iter().map(|(_, c)| c).collect();

        let indexes: Vec<(String, i64, String, i64)> =
            sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)")
                .bind(&name)
                .fetch_all(pool)
                .await?;
        for (index, unique, origin, partial) in indexes {
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .bind(&index)
                .fetch_all(pool)
                .await?;
            match origin.as_str() {
                "pk" => {}
                "u" => {
                    table.unique.insert(columns);
                }
                _ => {
                    let sql: String =
                        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1")
                            .bind(&index)
                            .fetch_one(pool)
                            .await?;
                    let upper = sql.to_uppercase();
                    let predicate = (partial != 0)
                        .then(|| condition(&sql[upper.rfind(" WHERE ").expect("a partial index has WHERE") + 7..]));
                    table.indexes.insert(index, (columns, unique != 0, predicate));
                }
            }
        }

        let keys: Vec<SqliteKeyRow> = sqlx::query_as(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) \
             ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(pool)
        .await?;
        let mut by_id: BTreeMap<i64, (Vec<String>, String, Vec<String>, String)> = BTreeMap::new();
        for (id, to_table, from, to, on_update, on_delete) in keys {
            let actions = format!("ON UPDATE {on_update} ON DELETE {on_delete}");
            let entry = by_id.entry(id).or_insert_with(|| (Vec::new(), to_table, Vec::new(), actions));
            entry.0.push(from);
            entry.2.push(to.expect("foreign keys name the referenced columns"));
        }
        table.foreign_keys = by_id.into_values().collect();

        let triggers: Vec<String> =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1")
                .bind(&name)
                .fetch_all(pool)
                .await?;
        for sql in triggers {
            let words: Vec<String> = sql.split_whitespace().map(str::to_uppercase).collect();
            let on = words.iter().position(|w| w == "ON").expect("a trigger is ON a table");
            let timing = words[..on].iter().find(|w| ["BEFORE", "AFTER", "INSTEAD"].contains(&w.as_str()));
            let event = words[..on].iter().find(|w| ["INSERT", "UPDATE", "DELETE"].contains(&w.as_str()));
            // SQLite has row triggers only.
            let timing = timing.map_or("BEFORE", |t| t.as_str());
            table.triggers.insert(format!("{timing} {} FOR EACH ROW", event.expect("an event")));
        }
        schema.insert(name, table);
    }
    Ok(schema)
}

async fn postgres_schema(pool: &sqlx::PgPool) -> Result<Schema, sqlx::Error> {
    let mut schema = Schema::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await?;
    for name in tables {
        schema.insert(name, Table::default());
    }

    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
         AND table_name NOT IN (SELECT table_name FROM information_schema.views WHERE table_schema = 'public')",
    )
    .fetch_all(pool)
    .await?;
    for (table, column, data_type, nullable) in columns {
        let ty = postgres_type(&table, &column, &data_type);
        schema.get_mut(&table).expect("a column of a listed table").columns.insert(column, (ty, nullable == "YES"));
    }

    // Keys, with their columns in key order.
    let constraints: Vec<KeyRow> = sqlx::query_as(
        "SELECT t.relname::text, c.contype::text, \
           ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i) \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i), \
           r.relname::text, \
           ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i) \
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i), \
           c.confupdtype::text, c.confdeltype::text \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace LEFT JOIN pg_class r ON r.oid = c.confrelid \
         WHERE ns.nspname = 'public' AND c.contype IN ('p', 'u', 'f') AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await?;
    // pg_constraint's action codes, as SQLite names them.
    let action = |code: &str| match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        other => panic!("foreign key action {other:?}"),
    };
    for (table, kind, columns, referenced, referenced_columns, on_update, on_delete) in constraints {
        let t = schema.get_mut(&table).expect("a constraint of a listed table");
        match kind.as_str() {
            "p" => t.primary_key = columns,
            "u" => {
                t.unique.insert(columns);
            }
            _ => {
                let actions = format!("ON UPDATE {} ON DELETE {}", action(&on_update), action(&on_delete));
                t.foreign_keys.insert((columns, referenced.expect("a referenced table"), referenced_columns, actions));
            }
        }
    }

    // Indexes made by CREATE INDEX: those that back no constraint.
    let indexes: Vec<IndexRow> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, x.indisunique, \
           ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(n, o) \
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o), \
           pg_get_expr(x.indpred, x.indrelid) \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE ns.nspname = 'public' AND t.relname <> '_sqlx_migrations' \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid \
             AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x'))",
    )
    .fetch_all(pool)
    .await?;
    for (table, index, unique, columns, predicate) in indexes {
        let t = schema.get_mut(&table).expect("an index of a listed table");
        t.indexes.insert(index, (columns, unique, predicate.as_deref().map(condition)));
    }

    // pg_trigger.tgtype: bit 0 ROW, 1 BEFORE, 2 INSERT, 3 DELETE, 4 UPDATE, 5 TRUNCATE, 6 INSTEAD OF.
    let triggers: Vec<(String, i16)> = sqlx::query_as(
        "SELECT c.relname::text, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
         JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = 'public' AND NOT t.tgisinternal",
    )
    .fetch_all(pool)
    .await?;
    for (table, tgtype) in triggers {
        let timing = match (tgtype & 2 != 0, tgtype & 64 != 0) {
            (_, true) => "INSTEAD",
            (true, false) => "BEFORE",
            (false, false) => "AFTER",
        };
        let level = if tgtype & 1 != 0 { "ROW" } else { "STATEMENT" };
        let t = schema.get_mut(&table).expect("a trigger of a listed table");
        for (bit, event) in [(4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")] {
            if tgtype & bit != 0 {
                t.triggers.insert(format!("{timing} {event} FOR EACH {level}"));
            }
        }
    }
    Ok(schema)
}

/// Migration 000009 makes SQLite's three tables keyed by text again: a database
/// made before it, with a run, its release's key and its engine, keeps every
/// row and every key that points at them, and verifies as before.
#[test]
fn text_keys_of_sqlite_become_not_null_without_losing_a_row() {
    let t = Driver::new(Backend::Sqlite);
    let run = t.evaluated_run(5, 200, "2024-09");
    let counts = || {
        ["plugins", "signing_keys", "engines", "releases", "decisions"]
            .map(|table| t.scalar(format!("SELECT COUNT(*) FROM {table}")))
    };
    let before = counts();
    // Back to the tables as migrations 000001 to 000008 left them, and 000009 not applied.
    let undo = std::fs::read_to_string(crate::support::workspace().join(MIGRATION_9))
        .unwrap()
        .replace("TEXT NOT NULL PRIMARY KEY", "TEXT PRIMARY KEY");
    t.sql(move |db| {
        Box::pin(async move {
            let Db::Sqlite(pool) = db else { unreachable!() };
            let mut tx = pool.begin().await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(undo)).execute(&mut *tx).await.unwrap();
            let null = sqlx::query("INSERT INTO engines (id, identity) VALUES (NULL, '{}')").execute(&mut *tx).await;
            assert!(null.is_ok(), "the undo did not undo: {null:?}");
            sqlx::query("DELETE FROM engines WHERE id IS NULL").execute(&mut *tx).await.unwrap();
            sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 20261205000009").execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        })
    });

    // The next command migrates it, and the audit trail still verifies.
    let verified = stdout(&ok(t.cli().args(["audit", "verify"])));
    assert!(verified.contains("VERIFIED"), "{verified}");
    ok(t.cli().args(["audit", "replay", &run]));
    assert_eq!(counts(), before);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
    // A NULL key is refused as such (the other columns, NOT NULL too, are given).
    let rows = [
        ("plugins", "hash", "(NULL, 'n', 'v', '{}', x'00', 't')"),
        ("signing_keys", "id", "(NULL, 'national', 'k', 'a', 't', NULL, NULL)"),
        ("engines", "id", "(NULL, '{}')"),
    ];
    for (table, key, row) in rows {
        let refused = t.execute(format!("INSERT INTO {table} VALUES {row}")).unwrap_err();
        assert!(refused.contains(&format!("NOT NULL constraint failed: {table}.{key}")), "{table}: {refused}");
    }
}

const MIGRATION_9: &str = "migrations/sqlite/20261205000009_not_null_keys.sql";

/// Migration 000010 on a database made before it, with a run issued and a
/// payment rejected by the bank: every payment is kept, the rejected one is
/// marked so (from the status the reconciliation stored), the audit trail
/// still verifies and the run replays, and the rejected person can be paid
/// again while the others cannot.
fn payments_made_before_rejections_counted_migrate_whole(t: Driver) {
    use crate::money_path::{MONTH, approved, bank_answers, issue, payable, province};
    province(&t);
    let run = approved(&t, MONTH);
    ok(&mut issue(&t, &run));
    let rejected = payable(&t, &run, "bank")[0];
    bank_answers(&t, &run, MONTH, &[(rejected, "AC04")]);
    let payments = t.scalar("SELECT COUNT(*) FROM payments");

    // Back to the schema as migrations 000001 to 000009 left it.
    let undo = match t.backend {
        Backend::Postgres => "DROP TABLE holds; DROP INDEX payments_once; ALTER TABLE payments DROP COLUMN rejected; \
             ALTER TABLE payments ADD CONSTRAINT payments_program_period_id_number_key UNIQUE (program, period, id_number);"
            .to_owned(),
        Backend::Sqlite => {
            let migration = std::fs::read_to_string(crate::support::workspace().join(MIGRATION_10)).unwrap();
            let start = migration.find("CREATE TABLE payments (").unwrap();
            let table = &migration[start..start + migration[start..].find(");").unwrap() + 2];
            let table = table.replace(
                "    rejected       BOOLEAN NOT NULL DEFAULT FALSE,\n",
                "    UNIQUE (program, period, id_number),\n",
            );
            assert!(table.contains("UNIQUE (program, period, id_number)"), "{table}");
            format!(
                "PRAGMA defer_foreign_keys = ON; DROP TABLE holds; \
                 CREATE TEMP TABLE kept AS SELECT * FROM payments; DROP TABLE payments; {table} \
                 INSERT INTO payments SELECT id, run_id, beneficiary_id, program, period, id_number, amount, channel, \
                 bank_bin, account_number, account_name FROM kept; DROP TABLE kept; \
                 CREATE INDEX payments_by_run ON payments (run_id, id); \
                 CREATE INDEX payments_by_run_channel ON payments (run_id, channel, id);"
            )
        }
    };
    t.sql(move |db| {
        Box::pin(async move {
            let undo = format!("{undo} DELETE FROM _sqlx_migrations WHERE version = 20261205000010;");
            match db {
                Db::Sqlite(pool) => {
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::raw_sql(sqlx::AssertSqlSafe(undo)).execute(&mut *tx).await.unwrap();
                    let column = sqlx::query("SELECT rejected FROM payments").execute(&mut *tx).await;
                    assert!(column.is_err(), "the undo did not undo: {column:?}");
                    tx.commit().await.unwrap();
                }
                Db::Postgres(pool) => {
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::raw_sql(sqlx::AssertSqlSafe(undo)).execute(&mut *tx).await.unwrap();
                    let columns = sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'payments' \
                         AND column_name = 'rejected'",
                    )
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                    assert_eq!(columns, 0, "the undo did not undo");
                    tx.commit().await.unwrap();
                }
            }
        })
    });
    // The next command migrates it.
    let verified = stdout(&ok(t.cli().args(["audit", "verify"])));
    assert!(verified.contains("VERIFIED"), "{verified}");
    ok(t.cli().args(["audit", "replay", &run]));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM payments"), payments);
    assert_eq!(t.numbers("SELECT beneficiary_id FROM payments WHERE rejected"), vec![rejected]);
    // The rejected person may be paid again for the month, once; no one else.
    let again = approved(&t, MONTH);
    ok(&mut issue(&t, &again));
    assert_eq!(t.numbers(format!("SELECT beneficiary_id FROM payments WHERE run_id = {again}")), vec![rejected]);
}

on_both_backends!(payments_made_before_rejections_counted_migrate_whole);

const MIGRATION_10: &str = "migrations/sqlite/20261205000010_holds_and_rejections.sql";

#[test]
fn a_partial_index_condition_reads_alike_in_both_dialects() {
    assert_eq!(condition("state <> 'retired'"), condition("(state <> 'retired'::text)"));
    assert_eq!(condition("exception IS NOT NULL"), condition("(exception IS NOT NULL)"));
    assert_ne!(condition("state = 'active'"), condition("(state <> 'active'::text)"));
    assert_ne!(condition("state = 'Active'"), condition("(state = 'active'::text)"));
    assert_ne!(condition("a AND (b OR c)"), condition("((a AND b) OR c)"));
    assert_ne!(condition("(a) AND (b)"), condition("a AND b"));
}
