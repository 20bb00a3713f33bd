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

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

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
pub async fn export(db: &Db, run_id: i64, key: &PersonKey, path: &Path, by: &str) -> anyhow::Result<Exported> {
    let run = runs::get(db, run_id).await?;
    let header = header(db, &run, key, by).await?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Owner-only (tempfile's default), and in place only once whole.
    let temp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    let mut out = GzEncoder::new(Hashing::new(BufWriter::new(temp.as_file())), Compression::default());
    writeln!(out, "{}", serde_json::to_string(&header)?)?;
    let mut after: Key = (String::new(), 0);
    let mut written = 0;
    loop {
        let page = decisions::page(db, run.id, &after, PAGE).await?;
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

async fn header(db: &Db, run: &Run, key: &PersonKey, by: &str) -> anyhow::Result<Header> {
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
        exported_by: by.to_owned(),
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
    path: std::path::PathBuf,
    pub header: Header,
}

/// What reading a bundle through found about the bundle itself.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// What holds, for the report.
    pub notes: Vec<String>,
    /// What does not: any makes the replay fail.
    pub problems: Vec<String>,
}

type Lines = std::io::Lines<BufReader<MultiGzDecoder<File>>>;

impl Bundle {
    /// Open `path` and read its header.
    pub fn open(path: &Path) -> anyhow::Result<Bundle> {
        let mut lines = lines(path)?;
        let first = lines.next().with_context(|| format!("{}: empty: not an audit bundle", path.display()))?;
        let first = first.with_context(|| format!("{}: not a gzip-compressed audit bundle", path.display()))?;
        let header: Header = serde_json::from_str(&first)
            .with_context(|| format!("{}, line 1: not the header of an audit bundle ({FORMAT})", path.display()))?;
        anyhow::ensure!(
            header.format == FORMAT,
            "{}: format {:?}; this ansinh reads {FORMAT}",
            path.display(),
            header.format
        );
        Ok(Bundle { path: path.to_owned(), header })
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
    fn each(&self, mut f: impl FnMut(String, DecisionRow) -> anyhow::Result<()>) -> anyhow::Result<Option<u64>> {
        let shown = self.path.display();
        let mut ended = None;
        for (index, line) in lines(&self.path)?.enumerate().skip(1) {
            let line = line.with_context(|| format!("{shown}: reading line {}", index + 1))?;
            anyhow::ensure!(ended.is_none(), "{shown}, line {}: a line after the trailer", index + 1);
            match serde_json::from_str(&line)
                .with_context(|| format!("{shown}, line {}: not a bundle line", index + 1))?
            {
                Line::Decision { person, row } => f(person, *row)?,
                Line::End { decisions } => ended = Some(decisions),
            }
        }
        Ok(ended)
    }

    /// The entries and the release, as far as the header alone tells.
    fn check_header(&self) -> Checked {
        let mut checked = Checked::default();
        for entry in &self.header.audit {
            if crate::trail::log::hash_of(entry) != entry.hash {
                checked
                    .problems
                    .push(format!("audit entry {} was changed: its fields do not hash to its hash", entry.seq));
            }
        }
        match &self.header.release {
            None => checked.notes.push("the run has no release (made before releases)".to_owned()),
            Some(r) => match (&r.public_key, &r.signature, PluginHash::parse(&r.plugin_hash)) {
                (Some(public), Some(signature), Some(hash)) => {
                    let message = keys::signed_message(hash, &r.authority, &r.program, &r.cases);
                    match keys::verify(public, &message, signature) {
                        Ok(()) => checked.notes.push(format!(
                            "release {}: signature by key {} valid over the plug-in {} and its cases",
                            r.id,
                            r.key_id.as_deref().unwrap_or("?"),
                            r.plugin_hash
                        )),
                        Err(e) => checked.problems.push(format!("release {}: the signature does not hold: {e}", r.id)),
                    }
                    if r.plugin_hash != self.header.run.plugin_hash {
                        checked.problems.push(format!(
                            "release {} is of the plug-in {}, but the run names {}",
                            r.id, r.plugin_hash, self.header.run.plugin_hash
                        ));
                    }
                }
                _ => checked.problems.push(format!("release {}: no signature or public key in the bundle", r.id)),
            },
        }
        checked
    }

    /// The decisions against the chain the `run.evaluate` entry recorded.
    fn check_chain(&self, sealed: &Sealed, checked: &mut Checked) {
        match super::compare_chain(&self.header.audit, sealed) {
            Ok(note) => checked.notes.push(note),
            Err(problem) => checked.problems.push(problem),
        }
    }
}

fn lines(path: &Path) -> anyhow::Result<Lines> {
    let file = File::open(path).with_context(|| format!("opening the bundle {}", path.display()))?;
    Ok(BufReader::new(MultiGzDecoder::new(file)).lines())
}
