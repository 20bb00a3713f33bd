//! Exactly once, through crashes: the real `ansinh run issue` killed with
//! SIGKILL after increasing delays, on both backends. After every kill each
//! payment file in the outbox is absent or complete (the same bytes as an
//! uninterrupted issue writes, which the official XSD accepts), the run is
//! issued in whole, or not at all, or still issuing with part of its payments
//! inserted and no file in the outbox, and nobody is paid twice; a re-run
//! completes the issue and the files, and issuing once more changes no byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, Driver, ok, stdout};

/// A few thousand payments: issuing takes long enough to be killed at many points.
const PEOPLE: u64 = 4000;
const PERIOD: &str = "2024-09";

/// The synthetic province imported, and run 1 evaluated and approved.
fn approved_run(t: &Driver) {
    let run = t.evaluated_run(11, PEOPLE, PERIOD);
    t.approve(&run);
}

/// `run issue 1` into the test's outbox, as often as called; and the outbox.
fn issuing(t: &Driver) -> (impl Fn() -> Command + '_, PathBuf) {
    let config = support::files::hanoi_config(t.dir.path(), true, true);
    let outbox: PathBuf = t.path("outbox");
    let to = outbox.clone();
    let issue = move || {
        let mut cmd = t.cli();
        cmd.arg("--config").arg(&config).args(["run", "issue", "1", "--outbox"]).arg(&to);
        cmd
    };
    (issue, outbox)
}

/// The visible files of the outbox and their bytes, and the names of hidden
/// (temporary) ones.
fn outbox_contents(outbox: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let (mut visible, mut hidden) = (BTreeMap::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir(outbox) else { return (visible, hidden) };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            assert!(name.ends_with(".partial"), "unexpected hidden file {name}");
            hidden.push(name);
        } else {
            visible.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    (visible, hidden)
}

/// Remove the visible files, as if never written; temporary ones stay, as a
/// crash left them.
fn remove_visible(outbox: &Path) {
    for name in outbox_contents(outbox).0.keys() {
        std::fs::remove_file(outbox.join(name)).unwrap();
    }
}

/// The run is issued in whole, or not at all, or issuing with part of its
/// payments and nothing sent; with each person paid once. Whether it is issued.
fn all_or_nothing(t: &Driver, outbox: &Path, transfers: i64, cash: i64) -> bool {
    let status = t.text("SELECT status FROM runs WHERE id = 1");
    let paid = t.scalar("SELECT COUNT(*) FROM payments");
    let listed = t.scalar("SELECT COUNT(*) FROM cash_payments");
    let people = t.scalar(
        "SELECT COUNT(*) FROM (SELECT DISTINCT program, period, id_number FROM payments \
         UNION SELECT DISTINCT program, period, id_number FROM cash_payments) AS paid",
    );
    assert_eq!(people, paid + listed, "someone is paid twice");
    match status.as_str() {
        "approved" => {
            assert_eq!((paid, listed), (0, 0), "a run not issued has payments");
            false
        }
        "issuing" => {
            assert!(paid <= transfers && listed <= cash, "an issuing run pays more than was approved");
            let (visible, _) = outbox_contents(outbox);
            assert!(visible.is_empty(), "files of a run still issuing: {:?}", visible.keys());
            false
        }
        "issued" => {
            assert_eq!((paid, listed), (transfers, cash), "an issued run lacks part of what was approved");
            true
        }
        other => panic!("run 1 is {other}"),
    }
}

/// Start `run issue`, kill it with SIGKILL after `delay` unless it ended
/// first; whether it ended on its own.
fn kill_after(issue: &mut Command, delay: Duration) -> bool {
    let mut child = issue.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(delay);
    if let Some(status) = child.try_wait().unwrap() {
        assert!(status.success(), "run issue failed on its own: {status}");
        return true;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    false
}

fn killed_issue_is_all_or_nothing(t: Driver) {
    approved_run(&t);
    let approval = t.text("SELECT approval FROM runs WHERE id = 1");
    let approved = |key: &str| -> i64 {
        let tail = approval.split(&format!("\"{key}\":")).nth(1).unwrap_or_else(|| panic!("{key} in {approval}"));
        tail.split([',', '}']).next().unwrap().parse().unwrap()
    };
    let (transfers, cash) = (approved("transfers"), approved("cash"));
    assert!(transfers > 2000 && cash > 0, "{approval}");

    let (issue, outbox) = issuing(&t);

    // The first issue, killed after 0, 20, 40 ... ms until it ends on its
    // own: before, during and after the database commit, and in its files.
    let mut seen: Vec<BTreeMap<String, Vec<u8>>> = Vec::new();
    let mut delay = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut issuing = 0;
    while !kill_after(&mut issue(), delay) {
        assert!(Instant::now() < deadline, "run issue never finished between kills");
        all_or_nothing(&t, &outbox, transfers, cash);
        if t.text("SELECT status FROM runs WHERE id = 1") == "issuing" {
            issuing += 1;
        }
        seen.push(outbox_contents(&outbox).0);
        delay += Duration::from_millis(20);
    }
    assert!(all_or_nothing(&t, &outbox, transfers, cash));
    let kills = seen.len();
    assert!(kills >= 3, "run issue finished after {kills} kills: too fast to test");
    assert!(issuing > 0, "no kill left the run issuing, its payments in part: the parts were not tested");

    // The files of an uninterrupted issue: what every file must be, whole.
    remove_visible(&outbox);
    let started = Instant::now();
    ok(&mut issue());
    let took = started.elapsed();
    let counted = support::files::check_run_files(&t, &outbox, "1", PERIOD, true);
    assert_eq!((counted.bank.count + counted.ewallet.count, counted.cash.count), (transfers, cash));
    let (reference, _) = outbox_contents(&outbox);
    assert_eq!(reference.len(), 4, "{:?}", reference.keys());

    // Writing the files, killed at points spread over an uninterrupted issue
    // (files removed each time, temporary files left as the kills left them).
    let mut incomplete = 0;
    for k in 1..=12u32 {
        remove_visible(&outbox);
        kill_after(&mut issue(), took * k / 13);
        assert!(all_or_nothing(&t, &outbox, transfers, cash));
        let (visible, _) = outbox_contents(&outbox);
        if visible.len() < reference.len() {
            incomplete += 1;
        }
        seen.push(visible);
    }
    assert!(incomplete > 0, "no kill landed while the files were being written");
    eprintln!(
        "{:?}: {kills} kills in the first issue ({issuing} left it issuing), an uninterrupted one takes {took:?}, \
         {incomplete} of 12 kills while writing left files to complete",
        t.backend
    );

    // After every kill, each file was absent or whole: byte for byte the file
    // of the uninterrupted issue, never a part of it.
    for (i, files) in seen.iter().enumerate() {
        for (name, bytes) in files {
            let whole = reference.get(name).unwrap_or_else(|| panic!("after kill {i}: unexpected file {name}"));
            assert!(bytes == whole, "after kill {i}: {name} is not the whole file ({} bytes)", bytes.len());
        }
    }

    // A re-run completes the files; issuing again changes nothing.
    let completed = stdout(&ok(&mut issue()));
    let (visible, hidden) = outbox_contents(&outbox);
    assert!(visible == reference, "the re-run wrote other files:\n{completed}");
    assert!(hidden.is_empty(), "temporary files left after a complete issue: {hidden:?}");
    let again = stdout(&ok(&mut issue()));
    assert_eq!(again.matches("(Unchanged)").count(), 4, "{again}");
    assert!(outbox_contents(&outbox).0 == reference);
    assert!(all_or_nothing(&t, &outbox, transfers, cash));
}

on_both_backends!(killed_issue_is_all_or_nothing);

/// A payment changed in the database while its run is being issued (`run
/// issue` killed once its first part is in, a payee's account rewritten) is
/// found by the check that ends every issue: nothing is sent, the payments
/// are taken out and the run is back to approved, saying it is tampering.
/// Issued again, untouched, it pays what was approved.
fn a_payment_changed_while_issuing_is_refused_and_taken_out(t: Driver) {
    approved_run(&t);
    let (issue, outbox) = issuing(&t);
    let mut child = issue().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let began = Instant::now();
    while t.scalar("SELECT COUNT(*) FROM payments") == 0 {
        assert!(child.try_wait().unwrap().is_none(), "run issue ended before its first part was seen");
        assert!(began.elapsed() < Duration::from_secs(120), "no payment inserted in two minutes");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(t.text("SELECT status FROM runs WHERE id = 1"), "issuing");

    t.execute("UPDATE payments SET account_number = '0011009999999' WHERE id = (SELECT MIN(id) FROM payments)")
        .unwrap();
    let said = support::fails(&mut issue());
    assert!(
        said.contains("its payments were changed while it was being issued")
            && said.contains("tampering")
            && said.contains("back to approved"),
        "{said}"
    );
    assert_eq!(t.text("SELECT status FROM runs WHERE id = 1"), "approved");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM payments") + t.scalar("SELECT COUNT(*) FROM cash_payments"), 0);
    assert!(outbox_contents(&outbox).0.is_empty(), "files of a run whose issue was undone");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'run.issue'"), 0);

    ok(&mut issue());
    let approval = t.text("SELECT approval FROM runs WHERE id = 1");
    let counted = support::files::check_run_files(&t, &outbox, "1", PERIOD, true);
    let transfers = counted.bank.count + counted.ewallet.count;
    assert!(approval.contains(&format!("\"transfers\":{transfers},")), "{transfers} paid; approved {approval}");
    assert!(
        !String::from_utf8_lossy(&outbox_contents(&outbox).0.into_values().flatten().collect::<Vec<u8>>())
            .contains("0011009999999")
    );
}

on_both_backends!(a_payment_changed_while_issuing_is_refused_and_taken_out);
