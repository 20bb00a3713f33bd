//! The service, `ansinh serve`, started on a free port of loopback for a
//! test, and a small HTTP/1.1 client to talk to it: plain requests over a
//! socket, so that what is tested is what the service writes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use std::path::Path;

use super::Driver;

/// The service, started; killed if a test fails before it stops it.
pub struct Server {
    pub child: Child,
    pub address: String,
}

impl Server {
    /// The service on `t`'s database, as no account: it takes none, its clients do.
    pub fn start(t: &Driver) -> Server {
        Server::start_with(t, &[])
    }

    /// The service started with `args` too (`--config FILE`, `--job-lease 2`, `--tip-key FILE`),
    /// as no account: it takes none, its clients do.
    pub fn start_with(t: &Driver, args: &[&std::ffi::OsStr]) -> Server {
        Server::start_on(t, "127.0.0.1:0", args)
    }

    /// The service listening on `listen` (an address whose port the test chose
    /// first, e.g. to name it in `[oidc] redirect_uri`), started with `args`.
    pub fn start_on(t: &Driver, listen: &str, args: &[&std::ffi::OsStr]) -> Server {
        let mut child = t
            .bare()
            .args(["serve", "--listen", listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ansinh serve");
        let address = listening(&mut child);
        Server { child, address }
    }

    /// One HTTP/1.1 request: the status, the headers (names lower-case) and the body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        self.send(method, path, headers, "")
    }

    /// A request with `body`.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        self.send_bytes(method, path, headers, body.as_bytes())
    }

    /// A request with a body of bytes (a file).
    pub fn send_bytes(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        send(&self.address, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[])
    }

    /// POST `body` (JSON) as the holder of `token`.
    pub fn post(&self, path: &str, token: &str, body: &serde_json::Value) -> Response {
        let bearer = format!("Bearer {token}");
        let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
        self.send("POST", path, &headers, &body.to_string())
    }
}

impl Server {
    /// POST a form ([`form`]) of `parts` as the holder of `token`.
    pub fn post_form(&self, path: &str, token: &str, parts: &[(&str, &[u8])]) -> Response {
        let (content_type, body) = form(parts);
        let bearer = format!("Bearer {token}");
        self.send_bytes("POST", path, &[("Authorization", &bearer), ("Content-Type", &content_type)], &body)
    }
}

impl Server {
    /// Release `plugin` with its `cases` over HTTP, as an authority's authors
    /// and approvers do from the service: a new key for `authority`, certified
    /// by the trusted root and registered (by `keeper`); the upload as a form
    /// by `author`, signed offline with the key file, approved by a second
    /// person (`approver`: the cases run), activated from `from`. Its id.
    pub fn release(&self, t: &Driver, plugin: &Path, cases: &Path, authority: &str, from: &str) -> i64 {
        let key = t.path(format!("{authority}-http.pem"));
        t.key("keeper", authority, &key);
        let (author, approver) = (t.token("author"), t.token("approver"));
        let parts = [("plugin", std::fs::read(plugin).unwrap()), ("cases", std::fs::read(cases).unwrap())];
        let made = self.post_form("/v1/releases", &author, &[("plugin", &parts[0].1), ("cases", &parts[1].1)]);
        assert_eq!(made.status, 201, "{}", made.body);
        let id = made.json()["id"].as_i64().unwrap();
        let signature = key.with_extension("sig.json");
        super::ok(
            super::ansinh()
                .args(["plugin", "sign", "--key"])
                .arg(&key)
                .arg("--plugin")
                .arg(plugin)
                .arg("--cases")
                .arg(cases)
                .arg("--out")
                .arg(&signature),
        );
        let signature: serde_json::Value = serde_json::from_slice(&std::fs::read(signature).unwrap()).unwrap();
        let step = |token: &str, path: &str, body: serde_json::Value, status: u16| {
            let got = self.post(&format!("/v1/releases/{id}/{path}"), token, &body);
            assert_eq!(got.status, status, "{path}: {}", got.body);
        };
        step(&author, "signature", signature, 204);
        step(&approver, "approve", serde_json::json!({}), 200);
        step(&approver, "activate", serde_json::json!({ "from": from }), 204);
        id
    }
}

/// A form (`multipart/form-data`) of `parts`, each a field's name and its
/// bytes (sent as a file), as a browser or `curl -F name=@file` sends one:
/// its content type and its body.
pub fn form(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "ansinh-test-boundary-7d41c0";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A body sent in chunks (a stream: events, a file), joined.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..end]).expect("a chunk's size");
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).expect("a chunk's size");
        if size == 0 {
            break;
        }
        let after = &rest[end + 2..];
        body.extend_from_slice(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

/// The address a started `serve` or `worker` says it listens on, on its first line.
pub fn listening(child: &mut Child) -> String {
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    first.trim().strip_prefix("Listening on http://").unwrap_or_else(|| panic!("{first:?}")).to_owned()
}

/// One HTTP/1.1 request to `address`: the status, the headers (names lower-case) and the body.
fn send(address: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(address).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no head: {raw:?}"));
    let (head, body) = (std::str::from_utf8(&raw[..split]).unwrap(), &raw[split + 4..]);
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(name, value): &(String, String)| name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked"));
    let bytes = if chunked { dechunk(body) } else { body.to_vec() };
    Response { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text (bytes that are not UTF-8 replaced).
    pub body: String,
    /// The body as sent.
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// An RFC 9457 problem of `status` whose detail contains `says`.
    pub fn assert_problem(&self, status: u16, says: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.body);
        let problem = self.json();
        assert_eq!(problem["status"], status, "{problem}");
        assert!(problem["title"].is_string() && problem["type"].is_string(), "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{detail}");
        problem
    }
}

/// A worker, `ansinh worker`, started on `t`'s database with its probes on a
/// free port of loopback; killed if a test fails before it stops it.
pub struct Worker {
    pub child: Child,
    pub address: String,
}

impl Worker {
    /// A worker started with `args` too (`--job-lease 2`, `--workers 1`), its logs to `log`.
    pub fn start(t: &Driver, args: &[&str], log: &Path) -> Worker {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut child = t
            .bare()
            .args(["worker", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("ANSINH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start ansinh worker");
        let address = listening(&mut child);
        Worker { child, address }
    }

    /// GET `path` of its probes and metrics.
    pub fn get(&self, path: &str) -> Response {
        send(&self.address, "GET", path, &[], b"")
    }

    /// SIGKILL: no word to anyone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and its exit status once it has stopped.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.child.wait().unwrap()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
