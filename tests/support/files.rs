//! The files `run issue` writes: a configuration with the treasury accounts,
//! and the checks every issued run's files must pass.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ansinh::model::Total;

use super::{Driver, first_element, sum_elements};

/// The audit trail's person key in the tests' configuration.
pub const PERSON_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// The seed of the tests' national root key: the same root in every test,
/// so that any configuration a test writes can trust it ([`trust_section`]).
const TEST_ROOT_SEED: [u8; 32] = [0x7e; 32];

/// The tests' national root key.
pub fn test_root_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&TEST_ROOT_SEED)
}

/// Write the tests' root key into `dir` (`root.pem`, owner-only, and
/// `root.pub`), as `keys generate --root` would; the secret file's path.
pub fn test_root(dir: &Path) -> PathBuf {
    let path = dir.join("root.pem");
    ansinh::release::keys::write_pair(&path, &test_root_key()).unwrap();
    path
}

/// `[trust]` with the tests' root key as the national root.
pub fn trust_section() -> String {
    format!("[trust]\nroot_public_key = \"{}\"\n", hex::encode(test_root_key().verifying_key().as_bytes()))
}

/// Write `ansinh.toml` into `dir` with Hà Nội's (001) made-up treasury: a bank
/// account, and with `ewallet` a separate e-wallet account; the bank CSV when
/// `bank_csv`; the audit key [`PERSON_KEY`]; and the tests' root key as the
/// one trusted ([`trust_section`]). Its path, for `--config`.
pub fn hanoi_config(dir: &Path, ewallet: bool, bank_csv: bool) -> PathBuf {
    let mut text = format!(
        "{}\n[audit]\nperson_key = \"{PERSON_KEY}\"\n\n\
         [treasury.\"001\"]\nholder = \"KHO BAC NHA NUOC HA NOI\"\naccount = \"3711000000001\"\nbin = \"970415\"\n\
         bank_csv = {bank_csv}\n",
        trust_section()
    );
    if ewallet {
        text.push_str(
            "[treasury.\"001\".ewallet]\nholder = \"KHO BAC NHA NUOC HA NOI\"\naccount = \"3711000000002\"\n",
        );
        text.push_str("bin = \"970415\"\n");
    }
    let path = dir.join("ansinh.toml");
    std::fs::write(&path, text).unwrap();
    // It holds the person key: its owner's alone, or the binary refuses it.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

/// The names of run `run`'s files for social assistance in Hà Nội in `period`.
pub struct RunFiles {
    pub bank: PathBuf,
    pub bank_csv: PathBuf,
    pub ewallet: PathBuf,
    pub vnpost: PathBuf,
}

pub fn run_files(outbox: &Path, run: &str, period: &str) -> RunFiles {
    let scope = format!("run{run}-social-assistance-001-{period}");
    RunFiles {
        bank: outbox.join(format!("pain001-{scope}-bank.xml")),
        bank_csv: outbox.join(format!("bank-{scope}.csv")),
        ewallet: outbox.join(format!("pain001-{scope}-ewallet.xml")),
        vnpost: outbox.join(format!("vnpost-{scope}.csv")),
    }
}

/// Lines and sum of each file of a run, as read from the files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counted {
    pub bank: Total,
    pub ewallet: Total,
    pub cash: Total,
}

/// Check every file of issued run `run` against `t`'s database and the formats:
/// each pain.001 valid against the official XSD, with its NbOfTxs and CtrlSum,
/// and holding exactly the run's payments of its channel; the bank CSV (when
/// `bank_csv`) the same transfers as the bank pain.001; the cash list exactly
/// the run's cash payments; no file carries a raw ID number. A file with no
/// line must be absent. What each file holds.
pub fn check_run_files(t: &Driver, outbox: &Path, run: &str, period: &str, bank_csv: bool) -> Counted {
    let files = run_files(outbox, run, period);
    let stored = |table: &str, filter: &str| {
        let q = |what: &str| t.scalar(format!("SELECT {what} FROM {table} WHERE run_id = {run} {filter}"));
        Total { count: q("COUNT(*)"), amount: q("CAST(COALESCE(SUM(amount), 0) AS BIGINT)") }
    };
    let id_numbers = all_id_numbers(t, run);
    let mut counted = Counted::default();
    for (path, channel, into) in
        [(&files.bank, "bank", &mut counted.bank), (&files.ewallet, "ewallet", &mut counted.ewallet)]
    {
        let expected = stored("payments", &format!("AND channel = '{channel}'"));
        if expected.count == 0 {
            assert!(!path.exists(), "{} is written with no transfer", path.display());
            continue;
        }
        super::xsd::validate_pain001(path).unwrap();
        let xml = std::fs::read_to_string(path).unwrap();
        let (n, sum) = sum_elements(&xml, "InstdAmt");
        assert_eq!(Total { count: n as i64, amount: sum as i64 }, expected, "{}", path.display());
        assert_eq!(first_element(&xml, "NbOfTxs"), n.to_string());
        assert_eq!(first_element(&xml, "CtrlSum"), sum.to_string());
        assert_eq!(xml.matches("<PmtInf>").count(), 1, "one debtor account per file");
        assert!(first_element(&xml, "MsgId").starts_with(&format!("ANSINH-R{run}-")));
        no_id_number_in(&xml, &id_numbers, path);
        *into = expected;
    }
    if bank_csv && counted.bank.count > 0 {
        let rows = csv_rows(&files.bank_csv);
        let header = ["STT", "Số tài khoản", "Tên người thụ hưởng", "Ngân hàng thụ hưởng", "Số tiền", "Nội dung"];
        assert_eq!(rows[0], header);
        let sum: i64 = rows[1..].iter().map(|r| r[4].parse::<i64>().unwrap()).sum();
        assert_eq!(Total { count: rows.len() as i64 - 1, amount: sum }, counted.bank, "{}", files.bank_csv.display());
        for (i, row) in rows[1..].iter().enumerate() {
            assert_eq!(row[0], (i + 1).to_string());
            assert!(row[2].bytes().all(|b| b.is_ascii_uppercase() || b == b' '), "name not folded: {row:?}");
            assert!(row[3].len() == 6 && row[5].contains(&format!("R{run}P")), "{row:?}");
        }
        no_id_number_in(&std::fs::read_to_string(&files.bank_csv).unwrap(), &id_numbers, &files.bank_csv);
    } else {
        assert!(!files.bank_csv.exists(), "{} is written unasked", files.bank_csv.display());
    }
    let expected = stored("cash_payments", "");
    if expected.count == 0 {
        assert!(!files.vnpost.exists(), "{} is written with nobody in it", files.vnpost.display());
    } else {
        let rows = csv_rows(&files.vnpost);
        assert_eq!(rows[0][0], "STT");
        let sum: i64 = rows[1..].iter().map(|r| r[6].parse::<i64>().unwrap()).sum();
        assert_eq!(Total { count: rows.len() as i64 - 1, amount: sum }, expected, "{}", files.vnpost.display());
        for row in &rows[1..] {
            assert!(row[1].contains(&format!("R{run}C")), "{row:?}");
            assert!(row[3].starts_with("*********") && row[3].len() == 12, "ID number not masked: {row:?}");
        }
        no_id_number_in(&std::fs::read_to_string(&files.vnpost).unwrap(), &id_numbers, &files.vnpost);
        counted.cash = expected;
    }
    counted
}

/// Rows of a CSV file, the header first.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

/// Every ID number of the run's payments and cash list, each 12 digits
/// (Decree 137/2015/NĐ-CP, art. 13): what [`no_id_number_in`] looks for.
fn all_id_numbers(t: &Driver, run: &str) -> HashSet<String> {
    use ansinh::store::Db;
    let sql = format!(
        "SELECT id_number FROM payments WHERE run_id = {run} UNION SELECT id_number FROM cash_payments WHERE run_id = {run}"
    );
    let ids = t.sql(move |db| {
        Box::pin(async move {
            let q = || sqlx::AssertSqlSafe(sql.clone());
            match db {
                Db::Sqlite(pool) => sqlx::query_scalar::<_, String>(q()).fetch_all(&pool).await,
                Db::Postgres(pool) => sqlx::query_scalar::<_, String>(q()).fetch_all(&pool).await,
            }
            .unwrap()
        })
    });
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())), "{ids:?}");
    ids.into_iter().collect()
}

fn no_id_number_in(text: &str, id_numbers: &HashSet<String>, path: &Path) {
    // An ID number is 12 digits, so one found anywhere lies in a run of 12
    // digits or more: look each such window up, in one pass over the file, not
    // one pass an ID number (thousands of them).
    for run in text.as_bytes().split(|b| !b.is_ascii_digit()).filter(|run| run.len() >= 12) {
        let digits = std::str::from_utf8(run).expect("ASCII digits");
        if let Some(id) = (0..=digits.len() - 12).map(|at| &digits[at..at + 12]).find(|w| id_numbers.contains(*w)) {
            panic!("{} carries the raw ID number {}", path.display(), ansinh::identity::masked(id));
        }
    }
}
