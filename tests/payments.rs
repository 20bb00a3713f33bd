//! Nothing paid twice, nothing half-imported: the guarantees the database keeps,
//! on both backends, through the real binary.

use ansinh::format::group;

use crate::support::{self, Driver, fails, ok, outcome_count, stdout};

fn a_person_is_paid_once_per_program_and_month(t: Driver) {
    // Run 1: the demo's, issued.
    t.demo(400);
    let config = support::files::hanoi_config(t.dir.path(), false, false);
    let listed_once = t.scalar("SELECT COUNT(*) FROM cash_payments");
    assert!(listed_once > 0);
    let paid_once = t.scalar("SELECT COUNT(*) FROM payments");
    assert!(paid_once > 0);

    // Run 2: the same programme, province and month, by the same rules.
    let run = |period: &str| {
        let id = t.create_run(period);
        let evaluated = stdout(&t.evaluate(&id));
        t.approve(&id);
        let issued = stdout(&ok(t
            .cli()
            .arg("--config")
            .arg(&config)
            .args(["run", "issue", &id, "--outbox"])
            .arg(t.path("outbox"))));
        (id, outcome_count(&evaluated, "payable"), issued)
    };
    let (second, payable, issued) = run("2024-09");
    let by = |column: &str| t.text(format!("SELECT {column} FROM runs WHERE id = {second}"));
    assert_eq!(
        (by("created_by"), by("evaluated_by"), by("issued_by")),
        ("test-officer".into(), "test-officer".into(), "test-officer".into())
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM runs WHERE id = 1 AND issued_by = 'demo-officer'"), 1);
    assert_eq!(payable, paid_once, "the second run decides the same people payable");
    assert!(issued.contains("Issued 0 payments"), "{issued}");
    assert!(issued.contains(&format!("{} payable people were already paid for 2024-09", group(payable))), "{issued}");
    assert!(issued.contains("Nothing to pay: no payment file."), "{issued}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM payments"), paid_once);
    // Nor listed for cash twice: the people with no account are VNPost's from run 1.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM cash_payments"), listed_once);

    // The next month is another payment: paid again, in full.
    let (october, payable, issued) = run("2024-10");
    assert!(issued.contains(&format!("Issued {} payments", group(payable))), "{issued}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM payments"), paid_once + payable);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM cash_payments"), 2 * listed_once);
    // Its files, from the configured account: no e-wallet account configured,
    // so the e-wallet file is debited from the bank account; no bank CSV asked.
    let outbox = t.path("outbox");
    support::files::check_run_files(&t, &outbox, &october, "2024-10", false);
    let files = support::files::run_files(&outbox, &october, "2024-10");
    let ewallet = std::fs::read_to_string(&files.ewallet).unwrap();
    assert!(ewallet.contains("<Id>3711000000001</Id>"), "debited from the bank account");

    // A province with no treasury configured cannot be issued; the message says what to add.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("ansinh.toml"), "").unwrap();
    let november = t.create_run("2024-11");
    t.evaluate(&november);
    t.approve(&november);
    let said = fails(
        t.cli()
            .current_dir(other.path())
            .env_remove("ANSINH_CONFIG")
            .args(["run", "issue", &november, "--outbox"])
            .arg(other.path().join("outbox")),
    );
    assert!(said.contains("ansinh.toml has no treasury account for province 001 (Hà Nội)"), "{said}");
    assert!(said.contains("add a table [treasury.\"001\"] with holder, account and bin"), "{said}");
    assert_eq!(t.scalar(format!("SELECT COUNT(*) FROM payments WHERE run_id = {november}")), 0);
    let status = t.text(format!("SELECT status FROM runs WHERE id = {november}"));
    assert_eq!(status, "approved");

    // The guarantee is the database's, not the code's: a second row for the same
    // person, programme and month is refused whoever writes it.
    let err = t
        .execute(
            "INSERT INTO payments (run_id, beneficiary_id, program, period, id_number, amount, channel, bank_bin, \
         account_number, account_name) \
         SELECT 2, beneficiary_id, program, period, id_number, amount, channel, bank_bin, account_number, account_name \
         FROM payments WHERE run_id = 1 LIMIT 1",
        )
        .expect_err("the database must refuse a second payment");
    assert!(err.to_lowercase().contains("unique"), "{err}");
}

on_both_backends!(a_person_is_paid_once_per_program_and_month);

const REGISTRY_HEADER: &str = "id_number,full_name,birth_date,sex,residence_province,residence_commune,death_date\n";

fn bad_rows_refuse_the_whole_file(t: Driver) {
    let file = t.path("registry.csv");
    let good = |i: u32| format!("001040{:06},Nguyễn Văn An,1940-05-12,male,001,,\n", 100_000 + i);
    let mut csv = String::from(REGISTRY_HEADER);
    csv.push_str(&good(1));
    csv.push_str("00104012345,Trần Thị Bình,1940-05-12,female,001,,\n"); // 11 digits
    csv.push_str(&good(2));
    csv.push_str("001140123456,Lê Văn Cường,12/05/1940,male,001,,\n"); // not YYYY-MM-DD
    std::fs::write(&file, &csv).unwrap();

    let import = || {
        let mut cmd = t.cli();
        cmd.args(["registry", "import"]).arg(&file);
        cmd
    };
    let said = fails(&mut import());
    assert!(said.contains("registry.csv: 2 bad rows; nothing was imported"), "{said}");
    assert!(said.contains("field `id_number`"), "{said}");
    assert!(!said.contains("00104012345"), "a bad ID number is still someone's: shown masked\n{said}");
    assert!(said.contains("field `birth_date`"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM registry_people"), 0, "a refused file must leave nothing behind");

    // Every bad row, as it was, with its problem, beside the file.
    let rejected = || {
        let mut reader = csv::Reader::from_path(t.path("registry.rejects.csv")).unwrap();
        assert_eq!(reader.headers().unwrap().iter().next_back(), Some("problem"));
        reader.records().map(Result::unwrap).collect::<Vec<_>>()
    };
    let rows = rejected();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((&rows[0][0], &rows[0][1]), ("00104012345", "Trần Thị Bình"));
    assert!(rows[0][7].starts_with("row 3, field `id_number`: expected"), "{rows:?}");
    assert_eq!(&rows[1][2], "12/05/1940");
    assert!(rows[1][7].starts_with("row 5, field `birth_date`: expected"), "{rows:?}");

    // Or the good rows are imported and the bad ones only set aside.
    let said = stdout(&ok(import().arg("--skip-bad-rows")));
    assert!(said.contains("Imported 2 registry rows") && said.contains("Left out 2 bad rows"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM registry_people"), 2);
    assert_eq!(rejected().len(), 2);

    // Corrected, it imports; imported again, nothing changes.
    let mut csv = String::from(REGISTRY_HEADER);
    for i in 1..=3 {
        csv.push_str(&good(i));
    }
    std::fs::write(&file, &csv).unwrap();
    ok(&mut import());
    ok(&mut import());
    assert_eq!(t.scalar("SELECT COUNT(*) FROM registry_people"), 3);

    // Each committed import is recorded with the file's hash and who did it;
    // without a name, an import is refused.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM imports WHERE imported_by = 'test-officer'"), 3);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM imports WHERE skipped = 2 AND rows = 2"), 1);
    assert_eq!(t.scalar("SELECT COUNT(DISTINCT sha256) FROM imports"), 2, "the same file twice, one hash");
    let file_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&file).unwrap()));
    let recorded = t.text("SELECT sha256 FROM imports ORDER BY id DESC LIMIT 1");
    assert_eq!(recorded, file_hash, "the hash is of the whole file");
    let said = fails(import().env_remove("ANSINH_TOKEN"));
    assert!(said.contains("this command acts as an account: set ANSINH_TOKEN"), "{said}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM imports"), 3);
}

on_both_backends!(bad_rows_refuse_the_whole_file);
