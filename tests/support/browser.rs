//! A real browser for the pages' tests: Debian's Chromium, headless, driven
//! through Debian's chromedriver (WebDriver) by fantoccini. Nothing skips: a
//! machine without them fails the test, saying what to install (`.ci/run`
//! installs both).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// chromedriver, started on a free port of loopback; stopped when dropped.
pub struct Browser {
    driver: Child,
    /// chromedriver's port, for what WebDriver lacks (the console's log).
    port: u16,
    pub client: Client,
}

impl Browser {
    /// A fresh headless Chromium, `width` pixels wide (a phone is 390).
    pub async fn start(width: u32) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // A process group of its own, so that the browsers it starts go with it (`Drop`), even when a
        // test fails before it closes its session.
        let driver = std::os::unix::process::CommandExt::process_group(&mut Command::new("chromedriver"), 0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver: {e}; install Debian's chromium and chromium-driver (.ci/run does)")
            });
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                    "--disable-gpu", "--disable-dev-shm-usage", format!("--window-size={width},900"),
                ],
            },
            // The console's messages, read by `console_errors`.
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no session from chromedriver on {url}: {e}"),
            }
        };
        Browser { driver, port, client }
    }

    /// Click the button or link whose text contains `text`, and wait for the page it leads to.
    pub async fn click(&self, text: &str) {
        let xpath = format!("//*[(self::button or self::a) and contains(normalize-space(.), '{text}')]");
        let found = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(found) => found,
            Err(e) => panic!("no button or link {text:?} on {}: {e}", self.url().await),
        };
        self.navigating(found.click()).await;
    }

    /// Do `act` (a click that leaves the page), and wait until the next page has loaded: the old
    /// page is marked first, and the wait ends once the document is one without the mark.
    pub async fn navigating<T>(&self, act: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>) {
        self.client.execute("window.ansinhOld = true;", vec![]).await.unwrap();
        act.await.unwrap();
        let started = Instant::now();
        loop {
            let probe = "return document.readyState === 'complete' && window.ansinhOld === undefined;";
            if let Ok(serde_json::Value::Bool(true)) = self.client.execute(probe, vec![]).await {
                return;
            }
            if started.elapsed() > Duration::from_secs(20) {
                self.screenshot("no-new-page").await;
                panic!("no new page after 20 s on {}: {}", self.url().await, self.text().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Type `text` into the field that the CSS `selector` finds.
    pub async fn fill(&self, selector: &str, text: &str) {
        let field = self.client.find(Locator::Css(selector)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Load the page again until its `<main>` says `text` (a job ending), for up to a minute.
    pub async fn until_says(&self, text: &str) {
        let started = Instant::now();
        loop {
            if self.text().await.contains(text) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} never said {text:?}: {}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            self.client.refresh().await.unwrap();
        }
    }

    /// Sign out (the frame's button), and sign in again as `who` by the demo's button.
    pub async fn sign_in_as(&self, base: &str, who: &str, back: &str) {
        if let Ok(button) = self.client.find(Locator::Css("form.who button")).await {
            self.navigating(button.click()).await;
        }
        self.client.goto(&format!("{base}/sign-in?back={back}")).await.unwrap();
        self.click(&format!("Đăng nhập là {who}")).await;
    }

    /// Press `key` on the keyboard (a WebDriver key: Tab is `\u{E004}`, Enter `\u{E007}`), as a
    /// person would, wherever the focus is.
    pub async fn press(&self, key: char) -> Result<(), fantoccini::error::CmdError> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client.perform_actions(keys).await
    }

    /// The serious and critical accessibility violations axe-core (npm, pinned in tests/axe)
    /// finds on the page, each as `rule: help (elements)`.
    pub async fn accessibility(&self) -> Vec<String> {
        let axe = super::workspace().join("tests/axe/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| {
            panic!("{}: {e}; `npm ci --prefix tests/axe` installs it (.ci/run does)", axe.display())
        });
        self.client.execute(&source, vec![]).await.unwrap();
        let run = "const done = arguments[arguments.length - 1];\
                   axe.run(document, { resultTypes: ['violations'] }).then(function (r) {\
                     if (r.passes.length === 0) { done(['axe passed no rule: it did not run']); return; }\
                     done(r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })\
                       .map(function (v) { return v.id + ': ' + v.help + ' (' + v.nodes.length + ')'; }));\
                   }, function (e) { done(['axe failed: ' + e]); });";
        let found = self.client.execute_async(run, vec![]).await.unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// The page's path (and query).
    pub async fn url(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The text of the page's `<main>` (empty while a page is being replaced).
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Save a screenshot of the page as `name`.png under target/screenshots (`name` says the
    /// page, language, width and backend).
    pub async fn screenshot(&self, name: &str) {
        let dir = super::workspace().join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The errors the pages of the service wrote to the console since the last
    /// call (chromedriver's log, which WebDriver proper lacks): a script that
    /// failed, a resource refused by the content security policy or missing,
    /// an answer of 5xx. Not counted: the 4xx of a page a test opened to be
    /// refused, and what another site's pages (the OpenID provider's) wrote.
    pub async fn console_errors(&self) -> Vec<String> {
        use std::io::{BufRead, Read, Write};
        let session = self.client.session_id().await.unwrap().expect("a session");
        let body = r#"{"type":"browser"}"#;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let request = format!(
            "POST /session/{session}/se/log HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        // chromedriver keeps the connection open: read the head, then as many bytes as it says.
        let mut reader = std::io::BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut json = vec![0; length];
        reader.read_exact(&mut json).unwrap();
        let log: serde_json::Value =
            serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json)));
        let ours = |message: &str| {
            let url = message.split_whitespace().next().unwrap_or_default();
            let service = url.starts_with("http://127.0.0.1:") && !url.contains("/interaction/");
            let refused_page = message.contains("the server responded with a status of 4") && !url.contains("/static/");
            service && !refused_page
        };
        log["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no log: {log}"))
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter_map(|entry| entry["message"].as_str())
            .filter(|message| ours(message))
            .map(str::to_owned)
            .collect()
    }

    /// End the session, once the pages it saw wrote no error to the console.
    pub async fn close(self) {
        assert_eq!(self.console_errors().await, Vec::<String>::new(), "errors on the console of the pages");
        let client = self.client.clone();
        let _ = client.close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and every browser it started: its process group.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
