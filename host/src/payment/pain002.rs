//! Streaming reader for ISO 20022 **pain.002** (`CustomerPaymentStatusReport`): the bank's answer
//! to a pain.001, payment by payment.
//!
//! Any version `urn:iso:std:iso:20022:tech:xsd:pain.002.001.NN` is read: the elements used here
//! (`OrgnlGrpInfAndSts`, `OrgnlPmtInfAndSts/TxInfAndSts`, `StsRsnInf/Rsn/Cd`,
//! `OrgnlTxRef/Amt/InstdAmt`) have the same names and places from .03 to .15. What is read:
//!
//! - `GrpHdr/MsgId`; `OrgnlGrpInfAndSts`: `OrgnlMsgId`, `OrgnlMsgNmId`, `OrgnlNbOfTxs`,
//!   `OrgnlCtrlSum`, `GrpSts` and its reason codes;
//! - per `TxInfAndSts`: `OrgnlEndToEndId`, `TxSts`, every `StsRsnInf/Rsn/Cd` (or `Prtry`), and
//!   `OrgnlTxRef/Amt/InstdAmt` when the bank repeats it.
//!
//! Transactions are handed to a callback as each one ends, so memory does not grow with the file.
//! The reader checks form, not meaning: amounts must be whole đồng in VND and counts whole
//! numbers, or the file is refused with the line and element; whether a status is known, an
//! EndToEndId belongs to a run, or the totals agree is for the caller (`run::reconcile`) to judge,
//! because those are problems to report, not reasons to stop reading. Errors name the line where
//! the element ends and what was expected. The file's sha256 is computed from the same bytes, so
//! what is recorded is what was read.
//!
//! A document type declaration (`<!DOCTYPE …>`: a DTD, with or without entity declarations) is
//! refused where it stands, before any transaction is handed over: a pain.002 has none, and one is
//! how a file asks a parser to expand entities (the "billion laughs") or fetch other files.
//! quick-xml expands nothing, but a report that needs a DTD is not one this host should read. At
//! most [`PROLOG_MAX`] bytes are read before the document element, so that a DOCTYPE of any size
//! is refused without being held in memory.

use std::io::{self, BufRead};

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use sha2::{Digest, Sha256};

/// Namespaces of every pain.002 version start with this; the version follows.
pub const NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.";

/// Bytes the document may have up to its element's start tag: an XML declaration and a few
/// comments take a few hundred; a file that reaches this is refused there, the rest unread (a
/// DOCTYPE of any size among it).
pub const PROLOG_MAX: u64 = 64 << 10;

/// What a status report says of the original message as a whole (`OrgnlGrpInfAndSts`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupStatus {
    /// The document's namespace: which pain.002 version it is.
    pub namespace: String,
    /// `GrpHdr/MsgId`: the report's own id.
    pub message_id: String,
    /// `OrgnlMsgId`: the MsgId of the pain.001 this answers.
    pub original_message_id: String,
    /// `OrgnlMsgNmId`, e.g. `pain.001.001.09`.
    pub original_message_name: String,
    /// `OrgnlNbOfTxs`: transactions in the original message.
    pub original_transactions: Option<u64>,
    /// `OrgnlCtrlSum`, whole đồng.
    pub original_control_sum: Option<u64>,
    /// `GrpSts`, e.g. `ACCP`, `PART`, `RJCT`.
    pub status: Option<String>,
    /// `StsRsnInf/Rsn/Cd` of the group.
    pub reasons: Vec<String>,
}

/// One `TxInfAndSts`: the bank's word on one payment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionStatus {
    /// The line its `TxInfAndSts` starts on, to point at it in messages.
    pub line: u64,
    /// `OrgnlEndToEndId` (optional in the schema; a report without it cannot be matched).
    pub end_to_end_id: Option<String>,
    /// `TxSts` as written, e.g. `ACSC`, `RJCT`, `PDNG` (optional in the schema).
    pub status: Option<String>,
    /// Every `StsRsnInf/Rsn/Cd` (or `Prtry`), in order: `AC04`, `MD07`...
    pub reasons: Vec<String>,
    /// `OrgnlTxRef/Amt/InstdAmt` in whole đồng, when the bank repeats it.
    pub amount: Option<u64>,
}

/// What a transaction status means for a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The money reached the beneficiary's institution (`ACSC`, `ACCC`).
    Settled,
    /// The payment will not be made (`RJCT`), for the reasons given.
    Rejected,
    /// Accepted or received, not yet settled: a later report settles or rejects it.
    Pending,
}

impl Answer {
    /// The meaning of an ISO 20022 transaction status code (ExternalPaymentTransactionStatus1Code),
    /// or `None` for one that says nothing reconcile can apply (`CANC`, `BLCK`, an unknown code).
    pub fn of(code: &str) -> Option<Answer> {
        Some(match code {
            "ACSC" | "ACCC" => Answer::Settled,
            "RJCT" => Answer::Rejected,
            "ACCP" | "ACSP" | "ACTC" | "ACWC" | "ACWP" | "ACFC" | "ACIS" | "ACPD" | "PDNG" | "RCVD" | "PATC"
            | "PRES" => Answer::Pending,
            _ => return None,
        })
    }
}

/// A file that is not a readable pain.002, with the line where reading stopped.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Pain002Error {
    pub line: u64,
    pub message: String,
}

/// What [`read`] returns besides the transactions it handed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub group: GroupStatus,
    /// sha256 of every byte read, in hex.
    pub sha256: String,
}

/// Reads a pain.002 document, calling `transaction` for each `TxInfAndSts` as it ends. An error
/// from the callback stops reading and is returned as it is.
pub fn read<R: BufRead>(
    input: R,
    mut transaction: impl FnMut(TransactionStatus) -> anyhow::Result<()>,
) -> anyhow::Result<Read> {
    let tracked = Tracked { inner: input, line: 1, sha256: Sha256::new(), prolog_left: Some(PROLOG_MAX) };
    let mut reader = NsReader::from_reader(tracked);
    let mut buf = Vec::new();
    // Local names of the open elements, the document element first.
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut group = GroupStatus::default();
    let mut seen_original_group = false;
    let mut tx: Option<TransactionStatus> = None;
    let fail = |line: u64, message: String| anyhow::Error::new(Pain002Error { line, message });

    loop {
        // Where the next event begins (whitespace between events is an event of its own).
        let begins = reader.get_ref().line;
        let (namespace, event) = match reader.read_resolved_event_into(&mut buf) {
            Ok(read) => read,
            Err(e) => {
                let message = if reader.get_ref().prolog_left == Some(0) {
                    format!(
                        "{} KiB and still no document element (<Document>): a pain.002 has only an XML declaration \
                         before it, so this is refused unread, as a DOCTYPE (DTD) would be; nothing was applied",
                        PROLOG_MAX >> 10
                    )
                } else {
                    format!("not well-formed XML: {e}")
                };
                return Err(fail(begins, message));
            }
        };
        // Only the document element's namespace is checked: the others are its.
        let namespace = match namespace {
            ResolveResult::Bound(ns) if path.is_empty() => ns.as_ref().to_owned(),
            _ => String::new(),
        };
        let line = reader.get_ref().line;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                if path.is_empty() {
                    group.namespace = document_namespace(&namespace, &name).map_err(|m| fail(line, m))?;
                    reader.get_mut().prolog_left = None;
                } else if name == "TxInfAndSts" {
                    tx = Some(TransactionStatus { line, ..Default::default() });
                } else if name == "InstdAmt" && tx.is_some() && path.ends_with(&["OrgnlTxRef".into(), "Amt".into()]) {
                    check_currency(&start, line)?;
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(start) => {
                if path.is_empty() {
                    let name = start.local_name().as_ref().to_owned();
                    document_namespace(&namespace, &name).map_err(|m| fail(line, m))?;
                    return Err(fail(line, "the Document is empty: expected CstmrPmtStsRpt".into()));
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| fail(line, format!("unknown entity &{};", &*r)))?
                        .to_owned(),
                };
                text.push_str(&resolved);
            }
            Event::End(_) => {
                let value = text.trim();
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                match names.as_slice() {
                    [_, _, "GrpHdr", "MsgId"] => group.message_id = value.to_owned(),
                    [_, _, "OrgnlGrpInfAndSts"] => seen_original_group = true,
                    [_, _, "OrgnlGrpInfAndSts", leaf] => match *leaf {
                        "OrgnlMsgId" => group.original_message_id = value.to_owned(),
                        "OrgnlMsgNmId" => group.original_message_name = value.to_owned(),
                        "OrgnlNbOfTxs" => group.original_transactions = Some(count(value, "OrgnlNbOfTxs", line)?),
                        "OrgnlCtrlSum" => group.original_control_sum = Some(dong(value, "OrgnlCtrlSum", line)?),
                        "GrpSts" => group.status = Some(value.to_owned()),
                        _ => {}
                    },
                    [_, _, "OrgnlGrpInfAndSts", "StsRsnInf", "Rsn", "Cd" | "Prtry"] => {
                        group.reasons.push(value.to_owned())
                    }
                    [.., "TxInfAndSts"] => {
                        let done = tx.take().expect("a TxInfAndSts was opened");
                        transaction(done)?;
                    }
                    [.., "TxInfAndSts", "OrgnlEndToEndId"] => {
                        if let Some(tx) = tx.as_mut() {
                            tx.end_to_end_id = Some(value.to_owned());
                        }
                    }
                    [.., "TxInfAndSts", "TxSts"] => {
                        if let Some(tx) = tx.as_mut() {
                            tx.status = Some(value.to_owned());
                        }
                    }
                    [.., "TxInfAndSts", "StsRsnInf", "Rsn", "Cd" | "Prtry"] => {
                        if let Some(tx) = tx.as_mut() {
                            tx.reasons.push(value.to_owned());
                        }
                    }
                    [.., "TxInfAndSts", "OrgnlTxRef", "Amt", "InstdAmt"] => {
                        if let Some(tx) = tx.as_mut() {
                            tx.amount = Some(dong(value, "OrgnlTxRef/Amt/InstdAmt", line)?);
                        }
                    }
                    _ => {}
                }
                path.pop();
                text.clear();
            }
            Event::Eof => {
                if !path.is_empty() {
                    return Err(fail(line, format!("the file ends inside <{}>", path.join("/"))));
                }
                break;
            }
            Event::DocType(_) => {
                return Err(fail(
                    begins,
                    "the report has a DOCTYPE (a document type declaration: a DTD, which may declare entities): a \
                     pain.002 has none, and a report with one is refused whole; nothing was applied. Ask the bank \
                     for the report without it"
                        .into(),
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
        buf.clear();
    }
    let line = reader.get_ref().line;
    if group.namespace.is_empty() {
        return Err(fail(line, "no Document element: expected a pain.002 Document".into()));
    }
    if !seen_original_group {
        return Err(fail(line, "no CstmrPmtStsRpt/OrgnlGrpInfAndSts: expected the original message's status".into()));
    }
    if group.original_message_id.is_empty() {
        return Err(fail(line, "OrgnlGrpInfAndSts has no OrgnlMsgId: expected the MsgId of the pain.001".into()));
    }
    let sha256 = hex::encode(reader.into_inner().sha256.finalize());
    Ok(Read { group, sha256 })
}

/// The namespace of the document element, if it is a pain.002 `Document`.
fn document_namespace(namespace: &str, name: &str) -> Result<String, String> {
    if name != "Document" || !namespace.starts_with(NAMESPACE_PREFIX) {
        let shown = if namespace.is_empty() { "no namespace".to_owned() } else { format!("namespace {namespace}") };
        return Err(format!(
            "the document element is <{name}> in {shown}: expected <Document> in {NAMESPACE_PREFIX}NN (a pain.002 \
             payment status report)"
        ));
    }
    Ok(namespace.to_owned())
}

fn check_currency(start: &quick_xml::events::BytesStart<'_>, line: u64) -> anyhow::Result<()> {
    let ccy = start
        .try_get_attribute("Ccy")
        .map_err(|e| Pain002Error { line, message: format!("InstdAmt: unreadable attributes: {e}") })?
        .map(|a| a.value.into_owned());
    match ccy.as_deref() {
        Some("VND") => Ok(()),
        other => Err(Pain002Error {
            line,
            message: format!("OrgnlTxRef/Amt/InstdAmt has Ccy {other:?}: expected \"VND\", the only currency paid"),
        }
        .into()),
    }
}

/// A `Max15NumericText` count.
fn count(value: &str, element: &str, line: u64) -> anyhow::Result<u64> {
    if value.is_empty() || value.len() > 15 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Pain002Error { line, message: format!("{element} is {value:?}: expected 1 to 15 digits") }.into());
    }
    Ok(value.parse()?)
}

/// A decimal amount that must be whole đồng: digits, optionally followed by a fraction of zeros.
fn dong(value: &str, element: &str, line: u64) -> anyhow::Result<u64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let whole_ok = !whole.is_empty() && whole.len() <= 18 && whole.bytes().all(|b| b.is_ascii_digit());
    if !whole_ok || !fraction.bytes().all(|b| b == b'0') {
        return Err(Pain002Error {
            line,
            message: format!("{element} is {value:?}: expected an amount in whole đồng (digits, no fraction)"),
        }
        .into());
    }
    Ok(whole.parse()?)
}

/// A reader that counts the lines and hashes the bytes the XML parser has consumed, so that the
/// line is where the parser is, not where read-ahead has got to; and that stops giving bytes once
/// more than [`PROLOG_MAX`] have gone before the document element.
struct Tracked<R> {
    inner: R,
    line: u64,
    sha256: Sha256,
    /// Bytes still allowed before the document element; `None` once it has begun.
    prolog_left: Option<u64>,
}

impl<R: BufRead> io::Read for Tracked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tracked<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.prolog_left == Some(0) {
            return Err(io::Error::other(format!("more than {PROLOG_MAX} bytes before the document element")));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // `consume` follows a `fill_buf`, so this returns the same bytes without reading.
        if let Ok(bytes) = self.inner.fill_buf() {
            let bytes = &bytes[..amount.min(bytes.len())];
            self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            self.sha256.update(bytes);
            if let Some(left) = self.prolog_left.as_mut() {
                *left = left.saturating_sub(bytes.len() as u64);
            }
        }
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.12";

    fn doc(transactions: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS}">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>BANK-1</MsgId><CreDtTm>2024-09-06T10:00:00Z</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>ANSINH-R1-202409</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
      <OrgnlNbOfTxs>2</OrgnlNbOfTxs>
      <OrgnlCtrlSum>1250000.00</OrgnlCtrlSum>
      <GrpSts>PART</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>ANSINH-R1-202409-1</OrgnlPmtInfId>
{transactions}
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
"#
        )
    }

    const TWO: &str = r#"      <TxInfAndSts>
        <OrgnlEndToEndId>AS202409R1P1</OrgnlEndToEndId>
        <TxSts>ACSC</TxSts>
        <OrgnlTxRef><Amt><InstdAmt Ccy="VND">750000</InstdAmt></Amt></OrgnlTxRef>
      </TxInfAndSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>AS202409R1P2</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>
        <StsRsnInf><Rsn><Prtry>X1</Prtry></Rsn></StsRsnInf>
      </TxInfAndSts>"#;

    fn parse(xml: &str) -> anyhow::Result<(Read, Vec<TransactionStatus>)> {
        let mut txs = Vec::new();
        let read = read(xml.as_bytes(), |tx| {
            txs.push(tx);
            Ok(())
        })?;
        Ok((read, txs))
    }

    #[test]
    fn reads_group_and_transactions_with_their_lines() {
        let xml = doc(TWO);
        let (read, txs) = parse(&xml).unwrap();
        assert_eq!(
            read.group,
            GroupStatus {
                namespace: NS.into(),
                message_id: "BANK-1".into(),
                original_message_id: "ANSINH-R1-202409".into(),
                original_message_name: "pain.001.001.09".into(),
                original_transactions: Some(2),
                original_control_sum: Some(1_250_000),
                status: Some("PART".into()),
                reasons: vec![],
            }
        );
        assert_eq!(read.sha256, hex::encode(Sha256::digest(xml.as_bytes())));
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].end_to_end_id.as_deref(), Some("AS202409R1P1"));
        assert_eq!(txs[0].status.as_deref(), Some("ACSC"));
        assert_eq!(txs[0].amount, Some(750_000));
        assert_eq!(txs[0].line, 14);
        assert_eq!(txs[1].reasons, ["AC04", "X1"]);
        assert_eq!(txs[1].amount, None);
        assert_eq!(txs[1].line, 19);
    }

    #[test]
    fn reads_a_prefixed_namespace_and_entities() {
        let xml = r#"<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><p:CstmrPmtStsRpt>
<p:GrpHdr><p:MsgId>A&amp;B</p:MsgId></p:GrpHdr>
<p:OrgnlGrpInfAndSts><p:OrgnlMsgId>ANSINH-R2-&#50;02409</p:OrgnlMsgId></p:OrgnlGrpInfAndSts>
</p:CstmrPmtStsRpt></p:Document>"#;
        let (read, txs) = parse(xml).unwrap();
        assert_eq!(read.group.message_id, "A&B");
        assert_eq!(read.group.original_message_id, "ANSINH-R2-202409");
        assert!(txs.is_empty());
    }

    fn error(xml: &str) -> String {
        format!("{:#}", parse(xml).expect_err("must be refused"))
    }

    #[test]
    fn refuses_what_is_not_a_pain002_and_says_where() {
        let msg =
            error(r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn/></Document>"#);
        assert!(msg.starts_with("line 1: the document element is <Document> in namespace"), "{msg}");
        assert!(msg.contains("expected <Document> in urn:iso:std:iso:20022:tech:xsd:pain.002.001.NN"), "{msg}");

        let msg = error(&doc(TWO).replace("</TxInfAndSts>\n      <TxInfAndSts>", "</TxInfAndSts>\n<Broken>"));
        assert!(msg.contains("not well-formed XML"), "{msg}");

        let cut = doc(TWO);
        let msg = error(&cut[..cut.find("<TxSts>RJCT").unwrap()]);
        assert!(msg.contains("the file ends inside <Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts"), "{msg}");

        let msg = error(&doc(TWO).replace(r#"Ccy="VND">750000"#, r#"Ccy="USD">750000"#));
        assert_eq!(
            msg,
            r#"line 17: OrgnlTxRef/Amt/InstdAmt has Ccy Some("USD"): expected "VND", the only currency paid"#
        );

        let msg = error(&doc(TWO).replace(">750000<", ">750000.50<"));
        assert_eq!(
            msg,
            "line 17: OrgnlTxRef/Amt/InstdAmt is \"750000.50\": expected an amount in whole đồng (digits, no fraction)"
        );

        let msg = error(&doc(TWO).replace("<OrgnlNbOfTxs>2<", "<OrgnlNbOfTxs>two<"));
        assert_eq!(msg, "line 8: OrgnlNbOfTxs is \"two\": expected 1 to 15 digits");

        let msg = error(&doc(TWO).replace("<OrgnlMsgId>ANSINH-R1-202409</OrgnlMsgId>", ""));
        assert!(msg.contains("OrgnlGrpInfAndSts has no OrgnlMsgId"), "{msg}");
    }

    #[test]
    fn a_doctype_is_refused_where_it_stands_before_any_transaction() {
        let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        let laughs = "<!DOCTYPE Document [\n  <!ENTITY lol \"lol\">\n  <!ENTITY lol1 \"&lol;&lol;&lol;\">\n]>\n";
        let xml = doc(TWO).replacen(declaration, &format!("{declaration}{laughs}"), 1);
        let mut seen = 0;
        let err = read(xml.as_bytes(), |_| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("line 2: the report has a DOCTYPE"), "{msg}");
        assert_eq!(seen, 0, "no transaction is handed over");
        let external =
            doc(TWO).replacen(declaration, &format!("{declaration}<!DOCTYPE Document SYSTEM \"x.dtd\">\n"), 1);
        assert!(error(&external).starts_with("line 2: the report has a DOCTYPE"));

        // A DOCTYPE too long to hold: refused once the bytes before the document element pass
        // their bound, the rest unread.
        let subset = "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n".repeat(200_000);
        let huge = format!("{declaration}<!DOCTYPE Document [\n{subset}]>\n<Document/>\n");
        let mut input = std::io::Cursor::new(huge.as_bytes());
        let buffered = io::BufReader::with_capacity(8 << 10, &mut input);
        let msg = format!("{:#}", read(buffered, |_| Ok(())).unwrap_err());
        assert!(msg.contains("64 KiB and still no document element"), "{msg}");
        assert!(input.position() < 2 * PROLOG_MAX, "read {} bytes of {}", input.position(), huge.len());
    }

    #[test]
    fn an_error_from_the_callback_stops_reading() {
        let mut seen = 0;
        let err = read(doc(TWO).as_bytes(), |_| {
            seen += 1;
            anyhow::bail!("stop")
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "stop");
        assert_eq!(seen, 1);
    }

    #[test]
    fn classifies_statuses() {
        assert_eq!(Answer::of("ACSC"), Some(Answer::Settled));
        assert_eq!(Answer::of("RJCT"), Some(Answer::Rejected));
        for pending in ["ACCP", "ACSP", "PDNG"] {
            assert_eq!(Answer::of(pending), Some(Answer::Pending));
        }
        assert_eq!(Answer::of("CANC"), None);
        assert_eq!(Answer::of("acsc"), None);
    }
}
