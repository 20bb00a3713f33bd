//! `registry import` and `beneficiaries import`: load a CSV file of a public
//! format (`formats.md`) into the database, all of it or nothing.
//!
//! The file is parsed as a stream ([`parse`]) and written in batches inside one
//! transaction. A file with bad rows is refused whole: the transaction is
//! rolled back, the first bad rows are reported (file, row, field, what was
//! expected) and every one is written, as it was, to a file of rejects with
//! its problem. With [`BadRows::Skip`] the good rows are imported and the bad
//! ones only go to that file. Rows are upserted by their natural key, so
//! importing the same file again changes nothing.

pub mod parse;

use std::collections::HashMap;
use std::collections::hash_map::{DefaultHasher, Entry};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tracing::info;

use crate::model::{Enrolment, RegistryRecord};
use crate::store::imports::{self, Import};
use crate::store::{BATCH, Db, Table, Tx, beneficiaries, registry};
use parse::{ImportError, RowError, Rows};

/// Bad rows listed in the error; the rest are counted.
const BAD_ROWS_SHOWN: usize = 50;

/// What an import did.
#[derive(Clone, Debug)]
pub struct Imported {
    pub rows: u64,
    /// Bad rows left out (with [`BadRows::Skip`]), and the file they were written to.
    pub skipped: Option<(u64, PathBuf)>,
    pub elapsed: Duration,
}

/// What to do with a file that has bad rows.
#[derive(Clone, Debug)]
pub enum BadRows {
    /// Import nothing; every bad row goes to the rejects file.
    Refuse { rejects: PathBuf },
    /// Import the good rows; the bad ones go to the rejects file.
    Skip { rejects: PathBuf },
}

impl BadRows {
    /// Refuse, with the rejects beside the file: `x.csv` → `x.rejects.csv`.
    pub fn refuse(file: &Path) -> BadRows {
        BadRows::Refuse { rejects: file.with_extension("rejects.csv") }
    }

    fn rejects(&self) -> &Path {
        match self {
            BadRows::Refuse { rejects } | BadRows::Skip { rejects } => rejects,
        }
    }
}

/// A file refused because some rows break the format.
#[derive(Debug, thiserror::Error)]
#[error(
    "{file}: {count} bad rows; nothing was imported. Correct them and import the file again \
     (every bad row, with its problem, is in {}):\n{}{}",
    rejects.display(), list(.shown), more(*.count, .shown.len())
)]
pub struct Refused {
    pub file: String,
    pub count: u64,
    pub shown: Vec<RowError>,
    pub rejects: PathBuf,
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

/// How an import is done: what to do with bad rows, and who acts.
pub struct Options<'a> {
    pub bad_rows: BadRows,
    pub by: &'a str,
}

/// Import a population registry extract.
pub async fn registry(
    db: &Db,
    path: &Path,
    options: &Options<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Imported> {
    load(db, path, "registry", parse::registry_rows(path)?, options, progress).await
}

/// Import a beneficiary enrolment file.
pub async fn beneficiaries(
    db: &Db,
    path: &Path,
    options: &Options<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Imported> {
    load(db, path, "enrolment", parse::enrolment_rows(path)?, options, progress).await
}

/// The rejected rows as they were in the file, each with its problem, written
/// to a temporary file that becomes the rejects file only if there are any.
struct Rejects {
    path: PathBuf,
    writer: Option<csv::Writer<tempfile::NamedTempFile>>,
}

impl Rejects {
    fn new(path: &Path) -> Rejects {
        Rejects { path: path.to_owned(), writer: None }
    }

    fn add<T>(&mut self, rows: &Rows<T>, problem: &RowError) -> anyhow::Result<()> {
        if self.writer.is_none() {
            let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let temp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("creating the rejects file {}", self.path.display()))?;
            let mut writer = csv::Writer::from_writer(temp);
            let mut header = rows.header();
            header.push("problem");
            writer.write_record(&header)?;
            self.writer = Some(writer);
        }
        let writer = self.writer.as_mut().expect("made above");
        let mut record = rows.raw_record().clone();
        record.push_field(
            format!("row {}, field `{}`: expected {}", problem.row, problem.field, problem.expected).as_bytes(),
        );
        writer.write_byte_record(&record)?;
        Ok(())
    }

    /// Put the rejects file in place, if any row was rejected.
    fn finish(self) -> anyhow::Result<()> {
        if let Some(writer) = self.writer {
            let temp = writer.into_inner().map_err(|e| anyhow::anyhow!("writing the rejects file: {}", e.error()))?;
            temp.persist(&self.path).with_context(|| format!("writing the rejects file {}", self.path.display()))?;
        }
        Ok(())
    }
}

/// A row type that knows how to upsert a batch of itself, and its natural key.
trait Upsert: Sized {
    /// What must be unique in a file, as a bad row's message says it.
    const KEY: &'static str;
    /// The table loaded.
    const TABLE: Table;

    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()>;

    fn key(&self, into: &mut impl Hasher);
}

impl Upsert for RegistryRecord {
    const KEY: &'static str = "one row per id_number";
    const TABLE: Table = Table::RegistryPeople;

    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()> {
        registry::upsert(tx, rows).await
    }

    fn key(&self, into: &mut impl Hasher) {
        self.id_number.hash(into);
    }
}

impl Upsert for Enrolment {
    const KEY: &'static str = "one row per id_number, program and province";
    const TABLE: Table = Table::Beneficiaries;

    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()> {
        beneficiaries::upsert(tx, rows).await
    }

    fn key(&self, into: &mut impl Hasher) {
        (&self.id_number, &self.program, &self.province).hash(into);
    }
}

/// The rows already seen in a file, by a 64-bit hash of their key: a person
/// twice in one file is a bad row, not a silent overwrite (and PostgreSQL
/// refuses a batch that updates one row twice). 16 bytes a row, about 16 MB
/// for a million; two keys sharing a hash (odds near 1 in 10^7 for a million
/// rows) would refuse a good row with a message naming both rows.
#[derive(Default)]
struct Seen(HashMap<u64, u64>);

impl Seen {
    /// The row that first had `row`'s key, if another did.
    fn earlier<T: Upsert>(&mut self, row: &T, number: u64) -> Option<u64> {
        let mut hasher = DefaultHasher::new();
        row.key(&mut hasher);
        match self.0.entry(hasher.finish()) {
            Entry::Occupied(first) => Some(*first.get()),
            Entry::Vacant(slot) => {
                slot.insert(number);
                None
            }
        }
    }
}

/// Stream `rows` into the database in one transaction; `progress` gets bytes
/// read and the file's size.
async fn load<T: Upsert>(
    db: &Db,
    path: &Path,
    kind: &'static str,
    mut rows: Rows<T>,
    options: &Options<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Imported> {
    let started = Instant::now();
    let bad_rows = &options.bad_rows;
    let size = std::fs::metadata(path)?.len();
    let skip = matches!(bad_rows, BadRows::Skip { .. });
    let mut rejects = Rejects::new(bad_rows.rejects());
    let mut tx = db.begin().await?;
    let mut batch = Vec::with_capacity(BATCH);
    let (mut good, mut bad) = (0u64, Vec::new());
    let mut bad_count = 0u64;
    let mut seen = Seen::default();
    while let Some(row) = rows.next() {
        let row = row.and_then(|row| match seen.earlier(&row, rows.row()) {
            None => Ok(row),
            Some(first) => Err(ImportError::Row(RowError {
                file: rows.file().to_owned(),
                row: rows.row(),
                field: "id_number".to_owned(),
                expected: format!("{}; the same is on row {first}", T::KEY),
                found: "a repeat".to_owned(),
            })),
        });
        match row {
            Ok(row) => batch.push(row),
            Err(ImportError::Row(e)) => {
                bad_count += 1;
                rejects.add(&rows, &e)?;
                if bad.len() < BAD_ROWS_SHOWN {
                    bad.push(e);
                }
            }
            // The transaction rolls back when dropped.
            Err(ImportError::File(e)) => return Err(e.into()),
        }
        if batch.len() == BATCH {
            good += batch.len() as u64;
            // Refusing, once a bad row is seen nothing will be kept: go on only
            // to find every bad row.
            if skip || bad_count == 0 {
                T::upsert(&mut tx, &batch).await?;
            }
            batch.clear();
            progress(rows.bytes_read(), size);
        }
    }
    rejects.finish()?;
    if bad_count > 0 && !skip {
        let refused =
            Refused { file: rows.file().to_owned(), count: bad_count, shown: bad, rejects: bad_rows.rejects().into() };
        return Err(refused.into());
    }
    good += batch.len() as u64;
    T::upsert(&mut tx, &batch).await?;
    let (file, sha256) = (path.display().to_string(), rows.sha256());
    let record = Import { kind, file: &file, sha256: &sha256, rows: good, skipped: bad_count, by: options.by };
    let import_id = imports::record(&mut tx, &record).await?;
    let details = serde_json::json!({
        "kind": kind,
        "file": file,
        "sha256": sha256,
        "rows": good,
        "skipped": bad_count,
    });
    crate::trail::append(
        &mut tx,
        options.by,
        match kind {
            "registry" => crate::trail::action::IMPORT_REGISTRY,
            _ => crate::trail::action::IMPORT_ENROLMENT,
        },
        &format!("import:{import_id}"),
        details,
    )
    .await?;
    tx.commit().await?;
    // Fresh statistics for the planner: a run reads this table next.
    db.analyze(T::TABLE).await?;
    progress(size, size);
    let elapsed = started.elapsed();
    info!(file = %path.display(), rows = good, skipped = bad_count, seconds = elapsed.as_secs_f64(), "imported");
    let skipped = (bad_count > 0).then(|| (bad_count, bad_rows.rejects().to_owned()));
    Ok(Imported { rows: good, skipped, elapsed })
}
