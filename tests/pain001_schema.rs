//! The pain.001.001.09 writer's output against the official ISO 20022 XSD, and proof that the
//! validator rejects documents the schema forbids.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

use ansinh::payment::pain001::{CreditorAgent, Header, Pain001Writer, Transfer};
use chrono::{NaiveDate, TimeZone, Utc};

use crate::support::xsd::validate_pain001;

fn header(number_of_transactions: u64, control_sum: u64) -> Header {
    Header {
        message_id: "ANSINH-2024-09-HN-000000000000001".into(),
        created: Utc.with_ymd_and_hms(2024, 9, 1, 8, 0, 0).unwrap(),
        initiating_party: "Sở Lao động - Thương binh và Xã hội Hà Nội".into(),
        payment_info_id: "ANSINH-2024-09-HN-P1".into(),
        execution_date: NaiveDate::from_ymd_opt(2024, 9, 5).unwrap(),
        debtor_name: "KHO BẠC NHÀ NƯỚC HÀ NỘI".into(),
        debtor_account: "0011000123456".into(),
        debtor_agent_bin: "970436".into(),
        number_of_transactions,
        control_sum,
    }
}

fn transfers() -> Vec<Transfer> {
    // 140 characters, most of them outside ASCII.
    let long_remittance: String = "Trợ cấp xã hội hằng tháng – Đợt 09/2024 – ".repeat(4);
    let long_remittance: String = long_remittance.chars().take(140).collect();
    assert_eq!(long_remittance.chars().count(), 140);
    let long_e2e = format!("E2E-2024-09-HN-{:020}", 4);
    assert_eq!(long_e2e.chars().count(), 35);

    vec![
        Transfer {
            end_to_end_id: "E2E-2024-09-HN-1".into(),
            amount: 1_250_000,
            creditor_name: "NGUYỄN THỊ THU HIỀN".into(),
            creditor_account: "0011004567890".into(),
            creditor_agent: CreditorAgent::Bank { bin: "970436".into() },
            remittance: "Trợ cấp xã hội tháng 09/2024".into(),
        },
        Transfer {
            end_to_end_id: "E2E-2024-09-HN-2".into(),
            amount: 750_000,
            creditor_name: "ĐẶNG VĂN HÙNG".into(),
            creditor_account: "0987654321".into(),
            creditor_agent: CreditorAgent::Wallet { provider: "VIETTELMONEY".into() },
            remittance: "Tro cap xa hoi thang 09/2024".into(),
        },
        Transfer {
            end_to_end_id: "E2E-2024-09-HN-3".into(),
            amount: 500_000,
            creditor_name: "TRẦN & CON <GIÁM HỘ> cho LÊ THỊ \"BÉ\" O'NEIL".into(),
            creditor_account: "19031234567890".into(),
            creditor_agent: CreditorAgent::Bank { bin: "970407".into() },
            remittance: "Trợ cấp & phụ cấp <tháng 09>".into(),
        },
        Transfer {
            end_to_end_id: long_e2e,
            amount: 2_160_000,
            creditor_name: "PHẠM THỊ THUỲ DƯƠNG".into(),
            creditor_account: "0366123456".into(),
            creditor_agent: CreditorAgent::Wallet { provider: "VNPTMONEY".into() },
            remittance: long_remittance,
        },
    ]
}

fn write_file(path: &Path, transfers: &[Transfer]) -> anyhow::Result<()> {
    let sum = transfers.iter().map(|t| t.amount).sum();
    let out = BufWriter::new(File::create(path)?);
    let mut w = Pain001Writer::new(out, &header(transfers.len() as u64, sum))?;
    for t in transfers {
        w.push(t)?;
    }
    w.finish()?;
    Ok(())
}

#[test]
fn writer_output_is_valid_pain_001_001_09() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("pain.001.xml");
    write_file(&path, &transfers())?;

    validate_pain001(&path)?;

    let xml = fs::read_to_string(&path)?;
    assert!(xml.contains("<Nm>NGUYỄN THỊ THU HIỀN</Nm>"), "{xml}");
    assert!(xml.contains("<Nm>TRẦN &amp; CON &lt;GIÁM HỘ&gt; cho LÊ THỊ &quot;BÉ&quot; O&apos;NEIL</Nm>"), "{xml}");
    assert!(xml.contains(r#"<InstdAmt Ccy="VND">1250000</InstdAmt>"#), "{xml}");
    assert!(xml.contains("<NbOfTxs>4</NbOfTxs>"), "{xml}");
    assert!(xml.contains("<CtrlSum>4660000</CtrlSum>"), "{xml}");
    Ok(())
}

/// A hand-built document; `transaction` is spliced in as the only `CdtTrfTxInf`.
fn document(transaction: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>HAND-BUILT-1</MsgId>
      <CreDtTm>2024-09-01T08:00:00Z</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>1250000</CtrlSum>
      <InitgPty><Nm>ANSINH</Nm></InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>HAND-BUILT-1-P1</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <NbOfTxs>1</NbOfTxs>
      <CtrlSum>1250000</CtrlSum>
      <ReqdExctnDt><Dt>2024-09-05</Dt></ReqdExctnDt>
      <Dbtr><Nm>KHO BẠC NHÀ NƯỚC</Nm></Dbtr>
      <DbtrAcct><Id><Othr><Id>0011000123456</Id></Othr></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><ClrSysMmbId><MmbId>970436</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt>
      <ChrgBr>DEBT</ChrgBr>
      <CdtTrfTxInf>
{transaction}
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"#
    )
}

const PMT_ID: &str = "<PmtId><EndToEndId>E2E-1</EndToEndId></PmtId>";
const AMT: &str = r#"<Amt><InstdAmt Ccy="VND">1250000</InstdAmt></Amt>"#;
const REST: &str = "<CdtrAgt><FinInstnId><ClrSysMmbId><MmbId>970407</MmbId></ClrSysMmbId></FinInstnId></CdtrAgt>
<Cdtr><Nm>NGUYỄN VĂN A</Nm></Cdtr>
<CdtrAcct><Id><Othr><Id>19031234567890</Id></Othr></Id></CdtrAcct>
<RmtInf><Ustrd>Tro cap</Ustrd></RmtInf>";

fn validate_str(xml: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("hand-built.xml");
    fs::write(&path, xml)?;
    validate_pain001(&path)
}

#[test]
fn validator_rejects_what_the_schema_forbids() -> anyhow::Result<()> {
    // Control: the hand-built document in the right order is valid, so each failure below is
    // caused by the one thing changed.
    validate_str(&document(&format!("{PMT_ID}\n{AMT}\n{REST}")))?;

    // Amt before PmtId: CreditTransferTransaction34 is a sequence starting with PmtId.
    let err = validate_str(&document(&format!("{AMT}\n{PMT_ID}\n{REST}")))
        .expect_err("a CdtTrfTxInf with Amt before PmtId must be invalid");
    let msg = format!("{err:#}");
    println!("out of order:\n{msg}");
    assert!(msg.contains("is not valid against"), "{msg}");
    assert!(msg.contains("Amt"), "{msg}");

    // An EndToEndId of 36 characters: Max35Text.
    let pmt_id = format!("<PmtId><EndToEndId>{}</EndToEndId></PmtId>", "X".repeat(36));
    let err = validate_str(&document(&format!("{pmt_id}\n{AMT}\n{REST}")))
        .expect_err("a 36-character EndToEndId must be invalid");
    let msg = format!("{err:#}");
    println!("too long:\n{msg}");
    assert!(msg.contains("EndToEndId"), "{msg}");
    assert!(msg.contains("greater than 35"), "{msg}");

    // An amount with decimals beyond the 5 the schema allows, in an unknown currency code.
    let amt = r#"<Amt><InstdAmt Ccy="vnd">1250000.123456</InstdAmt></Amt>"#;
    let err = validate_str(&document(&format!("{PMT_ID}\n{amt}\n{REST}")))
        .expect_err("a lower-case currency with 6 decimals must be invalid");
    let msg = format!("{err:#}");
    println!("bad amount:\n{msg}");
    assert!(msg.contains("InstdAmt"), "{msg}");
    Ok(())
}
