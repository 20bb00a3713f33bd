//! Digests of what a run decided and paid, so that the audit log covers every
//! decision without holding it.
//!
//! - A decision's digest is the sha256 of its canonical record
//!   ([`DecisionRecord`]: every stored field, the run included, in a fixed
//!   order). It is stored with the decision, so that `audit verify` can name
//!   one that was changed.
//! - A run's decisions are covered by a [`Chain`] of their digests in key order
//!   (month, beneficiary), kept in the run's `run.evaluate` entry: a decision
//!   changed together with its digest, removed or added changes the chain.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::store::decisions::{Decided, DecisionRow, NewDecision};
use crate::store::packed::Packer;

/// Every stored field of a decision, in the order hashed. The run is part of
/// it, so that a decision cannot be moved to another run.
#[derive(Serialize)]
pub struct DecisionRecord<'a> {
    pub run: i64,
    pub period: &'a str,
    pub beneficiary: i64,
    pub outcome: &'a str,
    pub amount: i64,
    pub category: Option<&'a str>,
    pub verification: Text<'a>,
    pub plugin: &'a str,
    pub engine: Option<&'a str>,
    pub input: Option<&'a str>,
    pub output: Option<Text<'a>>,
    pub error: Option<&'a str>,
    pub fuel: i64,
    pub exception: Option<&'a str>,
    pub channel: &'a str,
    pub bank_bin: &'a str,
    pub account_number: &'a str,
    pub account_name: &'a str,
    pub payee_name: &'a str,
    pub commune: &'a str,
}

impl DecisionRecord<'_> {
    /// sha256 of the canonical JSON, hex.
    pub fn digest(&self) -> String {
        hex::encode(self.sha256())
    }

    /// sha256 of the canonical JSON: the bytes stored with the decision.
    pub fn sha256(&self) -> [u8; 32] {
        record_sha256("ansinh-decision/1", self)
    }
}

/// sha256 of `tag`, a newline and `record`'s JSON (its fields in declaration order), hex.
pub fn record_digest(tag: &str, record: &impl Serialize) -> String {
    hex::encode(record_sha256(tag, record))
}

/// [`record_digest`]'s bytes.
fn record_sha256(tag: &str, record: &impl Serialize) -> [u8; 32] {
    // Written whole, then hashed at once: the serialiser's many small writes
    // (a JSON text in a field is escaped a few bytes at a time) cost more
    // hashed one by one than copied.
    let mut bytes = Vec::with_capacity(2048);
    bytes.extend_from_slice(tag.as_bytes());
    bytes.push(b'\n');
    serde_json::to_writer(&mut bytes, record).expect("plain data serialises");
    Sha256::digest(&bytes).into()
}

/// A JSON text that a record holds as a string (the verdicts, a plug-in's
/// output): as it is, or already written as the JSON string it serialises to.
#[derive(Clone, Copy)]
pub enum Text<'a> {
    Plain(&'a str),
    Escaped(&'a RawValue),
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Plain(text) => text.serialize(serializer),
            Text::Escaped(string) => string.serialize(serializer),
        }
    }
}

/// The texts that rows read back share ([`crate::store::decisions::Reader`]
/// reads each verdicts and output once: 540 distinct outputs in a million
/// decisions), each kept written as its JSON string. Escaping every quote of
/// those JSON texts inside each canonical record again was a fifth of a run's
/// approval (`perf`); a text is found here by its address, which is its own
/// while the text is kept here too.
#[derive(Default)]
pub struct Escapes {
    written: HashMap<usize, (Arc<str>, Arc<RawValue>)>,
}

/// Texts [`Escapes`] keeps: rows whose texts are not shared (stored before
/// `decision_texts`) escape each once, as if none were kept, in bounded memory.
const ESCAPES_KEPT: usize = 4096;

impl Escapes {
    /// `text` written as a JSON string, kept for the next row that shares it.
    pub fn escaped(&mut self, text: &Arc<str>) -> Arc<RawValue> {
        let address = Arc::as_ptr(text).cast::<u8>() as usize;
        if let Some((_, written)) = self.written.get(&address) {
            return Arc::clone(written);
        }
        let json = serde_json::to_string(&**text).expect("a string serialises");
        let written: Arc<RawValue> = RawValue::from_string(json).expect("a JSON string is JSON").into();
        if self.written.len() < ESCAPES_KEPT {
            self.written.insert(address, (Arc::clone(text), Arc::clone(&written)));
        }
        written
    }
}

impl DecisionRow {
    /// The digest made again from this decision's fields (hex), its shared
    /// texts written through `escapes`.
    pub fn remade_digest(&self, escapes: &mut Escapes) -> String {
        let verification = escapes.escaped(&self.verification);
        let output = self.output.as_ref().map(|o| escapes.escaped(o));
        self.record(Text::Escaped(&verification), output.as_deref().map(Text::Escaped)).digest()
    }

    fn record<'a>(&'a self, verification: Text<'a>, output: Option<Text<'a>>) -> DecisionRecord<'a> {
        DecisionRecord {
            run: self.run_id,
            period: &self.period,
            beneficiary: self.beneficiary_id,
            outcome: &self.outcome,
            amount: self.amount,
            category: self.category.as_deref(),
            verification,
            plugin: &self.plugin_hash,
            engine: self.engine.as_deref(),
            input: self.input.as_deref(),
            output,
            error: self.error.as_deref(),
            fuel: self.fuel,
            exception: self.exception.as_deref(),
            channel: &self.channel,
            bank_bin: &self.bank_bin,
            account_number: &self.account_number,
            account_name: &self.account_name,
            payee_name: &self.payee_name,
            commune: &self.commune,
        }
    }
}

impl NewDecision {
    /// This decision as decided in run `run_id`: with its digest, and its
    /// input packed by `packer` (the run's reference input's).
    pub fn digested(mut self, run_id: i64, packer: &mut Packer) -> Decided {
        let digest = self.sha256(run_id, &self.period.to_string());
        let input = self.input.take().map(|input| packer.pack(&input));
        Decided { decision: self, digest, input }
    }

    /// The digest this decision is stored with in run `run_id` (its bytes).
    pub fn sha256(&self, run_id: i64, period: &str) -> [u8; 32] {
        DecisionRecord {
            run: run_id,
            period,
            beneficiary: self.beneficiary_id,
            outcome: self.outcome.as_str(),
            amount: i64::try_from(self.amount).expect("amounts are capped far below i64::MAX"),
            category: self.category.as_deref(),
            verification: Text::Plain(&self.verification),
            plugin: &self.plugin_hash,
            engine: Some(&self.engine),
            input: self.input.as_deref(),
            output: self.output.as_deref().map(Text::Plain),
            error: self.error.as_deref(),
            fuel: i64::try_from(self.fuel).expect("fuel is capped far below i64::MAX"),
            exception: self.exception,
            channel: &self.payee.channel,
            bank_bin: &self.payee.bank_bin,
            account_number: &self.payee.account_number,
            account_name: &self.payee.account_name,
            payee_name: &self.payee.name,
            commune: &self.payee.commune,
        }
        .sha256()
    }
}

/// A writer that hashes what passes through it: the sha256 of a file as it is
/// written, or of bytes made only to be hashed (over [`std::io::sink`]).
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: std::io::Write> Hashing<W> {
    pub fn new(inner: W) -> Hashing<W> {
        Hashing { inner, hasher: Sha256::new() }
    }

    /// The sha256 of everything written, hex.
    pub fn finish(self) -> String {
        self.into_parts().0
    }

    /// [`Hashing::finish`], and what was written to.
    pub fn into_parts(self) -> (String, W) {
        (hex::encode(self.hasher.finalize()), self.inner)
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A chained hash over a sequence of digests: `h = sha256(h ‖ digest)`, from 32
/// zero bytes. Order matters: the same digests in another order give another chain.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    count: u64,
    state: [u8; 32],
}

/// What a chain covered: how many digests, and the last hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    pub count: u64,
    pub chain: String,
}

impl Chain {
    /// Add a decision's digest as stored: one made before digests were kept
    /// has none, and chains as the empty digest.
    pub fn push_stored(&mut self, digest: Option<&str>) {
        self.push(digest.unwrap_or(""));
    }

    /// Add the next digest (hex).
    pub fn push(&mut self, digest: &str) {
        let mut hasher = Sha256::new();
        hasher.update(self.state);
        hasher.update(digest.as_bytes());
        self.state = hasher.finalize().into();
        self.count += 1;
    }

    pub fn seal(&self) -> Sealed {
        Sealed { count: self.count, chain: hex::encode(self.state) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose texts are written through [`Escapes`] hashes to the
    /// bytes of the same record serialised field by field: the digests
    /// stored before the texts were kept stay what verify and replay expect.
    #[test]
    fn texts_written_once_hash_as_texts_written_each_time() {
        let texts: [Arc<str>; 4] = [
            r#"{"name":"Đặng \"Út\"","tab":"a\tb","nul":"\u0000","line":"x\ny","slash":"\\/"}"#.into(),
            "plain".into(),
            "".into(),
            "\u{1F600} \u{7f} \u{2028} \t \u{0}".into(),
        ];
        let mut escapes = Escapes::default();
        for _ in 0..2 {
            for (i, text) in texts.iter().enumerate() {
                let row = DecisionRow {
                    run_id: 7,
                    period: "2024-10".into(),
                    beneficiary_id: i as i64,
                    outcome: "payable".into(),
                    amount: 500_000,
                    category: Some("elderly".into()),
                    verification: text.clone(),
                    plugin_hash: "ab".repeat(32).into(),
                    engine: Some("wasmtime".into()),
                    input: Some(text.to_string()),
                    output: (i % 2 == 0).then(|| text.clone()),
                    error: None,
                    fuel: 1234,
                    exception: None,
                    channel: "bank".into(),
                    bank_bin: "970436".into(),
                    account_number: "0123456789".into(),
                    account_name: "DANG UT".into(),
                    payee_name: "Đặng Út".into(),
                    commune: "00001".into(),
                    digest: None,
                };
                let each_time = row.record(Text::Plain(&row.verification), row.output.as_deref().map(Text::Plain));
                assert_eq!(row.remade_digest(&mut escapes), each_time.digest(), "text {i}: {text:?}");
            }
        }
        // A text with another's content but not shared with it is found as itself.
        let again: Arc<str> = texts[0].to_string().into();
        assert_eq!(escapes.escaped(&again).get(), serde_json::to_string(&*texts[0]).unwrap());
        // Past its bound it keeps no more texts, and escapes the rest each time.
        let mut full = Escapes::default();
        (0..ESCAPES_KEPT + 10).for_each(|i| drop(full.escaped(&Arc::from(format!("\"{i}\"")))));
        assert_eq!(full.written.len(), ESCAPES_KEPT);
        assert_eq!(full.escaped(&Arc::from("\"x\"")).get(), r#""\"x\"""#);
    }

    #[test]
    fn the_chain_depends_on_every_digest_and_their_order() {
        let chain = |ds: &[&str]| {
            let mut c = Chain::default();
            ds.iter().for_each(|d| c.push(d));
            c.seal()
        };
        let whole = chain(&["a1", "b2", "c3"]);
        assert_eq!(whole, chain(&["a1", "b2", "c3"]));
        assert_ne!(whole, chain(&["a1", "c3", "b2"]));
        assert_ne!(whole, chain(&["a1", "b2"]));
        assert_ne!(whole.chain, chain(&["a1", "b2", "c4"]).chain);
        assert_eq!(whole.count, 3);
    }
}
