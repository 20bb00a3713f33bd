//! A population registry service, asked over HTTPS with a bearer token.
//!
//! # The wire contract, version 1
//!
//! ```text
//! POST {base}/v1/people:lookup
//! Authorization: Bearer {token}
//! Content-Type: application/json
//!
//! {"id_numbers": ["001198000001", "040080000123"]}
//! ```
//!
//! At most [`MAX_IDS_PER_REQUEST`] ID numbers a request, each once. The answer is `200 OK` with
//!
//! ```json
//! {"people": [{"id_number": "001198000001", "full_name": "Nguyễn Thị Lan",
//!              "birth_date": "1998-03-02", "sex": "female", "residence_province": "001",
//!              "residence_commune": "Dịch Vọng", "death_date": null}]}
//! ```
//!
//! - `people` holds one record for each asked number the registry knows, in any order. A number
//!   it does not know is left out: that person is decided not verified. A record for a number
//!   that was not asked for, or two for one number, break the contract.
//! - A record has exactly the seven fields of the registry extract (`formats.md`), under the
//!   same rules as a CSV row; `residence_commune` and `death_date` are `null` or `""` when empty.
//!   Every field must be present and no other may be: `death_date` is `null` while the person is
//!   alive, because a misspelt or missing one would otherwise read as "alive" and pay someone who
//!   died. A response that breaks this is refused whole, naming the record and the field.
//! - `401` or `403`: the token is refused; not retried. `429` and `5xx`: retried, as are
//!   timeouts and broken connections, up to [`ATTEMPTS`] attempts in all, pausing 0.25 s, then
//!   twice as long each time (longer if the server's `Retry-After` asks, up to 10 s). Any other
//!   status, and redirects, are errors, not retried.
//!
//! # What the host adds
//!
//! The whole request, connecting included, has a time limit (`--registry-timeout`). Plain
//! `http://` is refused except to this machine, since the token and people's records would cross
//! the network readable. Each [`Http`] remembers the answers it got, found or not, for up to
//! [`CACHE_ENTRIES`] people; `App::registry` makes a fresh one for each run, so a person looked
//! up again within a run is not asked for twice, and the next run asks afresh. No raw ID number
//! is logged or put in a message (`identity::masked`), nor is the token.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, anyhow, bail, ensure};
use reqwest::Url;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use tracing::{debug, warn};

use crate::identity::masked;
use crate::model::RegistryRecord;
use crate::model::records::REGISTRY;

use super::{Lookup, Registry};

/// ID numbers per request: one page of a run.
pub const MAX_IDS_PER_REQUEST: usize = 500;
/// Attempts at one request before the run stops with an error.
pub const ATTEMPTS: u32 = 4;
/// The pause before the first retry; each next one is twice as long.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause, whatever `Retry-After` asks: a run should fail in minutes, not hang.
const MAX_PAUSE: Duration = Duration::from_secs(10);
/// Connecting may take at most this long (or the whole request's limit, if shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read: 500 records are well under 1 MiB; a server that sends more is broken.
const MAX_BODY: usize = 4 << 20;
/// How much of an error answer a message quotes.
const ERROR_QUOTE: usize = 200;
/// People remembered per run: about 300 bytes each, so at most some 15 MB whatever the run's size.
pub const CACHE_ENTRIES: usize = 50_000;

/// The path of the lookup, after the base URL.
const LOOKUP_PATH: &str = "v1/people:lookup";

/// A bearer token. `Debug` does not show it, so no log or message can.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// The token as given (a trailing newline of a token file dropped); `from` names where it
    /// came from, for the message when it is unusable.
    pub fn new(token: &str, from: &str) -> anyhow::Result<Token> {
        let token = token.trim();
        ensure!(!token.is_empty(), "the registry token from {from} is empty: put the registry service's token there");
        ensure!(
            token.bytes().all(|b| b.is_ascii_graphic()),
            "the registry token from {from} holds spaces or characters other than visible ASCII: a bearer token is \
             one word; check that the whole token, and nothing else, is there"
        );
        Ok(Token(token.to_owned()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// A registry service (see the module documentation), with the cache of one run.
pub struct Http {
    /// The base URL as runs record it.
    source: String,
    endpoint: Url,
    token: Token,
    timeout: Duration,
    client: reqwest::Client,
    cache: Mutex<Cache>,
}

impl Http {
    /// A client of the registry service at `base` (e.g. `https://registry.example.gov.vn/api`);
    /// each request may take `timeout` in all.
    pub fn new(base: &str, token: Token, timeout: Duration) -> anyhow::Result<Http> {
        let base = base_url(base)?;
        let mut endpoint = base.clone();
        endpoint.set_path(&format!("{}{LOOKUP_PATH}", base.path()));
        // reqwest is built without a default crypto provider so that rustls uses ring (see
        // Cargo.toml); installing it again, as every run does, changes nothing.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .timeout(timeout)
            // A redirect would send the token on to wherever the server says.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ansinh/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("setting up the HTTPS client for the population registry")?;
        Ok(Http {
            source: base.as_str().trim_end_matches('/').to_owned(),
            endpoint,
            token,
            timeout,
            client,
            cache: Mutex::new(Cache::new(CACHE_ENTRIES)),
        })
    }

    /// One request, retried as the contract says.
    async fn request(&self, ids: &[String]) -> anyhow::Result<Vec<RegistryRecord>> {
        let mut attempt = 1;
        loop {
            let (why, retry_after) = match self.attempt(ids).await {
                Ok(people) => return Ok(people),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Transient { why, retry_after }) => (why, retry_after),
            };
            if attempt == ATTEMPTS {
                bail!(
                    "the population registry at {} did not answer after {ATTEMPTS} attempts (the last: {why}); check \
                     that the service is up and reachable from this machine, then evaluate the run again: it resumes \
                     where it stopped",
                    self.endpoint
                );
            }
            let doubling = FIRST_PAUSE * 2u32.pow(attempt - 1);
            let pause = retry_after.map_or(doubling, |asked| asked.max(doubling)).min(MAX_PAUSE);
            let pause_ms = pause.as_millis() as u64;
            warn!(endpoint = %self.endpoint, attempt, %why, pause_ms, "registry request failed; retrying");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, ids: &[String]) -> Result<Vec<RegistryRecord>, Failure> {
        debug!(endpoint = %self.endpoint, people = ids.len(), "asking the registry");
        let sent = self
            .client
            .post(self.endpoint.clone())
            .bearer_auth(&self.token.0)
            .json(&serde_json::json!({ "id_numbers": ids }))
            .send()
            .await;
        let response = sent.map_err(|e| self.transport(e))?;
        let status = response.status();
        match status.as_u16() {
            200 => {}
            401 | 403 => {
                return Err(Failure::Final(anyhow!(
                    "the population registry at {} refused the token ({status}): check ANSINH_REGISTRY_TOKEN or the \
                     --registry-token-file, and that the token is still valid for this service",
                    self.endpoint
                )));
            }
            429 | 500..=599 => {
                let retry_after = retry_after(response.headers());
                return Err(Failure::Transient { why: format!("it answered {status}"), retry_after });
            }
            _ => {
                let location = response.headers().get(reqwest::header::LOCATION).cloned();
                let quoted = quote(response).await;
                let hint = match location.as_ref().and_then(|l| l.to_str().ok()) {
                    Some(to) if status.is_redirection() => {
                        format!("it redirects to {to}; give the service's own base URL as --registry-url")
                    }
                    _ => "this host speaks version 1 of the registry contract (POST {base}/v1/people:lookup, see the \
                          README): check --registry-url and the service's version"
                        .to_owned(),
                };
                return Err(Failure::Final(anyhow!(
                    "the population registry at {} answered {status}{quoted}; {hint}",
                    self.endpoint
                )));
            }
        }
        let body = self.read(response).await?;
        parse_people(&body, ids).map_err(|why| {
            Failure::Final(anyhow!(
                "the population registry at {} sent an answer that breaks its contract: {why}. Nothing of it was \
                 used; ask the registry's operator to fix it (the contract: README, \"The population registry over \
                 HTTP\")",
                self.endpoint
            ))
        })
    }

    /// The answer's body, refused past [`MAX_BODY`].
    async fn read(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
        let too_long = || {
            Failure::Final(anyhow!(
                "the population registry at {} sent an answer longer than {MAX_BODY} bytes, far more than \
                 {MAX_IDS_PER_REQUEST} records take; ask the registry's operator to check the service",
                self.endpoint
            ))
        };
        if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_long());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_long());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A request that failed before an answer: a timeout or a connection problem is worth
    /// another attempt; a request that cannot be made is not.
    fn transport(&self, e: reqwest::Error) -> Failure {
        if e.is_builder() {
            return Failure::Final(anyhow!(
                "cannot send a request to the population registry at {}: {e}",
                self.endpoint
            ));
        }
        let why = if e.is_timeout() {
            format!("no answer within {} s (--registry-timeout)", self.timeout.as_secs_f64())
        } else {
            // reqwest's own message only repeats the URL; the causes say what went wrong.
            let mut causes = Vec::new();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                causes.push(cause.to_string());
                source = cause.source();
            }
            if causes.is_empty() { e.to_string() } else { causes.join(": ") }
        };
        Failure::Transient { why, retry_after: None }
    }
}

impl Registry for Http {
    fn lookup<'a>(&'a self, id_numbers: &'a [String]) -> Lookup<'a> {
        Box::pin(async move {
            let (mut found, missing) = self.cache.lock().expect("registry cache lock").split(id_numbers);
            for chunk in missing.chunks(MAX_IDS_PER_REQUEST) {
                let people = self.request(chunk).await?;
                self.cache.lock().expect("registry cache lock").remember(chunk, &people);
                found.extend(people);
            }
            Ok(found)
        })
    }

    fn source(&self) -> String {
        self.source.clone()
    }
}

/// Why an attempt failed, and whether another may succeed.
enum Failure {
    Transient { why: String, retry_after: Option<Duration> },
    Final(anyhow::Error),
}

/// The base URL, if it is one the token may be sent to.
fn base_url(given: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(given).map_err(|e| {
        anyhow!("--registry-url {given:?} is not a URL ({e}): expected e.g. https://registry.example.gov.vn/api")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => bail!(
            "--registry-url {url}: plain http:// is refused except to this machine (localhost, 127.0.0.1, [::1]), \
             because the bearer token and people's registry records would cross the network unencrypted; use \
             https://"
        ),
        other => bail!("--registry-url {url}: the scheme {other}: is not served; use https://"),
    }
    ensure!(
        url.username().is_empty() && url.password().is_none(),
        "--registry-url: put no user name or password in the URL; the service is given a bearer token \
         (ANSINH_REGISTRY_TOKEN or --registry-token-file)"
    );
    ensure!(
        url.query().is_none() && url.fragment().is_none(),
        "--registry-url {url}: expected the service's base URL, without ?query or #fragment; the host adds \
         /{LOOKUP_PATH}"
    );
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The start of an error answer, for the message (`": text"`, or nothing).
async fn quote(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_QUOTE * 4
        && let Ok(Some(chunk)) = response.chunk().await
    {
        body.extend_from_slice(&chunk);
    }
    let text = scrubbed(&String::from_utf8_lossy(&body));
    if text.is_empty() { text } else { format!(": {text}") }
}

/// `Retry-After` in seconds (the HTTP-date form is not worth a date parser here: the
/// doubling pause stands in for it).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Text from the server for a message, cut to [`ERROR_QUOTE`] characters and with every run
/// of 9 or more digits masked: a server may echo the ID numbers it was sent.
fn scrubbed(text: &str) -> String {
    let text: String = text.chars().take(ERROR_QUOTE).map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if digits.len() >= 9 {
            out.push_str(&masked(&digits));
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        out.push(c);
    }
    out.pop();
    out.trim().to_owned()
}

/// The fields that may be `null` (or `""`) when empty.
const NULLABLE: &[&str] = &["residence_commune", "death_date"];

/// The records of an answer to a lookup of `asked`, or what breaks the contract, naming the
/// record and the field and never showing a raw ID number or anyone's data.
fn parse_people(body: &[u8], asked: &[String]) -> Result<Vec<RegistryRecord>, String> {
    let expected_fields = || REGISTRY.columns.join(", ");
    // Parsed into a `Value` first: serde's messages for a typed parse quote the value found,
    // which could be someone's ID number.
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let Value::Object(mut top) = value else {
        return Err(format!("expected a JSON object {{\"people\": [...]}}, found {}", kind(&value)));
    };
    if let Some(key) = top.keys().find(|k| *k != "people") {
        return Err(format!("unknown field `{}` beside `people`", scrubbed(key)));
    }
    let people = match top.remove("people") {
        Some(Value::Array(people)) => people,
        Some(other) => return Err(format!("field `people`: expected an array of records, found {}", kind(&other))),
        None => return Err("missing field `people` (an array of records, empty when none is known)".to_owned()),
    };
    let asked: HashSet<&str> = asked.iter().map(String::as_str).collect();
    let mut seen = HashSet::with_capacity(people.len());
    let mut records = Vec::with_capacity(people.len());
    for (index, person) in people.iter().enumerate() {
        let n = index + 1;
        let Value::Object(fields) = person else {
            return Err(format!("record {n} of `people`: expected an object with the fields {}", expected_fields()));
        };
        if let Some(key) = fields.keys().find(|k| !REGISTRY.columns.contains(&k.as_str())) {
            return Err(format!("record {n}: unknown field `{}`; the fields are {}", scrubbed(key), expected_fields()));
        }
        let mut values = [""; REGISTRY.columns.len()];
        for (value, &field) in values.iter_mut().zip(REGISTRY.columns) {
            let nullable = NULLABLE.contains(&field);
            *value = match fields.get(field) {
                Some(Value::String(s)) => s,
                Some(Value::Null) if nullable => "",
                None if field == "death_date" => {
                    return Err(format!("record {n}: missing field `death_date` (null while the person is alive)"));
                }
                None => return Err(format!("record {n}: missing field `{field}`")),
                Some(other) => {
                    let expected = if nullable { "a string or null" } else { "a string" };
                    return Err(format!("record {n}: field `{field}`: expected {expected}, found {}", kind(other)));
                }
            };
        }
        let id = masked(values[0]);
        let record = REGISTRY.read_fields(&values).map_err(|(field, expected)| match field {
            "id_number" => format!("record {n}: field `id_number`: expected {expected}, found {id:?}"),
            _ => format!("record {n} (ID number {id}): field `{field}`: expected {expected}"),
        })?;
        if !asked.contains(record.id_number.as_str()) {
            return Err(format!("record {n}: the ID number {id} was not asked for"));
        }
        if !seen.insert(record.id_number.clone()) {
            return Err(format!("record {n}: a second record for the ID number {id}"));
        }
        records.push(record);
    }
    Ok(records)
}

/// What a JSON value is, for messages that must not show it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The answers of one run, found or not, oldest forgotten first past `capacity`.
struct Cache {
    capacity: usize,
    answers: HashMap<String, Option<RegistryRecord>>,
    order: VecDeque<String>,
}

impl Cache {
    fn new(capacity: usize) -> Cache {
        Cache { capacity, answers: HashMap::new(), order: VecDeque::new() }
    }

    /// The records already known for `ids`, and the numbers still to ask for (each once).
    fn split(&self, ids: &[String]) -> (Vec<RegistryRecord>, Vec<String>) {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        let mut listed = HashSet::new();
        for id in ids {
            match self.answers.get(id) {
                Some(answer) => found.extend(answer.clone()),
                None if listed.insert(id.as_str()) => missing.push(id.clone()),
                None => {}
            }
        }
        (found, missing)
    }

    /// Remember the answer to a lookup of `asked`: a record for those found, none for the others.
    fn remember(&mut self, asked: &[String], found: &[RegistryRecord]) {
        let mut found: HashMap<&str, &RegistryRecord> = found.iter().map(|r| (r.id_number.as_str(), r)).collect();
        if self.capacity == 0 {
            return;
        }
        for id in asked {
            let answer = found.remove(id.as_str()).cloned();
            if self.answers.insert(id.clone(), answer).is_none() {
                self.order.push_back(id.clone());
                if self.order.len() > self.capacity
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.answers.remove(&oldest);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Not 001198000001: messages quote it as the example of a well-formed number.
    const ASKED: [&str; 2] = ["001198000007", "040080000123"];

    fn asked() -> Vec<String> {
        ASKED.iter().map(|s| s.to_string()).collect()
    }

    fn record(id: &str) -> serde_json::Map<String, Value> {
        let Value::Object(map) = serde_json::json!({
            "id_number": id, "full_name": "Nguyễn Thị Lan", "birth_date": "1998-03-02", "sex": "female",
            "residence_province": "001", "residence_commune": null, "death_date": null,
        }) else {
            unreachable!()
        };
        map
    }

    fn answer(people: Vec<serde_json::Map<String, Value>>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "people": people })).unwrap()
    }

    fn refused(body: &[u8]) -> String {
        let why = parse_people(body, &asked()).expect_err("the answer breaks the contract");
        for id in ASKED {
            assert!(!why.contains(id), "a raw ID number in {why:?}");
        }
        why
    }

    #[test]
    fn an_answer_by_the_contract_is_read_as_the_csv_would_be() {
        let mut dead = record(ASKED[1]);
        dead.insert("death_date".into(), "2024-09-15".into());
        dead.insert("residence_commune".into(), "Cửa Nam".into());
        let people = parse_people(&answer(vec![dead, record(ASKED[0])]), &asked()).unwrap();
        assert_eq!(people.len(), 2);
        assert_eq!(people[0].death_date, chrono::NaiveDate::from_ymd_opt(2024, 9, 15));
        assert_eq!(people[0].residence_commune, "Cửa Nam");
        assert_eq!((people[1].residence_commune.as_str(), people[1].death_date), ("", None));
        assert!(parse_people(&answer(vec![]), &asked()).unwrap().is_empty(), "no one known");
        // Names in NFD come out NFC, as from the CSV.
        let mut nfd = record(ASKED[0]);
        nfd.insert("full_name".into(), "Nguye\u{0302}\u{0303}n".into());
        assert_eq!(parse_people(&answer(vec![nfd]), &asked()).unwrap()[0].full_name, "Nguyễn");
    }

    #[test]
    fn a_malformed_record_is_refused_naming_the_field() {
        let with = |field: &str, value: Value| {
            let mut r = record(ASKED[0]);
            r.insert(field.into(), value);
            answer(vec![record(ASKED[1]), r])
        };
        let why = refused(&with("birth_date", "12/05/1940".into()));
        assert!(why.starts_with("record 2 (ID number *********007): field `birth_date`: expected a date"), "{why}");
        let why = refused(&with("sex", "f".into()));
        assert!(why.contains("field `sex`: expected"), "{why}");
        let why = refused(&with("residence_province", "1".into()));
        assert!(why.contains("field `residence_province`: expected a 3-digit province code"), "{why}");
        let why = refused(&with("id_number", "00119800000".into()));
        assert!(why.contains("field `id_number`: expected a 12-digit") && why.contains("********000"), "{why}");
        let why = refused(&with("birth_date", 19400512.into()));
        assert_eq!(why, "record 2: field `birth_date`: expected a string, found a number");
        let why = refused(&with("id_number", 1198000001u64.into()));
        assert!(!why.contains("1198000001"), "a number sent as JSON number is still someone's: {why}");
        let why = refused(&with("full_name", Value::Null));
        assert_eq!(why, "record 2: field `full_name`: expected a string, found null");
    }

    #[test]
    fn a_missing_or_unknown_field_is_refused_rather_than_read_as_alive() {
        let mut r = record(ASKED[0]);
        r.remove("death_date");
        let why = refused(&answer(vec![r.clone()]));
        assert_eq!(why, "record 1: missing field `death_date` (null while the person is alive)");
        r.insert("deathDate".into(), "2024-09-15".into());
        let why = refused(&answer(vec![r]));
        assert!(why.starts_with("record 1: unknown field `deathDate`; the fields are id_number, full_name"), "{why}");
        let why = refused(br#"{"people": [], "next": 1}"#);
        assert_eq!(why, "unknown field `next` beside `people`");
        assert_eq!(refused(br#"{"persons": []}"#), "unknown field `persons` beside `people`");
        assert_eq!(refused(b"{}"), "missing field `people` (an array of records, empty when none is known)");
        assert!(refused(b"[]").starts_with("expected a JSON object"));
        assert!(refused(b"<html>").starts_with("the body is not JSON"));
        let mut keyed = serde_json::Map::new();
        keyed.insert(ASKED[0].into(), Value::Object(record(ASKED[0])));
        assert!(refused(&answer(vec![keyed])).contains("unknown field `*********007`"));
    }

    #[test]
    fn records_not_asked_for_or_repeated_are_refused() {
        let why = refused(&answer(vec![record("001198000999")]));
        assert_eq!(why, "record 1: the ID number *********999 was not asked for");
        let why = refused(&answer(vec![record(ASKED[0]), record(ASKED[0])]));
        assert_eq!(why, "record 2: a second record for the ID number *********007");
    }

    #[test]
    fn only_https_or_this_machine_gets_the_token() {
        for ok in ["https://registry.example.gov.vn", "http://127.0.0.1:8080", "http://localhost/x/", "http://[::1]:1"]
        {
            base_url(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let why = base_url("http://registry.example.gov.vn").unwrap_err().to_string();
        assert!(
            why.contains("plain http:// is refused except to this machine") && why.contains("unencrypted"),
            "{why}"
        );
        assert!(base_url("http://10.0.0.1").is_err());
        assert!(base_url("ftp://registry.example.gov.vn").unwrap_err().to_string().contains("use https://"));
        assert!(base_url("registry.example.gov.vn").unwrap_err().to_string().contains("is not a URL"));
        let why = base_url("https://user:secret@registry.example.gov.vn").unwrap_err().to_string();
        assert!(!why.contains("secret") && why.contains("no user name or password"), "{why}");
        assert!(base_url("https://registry.example.gov.vn/?v=1").is_err());
    }

    #[test]
    fn the_endpoint_and_source_keep_the_base_path() {
        let token = Token::new("t", "a test").unwrap();
        let http = Http::new("https://registry.example.gov.vn/api", token.clone(), Duration::from_secs(1)).unwrap();
        assert_eq!(http.endpoint.as_str(), "https://registry.example.gov.vn/api/v1/people:lookup");
        assert_eq!(http.source(), "https://registry.example.gov.vn/api");
        let http = Http::new("http://127.0.0.1:8080/", token, Duration::from_secs(1)).unwrap();
        assert_eq!(http.endpoint.as_str(), "http://127.0.0.1:8080/v1/people:lookup");
        assert_eq!(http.source(), "http://127.0.0.1:8080");
    }

    #[test]
    fn tokens_are_checked_and_never_shown() {
        let token = Token::new("s3cr3t-token\n", "ANSINH_REGISTRY_TOKEN").unwrap();
        assert_eq!(token.0, "s3cr3t-token");
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert!(Token::new(" \n", "FILE").unwrap_err().to_string().contains("from FILE is empty"));
        assert!(Token::new("two words", "FILE").unwrap_err().to_string().contains("one word"));
    }

    #[test]
    fn quoted_answers_mask_id_numbers() {
        assert_eq!(scrubbed("unknown id 001198000001, page 12"), "unknown id *********001, page 12");
        assert_eq!(scrubbed("line\nbreak 123456789"), "line break ******789");
        assert_eq!(scrubbed(&"x".repeat(500)).len(), ERROR_QUOTE);
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    fn parsed(id: &str) -> RegistryRecord {
        parse_people(&answer(vec![record(id)]), &[id.to_owned()]).unwrap().remove(0)
    }

    #[test]
    fn the_cache_answers_repeats_found_or_not_and_stays_bounded() {
        let ids: Vec<String> = ["001198000001", "001198000002", "001198000003"].map(String::from).to_vec();
        let mut cache = Cache::new(2);
        let (found, missing) = cache.split(&[ids[0].clone(), ids[0].clone(), ids[1].clone()]);
        assert!(found.is_empty());
        assert_eq!(missing, ids[..2], "each number asked once");
        cache.remember(&missing, &[parsed(&ids[0])]);
        let (found, missing) = cache.split(&ids[..2]);
        assert_eq!((found.len(), found[0].id_number.as_str()), (1, "001198000001"));
        assert!(missing.is_empty(), "an absence is remembered too");
        cache.remember(&ids[2..], &[]);
        assert_eq!(cache.answers.len(), 2, "bounded");
        let (_, missing) = cache.split(&ids);
        assert_eq!(missing, ids[..1], "the oldest is forgotten first");
    }
}
