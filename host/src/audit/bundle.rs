//! An audit bundle: one run, exported as a single self-contained file that an
//! auditor can carry away and replay offline (`audit export`, `audit replay
//! --bundle`).
//!
//! The file is gzip-compressed JSON Lines:
//!
//! ```text
//! {"format":"ansinh-audit-bundle/1", "run":…, "release":…, "plugins":[…bytes…],
//!  "engines":[…], "audit":[…entries…], "decisions":N, "person_key":"…"}   header
//! {"decision":{"person":"…","row":{…every stored field…}}}              N lines, in key order
//! {"end":{"decisions":N}}                                               trailer
//! ```
//!
//! It holds what a replay needs and what proves the rest: the plug-ins' exact
//! bytes with the release's signature and public key, the engines, the run's
//! audit entries (whose `run.evaluate` entry holds the chain of the decisions'
//! digests). People appear as their keyed hash ([`crate::trail::person`]), never by
//! ID number. It does hold the payees' accounts and names, which an auditor
//! of payments needs: the file is written readable by its owner only.
//!
//! A bundle comes from elsewhere, so reading one trusts nothing in it:
//!
//! - Its size is bounded before anything is held: no line longer than
//!   [`HEADER_MAX`] (the header) or [`LINE_MAX`] (any other) is read whole,
//!   no more decision lines than its header announces, and no more than
//!   [`DECOMPRESSED_MAX`] bytes are decompressed.
//! - Its run, release and key are held against its own audit entries, field
//!   by field ([`super::record`]).
//! - The release's signature is checked against the key in the bundle, which
//!   whoever made the bundle chose; with a key the auditor holds
//!   ([`Trusted`], `--trusted-key`), against that key, which the bundle's must be.

use crate::trail::Actor;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::record::{self, Entries, KeyFields, ReleaseFields, RunFields};
use super::replay::{Draw, Sample, Stored};
use crate::release::keys;
use crate::store::audit::{self as table, Entry};
use crate::store::decisions::{self, DecisionRow, Key};
use crate::store::runs::{self, Run};
use crate::store::{Db, beneficiaries, keys as stored_keys, plugins, releases};
use crate::trail::digest::{Chain, Hashing, Sealed};
use crate::trail::person::PersonKey;
use ansinh_sandbox::PluginHash;

/// The format this host writes and reads.
pub const FORMAT: &str = "ansinh-audit-bundle/1";

/// Decisions read per query while exporting, and sent per page while replaying.
const PAGE: i64 = 1000;

/// The longest header line read: it carries the run's plug-ins' bytes in hex
/// (twice their size), their cases and the run's entries. The national
/// plug-in is 47 KB; the largest one built here, CPython in a component
/// (`plugins/national-social-assistance-py`), is 18.4 MB, 37 MB in hex. 128
/// MiB holds three of those, and is still a size to hold in memory once.
pub const HEADER_MAX: usize = 128 << 20;

/// The longest decision line read. A decision line holds one stored decision:
/// its input (a few hundred bytes), its output, which the engine caps at 16
/// KiB of JSON (`Limits::output_bytes`; escaped in a string, at most about
/// twice that), an error message cut to 500 characters, and the payee's
/// fields. The demo's lines measure 2.0 KB on average, 2.6 KB at most; 1 MiB
/// leaves room for any line a run can make, sixteen times over.
pub const LINE_MAX: usize = 1 << 20;

/// The most a bundle may decompress to. A run of 1,000,000 people, one month,
/// makes 1,000,000 decision lines of about 2 KB (as measured on the demo's):
/// 2 GB. 16 GiB is 1,000,000 decisions of 16 KiB each, each as large as the
/// engine lets an output be, or months of arrears besides; with the header,
/// past this no bundle of a run is honest, and reading stops there: a
/// compressed file of a few megabytes can decompress to terabytes.
pub const DECOMPRESSED_MAX: u64 = (16 << 30) + HEADER_MAX as u64;

/// The first line of a bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub exported_at: String,
    pub exported_by: String,
    pub run: RunInfo,
    pub release: Option<ReleaseInfo>,
    pub plugins: Vec<PluginBytes>,
    pub engines: Vec<EngineInfo>,
    /// The entries about the run and its release, in log order.
    pub audit: Vec<Entry>,
    pub decisions: u64,
    /// Which key the people's hashes are under ([`PersonKey::id`]).
    pub person_key: String,
}

/// The run, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    pub id: i64,
    pub program: String,
    pub province: String,
    pub first_period: String,
    pub period: String,
    pub status: String,
    pub plugin_hash: String,
    pub created_by: Option<String>,
    pub evaluated_by: Option<String>,
    pub approved_by: Option<String>,
    pub issued_by: Option<String>,
    /// JSON of what was approved.
    pub approval: Option<String>,
}

/// The release that decided the run, with what its signature covers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInfo {
    pub id: i64,
    pub plugin_hash: String,
    pub authority: String,
    pub program: String,
    pub cases: String,
    pub key_id: Option<String>,
    /// ed25519, hex.
    pub public_key: Option<String>,
    pub signature: Option<String>,
    pub signed_by: Option<String>,
    pub approved_by: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginBytes {
    pub hash: String,
    /// The plug-in's bytes, hex (the bundle is compressed).
    pub bytes: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineInfo {
    pub id: String,
    /// Its JSON, exactly as recorded (what the id hashes).
    pub identity: String,
}

/// A line after the header.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Decision { person: String, row: Box<DecisionRow> },
    End { decisions: u64 },
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    pub decisions: u64,
    pub bytes: u64,
    /// Of the file, hex: for the auditor to note down.
    pub sha256: String,
}

/// Export run `run_id` to `path`, naming people under `key`, as `by`; the
/// export is recorded in the audit log (`audit.export`).
pub async fn export(db: &Db, run_id: i64, key: &PersonKey, path: &Path, by: &Actor) -> anyhow::Result<Exported> {
    let run = runs::get(db, run_id).await?;
    let header = header(db, &run, key, by).await?;
    // The row read again: unchanged, so the entries read in between are all the
    // steps it reflects, and a replay holds the one against the others.
    let again = runs::get(db, run_id).await?;
    anyhow::ensure!(
        RunFields::from(&again) == RunFields::from(&run),
        "run {run_id} changed while it was being exported ({} now): export it again once nothing is acting on it",
        again.status.as_str()
    );
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Owner-only (tempfile's default), and in place only once whole.
    let temp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    let mut out = GzEncoder::new(Hashing::new(BufWriter::new(temp.as_file())), Compression::default());
    writeln!(out, "{}", serde_json::to_string(&header)?)?;
    let mut after: Key = (String::new(), 0);
    let mut written = 0;
    let mut reader = decisions::Reader::default();
    loop {
        let page = reader.page(db, run.id, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = (last.period.clone(), last.beneficiary_id);
        let ids: Vec<i64> = page.iter().map(|d| d.beneficiary_id).collect();
        let numbers = beneficiaries::id_numbers(db, &ids).await?;
        for row in page {
            let number = numbers.get(&row.beneficiary_id).with_context(|| {
                format!("decision of beneficiary #{}: the beneficiary is not stored", row.beneficiary_id)
            })?;
            let line = Line::Decision { person: key.person(number), row: Box::new(row) };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
            written += 1;
        }
    }
    anyhow::ensure!(
        written == header.decisions,
        "run {run_id} has {written} decisions now but had {} a moment ago: export again once nothing is writing to it",
        header.decisions
    );
    writeln!(out, "{}", serde_json::to_string(&Line::End { decisions: written })?)?;
    let mut hashing = out.finish()?;
    hashing.flush()?;
    let sha256 = hashing.finish();
    temp.as_file().sync_all().with_context(|| format!("writing {}", path.display()))?;
    let bytes = temp.as_file().metadata()?.len();
    temp.persist(path).with_context(|| format!("writing {}", path.display()))?;
    // Data that left the database, on record: where, what, under which key.
    let details = serde_json::json!({
        "file": path.display().to_string(),
        "sha256": sha256,
        "decisions": written,
        "person_key": key.id(),
    });
    let mut tx = db.begin().await?;
    crate::trail::append(&mut tx, by, crate::trail::action::AUDIT_EXPORT, &crate::trail::run_subject(run_id), details)
        .await?;
    tx.commit().await?;
    Ok(Exported { decisions: written, bytes, sha256 })
}

async fn header(db: &Db, run: &Run, key: &PersonKey, by: &Actor) -> anyhow::Result<Header> {
    let mut audit = table::about(db, &crate::trail::run_subject(run.id)).await?;
    let release = match run.release_id {
        None => None,
        Some(id) => {
            let r = releases::get(db, id).await?;
            let public_key = match &r.key_id {
                Some(key_id) => stored_keys::get(db, key_id).await?.map(|k| k.public_key),
                None => None,
            };
            audit.extend(table::about(db, &format!("release:{id}")).await?);
            // The key's own entries (added, revoked), so that its public key is held against them too.
            if let Some(key_id) = &r.key_id {
                audit.extend(table::about(db, &format!("key:{key_id}")).await?);
            }
            Some(ReleaseInfo {
                id,
                plugin_hash: r.plugin_hash.to_string(),
                authority: r.authority,
                program: r.program,
                cases: r.cases,
                key_id: r.key_id,
                public_key,
                signature: r.signature,
                signed_by: r.signed_by,
                approved_by: r.approved_by,
            })
        }
    };
    audit.sort_by_key(|e| e.seq);
    let mut plugins_out = Vec::new();
    let mut engines = Vec::new();
    let artefacts = decisions::artefacts(db, run.id).await?;
    let mut hashes: Vec<&String> = artefacts.iter().map(|(hash, _)| hash).collect();
    hashes.dedup();
    for hash in hashes {
        let parsed = PluginHash::parse(hash).with_context(|| format!("a decision names the plug-in {hash:?}"))?;
        plugins_out.push(PluginBytes { hash: hash.clone(), bytes: hex::encode(plugins::bytes(db, parsed).await?) });
    }
    for id in artefacts.iter().filter_map(|(_, engine)| engine.as_ref()).collect::<std::collections::BTreeSet<_>>() {
        if let Some(identity) = table::engine(db, id).await? {
            engines.push(EngineInfo { id: id.clone(), identity });
        }
    }
    let decisions = decisions::count(db, run.id).await? as u64;
    Ok(Header {
        format: FORMAT.to_owned(),
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        exported_by: by.name.clone(),
        run: RunInfo {
            id: run.id,
            program: run.program.clone(),
            province: run.province.clone(),
            first_period: run.first_period.to_string(),
            period: run.period.to_string(),
            status: run.status.as_str().to_owned(),
            plugin_hash: run.plugin_hash.to_string(),
            created_by: run.created_by.clone(),
            evaluated_by: run.evaluated_by.clone(),
            approved_by: run.approved_by.clone(),
            issued_by: run.issued_by.clone(),
            approval: run.approval.clone(),
        },
        release,
        plugins: plugins_out,
        engines,
        audit,
        decisions,
        person_key: key.id(),
    })
}

/// A bundle opened for reading.
pub struct Bundle {
    path: PathBuf,
    pub header: Header,
    /// The key its release must be signed with, if the auditor gave one.
    trusted: Option<Trusted>,
}

/// A public key the auditor holds (`--trusted-key FILE`): the authority's, as
/// `keys add` takes it, from wherever the auditor got it, not from the bundle.
#[derive(Clone, Debug)]
pub struct Trusted {
    pub path: PathBuf,
    pub key: ed25519_dalek::VerifyingKey,
}

impl Trusted {
    /// Read the public key file at `path` (PEM).
    pub fn read(path: &Path) -> anyhow::Result<Trusted> {
        let key = keys::read_public(path).context("--trusted-key")?;
        Ok(Trusted { path: path.to_owned(), key })
    }

    /// The key's id, as `keys list` shows it.
    pub fn id(&self) -> String {
        keys::key_id(&self.key)
    }
}

/// What reading a bundle through found about the bundle itself.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// What holds, for the report.
    pub notes: Vec<String>,
    /// What does not: any makes the replay fail.
    pub problems: Vec<String>,
}

impl Bundle {
    /// Open `path` and read its header; its release is to be signed with
    /// `trusted`, if given.
    pub fn open(path: &Path, trusted: Option<Trusted>) -> anyhow::Result<Bundle> {
        let mut lines = Lines::open(path)?;
        let first = lines.next(HEADER_MAX, "the header")?;
        let first = first.with_context(|| format!("{}: empty: not an audit bundle", path.display()))?;
        let header: Header = serde_json::from_str(&first)
            .with_context(|| format!("{}, line 1: not the header of an audit bundle ({FORMAT})", path.display()))?;
        anyhow::ensure!(
            header.format == FORMAT,
            "{}: format {:?}; this ansinh reads {FORMAT}",
            path.display(),
            header.format
        );
        Ok(Bundle { path: path.to_owned(), header, trusted })
    }

    /// The plug-ins and engines the decisions need.
    pub fn stored(&self) -> anyhow::Result<Stored> {
        let mut stored = Stored::default();
        for p in &self.header.plugins {
            let bytes = hex::decode(&p.bytes)
                .with_context(|| format!("{}: plug-in {}: not hex", self.path.display(), p.hash))?;
            stored.plugins.insert(p.hash.clone(), Some(bytes));
        }
        for e in &self.header.engines {
            stored.engines.insert(e.id.clone(), e.identity.clone());
            stored.engine_ids.insert(Some(e.id.clone()));
        }
        Ok(stored)
    }

    /// Draw `sample` from the bundle's decisions (a first pass over the file).
    pub fn draw(&self, sample: Sample) -> anyhow::Result<std::collections::HashSet<Key>> {
        let mut draw = Draw::new(sample);
        self.each(|_, row| {
            draw.offer((row.period.clone(), row.beneficiary_id));
            Ok(())
        })?;
        Ok(draw.drawn())
    }

    /// Send the decisions in pages (those in `keep`, or all), checking the
    /// bundle as they pass: every decision chained as at evaluation and
    /// compared with the `run.evaluate` entry, the trailer, the entries' own
    /// hashes and the release's signature.
    pub fn send(
        &self,
        keep: Option<&std::collections::HashSet<Key>>,
        pages: &mpsc::Sender<Vec<DecisionRow>>,
    ) -> anyhow::Result<Checked> {
        let mut checked = self.check_header();
        let mut chain = Chain::default();
        let mut page = Vec::with_capacity(PAGE as usize);
        let ended = self.each(|_, row| {
            chain.push_stored(row.digest.as_deref());
            if keep.is_none_or(|k| k.contains(&(row.period.clone(), row.beneficiary_id))) {
                page.push(row);
                if page.len() == PAGE as usize {
                    let _ = pages.blocking_send(std::mem::take(&mut page));
                }
            }
            Ok(())
        })?;
        if !page.is_empty() {
            let _ = pages.blocking_send(page);
        }
        let sealed = chain.seal();
        if ended != Some(sealed.count) || sealed.count != self.header.decisions {
            checked.problems.push(format!(
                "the bundle holds {} decisions, its header says {} and its trailer {}: it is cut short or was edited",
                sealed.count,
                self.header.decisions,
                ended.map_or("is missing".to_owned(), |n| n.to_string())
            ));
        }
        self.check_chain(&sealed, &mut checked);
        Ok(checked)
    }

    /// Call `f` with each decision line in order; the trailer's count, if any.
    /// Reading stops at the first line past its bound, and at a decision line
    /// past the count the header announced: what is refused is never held.
    fn each(&self, mut f: impl FnMut(String, DecisionRow) -> anyhow::Result<()>) -> anyhow::Result<Option<u64>> {
        let shown = self.path.display();
        let mut lines = Lines::open(&self.path)?;
        lines.next(HEADER_MAX, "the header")?;
        let mut ended = None;
        let mut decisions = 0;
        while let Some(line) = lines.next(LINE_MAX, "a decision line")? {
            let number = lines.number;
            anyhow::ensure!(ended.is_none(), "{shown}, line {number}: a line after the trailer");
            match serde_json::from_str(&line).with_context(|| format!("{shown}, line {number}: not a bundle line"))? {
                Line::Decision { person, row } => {
                    decisions += 1;
                    anyhow::ensure!(
                        decisions <= self.header.decisions,
                        "{shown}, line {number}: a decision line past the {} its header announces: the bundle was \
                         edited; it is refused, and read no further",
                        self.header.decisions
                    );
                    f(person, *row)?
                }
                Line::End { decisions } => ended = Some(decisions),
            }
        }
        Ok(ended)
    }

    /// The entries, the run, the release and its key, as far as the header alone tells.
    fn check_header(&self) -> Checked {
        let mut checked = Checked::default();
        let h = &self.header;
        for entry in &h.audit {
            if crate::trail::log::hash_of(entry) != entry.hash {
                checked
                    .problems
                    .push(format!("audit entry {} was changed: its fields do not hash to its hash", entry.seq));
            }
        }
        // The run header as its own entries recorded it; from its run.create on,
        // every step must be there (a bundle has no audit.begin to say more).
        let run_entries = Entries::about(&h.audit, &crate::trail::run_subject(h.run.id), &mut checked.problems);
        let made_since = run_entries.first(crate::trail::action::RUN_CREATE).is_some();
        checked.problems.extend(record::run_problems(&run_fields(h), &run_entries, made_since, record::BUNDLE));
        match &h.release {
            None => checked.notes.push("the run has no release (made before releases)".to_owned()),
            Some(r) => self.check_release(r, &mut checked),
        }
        checked
    }

    /// The release against its entries, its key against its own, and its
    /// signature against the trusted key or else the bundle's own.
    fn check_release(&self, r: &ReleaseInfo, checked: &mut Checked) {
        let h = &self.header;
        let entries = Entries::about(&h.audit, &format!("release:{}", r.id), &mut checked.problems);
        checked.problems.extend(record::release_problems(&ReleaseFields::from(r), &entries, record::BUNDLE));
        if r.plugin_hash != h.run.plugin_hash {
            checked.problems.push(format!(
                "release {} is of the plug-in {}, but the run names {}",
                r.id, r.plugin_hash, h.run.plugin_hash
            ));
        }
        let (Some(public), Some(signature), Some(hash), Some(key_id)) =
            (&r.public_key, &r.signature, PluginHash::parse(&r.plugin_hash), &r.key_id)
        else {
            checked.problems.push(format!("release {}: no signature or public key in the bundle", r.id));
            return;
        };
        let key = KeyFields {
            id: key_id.clone(),
            authority: r.authority.clone(),
            public_key: public.clone(),
            added_by: None,
            revoked: None,
        };
        let key_entries = Entries::about(&h.audit, &format!("key:{key_id}"), &mut checked.problems);
        checked.problems.extend(record::key_problems(&key, &key_entries, record::BUNDLE));
        if let Some(revoked) = key_entries.first(crate::trail::action::KEY_REVOKE) {
            checked.notes.push(format!(
                "key {key_id} was revoked by {} (audit entry {}): runs made since would refuse its releases",
                revoked.actor, revoked.seq
            ));
        }
        let message = keys::signed_message(hash, &r.authority, &r.program, &r.cases);
        let against = match &self.trusted {
            Some(trusted) => {
                let trusted_hex = hex::encode(trusted.key.as_bytes());
                if *public != trusted_hex {
                    checked.problems.push(format!(
                        "release {}: the bundle's key {key_id} is not the trusted key {} ({}): the release was not \
                         signed by the key you hold",
                        r.id,
                        trusted.id(),
                        trusted.path.display()
                    ));
                }
                (trusted_hex, format!("the trusted key {} ({})", trusted.id(), trusted.path.display()))
            }
            None => (public.clone(), format!("the bundle's own key {key_id}")),
        };
        match keys::verify(&against.0, &message, signature) {
            Ok(()) => checked.notes.push(format!(
                "release {}: signature valid over the plug-in {} and its cases, checked against {}",
                r.id, r.plugin_hash, against.1
            )),
            Err(e) => checked
                .problems
                .push(format!("release {}: the signature does not hold against {}: {e}", r.id, against.1)),
        }
        if self.trusted.is_none() {
            // Whoever made the bundle chose that key: say so plainly.
            checked.notes.push(format!(
                "release {}: ONLY the bundle's own key vouches for the signature, and whoever made the bundle could \
                 have made that key: give the authority's public key with --trusted-key FILE to check it against a \
                 key you hold",
                r.id
            ));
        }
    }

    /// The decisions against the chain the `run.evaluate` entry recorded.
    fn check_chain(&self, sealed: &Sealed, checked: &mut Checked) {
        match super::compare_chain(&self.header.audit, sealed) {
            Ok(note) => checked.notes.push(note),
            Err(problem) => checked.problems.push(problem),
        }
    }
}

/// The run as the header holds it; its release is the one the bundle carries.
fn run_fields(h: &Header) -> RunFields {
    let r = &h.run;
    RunFields {
        id: r.id,
        status: r.status.clone(),
        program: r.program.clone(),
        province: r.province.clone(),
        first_period: r.first_period.clone(),
        period: r.period.clone(),
        plugin_hash: r.plugin_hash.clone(),
        release: h.release.as_ref().map(|release| release.id),
        created_by: r.created_by.clone(),
        evaluated_by: r.evaluated_by.clone(),
        approved_by: r.approved_by.clone(),
        approval: r.approval.clone(),
        issued_by: r.issued_by.clone(),
        // Not in a bundle.
        cancelled: None,
    }
}

impl From<&ReleaseInfo> for ReleaseFields {
    fn from(r: &ReleaseInfo) -> ReleaseFields {
        ReleaseFields {
            id: r.id,
            plugin_hash: r.plugin_hash.clone(),
            authority: r.authority.clone(),
            program: r.program.clone(),
            cases: r.cases.clone(),
            key_id: r.key_id.clone(),
            signature: r.signature.clone(),
            signed_by: r.signed_by.clone(),
            approved_by: r.approved_by.clone(),
            // Not in a bundle.
            uploaded_by: None,
            state: None,
            approval: None,
            effective_from: None,
        }
    }
}

/// A bundle's lines, each read only up to its bound, from at most
/// [`DECOMPRESSED_MAX`] decompressed bytes.
struct Lines {
    path: PathBuf,
    reader: BufReader<Bounded<MultiGzDecoder<File>>>,
    /// The number of the line last read, from 1.
    number: u64,
    buf: Vec<u8>,
}

impl Lines {
    fn open(path: &Path) -> anyhow::Result<Lines> {
        let file = File::open(path).with_context(|| format!("opening the bundle {}", path.display()))?;
        let decoded = Bounded { inner: MultiGzDecoder::new(file), left: DECOMPRESSED_MAX };
        Ok(Lines { path: path.to_owned(), reader: BufReader::new(decoded), number: 0, buf: Vec::new() })
    }

    /// The next line (`what`, for messages), without its end; None at the end
    /// of the file. A line longer than `max` bytes is refused once `max` are
    /// read, the rest of it unread.
    fn next(&mut self, max: usize, what: &str) -> anyhow::Result<Option<String>> {
        self.number += 1;
        let (shown, number) = (self.path.display(), self.number);
        self.buf.clear();
        loop {
            let available = self.reader.fill_buf().with_context(|| {
                if number == 1 {
                    format!("{shown}: not a gzip-compressed audit bundle")
                } else {
                    format!("{shown}: reading line {number}")
                }
            })?;
            if available.is_empty() {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                break;
            }
            let (take, end) = match memchr::memchr(b'\n', available) {
                Some(at) => (at, true),
                None => (available.len(), false),
            };
            if self.buf.len() + take > max {
                anyhow::bail!(
                    "{shown}, line {number}: longer than {} bytes, which {what} of a bundle never is (see \
                     audit/bundle.rs): refused, and read no further",
                    crate::format::group(max as i64)
                );
            }
            self.buf.extend_from_slice(&available[..take]);
            self.reader.consume(take + usize::from(end));
            if end {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let line = String::from_utf8(std::mem::take(&mut self.buf))
            .map_err(|_| anyhow::anyhow!("{shown}, line {number}: not UTF-8: not an audit bundle line"))?;
        Ok(Some(line))
    }
}

/// A reader that gives at most `left` bytes, and fails rather than give more:
/// a bundle that decompresses past [`DECOMPRESSED_MAX`] is refused there.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // At the bound: only the end of the data is acceptable.
            return match self.inner.read(&mut [0u8; 1])? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "it decompresses to more than {} bytes, which no bundle of a run does (see audit/bundle.rs): \
                     refused, and read no further",
                    crate::format::group(DECOMPRESSED_MAX as i64)
                ))),
            };
        }
        let room = out.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut out[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_stops_at_its_bound_and_says_so() {
        let read = |bytes: &[u8], left: u64| {
            let mut out = Vec::new();
            let result = Bounded { inner: bytes, left }.read_to_end(&mut out);
            (result.map_err(|e| e.to_string()), out.len())
        };
        assert_eq!(read(b"abcdef", 6), (Ok(6), 6), "exactly at the bound is whole");
        let (result, kept) = read(b"abcdefg", 6);
        assert!(result.unwrap_err().contains("it decompresses to more than"));
        assert_eq!(kept, 6, "nothing past the bound is given");
    }

    #[test]
    fn a_line_past_its_bound_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.bundle");
        let mut out = GzEncoder::new(File::create(&path).unwrap(), Compression::fast());
        out.write_all(b"short\r\n").unwrap();
        out.write_all(&vec![b'x'; 3 << 20]).unwrap();
        out.write_all(b"\nlast").unwrap();
        out.finish().unwrap();
        let mut lines = Lines::open(&path).unwrap();
        assert_eq!(lines.next(10, "a line").unwrap().as_deref(), Some("short"));
        let said = lines.next(LINE_MAX, "a decision line").unwrap_err().to_string();
        assert!(said.contains("b.bundle, line 2: longer than 1,048,576 bytes, which a decision line"), "{said}");
        // What was held is the bound, not the line.
        assert!(lines.buf.capacity() <= 2 * LINE_MAX, "{}", lines.buf.capacity());
    }
}
