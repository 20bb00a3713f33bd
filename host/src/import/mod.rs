//! `registry import` and `beneficiaries import`: load a CSV file of a public
//! format (`formats.md`) into the database, all of it or nothing.
//!
//! The file is parsed as a stream ([`parse`]) and written in batches: in one
//! transaction on PostgreSQL; on SQLite, whose writers wait on each other,
//! staged apart, then merged in short transactions (see [`load`]). A file with
//! bad rows is refused whole: nothing of it is written, the first bad rows are
//! reported (file, row, field, what was expected) and every one is written, as
//! it was, to a file of rejects with its problem. With [`BadRows::Skip`] the
//! good rows are imported and the bad ones only go to that file. Rows are
//! upserted by their natural key, so importing the same file again changes
//! nothing.
//!
//! The rejects file is opened in a spreadsheet to correct the rows, so "as it
//! was" stops where a spreadsheet would act on a cell: one that would run as a
//! formula gets a leading apostrophe, control characters are written as
//! visible escapes, a cell too long to read is cut, and the problem column says
//! which cells were so changed ([`Rejects`]).

pub mod parse;

use std::collections::HashMap;
use std::collections::hash_map::{DefaultHasher, Entry};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tracing::info;

use crate::model::payee;
use crate::model::{Enrolment, RegistryRecord};
use crate::store::imports;
use crate::store::staging::{self, Staging};
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
    /// The first of them, with their problems.
    pub shown: Vec<RowError>,
    /// sha256 of the file, hex, as the audit log records it.
    pub sha256: String,
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

/// How an import is done: what to do with bad rows, who acts, and the
/// provinces whose enrolments they may load.
pub struct Options<'a> {
    pub bad_rows: BadRows,
    pub by: &'a crate::trail::Actor,
    /// Whether the one acting may enrol people in a province (its 3-digit
    /// code): an enrolment of another province is a bad row, so that no
    /// province's officer changes another's payees. Registry rows are the
    /// national registry's, about wherever people live, and are not scoped.
    pub covers: &'a (dyn Fn(&str) -> bool + Sync),
    /// The scope said in a bad row's message, e.g. `province:079`.
    pub scope: String,
    /// What errors and the audit log call the file: an upload's own name (its
    /// path on the service means nothing to whoever sent it); else its path.
    pub name: Option<String>,
}

impl Options<'_> {
    fn name(&self, path: &Path) -> String {
        self.name.clone().unwrap_or_else(|| path.display().to_string())
    }
}

/// Import a population registry extract.
pub async fn registry(
    db: &Db,
    path: &Path,
    options: &Options<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Imported> {
    let rows = parse::Rows::open(path, &options.name(path), &crate::model::records::REGISTRY)?;
    load(db, path, "registry", rows, options, progress).await
}

/// Import a beneficiary enrolment file.
pub async fn beneficiaries(
    db: &Db,
    path: &Path,
    options: &Options<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Imported> {
    let rows = parse::Rows::open(path, &options.name(path), &crate::model::records::ENROLMENT)?;
    load(db, path, "enrolment", rows, options, progress).await
}

/// The rejected rows as they were in the file, each with its problem, written
/// to a temporary file that becomes the rejects file only if there are any.
///
/// A cell is written as it was unless a spreadsheet opening the file would act
/// on it: one that would run as a formula (`payee::formula_start`: =, +, -
/// or @, after white space) gets a leading apostrophe, shown as typed; a
/// control character (`payee::forbidden_char`) is written as a visible escape
/// (`\t`, `\n`, `\r`, `\0`, `\u{1b}`; a backslash in such a cell as `\\`), so
/// every row is one line; a cell too long to be read whole is cut to its first
/// [`CUT_TO`] characters. The problem column names the cells so changed.
struct Rejects {
    path: PathBuf,
    writer: Option<csv::Writer<tempfile::NamedTempFile>>,
}

/// The characters of a cell too long to read that the rejects file shows.
const CUT_TO: usize = 64;

/// How a cell of the rejects file differs from the file's.
#[derive(Default)]
struct Changed {
    apostrophe: Vec<String>,
    escaped: Vec<String>,
    cut: Option<String>,
}

impl Changed {
    /// What the problem column adds, in sentences after the problem.
    fn notes(&self, cells_left_out: u64) -> String {
        let fields = |names: &[String]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let mut notes = String::new();
        if !self.apostrophe.is_empty() {
            notes.push_str(&format!(
                ". In this file {} begins with an apostrophe, so that a spreadsheet shows it instead of running \
                 it as a formula",
                fields(&self.apostrophe)
            ));
        }
        if !self.escaped.is_empty() {
            notes.push_str(&format!(
                ". In this file the control characters of {} are written as \\t, \\n, \\r, \\0 or \\u{{..}} (and a \
                 backslash as \\\\)",
                fields(&self.escaped)
            ));
        }
        if let Some(name) = &self.cut {
            notes.push_str(&format!(". In this file `{name}` is cut to its first {CUT_TO} characters"));
        }
        if cells_left_out > 0 {
            notes.push_str(&format!(
                ". In this file the last {cells_left_out} cells of the row are left out, after the first {}",
                parse::MAX_CELLS_KEPT
            ));
        }
        notes
    }
}

/// `cell` as a spreadsheet can open it, and whether it was changed (see [`Rejects`]).
fn defuse(cell: &str) -> (String, bool, bool) {
    let formula = payee::formula_start(cell).is_some();
    let control = payee::forbidden_char(cell).is_some();
    let mut out = String::with_capacity(cell.len() + 1);
    if formula {
        out.push('\'');
    }
    if !control {
        out.push_str(cell);
        return (out, formula, false);
    }
    for c in cell.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\\' => out.push_str("\\\\"),
            c if payee::forbidden(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    (out, formula, true)
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
        let header = rows.header();
        let shortened = rows.shortened();
        let mut changed = Changed::default();
        let mut record = csv::StringRecord::new();
        for (pos, bytes) in rows.raw_record().iter().enumerate() {
            let name = || header.get(pos).map_or_else(|| format!("column {}", pos + 1), |n| (*n).to_owned());
            // A row error comes after every cell was read as UTF-8; a cut cell is cut where a character begins.
            let mut cell = String::from_utf8_lossy(bytes).into_owned();
            if shortened.too_long.is_some_and(|(at, _)| at == pos) {
                cell = cell.chars().take(CUT_TO).chain(['…']).collect();
                changed.cut = Some(name());
            }
            let (cell, apostrophe, escaped) = defuse(&cell);
            if apostrophe {
                changed.apostrophe.push(name());
            }
            if escaped {
                changed.escaped.push(name());
            }
            record.push_field(&cell);
        }
        let problem = format!(
            "row {}, field `{}`: expected {}{}",
            problem.row,
            problem.field,
            problem.expected,
            changed.notes(shortened.cells_left_out)
        );
        // Messages quote no cell whole, but whatever they hold is made safe too.
        record.push_field(&defuse(&problem).0);
        writer.write_record(&record)?;
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
trait Upsert: Sized + 'static {
    /// What must be unique in a file, as a bad row's message says it.
    const KEY: &'static str;
    /// The table loaded.
    const TABLE: Table;
    /// The same, for a staged import on SQLite.
    const STAGED: &'static staging::Target<Self>;

    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()>;

    fn key(&self, into: &mut impl Hasher);

    /// The province the row is about, where a row is loaded only within the acting account's scope.
    fn scoped_province(&self) -> Option<&str>;
}

impl Upsert for RegistryRecord {
    const KEY: &'static str = "one row per id_number";
    const TABLE: Table = Table::RegistryPeople;
    const STAGED: &'static staging::Target<Self> = &staging::REGISTRY;

    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()> {
        registry::upsert(tx, rows).await
    }

    fn scoped_province(&self) -> Option<&str> {
        None
    }

    fn key(&self, into: &mut impl Hasher) {
        self.id_number.hash(into);
    }
}

impl Upsert for Enrolment {
    const KEY: &'static str = "one row per id_number, program and province";
    const TABLE: Table = Table::Beneficiaries;
    const STAGED: &'static staging::Target<Self> = &staging::BENEFICIARIES;

    async fn upsert(tx: &mut Tx, rows: &[Self]) -> anyhow::Result<()> {
        beneficiaries::upsert(tx, rows).await
    }

    fn scoped_province(&self) -> Option<&str> {
        Some(&self.province)
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

/// A file read: its good rows, one at a time, and a count of the bad ones,
/// the first of them kept for the error and every one written to the rejects.
struct Checker<'o, T: 'static> {
    rows: Rows<T>,
    seen: Seen,
    options: &'o Options<'o>,
    bad_count: u64,
    shown: Vec<RowError>,
}

impl<'o, T: Upsert> Checker<'o, T> {
    fn new(rows: Rows<T>, options: &'o Options<'o>) -> Self {
        Checker { rows, seen: Seen::default(), options, bad_count: 0, shown: Vec::new() }
    }

    /// The next good row, or `None` at the end of the file; a bad row before it is counted and
    /// written to `rejects`; a file that cannot be read further is an error.
    fn next_good(&mut self, rejects: &mut Rejects) -> anyhow::Result<Option<T>> {
        let rows = &mut self.rows;
        while let Some(row) = rows.next() {
            let row = row.and_then(|row| match self.seen.earlier(&row, rows.row()) {
                None => Ok(row),
                Some(first) => Err(ImportError::Row(RowError {
                    file: rows.file().to_owned(),
                    row: rows.row(),
                    field: "id_number".to_owned(),
                    expected: format!("{}; the same is on row {first}", T::KEY),
                    found: "a repeat".to_owned(),
                })),
            });
            let row = row.and_then(|row| match row.scoped_province() {
                Some(province) if !(self.options.covers)(province) => Err(ImportError::Row(RowError {
                    file: rows.file().to_owned(),
                    row: rows.row(),
                    field: "province".to_owned(),
                    expected: format!("a province in the scope of {} ({})", self.options.by.name, self.options.scope),
                    found: province.to_owned(),
                })),
                _ => Ok(row),
            });
            match row {
                Ok(row) => return Ok(Some(row)),
                Err(ImportError::Row(e)) => {
                    self.bad_count += 1;
                    rejects.add(rows, &e)?;
                    if self.shown.len() < BAD_ROWS_SHOWN {
                        self.shown.push(e);
                    }
                }
                // A transaction under way rolls back when dropped.
                Err(ImportError::File(e)) => return Err(anyhow::Error::from(e)),
            }
        }
        Ok(None)
    }
}

/// Where a file's good rows are written as they are read.
enum Sink<T: 'static> {
    /// PostgreSQL: the table itself, in the import's one transaction.
    Table(Tx),
    /// SQLite: a staging, merged into the table once the whole file is known good.
    Staging(Staging<T>),
}

impl<T: Upsert> Sink<T> {
    async fn write(&mut self, rows: &[T]) -> anyhow::Result<()> {
        match self {
            Sink::Table(tx) => T::upsert(tx, rows).await,
            Sink::Staging(staging) => staging.add(rows).await,
        }
    }
}

/// Stream a file's rows into the database; `progress` gets the work done and
/// the work to do, counted in bytes of the file.
///
/// On PostgreSQL the file is loaded in one transaction, and a bad row found
/// (unless skipped) rolls it back. On SQLite one write transaction holds back
/// every other writer of the database (a server's sign-ins, a run's progress),
/// and a million rows in one held it six seconds: there the rows are staged
/// apart as the file is read, which holds nothing back, then merged into the
/// table in parts of [`PART`](crate::store::staging::PART) rows, each its own
/// transaction ([`Staging`] says why in key order). The import is recorded `loading`
/// before its first part and `done` after its last, and no run is created or
/// evaluated while one is loading ([`ensure_none_loading`]): an import whose
/// process stopped midway is finished by importing the same file again, which
/// takes its record over (rows are upserted by their key, so the parts already
/// in change nothing).
async fn load<T: Upsert>(
    db: &Db,
    path: &Path,
    kind: &'static str,
    rows: Rows<T>,
    options: &Options<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Imported> {
    let started = Instant::now();
    let bad_rows = &options.bad_rows;
    let size = std::fs::metadata(path)?.len();
    let skip = matches!(bad_rows, BadRows::Skip { .. });
    let mut rejects = Rejects::new(bad_rows.rejects());
    let mut checker = Checker::new(rows, options);
    let file = checker.rows.file().to_owned();
    let mut sink = match Staging::open(db, T::STAGED).await? {
        Some(staging) => Sink::Staging(staging),
        None => Sink::Table(db.begin().await?),
    };
    // Work to do, in bytes: the file read, then as much again for merging the staged rows.
    let total = if matches!(sink, Sink::Staging(_)) { 2 * size } else { size };
    // Two batches: one is written while the next is parsed (see below).
    let (mut batch, mut full) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
    let mut good = 0u64;
    loop {
        // Refusing, once a bad row is seen nothing will be kept: go on only
        // to find every bad row.
        let keep = skip || checker.bad_count == 0;
        let write = async {
            if keep && !full.is_empty() {
                sink.write(&full).await?;
            }
            anyhow::Ok(())
        };
        // Parse the next batch while the database writes the last one: the
        // write's first poll hands the statement to the database (SQLite's
        // worker thread, PostgreSQL's server), which runs it while this
        // thread parses, where one waited for the other and each was about
        // half of an import (`ANSINH_LOG=sqlx=debug` at 1M rows).
        let fill = async {
            while batch.len() < BATCH {
                match checker.next_good(&mut rejects)? {
                    Some(row) => batch.push(row),
                    None => return anyhow::Ok(true),
                }
            }
            Ok(false)
        };
        // Biased: the write is polled first, so that its statement is on its way before the parse begins.
        let (written, filled) = tokio::join!(biased; write, fill);
        written?;
        let ended = filled?;
        if !full.is_empty() {
            good += full.len() as u64;
            full.clear();
            progress(checker.rows.bytes_read(), total);
        }
        std::mem::swap(&mut batch, &mut full);
        if ended {
            break;
        }
    }
    rejects.finish()?;
    if checker.bad_count > 0 && !skip {
        // Nothing was written: the transaction rolls back, the staging goes, when dropped.
        let refused =
            Refused { file, count: checker.bad_count, shown: checker.shown, rejects: bad_rows.rejects().into() };
        return Err(refused.into());
    }
    good += full.len() as u64;
    sink.write(&full).await?;
    let (sha256, bad_count, by) = (checker.rows.sha256(), checker.bad_count, &options.by.name);
    let (mut tx, import_id) = match sink {
        Sink::Table(mut tx) => {
            let id = imports::begin(&mut tx, kind, &file, &sha256, by).await?;
            (tx, id)
        }
        Sink::Staging(mut staging) => {
            let parts = staging.sort().await?;
            let mut tx = db.begin().await?;
            let id = imports::begin(&mut tx, kind, &file, &sha256, by).await?;
            tx.commit().await?;
            for part in 0..parts {
                staging.merge(part).await?;
                progress(size + size * (part + 1) as u64 / parts as u64, total);
            }
            (db.begin().await?, id)
        }
    };
    imports::finish(&mut tx, import_id, good, bad_count).await?;
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
    progress(total, total);
    let elapsed = started.elapsed();
    info!(file = file, rows = good, skipped = bad_count, seconds = elapsed.as_secs_f64(), "imported");
    let skipped = (bad_count > 0).then(|| (bad_count, bad_rows.rejects().to_owned()));
    Ok(Imported { rows: good, skipped, shown: checker.shown, sha256, elapsed })
}

/// Refuse to go on while an import is loading (on SQLite, where imports commit
/// in parts, see [`load`]): the tables hold part of a file, and a run decided
/// from them would pay some people from it and others from what it replaces.
pub async fn ensure_none_loading(db: &Db) -> anyhow::Result<()> {
    if let Some(loading) = imports::loading(db).await? {
        anyhow::bail!(
            "import {} of the {} file {} (sha256 {}…), begun by {} at {}, has not finished: the database holds part \
             of it. Wait for it if it is running; if its process stopped, import the same file again to finish it",
            loading.id,
            loading.kind,
            loading.file,
            loading.sha256.get(..12).unwrap_or(&loading.sha256),
            loading.by,
            loading.at.format("%d/%m/%Y %H:%M:%S UTC"),
        );
    }
    Ok(())
}
