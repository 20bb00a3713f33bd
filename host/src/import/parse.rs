//! Streaming, typed reading of the two public CSV formats (`formats.md`): the
//! population registry extract and the beneficiary enrolment.
//!
//! [`registry_rows`] and [`enrolment_rows`] check the file and its header, then
//! return an iterator that parses one record at a time from a reused buffer, so
//! memory stays constant whatever the size of the file. Nothing here touches the
//! database: the caller decides what to do with the rows and the errors (the
//! format says nothing of a broken file is half-imported, so a caller keeps
//! going through row errors to report them all, and imports only a clean file).
//!
//! # Row numbers
//!
//! Every error names a `row`: the number a spreadsheet shows for that record.
//! The header is row 1 and the first data row is row 2. Blank lines count, as a
//! spreadsheet shows them as empty rows; a quoted cell that spans several lines
//! counts as one row. Without such cells, the row is the line number a text
//! editor shows.
//!
//! # What a file must be
//!
//! * UTF-8, with or without a byte-order mark. Legacy Vietnamese 8-bit
//!   encodings (TCVN3, VNI) are recognised and refused with a hint to convert
//!   them; they are never guessed at.
//! * A header with exactly the format's columns, in any order. An unknown
//!   column is refused rather than ignored: the formats only grow by our own
//!   additions, so an unknown name is most likely a misspelt known one, and
//!   ignoring it would silently drop that column's data.
//! * Cells are trimmed of surrounding white space. Rows whose cells are all
//!   empty (as spreadsheets leave behind) are skipped.
//! * A cell has at most [`MAX_CELL_BYTES`] bytes. Reading never holds more of
//!   one: the rest of a longer cell is read past, counted and dropped, and its
//!   row refused, so memory stays bounded whatever is in the file (a 1 GiB
//!   cell, or a file with no line break at all). Of a row, the first
//!   [`MAX_CELLS_KEPT`] cells are kept; more are counted.
//! * No cell may hold a control character (`model::payee::forbidden_char`)
//!   once trimmed: its row is refused naming the field, anywhere in the file.
//!   A NUL in the first bytes still refuses the file as binary.
//!
//! Field rules follow `formats.md` ([`crate::model::records`]), with what the
//! payment files can carry ([`crate::model::payee`]); only the first problem of
//! a row is reported, and "first" means leftmost in the file, whatever the
//! column order. A cell too long is reported before anything else of its row:
//! the rest of its row was read, but not that cell.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::model::records::{self, Format, MAX_COLUMNS, Problem};
use crate::model::{Enrolment, RegistryRecord};

/// The most bytes a cell may have. The longest real cell is a name: the
/// pain.001 carries 140 characters, at most 840 bytes of UTF-8 even in NFD
/// with two marks on every letter; communes and codes are shorter. 4 KiB is
/// well above any of them, and small enough that a row of them is no burden:
/// reading holds one cell of this size, a row at most [`MAX_CELLS_KEPT`].
pub const MAX_CELL_BYTES: usize = 4096;

/// Cells of a row kept, for its message and the rejects file: twice the widest
/// format, so that a row with a few cells too many is still shown whole; the
/// cells past these are only counted.
pub const MAX_CELLS_KEPT: usize = 2 * MAX_COLUMNS;

/// Found values longer than this are shown cut, with an ellipsis, in messages.
const FOUND_SHOWN: usize = 80;

/// A row that breaks the format: names the file, the row, the field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: row {row}, field `{field}`: expected {expected}, found {found:?}")]
pub struct RowError {
    pub file: String,
    /// The spreadsheet row number (see the module documentation).
    pub row: u64,
    pub field: String,
    pub expected: String,
    pub found: String,
}

/// A problem with the whole file: nothing of it can be imported.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{file}: cannot open the file: {source}; check the path and that the service may read it")]
    Open {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{file}: reading failed after row {row}: {source}; check that the file is complete and readable, then import again"
    )]
    Read {
        file: String,
        row: u64,
        #[source]
        source: io::Error,
    },
    #[error("{file}: {}", kind.advice())]
    NotCsv { file: String, kind: NotCsv },
    #[error("{file}: the file is empty; it needs a header row with the columns {}", columns.join(", "))]
    Empty { file: String, columns: &'static [&'static str] },
    #[error("{file}: row {row}, field `{field}`: the file is not UTF-8; {}", utf8_advice(*legacy))]
    NotUtf8 {
        file: String,
        row: u64,
        field: String,
        /// The bytes look like TCVN3 or VNI.
        legacy: bool,
    },
    #[error(transparent)]
    Header(Box<HeaderError>),
}

/// The header does not have exactly the format's columns.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {}", header_advice(*row, format, missing, unknown, duplicate, columns))]
pub struct HeaderError {
    pub file: String,
    /// The row of the header (1 unless blank lines precede it).
    pub row: u64,
    /// "population registry extract" or "beneficiary enrolment".
    pub format: &'static str,
    pub missing: Vec<String>,
    pub unknown: Vec<String>,
    pub duplicate: Vec<String>,
    /// The format's columns.
    pub columns: &'static [&'static str],
}

/// What a file that is not CSV text turned out to be, recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCsv {
    /// Starts with a UTF-16 byte-order mark (Excel's "Unicode Text").
    Utf16,
    /// An Excel workbook (.xlsx is a zip archive, .xls an OLE container).
    Workbook,
    /// Contains NUL bytes, which CSV text never does.
    Binary,
    /// Lines end with CR alone (old Mac format), so the file reads as one line.
    CrLineEndings,
}

impl NotCsv {
    fn advice(self) -> &'static str {
        match self {
            NotCsv::Utf16 => {
                "the file is UTF-16 text (Excel's \"Unicode Text\"), not UTF-8 CSV; save it as \"CSV UTF-8\" and import again"
            }
            NotCsv::Workbook => {
                "the file is a spreadsheet workbook (.xlsx or .xls), not CSV; open it and save it as \"CSV UTF-8\", then import the CSV"
            }
            NotCsv::Binary => {
                "the file contains NUL bytes, so it is not CSV text; export the data as \"CSV UTF-8\" and import again"
            }
            NotCsv::CrLineEndings => {
                "the lines end with CR only (old Mac format); save the file as \"CSV UTF-8\" and import again"
            }
        }
    }
}

/// What the iterator yields besides records. A `Row` error leaves the file
/// readable and iteration goes on to the next row; after a `File` error (bad
/// encoding or an I/O failure mid-stream) the iterator ends.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Row(#[from] RowError),
    #[error(transparent)]
    File(#[from] FileError),
}

/// The records of one file, parsed as they are read. See the module documentation.
///
/// ```text
/// let rows = enrolment_rows(path)?;          // FileError: nothing to read
/// for item in rows {
///     match item {
///         Ok(enrolment) => batch.push(enrolment),
///         Err(ImportError::Row(e)) => problems.push(e),   // go on: report them all
///         Err(ImportError::File(e)) => return Err(e),     // the last item
///     }
/// }
/// ```
pub struct Rows<T: 'static> {
    file: String,
    format: &'static Format<T>,
    reader: Reader,
    /// The record just read.
    raw: Raw,
    lines: LineCounter,
    /// The row of the record in `raw`.
    row: u64,
    /// For each file column, its index in `columns`.
    format_index: Vec<usize>,
    /// For each column of the format, its position in the file.
    positions: Vec<usize>,
    finished: bool,
}

/// Opens a population registry extract.
pub fn registry_rows(path: &Path) -> Result<Rows<RegistryRecord>, FileError> {
    Rows::open(path, &path.display().to_string(), &records::REGISTRY)
}

/// Opens a beneficiary enrolment file.
pub fn enrolment_rows(path: &Path) -> Result<Rows<Enrolment>, FileError> {
    Rows::open(path, &path.display().to_string(), &records::ENROLMENT)
}

impl<T: 'static> Rows<T> {
    /// The file's name as errors give it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The file's columns, in the file's order (for a file of rejected rows).
    pub fn header(&self) -> Vec<&'static str> {
        self.format_index.iter().map(|&col| self.format.columns[col]).collect()
    }

    /// The record just read, as it is in the file (for a file of rejected
    /// rows): its first [`MAX_CELLS_KEPT`] cells, each of at most
    /// [`MAX_CELL_BYTES`] (see [`Rows::shortened`]).
    pub fn raw_record(&self) -> &csv::ByteRecord {
        &self.raw.record
    }

    /// What [`Rows::raw_record`] leaves out of the record just read.
    pub fn shortened(&self) -> Shortened {
        Shortened {
            too_long: self.raw.too_long,
            cells_left_out: self.raw.cells.saturating_sub(self.raw.record.len() as u64),
        }
    }

    /// The sha256 of the bytes read so far: of the whole file once the rows
    /// are exhausted. Hashed as the file is parsed, so it is read only once.
    pub fn sha256(&self) -> String {
        hex::encode(self.reader.input.get_ref().sha256.clone().finalize())
    }

    /// The spreadsheet row number of the record just read.
    pub fn row(&self) -> u64 {
        self.row
    }

    /// Bytes consumed so far, for a progress bar against the file's length.
    pub fn bytes_read(&self) -> u64 {
        self.reader.consumed
    }

    /// Open `path`, named `name` in errors (its path, or an upload's own name:
    /// the service's temporary path means nothing to whoever sent it).
    pub(crate) fn open(path: &Path, name: &str, format: &'static Format<T>) -> Result<Rows<T>, FileError> {
        let columns = format.columns;
        let file = name.to_owned();
        let open_error = |source| FileError::Open { file: file.clone(), source };
        let mut handle = File::open(path).map_err(open_error)?;
        let lines = LineCounter::for_file(&mut handle).map_err(open_error)?;
        let mut buffered = BufReader::with_capacity(64 * 1024, Hashing { inner: handle, sha256: Sha256::new() });
        let head = buffered.fill_buf().map_err(open_error)?;
        if head.is_empty() {
            return Err(FileError::Empty { file, columns });
        }
        if let Some(kind) = sniff(head) {
            return Err(FileError::NotCsv { file, kind });
        }
        let reader = Reader::new(buffered);
        let mut rows = Rows {
            file,
            format,
            reader,
            raw: Raw::default(),
            lines,
            row: 0,
            format_index: Vec::new(),
            positions: Vec::new(),
            finished: false,
        };
        rows.read_header()?;
        Ok(rows)
    }

    fn read_header(&mut self) -> Result<(), FileError> {
        let columns = self.format.columns;
        if !self.read_nonblank()? {
            return Err(FileError::Empty { file: self.file.clone(), columns });
        }
        let mut names = Vec::with_capacity(self.raw.record.len());
        for (pos, bytes) in self.raw.record.iter().enumerate() {
            let name = std::str::from_utf8(bytes).map_err(|_| self.not_utf8(pos))?;
            names.push(name.trim());
        }
        let mut header = match_header(&names, columns);
        let left_out = self.shortened().cells_left_out;
        if left_out > 0 {
            header.unknown.push(format!("({left_out} more columns)"));
        }
        if !(header.missing.is_empty() && header.unknown.is_empty() && header.duplicate.is_empty()) {
            return Err(FileError::Header(Box::new(HeaderError {
                file: self.file.clone(),
                row: self.row,
                format: self.format.name,
                missing: header.missing,
                unknown: header.unknown,
                duplicate: header.duplicate,
                columns,
            })));
        }
        self.format_index = header.format_index;
        self.positions = vec![0; columns.len()];
        for (pos, &col) in self.format_index.iter().enumerate() {
            self.positions[col] = pos;
        }
        Ok(())
    }

    /// Reads up to the next record that has a non-blank cell; false at the end.
    fn read_nonblank(&mut self) -> Result<bool, FileError> {
        loop {
            let more = self.reader.read(&mut self.raw).map_err(|source| FileError::Read {
                file: self.file.clone(),
                row: self.row,
                source,
            })?;
            if !more {
                return Ok(false);
            }
            self.row = self.lines.row_of(&self.raw, self.reader.core.line(), self.reader.consumed);
            if !self.raw.blank {
                return Ok(true);
            }
        }
    }

    fn parse_record(&self) -> Result<T, ImportError> {
        let mut values = [""; MAX_COLUMNS];
        for (pos, bytes) in self.raw.record.iter().enumerate() {
            let text = std::str::from_utf8(bytes).map_err(|_| self.not_utf8(pos))?;
            if let Some(&col) = self.format_index.get(pos) {
                values[col] = text.trim();
            }
        }
        if let Some((pos, len)) = self.raw.too_long {
            return Err(self.too_long(pos, len).into());
        }
        if self.raw.cells != self.format.columns.len() as u64 {
            return Err(self.wrong_length().into());
        }
        match self.format.read(values, &self.positions) {
            Ok(value) => Ok(value),
            Err(Problem { column, expected }) => {
                let (field, found) = (self.format.columns[column], values[column]);
                // Least data: even a malformed ID number is someone's; the row number finds it.
                let found = if field == "id_number" { crate::identity::masked(found) } else { shown(found) };
                Err(RowError { file: self.file.clone(), row: self.row, field: field.to_owned(), expected, found }
                    .into())
            }
        }
    }

    fn too_long(&self, pos: usize, len: u64) -> RowError {
        RowError {
            file: self.file.clone(),
            row: self.row,
            field: self.field_name(pos),
            expected: format!(
                "a cell of at most {MAX_CELL_BYTES} bytes, far more than any name, account or commune needs; \
                 this one has {len} bytes (check that its quotes are closed)"
            ),
            found: format!("{len} bytes"),
        }
    }

    /// The header name of a file column, or its number when it is beyond the header.
    fn field_name(&self, pos: usize) -> String {
        match self.format_index.get(pos) {
            Some(&col) => self.format.columns[col].to_owned(),
            None => format!("column {}", pos + 1),
        }
    }

    fn not_utf8(&self, pos: usize) -> FileError {
        FileError::NotUtf8 {
            file: self.file.clone(),
            row: self.row,
            field: self.field_name(pos),
            legacy: looks_like_legacy_vietnamese(self.raw.record.as_slice()),
        }
    }

    fn wrong_length(&self) -> RowError {
        let (len, wanted) = (self.raw.cells, self.format.columns.len());
        let mut expected = format!("{wanted} cells, one for each header column");
        if len > wanted as u64 {
            expected.push_str("; a value that contains a comma must be in double quotes");
        }
        RowError {
            file: self.file.clone(),
            row: self.row,
            field: self.field_name((len as usize).min(wanted)),
            expected,
            found: format!("{len} cells"),
        }
    }
}

/// After `None` or a file error, always `None`.
impl<T: 'static> std::iter::FusedIterator for Rows<T> {}

impl<T: 'static> Iterator for Rows<T> {
    type Item = Result<T, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = match self.read_nonblank() {
            Ok(true) => self.parse_record(),
            Ok(false) => {
                self.finished = true;
                return None;
            }
            Err(e) => Err(e.into()),
        };
        // A file error makes everything after it unreliable: stop there.
        self.finished = matches!(item, Err(ImportError::File(_)));
        Some(item)
    }
}

/// What [`Rows::raw_record`] leaves out of a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shortened {
    /// The first cell longer than [`MAX_CELL_BYTES`]: its position in the row
    /// and its length in bytes. Only its first bytes are kept, cut where a
    /// UTF-8 character begins.
    pub too_long: Option<(usize, u64)>,
    /// Cells past the first [`MAX_CELLS_KEPT`].
    pub cells_left_out: u64,
}

/// A value as a message shows it: at most [`FOUND_SHOWN`] characters.
fn shown(value: &str) -> String {
    match value.char_indices().nth(FOUND_SHOWN) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// One record as read, bounded: see the module documentation.
#[derive(Default)]
struct Raw {
    /// The first [`MAX_CELLS_KEPT`] cells, each cut at [`MAX_CELL_BYTES`].
    record: csv::ByteRecord,
    /// Every cell of the record, kept or not.
    cells: u64,
    /// The first cell over [`MAX_CELL_BYTES`]: its position and length.
    too_long: Option<(usize, u64)>,
    /// Line breaks inside cells (quoted), kept or not: lines that are not rows.
    newlines: u64,
    /// Every byte of every cell is ASCII white space.
    blank: bool,
}

/// The CSV reader: `csv-core`'s parser over the file, one cell at a time into
/// a buffer of [`MAX_CELL_BYTES`]. `csv::Reader` would grow its record to hold
/// the longest cell of the file, whatever its size.
struct Reader {
    core: csv_core::Reader,
    input: BufReader<Hashing<File>>,
    /// Bytes of the file consumed so far.
    consumed: u64,
    /// The cell being read, up to [`MAX_CELL_BYTES`].
    cell: Box<[u8]>,
    /// Where the rest of a longer cell goes, to be counted and dropped.
    spill: Box<[u8]>,
}

impl Reader {
    fn new(input: BufReader<Hashing<File>>) -> Reader {
        // Any(\n) rather than CRLF: each record then consumes exactly its own
        // line end, which keeps row numbers exact; the CR left at the end of the
        // last cell of CRLF files goes with the trimming of cells. The other
        // settings are csv's defaults (comma, double quotes doubled, no
        // comments); a UTF-8 byte-order mark is skipped.
        let core = csv_core::ReaderBuilder::new().terminator(csv_core::Terminator::Any(b'\n')).build();
        let cell = vec![0; MAX_CELL_BYTES].into_boxed_slice();
        let spill = vec![0; 16 * 1024].into_boxed_slice();
        Reader { core, input, consumed: 0, cell, spill }
    }

    /// Reads the next record into `raw`; false at the end of the file.
    fn read(&mut self, raw: &mut Raw) -> io::Result<bool> {
        raw.record.clear();
        (raw.cells, raw.too_long, raw.newlines, raw.blank) = (0, None, 0, true);
        loop {
            // One cell: into `cell` up to its end, then into `spill`.
            let (mut kept, mut len) = (0usize, 0u64);
            let record_end = loop {
                let input = self.input.fill_buf()?;
                let (lines_before, spilling) = (self.core.line(), kept == self.cell.len());
                let output = if spilling { &mut self.spill[..] } else { &mut self.cell[kept..] };
                let (result, read, written) = self.core.read_field(input, output);
                if spilling {
                    // Past the limit, the row is refused: only its line breaks
                    // matter, and the parser counts those it consumes, which
                    // spares a pass over bytes that may be a gigabyte. All are
                    // inside the cell (blank lines come before a record's first
                    // cell, which is not full yet) but a record's terminator.
                    let terminator = matches!(result, csv_core::ReadFieldResult::Field { record_end: true })
                        && read > 0
                        && input[read - 1] == b'\n';
                    raw.newlines += self.core.line() - lines_before - u64::from(terminator);
                    raw.blank &= written == 0;
                } else {
                    let out = &output[..written];
                    raw.newlines += memchr::memchr_iter(b'\n', out).count() as u64;
                    raw.blank &= out.iter().all(u8::is_ascii_whitespace);
                    kept += written;
                }
                len += written as u64;
                self.input.consume(read);
                self.consumed += read as u64;
                match result {
                    // An empty input is the end of the file, and csv-core then
                    // ends the cell: neither loops for ever.
                    csv_core::ReadFieldResult::InputEmpty | csv_core::ReadFieldResult::OutputFull => {}
                    csv_core::ReadFieldResult::Field { record_end } => break record_end,
                    csv_core::ReadFieldResult::End => return Ok(false),
                }
            };
            let position = raw.cells as usize;
            raw.cells += 1;
            let mut cell = &self.cell[..kept];
            if len > MAX_CELL_BYTES as u64 {
                raw.too_long = raw.too_long.or(Some((position, len)));
                cell = utf8_prefix(cell);
            }
            if raw.record.len() < MAX_CELLS_KEPT {
                raw.record.push_field(cell);
            }
            if record_end {
                return Ok(true);
            }
        }
    }
}

/// `bytes` without the UTF-8 character cut at its end, if one is.
fn utf8_prefix(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    }
}

/// Recognises, from the first bytes, files that are not CSV text at all, so that
/// the user hears what the file is instead of a confusing header error.
fn sniff(head: &[u8]) -> Option<NotCsv> {
    if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") {
        Some(NotCsv::Utf16)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"\xd0\xcf\x11\xe0") {
        Some(NotCsv::Workbook)
    } else if head.contains(&0) {
        Some(NotCsv::Binary)
    } else if head.contains(&b'\r') && !head.contains(&b'\n') {
        Some(NotCsv::CrLineEndings)
    } else {
        None
    }
}

/// Whether bytes that are not UTF-8 look like Vietnamese in a legacy 8-bit
/// encoding. Both common ones keep consonants ASCII and spend one byte of
/// 0x80-0xFF on what UTF-8 writes as a multi-byte letter: TCVN3 replaces the
/// accented vowel ("Nguy\xd4n" for Nguyễn), VNI follows the bare vowel with a
/// byte for the marks ("Nguye\xe3n"). So: mostly ASCII letters, with high bytes
/// alone or in short runs, mostly inside words (a one-letter word such as "Ý"
/// stands alone). Windows-1258 passes too, and the same advice applies to it.
fn looks_like_legacy_vietnamese(bytes: &[u8]) -> bool {
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let high = bytes.iter().filter(|&&b| b >= 0x80).count();
    if high == 0 || letters < high {
        return false;
    }
    let (mut runs, mut in_words) = (0, 0);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] < 0x80 {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] >= 0x80 {
            i += 1;
        }
        if i - start > 3 {
            return false;
        }
        let letter_before = start > 0 && bytes[start - 1].is_ascii_alphabetic();
        let letter_after = i < bytes.len() && bytes[i].is_ascii_alphabetic();
        runs += 1;
        in_words += usize::from(letter_before || letter_after);
    }
    in_words * 2 >= runs
}

fn utf8_advice(legacy: bool) -> &'static str {
    if legacy {
        "it looks like TCVN3/VNI; convert it to UTF-8 (e.g. with UniKey's converter) and import again"
    } else {
        "save it as UTF-8 (in Excel: Save As, \"CSV UTF-8\") and import again"
    }
}

/// Turns the csv reader's line count into spreadsheet rows.
/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    sha256: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha256.update(&buf[..n]);
        Ok(n)
    }
}

struct LineCounter {
    /// The file's length and whether it ends with a newline: the only way to
    /// tell whether the last record consumed a line end.
    len: u64,
    ends_with_newline: bool,
    /// Newlines inside quoted cells so far: lines that are not rows.
    embedded: u64,
}

impl LineCounter {
    /// Peeks at the end of the file, then rewinds. A file that cannot seek (a
    /// pipe) is taken to end with a newline.
    fn for_file(file: &mut File) -> io::Result<LineCounter> {
        let len = file.metadata()?.len();
        let mut last = [0u8];
        let ends_with_newline = len == 0
            || file.seek(SeekFrom::End(-1)).is_err()
            || (file.read_exact(&mut last).is_ok() && last[0] == b'\n');
        file.seek(SeekFrom::Start(0))?;
        Ok(LineCounter { len, ends_with_newline, embedded: 0 })
    }

    /// The row of the record just read, given the parser's line (from 1, one
    /// more for each line break consumed) and the bytes consumed after it.
    fn row_of(&mut self, raw: &Raw, line: u64, consumed: u64) -> u64 {
        let unterminated = consumed == self.len && !self.ends_with_newline;
        let last_line = line - u64::from(!unterminated);
        let row = last_line - raw.newlines - self.embedded;
        self.embedded += raw.newlines;
        row
    }
}

/// How a file's header lines up with a format's columns.
struct HeaderMatch {
    format_index: Vec<usize>,
    missing: Vec<String>,
    unknown: Vec<String>,
    duplicate: Vec<String>,
}

fn match_header(names: &[&str], columns: &[&str]) -> HeaderMatch {
    let mut header = HeaderMatch {
        format_index: Vec::with_capacity(names.len()),
        missing: Vec::new(),
        unknown: Vec::new(),
        duplicate: Vec::new(),
    };
    let mut seen = vec![false; columns.len()];
    for (pos, &name) in names.iter().enumerate() {
        match columns.iter().position(|&c| c == name) {
            Some(col) if seen[col] => header.duplicate.push(name.to_owned()),
            Some(col) => {
                seen[col] = true;
                header.format_index.push(col);
            }
            None if name.is_empty() => header.unknown.push(format!("(column {} has no name)", pos + 1)),
            None => header.unknown.push(name.to_owned()),
        }
    }
    let absent = columns.iter().zip(&seen).filter(|(_, seen)| !**seen);
    header.missing = absent.map(|(c, _)| (*c).to_owned()).collect();
    header
}

fn header_advice(
    row: u64,
    format: &str,
    missing: &[String],
    unknown: &[String],
    duplicate: &[String],
    columns: &[&str],
) -> String {
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing column(s) {}", missing.join(", ")));
    }
    if !unknown.is_empty() {
        problems.push(format!("unknown column(s) {}", unknown.join(", ")));
    }
    if !duplicate.is_empty() {
        problems.push(format!("repeated column(s) {}", duplicate.join(", ")));
    }
    let mut advice = format!(
        "the header (row {row}) does not match the {format} format: {}. The columns are, in any order: {}. ",
        problems.join("; "),
        columns.join(", ")
    );
    if missing.len() == columns.len() {
        advice.push_str("The first row does not look like a header: add the header row and import again");
    } else {
        advice.push_str("Correct the header row and import again");
    }
    advice
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::NaiveDate;
    use tempfile::TempDir;
    use unicode_normalization::UnicodeNormalization;

    use super::*;
    use crate::model::{Channel, Disability, Household, Sex, Status};

    const REGISTRY_HEADER: &str =
        "id_number,full_name,birth_date,sex,residence_province,residence_commune,death_date\n";
    const REGISTRY_ROW: &str = "001198000001,Nguyễn Thị Thu Hiền,1998-03-04,female,001,Phường Dịch Vọng,\n";
    const ENROLMENT_HEADER: &str = "id_number,full_name,birth_date,program,province,household,disability,\
        has_pension,difficult_commune,statuses,dependent_children,channel,bank_bin,account_number,account_name\n";
    const ENROLMENT_ROW: &str = "001198000001,Nguyễn Thị Thu Hiền,1998-03-04,social-assistance,001,poor,none,\
        false,true,single_parent;studying,2,bank,970436,0011002345678,NGUYEN THI THU HIEN\n";

    fn write(bytes: &[u8]) -> (TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.csv");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn registry(text: &str) -> Vec<Result<RegistryRecord, ImportError>> {
        let (_dir, path) = write(text.as_bytes());
        registry_rows(&path).unwrap().collect()
    }

    fn enrolment(text: &str) -> Vec<Result<Enrolment, ImportError>> {
        let (_dir, path) = write(text.as_bytes());
        enrolment_rows(&path).unwrap().collect()
    }

    fn registry_file_error(bytes: &[u8]) -> FileError {
        let (_dir, path) = write(bytes);
        match registry_rows(&path) {
            Err(e) => e,
            Ok(rows) => match rows.last() {
                Some(Err(ImportError::File(e))) => e,
                other => panic!("expected a file error, got {other:?}"),
            },
        }
    }

    fn row_error<T: std::fmt::Debug>(item: &Result<T, ImportError>) -> &RowError {
        match item {
            Err(ImportError::Row(e)) => e,
            other => panic!("expected a row error, got {other:?}"),
        }
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Cells to replace in a row: (column name, value).
    type Changes<'a> = &'a [(&'a str, &'a str)];

    /// An enrolment row with some cells replaced, by column name.
    fn enrolment_row(changes: Changes) -> String {
        let mut cells: Vec<String> = ENROLMENT_ROW.trim_end().split(',').map(str::to_owned).collect();
        for (column, value) in changes {
            let pos = records::ENROLMENT.columns.iter().position(|c| c == column).unwrap();
            cells[pos] = (*value).to_owned();
        }
        cells.join(",") + "\n"
    }

    #[test]
    fn reads_a_good_registry_extract() {
        let text =
            format!("{REGISTRY_HEADER}{REGISTRY_ROW}040150000002 , TRẦN VĂN HÙNG ,1950-12-31,male,079,  ,2024-06-30\n");
        let rows: Vec<RegistryRecord> = registry(&text).into_iter().map(Result::unwrap).collect();
        assert_eq!(
            rows[0],
            RegistryRecord {
                id_number: "001198000001".into(),
                full_name: "Nguyễn Thị Thu Hiền".into(),
                birth_date: date("1998-03-04"),
                sex: Sex::Female,
                residence_province: "001".into(),
                residence_commune: "Phường Dịch Vọng".into(),
                death_date: None,
            }
        );
        assert_eq!(rows[1].id_number, "040150000002");
        assert_eq!(rows[1].full_name, "TRẦN VĂN HÙNG");
        assert_eq!(rows[1].residence_commune, "");
        assert_eq!(rows[1].death_date, Some(date("2024-06-30")));
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn reads_a_good_enrolment_file() {
        let text = format!(
            "{ENROLMENT_HEADER}{ENROLMENT_ROW}\
             040150000002,Trần Văn Hùng,1940-05-12,social-pension,001,none,severe,false,false,,0,\
             ewallet,VIETTELMONEY,0987654321,TRAN VAN HUNG\n\
             001040000003,Lê Thị Mai,1940-01-01,social-assistance,001,near_poor,especially_severe,true,false,,0,\
             none,,,\n"
        );
        let rows: Vec<Enrolment> = enrolment(&text).into_iter().map(Result::unwrap).collect();
        assert_eq!(
            rows[0],
            Enrolment {
                id_number: "001198000001".into(),
                full_name: "Nguyễn Thị Thu Hiền".into(),
                birth_date: date("1998-03-04"),
                program: "social-assistance".into(),
                province: "001".into(),
                household: Household::Poor,
                disability: Disability::None,
                has_pension: false,
                difficult_commune: true,
                statuses: vec![Status::SingleParent, Status::Studying],
                dependent_children: 2,
                channel: Channel::Bank,
                bank_bin: "970436".into(),
                account_number: "0011002345678".into(),
                account_name: "NGUYEN THI THU HIEN".into(),
            }
        );
        assert_eq!((rows[1].channel, rows[1].bank_bin.as_str()), (Channel::Ewallet, "VIETTELMONEY"));
        assert_eq!((rows[1].disability, rows[1].statuses.len()), (Disability::Severe, 0));
        assert_eq!((rows[2].channel, rows[2].account_number.as_str()), (Channel::None, ""));
        assert_eq!((rows[2].household, rows[2].has_pension), (Household::NearPoor, true));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn columns_may_come_in_any_order() {
        let text = "death_date,sex,id_number,residence_commune,full_name,residence_province,birth_date\n\
                    ,male,040150000002,,Trần Văn Hùng,001,1950-12-31\n";
        let row = registry(text).remove(0).unwrap();
        assert_eq!((row.id_number.as_str(), row.sex, row.birth_date), ("040150000002", Sex::Male, date("1950-12-31")));
    }

    #[test]
    fn decomposed_names_become_nfc() {
        let nfd: String = "Nguyễn Thị Thu Hiền".nfd().collect();
        let commune: String = "Phường Dịch Vọng".nfd().collect();
        assert_ne!(nfd, "Nguyễn Thị Thu Hiền");
        let text = format!("{REGISTRY_HEADER}001198000001,{nfd},1998-03-04,female,001,{commune},\n");
        let row = registry(&text).remove(0).unwrap();
        assert_eq!(row.full_name, "Nguyễn Thị Thu Hiền");
        assert_eq!(row.residence_commune, "Phường Dịch Vọng");
        let text = format!("{ENROLMENT_HEADER}{}", enrolment_row(&[("full_name", &nfd)]));
        assert_eq!(enrolment(&text).remove(0).unwrap().full_name, "Nguyễn Thị Thu Hiền");
    }

    #[test]
    fn each_bad_enrolment_field_is_named_with_its_row() {
        let ewallet = [("channel", "ewallet"), ("bank_bin", "VIETTELMONEY"), ("account_number", "0987654321")];
        let (forty, thirty_six) = ("1".repeat(40), "V".repeat(36));
        // (cells to change, the field that must be named, words the expectation must contain)
        let cases: &[(Changes, &str, &str)] = &[
            (&[("id_number", "123456789")], "id_number", "old 9-digit CMND"),
            (&[("id_number", "1198000001")], "id_number", "leading zeros"),
            (&[("id_number", "1.198E+09")], "id_number", "scientific notation"),
            (&[("id_number", "00119800000A")], "id_number", "12-digit"),
            (&[("full_name", "")], "full_name", "must not be empty"),
            (&[("birth_date", "12/05/1940")], "birth_date", "not day/month/year"),
            (&[("birth_date", "2023-02-29")], "birth_date", "does not exist"),
            (&[("birth_date", "")], "birth_date", "YYYY-MM-DD"),
            (&[("program", "social_assistance")], "program", "social-assistance, social-pension"),
            (&[("province", "1")], "province", "leading zeros"),
            (&[("province", "0001")], "province", "3-digit"),
            (&[("household", "nearpoor")], "household", "none, poor, near_poor"),
            (&[("disability", "mild")], "disability", "none, severe, especially_severe"),
            (&[("has_pension", "TRUE")], "has_pension", "true or false"),
            (&[("difficult_commune", "yes")], "difficult_commune", "true or false"),
            (&[("statuses", "orphan;orphan")], "statuses", "at most once"),
            (&[("statuses", "orphan;;hiv")], "statuses", "separated by ';'"),
            (&[("statuses", "widow")], "statuses", "community_care"),
            (&[("dependent_children", "-1")], "dependent_children", "whole number"),
            (&[("dependent_children", "+2")], "dependent_children", "whole number"),
            (&[("dependent_children", "two")], "dependent_children", "whole number"),
            (&[("channel", "cash")], "channel", "bank, ewallet, none"),
            (&[("bank_bin", "97043")], "bank_bin", "6-digit BIN"),
            (&[("account_number", "0011-0023")], "account_number", "digits only"),
            (&[("account_number", "")], "account_number", "digits only"),
            (&[ewallet[0], ewallet[1], ("bank_bin", "momo"), ewallet[2]], "bank_bin", "capital letters"),
            (&[ewallet[0], ewallet[1], ewallet[2], ("account_number", "")], "account_number", "wallet number"),
            // What the payment files cannot carry (model::payee).
            (&[("account_number", forty.as_str())], "account_number", "at most 34 characters"),
            (&[ewallet[0], ewallet[1], ("account_number", "0987\t654321")], "account_number", "U+0009 (a tab)"),
            (&[("account_number", "0011\u{85}0023")], "account_number", "control characters"),
            (&[("account_name", "=SUM(A1)")], "account_name", "formula"),
            (&[("account_name", "-NGUYEN")], "account_name", "formula"),
            (&[("account_name", "Ðặng Văn An")], "account_name", "upper-case ASCII"),
            (&[("account_name", "")], "account_name", "not an empty or blank cell"),
            (&[ewallet[0], ("bank_bin", thirty_six.as_str()), ewallet[2]], "bank_bin", "at most 35 characters"),
            (&[("full_name", "@Nguyễn")], "full_name", "formula"),
            (&[("household", "none\u{7}")], "household", "U+0007"),
            (&[("statuses", "orphan\u{1b}")], "statuses", "U+001B (ESC)"),
        ];
        for (changes, field, hint) in cases {
            let bad = enrolment_row(changes);
            let text = format!("{ENROLMENT_HEADER}{ENROLMENT_ROW}{ENROLMENT_ROW}{bad}{ENROLMENT_ROW}");
            let items = enrolment(&text);
            assert_eq!(items.len(), 4, "{changes:?}: a row error must not stop the file");
            assert!(items[0].is_ok() && items[1].is_ok() && items[3].is_ok(), "{changes:?}");
            let e = row_error(&items[2]);
            let value = changes.iter().rev().find(|(c, _)| c == field).unwrap().1;
            // An ID number, even a malformed one, is shown masked (least data).
            let shown = if *field == "id_number" { crate::identity::masked(value) } else { value.to_owned() };
            assert_eq!((e.row, e.field.as_str(), e.found.as_str()), (4, *field, shown.as_str()), "{changes:?}");
            assert!(e.expected.contains(hint), "{changes:?}: {e}");
            assert!(e.to_string().starts_with(&format!("{}: row 4, field `{field}`: expected ", e.file)), "{e}");
        }
    }

    #[test]
    fn empty_bank_fields_are_fine_without_a_channel_and_ewallet_accounts_need_not_be_digits() {
        let none =
            enrolment_row(&[("channel", "none"), ("bank_bin", ""), ("account_number", ""), ("account_name", "")]);
        let wallet = enrolment_row(&[("channel", "ewallet"), ("bank_bin", "MOMO"), ("account_number", "+84 987 654")]);
        let items = enrolment(&format!("{ENROLMENT_HEADER}{none}{wallet}"));
        assert!(items.iter().all(Result::is_ok), "{items:?}");
    }

    #[test]
    fn each_bad_registry_field_is_named_with_its_row() {
        let cases = [
            ("001198000001,Nguyễn Thị Thu Hiền,1998-03-04,F,001,,\n", "sex", "male, female"),
            ("001198000001,Nguyễn Thị Thu Hiền,1998-03-04,female,01,,\n", "residence_province", "leading zeros"),
            ("001198000001,Nguyễn Thị Thu Hiền,1998-03-04,female,001,,2024-13-01\n", "death_date", "while the person"),
            ("001198000001,,1998-03-04,female,001,,\n", "full_name", "must not be empty"),
            (",Nguyễn Thị Thu Hiền,1998-03-04,female,001,,\n", "id_number", "12-digit"),
            ("001198000001,NGUY\x01N,1998-03-04,female,001,,\n", "full_name", "TCVN3"),
            // The name and commune go on the VNPost cash list (model::payee).
            ("001198000001,=1+2,1998-03-04,female,001,,\n", "full_name", "formula"),
            ("001198000001,A,1998-03-04,female,001,+84,\n", "residence_commune", "formula"),
            ("001198000001,A,1998-03-04,female,001,Thôn\u{7f}3,\n", "residence_commune", "U+007F (DEL)"),
            ("001198000001,A,1998-03-04,female,001,Thôn 3,2024-01-01\u{9}x\n", "death_date", "U+0009"),
        ];
        for (bad, field, hint) in cases {
            let items = registry(&format!("{REGISTRY_HEADER}{REGISTRY_ROW}{bad}"));
            let e = row_error(&items[1]);
            assert_eq!((e.row, e.field.as_str()), (3, field), "{bad}");
            assert!(e.expected.contains(hint), "{e}");
        }
    }

    #[test]
    fn the_leftmost_problem_in_the_file_is_reported() {
        let bad = [("id_number", "123"), ("channel", "cash")];
        let text = format!("{ENROLMENT_HEADER}{}", enrolment_row(&bad));
        assert_eq!(row_error(&enrolment(&text)[0]).field, "id_number");
        // The same row with the columns reversed: channel now comes first.
        let reverse = |line: &str| line.trim_end().rsplit(',').collect::<Vec<_>>().join(",") + "\n";
        let text = reverse(ENROLMENT_HEADER) + &reverse(&enrolment_row(&bad));
        assert_eq!(row_error(&enrolment(&text)[0]).field, "channel");
    }

    #[test]
    fn missing_and_unknown_columns_are_refused_with_the_expected_set() {
        let header = REGISTRY_HEADER.replace(",death_date", "").replace("full_name", "fullname");
        let e = registry_file_error(format!("{header}{REGISTRY_ROW}").as_bytes());
        let FileError::Header(h) = &e else { panic!("{e:?}") };
        assert_eq!(h.missing, ["full_name", "death_date"]);
        assert_eq!(h.unknown, ["fullname"]);
        assert_eq!(h.row, 1);
        let message = e.to_string();
        assert!(message.contains("missing column(s) full_name, death_date; unknown column(s) fullname"), "{message}");
        assert!(message.contains(&records::REGISTRY.columns.join(", ")), "{message}");
        assert!(message.contains("population registry extract"), "{message}");
    }

    #[test]
    fn repeated_and_unnamed_columns_and_a_missing_header_are_refused() {
        let e = registry_file_error(REGISTRY_HEADER.replace('\n', ",sex,\n").as_bytes());
        let FileError::Header(h) = &e else { panic!("{e:?}") };
        assert_eq!(
            (h.duplicate.as_slice(), h.unknown.as_slice()),
            (&["sex".to_owned()][..], &["(column 9 has no name)".to_owned()][..])
        );
        let e = registry_file_error(REGISTRY_ROW.as_bytes());
        assert!(e.to_string().contains("does not look like a header"), "{e}");
        // An enrolment file offered as a registry extract.
        let e = registry_file_error(format!("{ENROLMENT_HEADER}{ENROLMENT_ROW}").as_bytes());
        assert!(e.to_string().contains("unknown column(s) program, province"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let rows = registry(&format!("\u{feff}{REGISTRY_HEADER}{REGISTRY_ROW}"));
        assert_eq!(rows[0].as_ref().unwrap().id_number, "001198000001");
    }

    #[test]
    fn legacy_vietnamese_bytes_are_refused_with_their_row_and_a_hint() {
        // "Nguyễn Văn" in TCVN3 and in VNI, "Nguyễn Như ý" in TCVN3, at row 5 of the file.
        for name in [&b"Nguy\xd4n V\xa8n"[..], b"Nguye\xe3n Va\xeen", b"Nguy\xd4n Nh\xad \xfd"] {
            let mut bytes = format!("{REGISTRY_HEADER}{REGISTRY_ROW}{REGISTRY_ROW}{REGISTRY_ROW}").into_bytes();
            bytes.extend_from_slice(b"001198000001,");
            bytes.extend_from_slice(name);
            bytes.extend_from_slice(format!(",1998-03-04,female,001,,\n{REGISTRY_ROW}").as_bytes());
            let (_dir, path) = write(&bytes);
            let items: Vec<_> = registry_rows(&path).unwrap().collect();
            assert_eq!(items.len(), 4, "the file error ends the iteration");
            let Err(ImportError::File(e)) = &items[3] else { panic!("{:?}", items[3]) };
            let FileError::NotUtf8 { row, field, legacy, .. } = e else { panic!("{e:?}") };
            assert_eq!((*row, field.as_str(), *legacy), (5, "full_name", true));
            assert!(e.to_string().contains("row 5, field `full_name`: the file is not UTF-8; it looks like TCVN3/VNI; convert it to UTF-8 (e.g. with UniKey's converter) and import again"), "{e}");
        }
    }

    #[test]
    fn other_non_utf8_bytes_are_refused_with_their_row() {
        let mut bytes = format!("{REGISTRY_HEADER}{REGISTRY_ROW}").into_bytes();
        bytes.extend_from_slice(b"001198000001,A,1998-03-04,female,001,\xff\xfe\xfd\xfc\xfb,\n");
        let e = registry_file_error(&bytes);
        let FileError::NotUtf8 { row, field, legacy, .. } = &e else { panic!("{e:?}") };
        assert_eq!((*row, field.as_str(), *legacy), (3, "residence_commune", false));
        assert!(e.to_string().contains("save it as UTF-8"), "{e}");
    }

    #[test]
    fn crlf_line_endings_are_read_and_rows_counted() {
        let text = format!("{REGISTRY_HEADER}{REGISTRY_ROW}\n{REGISTRY_ROW}040150000002,B,1950-12-31,male,001,,x\n")
            .replace('\n', "\r\n");
        let items = registry(&text);
        let first = items[0].as_ref().unwrap();
        assert_eq!((first.residence_commune.as_str(), first.death_date), ("Phường Dịch Vọng", None));
        assert!(items[1].is_ok());
        let e = row_error(&items[2]);
        // Header, row, blank line, row: the bad row is row 5.
        assert_eq!((e.row, e.field.as_str(), e.found.as_str()), (5, "death_date", "x"));
    }

    #[test]
    fn quoted_fields_keep_their_commas_and_line_breaks_count_once() {
        let text = format!(
            "{REGISTRY_HEADER}001198000001,\"Nguyễn Văn A, con\",1998-03-04,female,001,\"Thôn 3, xã \"\"Mới\"\"\",\n\
             001198000001,B,1998-03-04,female,001,\"Thôn 3,\r\nxã Mới\",\n\
             001198000001,B,1998-03-04,female,001,,yesterday"
        );
        let items = registry(&text);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.full_name, "Nguyễn Văn A, con");
        assert_eq!(first.residence_commune, "Thôn 3, xã \"Mới\"");
        // A line break is a control character: no cell of the VNPost list may hold one.
        let e = row_error(&items[1]);
        assert_eq!((e.row, e.field.as_str()), (3, "residence_commune"));
        assert!(e.expected.contains("U+000D (a carriage return) at character 8"), "{e}");
        // That quoted cell spans lines 3-4, so the next record is line 5 but row 4;
        // the file has no final newline.
        assert_eq!(row_error(&items[2]).row, 4);
    }

    #[test]
    fn white_space_around_a_cell_is_trimmed_control_or_not_but_not_inside() {
        let text = format!("{REGISTRY_HEADER}001198000001,\tNguyễn Văn A\u{b} ,1998-03-04,female,001,,\n");
        assert_eq!(registry(&text)[0].as_ref().unwrap().full_name, "Nguyễn Văn A");
        let text = format!("{REGISTRY_HEADER}001198000001,Nguyễn\tVăn A,1998-03-04,female,001,,\n");
        assert_eq!(row_error(&registry(&text)[0]).field, "full_name");
    }

    #[test]
    fn a_cell_too_long_is_refused_without_being_held_and_rows_stay_exact() {
        let fits = "A".repeat(MAX_CELL_BYTES);
        // Too long by one byte, with a two-byte letter across the limit, then lines inside quotes.
        let over = format!("\"{}Đ\n\n{}\"", "A".repeat(MAX_CELL_BYTES - 1), "B".repeat(3 * MAX_CELL_BYTES));
        let text = format!(
            "{REGISTRY_HEADER}001198000001,{fits},1998-03-04,female,001,,\n\
             001198000002,{over},1998-03-04,female,001,,\n\
             001198000003,C,1998-03-04,female,001,,x\n"
        );
        let (_dir, path) = write(text.as_bytes());
        let mut rows = registry_rows(&path).unwrap();
        assert_eq!(rows.next().unwrap().unwrap().full_name, fits);
        let e = row_error(&rows.next().unwrap()).clone();
        let len = MAX_CELL_BYTES + 1 + 2 + 3 * MAX_CELL_BYTES;
        assert_eq!((e.row, e.field.as_str(), e.found.as_str()), (3, "full_name", format!("{len} bytes").as_str()));
        assert!(e.expected.contains("at most 4096 bytes"), "{e}");
        // What is kept of it: up to the letter cut in two.
        assert_eq!(rows.raw_record().get(1), Some("A".repeat(MAX_CELL_BYTES - 1).as_bytes()));
        assert_eq!(rows.shortened(), Shortened { too_long: Some((1, len as u64)), cells_left_out: 0 });
        assert_eq!(rows.raw_record().get(6), Some(&b""[..]), "the cells after it are read");
        // The two line breaks inside the quoted cell are not rows.
        assert_eq!(row_error(&rows.next().unwrap()).row, 4);
        assert!(rows.next().is_none());

        // The last cell of a row, then of the file, with no line break after it.
        let over = format!("\"{}\n{}\"", "C".repeat(MAX_CELL_BYTES), "D".repeat(MAX_CELL_BYTES));
        let row = |n: u32, death: &str| format!("00119800000{n},A,1998-03-04,female,001,,{death}");
        let text = format!("{REGISTRY_HEADER}{}\n{}\n{}", row(1, &over), row(2, "x"), row(3, &over));
        let items = registry(&text);
        let rows: Vec<_> = items.iter().map(|item| (row_error(item).row, row_error(item).field.as_str())).collect();
        assert_eq!(rows, [(2, "death_date"), (3, "death_date"), (4, "death_date")]);
    }

    #[test]
    fn a_row_of_many_cells_keeps_only_the_first() {
        let text = format!("{REGISTRY_HEADER}001198000001,A,1998-03-04,female,001,,{}\n", ",".repeat(100));
        let (_dir, path) = write(text.as_bytes());
        let mut rows = registry_rows(&path).unwrap();
        let e = row_error(&rows.next().unwrap()).clone();
        assert_eq!((e.row, e.field.as_str(), e.found.as_str()), (2, "column 8", "107 cells"));
        assert_eq!(rows.raw_record().len(), MAX_CELLS_KEPT);
        assert_eq!(rows.shortened().cells_left_out, 107 - MAX_CELLS_KEPT as u64);
        let header = REGISTRY_HEADER.trim_end().to_owned() + &",x".repeat(40) + "\n";
        let e = registry_file_error(header.as_bytes());
        assert!(e.to_string().contains(&format!("({} more columns)", 47 - MAX_CELLS_KEPT)), "{e}");
    }

    #[test]
    fn long_values_are_shown_cut_in_messages() {
        let text = format!("{REGISTRY_HEADER}001198000001,A,1998-03-04,female,001,,{}\n", "9".repeat(500));
        let e = row_error(&registry(&text)[0]).clone();
        assert_eq!(e.found, format!("{}…", "9".repeat(FOUND_SHOWN)));
    }

    #[test]
    fn rows_without_content_are_skipped_but_counted() {
        let text =
            format!("\n{REGISTRY_HEADER},,,,,,\n{REGISTRY_ROW}  \n\n001198000001,B,1998-03-04,female,001,,x\n\n");
        let items = registry(&text);
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(row_error(&items[1]).row, 7);
    }

    #[test]
    fn rows_with_the_wrong_number_of_cells_are_refused() {
        let text = format!(
            "{REGISTRY_HEADER}001198000001,Nguyễn Văn A, con,1998-03-04,female,001,,\n001198000001,A,1998-03-04\n"
        );
        let items = registry(&text);
        let e = row_error(&items[0]);
        assert_eq!((e.row, e.field.as_str(), e.found.as_str()), (2, "column 8", "8 cells"));
        assert!(e.expected.contains("double quotes"), "{e}");
        let e = row_error(&items[1]);
        assert_eq!((e.row, e.field.as_str(), e.found.as_str()), (3, "sex", "3 cells"));
    }

    #[test]
    fn files_that_are_not_csv_text_are_named() {
        let cases: [(&[u8], NotCsv); 4] = [
            (b"PK\x03\x04\x14\x00\x06\x00", NotCsv::Workbook),
            (b"\xff\xfei\x00d\x00", NotCsv::Utf16),
            (b"i\x00d\x00_\x00", NotCsv::Binary),
            (b"id_number,full_name\r001198000001,A\r", NotCsv::CrLineEndings),
        ];
        for (bytes, kind) in cases {
            let e = registry_file_error(bytes);
            assert!(matches!(e, FileError::NotCsv { kind: k, .. } if k == kind), "{e:?}");
            assert!(e.to_string().contains("CSV UTF-8"), "{e}");
        }
        assert!(matches!(registry_file_error(b""), FileError::Empty { .. }));
        assert!(matches!(registry_file_error(b"\n\n"), FileError::Empty { .. }));
    }

    #[test]
    fn a_missing_file_says_so() {
        let e = registry_rows(Path::new("/nonexistent/registry.csv")).err().unwrap();
        assert!(matches!(e, FileError::Open { .. }), "{e:?}");
        assert!(e.to_string().starts_with("/nonexistent/registry.csv: cannot open the file"), "{e}");
    }
}
