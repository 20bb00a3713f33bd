//! `run reconcile` through the real binary on both backends: the demo issues run 1, the test
//! answers its pain.001 with pain.002 status reports (each validated against the official XSD
//! first), and checks what the database holds and what is printed.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::support::pain002::{Tx, pain002, tx};
use crate::support::xsd::{PAIN002_001_03_XSD, PAIN002_001_12_XSD, validate_pain002};
use crate::support::{Driver, fails, first_element, ok, stdout};

/// Write a sample and validate it against the official schema of its version.
fn sample(dir: &Path, name: &str, xsd: &str, xml: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, xml).unwrap();
    validate_pain002(&path, xsd).unwrap_or_else(|e| panic!("{name} must be a valid pain.002: {e:#}"));
    path
}

/// The demo's bank pain.001: its MsgId and each transaction's EndToEndId and amount.
fn issued(outbox: &Path) -> (String, Vec<(String, u64)>) {
    let file = fs::read_dir(outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().ends_with("-bank.xml"))
        .expect("the demo wrote a bank pain.001");
    let xml = fs::read_to_string(file).unwrap();
    let txs = xml
        .split("<CdtTrfTxInf>")
        .skip(1)
        .map(|t| (first_element(t, "EndToEndId").to_owned(), first_element(t, "InstdAmt Ccy=\"VND\"").parse().unwrap()))
        .collect();
    (first_element(&xml, "MsgId").to_owned(), txs)
}

/// The payment id at the end of an EndToEndId (`AS202409R1P17` → 17).
fn payment_id(end_to_end_id: &str) -> i64 {
    end_to_end_id.rsplit_once('P').unwrap().1.parse().unwrap()
}

fn status_of(t: &Driver, end_to_end_id: &str) -> String {
    t.text(format!(
        "SELECT status || ' ' || bank_status || COALESCE(' ' || reason, '') FROM payment_statuses \
             WHERE payment_id = {}",
        payment_id(end_to_end_id)
    ))
}

fn reconcile_a_run_with_rejects(t: Driver) {
    t.demo(400);
    let (message_id, payments) = issued(&t.path("outbox"));
    assert_eq!(message_id, "ANSINH-R1-202409");
    let n = payments.len() as u64;
    assert!(n >= 8, "the demo pays {n} people: too few to test with");
    let sum: u64 = payments.iter().map(|p| p.1).sum();
    let [closed, deceased, pending, twice, ..] = [0, 1, 2, 3].map(|i| payments[i].0.clone());

    // 1. Every payment answered: two rejected, one pending, the rest settled. Nothing wrong.
    let first: Vec<Tx> = payments
        .iter()
        .map(|(id, amount)| match id {
            id if *id == closed => tx(id, "RJCT", Some("AC04"), Some(*amount)),
            id if *id == deceased => tx(id, "RJCT", Some("MD07"), Some(*amount)),
            id if *id == pending => tx(id, "PDNG", None, Some(*amount)),
            id => tx(id, "ACSC", None, Some(*amount)),
        })
        .collect();
    let xml = pain002("12", &message_id, n, sum, "PART", &first);
    let first_file = sample(t.dir.path(), "status-1.xml", PAIN002_001_12_XSD, &xml);
    // The validator can say no: TxSts before OrgnlEndToEndId breaks the schema's sequence.
    let swapped = t.path("swapped.xml");
    let out_of_order = xml.replacen(
        &format!("<OrgnlEndToEndId>{closed}</OrgnlEndToEndId>\n        <TxSts>RJCT</TxSts>"),
        &format!("<TxSts>RJCT</TxSts>\n        <OrgnlEndToEndId>{closed}</OrgnlEndToEndId>"),
        1,
    );
    assert_ne!(out_of_order, xml);
    fs::write(&swapped, out_of_order).unwrap();
    let err = validate_pain002(&swapped, PAIN002_001_12_XSD).expect_err("out of order must be invalid");
    assert!(format!("{err:#}").contains("is not valid against"), "{err:#}");
    let out = stdout(&ok(t.cli().args(["run", "reconcile", "1"]).arg(&first_file)));
    println!("{out}");
    let settled = n - 3;
    assert!(
        out.contains(&format!("Applied now: {settled} settled, 2 rejected, 1 accepted not yet settled; 0 already so")),
        "{out}"
    );
    assert!(out.contains("1 people flagged for the registry check (MD07, deceased)"), "{out}");
    assert!(!out.contains("problems"), "{out}");
    assert_eq!(status_of(&t, &closed), "rejected RJCT AC04");
    assert_eq!(status_of(&t, &deceased), "rejected RJCT MD07");
    assert_eq!(status_of(&t, &pending), "accepted PDNG");
    assert_eq!(status_of(&t, &twice), "settled ACSC");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM payment_statuses WHERE status = 'settled'"), settled as i64);
    assert_eq!(
        t.scalar(
            "SELECT COUNT(*) FROM registry_flags f JOIN payments p ON p.id = f.payment_id \
                         AND p.beneficiary_id = f.beneficiary_id WHERE f.reason = 'MD07'"
        ),
        1
    );
    assert_eq!(t.scalar("SELECT payment_id FROM registry_flags"), payment_id(&deceased));
    let sha = hex::encode(Sha256::digest(xml.as_bytes()));
    assert_eq!(
        t.text("SELECT sha256 || ' ' || reconciled_by || ' ' || original_message_id FROM reconciliations"),
        format!("{sha} test-officer {message_id}")
    );
    assert_eq!(t.text("SELECT status FROM runs WHERE id = 1"), "reconciled");

    // `run show` tells where the payments stand.
    let show = stdout(&ok(t.cli().args(["run", "show", "1"])));
    println!("{show}");
    assert!(show.contains("reconciled"), "{show}");
    let row = |label: &str| {
        show.lines()
            .find_map(|l| l.trim_start().strip_prefix(label)?.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| panic!("no `{label}` in:\n{show}"))
    };
    assert_eq!(row("settled "), ansinh::format::group(settled as i64));
    assert_eq!((row("accepted "), row("rejected AC04 "), row("rejected MD07 ")), ("1".into(), "1".into(), "1".into()));
    // The bank answered its own file; the e-wallet file waits for the wallet provider's answer.
    let ewallet = t.scalar("SELECT COUNT(*) FROM payments WHERE run_id = 1 AND channel = 'ewallet'");
    assert!(ewallet > 0);
    assert_eq!(row("no answer yet "), ansinh::format::group(ewallet));

    // 2. The same file again changes nothing.
    let before = t.scalar("SELECT COUNT(*) FROM reconciliations");
    let out = stdout(&ok(t.cli().args(["run", "reconcile", "1"]).arg(&first_file)));
    assert!(out.contains("This file was applied to run 1 before, by test-officer"), "{out}");
    assert!(
        out.contains(&format!("Applied now: 0 settled, 0 rejected, 0 accepted not yet settled; {n} already so")),
        "{out}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM reconciliations"), before);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM registry_flags"), 1);

    // 3. A later report, in pain.002.001.03, with every kind of problem beside one good news.
    let later = [
        tx(&pending, "ACSC", None, None),            // settles the pending one
        tx(&closed, "ACSC", None, None),             // contradicts: it was rejected
        tx("AS202409R1P999999", "ACSC", None, None), // no such payment
        tx("AS202409R2P1", "ACSC", None, None),      // another run's
        tx(&twice, "ACSC", None, None),              // listed twice
        tx(&twice, "ACSC", None, None),
    ];
    let xml = pain002("03", &message_id, n + 5, sum, "PART", &later);
    let later_file = sample(t.dir.path(), "status-2.xml", PAIN002_001_03_XSD, &xml);
    let out = fails(t.cli().args(["run", "reconcile", "1"]).arg(&later_file));
    println!("{out}");
    for expected in [
        format!("OrgnlNbOfTxs is {}, but run 1 issued {n} payments", n + 5),
        format!("{closed} was rejected (RJCT AC04) by an earlier report; this one says ACSC: not applied"),
        "no payment of run 1 has the EndToEndId AS202409R1P999999: not applied".to_owned(),
        "AS202409R2P1 is a payment of run 2, not of run 1: not applied".to_owned(),
        format!("{twice} is listed 2 times (lines "),
        "5 problems".to_owned(),
        "Applied now: 1 settled, 0 rejected, 0 accepted not yet settled; 1 already so".to_owned(),
    ] {
        assert!(out.contains(&expected), "no {expected:?} in:\n{out}");
    }
    assert_eq!(status_of(&t, &pending), "settled ACSC");
    assert_eq!(status_of(&t, &closed), "rejected RJCT AC04", "a contradiction is not applied");
    assert_eq!(t.scalar("SELECT MAX(problems) FROM reconciliations"), 5);

    // 4. A report on another run's message is refused whole.
    let xml =
        pain002("12", "ANSINH-R12-202409", 1, payments[4].1, "ACSC", &[tx(&payments[4].0, "RJCT", Some("AC01"), None)]);
    let other_file = sample(t.dir.path(), "status-3.xml", PAIN002_001_12_XSD, &xml);
    let out = fails(t.cli().args(["run", "reconcile", "1"]).arg(&other_file));
    assert!(out.contains("answers the message \"ANSINH-R12-202409\", which is not one of run 1's"), "{out}");
    assert!(out.contains("nothing applied"), "{out}");
    assert_eq!(status_of(&t, &payments[4].0), "settled ACSC");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM reconciliations"), 2);

    // 5. Wrong totals for a file of its own (a run's bank or e-wallet part has its own MsgId):
    // the listed amounts must add up to OrgnlCtrlSum.
    let part = format!("{message_id}-W");
    let listed = [tx(&payments[5].0, "ACSC", None, Some(payments[5].1))];
    let xml = pain002("12", &part, 1, payments[5].1 + 1, "ACSC", &listed);
    let part_file = sample(t.dir.path(), "status-4.xml", PAIN002_001_12_XSD, &xml);
    let out = fails(t.cli().args(["run", "reconcile", "1"]).arg(&part_file));
    assert!(out.contains("the 1 transactions listed add up to"), "{out}");

    // Who acts is an account, so its token must be given; an approver does not reconcile.
    let out = fails(t.cli().env_remove("ANSINH_TOKEN").args(["run", "reconcile", "1"]).arg(&first_file));
    assert!(out.contains("set ANSINH_TOKEN"), "{out}");
    let out = fails(t.as_("approver").args(["run", "reconcile", "1"]).arg(&first_file));
    assert!(out.contains("is for the officer role; approver holds approver"), "{out}");

    // A file that is not a pain.002 is refused with its name and line.
    let out = fails(
        t.cli()
            .args(["run", "reconcile", "1"])
            .arg(t.path("outbox").read_dir().unwrap().next().unwrap().unwrap().path()),
    );
    assert!(
        out.contains("reading the status report") && out.contains("line 2: the document element is <Document>"),
        "{out}"
    );

    // 6. The MD07 flag holds the person's next payment until an officer clears it.
    let flagged = t.scalar("SELECT beneficiary_id FROM registry_flags");
    let listed = stdout(&ok(t.cli().args(["registry", "flags"])));
    assert!(
        listed.contains(&format!("#{flagged} ")) && listed.contains("MD07") && listed.contains("1 open flags"),
        "{listed}"
    );
    let next_month = |period: &str| {
        let run = t.create_run(period);
        t.evaluate(&run);
        let decided = t.text(format!(
            "SELECT outcome || ' ' || COALESCE(exception, '-') FROM decisions WHERE run_id = {run} \
                 AND beneficiary_id = {flagged}"
        ));
        (run, decided)
    };
    let (october, decided) = next_month("2024-10");
    assert_eq!(decided, "held death_reported");
    let show = stdout(&ok(t.cli().args(["run", "show", &october])));
    assert!(show.contains("reported deceased by a bank, MD07 (held): 1"), "{show}");
    let out = fails(t.cli().args(["registry", "clear-flag", &flagged.to_string(), "--reason", " "]));
    assert!(out.contains("--reason"), "{out}");
    let out = stdout(&ok(t
        .cli()
        .args(["registry", "clear-flag", &flagged.to_string()])
        .args(["--reason", "registry extract of 2024-10-15: alive; the bank's MD07 was a mistake"])));
    assert!(out.contains("Cleared 1 flag(s)"), "{out}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM registry_flags WHERE cleared_by = 'test-officer'"), 1);
    let (_, decided) = next_month("2024-11");
    assert_eq!(decided, "payable -");
}

on_both_backends!(reconcile_a_run_with_rejects);

/// Item 10: a status report with a document type declaration (a DTD, entity
/// declarations) is refused where it stands, naming the file and the line,
/// before anything is applied: the billion-laughs file, whose entities would
/// expand to some 3 GB, with the memory of `ansinh` staying small; and a plain
/// report that only names an external DTD.
fn a_status_report_with_a_dtd_is_refused(t: Driver) {
    t.demo(200);
    let (message_id, payments) = issued(&t.path("outbox"));
    let n = payments.len() as u64;
    let sum: u64 = payments.iter().map(|p| p.1).sum();
    let settled: Vec<Tx> = payments.iter().map(|(id, amount)| tx(id, "ACSC", None, Some(*amount))).collect();
    let report = pain002("12", &message_id, n, sum, "ACSC", &settled);
    let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    assert!(report.starts_with(declaration));

    // The billion laughs: ten entities of ten times the one before, used for the MsgId.
    let mut laughs = String::from("<!DOCTYPE Document [\n  <!ENTITY lol \"lol\">\n");
    for level in 1..=9 {
        let before = if level == 1 { "lol".to_owned() } else { format!("lol{}", level - 1) };
        laughs.push_str(&format!("  <!ENTITY lol{level} \"{}\">\n", format!("&{before};").repeat(10)));
    }
    laughs.push_str("]>\n");
    let bomb = report.replacen(declaration, &format!("{declaration}{laughs}"), 1).replacen(
        &format!("<MsgId>BIDV-STS-{message_id}</MsgId>"),
        "<MsgId>&lol9;</MsgId>",
        1,
    );
    assert!(bomb.contains("&lol9;"));
    let bomb_file = t.path("billion-laughs.xml");
    fs::write(&bomb_file, &bomb).unwrap();
    // An otherwise valid report that settles every payment, naming an external DTD.
    let external =
        report.replacen(declaration, &format!("{declaration}<!DOCTYPE Document SYSTEM \"file:///etc/passwd\">\n"), 1);
    let external_file = t.path("external-dtd.xml");
    fs::write(&external_file, &external).unwrap();

    let nothing_applied = || {
        assert_eq!(t.scalar("SELECT COUNT(*) FROM payment_statuses"), 0, "a status was applied");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM reconciliations"), 0, "the report was recorded");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'run.reconcile'"), 0);
        assert_eq!(t.text("SELECT status FROM runs WHERE id = 1"), "issued");
    };
    for file in [&bomb_file, &external_file] {
        let mut cmd = t.cli();
        cmd.args(["run", "reconcile", "1"]).arg(file);
        let (code, said, peak) = crate::support::run_measured(&cmd);
        assert_ne!(code, 0, "{said}");
        assert!(
            said.contains(&format!("reading the status report {}: line 2: the report has a DOCTYPE", file.display())),
            "{said}"
        );
        assert!(said.contains("nothing was applied"), "{said}");
        nothing_applied();
        // The entities expanded would be 3,000,000,000 bytes; a host that never
        // expands them stays at its size for any command.
        println!("peak resident memory of `run reconcile` refusing {}: {peak} KiB", file.display());
        assert!(peak < 256 << 10, "peak resident memory {peak} KiB for a refused report of {} bytes", bomb.len());
    }
}

on_both_backends!(a_status_report_with_a_dtd_is_refused);
