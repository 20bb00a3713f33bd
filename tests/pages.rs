//! The web pages in a real browser (headless Chromium through chromedriver)
//! against the real `ansinh demo --serve`, on both backends: signing in by a
//! click, the runs of the officer's province and a run's page, in Vietnamese
//! and in English, at desktop and phone widths; and the refusals: another
//! province's run by its URL, a form without its CSRF token, a session after
//! sign-out.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use fantoccini::Locator;

use crate::support::browser::Browser;
use crate::support::oidc::Provider;
use crate::support::service::Server;
use crate::support::{Driver, TEST_ADMIN, ok, stdout};

/// `ansinh demo --serve` on `t`'s database, on a free port of loopback.
struct Demo {
    child: Child,
    base: String,
}

impl Demo {
    fn start(t: &Driver, people: u32) -> Demo {
        let mut child = t
            .bare()
            .args(["demo", "--people", &people.to_string(), "--dir"])
            .arg(t.dir.path())
            .args(["--serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("demo --serve ended before it listened").unwrap();
            if let Some(address) = line.strip_prefix("Listening on ") {
                break address.to_owned();
            }
        };
        t.adopt_demo();
        Demo { child, base }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn an_officer_signs_in_and_reads_their_runs(t: Driver) {
    let demo = Demo::start(&t, 300);
    // A run of another province (Hồ Chí Minh City, 079), by a national officer.
    let other = stdout(&ok(t.cli().args([
        "run",
        "create",
        "--program",
        "social-assistance",
        "--province",
        "079",
        "--period",
        "2024-09",
    ])));
    let other = other.trim().to_owned();
    let shot = |name: &str| format!("{name}-{:?}", t.backend).to_lowercase();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let browser = Browser::start(1280).await;
        let b = &browser;
        // Not signed in: sent to sign in, and back after.
        b.client.goto(&format!("{}/runs/1", demo.base)).await.unwrap();
        assert_eq!(b.url().await, "/sign-in?back=/runs/1");
        b.screenshot(&shot("sign-in-vi-desktop")).await;
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "the sign-in page");
        b.click("Đăng nhập là demo-officer").await;
        assert_eq!(b.url().await, "/runs/1");
        let page = b.text().await;
        assert!(page.contains("Đợt chi trả 1") && page.contains("Được chi trả"), "{page}");
        // Money as Vietnamese writes it: 1.234.567 ₫.
        assert!(page.contains(" ₫") && !page.contains("VND"), "{page}");
        b.screenshot(&shot("run-vi-desktop")).await;
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "the run's page");
        // An exception queue: its people by name and beneficiary number, never an ID number.
        b.click("Chưa được CSDL dân cư xác minh").await;
        let queue = b.text().await;
        let source = b.client.source().await.unwrap();
        assert!(queue.contains("Họ và tên") && queue.contains('#'), "{queue}");
        let numbers = t.numbers("SELECT CAST(id_number AS BIGINT) FROM beneficiaries");
        assert!(!numbers.is_empty());
        for number in &numbers {
            assert!(!source.contains(&format!("{number:012}")), "an ID number on the exceptions page");
        }
        // A person's own page: their decision, why in both languages with the article it rests
        // on, the registry's checks; and their whole ID number, there only. One paid in cash.
        b.client.back().await.unwrap();
        b.click("Không có tài khoản: nhận tiền mặt qua Bưu điện").await;
        let person = b.client.find(Locator::Css("table.exceptions a")).await.unwrap();
        b.navigating(person.click()).await;
        let own = b.text().await;
        assert!(own.contains("Căn cứ pháp lý") && own.contains("Tiếng Việt") && own.contains("English"), "{own}");
        assert!(own.contains("Decree") && own.contains("Đối chiếu với CSDL quốc gia về dân cư"), "{own}");
        assert!(numbers.iter().any(|n| own.contains(&format!("{n:012}"))), "the person's own ID number: {own}");
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "a person's page");
        b.screenshot(&shot("decision-vi-desktop")).await;
        b.client.back().await.unwrap();
        b.client.back().await.unwrap();
        b.click("Đợt chi trả").await;
        assert_eq!(b.url().await, "/runs");
        let listed = b.text().await;
        assert!(listed.contains("09/2024") && !listed.contains("079"), "only 001's runs: {listed}");
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "the runs page");
        // English, kept by a cookie.
        b.click("English").await;
        assert_eq!(b.url().await, "/runs");
        b.click("1").await;
        let english = b.text().await;
        assert!(
            english.contains("Payment run 1") && english.contains("Payable") && english.contains("VND "),
            "{english}"
        );
        b.screenshot(&shot("run-en-desktop")).await;
        // Another province's run, by its URL: not found, as if it did not exist.
        b.client.goto(&format!("{}/runs/{other}", demo.base)).await.unwrap();
        let refused = b.text().await;
        assert!(refused.contains("Not found") && !refused.contains("079"), "{refused}");

        // The officer of the demo is also its province's auditor: the run's log, a replay as a job,
        // and a person looked up by an ID number typed into a form, shown under their keyed hash.
        b.client.goto(&format!("{}/runs", demo.base)).await.unwrap();
        b.click("Audit").await;
        b.fill("[name='run']", "1").await;
        let filter = b.client.find(Locator::Css("form.filters button")).await.unwrap();
        b.navigating(filter.click()).await;
        let log = b.text().await;
        assert!(log.contains("run.approve") && log.contains("demo-approver"), "{log}");
        b.client.goto(&format!("{}/runs/1", demo.base)).await.unwrap();
        b.click("Replay the decisions").await;
        assert!(b.url().await.starts_with("/jobs/"), "{}", b.url().await);
        b.until_says("\"identical\": true").await;
        // A bundle that replays offline: exported as a job, downloaded from its page with the session.
        b.client.goto(&format!("{}/runs/1", demo.base)).await.unwrap();
        b.click("Export an audit bundle").await;
        b.until_says("Download the bundle").await;
        let job = b.url().await;
        let cookie = b.client.get_named_cookie("ansinh_session").await.unwrap();
        let got = raw_get(&demo.base, &format!("{job}/bundle"), &format!("ansinh_session={}", cookie.value()));
        let recorded = t.text("SELECT result FROM jobs WHERE kind = 'audit.export'");
        let sha256 = got.lines().find_map(|l| l.strip_prefix("x-content-sha256: ")).unwrap_or_default();
        assert!(got.starts_with("HTTP/1.1 200") && sha256.len() == 64 && recorded.contains(sha256), "{recorded}");
        b.click("Audit").await;
        b.click("Look a person up").await;
        let number = t.text("SELECT id_number FROM beneficiaries ORDER BY id LIMIT 1");
        b.fill("[name='id_number']", &number).await;
        let look_up = b.client.find(Locator::XPath("//button[contains(., 'Look up')]")).await.unwrap();
        b.navigating(look_up.click()).await;
        assert_eq!(b.url().await, "/audit/person", "the number travels in the body, not the URL");
        let history = b.text().await;
        assert!(history.contains("This person in the log and bundles") && !history.contains(&number), "{history}");
        assert!(history.contains("2024-09"), "{history}");

        // A form without its CSRF token is refused; the session goes on.
        let cookie = b.client.get_named_cookie("ansinh_session").await.unwrap();
        let forged = raw_post(&demo.base, "/sign-out", &format!("ansinh_session={}", cookie.value()), "csrf=guess");
        assert!(forged.starts_with("HTTP/1.1 403"), "{forged}");
        // A way back that a browser would read as another site's (a tab it drops): home instead.
        for elsewhere in ["//evil.example", "/%09/evil.example", "/%5Cevil.example"] {
            let sent = raw_get(&demo.base, &format!("/lang/vi?back={elsewhere}"), "");
            assert!(sent.contains("\nlocation: /\n"), "{elsewhere}: {sent}");
        }
        b.client.goto(&format!("{}/runs", demo.base)).await.unwrap();
        assert_eq!(b.url().await, "/runs");
        // Signing out ends the session: its cookie, replayed, no longer opens a page.
        let sign_out = b.client.find(Locator::Css("form.who button")).await.unwrap();
        b.navigating(sign_out.click()).await;
        assert!(b.url().await.starts_with("/sign-in"), "{}", b.url().await);
        let replayed = raw_get(&demo.base, "/runs", &format!("ansinh_session={}", cookie.value()));
        assert!(replayed.starts_with("HTTP/1.1 303") && replayed.contains("location: /sign-in"), "{replayed}");
        browser.close().await;

        // A phone's width, Vietnamese.
        let phone = Browser::start(390).await;
        phone.client.goto(&format!("{}/sign-in?back=/runs/1", demo.base)).await.unwrap();
        phone.click("Đăng nhập là demo-approver").await;
        assert_eq!(phone.url().await, "/runs/1");
        phone.screenshot(&shot("run-vi-phone")).await;
        phone.close().await;
    });
    let recorded = t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'session.open'");
    assert_eq!(recorded, 2, "each sign-in is on record");
    let read =
        t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal.read' AND details LIKE '%exceptions%'");
    assert_eq!(read, 2, "each page of exceptions is a recorded read");
    let own =
        t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal.read' AND details LIKE '%\"decision\"%'");
    assert_eq!(own, 1, "a person's own page is a recorded read");
    let looked_up =
        t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal.read' AND details LIKE '%person history%'");
    assert_eq!(looked_up, 1, "the look-up is a recorded read");
}

on_both_backends!(an_officer_signs_in_and_reads_their_runs);

/// A month by clicks and typing: the officer creates October's run and
/// evaluates it (the progress bar, then the outcomes), the approver approves it
/// by keyboard alone and a refusal without a reason is not taken, the officer
/// issues it.
fn a_month_by_clicks(t: Driver) {
    let demo = Demo::start(&t, 300);
    let base = demo.base.clone();
    // An officer who also approves (national): her own run is not hers to approve.
    t.token("lan");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let b = Browser::start(1280).await;
        b.client.goto(&format!("{base}/runs")).await.unwrap();
        b.click("Đăng nhập là demo-officer").await;
        // The new run's form is folded away until asked for.
        b.client.find(Locator::Css("details.new-run summary")).await.unwrap().click().await.unwrap();
        b.fill(".new-run [name='period']", "2024-10").await;
        let create = b.client.find(Locator::Css(".new-run button")).await.unwrap();
        b.navigating(create.click()).await;
        let made = b.url().await;
        assert!(made.ends_with("?done=created"), "{made}: {}", b.text().await);
        let run = made.trim_start_matches("/runs/").split('?').next().unwrap().to_owned();
        assert!(b.text().await.contains("Đã tạo đợt chi trả."), "{}", b.text().await);
        b.click("Xét duyệt đợt chi trả").await;
        b.until_says("Trạng thái: Đã xét duyệt").await;
        let evaluated = b.text().await;
        assert!(evaluated.contains("Được chi trả") && evaluated.contains("Chờ phê duyệt"), "{evaluated}");
        // The officer is offered no approval.
        assert!(!evaluated.contains("Phê duyệt chi trả"), "{evaluated}");
        assert!(evaluated.contains("Theo nhóm đối tượng"), "the categories: {evaluated}");
        // What changed since September's run.
        b.click("Thay đổi so với tháng trước").await;
        let changes = b.text().await;
        assert!(changes.contains("So với Đợt chi trả 1") && changes.contains("Mới được chi trả"), "{changes}");
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "the changes page");
        b.client.back().await.unwrap();

        b.sign_in_as(&base, "demo-approver", &format!("/runs/{run}")).await;
        assert_eq!(b.url().await, format!("/runs/{run}"));
        // A refusal needs a reason: the browser does not send the form without one.
        let refuse = b.client.find(Locator::XPath("//button[contains(., 'Từ chối')]")).await.unwrap();
        refuse.click().await.unwrap();
        let invalid = "return document.querySelector('.refuse textarea').matches(':invalid');";
        assert_eq!(b.client.execute(invalid, vec![]).await.unwrap(), serde_json::Value::Bool(true));
        assert_eq!(b.url().await, format!("/runs/{run}"));
        // Approve by keyboard alone: Tab to the button, Enter.
        b.client.refresh().await.unwrap();
        let mut tabs = 0;
        loop {
            b.press('\u{E004}').await.unwrap();
            tabs += 1;
            let focused = b.client.active_element().await.unwrap();
            if focused.text().await.unwrap_or_default().contains("Phê duyệt chi trả") {
                break;
            }
            assert!(tabs < 40, "the approve button is not reached by Tab");
        }
        b.navigating(b.press('\u{E007}')).await;
        assert!(b.text().await.contains("Đã phê duyệt."), "{}", b.text().await);

        b.sign_in_as(&base, "demo-officer", &format!("/runs/{run}")).await;
        b.click("Lập lệnh chi").await;
        // Issued, and once the job has written them, the files.
        b.until_says("Tệp lệnh chi").await;
        // The files, each with its sha256; one downloaded with the session is the file recorded.
        let issued = b.text().await;
        assert!(issued.contains("Tệp lệnh chi") && issued.contains("sha256"), "{issued}");
        let link = b.client.find(Locator::Css("table.files a")).await.unwrap();
        let href = link.attr("href").await.unwrap().unwrap();
        let cookie = b.client.get_named_cookie("ansinh_session").await.unwrap();
        let got = raw_get(&base, &href, &format!("ansinh_session={}", cookie.value()));
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        let written = std::fs::read(t.path("outbox").join(href.rsplit('/').next().unwrap())).unwrap();
        let written = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&written));
        assert!(got.contains(&format!("x-content-sha256: {written}")), "{got}");
        // The bank's answer, uploaded by the form: one transfer rejected, AC04 (account closed).
        let first_bank = t.scalar(format!(
            "SELECT beneficiary_id FROM payments WHERE run_id = {run} AND channel = 'bank' ORDER BY id LIMIT 1"
        ));
        let (e2e, amount) = crate::money_path::payment_of(&t, &run, first_bank);
        let bank = |what: &str| {
            t.scalar(format!(
                "SELECT CAST(COALESCE({what}, 0) AS BIGINT) FROM payments WHERE run_id = {run} AND channel = 'bank'"
            ))
        };
        let answer = crate::support::pain002::pain002(
            "12",
            &format!("ANSINH-R{run}-202410"),
            bank("COUNT(*)") as u64,
            bank("SUM(amount)") as u64,
            "PART",
            &[crate::support::pain002::tx(&e2e, "RJCT", Some("AC04"), Some(amount))],
        );
        let report = t.path("pain002.xml");
        std::fs::write(&report, answer).unwrap();
        b.client
            .find(Locator::Css("input[type=file][name=report]"))
            .await
            .unwrap()
            .send_keys(report.to_str().unwrap())
            .await
            .unwrap();
        b.click("Nạp phản hồi của ngân hàng").await;
        let reconciled = b.text().await;
        assert!(reconciled.contains("Kết quả đối soát") && reconciled.contains("AC04"), "{reconciled}");

        // The approver's own run: Lan creates and evaluates November's; its page offers her no
        // approval but says why, and her approval sent without the page is refused.
        b.sign_in_as(&base, "lan", "/runs").await;
        b.client.find(Locator::Css("details.new-run summary")).await.unwrap().click().await.unwrap();
        b.fill(".new-run [name='province']", "001").await;
        b.fill(".new-run [name='period']", "2024-11").await;
        let create = b.client.find(Locator::Css(".new-run button")).await.unwrap();
        b.navigating(create.click()).await;
        let own = b.url().await.trim_start_matches("/runs/").split('?').next().unwrap().to_owned();
        b.click("Xét duyệt đợt chi trả").await;
        b.until_says("Trạng thái: Đã xét duyệt").await;
        let page = b.text().await;
        assert!(page.contains("nguyên tắc bốn mắt") && !page.contains("Phê duyệt chi trả"), "{page}");
        // What she sees to approve, checksum and all: right, yet not hers.
        let shown = b.client.find(Locator::Css("section[aria-labelledby=approve-heading] code")).await.unwrap();
        let checksum = shown.text().await.unwrap();
        let csrf = b.client.find(Locator::Css("form.who input[name=csrf]")).await.unwrap();
        let csrf = csrf.attr("value").await.unwrap().unwrap();
        let cookie = b.client.get_named_cookie("ansinh_session").await.unwrap();
        let session = format!("ansinh_session={}", cookie.value());
        let forced =
            raw_post(&base, &format!("/runs/{own}/approve"), &session, &format!("csrf={csrf}&checksum={checksum}"));
        assert!(forced.starts_with("HTTP/1.1 409") && forced.contains("a second person"), "{forced}");
        assert_eq!(t.text(format!("SELECT status FROM runs WHERE id = {own}")), "evaluated");
        b.close().await;
    });
    let rejected = t.scalar(
        "SELECT COUNT(*) FROM payments p JOIN runs r ON r.id = p.run_id WHERE r.period = '2024-10' AND p.rejected",
    );
    assert_eq!(rejected, 1);
    let status = t.text("SELECT status FROM runs WHERE period = '2024-10'");
    assert_eq!(status, "reconciled");
    let approved_by = t.text("SELECT approved_by FROM runs WHERE period = '2024-10'");
    assert_eq!(approved_by, "demo-approver");
}

on_both_backends!(a_month_by_clicks);

/// Every page, in Vietnamese and in English, at a desktop's width and a
/// phone's (390 px), on SQLite: each saved as a screenshot under
/// target/screenshots, each checked by axe-core, and none writing an error
/// to the console (checked as each browser closes).
fn every_page_in_both_languages_at_both_widths(t: Driver) {
    let demo = Demo::start(&t, 300);
    let base = demo.base.clone();
    let person = t.scalar("SELECT beneficiary_id FROM decisions WHERE run_id = 1 AND exception = 'no_account' LIMIT 1");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for (width, size) in [(1280, "desktop"), (390, "phone")] {
            let b = Browser::start(width).await;
            b.client.goto(&format!("{base}/sign-in")).await.unwrap();
            b.screenshot(&format!("sign-in-vi-{size}")).await;
            b.click("Đăng nhập là demo-officer").await;
            // A job to show: a replay of September's run, started by its form.
            b.client.goto(&format!("{base}/runs/1")).await.unwrap();
            let replay = b.client.find(Locator::Css("form[action='/runs/1/replay'] button")).await.unwrap();
            b.navigating(replay.click()).await;
            let job = b.url().await;
            let pages = [
                ("runs", "/runs".to_owned()),
                ("run", "/runs/1".to_owned()),
                ("exceptions", "/runs/1/exceptions?kind=not_verified".to_owned()),
                ("decision", format!("/runs/1/decisions/{person}")),
                ("changes", "/runs/1/changes".to_owned()),
                ("releases", "/releases".to_owned()),
                ("release", "/releases/1".to_owned()),
                ("audit", "/audit?run=1".to_owned()),
                ("audit-person", "/audit/person".to_owned()),
                ("job", job),
                ("not-found", "/runs/999999".to_owned()),
            ];
            for lang in ["vi", "en"] {
                b.client.goto(&format!("{base}/lang/{lang}?back=/runs")).await.unwrap();
                for (name, path) in &pages {
                    b.client.goto(&format!("{base}{path}")).await.unwrap();
                    assert_eq!(&b.url().await, path, "{name}");
                    let html_lang = b.client.find(Locator::Css("html")).await.unwrap().attr("lang").await.unwrap();
                    assert_eq!(html_lang.as_deref(), Some(lang), "{name}");
                    assert_eq!(b.accessibility().await, Vec::<String>::new(), "{name}, {lang}, {size}");
                    b.screenshot(&format!("{name}-{lang}-{size}")).await;
                }
            }
            b.close().await;
        }
    });
}

mod every_page_in_both_languages_at_both_widths {
    #[test]
    fn sqlite() {
        super::every_page_in_both_languages_at_both_widths(crate::support::Driver::new(
            crate::support::Backend::Sqlite,
        ));
    }
}

/// A release by clicks: an author uploads Hà Nội's plug-in with its cases (a
/// file that is no plug-in is refused, saying why), sees its cases pass with
/// their fuel, and adds the signature made offline by `ansinh plugin sign`; a
/// what-if over September's run is on its page as totals; the approver
/// approves it and puts it in force.
fn a_release_by_clicks(t: Driver) {
    let demo = Demo::start(&t, 300);
    let base = demo.base.clone();
    let plugin = crate::support::plugin("plugins/hanoi-social-assistance");
    let cases = crate::support::workspace().join("plugins/hanoi-social-assistance/cases.yaml");
    let key = t.path("hanoi.pem");
    t.key("keeper", "001", &key);
    t.token("author");
    let signature = t.path("signature.json");
    ok(crate::support::ansinh()
        .args(["plugin", "sign", "--key"])
        .arg(&key)
        .arg("--plugin")
        .arg(&plugin)
        .arg("--cases")
        .arg(&cases)
        .arg("--out")
        .arg(&signature));
    let shot = |name: &str| format!("{name}-{:?}", t.backend).to_lowercase();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let b = Browser::start(1280).await;
        b.client.goto(&format!("{base}/releases")).await.unwrap();
        b.click("Đăng nhập là author").await;
        assert_eq!(b.url().await, "/releases");
        let listed = b.text().await;
        assert!(listed.contains("Đang hiệu lực") && listed.contains("national"), "the demo's release: {listed}");
        let nav = b.client.find(Locator::Css("header nav")).await.unwrap().text().await.unwrap();
        assert!(nav.contains("Bản quy tắc") && !nav.contains("Đợt chi trả"), "an author reads no runs: {nav}");
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "the releases page");
        b.screenshot(&shot("releases-vi-desktop")).await;
        let upload = |wasm: std::path::PathBuf| {
            let (b, cases, base) = (&b, cases.clone(), &base);
            async move {
                b.client.goto(&format!("{base}/releases")).await.unwrap();
                b.client.find(Locator::Css("details.new-release summary")).await.unwrap().click().await.unwrap();
                let file = |name: &'static str| b.client.find(Locator::Css(name));
                file("[name='plugin']").await.unwrap().send_keys(&wasm.display().to_string()).await.unwrap();
                file("[name='cases']").await.unwrap().send_keys(&cases.display().to_string()).await.unwrap();
                let send = b.client.find(Locator::Css(".new-release button")).await.unwrap();
                b.navigating(send.click()).await;
            }
        };
        // A file that is no plug-in: refused, saying what is wrong with it.
        upload(cases.clone()).await;
        let refused = b.text().await;
        assert!(
            refused.contains("Chưa thực hiện được") && refused.contains("plugin: not a WebAssembly file"),
            "{refused}"
        );
        upload(plugin.clone()).await;
        let made = b.url().await;
        assert!(made.ends_with("?done=uploaded"), "{made}: {}", b.text().await);
        let release = made.trim_start_matches("/releases/").split('?').next().unwrap().to_owned();
        let page = b.text().await;
        assert!(page.contains("Đã tải lên. Bước tiếp: thêm chữ ký.") && page.contains("Tổng nhiên liệu"), "{page}");
        assert!(page.contains("Đạt") && !page.contains("Không đạt"), "its cases pass: {page}");
        assert!(!page.contains("Phê duyệt bản quy tắc"), "an author is offered no approval: {page}");
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "a release's page");
        b.screenshot(&shot("release-vi-desktop")).await;
        let file = b.client.find(Locator::Css("[name='signature']")).await.unwrap();
        file.send_keys(&signature.display().to_string()).await.unwrap();
        b.click("Thêm chữ ký").await;
        let signed = b.text().await;
        assert!(b.url().await.ends_with("?done=signed") && signed.contains("Ký bởi"), "{signed}");

        // An officer asks the candidate over September's run: its page shows the totals.
        ok(t.as_("test-officer").args(["run", "diff", "1", "--plugin"]).arg(&plugin));
        b.sign_in_as(&base, "demo-approver", &format!("/releases/{release}")).await;
        let page = b.text().await;
        assert!(page.contains("run:1") && page.contains("VND a month"), "the what-if: {page}");
        b.click("Phê duyệt bản quy tắc").await;
        assert!(b.url().await.ends_with("?done=approved"), "{}", b.text().await);
        b.fill("[name='from']", "2024-11").await;
        b.click("Cho hiệu lực").await;
        let active = b.text().await;
        assert!(active.contains("Đang hiệu lực") && active.contains("11/2024"), "{active}");
        // An admin has no page of theirs: told so, not sent round in circles.
        b.sign_in_as(&base, "demo-admin", "/").await;
        assert!(b.text().await.contains("không có vai trò nào"), "{}", b.text().await);
        b.close().await;
    });
    assert_eq!(t.text("SELECT state FROM releases WHERE authority = '001'"), "active");
}

on_both_backends!(a_release_by_clicks);

/// A person signs in through the OpenID provider (npm oidc-provider on
/// loopback): the authorisation code flow with PKCE, typed into the
/// provider's own pages. The session is of the account linked to the subject,
/// and its audit entry names the provider and subject; a subject linked to no
/// account, and an answer that this browser did not ask for, open none.
fn a_person_signs_in_through_their_provider(t: Driver) {
    const AUDIENCE: &str = "urn:ansinh:pages-test";
    let provider = Provider::for_pages("ansinh-pages");
    t.evaluated_run(81, 120, "2024-09");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = t.path("oidc.toml");
    let trust = std::fs::read_to_string(t.config()).unwrap();
    let oidc = format!(
        "[oidc]\nissuer = \"{}\"\naudience = \"{AUDIENCE}\"\nclient_id = \"ansinh-pages\"\n\
         redirect_uri = \"http://127.0.0.1:{port}/sign-in/callback\"\n",
        provider.issuer
    );
    std::fs::write(&config, format!("{trust}\n{oidc}")).unwrap();
    let server =
        Server::start_on(&t, &format!("127.0.0.1:{port}"), &[std::ffi::OsStr::new("--config"), config.as_os_str()]);
    let admin = t.token(TEST_ADMIN);
    let body = serde_json::json!({ "name": "Trần Thị Lan", "kind": "person", "roles": ["officer"], "scopes": ["province:001"] });
    let made = server.post("/v1/accounts", &admin, &body);
    assert_eq!(made.status, 201, "{}", made.body);
    let lan = made.json()["id"].as_i64().unwrap();
    let linked = server.post(&format!("/v1/accounts/{lan}/oidc"), &admin, &serde_json::json!({ "subject": "lan" }));
    assert_eq!(linked.status, 204, "{}", linked.body);
    let base = format!("http://{}", server.address);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let browser = Browser::start(1280).await;
        let b = &browser;
        // At the provider, a login and a password typed, then its consent.
        let at_provider = |login: &'static str| async move {
            b.fill("input[name=login]", login).await;
            b.fill("input[name=password]", "any password").await;
            let submit = b.client.find(Locator::Css("button[type=submit]")).await.unwrap();
            b.navigating(submit.click()).await;
            let consent = b.client.find(Locator::Css("button[type=submit]")).await.unwrap();
            b.navigating(consent.click()).await;
        };
        b.client.goto(&format!("{base}/runs")).await.unwrap();
        assert_eq!(b.url().await, "/sign-in?back=/runs");
        assert_eq!(b.accessibility().await, Vec::<String>::new(), "the sign-in page with a provider");
        b.click(&format!("Đăng nhập qua {}", provider.issuer)).await;
        let there = b.client.current_url().await.unwrap();
        assert_eq!(there.origin().ascii_serialization(), provider.issuer, "sent to the provider");
        at_provider("lan").await;
        assert_eq!(b.url().await, "/runs");
        let page = b.text().await;
        let signed = b.client.find(Locator::Css("form.who")).await.unwrap().text().await.unwrap();
        assert!(signed.contains("Trần Thị Lan") && page.contains("09/2024"), "{signed}\n{page}");
        let opened = t.text("SELECT details FROM audit_log WHERE action = 'session.open' ORDER BY seq DESC LIMIT 1");
        assert!(opened.contains(&provider.issuer) && opened.contains("\"subject\":\"lan\""), "{opened}");

        // A subject linked to no account: no session, and why.
        let out = b.client.find(Locator::Css("form.who button")).await.unwrap();
        b.navigating(out.click()).await;
        // And out of the provider (its cookies, which share 127.0.0.1 with the service's).
        b.client.delete_all_cookies().await.unwrap();
        b.click(&format!("Đăng nhập qua {}", provider.issuer)).await;
        at_provider("stranger").await;
        let refused = b.text().await;
        assert!(refused.contains("Chưa đăng nhập được") && refused.contains("subject stranger"), "{refused}");
        b.client.goto(&format!("{base}/runs")).await.unwrap();
        assert_eq!(b.url().await, "/sign-in?back=/runs", "no session for the stranger");
        browser.close().await;
    });
    // What is sent to the provider: a code challenge (S256), never its verifier, which stays
    // in the browser's cookie for the sign-in pages only.
    let start = raw_get(&base, "/sign-in/oidc?back=/runs", "");
    let location = start.lines().find_map(|l| l.strip_prefix("location: ")).unwrap_or_else(|| panic!("{start}"));
    let location = reqwest::Url::parse(location).unwrap();
    let asked: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(asked.get("code_challenge_method").map(String::as_str), Some("S256"), "{location}");
    assert_eq!(asked.get("code_challenge").map(String::len), Some(43), "{location}");
    assert_eq!(asked.get("client_id").map(String::as_str), Some("ansinh-pages"), "{location}");
    assert!(!location.as_str().contains("verifier"), "{location}");
    let cookie = start.lines().find(|l| l.starts_with("set-cookie: ansinh_oidc=")).unwrap_or_else(|| panic!("{start}"));
    assert!(cookie.contains("Path=/sign-in;") && cookie.contains("HttpOnly"), "{cookie}");
    // An answer of the provider that this browser did not ask for (no cookie, or another state).
    let forged = raw_get(&base, "/sign-in/callback?code=abc&state=def", "ansinh_oidc=");
    assert!(forged.starts_with("HTTP/1.1 403") && forged.contains("not started in this browser"), "{forged}");
}

on_both_backends!(a_person_signs_in_through_their_provider);

/// A raw HTTP/1.1 request: the status line and headers (names lower-cased), and the body.
fn raw(base: &str, request: String) -> String {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(request.replace("HOST", address).as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<String> = lines
        .map(|l| match l.split_once(':') {
            Some((name, value)) => format!("{}:{value}", name.to_ascii_lowercase()),
            None => l.to_owned(),
        })
        .collect();
    format!("{status}\n{}\n\n{body}", headers.join("\n"))
}

fn raw_post(base: &str, path: &str, cookie: &str, form: &str) -> String {
    raw(
        base,
        format!(
            "POST {path} HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    )
}

fn raw_get(base: &str, path: &str, cookie: &str) -> String {
    raw(base, format!("GET {path} HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\nCookie: {cookie}\r\n\r\n"))
}
