//! A real OpenID provider on loopback: npm `oidc-provider`, pinned in
//! `tests/oidc-provider/` (its lock file), started by `provider.js` there on
//! a free port. The tokens the tests send are the ones it issues, signed with
//! keys it makes; the tests never make one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use serde_json::{Value, json};

use super::workspace;

/// Where the provider and its pinned dependencies are.
fn folder() -> PathBuf {
    workspace().join("tests/oidc-provider")
}

/// Install the provider's pinned dependencies (`npm ci`, from the lock file)
/// if they are missing. Each test runs in a process of its own (nextest), so
/// several may find them missing at once: each installs into a folder of its
/// own and moves the result into place, and the first move wins; none ever
/// sees a half-installed `node_modules`.
fn install() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let modules = folder().join("node_modules");
    if *installed || modules.join("oidc-provider/package.json").is_file() {
        *installed = true;
        return;
    }
    let staging = tempfile::tempdir_in(folder()).unwrap();
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(folder().join(file), staging.path().join(file)).unwrap();
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(staging.path())
        .output()
        .unwrap_or_else(|e| panic!("run npm (Node.js and npm are needed for the OIDC tests): {e}"));
    assert!(
        out.status.success(),
        "npm ci in tests/oidc-provider failed; run it there by hand to see why:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Another process may have moved its own in first: then this one is dropped with the folder.
    let _ = std::fs::rename(staging.path().join("node_modules"), &modules);
    assert!(modules.join("oidc-provider/package.json").is_file(), "no oidc-provider in {}", modules.display());
    *installed = true;
}

/// A client of the provider, standing for one person: its id is the `sub` of
/// its tokens.
pub struct Client<'a> {
    pub id: &'a str,
    /// RS256 or ES256.
    pub alg: &'a str,
    /// How long its tokens last, in seconds.
    pub ttl: u32,
}

/// A provider, running; stopped when dropped.
pub struct Provider {
    child: Child,
    address: String,
    /// What its tokens name as `iss`.
    pub issuer: String,
    log: tempfile::NamedTempFile,
}

impl Provider {
    /// Start a provider with signing keys `keys` (kid, alg) made afresh and
    /// `clients`; it names itself `issuer`, or by default its own address.
    pub fn start(keys: &[(&str, &str)], clients: &[Client<'_>], issuer: Option<&str>) -> Provider {
        let keys: Vec<Value> = keys.iter().map(|(kid, alg)| json!({ "kid": kid, "alg": alg })).collect();
        let clients: Vec<Value> =
            clients.iter().map(|c| json!({ "id": c.id, "secret": secret(c.id), "alg": c.alg, "ttl": c.ttl })).collect();
        let mut config = json!({ "keys": keys, "clients": clients });
        if let Some(issuer) = issuer {
            config["issuer"] = json!(issuer);
        }
        Provider::launch(config, issuer)
    }

    /// A provider where people sign in to the pages of `ansinh serve`: public
    /// client `client` of the authorisation code flow, back to
    /// `/sign-in/callback` on loopback, any port. Whatever login is typed on
    /// its sign-in page is the subject.
    pub fn for_pages(client: &str) -> Provider {
        let web = json!([{ "id": client, "redirect": "http://127.0.0.1/sign-in/callback" }]);
        Provider::launch(json!({ "keys": [{ "kid": "rs-1", "alg": "RS256" }], "web": web }), None)
    }

    fn launch(config: Value, issuer: Option<&str>) -> Provider {
        install();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new("node")
            .arg(folder().join("provider.js"))
            .arg(config.to_string())
            .current_dir(folder())
            // It stops when its standard input closes: when this process ends, however it ends.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("run node (Node.js is needed for the OIDC tests): {e}"));
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let Ok(port) = first.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            let said = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("the OpenID provider did not start (it printed {first:?}):\n{said}");
        };
        let address = format!("127.0.0.1:{port}");
        let issuer = issuer.map_or_else(|| format!("http://{address}"), str::to_owned);
        Provider { child, address, issuer, log }
    }

    /// An access token the provider issues `client` for `resource` (its `aud`),
    /// by the client_credentials grant.
    pub fn token(&self, client: &str, resource: &str) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", &secret(client)),
            ("resource", resource),
            ("scope", "api"),
        ];
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", encoded(v))).collect();
        let (status, answer) = self.http("POST", "/token", "application/x-www-form-urlencoded", &body.join("&"));
        assert_eq!(status, 200, "the provider issued no token to {client}: {answer}");
        answer["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {answer}")).to_owned()
    }

    /// Make a new signing key `kid` for `alg`: the provider signs with it from
    /// now on, and publishes it beside the old ones.
    pub fn rotate(&self, kid: &str, alg: &str) {
        let (status, answer) =
            self.http("POST", "/__rotate", "application/json", &json!({ "kid": kid, "alg": alg }).to_string());
        assert_eq!(status, 200, "{answer}");
    }

    /// How many times its JWKS has been fetched.
    pub fn jwks_fetches(&self) -> u64 {
        let (status, answer) = self.http("GET", "/__stats", "application/json", "");
        assert_eq!(status, 200, "{answer}");
        answer["jwks"].as_u64().unwrap()
    }

    /// One HTTP/1.0 request (so that the answer is not chunked): its status and JSON body.
    fn http(&self, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head: {raw:?}"));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")))
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let said = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            eprintln!("the OpenID provider {} said:\n{said}", self.issuer);
        }
    }
}

/// The client's secret at the provider (how the client authenticates to it,
/// not what signs its tokens: the provider's own keys do).
fn secret(client: &str) -> String {
    format!("{client}-secret-of-the-tests-{client}")
}

/// `text` in a form body.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
