//! Shared helpers for the integration tests: the real `ansinh` binary, real
//! plug-ins built from source, and a [`Driver`]: a fresh database on either
//! backend and a folder, with the steps of a run's life as its methods.

/// `on_both_backends!(some_test)` for a `fn some_test(t: Driver)`: the tests
/// `some_test::sqlite` and `some_test::postgres`, each with a fresh database and folder.
macro_rules! on_both_backends {
    ($test:ident) => {
        mod $test {
            #[test]
            fn sqlite() {
                super::$test($crate::support::Driver::new($crate::support::Backend::Sqlite));
            }
            #[test]
            fn postgres() {
                super::$test($crate::support::Driver::new($crate::support::Backend::Postgres));
            }
        }
    };
}

pub mod browser;
pub mod files;
pub mod oidc;
pub mod pain002;
pub mod schemathesis;
pub mod service;
pub mod xsd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// The workspace root (the folder with Cargo.lock).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ is in the workspace").to_owned()
}

/// The real `ansinh` binary, with no ANSINH_* setting inherited from the caller.
pub fn ansinh() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ansinh"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ANSINH_") {
            cmd.env_remove(key);
        }
    }
    // Compiled plug-ins are shared by all tests, like a user's cache.
    cmd.env("ANSINH_CACHE_DIR", workspace().join("target/test-cache"));
    cmd
}

/// The accounts tests act as: each name a person of these roles, of national
/// scope, made on first use with a token of their own ([`Driver::as_`]).
/// Approvers are apart from officers, as `administration.md` has them.
const CAST: &[(&str, &[&str])] = &[
    ("test-officer", &["officer", "auditor"]),
    // An officer who also approves (another province's runs, say): four-eyes compares accounts, not roles.
    ("lan", &["officer", "approver", "auditor"]),
    ("an-officer", &["officer", "auditor"]),
    ("x", &["officer", "auditor"]),
    ("author", &["author"]),
    ("keeper", &["author"]),
    ("signer", &["author"]),
    // An author who also approves (others' releases): four-eyes compares accounts, not roles.
    ("dung", &["author", "approver"]),
    ("approver", &["approver"]),
    ("minh", &["approver"]),
    ("test-supervisor", &["approver"]),
];

/// The admin every test database gets, who makes the cast's accounts.
pub const TEST_ADMIN: &str = "test-admin";

/// A test's world: a database and a folder, both fresh and removed when
/// dropped, and the real binary on them.
pub struct Driver {
    pub backend: Backend,
    pub db: TestDb,
    pub dir: tempfile::TempDir,
    /// The token of each account of the cast made so far, by name.
    tokens: Mutex<BTreeMap<String, String>>,
    /// The national root key the binary trusts, kept apart from `dir` (which
    /// the demo wants to itself): its secret file and a configuration of
    /// `[trust]` alone.
    trust: tempfile::TempDir,
    /// The configuration the binary reads (`ANSINH_CONFIG`) and the root
    /// key's secret file: the tests' own, or the demo's once it ran.
    trusted: Mutex<(PathBuf, PathBuf)>,
}

impl Driver {
    /// A fresh, empty database on `backend` and a fresh, empty folder.
    pub fn new(backend: Backend) -> Driver {
        Driver::on(backend, TestDb::new(backend), tempfile::tempdir().unwrap())
    }

    /// A driver on `db` and `dir`.
    pub fn on(backend: Backend, db: TestDb, dir: tempfile::TempDir) -> Driver {
        let trust = tempfile::tempdir().unwrap();
        let root = files::test_root(trust.path());
        let config = trust.path().join("ansinh.toml");
        std::fs::write(&config, files::trust_section()).unwrap();
        let trusted = Mutex::new((config, root));
        Driver { backend, db, dir, tokens: Mutex::default(), trust, trusted }
    }

    /// The configuration the binary reads unless given `--config`: `[trust]`
    /// with the tests' root key ([`files::trust_section`]), or the demo's.
    pub fn config(&self) -> PathBuf {
        self.trusted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).0.clone()
    }

    /// The secret file of the national root key the binary trusts.
    pub fn root_key(&self) -> PathBuf {
        self.trusted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).1.clone()
    }

    /// A new signing key for `authority` at `file` (and its `.pub`), made
    /// offline, certified by the trusted root (`file` with `.cert`) and
    /// registered by `who`, an author; its id.
    pub fn key(&self, who: &str, authority: &str, file: &Path) -> String {
        ok(ansinh().args(["keys", "generate", "--authority", authority, "--out"]).arg(file));
        let (public, certificate) = (file.with_extension("pub"), file.with_extension("cert"));
        ok(ansinh()
            .args(["keys", "certify", "--root-key"])
            .arg(self.root_key())
            .args(["--authority", authority])
            .arg(&public)
            .arg("--out")
            .arg(&certificate));
        let registered = ok(self
            .as_(who)
            .args(["keys", "register", "--authority", authority])
            .arg(&public)
            .arg("--certificate")
            .arg(&certificate));
        stdout(&registered).trim().to_owned()
    }

    /// The database's URL, for `--database-url`.
    pub fn url(&self) -> &str {
        &self.db.url
    }

    /// `name` in the folder.
    pub fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The real binary on this database, acting as the test officer.
    pub fn cli(&self) -> Command {
        self.as_("test-officer")
    }

    /// The real binary on this database, as no account (no token), with the
    /// driver's configuration ([`Driver::config`]; `--config` overrides it).
    pub fn bare(&self) -> Command {
        let mut cmd = ansinh();
        cmd.args(["--database-url", self.url()]).env("ANSINH_CONFIG", self.config());
        cmd
    }

    /// The real binary on this database, acting as `who` of the cast
    /// (its token in ANSINH_TOKEN).
    pub fn as_(&self, who: &str) -> Command {
        let mut cmd = self.bare();
        cmd.env("ANSINH_TOKEN", self.token(who));
        cmd
    }

    /// The token of `who` of the cast, whose account is made on first use:
    /// the first makes the test admin (`accounts::init`), who makes each
    /// person's account; the person then makes their own token, as one
    /// signed in would (the library's own rules, on this database).
    pub fn token(&self, who: &str) -> String {
        let mut tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(token) = tokens.get(who) {
            return token.clone();
        }
        if who == TEST_ADMIN {
            let url = self.url().to_owned();
            let admin = self.sql(move |db| {
                Box::pin(async move {
                    let made = ansinh::accounts::init(&db, TEST_ADMIN).await;
                    made.unwrap_or_else(|e| panic!("the test admin on {url}: {e}; a test that makes its own first admin gives its token with Driver::adopt")).1.to_string()
                })
            });
            tokens.insert(TEST_ADMIN.to_owned(), admin.clone());
            return admin;
        }
        drop(tokens);
        let roles = CAST.iter().find(|(name, _)| *name == who).map(|(_, roles)| *roles);
        let roles = roles.unwrap_or_else(|| panic!("{who} is not in the tests' CAST (tests/support/mod.rs): add them"));
        let token = self.person(who, roles, &["national"]);
        self.adopt(who, &token);
        token
    }

    /// A person's account named `name` with `roles` and `scopes`, made by the
    /// test admin, and a token the person makes for themself (as one signed
    /// in would: the library's own rules, on this database).
    pub fn person(&self, name: &str, roles: &[&str], scopes: &[&str]) -> String {
        let admin = self.token(TEST_ADMIN);
        let (name, roles, scopes) = (name.to_owned(), strings(roles), strings(scopes));
        self.sql(move |db| {
            Box::pin(async move {
                use ansinh::accounts::{self, Caller, NewAccount};
                let by = accounts::authenticate(&db, &admin).await.unwrap().expect("the test admin's token");
                let new = NewAccount { name, kind: "person".into(), roles: roles.clone(), scopes };
                let id = accounts::create(&db, &by, new.clone()).await.unwrap().expect("a test account");
                let actor = ansinh::trail::Actor {
                    account: id,
                    name: new.name,
                    auth: ansinh::trail::Auth::Oidc { issuer: "tests".into(), subject: id.to_string() },
                };
                let person = Caller { actor, kind: new.kind, roles, scopes: new.scopes };
                let (token, _) = accounts::make_token(&db, &person, id, "tests", 30).await.unwrap().expect("a token");
                token.to_string()
            })
        })
    }

    /// `ansinh demo` of `people` in the folder, on this database: it makes
    /// its own accounts (an admin, an officer of 001, a national approver and
    /// author) and writes their tokens there; its admin becomes the tests'
    /// admin, who makes the cast's accounts beside the demo's. The national
    /// root key it made and trusts is the driver's from then on (a
    /// configuration of `[trust]` alone: the demo's own file may be replaced
    /// by a test's, [`files::hanoi_config`]).
    pub fn demo(&self, people: u32) -> Output {
        let out = ok(self.bare().args(["demo", "--people", &people.to_string(), "--dir"]).arg(self.dir.path()));
        self.adopt_demo();
        out
    }

    /// After a demo in the folder (`demo`, or `demo --serve` started by a
    /// test): its admin is the tests', and its national root the one trusted.
    pub fn adopt_demo(&self) {
        self.adopt(TEST_ADMIN, &std::fs::read_to_string(self.path("demo-admin.token")).unwrap());
        let root = ansinh::release::keys::read_public(&self.path("demo-root.pub")).unwrap();
        let config = self.trust.path().join("demo.toml");
        std::fs::write(&config, format!("[trust]\nroot_public_key = \"{}\"\n", hex::encode(root.as_bytes()))).unwrap();
        *self.trusted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = (config, self.path("demo-root.pem"));
    }

    /// Act as `who` with `token` from now on: for a database whose accounts
    /// a test made itself (its own first admin as [`TEST_ADMIN`], the demo's
    /// officer as `test-officer`).
    pub fn adopt(&self, who: &str, token: &str) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.insert(who.to_owned(), token.trim().to_owned());
    }

    /// A synthetic Hà Nội (001) of `people` made from `seed`, for `period`,
    /// written into the folder: the registry extract and the enrolment file.
    pub fn population(&self, seed: u64, people: u64, period: &str) -> (PathBuf, PathBuf) {
        let spec = ansinh::synthetic::Spec { seed, people, province: "001".into(), period: period.parse().unwrap() };
        let (registry, enrolment) = (self.path("registry.csv"), self.path("enrolment.csv"));
        let create = |p: &Path| std::io::BufWriter::new(std::fs::File::create(p).unwrap());
        ansinh::synthetic::generate(&spec, create(&registry), create(&enrolment)).unwrap();
        (registry, enrolment)
    }

    /// Import a registry extract and an enrolment file, as the test officer.
    pub fn import(&self, registry: &Path, enrolment: &Path) {
        ok(self.cli().args(["registry", "import"]).arg(registry));
        ok(self.cli().args(["beneficiaries", "import"]).arg(enrolment));
    }

    /// Release `plugin` as the README's authoring section does: a new key for
    /// `authority`, certified by the trusted root and registered, upload with
    /// its `cases` (by an author), sign, approve (by a second person: the
    /// cases run), activate from `from`. The release's id.
    pub fn release(&self, plugin: &Path, cases: &Path, authority: &str, from: &str) -> String {
        let keys = tempfile::tempdir().unwrap();
        let key = keys.path().join("key.pem");
        self.key("author", authority, &key);
        let id = stdout(&ok(self.as_("author").args(["plugin", "upload"]).arg(plugin).arg("--cases").arg(cases)));
        let id = id.trim().to_owned();
        ok(self.as_("author").args(["plugin", "sign", &id, "--key"]).arg(&key));
        ok(self.as_("approver").args(["plugin", "approve", &id]));
        ok(self.as_("approver").args(["plugin", "activate", &id, "--from", from]));
        id
    }

    /// The national plug-in, released from 2021-07 (the first month it encodes).
    pub fn release_national(&self) -> String {
        let cases = workspace().join("plugins/national-social-assistance/cases.yaml");
        self.release(&national_plugin(), &cases, "national", "2021-07")
    }

    /// Create a run of social assistance in Hà Nội (001) for `period`; its id.
    pub fn create_run(&self, period: &str) -> String {
        let created = ok(self.cli().args([
            "run",
            "create",
            "--program",
            "social-assistance",
            "--province",
            "001",
            "--period",
            period,
        ]));
        stdout(&created).trim().to_owned()
    }

    /// Evaluate run `run`; what it printed.
    pub fn evaluate(&self, run: &str) -> Output {
        ok(self.cli().args(["run", "evaluate", run]))
    }

    /// Import a synthetic Hà Nội (001) of `people` made from `seed` (its CSV
    /// files in the folder), release the national plug-in, and create and
    /// evaluate run 1 for `period`; the run's id.
    pub fn evaluated_run(&self, seed: u64, people: u64, period: &str) -> String {
        let (registry, enrolment) = self.population(seed, people, period);
        self.import(&registry, &enrolment);
        self.release_national();
        let run = self.create_run(period);
        self.evaluate(&run);
        run
    }

    /// The checksum `run show` asks an approver to approve.
    pub fn checksum_to_approve(&self, run: &str) -> String {
        let shown = stdout(&ok(self.cli().args(["run", "show", run])));
        let tail = shown.split("--checksum ").nth(1).unwrap_or_else(|| panic!("run show offers no approval:\n{shown}"));
        tail.split_whitespace().next().expect("a checksum").to_owned()
    }

    /// Approve run `run` as a second person (test-supervisor), with the checksum
    /// `run show` prints, as an approver would.
    pub fn approve(&self, run: &str) -> Output {
        let checksum = self.checksum_to_approve(run);
        ok(self.as_("test-supervisor").args(["run", "approve", run, "--checksum", &checksum]))
    }

    /// Run SQL on the database directly, to check what the binary stored or to
    /// tamper with it. Each call connects afresh on a runtime of its own.
    pub fn sql<T: Send + 'static>(
        &self,
        f: impl FnOnce(ansinh::store::Db) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>> + Send + 'static,
    ) -> T {
        let url = self.url().to_owned();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let db = ansinh::store::Db::connect(&url).await.expect("connect to the test database");
                let out = f(db.clone()).await;
                db.close().await;
                out
            })
        })
        .join()
        .expect("database thread")
    }

    /// `SELECT` one whole number.
    pub fn scalar(&self, query: impl Into<String>) -> i64 {
        self.one(query.into())
    }

    /// `SELECT` one text value, e.g. a stored hash.
    pub fn text(&self, query: impl Into<String>) -> String {
        self.one(query.into())
    }

    /// `SELECT` a column of whole numbers, e.g. ids, in the order the query gives.
    pub fn numbers(&self, query: impl Into<String>) -> Vec<i64> {
        use ansinh::store::Db;
        let query = query.into();
        self.sql(move |db| {
            Box::pin(async move {
                let safe = || sqlx::AssertSqlSafe(query.clone());
                match db {
                    Db::Sqlite(pool) => sqlx::query_scalar::<_, i64>(safe()).fetch_all(&pool).await,
                    Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(safe()).fetch_all(&pool).await,
                }
                .unwrap_or_else(|e| panic!("{query}: {e}"))
            })
        })
    }

    /// The input run `run` gave the plug-in for `beneficiary` in `period`, as
    /// ansinh reads it back (unpacked, when it is stored packed).
    pub fn stored_input(&self, run: i64, period: &str, beneficiary: i64) -> Option<String> {
        let key = (period.to_owned(), beneficiary);
        self.sql(move |db| {
            Box::pin(async move {
                let (row, _, _) = ansinh::store::decisions::one(&db, run, &key).await.expect("read").expect("stored");
                row.input
            })
        })
    }

    /// `SELECT` one value, of a type both backends read.
    fn one<T>(&self, query: String) -> T
    where
        T: Send + Unpin + 'static,
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        use ansinh::store::Db;
        self.sql(move |db| {
            Box::pin(async move {
                let safe = || sqlx::AssertSqlSafe(query.clone());
                match db {
                    Db::Sqlite(pool) => sqlx::query_scalar::<_, T>(safe()).fetch_one(&pool).await,
                    Db::Postgres(pool) => sqlx::query_scalar::<_, T>(safe()).fetch_one(&pool).await,
                }
                .unwrap_or_else(|e| panic!("{query}: {e}"))
            })
        })
    }

    /// Execute a statement; the database's error, if any, as text.
    /// The plan the database makes for `query` with `params` ($1, $2, ...)
    /// written in as SQL literals, one line of it a line: `EXPLAIN QUERY
    /// PLAN`'s details on SQLite, `EXPLAIN`'s text on PostgreSQL.
    pub fn plan(&self, query: &str, params: &[&str]) -> String {
        use ansinh::store::Db;
        // From the last, so that $1 does not take the start of a $10.
        let query = params
            .iter()
            .enumerate()
            .rev()
            .fold(query.to_owned(), |q, (i, value)| q.replace(&format!("${}", i + 1), value));
        self.sql(move |db| {
            Box::pin(async move {
                match db {
                    Db::Sqlite(pool) => {
                        let explain = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {query}"));
                        let rows: Vec<(i64, i64, i64, String)> =
                            sqlx::query_as(explain).fetch_all(&pool).await.unwrap();
                        rows.into_iter().map(|(_, _, _, detail)| detail).collect::<Vec<_>>().join("\n")
                    }
                    Db::Postgres(pool) => {
                        let explain = sqlx::AssertSqlSafe(format!("EXPLAIN {query}"));
                        let rows: Vec<(String,)> = sqlx::query_as(explain).fetch_all(&pool).await.unwrap();
                        rows.into_iter().map(|(line,)| line).collect::<Vec<_>>().join("\n")
                    }
                }
            })
        })
    }

    pub fn execute(&self, statement: impl Into<String>) -> Result<u64, String> {
        use ansinh::store::Db;
        let statement = statement.into();
        self.sql(move |db| {
            Box::pin(async move {
                let safe = sqlx::AssertSqlSafe(statement);
                match db {
                    Db::Sqlite(pool) => sqlx::query(safe).execute(&pool).await.map(|r| r.rows_affected()),
                    Db::Postgres(pool) => sqlx::query(safe).execute(&pool).await.map(|r| r.rows_affected()),
                }
                .map_err(|e| e.to_string())
            })
        })
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// Run the real binary to its end: exit code, what it said, and its own peak
/// resident memory in KiB. Linux counts in a process's peak the memory of the
/// process it was started from, up to its exec: started from this test
/// process, which holds every test's memory, the binary would show that. So a
/// small python3 starts it and reports `RUSAGE_CHILDREN`'s `ru_maxrss`, which
/// is then the binary's own.
pub fn run_measured(cmd: &std::process::Command) -> (i32, String, i64) {
    const SCRIPT: &str = "import resource, subprocess, sys\n\
        code = subprocess.run(sys.argv[1:]).returncode\n\
        sys.stderr.write('\\n%s %d\\n' % (MARK, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
        sys.exit(code if code >= 0 else 128 - code)\n";
    const MARK: &str = "peak-resident-kib";
    let mut wrapper = std::process::Command::new("python3");
    wrapper.arg("-c").arg(format!("MARK = {MARK:?}\n{SCRIPT}")).arg(cmd.get_program()).args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapper.env(key, value),
            None => wrapper.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapper.current_dir(dir);
    }
    let out = wrapper.output().expect("run python3, which starts ansinh and measures it");
    let said = text(&out);
    let (said, peak) = said.rsplit_once(&format!("\n{MARK} ")).unwrap_or_else(|| panic!("no peak reported:\n{said}"));
    (out.status.code().unwrap_or(-1), said.to_owned(), peak.trim().parse().unwrap())
}

/// Run and require success; on failure the panic shows what the command said.
pub fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run ansinh");
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}", out.status, text(&out));
    out
}

/// Run and require failure; returns what it said.
pub fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run ansinh");
    assert!(!out.status.success(), "{cmd:?} should have failed:\n{}", text(&out));
    text(&out)
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Build a plug-in crate of the workspace (its folder, e.g. `plugins/x`) with
/// `ansinh plugin build`, once per test process; the component's path.
pub fn plugin(dir: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(dir) {
        return path.clone();
    }
    let out = ok(ansinh().arg("plugin").arg("build").arg(workspace().join(dir)));
    let path = PathBuf::from(stdout(&out).lines().last().expect("plugin build prints the path").trim());
    assert!(path.is_file(), "{} was not built", path.display());
    built.insert(dir.to_owned(), path.clone());
    path
}

pub fn national_plugin() -> PathBuf {
    plugin("plugins/national-social-assistance")
}

pub fn hostile_plugin() -> PathBuf {
    plugin("tests/plugins/hostile")
}

/// A fresh, empty database on one backend, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// SQL for the bytes of `column` as hex text.
    pub fn hex(self, column: &str) -> String {
        match self {
            Backend::Sqlite => format!("hex({column})"),
            Backend::Postgres => format!("encode({column}, 'hex')"),
        }
    }

    /// SQL for the bytes written as `hex`.
    pub fn unhex(self, hex: &str) -> String {
        match self {
            Backend::Sqlite => format!("X'{hex}'"),
            Backend::Postgres => format!("decode('{hex}', 'hex')"),
        }
    }
}

/// The PostgreSQL server the tests create databases on. Every machine here has
/// one; a test that cannot reach it fails, it does not skip.
fn postgres_admin_url() -> String {
    std::env::var("ANSINH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                TestDb { url: dir.path().join("ansinh.db").display().to_string(), _dir: Some(dir), postgres: None }
            }
            Backend::Postgres => {
                static N: AtomicU32 = AtomicU32::new(0);
                let name = format!("ansinh_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
                let admin = postgres_admin_url();
                admin_sql(&admin, &format!("DROP DATABASE IF EXISTS {name}"));
                admin_sql(&admin, &format!("CREATE DATABASE {name}"));
                let base = admin.rsplit_once('/').expect("URL ends with /database").0;
                TestDb { url: format!("{base}/{name}"), _dir: None, postgres: Some((admin, name)) }
            }
        }
    }

    /// The SQLite database a command made at `url` (e.g. the demo's own, in
    /// its `--dir`): it goes with its folder, not with this value.
    pub fn sqlite_file(url: &str) -> TestDb {
        TestDb { url: url.to_owned(), _dir: None, postgres: None }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            admin_sql(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Run one statement on the admin database, on a runtime of its own (tests
/// and `Drop` may be outside any runtime).
fn admin_sql(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
                panic!(
                    "cannot reach PostgreSQL at {url}: {e}. Start it (pg_ctlcluster --skip-systemctl-redirect \
                     $(ls /etc/postgresql) main start) or set ANSINH_TEST_POSTGRES_URL"
                )
            });
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    })
    .join()
    .expect("admin statement");
}

/// Count `<tag>` elements and sum their text, for checking payment files.
pub fn sum_elements(xml: &str, tag: &str) -> (u64, u64) {
    let open = format!("<{tag}");
    let mut count = 0;
    let mut sum = 0;
    for piece in xml.split(&open).skip(1) {
        let value = piece.split_once('>').expect("element closes").1.split('<').next().unwrap();
        count += 1;
        sum += value.trim().parse::<u64>().unwrap_or_else(|_| panic!("<{tag}> holds {value:?}, not a whole number"));
    }
    (count, sum)
}

/// The text of the first `<tag>` element.
pub fn first_element<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(v, _)| v)
        .unwrap_or_else(|| panic!("no <{tag}>"))
}

/// A line of `run show`'s outcome table, e.g. `count(&out, "paid")`.
pub fn outcome_count(report: &str, label: &str) -> i64 {
    report
        .lines()
        .find_map(|line| {
            let rest = line.trim_start().strip_prefix(label)?;
            let number = rest.split_whitespace().next()?;
            number.replace(',', "").parse().ok()
        })
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{report}"))
}
