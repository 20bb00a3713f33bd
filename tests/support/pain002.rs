//! pain.002 status reports as a bank sends them, to answer a run's pain.001 with.

/// One transaction of a status report: EndToEndId, TxSts, reason code, amount repeated.
pub struct Tx<'a> {
    pub id: String,
    pub status: &'a str,
    pub reason: Option<&'a str>,
    pub amount: Option<u64>,
}

pub fn tx<'a>(id: &str, status: &'a str, reason: Option<&'a str>, amount: Option<u64>) -> Tx<'a> {
    Tx { id: id.to_owned(), status, reason, amount }
}

/// A pain.002 of version `pain.002.001.{version}` (12 or 03: the elements written are the same
/// in both) answering `original` with `n` transactions worth `sum`.
pub fn pain002(version: &str, original: &str, n: u64, sum: u64, group_status: &str, txs: &[Tx<'_>]) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.{version}">
  <CstmrPmtStsRpt>
    <GrpHdr>
      <MsgId>BIDV-STS-{original}</MsgId>
      <CreDtTm>2024-09-06T10:00:00</CreDtTm>
    </GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>{original}</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
      <OrgnlNbOfTxs>{n}</OrgnlNbOfTxs>
      <OrgnlCtrlSum>{sum}</OrgnlCtrlSum>
      <GrpSts>{group_status}</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>{original}-1</OrgnlPmtInfId>
"#
    );
    for t in txs {
        xml.push_str(&format!(
            "      <TxInfAndSts>\n        <OrgnlEndToEndId>{}</OrgnlEndToEndId>\n        <TxSts>{}</TxSts>\n",
            t.id, t.status
        ));
        if let Some(reason) = t.reason {
            xml.push_str(&format!("        <StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>\n"));
        }
        if let Some(amount) = t.amount {
            xml.push_str(&format!(
                "        <OrgnlTxRef><Amt><InstdAmt Ccy=\"VND\">{amount}</InstdAmt></Amt></OrgnlTxRef>\n"
            ));
        }
        xml.push_str("      </TxInfAndSts>\n");
    }
    xml.push_str("    </OrgnlPmtInfAndSts>\n  </CstmrPmtStsRpt>\n</Document>\n");
    xml
}
