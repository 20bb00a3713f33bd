//! Storage: SQLite (embedded default) or PostgreSQL (production), one schema,
//! one set of queries.
//!
//! Every query is written once in SQL that both backends accept (`$1`
//! placeholders, `ON CONFLICT`, `RETURNING`, `CAST(... AS BIGINT)`), and
//! [`on_pool!`] compiles it once per backend. The migrations differ only in
//! types (`migrations/sqlite`, `migrations/postgres`).

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub mod accounts;
pub mod audit;
pub mod beneficiaries;
pub mod decisions;
pub mod flags;
pub mod holds;
pub mod imports;
pub mod jobs;
pub mod keys;
pub mod lease;
pub mod packed;
pub mod parts;
pub mod payments;
pub mod people;
pub mod plugins;
pub mod reconcile;
pub mod registry;
pub mod releases;
pub mod runs;
pub mod sessions;
pub mod shards;
pub mod staging;

/// Rows written per INSERT statement in bulk loads: well under both backends'
/// limits on bound parameters (SQLite 32,766; PostgreSQL 65,535).
pub const BATCH: usize = 1000;

/// Rows a SQLite connection's thread may read ahead of the caller: a whole
/// page of a run, so that it is handed over without waiting.
const ROWS_IN_FLIGHT: usize = 4096;

/// The tables filled in bulk, whose statistics [`Db::analyze`] refreshes.
#[derive(Clone, Copy, Debug)]
pub enum Table {
    RegistryPeople,
    Beneficiaries,
    Decisions,
}

/// What connecting does to the schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Schema {
    /// Apply the migrations it lacks (one machine, the demo, the tests).
    #[default]
    Migrate,
    /// Refuse a database that lacks any: where only a migration step changes
    /// the schema (Kubernetes' Job, compose's `migrate`).
    Check,
}

/// A connection pool to one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on one of the two backends.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Run `$body` with `$pool` bound to the backend's pool: the same code,
/// type-checked once for each backend.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Like [`on_pool!`], with `$conn` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::store::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Tx {
    pub async fn commit(self) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Turn off SQLite's statistics of its memory use, once, before the first
/// connection is opened. It keeps them behind one mutex for the whole process,
/// taken on every allocation and free, and sqlx copies each column of each row
/// it reads into memory of SQLite's: reading a run's decisions back spent a
/// quarter of its time taking and releasing that mutex (perf, `run approve` at
/// 100,000). ansinh never asks for the statistics.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` must not run alongside any other SQLite
        // call and must come before `sqlite3_initialize`: it runs once, before
        // this process opens its first connection (every connection is opened
        // here, after it). Had SQLite been initialised already, it would return
        // SQLITE_MISUSE and change nothing.
        let rc =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite kept its memory statistics");
        }
    });
}

impl Db {
    /// Connect and bring the schema up to date. `url` is a `postgres://` URL,
    /// a `sqlite:` URL, or a plain file path (SQLite, created if missing).
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::open(url, Schema::Migrate).await
    }

    /// Connect to `url`, and bring its schema up to date or only check that it is.
    pub async fn open(url: &str, schema: Schema) -> anyhow::Result<Db> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Plan every statement for its own values, never one generic plan
            // for the life of a connection: a run's pages are read by one
            // prepared statement, and a generic plan made while `decisions`
            // was still empty scans it for every person (a 1M run on
            // PostgreSQL slowed to 3.4 s a page of 500).
            let options = PgConnectOptions::from_str(url)
                .with_context(|| format!("reading the PostgreSQL URL {}", redact_url(url)))?
                .options([("plan_cache_mode", "force_custom_plan")]);
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .with_context(|| format!("connecting to PostgreSQL at {}", redact_url(url)))?;
            Db::Postgres(pool)
        } else {
            without_memory_statistics();
            let url = if url.starts_with("sqlite:") { url.to_owned() } else { format!("sqlite://{url}") };
            let options = SqliteConnectOptions::from_str(&url)
                .with_context(|| format!("reading the SQLite URL {url}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // 32 MiB of page cache per connection instead of 2 MiB: imports
                // and runs touch the same index pages over and over.
                .pragma("cache_size", "-32768")
                .pragma("temp_store", "memory")
                // sqlx hands a query's rows from the connection's thread one
                // at a time through a channel of this many: at its default of
                // 50 a page of 500 rows wakes the reader ten times over, and
                // a million-person run spent more time switching threads
                // than deciding (perf: a third of it in the kernel's futexes).
                .row_buffer_size(ROWS_IN_FLIGHT);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .with_context(|| format!("opening the SQLite database {url}"))?;
            Db::Sqlite(pool)
        };
        match schema {
            Schema::Migrate => db.migrate().await?,
            Schema::Check => db.ready().await.context("--migrate check")?,
        }
        Ok(db)
    }

    /// This process's connections: in use, idle, and the most the pool opens.
    pub fn connections(&self) -> (u32, u32, u32) {
        on_pool!(self, pool => {
            let idle = pool.num_idle() as u32;
            (pool.size().saturating_sub(idle), idle, pool.options().get_max_connections())
        })
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await,
        }
        .context("bringing the database schema up to date")
    }

    /// Whether the database answers now and holds every migration this
    /// binary knows, applied: what a service is ready on (`/readyz`). Err
    /// says which of the two is not so.
    pub async fn ready(&self) -> anyhow::Result<()> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";
        let (known, applied): (Vec<i64>, Result<Vec<i64>, sqlx::Error>) = match self {
            Db::Sqlite(pool) => (
                sqlx::migrate!("../migrations/sqlite").iter().map(|m| m.version).collect(),
                sqlx::query_scalar(APPLIED).fetch_all(pool).await,
            ),
            Db::Postgres(pool) => (
                sqlx::migrate!("../migrations/postgres").iter().map(|m| m.version).collect(),
                sqlx::query_scalar(APPLIED).fetch_all(pool).await,
            ),
        };
        let applied = match applied {
            Ok(applied) => applied,
            // No record of migrations at all (a database no version has touched), if it answers.
            Err(_) => {
                on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
                    .context("the database does not answer")?;
                Vec::new()
            }
        };
        let missing: Vec<String> = known.iter().filter(|v| !applied.contains(v)).map(i64::to_string).collect();
        if !missing.is_empty() {
            bail!(
                "the database lacks migrations {}: run `ansinh migrate` of this version against it (in Kubernetes, \
                 the migration Job)",
                missing.join(", ")
            );
        }
        Ok(())
    }

    /// A transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), waiting its turn behind another writer: a deferred
    /// transaction that reads and then writes fails at the write, without
    /// waiting, if another connection committed since its first read
    /// (SQLITE_BUSY_SNAPSHOT), which a server answering requests beside a
    /// running job met as a 500. PostgreSQL waits on row locks as it should.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A transaction that reads for a long time (a run's million decisions)
    /// before it writes what it read, tried by [`retry_serializable`], whose
    /// `attempt` it takes. On SQLite the first try reads without the write
    /// lock and takes it at its first write, which SQLite grants only if no
    /// other connection has committed since the read began (else the try is
    /// given up and made again): the long read does not stall every other
    /// writer (a server's sign-ins, another run's evaluation). The tries after
    /// that take the lock at once, as [`Db::begin`], so that a database written
    /// to all the time cannot refuse it again and again. On PostgreSQL, as
    /// [`Db::begin`].
    pub async fn begin_read_first(&self, attempt: Attempt) -> anyhow::Result<Tx> {
        match self {
            Db::Sqlite(_) if attempt.is_first() => self.snapshot().await,
            _ => self.begin().await,
        }
    }

    /// A transaction that only reads, for one consistent view of several
    /// reads. On SQLite it takes no write lock, so a long read (a million
    /// digests) does not hold up the writers; never write in it.
    pub async fn snapshot(&self) -> anyhow::Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Bring the planner's statistics of `table` up to date after a bulk load,
    /// on PostgreSQL (SQLite's planner goes by the indexes). Without them, a
    /// table just filled looks nearly empty, and PostgreSQL reads a page of
    /// a million-row run by sorting all of it: 0.6 s a page instead of 18 ms,
    /// measured. Autovacuum would come to it, but not before the next step,
    /// and not at all where it is off.
    pub async fn analyze(&self, table: Table) -> anyhow::Result<()> {
        if let Db::Postgres(pool) = self {
            let statement = match table {
                Table::RegistryPeople => "ANALYZE registry_people",
                Table::Beneficiaries => "ANALYZE beneficiaries",
                Table::Decisions => "ANALYZE decisions",
            };
            sqlx::query(statement).execute(pool).await.with_context(|| statement)?;
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// Whether the database refused a row for breaking a unique key or index.
pub fn is_unique_violation(e: &anyhow::Error) -> bool {
    e.downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Whether the database gave up a transaction that overlapped another: it
/// is safe to try again. PostgreSQL SERIALIZABLE says so by SQLSTATE 40001;
/// SQLite refuses the first write of a transaction that read without the
/// write lock ([`Db::begin_read_first`]'s first try) when another connection
/// committed since its read (SQLITE_BUSY_SNAPSHOT, 517) or holds the lock
/// (SQLITE_BUSY, 5: a reader is not let wait for it, lest two readers wait on
/// each other).
pub fn is_serialization_failure(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|e| e.downcast_ref::<sqlx::Error>())
        .filter_map(|e| e.as_database_error())
        .any(|e| matches!(e.code().as_deref(), Some("40001" | "517" | "5")))
}

/// Tries at a SERIALIZABLE transaction that overlapped another (PostgreSQL
/// gives one of them up; nothing of it was kept).
const SERIALIZABLE_ATTEMPTS: u32 = 5;

/// Turns at SQLite's write lock for other writers, between the short
/// transactions of one long write (the parts of an issue). SQLite keeps no
/// queue for the lock: a writer that finds it taken sleeps and tries again, up
/// to 100 ms apart, so parts committed back to back, each a few milliseconds,
/// kept a small write waiting 1.9 s at a million people (`bench/write_stall.py`
/// beside `run issue`). Every [`Turns::WORK`] of parts the lock is left free
/// for longer than that sleep: a fifth of the parts' time, for waits of half a
/// second at most. PostgreSQL locks rows and queues its waiters: no turns.
pub struct Turns {
    sqlite: bool,
    since: std::time::Instant,
}

impl Turns {
    /// How long parts go on before a turn.
    const WORK: Duration = Duration::from_millis(400);
    /// How long a turn leaves the lock free: over SQLite's longest sleep between tries.
    const FREE: Duration = Duration::from_millis(110);

    pub fn new(db: &Db) -> Turns {
        Turns { sqlite: matches!(db, Db::Sqlite(_)), since: std::time::Instant::now() }
    }

    /// After a part is committed: give the lock a turn, if it is time.
    pub async fn after_part(&mut self) {
        if self.sqlite && self.since.elapsed() >= Self::WORK {
            tokio::time::sleep(Self::FREE).await;
            self.since = std::time::Instant::now();
        }
    }
}

/// Which try of a [`retry_serializable`] transaction this is, for
/// [`Db::begin_read_first`] to take SQLite's write lock late on the first and
/// at once on the others.
#[derive(Clone, Copy, Debug)]
pub struct Attempt(u32);

impl Attempt {
    pub fn is_first(self) -> bool {
        self.0 == 1
    }
}

/// Run `attempt` (one [`Db::begin_read_first`] transaction, committed or not)
/// again while the database gives it up for overlapping another, a few times.
pub async fn retry_serializable<T, F>(what: &str, mut attempt: impl FnMut(Attempt) -> F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut tried = 1;
    loop {
        match attempt(Attempt(tried)).await {
            // Tried again at once: on PostgreSQL the other has committed or is
            // about to; on SQLite the next try waits for the write lock.
            Err(e) if is_serialization_failure(&e) && tried < SERIALIZABLE_ATTEMPTS => {
                tracing::info!(tried, what, "another transaction overlapped this one: trying again");
                tried += 1;
            }
            other => return other,
        }
    }
}

/// A URL fit for messages: the password, if any, is hidden.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
