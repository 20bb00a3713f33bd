//! People sign in with OpenID Connect (issue 13): `ansinh serve` with
//! `[oidc]` takes the access tokens a real OpenID provider on loopback issues
//! (npm oidc-provider, `support/oidc.rs`), checks them against the provider's
//! published keys, and acts as the person account an admin linked to the
//! token's subject. Every token here is the provider's own: the tests never
//! make one.
//!
//! Providers: the service's (A); another issuer (B); and an impostor (C) that
//! claims A's issuer and issues tokens to A's subjects, but signs with keys of
//! its own, one under a key id A also uses.

use serde_json::json;

use crate::support::oidc::{Client, Provider};
use crate::support::service::{Response, Server};
use crate::support::{Driver, TEST_ADMIN, ok};

/// The service's audience: the resource its tokens are asked for.
const AUDIENCE: &str = "urn:ansinh:api";

fn client<'a>(id: &'a str, alg: &'a str) -> Client<'a> {
    Client { id, alg, ttl: 300 }
}

/// The service with `[oidc]` for provider `issuer`: no leeway, and the JWKS
/// fetched again at most every second, so that expiry and rotation take
/// seconds, not the half-minutes of the defaults.
fn serve(t: &Driver, issuer: &str) -> Server {
    let config = t.path("ansinh.toml");
    std::fs::write(
        &config,
        format!(
            "[oidc]\nissuer = \"{issuer}\"\naudience = \"{AUDIENCE}\"\nleeway_seconds = 0\njwks_refetch_seconds = 1\n"
        ),
    )
    .unwrap();
    Server::start_with(t, &[std::ffi::OsStr::new("--config"), config.as_os_str()])
}

fn me(server: &Server, bearer: &str) -> Response {
    server.request("GET", "/v1/me", &[("Authorization", &format!("Bearer {bearer}"))])
}

/// A refusal: 401, a problem that says `says`, and the challenge of RFC 6750.
fn refused(server: &Server, bearer: &str, says: &str) {
    let answer = me(server, bearer);
    answer.assert_problem(401, says);
    assert_eq!(answer.header("www-authenticate"), Some("Bearer error=\"invalid_token\""), "{}", answer.body);
}

fn a_person_signs_in_with_the_access_token_of_their_provider(t: Driver) {
    let a = Provider::start(
        &[("rs-1", "RS256"), ("es-1", "ES256")],
        &[
            client("lan", "RS256"),
            client("minh", "ES256"),
            client("binh", "ES256"),
            client("hoa", "RS256"),
            client("stranger", "RS256"),
            client("bot", "RS256"),
            Client { id: "brief", alg: "RS256", ttl: 1 },
        ],
        None,
    );
    let b = Provider::start(&[("rs-1", "RS256")], &[client("lan", "RS256")], None);
    let c = Provider::start(
        &[("rs-1", "RS256"), ("es-forged", "ES256")],
        &[client("lan", "RS256"), client("minh", "ES256")],
        Some(&a.issuer),
    );
    assert_ne!(a.issuer, b.issuer);

    // The test admin (by API token) makes an admin, Bình, and links Bình's
    // subject at A; Bình, signed in with A's token, links the others.
    t.token("test-officer");
    let admin = t.token(TEST_ADMIN);
    let server = serve(&t, &a.issuer);
    let account = |name: &str, kind: &str, roles: &[&str]| -> i64 {
        let body = json!({ "name": name, "kind": kind, "roles": roles, "scopes": ["province:001"] });
        let made = server.post("/v1/accounts", &admin, &body);
        assert_eq!(made.status, 201, "{}", made.body);
        made.json()["id"].as_i64().unwrap()
    };
    let link = |by: &str, id: i64, body: serde_json::Value| server.post(&format!("/v1/accounts/{id}/oidc"), by, &body);
    let binh = account("Nguyễn Văn Bình", "person", &["admin"]);
    assert_eq!(link(&admin, binh, json!({ "subject": "binh" })).status, 204);
    let binh_token = a.token("binh", AUDIENCE);
    let lan = account("Trần Thị Lan", "person", &["officer"]);
    let minh = account("Phạm Văn Minh", "person", &["approver"]);
    let hoa = account("Lê Thị Hoa", "person", &["officer"]);
    let bot = account("import bot", "machine", &["officer"]);
    for (id, subject) in [(lan, "lan"), (minh, "minh"), (hoa, "hoa"), (lan, "brief")] {
        let linked = link(&binh_token, id, json!({ "subject": subject }));
        assert_eq!(linked.status, 204, "{subject}: {}", linked.body);
    }

    // A linked person's token, RS256 or ES256, acts as their account.
    let lan_token = a.token("lan", AUDIENCE);
    let who = me(&server, &lan_token);
    assert_eq!(who.status, 200, "{}", who.body);
    let who = who.json();
    assert_eq!((who["account"].as_i64(), who["name"].as_str()), (Some(lan), Some("Trần Thị Lan")), "{who}");
    assert_eq!(who["auth"], json!({ "oidc": { "issuer": a.issuer, "subject": "lan" } }));
    assert_eq!((&who["roles"], &who["kind"]), (&json!(["officer"]), &json!("person")));
    let who = me(&server, &a.token("minh", AUDIENCE));
    assert_eq!((who.status, who.json()["account"].as_i64()), (200, Some(minh)), "{}", who.body);

    // Linking is an admin's, within scope, of a person's account, once a subject.
    let lan_link = link(&lan_token, hoa, json!({ "subject": "someone" }));
    lan_link.assert_problem(403, "only an admin links");
    link(&binh_token, bot, json!({ "subject": "bot" })).assert_problem(409, "a machine authenticates with API tokens");
    link(&binh_token, lan, json!({ "subject": "minh" })).assert_problem(409, &format!("linked to account {minh}"));
    link(&binh_token, 9999, json!({ "subject": "x" })).assert_problem(404, "no account 9999");
    link(&binh_token, lan, json!({ "subject": "" })).assert_problem(422, "subject:");
    link(&admin, lan, json!({ "subject": "x", "issuer": "http://idp.example" })).assert_problem(422, "issuer:");

    // Refused: another issuer's token, though for this audience and a subject linked at A.
    let fetched = a.jwks_fetches();
    refused(
        &server,
        &b.token("lan", AUDIENCE),
        &format!("from issuer {}, and this service trusts {}", b.issuer, a.issuer),
    );
    // For another audience.
    refused(
        &server,
        &a.token("lan", "urn:elsewhere"),
        &format!("\"urn:elsewhere\", not for this service ({AUDIENCE})"),
    );
    // A subject linked to no account.
    refused(&server, &a.token("stranger", AUDIENCE), "subject stranger of");
    refused(&server, &a.token("bot", AUDIENCE), "is linked to no account");
    // The impostor's, claiming A's issuer: under a key id A does not publish; or
    // under one A does, whose signature then does not verify.
    for _ in 0..5 {
        refused(&server, &c.token("minh", AUDIENCE), "signed by a key (es-forged) that");
    }
    refused(&server, &c.token("lan", AUDIENCE), "signature does not verify with key rs-1");
    // Unknown key ids fetch A's keys again, but no more than once a second: not once a token.
    let after = a.jwks_fetches();
    assert!(after <= fetched + 1, "the JWKS was fetched {} times for 5 tokens of unknown keys", after - fetched);

    // Expired: a token lasting one second, two seconds on.
    let brief = a.token("brief", AUDIENCE);
    assert_eq!(me(&server, &brief).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    refused(&server, &brief, "the access token expired at");

    // A disabled account's.
    let hoa_token = a.token("hoa", AUDIENCE);
    assert_eq!(me(&server, &hoa_token).status, 200);
    assert_eq!(server.post(&format!("/v1/accounts/{hoa}/disable"), &binh_token, &json!({})).status, 204);
    refused(&server, &hoa_token, "the account linked to subject hoa");

    // A key rotated in after the keys were fetched: fetched, and accepted; the old one still is.
    a.rotate("rs-2", "RS256");
    let rotated = a.token("lan", AUDIENCE);
    let kid = jwt_header(&rotated)["kid"].clone();
    assert_eq!(kid, "rs-2");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let who = me(&server, &rotated);
    assert_eq!((who.status, who.json()["account"].as_i64()), (200, Some(lan)), "{}", who.body);
    assert_eq!(me(&server, &lan_token).status, 200);
    drop(server);

    // Each link is in the log, with who linked it and how they signed in; the log verifies.
    let links = t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'account.link_oidc'");
    assert_eq!(links, 5);
    let by_oidc = t.text(
        "SELECT details FROM audit_log WHERE action = 'account.link_oidc' AND details LIKE '%\"subject\":\"lan\"%'",
    );
    assert!(by_oidc.contains("\"oidc\"") && by_oidc.contains("\"subject\":\"binh\""), "{by_oidc}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM account_oidc"), 5);
    ok(t.cli().args(["audit", "verify"]));
}

on_both_backends!(a_person_signs_in_with_the_access_token_of_their_provider);

/// Without `[oidc]`, a JWT is refused as such, saying that OIDC is not set
/// up; an admin may still link a subject, naming its issuer.
fn without_oidc_a_jwt_is_refused_saying_so(t: Driver) {
    let a = Provider::start(&[("rs-1", "RS256")], &[client("lan", "RS256")], None);
    t.token("test-officer");
    let admin = t.token(TEST_ADMIN);
    let server = Server::start_with(&t, &[]);
    refused(&server, &a.token("lan", AUDIENCE), "this service is not set up for OIDC sign-in");
    let admin_id = t.scalar(format!("SELECT id FROM accounts WHERE name = '{TEST_ADMIN}'"));
    let path = format!("/v1/accounts/{admin_id}/oidc");
    server.post(&path, &admin, &json!({ "subject": "lan" })).assert_problem(422, "this service has no [oidc]");
    assert_eq!(server.post(&path, &admin, &json!({ "subject": "lan", "issuer": a.issuer })).status, 204);
}

on_both_backends!(without_oidc_a_jwt_is_refused_saying_so);

/// The header of a JWT, read without checking it: only to see which key signed it.
fn jwt_header(token: &str) -> serde_json::Value {
    let part = token.split('.').next().unwrap();
    let mut bits = Vec::new();
    let (mut acc, mut n) = (0u32, 0);
    for c in part.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {part}"),
        };
        acc = (acc << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            bits.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    serde_json::from_slice(&bits).unwrap()
}
