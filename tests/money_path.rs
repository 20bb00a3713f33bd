//! The money path under attack and accident, through the real binary on both
//! backends: a line that cannot be written strands no month, a payee changed
//! behind the log is not paid, a rejected payment can be paid again once, a
//! death reported after approval voids it, and `run show` tells the truth
//! after the bank has answered.

use std::process::Command;

use ansinh::payment::end_to_end_id;

use crate::support::files::hanoi_config;
use crate::support::pain002::{pain002, tx};
use crate::support::{Backend, Driver, fails, ok, outcome_count, run_measured, stdout};

pub(crate) const MONTH: &str = "2024-09";

/// A synthetic Hà Nội with the national rules released; its enrolment file.
pub(crate) fn province(t: &Driver) -> std::path::PathBuf {
    let (registry, enrolment) = t.population(21, 150, MONTH);
    t.import(&registry, &enrolment);
    t.release_national();
    enrolment
}

/// `run issue RUN` with the treasury of Hà Nội (an e-wallet account, the bank CSV), into the folder's outbox.
pub(crate) fn issue(t: &Driver, run: &str) -> Command {
    let config = hanoi_config(t.dir.path(), true, true);
    let mut cmd = t.cli();
    cmd.arg("--config").arg(config).args(["run", "issue", run, "--outbox"]).arg(t.path("outbox"));
    cmd
}

/// A new run for `period`, evaluated and approved; its id.
pub(crate) fn approved(t: &Driver, period: &str) -> String {
    let run = t.create_run(period);
    t.evaluate(&run);
    t.approve(&run);
    run
}

/// The beneficiaries run `run` decided payable by `channel`, in id order.
pub(crate) fn payable(t: &Driver, run: &str, channel: &str) -> Vec<i64> {
    t.numbers(format!(
        "SELECT beneficiary_id FROM decisions WHERE run_id = {run} AND outcome = 'payable' AND channel = '{channel}' \
         ORDER BY beneficiary_id"
    ))
}

/// How many payments, not rejected, person `beneficiary` has for `period`.
fn paid(t: &Driver, beneficiary: i64, period: &str) -> i64 {
    t.scalar(format!(
        "SELECT COUNT(*) FROM payments WHERE beneficiary_id = {beneficiary} AND period = '{period}' AND NOT rejected"
    ))
}

/// The EndToEndId of `beneficiary`'s payment in run `run`, and its amount.
pub(crate) fn payment_of(t: &Driver, run: &str, beneficiary: i64) -> (String, u64) {
    let id = t.scalar(format!("SELECT id FROM payments WHERE run_id = {run} AND beneficiary_id = {beneficiary}"));
    let amount = t.scalar(format!("SELECT amount FROM payments WHERE id = {id}"));
    let period = t.text(format!("SELECT period FROM payments WHERE id = {id}"));
    (end_to_end_id(period.parse().unwrap(), run.parse().unwrap(), id), amount as u64)
}

/// Answer run `run`'s bank file, for the month `period`, with a status report
/// that rejects the payments of `rejected` (beneficiary, reason code) and says
/// nothing of the others yet; what `run reconcile` printed.
pub(crate) fn bank_answers(t: &Driver, run: &str, period: &str, rejected: &[(i64, &str)]) -> String {
    let count = t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run} AND channel = 'bank'"));
    let sum = t.scalar(format!(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE run_id = {run} AND channel = 'bank'"
    ));
    let answers: Vec<_> = rejected
        .iter()
        .map(|(who, reason)| {
            let (e2e, amount) = payment_of(t, run, *who);
            tx(&e2e, "RJCT", Some(reason), Some(amount))
        })
        .collect();
    let original = format!("ANSINH-R{run}-{}", period.replace('-', ""));
    let xml = pain002("12", &original, count as u64, sum as u64, "PART", &answers);
    let path = t.path(format!("status-{run}-{}.xml", rejected.len()));
    std::fs::write(&path, xml).unwrap();
    stdout(&ok(t.cli().args(["run", "reconcile", run]).arg(&path)))
}

/// Item 1: a line its files cannot carry (an account of 40 digits; an e-wallet
/// number with a tab, which only a database edited behind the import holds)
/// stops `run issue` before it pays anything: the run stays approved, with no
/// payment and no file, and the message names the line and the field. Once
/// the enrolment is corrected, those people are held (their account changed
/// since evaluation), the others are paid, and a later run pays them.
fn a_line_that_cannot_be_written_pays_nothing(t: Driver) {
    let enrolment = province(&t);
    // Who the rules pay, by which channel: from a first run, then withdrawn.
    let probe = t.create_run(MONTH);
    t.evaluate(&probe);
    let (bank, wallet) = (payable(&t, &probe, "bank")[0], payable(&t, &probe, "ewallet")[0]);
    ok(t.cli().args(["run", "cancel", &probe, "--reason", "a probe"]));
    t.execute(format!("UPDATE beneficiaries SET account_number = '{}' WHERE id = {bank}", "1".repeat(40))).unwrap();
    let tab = match t.backend {
        crate::support::Backend::Sqlite => "char(9)",
        crate::support::Backend::Postgres => "chr(9)",
    };
    t.execute(format!("UPDATE beneficiaries SET account_number = '09' || {tab} || '12' WHERE id = {wallet}")).unwrap();

    let run = approved(&t, MONTH);
    let said = fails(&mut issue(&t, &run));
    assert!(said.contains(&format!("the payment of beneficiary #{bank} for {MONTH} cannot be written")), "{said}");
    assert!(said.contains("is 40 characters long; pain.001.001.09 allows at most 34"), "{said}");
    assert!(said.contains("Nothing was paid and the run stays approved"), "{said}");
    assert_eq!(t.text(format!("SELECT status FROM runs WHERE id = {run}")), "approved");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run}")), 0);
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM cash_payments WHERE run_id = {run}")), 0);
    let files = std::fs::read_dir(t.path("outbox")).map_or(0, |d| d.count());
    assert_eq!(files, 0, "a run not issued wrote files");

    // The officer corrects the enrolment: both are held, their approval is void.
    ok(t.cli().args(["beneficiaries", "import"]).arg(&enrolment));
    let show = stdout(&ok(t.cli().args(["run", "show", &run])));
    let said = fails(&mut issue(&t, &run));
    assert!(said.contains("The approval is void"), "{said}");
    let show_again = stdout(&ok(t.cli().args(["run", "show", &run])));
    for who in [bank, wallet] {
        assert!(
            show_again.contains(&format!("#{who:<8}")) && show_again.contains("account changed since evaluation"),
            "{show}\n{show_again}"
        );
    }
    t.approve(&run);
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM holds WHERE run_id = {run}")), 2);
    ok(&mut issue(&t, &run));
    assert_eq!((paid(&t, bank, MONTH), paid(&t, wallet, MONTH)), (0, 0));
    let others = t.scalar(format!("SELECT COUNT(*) FROM decisions WHERE run_id = {run} AND outcome = 'payable'"));
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run}")), others - 2);

    // A later run for the month pays the two, with their corrected accounts, and nobody else.
    let later = approved(&t, MONTH);
    ok(&mut issue(&t, &later));
    assert_eq!((paid(&t, bank, MONTH), paid(&t, wallet, MONTH)), (1, 1));
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {later}")), 2);
}

on_both_backends!(a_line_that_cannot_be_written_pays_nothing);

/// Item 2: a decision's payee changed in the database after evaluation is not
/// approved and not paid: approve and issue make each decision's digest again
/// from its fields and check the chain `run.evaluate` sealed, and name that
/// entry. Changed with its digest, the chain still says so. An account
/// changed by a new import is no tampering: that person is held, shown by
/// `run show`, and the others are paid.
fn a_payee_changed_behind_the_log_is_not_paid(t: Driver) {
    province(&t);
    let run = t.create_run(MONTH);
    t.evaluate(&run);
    let who = payable(&t, &run, "bank")[0];
    let evaluate_entry =
        t.scalar(format!("SELECT seq FROM audit_log WHERE action = 'run.evaluate' AND subject = 'run:{run}'"));
    let checksum = t.checksum_to_approve(&run);
    let redirect = format!(
        "UPDATE decisions SET account_number = '0011009999999' WHERE run_id = {run} AND beneficiary_id = {who}"
    );
    let original =
        t.text(format!("SELECT account_number FROM decisions WHERE run_id = {run} AND beneficiary_id = {who}"));
    let restore =
        format!("UPDATE decisions SET account_number = '{original}' WHERE run_id = {run} AND beneficiary_id = {who}");

    // Before approval: refused, and `run show` offers nothing to approve.
    t.execute(&redirect).unwrap();
    let approve = |checksum: &str| {
        let mut cmd = t.as_("test-supervisor");
        cmd.args(["run", "approve", &run, "--checksum", checksum]);
        cmd
    };
    let said = fails(&mut approve(&checksum));
    assert!(said.contains(&format!("audit entry {evaluate_entry} (run.evaluate")), "{said}");
    assert!(
        said.contains(&format!("the decision of beneficiary #{who} for {MONTH}")) && said.contains("tampering"),
        "{said}"
    );
    let show = stdout(&ok(t.cli().args(["run", "show", &run])));
    assert!(show.contains("NOT TO BE APPROVED") && !show.contains("--checksum"), "{show}");

    // After approval: issue refuses, nothing is paid.
    t.execute(&restore).unwrap();
    ok(&mut approve(&checksum));
    t.execute(&redirect).unwrap();
    let said = fails(&mut issue(&t, &run));
    assert!(said.contains("tampering") && said.contains(&format!("audit entry {evaluate_entry}")), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run}")), 0);
    assert_eq!(t.text(format!("SELECT status FROM runs WHERE id = {run}")), "approved");

    // Changed together with its digest: the chain of the run's decisions no longer holds.
    t.execute(format!(
        "UPDATE decisions SET digest = {} WHERE run_id = {run} AND beneficiary_id = {who}",
        t.backend.unhex(&"0".repeat(64))
    ))
    .unwrap();
    let said = fails(&mut issue(&t, &run));
    assert!(said.contains("is not the one stored with it") || said.contains("decisions chain to"), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run}")), 0);

    // An account changed by a new import is not tampering: the person is held.
    t.execute(&restore).unwrap();
    let sealed = t.text(format!("SELECT digest FROM decision_rows WHERE run_id = {} AND beneficiary_id = {who}", run));
    assert_eq!(sealed.len(), 64);
    let redigested = t.sql({
        let run: i64 = run.parse().unwrap();
        move |db| {
            Box::pin(async move {
                let page = ansinh::store::decisions::Reader::default()
                    .page(&db, run, &(String::new(), 0), 100_000)
                    .await
                    .unwrap();
                page.into_iter().find(|d| d.beneficiary_id == who).unwrap().remade_digest(&mut Default::default())
            })
        }
    });
    let redigested = t.backend.unhex(&redigested);
    t.execute(format!("UPDATE decisions SET digest = {redigested} WHERE run_id = {run} AND beneficiary_id = {who}"))
        .unwrap();
    t.execute(format!("UPDATE beneficiaries SET account_number = '0011002222222' WHERE id = {who}")).unwrap();
    let said = fails(&mut issue(&t, &run));
    assert!(said.contains("The approval is void"), "{said}");
    let show = stdout(&ok(t.cli().args(["run", "show", &run])));
    assert!(show.contains(&format!("#{who:<8}")) && show.contains("account changed since evaluation"), "{show}");
    let bin = t.text(format!("SELECT bank_bin FROM beneficiaries WHERE id = {who}"));
    assert!(show.contains(&format!("bank {bin} **********222")), "the new account is shown masked: {show}");
    t.approve(&run);
    let hold = t.text(format!("SELECT details FROM audit_log WHERE action = 'run.hold' AND subject = 'run:{run}'"));
    assert!(hold.contains(&format!("\"beneficiary_id\":{who}")) && hold.contains("account_changed"), "{hold}");
    ok(&mut issue(&t, &run));
    assert_eq!(paid(&t, who, MONTH), 0);
    assert!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run}")) > 0);
}

on_both_backends!(a_payee_changed_behind_the_log_is_not_paid);

/// Item 3: after a bank rejects a transfer (AC04) and the account is
/// corrected, the person is payable again for that month, once: by a second
/// run, in the approval's tally, in back pay, and in cash. The database refuses
/// two payments not rejected for one person, programme and month.
fn a_rejected_payment_can_be_paid_again_once(t: Driver) {
    province(&t);
    let first = approved(&t, MONTH);
    ok(&mut issue(&t, &first));
    let bank = payable(&t, &first, "bank");
    let (closed, wrong, to_cash) = (bank[0], bank[1], bank[2]);
    let out = bank_answers(&t, &first, MONTH, &[(closed, "AC04"), (wrong, "AC01"), (to_cash, "AC04")]);
    assert!(out.contains("3 rejected"), "{out}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {first} AND rejected")), 3);
    for who in [closed, wrong, to_cash] {
        assert_eq!(paid(&t, who, MONTH), 0, "a rejected payment is not a payment");
    }

    // The database: a second payment not rejected for someone paid is refused;
    // for someone whose payment was rejected, it is not.
    let copy = |who: i64| {
        format!(
            "INSERT INTO payments (run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, \
             account_number, account_name) SELECT run_id, beneficiary_id, program, period, id_number, amount, channel, \
             bank_bin, account_number, account_name FROM payments WHERE run_id = {first} AND beneficiary_id = {who}"
        )
    };
    let settled = bank[3];
    let refused = t.execute(copy(settled)).expect_err("a second payment");
    assert!(refused.to_lowercase().contains("unique"), "{refused}");

    // The accounts corrected; one of them now has none and is paid in cash.
    t.execute(format!("UPDATE beneficiaries SET account_number = '0011003333333' WHERE id = {closed}")).unwrap();
    t.execute(format!(
        "UPDATE beneficiaries SET channel = 'none', bank_bin = '', account_number = '', account_name = '' \
         WHERE id = {to_cash}"
    ))
    .unwrap();
    let second = t.create_run(MONTH);
    t.evaluate(&second);
    let show = stdout(&ok(t.cli().args(["run", "show", &second])));
    assert!(show.contains("To pay: 2 transfers"), "the tally counts the two not paid: {show}");
    t.approve(&second);
    ok(&mut issue(&t, &second));
    assert_eq!((paid(&t, closed, MONTH), paid(&t, wrong, MONTH)), (1, 1));
    assert_eq!(
        t.scalar(format!("SELECT COUNT(*) FROM cash_payments WHERE run_id = {second} AND beneficiary_id = {to_cash}")),
        1
    );
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {second}")), 2);
    // Once: a third run pays nobody.
    let third = approved(&t, MONTH);
    ok(&mut issue(&t, &third));
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {third}")), 0);

    // Back pay: a rejection left unpaid is arrears of the month.
    let unpaid = bank[4];
    bank_answers(&t, &first, MONTH, &[(unpaid, "AC04")]);
    let back_pay = stdout(&ok(t.cli().args([
        "run",
        "create",
        "--program",
        "social-assistance",
        "--province",
        "001",
        "--period",
        "2024-10",
        "--back-pay-from",
        MONTH,
    ])))
    .trim()
    .to_owned();
    t.evaluate(&back_pay);
    let arrears = |who: i64| {
        t.scalar(format!(
            "SELECT COUNT(*) FROM decisions WHERE run_id = {back_pay} AND period = '{MONTH}' AND beneficiary_id = {who}"
        ))
    };
    assert_eq!(arrears(unpaid), 1, "the person whose payment was rejected is decided in arrears");
    assert_eq!((arrears(closed), arrears(settled)), (0, 0), "people paid that month are not");
    t.approve(&back_pay);
    ok(&mut issue(&t, &back_pay));
    assert_eq!(paid(&t, unpaid, MONTH), 1);
}

on_both_backends!(a_rejected_payment_can_be_paid_again_once);

/// Item 4: a bank's MD07 (deceased) for a person an approved run would pay
/// voids that approval: the run goes back to evaluated, with its entry, and
/// the next approval holds the person, who is not paid.
fn a_death_reported_after_approval_voids_it(t: Driver) {
    province(&t);
    let september = approved(&t, MONTH);
    ok(&mut issue(&t, &september));
    let october = approved(&t, "2024-10");
    let deceased = payable(&t, &september, "bank")
        .into_iter()
        .find(|who| payable(&t, &october, "bank").contains(who))
        .expect("someone paid both months");
    bank_answers(&t, &september, MONTH, &[(deceased, "MD07")]);

    assert_eq!(t.text(format!("SELECT status FROM runs WHERE id = {october}")), "evaluated");
    let void = t.text(format!(
        "SELECT details FROM audit_log WHERE action = 'run.approval_void' AND subject = 'run:{october}'"
    ));
    assert!(void.contains("MD07") && void.contains(&deceased.to_string()), "{void}");
    let show = stdout(&ok(t.cli().args(["run", "show", &october])));
    assert!(show.contains(&format!("#{deceased:<8}")) && show.contains("reported deceased by a bank (MD07)"), "{show}");
    assert!(show.contains("An earlier approval was void"), "{show}");
    t.approve(&october);
    ok(&mut issue(&t, &october));
    assert_eq!(paid(&t, deceased, "2024-10"), 0);
    assert_eq!(
        t.scalar(format!("SELECT COUNT(*) FROM holds WHERE run_id = {october} AND reason = 'death_reported'")),
        1
    );
}

on_both_backends!(a_death_reported_after_approval_voids_it);

/// Item 12: after the bank answers, `run show` lists the people it rejected
/// with their account and reason; a run that paid nobody does not call its
/// people paid; the approval hint names each maker once.
fn run_show_tells_the_truth_after_the_bank_answers(t: Driver) {
    province(&t);
    let run = t.create_run(MONTH);
    t.evaluate(&run);
    let show = stdout(&ok(t.cli().args(["run", "show", &run])));
    assert!(show.contains("Approve it, as someone other than test-officer: "), "{show}");
    t.approve(&run);
    ok(&mut issue(&t, &run));

    // Everyone already paid: a second run pays nobody, and says so.
    let again = approved(&t, MONTH);
    let issued = stdout(&ok(&mut issue(&t, &again)));
    assert_eq!(outcome_count(&issued, "paid"), 0, "{issued}");
    assert!(outcome_count(&issued, "payable, not paid") > 0, "{issued}");
    assert!(!issued.contains("(paid, held or cash)"), "{issued}");

    let rejected = payable(&t, &run, "bank")[0];
    let account = t.text(format!("SELECT account_number FROM payments WHERE beneficiary_id = {rejected}"));
    bank_answers(&t, &run, MONTH, &[(rejected, "AC04")]);
    let show = stdout(&ok(t.cli().args(["run", "show", &run])));
    assert!(show.contains("Rejected by the bank"), "{show}");
    let line = show.lines().find(|l| l.contains(&format!("#{rejected:<8}"))).unwrap_or_else(|| panic!("{show}"));
    assert!(line.contains("AC04 closed account") && line.contains(&account[account.len() - 3..]), "{line}");
    assert!(!line.contains(&account), "the account is masked: {line}");
}

on_both_backends!(run_show_tells_the_truth_after_the_bank_answers);

/// Item 10: a status report of a gigabyte is read as a stream: what is kept of
/// it grows with the run's payments, not with the file, so `run reconcile`'s
/// peak memory stays far below the file's size, and what the report says of the
/// run's payments is applied.
fn a_gigabyte_status_report_is_streamed(t: Driver) {
    use std::io::Write;
    province(&t);
    let run = approved(&t, MONTH);
    ok(&mut issue(&t, &run));
    let rejected = payable(&t, &run, "bank")[0];
    let (e2e, amount) = payment_of(&t, &run, rejected);
    let count = t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run} AND channel = 'bank'"));
    let sum =
        t.scalar(format!("SELECT CAST(SUM(amount) AS BIGINT) FROM payments WHERE run_id = {run} AND channel = 'bank'"));
    // The run's rejection, then transactions of payments it never made (another run's), to a gigabyte.
    let head = pain002(
        "12",
        &format!("ANSINH-R{run}-202409"),
        count as u64,
        sum as u64,
        "PART",
        &[tx(&e2e, "RJCT", Some("AC04"), Some(amount))],
    );
    let (open, close) = head.split_at(head.rfind("    </OrgnlPmtInfAndSts>").unwrap());
    let path = t.path("big-status.xml");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    out.write_all(open.as_bytes()).unwrap();
    let mut written = open.len() as u64;
    let mut i = 0u64;
    while written < 1 << 30 {
        let listing = format!(
            "      <TxInfAndSts>\n        <OrgnlEndToEndId>AS202409R99P{i}</OrgnlEndToEndId>\n        <TxSts>ACSC</TxSts>\n      </TxInfAndSts>\n"
        );
        out.write_all(listing.as_bytes()).unwrap();
        written += listing.len() as u64;
        i += 1;
    }
    out.write_all(close.as_bytes()).unwrap();
    out.flush().unwrap();
    drop(out);

    let (code, said, peak_kib) = run_measured(t.cli().args(["run", "reconcile", &run]).arg(&path));
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 1, "a report with problems exits 1 after applying what is unambiguous:\n{said}");
    assert!(said.contains("1 rejected"), "{said}");
    assert!(said.contains(&format!("more transactions that name no payment of run {run}")), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {run} AND rejected")), 1);
    eprintln!("{:?}: a {} MiB report ({i} listings): peak RSS {} MiB", t.backend, written >> 20, peak_kib / 1024);
    assert!(peak_kib < 150 * 1024, "run reconcile held {peak_kib} KiB for a {written}-byte report");
}

// The bound is the reader's, which is the same over either database: a
// gigabyte is written and read on SQLite only, to keep CI's time for the rest.
mod a_gigabyte_status_report_is_streamed {
    #[test]
    fn sqlite() {
        super::a_gigabyte_status_report_is_streamed(crate::support::Driver::new(crate::support::Backend::Sqlite));
    }
}

/// Whether a person is held for a reported death (MD07; Decree 20/2021/NĐ-CP
/// Art. 8(3): assistance stops from the month after death) is asked person
/// by person only when a flag stands: whether any does is asked once a
/// statement, in what a run owes (read by approval, issue and verify at a
/// million decisions each) and in whom evaluation reads next.
fn whether_any_flag_stands_is_asked_once_a_statement(t: Driver) {
    province(&t);
    let run = t.create_run(MONTH);
    t.evaluate(&run);
    let owed = t.plan(ansinh::store::decisions::PAGE_OWED, &[&run, "''", "0", "2000"]);
    let pending = t.plan(
        ansinh::store::beneficiaries::PENDING,
        &["'social-assistance'", "'001'", &run, &format!("'{MONTH}'"), "FALSE", &i64::MAX.to_string(), "0", "500"],
    );
    // The statement's own subquery (SQLite) or InitPlan (PostgreSQL), over registry_flags.
    let once = match t.backend {
        Backend::Sqlite => "SCALAR SUBQUERY",
        Backend::Postgres => "InitPlan",
    };
    for plan in [owed, pending] {
        let lines: Vec<&str> = plan.lines().collect();
        let guarded = lines.iter().enumerate().any(|(i, line)| {
            line.trim_start().starts_with(once)
                && !line.contains("CORRELATED")
                && lines[i + 1..].iter().take(2).any(|next| next.contains("registry_flags"))
        });
        assert!(guarded, "no flag asked once a statement:\n{plan}");
    }
}

on_both_backends!(whether_any_flag_stands_is_asked_once_a_statement);
