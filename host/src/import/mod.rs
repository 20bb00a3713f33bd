//! `registry import` and `beneficiaries import`: load a CSV file of a public
//! format (`formats.md`) into the database, all of it or nothing.
//!
//! The file is parsed as a stream ([`parse`]) and written in batches inside one
//! transaction. A file with bad rows is refused whole: every bad row is
//! reported (file, row, field, what was expected) and the transaction is rolled
//! back. Rows are upserted by their natural key, so importing the same file
//! again changes nothing.

pub mod parse;

use std::path::Path;
use std::time::{Duration, Instant};

use tracing::info;

use crate::model::{Enrolment, RegistryRecord};
use crate::store::{BATCH, Db, Tx, beneficiaries, registry};
use parse::{ImportError, RowError, Rows};

/// Bad rows listed in the error; the rest are counted.
const BAD_ROWS_SHOWN: usize = 50;

/// What an import did.
#[derive(Clone, Debug)]
pub struct Imported {
    pub rows: u64,
    pub elapsed: Duration,
}

/// A file refused because some rows break the format.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {count} bad rows; nothing was imported. Correct them and import the file again:\n{}{}", list(.shown), more(*.count, .shown.len()))]
pub struct BadRows {
    pub file: String,
    pub count: u64,
    pub shown: Vec<RowError>,
}

fn list(rows: &[RowError]) -> String {
    rows.iter().map(|r| format!("  {r}\n")).collect()
}

fn more(count: u64, shown: usize) -> String {
    match count.saturating_sub(shown as u64) {
        0 => String::new(),
        rest => format!("  … and {rest} more\n"),
    }
}

/// Import a population registry extract.
pub async fn registry(db: &Db, path: &Path, progress: &(dyn Fn(u64, u64) + Sync)) -> anyhow::Result<Imported> {
    load(db, path, parse::registry_rows(path)?, progress).await
}

/// Import a beneficiary enrolment file.
pub async fn beneficiaries(db: &Db, path: &Path, progress: &(dyn Fn(u64, u64) + Sync)) -> anyhow::Result<Imported> {
    load(db, path, parse::enrolment_rows(path)?, progress).await
}

/// A row type that knows how to upsert a batch of itself.
trait Upsert: Sized {
    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()>;
}

impl Upsert for RegistryRecord {
    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()> {
        registry::upsert(tx, rows).await
    }
}

impl Upsert for Enrolment {
    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()> {
        beneficiaries::upsert(tx, rows).await
    }
}

/// Stream `rows` into the database in one transaction; `progress` gets bytes
/// read and the file's size.
async fn load<T: Upsert>(
    db: &Db,
    path: &Path,
    mut rows: Rows<T>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Imported> {
    let started = Instant::now();
    let size = std::fs::metadata(path)?.len();
    let mut tx = db.begin().await?;
    let mut batch = Vec::with_capacity(BATCH);
    let (mut good, mut bad) = (0u64, Vec::new());
    let mut bad_count = 0u64;
    while let Some(row) = rows.next() {
        match row {
            Ok(row) => batch.push(row),
            Err(ImportError::Row(e)) => {
                bad_count += 1;
                if bad.len() < BAD_ROWS_SHOWN {
                    bad.push(e);
                }
            }
            // The transaction rolls back when dropped.
            Err(ImportError::File(e)) => return Err(e.into()),
        }
        if batch.len() == BATCH {
            good += batch.len() as u64;
            // Once a bad row is seen nothing will be kept; go on only to find
            // every bad row.
            if bad_count == 0 {
                T::upsert(&mut tx, &batch).await?;
            }
            batch.clear();
            progress(rows.bytes_read(), size);
        }
    }
    if bad_count > 0 {
        return Err(BadRows { file: rows.file().to_owned(), count: bad_count, shown: bad }.into());
    }
    good += batch.len() as u64;
    T::upsert(&mut tx, &batch).await?;
    tx.commit().await?;
    progress(size, size);
    let elapsed = started.elapsed();
    info!(file = %path.display(), rows = good, seconds = elapsed.as_secs_f64(), "imported");
    Ok(Imported { rows: good, elapsed })
}
