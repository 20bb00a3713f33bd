//! What an import lets in, through the real binary and real databases, on both
//! backends: nothing a payment file cannot carry (the limits of the pain.001,
//! the bank CSV and the VNPost list, `model/payee.rs`), no control character
//! anywhere in a row, no field so large that reading it holds it, and a file
//! of rejects that a spreadsheet can open without running any of it.

use std::io::Write;
use std::path::Path;

use crate::support::{Driver, fails, ok, run_measured, stdout};

const REGISTRY_HEADER: &str = "id_number,full_name,birth_date,sex,residence_province,residence_commune,death_date\n";
const ENROLMENT_HEADER: &str = "id_number,full_name,birth_date,program,province,household,disability,has_pension,\
                                difficult_commune,statuses,dependent_children,channel,bank_bin,account_number,\
                                account_name\n";

/// A registry row of person `n` with these name and commune cells, as written
/// (quote them yourself where needed).
fn registry_row(n: u32, full_name: &str, commune: &str) -> String {
    format!("001040{n:06},{full_name},1940-05-12,male,001,{commune},\n")
}

/// An enrolment row of person `n` (severely disabled, so eligible) paid by
/// `channel` to `bin`/`account`/`holder`, as written.
fn enrolment_row(n: u32, channel: &str, bin: &str, account: &str, holder: &str) -> String {
    format!(
        "001040{n:06},Nguyễn Văn An,1940-05-12,social-assistance,001,none,severe,false,false,,0,{channel},{bin},\
         {account},{holder}\n"
    )
}

fn import(t: &Driver, what: &str, file: &Path) -> std::process::Command {
    let mut cmd = t.cli();
    cmd.args([what, "import"]).arg(file);
    cmd
}

/// `said` names `row` and `field`, and what was expected there says `expected`.
fn names(said: &str, row: u32, field: &str, expected: &str) {
    let line = said
        .lines()
        .find(|l| l.contains(&format!("row {row}, field `{field}`: expected")))
        .unwrap_or_else(|| panic!("nothing names row {row}, field `{field}`:\n{said}"));
    assert!(line.contains(expected), "row {row}, field `{field}` should say {expected:?}:\n{line}");
}

/// The reproduction, at the door: a 40-digit account (pain.001 allows
/// 34) and an e-wallet number with a tab are refused naming row and field, as
/// is every other thing one of the payment files could not carry. An e-wallet
/// number starting with `+` is a phone number: it goes only in the e-wallet
/// pain.001, never in a CSV, and is let in.
fn payee_limits_are_enforced_at_import(t: Driver) {
    let enrolment = t.path("enrolment.csv");
    let forty = "1".repeat(40);
    let rows = [
        enrolment_row(1, "bank", "970436", "0011001234567", "NGUYEN VAN AN"),
        enrolment_row(2, "bank", "970436", &forty, "NGUYEN VAN AN"),
        enrolment_row(3, "ewallet", "VIETTELMONEY", "\"0987\t654321\"", "Nguyễn Văn An"),
        enrolment_row(4, "ewallet", "VIETTELMONEY", "+84987654321", "Nguyễn Văn An"),
        enrolment_row(5, "bank", "970436", "0011001234568", "\"=HYPERLINK(\"\"http://x.example\"\",\"\"y\"\")\""),
        enrolment_row(6, "bank", "970436", "0011001234569", "ÐANG VAN HUNG"),
        enrolment_row(7, "bank", "970436", "0011001234570", &"A".repeat(141)),
        enrolment_row(8, "ewallet", &"V".repeat(36), "0987654322", "Nguyễn Văn An"),
        enrolment_row(9, "bank", "970436", "0011001234571", ""),
        enrolment_row(10, "bank", "970436", "0011001234572", "@SUM(A1:A9)"),
    ];
    std::fs::write(&enrolment, format!("{ENROLMENT_HEADER}{}", rows.concat())).unwrap();
    let said = fails(&mut import(&t, "beneficiaries", &enrolment));
    assert!(said.contains("enrolment.csv: 8 bad rows; nothing was imported"), "{said}");
    names(&said, 3, "account_number", "34");
    names(&said, 4, "account_number", "control character");
    names(&said, 6, "account_name", "formula");
    names(&said, 7, "account_name", "ASCII");
    names(&said, 8, "account_name", "140");
    names(&said, 9, "bank_bin", "35");
    names(&said, 10, "account_name", "empty");
    names(&said, 11, "account_name", "formula");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM beneficiaries"), 0);
    let said = stdout(&ok(import(&t, "beneficiaries", &enrolment).arg("--skip-bad-rows")));
    assert!(said.contains("Imported 2 enrolments") && said.contains("Left out 8 bad rows"), "{said}");
    assert_eq!(t.text("SELECT account_number FROM beneficiaries WHERE channel = 'ewallet'"), "+84987654321");

    // The registry's name and commune reach the VNPost cash list.
    let registry = t.path("registry.csv");
    let rows = [
        registry_row(1, "Nguyễn Văn An", "Phường Dịch Vọng"),
        registry_row(2, "=1+2", ""),
        registry_row(3, "Trần Thị Bình", "\"@SUM(1+1)*cmd|' /C calc'!A0\""),
        registry_row(4, "Lê Văn Cường", "-2+3"),
        registry_row(5, "Phạm Thị Dung", "+84"),
        registry_row(6, "Hoàng Văn Em", "Xã Tân Lập"),
    ];
    std::fs::write(&registry, format!("{REGISTRY_HEADER}{}", rows.concat())).unwrap();
    let said = fails(&mut import(&t, "registry", &registry));
    assert!(said.contains("registry.csv: 4 bad rows; nothing was imported"), "{said}");
    names(&said, 3, "full_name", "formula");
    names(&said, 4, "residence_commune", "formula");
    names(&said, 5, "residence_commune", "formula");
    names(&said, 6, "residence_commune", "formula");
    let said = stdout(&ok(import(&t, "registry", &registry).arg("--skip-bad-rows")));
    assert!(said.contains("Imported 2 registry rows") && said.contains("Left out 4 bad rows"), "{said}");
}

on_both_backends!(payee_limits_are_enforced_at_import);

/// The rejects file has the rows as they were, but a spreadsheet opening it
/// runs nothing and shows every row on one line: a cell that would be a
/// formula gets a leading apostrophe, a control character is written as a
/// visible escape, and the problem column says so.
fn the_rejects_file_runs_nothing_in_a_spreadsheet(t: Driver) {
    let registry = t.path("registry.csv");
    let rows = [
        registry_row(1, "Nguyễn Văn An", ""),
        // A bad ID number that is a formula.
        "=1+1,Nguyễn Văn Bình,1940-05-12,male,001,,\n".to_owned(),
        // A formula name, and a bad date further right.
        "001040000003,\"@SUM(1+1)*cmd|' /C calc'!A0\",12/05/1940,male,001,,\n".to_owned(),
        // A line break inside a quoted commune, and a bad date.
        "001040000004,Lê Văn Cường,1940-05-12,male,001,\"Thôn 3,\nxã Mới\",yesterday\n".to_owned(),
        // An escape sequence in a name.
        "001040000005,\u{1b}[31mPhạm Thị Dung,1940-05-12,female,001,,\n".to_owned(),
        // A formula after spaces, a tab, and a death date that is a phone number.
        "001040000006,\" \t=HYPERLINK(\"\"x\"\")\",1940-05-12,male,001,\" -1+1\",+84987654321\n".to_owned(),
        // BEL and DEL inside a cell (a NUL this near the start is a binary file: `parse::sniff`).
        "001040000007,Hoàng Văn Em,1940-05-12,male,001,Xã \u{7}Tân\u{7f} Lập,\n".to_owned(),
    ];
    std::fs::write(&registry, format!("{REGISTRY_HEADER}{}", rows.concat())).unwrap();
    let said = stdout(&ok(import(&t, "registry", &registry).arg("--skip-bad-rows")));
    assert!(said.contains("Imported 1 registry rows") && said.contains("Left out 6 bad rows"), "{said}");

    let bytes = std::fs::read(t.path("registry.rejects.csv")).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    // Every line a row: no line break, or anything else a spreadsheet would act on, in a cell.
    assert_eq!(text.lines().count(), 7, "{text}");
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6, "{text}");
    for row in &rows {
        for cell in row {
            assert!(!cell.chars().any(char::is_control), "a control character in {cell:?}:\n{text}");
            let start = cell.trim_start();
            assert!(!start.starts_with(['=', '+', '-', '@']), "{cell:?} would run as a formula:\n{text}");
        }
    }
    let problem = |i: usize| &rows[i][7];
    assert_eq!(&rows[0][0], "'=1+1", "{text}");
    assert!(problem(0).starts_with("row 3, field `id_number`: expected"), "{text}");
    assert!(problem(0).contains("apostrophe"), "{text}");
    assert_eq!(&rows[1][1], "'@SUM(1+1)*cmd|' /C calc'!A0", "{text}");
    assert_eq!(&rows[2][5], "Thôn 3,\\nxã Mới", "{text}");
    assert!(problem(2).starts_with("row 5, field `residence_commune`: expected"), "{text}");
    assert!(problem(2).contains("control character"), "{text}");
    assert_eq!(&rows[3][1], "\\u{1b}[31mPhạm Thị Dung", "{text}");
    // The commune above spans two lines: from here on a row is one less than its line.
    assert_eq!(&rows[4][1], "' \\t=HYPERLINK(\"x\")", "{text}");
    assert_eq!(&rows[4][5], "' -1+1", "{text}");
    assert_eq!(&rows[4][6], "'+84987654321", "{text}");
    assert!(problem(4).starts_with("row 7, field `full_name`"), "{text}");
    assert_eq!(&rows[5][5], "Xã \\u{7}Tân\\u{7f} Lập", "{text}");
    assert!(problem(5).starts_with("row 8, field `residence_commune`"), "{text}");
}

on_both_backends!(the_rejects_file_runs_nothing_in_a_spreadsheet);

/// Peak resident memory of an import (KiB) may not pass this: the binary and
/// its database pool take a few tens of MB, reading a file a few hundred KB.
const PEAK_RSS_KIB: i64 = 150 * 1024;

/// A field of 64 MiB (an account holder, spread over several lines) and one of
/// 1 GiB are each refused for their row, naming it exactly; the other rows
/// import with --skip-bad-rows; the import's peak memory stays under 150 MB,
/// as reading never holds more of a field than the limit, and the rejects file
/// gets only the start of each.
fn huge_fields_are_refused_with_bounded_memory(t: Driver) {
    const MIB: u64 = 1 << 20;
    let big = t.path("big.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        out.write_all(ENROLMENT_HEADER.as_bytes()).unwrap();
        out.write_all(enrolment_row(1, "bank", "970436", "0011001234567", "NGUYEN VAN AN").as_bytes()).unwrap();
        let row = enrolment_row(2, "bank", "970436", "0011001234568", "\"");
        out.write_all(row.trim_end().as_bytes()).unwrap();
        // 64 MiB, a line break after each 16: the row spans five lines.
        write_repeated(&mut out, b'N', 64 * MIB, 16 * MIB);
        out.write_all(b"\"\n").unwrap();
        out.write_all(enrolment_row(3, "bank", "970436", "0011001234569", "TRAN THI BINH").as_bytes()).unwrap();
        out.write_all(enrolment_row(4, "bank", "970436", "12x", "LE VAN CUONG").as_bytes()).unwrap();
        out.flush().unwrap();
    }
    let (code, said, peak) = run_measured(&import(&t, "beneficiaries", &big));
    assert_ne!(code, 0, "{said}");
    assert!(said.contains("big.csv: 2 bad rows; nothing was imported"), "{said}");
    names(&said, 3, "account_name", "at most");
    // The rows after the long one keep their numbers: the spreadsheet's, not the lines'.
    names(&said, 5, "account_number", "digits");
    assert!(peak < PEAK_RSS_KIB, "peak RSS {peak} KiB refusing a 64 MiB field");
    let (code, said, peak) = run_measured(import(&t, "beneficiaries", &big).arg("--skip-bad-rows"));
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("Imported 2 enrolments"), "{said}");
    assert!(peak < PEAK_RSS_KIB, "peak RSS {peak} KiB skipping a 64 MiB field");
    let rejects = std::fs::metadata(t.path("big.rejects.csv")).unwrap().len();
    assert!(rejects < 64 * 1024, "the rejects file has {rejects} bytes: the field was copied");

    let huge = t.path("huge.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&huge).unwrap());
        out.write_all(ENROLMENT_HEADER.as_bytes()).unwrap();
        out.write_all(enrolment_row(11, "bank", "970436", "0011001234567", "NGUYEN VAN AN").as_bytes()).unwrap();
        out.write_all(b"001040000012,").unwrap();
        write_repeated(&mut out, b'A', 1024 * MIB, u64::MAX);
        let rest = ",1940-05-12,social-assistance,001,none,severe,false,false,,0,bank,970436,0011001234568,A\n";
        out.write_all(rest.as_bytes()).unwrap();
        out.write_all(enrolment_row(13, "bank", "970436", "0011001234569", "TRAN THI BINH").as_bytes()).unwrap();
        out.flush().unwrap();
    }
    let (code, said, peak) = run_measured(import(&t, "beneficiaries", &huge).arg("--skip-bad-rows"));
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("Imported 2 enrolments") && said.contains("Left out 1 bad rows"), "{said}");
    assert!(peak < PEAK_RSS_KIB, "peak RSS {peak} KiB skipping a 1 GiB field");
    let rejects = std::fs::read_to_string(t.path("huge.rejects.csv")).unwrap();
    assert!(rejects.len() < 64 * 1024, "the rejects file has {} bytes: the field was copied", rejects.len());
    assert!(rejects.contains("row 3, field `full_name`: expected"), "{rejects}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM beneficiaries"), 4);
    std::fs::remove_file(&huge).unwrap();
}

// The bound is the reader's, which is the same over either database: a
// gigabyte is written and read on SQLite only, to keep CI's time for the rest.
mod huge_fields_are_refused_with_bounded_memory {
    #[test]
    fn sqlite() {
        super::huge_fields_are_refused_with_bounded_memory(crate::support::Driver::new(
            crate::support::Backend::Sqlite,
        ));
    }
}

/// `len` bytes of `byte`, with a line break in place of every `every`-th, in
/// chunks: the file is written as a stream, never held.
fn write_repeated(out: &mut impl Write, byte: u8, len: u64, every: u64) {
    let chunk = vec![byte; 1 << 20];
    let mut left = len;
    let mut since_break = 0u64;
    while left > 0 {
        let n = left.min(chunk.len() as u64).min(every - since_break) as usize;
        out.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
        since_break += n as u64;
        if since_break == every && left > 0 {
            out.write_all(b"\n").unwrap();
            left -= 1;
            since_break = 0;
        }
    }
}

/// A NUL and other control characters are refused for their row wherever they
/// are: far past the first bytes of the file (which are sniffed for binary
/// content), in fields that no other rule looks at.
fn control_characters_far_into_the_file_are_refused_for_their_row(t: Driver) {
    let registry = t.path("registry.csv");
    let mut text = String::from(REGISTRY_HEADER);
    for n in 1..=3000 {
        text.push_str(&registry_row(n, "Nguyễn Văn An", "Phường Dịch Vọng"));
    }
    assert!(text.len() > 128 * 1024);
    text.push_str(&registry_row(3001, "Trần Thị Bình", "Xã \0Tân Lập"));
    text.push_str(&registry_row(3002, "Lê Văn Cường", "Xã Tân\u{1b}Lập"));
    text.push_str(&registry_row(3003, "Phạm Thị Dung", "Xã Tân\u{85}Lập"));
    text.push_str(&registry_row(3004, "Hoàng Văn Em", "Xã Tân Lập"));
    std::fs::write(&registry, text).unwrap();
    let said = fails(&mut import(&t, "registry", &registry));
    assert!(said.contains("registry.csv: 3 bad rows; nothing was imported"), "{said}");
    names(&said, 3002, "residence_commune", "control character");
    names(&said, 3003, "residence_commune", "control character");
    names(&said, 3004, "residence_commune", "control character");
    let said = stdout(&ok(import(&t, "registry", &registry).arg("--skip-bad-rows")));
    assert!(said.contains("Imported 3001 registry rows"), "{said}");

    let enrolment = t.path("enrolment.csv");
    let mut text = String::from(ENROLMENT_HEADER);
    for n in 1..=1500 {
        text.push_str(&enrolment_row(n, "bank", "970436", &format!("00110{n:08}"), "NGUYEN VAN AN"));
    }
    text.push_str(&enrolment_row(1501, "ewallet", "MOMO", "0987654321", "Nguyễn\0 Văn An"));
    text.push_str(&enrolment_row(1502, "none", "", "", "").replace(",none,", ",none\u{7},"));
    text.push_str(&enrolment_row(1503, "none", "", "", "").replace(",,0,", ",studying\u{8},0,"));
    std::fs::write(&enrolment, text).unwrap();
    let said = fails(&mut import(&t, "beneficiaries", &enrolment));
    assert!(said.contains("enrolment.csv: 3 bad rows; nothing was imported"), "{said}");
    names(&said, 1502, "account_name", "control character");
    names(&said, 1503, "household", "control character");
    names(&said, 1504, "statuses", "control character");
}

on_both_backends!(control_characters_far_into_the_file_are_refused_for_their_row);

/// Imports over HTTP (`/v1/imports/…`): the file as the request's body, loaded
/// as the command line loads it, its bad rows listed by row and field under
/// the name the officer gave it; an officer enrols only their own provinces'
/// people, so that no province's officer changes another's payees.
fn imports_over_http(t: Driver) {
    let server = crate::support::service::Server::start(&t);
    let officer = t.person("Lê Văn Hùng", &["officer"], &["province:001"]);
    let auditor = t.person("Nguyễn Thị Thu", &["auditor"], &["province:001"]);
    let send = |path: &str, token: &str, body: &str| {
        let bearer = format!("Bearer {token}");
        server.send("POST", path, &[("Authorization", &bearer), ("Content-Type", "text/csv")], body)
    };
    let registry: String = [
        REGISTRY_HEADER.to_owned(),
        registry_row(1, "Nguyễn Văn An", "00001"),
        registry_row(2, "Nguyễn Văn An", "00001"),
    ]
    .concat();
    let loaded = send("/v1/imports/registry?name=hanoi-registry.csv", &officer, &registry);
    assert_eq!(loaded.status, 200, "{}", loaded.body);
    assert_eq!(
        (&loaded.json()["rows"], &loaded.json()["file"]),
        (&serde_json::json!(2), &serde_json::json!("hanoi-registry.csv"))
    );
    let recorded = t.text("SELECT details FROM audit_log WHERE action = 'import.registry'");
    assert!(recorded.contains("\"file\":\"hanoi-registry.csv\"") && recorded.contains("Lê Văn Hùng"), "{recorded}");
    send("/v1/imports/registry", &auditor, &registry).assert_problem(403, "officer");
    send("/v1/imports/registry?name=../x.csv", &officer, &registry).assert_problem(422, "name:");
    send("/v1/imports/enrolments", &officer, "").assert_problem(422, "enrolments.csv: the file is empty");

    // A row of Hồ Chí Minh City (079) in Hà Nội's officer's file, and an account number too long to pay.
    let of_079 =
        enrolment_row(2, "bank", "970436", "0011001234567", "NGUYEN VAN AN").replace(",001,none,", ",079,none,");
    let too_long = enrolment_row(3, "bank", "970436", &"1".repeat(40), "NGUYEN VAN AN");
    let good = enrolment_row(1, "bank", "970436", "0011001234567", "NGUYEN VAN AN");
    let file = [ENROLMENT_HEADER.to_owned(), good, of_079, too_long].concat();
    let refused = send("/v1/imports/enrolments?name=hanoi-2024-09.csv", &officer, &file);
    let problem = refused.assert_problem(422, "hanoi-2024-09.csv: 2 bad rows; nothing was imported");
    let rows: Vec<(u64, String)> = problem["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["field"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(rows, [(3, "province".to_owned()), (4, "account_number".to_owned())], "{problem}");
    assert!(problem["bad_rows"][0]["expected"].as_str().unwrap().contains("province:001"), "{problem}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM beneficiaries"), 0);
    let skipped = send("/v1/imports/enrolments?skip_bad_rows=true", &officer, &file);
    assert_eq!(skipped.status, 200, "{}", skipped.body);
    assert_eq!((&skipped.json()["rows"], &skipped.json()["skipped"]), (&serde_json::json!(1), &serde_json::json!(2)));
    assert_eq!(skipped.json()["bad_rows"].as_array().unwrap().len(), 2, "{}", skipped.body);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM beneficiaries WHERE province = '079'"), 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM beneficiaries"), 1);
}

on_both_backends!(imports_over_http);

/// Registry rows in a file large enough to be merged in several parts on
/// SQLite (25,000 rows a transaction, `store::staging`).
const IN_PARTS: u32 = 60_000;

/// A registry extract of [`IN_PARTS`] people, the last row `last` (a good row or a bad one).
fn large_registry(t: &Driver, last: &str) -> std::path::PathBuf {
    let path = t.path("registry.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    out.write_all(REGISTRY_HEADER.as_bytes()).unwrap();
    for n in 1..IN_PARTS {
        out.write_all(registry_row(n, "Nguyễn Văn An", "00001").as_bytes()).unwrap();
    }
    out.write_all(last.as_bytes()).unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    path
}

/// A file refused for its last row leaves nothing, though on SQLite the rows
/// before it would fill several transactions: they are staged apart, and merged
/// only once every row is known good.
fn a_bad_last_row_refuses_a_large_file_whole(t: Driver) {
    let registry = large_registry(&t, "0010401234,Nguyễn Văn An,1940-05-12,male,001,00001,\n");
    let said = fails(&mut import(&t, "registry", &registry));
    names(&said, IN_PARTS + 1, "id_number", "12-digit");
    assert!(said.contains("1 bad rows; nothing was imported"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM registry_people"), 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM imports"), 0);
}

on_both_backends!(a_bad_last_row_refuses_a_large_file_whole);

/// An import killed midway (SIGKILL, once its first rows can be seen) leaves
/// on SQLite, which merges a large file in parts so as not to hold the
/// database for seconds, an import recorded as loading, and no run is created
/// while it is, with a message that says how to finish it; importing the same
/// file again finishes that import (one record, one audit entry). On
/// PostgreSQL, one transaction, nothing or everything is in.
fn an_import_killed_midway_is_finished_by_importing_again(t: Driver) {
    use std::time::{Duration, Instant};
    let registry = large_registry(&t, &registry_row(IN_PARTS, "Nguyễn Văn An", "00001"));
    let total = i64::from(IN_PARTS);
    let mut child = import(&t, "registry", &registry)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let began = Instant::now();
    let (sqlite, deadline) = (matches!(t.backend, crate::support::Backend::Sqlite), Duration::from_secs(120));
    // SQLite: kill once the first part is in. PostgreSQL shows nothing before
    // its one commit: kill after a while (the import may or may not be done).
    while t.scalar("SELECT COUNT(*) FROM registry_people") == 0
        && child.try_wait().unwrap().is_none()
        && (sqlite || began.elapsed() < Duration::from_millis(1500))
    {
        assert!(began.elapsed() < deadline, "no row imported in two minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL, or nothing if it ended
    child.wait().unwrap();
    let stored = t.scalar("SELECT COUNT(*) FROM registry_people");
    if sqlite {
        assert!(0 < stored && stored < total, "killed with {stored} of {total} rows in: not midway");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM imports WHERE state = 'loading'"), 1);
        t.release_national();
        let said = fails(
            t.cli()
                .args(["run", "create", "--program", "social-assistance", "--province", "001"])
                .args(["--period", "2024-09"]),
        );
        assert!(
            said.contains("import 1 of the registry file")
                && said.contains("has not finished")
                && said.contains("import the same file again to finish it"),
            "{said}"
        );
        assert_eq!(t.scalar("SELECT COUNT(*) FROM runs"), 0);
    } else {
        assert!(stored == 0 || stored == total, "PostgreSQL holds {stored} of {total} rows");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM imports WHERE state = 'loading'"), 0);
        t.release_national();
    }

    ok(&mut import(&t, "registry", &registry));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM registry_people"), total);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM imports WHERE state = 'loading'"), 0);
    let done = t.scalar("SELECT COUNT(*) FROM imports WHERE state = 'done'");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'import.registry'"), done);
    assert_eq!(t.scalar("SELECT MAX(rows) FROM imports WHERE state = 'done'"), total);
    if sqlite {
        assert_eq!(done, 1, "the second import took the first one's record over");
    }
    t.create_run("2024-09");
}

on_both_backends!(an_import_killed_midway_is_finished_by_importing_again);
