//! Streaming writer for ISO 20022 **pain.001.001.09**, `CustomerCreditTransferInitiationV09`
//! (namespace `urn:iso:std:iso:20022:tech:xsd:pain.001.001.09`), restricted to what a monthly
//! social-assistance run needs: credit transfers in VND from one debtor account on one execution
//! date.
//!
//! The document has one `GrpHdr` and one `PmtInf`, followed by one `CdtTrfTxInf` per
//! [`Pain001Writer::push`]. Both `NbOfTxs`/`CtrlSum` pairs come *before* the transactions in the
//! schema, so the caller must know the count and the sum up front (it computes them with SQL);
//! in exchange the writer never holds more than one transaction in memory, whatever the size of
//! the run. [`Pain001Writer::finish`] checks that what was pushed matches what was declared.
//!
//! Every value is checked against its XSD facet (length, digits) before any byte of the element
//! that holds it is written, so a failed [`Pain001Writer::new`] writes nothing and a failed
//! [`Pain001Writer::push`] writes no part of that transaction. Text is XML-escaped by quick-xml;
//! Vietnamese diacritics are written as UTF-8 as they are (`Max140Text` allows any character).
//! The writer does not normalise Unicode: pass names in NFC, as the registry stores them, because
//! the schema's length limits count code points and NFD text is longer.
//!
//! Output is deterministic: the writer reads no clock and no environment, so the same header and
//! transactions always give the same bytes. Pass a buffered writer (`std::io::BufWriter`): the
//! XML writer issues many small writes.

use std::io::Write;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

// The text facets, and the rules for text and BINs, are the payee limits the
// import and `run issue` check too (`model::payee`): one rule, one place.
use crate::model::Total;
use crate::model::payee::{self, MAX34, MAX35, MAX140, Unfit};

/// Default namespace of the document element.
pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";

/// `ActiveOrHistoricCurrencyAndAmount` and `DecimalNumber` both have `totalDigits` 18.
const MAX_AMOUNT: u64 = 999_999_999_999_999_999;
/// `NbOfTxs` is `Max15NumericText`: `[0-9]{1,15}`.
const MAX_NB_OF_TXS: u64 = 999_999_999_999_999;

/// Everything that goes before the first transaction: the group header and the payment
/// information block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `GrpHdr/MsgId`, at most 35 characters, unique per message for the debtor's bank.
    pub message_id: String,
    /// `GrpHdr/CreDtTm`, written in UTC with whole seconds, e.g. `2024-09-01T08:00:00Z`.
    pub created: DateTime<Utc>,
    /// `GrpHdr/InitgPty/Nm`, at most 140 characters.
    pub initiating_party: String,
    /// `PmtInf/PmtInfId`, at most 35 characters.
    pub payment_info_id: String,
    /// `PmtInf/ReqdExctnDt/Dt`.
    pub execution_date: NaiveDate,
    /// `PmtInf/Dbtr/Nm`, at most 140 characters.
    pub debtor_name: String,
    /// `PmtInf/DbtrAcct/Id/Othr/Id`, at most 34 characters (Vietnamese accounts are not IBANs).
    pub debtor_account: String,
    /// `PmtInf/DbtrAgt/FinInstnId/ClrSysMmbId/MmbId`: the debtor bank's 6-digit NAPAS BIN.
    pub debtor_agent_bin: String,
    /// `NbOfTxs` in both `GrpHdr` and `PmtInf`: the number of [`Pain001Writer::push`] calls to come.
    pub number_of_transactions: u64,
    /// `CtrlSum` in both `GrpHdr` and `PmtInf`: the sum of the amounts to come, in whole VND.
    pub control_sum: u64,
}

/// The beneficiary's institution, `CdtTrfTxInf/CdtrAgt/FinInstnId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditorAgent {
    /// A bank, identified by its 6-digit NAPAS/VietQR BIN in `ClrSysMmbId/MmbId`.
    Bank { bin: String },
    /// An e-wallet or mobile-money provider, which has no BIN: its code goes in `Othr/Id`
    /// (at most 35 characters).
    Wallet { provider: String },
}

/// One credit transfer, `CdtTrfTxInf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// `PmtId/EndToEndId`, 1 to 35 characters; comes back in pain.002 and camt.054.
    pub end_to_end_id: String,
    /// `Amt/InstdAmt`, in whole VND (VND has no minor unit), at least 1.
    pub amount: u64,
    /// `Cdtr/Nm`, at most 140 characters.
    pub creditor_name: String,
    /// `CdtrAcct/Id/Othr/Id`, at most 34 characters.
    pub creditor_account: String,
    /// `CdtrAgt`: the bank or wallet provider that holds `creditor_account`.
    pub creditor_agent: CreditorAgent,
    /// `RmtInf/Ustrd`, at most 140 characters.
    pub remittance: String,
}

/// Why a pain.001 could not be written. Field names are the XML paths of the schema.
#[derive(Debug, thiserror::Error)]
pub enum Pain001Error {
    #[error("{field} is empty or blank; pain.001.001.09 requires at least 1 character (at most {max})")]
    Empty { field: String, max: usize },
    #[error("{field} is {len} characters long; pain.001.001.09 allows at most {max}")]
    TooLong { field: String, len: usize, max: usize },
    #[error(
        "{field} contains the character U+{code:04X} at position {position}; \
         control characters cannot be carried in these single-line text fields"
    )]
    ForbiddenCharacter { field: String, code: u32, position: usize },
    #[error("{field} must be a 6-digit bank identification number (BIN), got {value:?}")]
    InvalidBin { field: String, value: String },
    #[error("{field} is 0 VND; a credit transfer must move at least 1 VND")]
    ZeroAmount { field: String },
    #[error("{field} is {value} VND; pain.001.001.09 allows at most 18 digits ({MAX_AMOUNT})")]
    AmountTooLarge { field: String, value: u64 },
    #[error(
        "NbOfTxs in the header is {declared}; it must be between 1 and {MAX_NB_OF_TXS} \
         (PmtInf needs at least one CdtTrfTxInf)"
    )]
    InvalidTransactionCount { declared: u64 },
    #[error("NbOfTxs mismatch: the header declares {declared} transactions but {pushed} were pushed")]
    CountMismatch { declared: u64, pushed: u64 },
    #[error("CtrlSum mismatch: the header declares {declared} VND but the pushed transactions add up to {pushed} VND")]
    SumMismatch { declared: u64, pushed: u128 },
    #[error("writing the pain.001 document failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes one pain.001.001.09 document to `W` as transactions are pushed.
///
/// After a [`Pain001Error::Io`] the output is truncated and the writer should be dropped. A
/// validation error from [`push`](Self::push) leaves the output untouched, but the transaction
/// then is missing, so [`finish`](Self::finish) will report a count and sum mismatch unless the
/// caller pushes a replacement.
pub struct Pain001Writer<W: Write> {
    xml: Writer<W>,
    declared_count: u64,
    declared_sum: u64,
    pushed_count: u64,
    // u128: up to 10^15 transactions of up to 10^18 VND cannot overflow it.
    pushed_sum: u128,
}

impl<W: Write> Pain001Writer<W> {
    /// Validates `header`, then writes the XML declaration, `GrpHdr` and the opening of `PmtInf`
    /// up to (not including) the first `CdtTrfTxInf`.
    pub fn new(out: W, header: &Header) -> Result<Self, Pain001Error> {
        validate_header(header)?;

        let mut w = Self {
            xml: Writer::new_with_indent(out, b' ', 2),
            declared_count: header.number_of_transactions,
            declared_sum: header.control_sum,
            pushed_count: 0,
            pushed_sum: 0,
        };
        let count = header.number_of_transactions.to_string();
        let sum = header.control_sum.to_string();

        w.xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.xml.write_event(Event::Start(BytesStart::new("Document").with_attributes([("xmlns", NAMESPACE)])))?;
        w.start("CstmrCdtTrfInitn")?;

        // Order of every sequence below follows GroupHeader85 / PaymentInstruction30 in the XSD.
        w.start("GrpHdr")?;
        w.text("MsgId", &header.message_id)?;
        // ISODateTime is xs:dateTime: a "Z" suffix is valid and unambiguous. Sub-second digits
        // are dropped because some bank parsers reject them, and no one needs them.
        w.text("CreDtTm", &header.created.to_rfc3339_opts(SecondsFormat::Secs, true))?;
        w.text("NbOfTxs", &count)?;
        w.text("CtrlSum", &sum)?;
        w.start("InitgPty")?;
        w.text("Nm", &header.initiating_party)?;
        w.end("InitgPty")?;
        w.end("GrpHdr")?;

        w.start("PmtInf")?;
        w.text("PmtInfId", &header.payment_info_id)?;
        w.text("PmtMtd", "TRF")?;
        // One debit per transfer on the agency's statement, so each benefit reconciles alone
        // against camt.054 by its EndToEndId.
        w.text("BtchBookg", "false")?;
        w.text("NbOfTxs", &count)?;
        w.text("CtrlSum", &sum)?;
        // PmtTpInf is omitted: there is no scheme-wide service level in Vietnam (SEPA's is
        // meaningless here) and the bank routes to NAPAS ACH by its own rules.
        w.start("ReqdExctnDt")?;
        w.text("Dt", &header.execution_date.format("%Y-%m-%d").to_string())?;
        w.end("ReqdExctnDt")?;
        w.start("Dbtr")?;
        w.text("Nm", &header.debtor_name)?;
        w.end("Dbtr")?;
        w.account("DbtrAcct", &header.debtor_account)?;
        w.start("DbtrAgt")?;
        w.start("FinInstnId")?;
        w.start("ClrSysMmbId")?;
        w.text("MmbId", &header.debtor_agent_bin)?;
        w.end("ClrSysMmbId")?;
        w.end("FinInstnId")?;
        w.end("DbtrAgt")?;
        // DEBT, not SLEV: a benefit must reach the beneficiary whole, so every charge is borne by
        // the paying agency. SLEV defers to a service level's rulebook, and this file names none.
        w.text("ChrgBr", "DEBT")?;
        Ok(w)
    }

    /// Validates `t` and writes it as one `CdtTrfTxInf`.
    pub fn push(&mut self, t: &Transfer) -> Result<(), Pain001Error> {
        let index = self.pushed_count + 1;
        validate_transfer(index, t)?;

        self.start("CdtTrfTxInf")?;
        // Order follows CreditTransferTransaction34 in the XSD.
        self.start("PmtId")?;
        self.text("EndToEndId", &t.end_to_end_id)?;
        self.end("PmtId")?;
        self.start("Amt")?;
        // VND has no minor unit (ISO 4217 exponent 0): whole dong, no decimal point.
        self.xml
            .create_element("InstdAmt")
            .with_attribute(("Ccy", "VND"))
            .write_text_content(BytesText::new(&t.amount.to_string()))?;
        self.end("Amt")?;
        self.start("CdtrAgt")?;
        self.start("FinInstnId")?;
        match &t.creditor_agent {
            CreditorAgent::Bank { bin } => {
                self.start("ClrSysMmbId")?;
                self.text("MmbId", bin)?;
                self.end("ClrSysMmbId")?;
            }
            CreditorAgent::Wallet { provider } => {
                // Wallets are not NAPAS members with a BIN; Othr/Id carries the provider's code.
                self.start("Othr")?;
                self.text("Id", provider)?;
                self.end("Othr")?;
            }
        }
        self.end("FinInstnId")?;
        self.end("CdtrAgt")?;
        self.start("Cdtr")?;
        self.text("Nm", &t.creditor_name)?;
        self.end("Cdtr")?;
        self.account("CdtrAcct", &t.creditor_account)?;
        self.start("RmtInf")?;
        self.text("Ustrd", &t.remittance)?;
        self.end("RmtInf")?;
        self.end("CdtTrfTxInf")?;

        self.pushed_count = index;
        self.pushed_sum += u128::from(t.amount);
        Ok(())
    }

    /// The count and sum the header declares.
    pub fn declared(&self) -> Total {
        Total { count: self.declared_count as i64, amount: self.declared_sum as i64 }
    }

    /// Checks that the pushed count and sum equal the header's, closes the document, flushes and
    /// returns the output. On a mismatch nothing more is written, so the output stays an
    /// unterminated document that no bank will accept.
    pub fn finish(mut self) -> Result<W, Pain001Error> {
        if self.pushed_count != self.declared_count {
            return Err(Pain001Error::CountMismatch { declared: self.declared_count, pushed: self.pushed_count });
        }
        if self.pushed_sum != u128::from(self.declared_sum) {
            return Err(Pain001Error::SumMismatch { declared: self.declared_sum, pushed: self.pushed_sum });
        }
        self.end("PmtInf")?;
        self.end("CstmrCdtTrfInitn")?;
        self.end("Document")?;
        let mut out = self.xml.into_inner();
        // POSIX text files end with a newline; quick-xml writes none after the last tag.
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(out)
    }

    fn start(&mut self, name: &str) -> std::io::Result<()> {
        self.xml.write_event(Event::Start(BytesStart::new(name)))
    }

    fn end(&mut self, name: &str) -> std::io::Result<()> {
        self.xml.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name>text</name>`; `BytesText::new` escapes `&`, `<`, `>`, `'` and `"`.
    fn text(&mut self, name: &str, text: &str) -> std::io::Result<()> {
        self.xml.create_element(name).write_text_content(BytesText::new(text))?;
        Ok(())
    }

    /// A `CashAccount38` identified by a non-IBAN number: `<name><Id><Othr><Id>…`.
    fn account(&mut self, name: &str, number: &str) -> std::io::Result<()> {
        self.start(name)?;
        self.start("Id")?;
        self.start("Othr")?;
        self.text("Id", number)?;
        self.end("Othr")?;
        self.end("Id")?;
        self.end(name)
    }
}

fn validate_header(h: &Header) -> Result<(), Pain001Error> {
    check_text("GrpHdr/MsgId", &h.message_id, MAX35)?;
    check_text("GrpHdr/InitgPty/Nm", &h.initiating_party, MAX140)?;
    check_text("PmtInf/PmtInfId", &h.payment_info_id, MAX35)?;
    check_text("PmtInf/Dbtr/Nm", &h.debtor_name, MAX140)?;
    check_text("PmtInf/DbtrAcct/Id/Othr/Id", &h.debtor_account, MAX34)?;
    check_bin("PmtInf/DbtrAgt/FinInstnId/ClrSysMmbId/MmbId", &h.debtor_agent_bin)?;
    if h.number_of_transactions == 0 || h.number_of_transactions > MAX_NB_OF_TXS {
        return Err(Pain001Error::InvalidTransactionCount { declared: h.number_of_transactions });
    }
    check_amount("GrpHdr/CtrlSum", h.control_sum)
}

fn validate_transfer(index: u64, t: &Transfer) -> Result<(), Pain001Error> {
    // The EndToEndId is checked first so that the other messages can name the transaction by it.
    let at = |path: &str| format!("CdtTrfTxInf #{index} {path}");
    check_text(&at("PmtId/EndToEndId"), &t.end_to_end_id, MAX35)?;
    let at = |path: &str| format!("CdtTrfTxInf #{index} (EndToEndId {:?}) {path}", t.end_to_end_id);
    if t.amount == 0 {
        return Err(Pain001Error::ZeroAmount { field: at("Amt/InstdAmt") });
    }
    check_amount(&at("Amt/InstdAmt"), t.amount)?;
    match &t.creditor_agent {
        CreditorAgent::Bank { bin } => check_bin(&at("CdtrAgt/FinInstnId/ClrSysMmbId/MmbId"), bin)?,
        CreditorAgent::Wallet { provider } => check_text(&at("CdtrAgt/FinInstnId/Othr/Id"), provider, MAX35)?,
    }
    check_text(&at("Cdtr/Nm"), &t.creditor_name, MAX140)?;
    check_text(&at("CdtrAcct/Id/Othr/Id"), &t.creditor_account, MAX34)?;
    check_text(&at("RmtInf/Ustrd"), &t.remittance, MAX140)
}

/// `MaxNText` facets: 1..=max characters, as [`payee::text`] checks them. XSD counts characters
/// (code points), not bytes, so "Nguyễn" is 6 long. Blank text is refused although the schema
/// admits it: a blank name or reference identifies no one and only fails later, at the bank.
/// XML 1.0 cannot carry most C0 controls at all, and a tab or line break inside a name or an
/// account number is a data error that banks handle inconsistently; U+FFFE/U+FFFF are not XML
/// characters either.
fn check_text(field: &str, value: &str, max: usize) -> Result<(), Pain001Error> {
    let field = field.to_owned();
    match payee::text(value, max) {
        Ok(()) => Ok(()),
        Err(Unfit::Blank) => Err(Pain001Error::Empty { field, max }),
        Err(Unfit::Control { code, position }) => Err(Pain001Error::ForbiddenCharacter { field, code, position }),
        Err(Unfit::TooLong { len, max }) => Err(Pain001Error::TooLong { field, len, max }),
        Err(other) => unreachable!("payee::text answers only blank, control or too long, not {other:?}"),
    }
}

/// NAPAS BINs are six digits ([`payee::bin`]).
fn check_bin(field: &str, value: &str) -> Result<(), Pain001Error> {
    payee::bin(value).map_err(|_| Pain001Error::InvalidBin { field: field.to_owned(), value: value.to_owned() })
}

fn check_amount(field: &str, value: u64) -> Result<(), Pain001Error> {
    if value > MAX_AMOUNT {
        return Err(Pain001Error::AmountTooLarge { field: field.to_owned(), value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn header(count: u64, sum: u64) -> Header {
        Header {
            message_id: "ANSINH-2024-09-HN-0001".into(),
            created: Utc.with_ymd_and_hms(2024, 9, 1, 8, 0, 0).unwrap(),
            initiating_party: "Sở Lao động - Thương binh và Xã hội Hà Nội".into(),
            payment_info_id: "ANSINH-2024-09-HN-0001-P1".into(),
            execution_date: NaiveDate::from_ymd_opt(2024, 9, 5).unwrap(),
            debtor_name: "KHO BẠC NHÀ NƯỚC HÀ NỘI".into(),
            debtor_account: "0011000123456".into(),
            debtor_agent_bin: "970436".into(),
            number_of_transactions: count,
            control_sum: sum,
        }
    }

    fn transfer(id: &str, amount: u64) -> Transfer {
        Transfer {
            end_to_end_id: id.into(),
            amount,
            creditor_name: "NGUYỄN THỊ THU HIỀN".into(),
            creditor_account: "19031234567890".into(),
            creditor_agent: CreditorAgent::Bank { bin: "970407".into() },
            remittance: "Trợ cấp xã hội tháng 09/2024".into(),
        }
    }

    fn write(h: &Header, ts: &[Transfer]) -> Result<String, Pain001Error> {
        let mut w = Pain001Writer::new(Vec::new(), h)?;
        for t in ts {
            w.push(t)?;
        }
        Ok(String::from_utf8(w.finish()?).unwrap())
    }

    #[test]
    fn writes_the_expected_document() {
        let mut wallet = transfer("E2E-2", 500_000);
        wallet.creditor_agent = CreditorAgent::Wallet { provider: "VIETTELMONEY".into() };
        wallet.creditor_account = "0987654321".into();
        let xml = write(&header(2, 1_750_000), &[transfer("E2E-1", 1_250_000), wallet]).unwrap();
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>ANSINH-2024-09-HN-0001</MsgId>
      <CreDtTm>2024-09-01T08:00:00Z</CreDtTm>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>1750000</CtrlSum>
      <InitgPty>
        <Nm>Sở Lao động - Thương binh và Xã hội Hà Nội</Nm>
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>ANSINH-2024-09-HN-0001-P1</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <BtchBookg>false</BtchBookg>
      <NbOfTxs>2</NbOfTxs>
      <CtrlSum>1750000</CtrlSum>
      <ReqdExctnDt>
        <Dt>2024-09-05</Dt>
      </ReqdExctnDt>
      <Dbtr>
        <Nm>KHO BẠC NHÀ NƯỚC HÀ NỘI</Nm>
      </Dbtr>
      <DbtrAcct>
        <Id>
          <Othr>
            <Id>0011000123456</Id>
          </Othr>
        </Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <ClrSysMmbId>
            <MmbId>970436</MmbId>
          </ClrSysMmbId>
        </FinInstnId>
      </DbtrAgt>
      <ChrgBr>DEBT</ChrgBr>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>E2E-1</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="VND">1250000</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <ClrSysMmbId>
              <MmbId>970407</MmbId>
            </ClrSysMmbId>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>NGUYỄN THỊ THU HIỀN</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <Othr>
              <Id>19031234567890</Id>
            </Othr>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>Trợ cấp xã hội tháng 09/2024</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>E2E-2</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="VND">500000</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <Othr>
              <Id>VIETTELMONEY</Id>
            </Othr>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>NGUYỄN THỊ THU HIỀN</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <Othr>
              <Id>0987654321</Id>
            </Othr>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>Trợ cấp xã hội tháng 09/2024</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"#;
        assert_eq!(xml, expected);
    }

    #[test]
    fn escapes_markup_and_keeps_diacritics() {
        let mut t = transfer("E2E-1", 1);
        t.creditor_name = "TRẦN & CON <HỘ KINH DOANH> \"Đ\" 'X'".into();
        t.remittance = "a<b && c>d".into();
        let xml = write(&header(1, 1), &[t]).unwrap();
        assert!(xml.contains("<Nm>TRẦN &amp; CON &lt;HỘ KINH DOANH&gt; &quot;Đ&quot; &apos;X&apos;</Nm>"), "{xml}");
        assert!(xml.contains("<Ustrd>a&lt;b &amp;&amp; c&gt;d</Ustrd>"), "{xml}");
    }

    #[test]
    fn same_inputs_give_the_same_bytes() {
        let ts = [transfer("A", 10), transfer("B", 20), transfer("C", 30)];
        let a = write(&header(3, 60), &ts).unwrap();
        let b = write(&header(3, 60), &ts).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn created_is_whole_seconds_in_utc() {
        let mut h = header(1, 5);
        h.created = Utc
            .with_ymd_and_hms(2024, 12, 31, 23, 59, 59)
            .unwrap()
            .checked_add_signed(chrono::TimeDelta::milliseconds(987))
            .unwrap();
        let xml = write(&h, &[transfer("A", 5)]).unwrap();
        assert!(xml.contains("<CreDtTm>2024-12-31T23:59:59Z</CreDtTm>"), "{xml}");
    }

    #[test]
    fn end_to_end_id_limits() {
        let ok = "X".repeat(35);
        write(&header(1, 1), &[transfer(&ok, 1)]).unwrap();

        let mut w = Pain001Writer::new(Vec::new(), &header(1, 1)).unwrap();
        let err = w.push(&transfer(&"X".repeat(36), 1)).unwrap_err();
        assert!(
            matches!(&err, Pain001Error::TooLong { field, len: 36, max: 35 }
                if field == "CdtTrfTxInf #1 PmtId/EndToEndId"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "CdtTrfTxInf #1 PmtId/EndToEndId is 36 characters long; pain.001.001.09 allows at most 35"
        );

        let err = w.push(&transfer("", 1)).unwrap_err();
        assert!(matches!(&err, Pain001Error::Empty { max: 35, .. }), "{err:?}");
        let err = w.push(&transfer("   ", 1)).unwrap_err();
        assert!(matches!(&err, Pain001Error::Empty { .. }), "{err:?}");
    }

    #[test]
    fn rejected_push_writes_nothing() {
        let mut w = Pain001Writer::new(Vec::new(), &header(1, 1)).unwrap();
        let before = w.xml.get_ref().len();
        w.push(&transfer(&"X".repeat(36), 1)).unwrap_err();
        assert_eq!(w.xml.get_ref().len(), before);
        w.push(&transfer("OK", 1)).unwrap();
        w.finish().unwrap();
    }

    #[test]
    fn message_id_too_long() {
        let mut h = header(1, 1);
        h.message_id = "M".repeat(36);
        let err = Pain001Writer::new(Vec::new(), &h).err().unwrap();
        assert_eq!(err.to_string(), "GrpHdr/MsgId is 36 characters long; pain.001.001.09 allows at most 35");
    }

    #[test]
    fn new_validates_before_writing() {
        let mut h = header(1, 1);
        h.debtor_agent_bin = "97043".into();
        let mut out = Vec::new();
        let err = Pain001Writer::new(&mut out, &h).err().unwrap();
        assert!(matches!(err, Pain001Error::InvalidBin { .. }), "{err:?}");
        assert!(out.is_empty());

        let h = header(0, 0);
        let err = Pain001Writer::new(Vec::new(), &h).err().unwrap();
        assert!(matches!(err, Pain001Error::InvalidTransactionCount { declared: 0 }), "{err:?}");
    }

    #[test]
    fn remittance_limit_counts_characters_not_bytes() {
        // 140 Vietnamese characters are far more than 140 bytes, and still valid.
        let mut t = transfer("A", 1);
        t.remittance = "ễ".repeat(140);
        write(&header(1, 1), &[t.clone()]).unwrap();

        t.remittance = "ễ".repeat(141);
        let err = write(&header(1, 1), &[t]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CdtTrfTxInf #1 (EndToEndId \"A\") RmtInf/Ustrd is 141 characters long; \
             pain.001.001.09 allows at most 140"
        );
    }

    #[test]
    fn account_is_max34() {
        let mut t = transfer("A", 1);
        t.creditor_account = "1".repeat(35);
        let err = write(&header(1, 1), &[t]).unwrap_err();
        assert!(matches!(err, Pain001Error::TooLong { max: 34, .. }), "{err:?}");
    }

    #[test]
    fn control_characters_are_refused() {
        let mut t = transfer("A", 1);
        t.creditor_name = "LÊ VĂN\nTÁM".into();
        let err = write(&header(1, 1), &[t]).unwrap_err();
        assert!(matches!(err, Pain001Error::ForbiddenCharacter { code: 0x0A, position: 6, .. }), "{err:?}");
    }

    #[test]
    fn zero_amount_is_refused() {
        let err = write(&header(1, 0), &[transfer("E2E-0", 0)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CdtTrfTxInf #1 (EndToEndId \"E2E-0\") Amt/InstdAmt is 0 VND; \
             a credit transfer must move at least 1 VND"
        );
    }

    #[test]
    fn bad_creditor_bin_is_refused() {
        let mut t = transfer("A", 1);
        t.creditor_agent = CreditorAgent::Bank { bin: "VCB".into() };
        let err = write(&header(1, 1), &[t]).unwrap_err();
        assert!(matches!(err, Pain001Error::InvalidBin { .. }), "{err:?}");
    }

    #[test]
    fn count_mismatch_at_finish() {
        let err = write(&header(3, 30), &[transfer("A", 10), transfer("B", 20)]).unwrap_err();
        assert!(matches!(err, Pain001Error::CountMismatch { declared: 3, pushed: 2 }), "{err:?}");
        assert_eq!(err.to_string(), "NbOfTxs mismatch: the header declares 3 transactions but 2 were pushed");
    }

    #[test]
    fn sum_mismatch_at_finish() {
        let err = write(&header(2, 31), &[transfer("A", 10), transfer("B", 20)]).unwrap_err();
        assert!(matches!(err, Pain001Error::SumMismatch { declared: 31, pushed: 30 }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "CtrlSum mismatch: the header declares 31 VND but the pushed transactions add up to 30 VND"
        );
    }

    #[test]
    fn io_errors_surface() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = Pain001Writer::new(Broken, &header(1, 1)).err().unwrap();
        assert!(matches!(err, Pain001Error::Io(_)), "{err:?}");
        assert_eq!(err.to_string(), "writing the pain.001 document failed: disk full");
    }
}
