//! The payment run's life through the real binary, on both backends: four-eyes
//! approval of a checksum, an approval made void by a change, cancellation, and
//! back pay of months a person was not paid.

use std::process::Command;

use crate::support::{self, Driver, fails, ok, stdout};

/// The demo's province, on a test's database and folder.
struct Province<'a> {
    t: &'a Driver,
}

impl Province<'_> {
    /// Create and evaluate a run as `who`; its id.
    fn evaluated(&self, who: &str, period: &str, extra: &[&str]) -> String {
        let created = ok(self
            .t
            .as_(who)
            .args(["run", "create", "--program", "social-assistance", "--province", "001"])
            .args(["--period", period])
            .args(extra));
        let id = stdout(&created).trim().to_owned();
        ok(self.t.as_(who).args(["run", "evaluate", &id]));
        id
    }

    fn issue(&self, id: &str) -> Command {
        let mut cmd = self.t.as_("an-officer");
        let config = support::files::hanoi_config(self.t.dir.path(), true, true);
        cmd.arg("--config").arg(config).args(["run", "issue", id, "--outbox"]).arg(self.t.path("outbox"));
        cmd
    }

    fn status(&self, id: &str) -> String {
        self.t.text(format!("SELECT status FROM runs WHERE id = {id}"))
    }
}

fn four_eyes_and_a_void_approval(t: Driver) {
    t.demo(300);
    let p = Province { t: &t };
    let run = p.evaluated("lan", "2024-10", &[]);

    // Not approved: not issued.
    let said = fails(&mut p.issue(&run));
    assert!(said.contains("is evaluated, not approved"), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run}")), 0);

    // The person who made the run cannot approve it.
    let checksum = t.checksum_to_approve(&run);
    let said = fails(t.as_("lan").args(["run", "approve", &run, "--checksum", &checksum]));
    assert!(said.contains("lan created it and cannot also approve it"), "{said}");
    // A checksum other than the run's approves nothing.
    let flipped = if checksum.starts_with('0') { '1' } else { '0' };
    let wrong = format!("{flipped}{}", &checksum[1..]);
    let said = fails(t.as_("minh").args(["run", "approve", &run, "--checksum", &wrong]));
    assert!(said.contains("is not the run's"), "{said}");
    assert_eq!(p.status(&run), "evaluated");

    // A second person approves what they saw: counts, totals and the checksum are recorded.
    let approved = stdout(&ok(t.as_("minh").args(["run", "approve", &run, "--checksum", &checksum])));
    assert!(approved.contains("Approved run"), "{approved}");
    assert_eq!(p.status(&run), "approved");
    let transfers = t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run} AND outcome = 'payable'"));
    assert!(transfers > 0);
    let approval = t.text(format!("SELECT approval FROM runs WHERE id = {run}"));
    assert!(approval.contains(&format!("\"transfers\":{transfers},")), "{approval}");
    assert!(approval.contains(&checksum), "{approval}");

    // An enrolment whose account changed after approval does not redirect the
    // money, nor is the old account paid from the old decision (issue 12,
    // item 2): the person is held, so what was approved has changed and the
    // approval is void; nothing is paid. (Editing the sealed decision itself is
    // tampering: tests/money_path.rs.)
    let first_payable =
        format!("(SELECT MIN(beneficiary_id) FROM decisions WHERE run_id = {run} AND outcome = 'payable')");
    let old_account = t.text(format!(
        "SELECT account_number FROM decisions WHERE run_id = {run} AND beneficiary_id = {first_payable}"
    ));
    let changed = t
        .execute(format!("UPDATE beneficiaries SET account_number = '8888888888' WHERE id = {first_payable}"))
        .unwrap();
    assert_eq!(changed, 1);
    let said = fails(&mut p.issue(&run));
    assert!(said.contains("what was approved has changed"), "{said}");
    assert_eq!(p.status(&run), "evaluated");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run}")), 0);
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM runs WHERE id = {run} AND approved_by IS NULL")), 1);
    let shown = stdout(&ok(t.as_("x").args(["run", "show", &run])));
    assert!(shown.contains("An earlier approval was void"), "{shown}");
    assert!(shown.contains("account changed since evaluation"), "{shown}");

    // Approved again, on the new checksum: issued, everyone but the held person paid.
    let new_checksum = t.checksum_to_approve(&run);
    assert_ne!(new_checksum, checksum);
    t.approve(&run);
    let issued = stdout(&ok(&mut p.issue(&run)));
    let transfers = transfers - 1;
    assert!(issued.contains(&format!("Issued {transfers} payments")), "{issued}");
    // The files hold what was approved: the transfers, and exactly the cash lines.
    let counted = support::files::check_run_files(&t, &t.path("outbox"), &run, "2024-10", true);
    assert_eq!(counted.bank.count + counted.ewallet.count, transfers);
    let approval = t.text(format!("SELECT approval FROM runs WHERE id = {run}"));
    let cash = format!("\"cash\":{},\"cash_total\":{},", counted.cash.count, counted.cash.amount);
    assert!(counted.cash.count > 0 && approval.contains(&cash), "{cash} not in {approval}");
    assert_eq!(p.status(&run), "issued");
    assert_eq!(
        t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run} AND beneficiary_id = {first_payable}")),
        0
    );
    assert_eq!(
        t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run} AND account_number = '{old_account}'")),
        0
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM payments WHERE account_number = '8888888888'"), 0);
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM holds WHERE run_id = {run} AND reason = 'account_changed'")), 1);

    // Issued: it cannot be cancelled.
    let said = fails(t.as_("lan").args(["run", "cancel", &run, "--reason", "too late"]));
    assert!(said.contains("cannot be cancelled"), "{said}");

    // Another run for the same month, cancelled before approval: never evaluated or issued again.
    let spare = p.evaluated("lan", "2024-11", &[]);
    let shown = stdout(&ok(t.as_("lan").args(["run", "cancel", &spare, "--reason", "made by mistake"])));
    assert!(shown.contains("cancelled by lan") && shown.contains("Cancelled: made by mistake"), "{shown}");
    assert_eq!(p.status(&spare), "cancelled");
    let said = fails(t.as_("minh").args(["run", "approve", &spare, "--checksum", &new_checksum]));
    assert!(said.contains("is cancelled"), "{said}");
    let said = fails(&mut p.issue(&spare));
    assert!(said.contains("was cancelled"), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {spare}")), 0);
}

on_both_backends!(four_eyes_and_a_void_approval);

/// A woman of 84 (born 1940) with no pension: eligible every month of 2024
/// (Decree 20/2021/NĐ-CP Art. 5(5)), enrolled late, in December.
const LATE_ID: &str = "001140999999";

fn back_pay_pays_each_missed_month_once(t: Driver) {
    t.demo(300);
    let p = Province { t: &t };
    // 2024-10 is paid to everyone enrolled then.
    let october = p.evaluated("lan", "2024-10", &[]);
    t.approve(&october);
    ok(&mut p.issue(&october));
    assert!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {october}")) > 0);

    // She is enrolled late: nothing was paid to her for 2024-09 or 2024-10.
    let registry = t.path("late-registry.csv");
    std::fs::write(
        &registry,
        format!(
            "id_number,full_name,birth_date,sex,residence_province,residence_commune,death_date\n\
             {LATE_ID},Trần Thị Muộn,1940-05-12,female,001,,\n"
        ),
    )
    .unwrap();
    let enrolment = t.path("late-enrolment.csv");
    std::fs::write(
        &enrolment,
        format!(
            "id_number,full_name,birth_date,program,province,household,disability,has_pension,difficult_commune,\
             statuses,dependent_children,channel,bank_bin,account_number,account_name\n\
             {LATE_ID},Trần Thị Muộn,1940-05-12,social-assistance,001,none,none,false,false,,0,bank,970436,\
             0011009999999,TRAN THI MUON\n"
        ),
    )
    .unwrap();
    ok(t.as_("lan").args(["registry", "import"]).arg(&registry));
    ok(t.as_("lan").args(["beneficiaries", "import"]).arg(&enrolment));

    // One run for 2024-11 with arrears from 2024-09.
    let run = p.evaluated("lan", "2024-11", &["--back-pay-from", "2024-09"]);
    let decided = |who: &str, months: &str| {
        t.scalar(format!(
            "SELECT COUNT(*) FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id \
                 WHERE d.run_id = {run} AND b.id_number {who} AND d.period {months}"
        ))
    };
    // She is decided for each month; for past months, nobody who was paid then.
    let her = format!("= '{LATE_ID}'");
    for month in ["2024-09", "2024-10", "2024-11"] {
        assert_eq!(decided(&her, &format!("= '{month}'")), 1, "{month}");
    }
    let others = format!("<> '{LATE_ID}'");
    assert_eq!(decided(&others, "= '2024-11'"), t.scalar("SELECT COUNT(*) FROM beneficiaries") - 1);
    let paid_then = t.scalar(format!(
        "SELECT COUNT(*) FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id JOIN payments p \
             ON p.program = b.program AND p.period = d.period AND p.id_number = b.id_number \
             WHERE d.run_id = {run} AND d.period < '2024-11'"
    ));
    assert_eq!(paid_then, 0, "arrears decide only the people not paid that month");
    let unpaid_october = t.scalar("SELECT COUNT(*) FROM beneficiaries")
        - 1
        - t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {october}"))
        - t.scalar(format!("SELECT COUNT(*) FROM cash_payments WHERE run_id = {october}"));
    assert_eq!(decided(&others, "= '2024-10'"), unpaid_october);
    let shown = stdout(&ok(t.as_("x").args(["run", "show", &run])));
    assert!(shown.contains("2024-11 with arrears from 2024-09"), "{shown}");
    // The change from October's run names her among those added.
    let since = shown.split(&format!("Since run {october} (the month before):")).nth(1).expect("a diff");
    let added = since.split("dropped:").next().unwrap();
    assert!(added.contains("Trần Thị Muộn: - →"), "{shown}");

    t.approve(&run);
    ok(&mut p.issue(&run));
    // Each month its own payment, and its own transaction in the file.
    let her = |period: &str| {
        t.scalar(format!("SELECT COUNT(*) FROM payments WHERE id_number = '{LATE_ID}' AND period = '{period}'"))
    };
    assert_eq!((her("2024-09"), her("2024-10"), her("2024-11")), (1, 1, 1));
    let outbox = t.path("outbox");
    support::files::check_run_files(&t, &outbox, &run, "2024-11", true);
    let files = support::files::run_files(&outbox, &run, "2024-11");
    let xml = std::fs::read_to_string(&files.bank).unwrap();
    for month in ["202409", "202410", "202411"] {
        assert!(xml.contains(&format!("<EndToEndId>AS{month}R{run}P")), "no transaction for {month}");
    }
    assert!(xml.contains("THANG 09/2024") && xml.contains("THANG 10/2024"), "remittance names the month paid");

    // Arrears again for the same months: she is paid, so she is not decided again.
    let again = p.evaluated("lan", "2024-11", &["--back-pay-from", "2024-09"]);
    let hers = t.scalar(format!(
        "SELECT COUNT(*) FROM decisions d JOIN beneficiaries b ON b.id = d.beneficiary_id \
             WHERE d.run_id = {again} AND b.id_number = '{LATE_ID}' AND d.period < '2024-11'"
    ));
    assert_eq!(hers, 0);
}

on_both_backends!(back_pay_pays_each_missed_month_once);

/// Issue 13: a second person refuses a run with a reason. Not its creator; an
/// evaluated run stays evaluated and an approved one goes back to evaluated,
/// its approval void and named as withdrawn; the refusal is on record (the
/// log, and `run show`); a reason holding an ID number is refused; the log
/// still verifies, and the run can be approved and issued afterwards.
fn a_second_person_refuses_a_run(t: Driver) {
    let run = t.evaluated_run(13, 40, "2024-09");
    let status = || t.text(format!("SELECT status FROM runs WHERE id = {run}"));
    let said = fails(t.cli().args(["run", "refuse", &run, "--reason", "too many held"]));
    assert!(said.contains("approving or refusing runs is for the approver role"), "{said}");

    let shown = stdout(&ok(t.as_("minh").args(["run", "refuse", &run, "--reason", "check #12's account holder"])));
    assert!(shown.contains("Refused by minh at ") && shown.contains(": check #12's account holder"), "{shown}");
    assert_eq!(status(), "evaluated");

    t.approve(&run);
    assert_eq!(status(), "approved");
    let said = fails(t.as_("minh").args(["run", "refuse", &run, "--reason", "the person 001087012345"]));
    assert!(said.contains("looks like an ID number"), "{said}");
    let shown = stdout(&ok(t.as_("minh").args(["run", "refuse", &run, "--reason", "wrong month for #7"])));
    assert!(shown.contains("An earlier approval was withdrawn: minh refused the run."), "{shown}");
    assert_eq!(status(), "evaluated");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM runs WHERE id = {run} AND approved_by IS NULL")), 1);
    let said = fails(t.cli().args(["run", "issue", &run, "--outbox"]).arg(t.path("outbox")));
    assert!(said.contains("is evaluated, not approved"), "{said}");
    let count = |action: &str| t.scalar(format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"));
    assert_eq!((count("run.refuse"), count("run.approval_void")), (2, 1));
    ok(t.cli().args(["audit", "verify"]));

    t.approve(&run);
    let config = support::files::hanoi_config(&t.path(""), false, false);
    ok(t.cli().arg("--config").arg(&config).args(["run", "issue", &run, "--outbox"]).arg(t.path("outbox")));
    assert_eq!(status(), "issued");
    let said = fails(t.as_("minh").args(["run", "refuse", &run, "--reason", "late"]));
    assert!(said.contains("only a run evaluated or approved, and not yet issued, is refused"), "{said}");
}

on_both_backends!(a_second_person_refuses_a_run);
