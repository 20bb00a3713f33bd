//! `ansinh serve`, the real binary on a free port of loopback, against a
//! fresh database on each backend: its probes, its errors as problem+json
//! with the request's id, its OpenAPI document, a clean stop on SIGTERM, and
//! the accounts its routes are for, known by their API tokens.

use crate::support::Driver;
use crate::support::service::Server;

/// The probes: alive, and ready only while the database holds every
/// migration of this binary (one removed from its record makes it 503,
/// naming it); every response carries a request id, the client's if it sent
/// one, also quoted by a problem; a route or method that does not exist is a
/// problem that points to the document; SIGTERM stops it cleanly.
fn the_service_answers_its_probes_and_its_errors_as_problems(t: Driver) {
    let server = Server::start(&t);

    let alive = server.get("/healthz");
    assert_eq!((alive.status, alive.json()["status"].as_str()), (200, Some("alive")), "{}", alive.body);
    let ready = server.get("/readyz");
    assert_eq!((ready.status, ready.json()["status"].as_str()), (200, Some("ready")), "{}", ready.body);
    let id = alive.header("x-request-id").expect("a request id is made for a request without one");
    assert!(!id.is_empty() && Some(id) != ready.header("x-request-id"));

    let missing = server.request("GET", "/v1/nowhere/1", &[("x-request-id", "test-404")]);
    assert_eq!(missing.header("x-request-id"), Some("test-404"));
    let problem = missing.assert_problem(404, "there is no route GET /v1/nowhere/1: /openapi.json lists every route");
    assert_eq!(problem["instance"], "urn:ansinh:request:test-404");
    let wrong = server.request("DELETE", "/healthz", &[]);
    wrong.assert_problem(405, "/healthz takes no DELETE");
    assert_eq!(wrong.header("allow"), Some("GET,HEAD"));

    let last = t.scalar("SELECT MAX(version) FROM _sqlx_migrations");
    t.execute(format!("DELETE FROM _sqlx_migrations WHERE version = {last}")).unwrap();
    server.get("/readyz").assert_problem(503, &format!("the database lacks migrations {last}"));
    assert_eq!(server.get("/healthz").status, 200, "a process that answers is alive, ready or not");

    // SIGTERM: it stops, with success.
    let mut server = server;
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

on_both_backends!(the_service_answers_its_probes_and_its_errors_as_problems);

/// `/openapi.json` is an OpenAPI 3.1 document that describes every route
/// that answers, and its problem schema.
fn the_openapi_document_covers_every_route(t: Driver) {
    let server = Server::start(&t);
    let document = server.get("/openapi.json");
    assert_eq!(document.status, 200);
    let document = document.json();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "ansinh");
    let paths = document["paths"].as_object().unwrap();
    for (route, status) in [("/healthz", 200), ("/readyz", 200), ("/openapi.json", 200), ("/v1/me", 401)] {
        assert!(paths.contains_key(route), "{route} is not in the document");
        assert_eq!(server.get(route).status, status, "{route}");
    }
    // A route for accounts says so, with the scheme the document defines.
    assert_eq!(document["paths"]["/v1/me"]["get"]["security"], serde_json::json!([{ "bearer": [] }]));
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // And nothing the document lists is missing from the service.
    for route in paths.keys() {
        assert_ne!(server.get(route).status, 404, "{route} is in the document but not served");
    }
    let problem = &document["components"]["schemas"]["Problem"];
    assert_eq!(problem["required"], serde_json::json!(["type", "title", "status", "detail"]), "{problem}");
    assert_eq!(
        document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
}

on_both_backends!(the_openapi_document_covers_every_route);

/// The first account and its token: `accounts init` prints the token once
/// and refuses a second first account; the service knows the caller by it;
/// without one, with a malformed one or another secret, revoked, expired, or
/// of a disabled account, a route for accounts answers 401 with what to do.
/// Only the secret's hash is stored, and the log records the account and the
/// token's public id, never the secret; the log still verifies.
fn an_account_is_known_by_its_token(t: Driver) {
    let made = crate::support::ok(t.bare().args(["accounts", "init", "Trần Thị Lan"]));
    let token = crate::support::stdout(&made).trim().to_owned();
    let (id, secret) = token.strip_prefix("ansinh_").and_then(|t| t.split_once('_')).expect("ansinh_ID_SECRET");
    let again = crate::support::fails(t.bare().args(["accounts", "init", "Phạm Văn Minh"]));
    assert!(again.contains("there are accounts already"), "{again}");

    let server = Server::start(&t);
    let me = |bearer: &str| server.request("GET", "/v1/me", &[("Authorization", &format!("Bearer {bearer}"))]);
    let who = me(&token);
    assert_eq!(who.status, 200, "{}", who.body);
    let who = who.json();
    assert_eq!(
        (who["name"].as_str(), who["kind"].as_str(), who["auth"]["token"].as_str()),
        (Some("Trần Thị Lan"), Some("person"), Some(id))
    );
    assert_eq!((&who["roles"], &who["scopes"]), (&serde_json::json!(["admin"]), &serde_json::json!(["national"])));

    let none = server.get("/v1/me");
    none.assert_problem(401, "send `Authorization: Bearer TOKEN`");
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    me("secret").assert_problem(401, "this is not an ansinh token");
    let other_secret = format!("ansinh_{id}_{}", "0".repeat(64));
    me(&other_secret).assert_problem(401, "no such token, or not this secret");

    let stored = t.text(format!("SELECT secret_hash FROM api_tokens WHERE id = '{id}'"));
    assert_eq!(stored.len(), 64);
    assert_ne!(stored, secret);
    let logged = t.text("SELECT details FROM audit_log WHERE action = 'token.create'");
    assert!(logged.contains(id) && !logged.contains(secret), "{logged}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'account.create'"), 1);

    let past = "'2000-01-01T00:00:00Z'";
    t.execute(format!("UPDATE api_tokens SET revoked_at = {past} WHERE id = '{id}'")).unwrap();
    me(&token).assert_problem(401, &format!("token {id} was revoked"));
    t.execute(format!("UPDATE api_tokens SET revoked_at = NULL, expires_at = {past} WHERE id = '{id}'")).unwrap();
    me(&token).assert_problem(401, &format!("token {id} expired"));
    t.execute(format!("UPDATE api_tokens SET expires_at = '2100-01-01T00:00:00Z' WHERE id = '{id}'")).unwrap();
    assert_eq!(me(&token).status, 200);
    t.execute("UPDATE accounts SET active = FALSE").unwrap();
    me(&token).assert_problem(401, "is disabled");
    drop(server);

    // The log verifies, as read by an auditor whom this admin makes.
    t.execute("UPDATE accounts SET active = TRUE").unwrap();
    t.adopt(crate::support::TEST_ADMIN, &token);
    crate::support::ok(t.cli().args(["audit", "verify"]));
}

on_both_backends!(an_account_is_known_by_its_token);

/// The rules of who makes which account and token (`administration.md`),
/// over HTTP: an admin makes accounts within their scope, never an admin
/// who approves or signs, never a machine that approves; a person's token is
/// made by no one but the person, so an admin makes tokens only for machine
/// accounts; a token's holder revokes it; an admin disables an account, not
/// their own. Every refusal is a problem that says why, every act an entry of
/// a log that still verifies.
fn accounts_are_made_by_the_rules(t: Driver) {
    use serde_json::json;
    let admin = crate::support::stdout(&crate::support::ok(t.bare().args(["accounts", "init", "Trần Thị Lan"])));
    let admin = admin.trim();
    let server = Server::start(&t);
    let account = |name: &str, kind: &str, roles: &[&str], scopes: &[&str]| json!({ "name": name, "kind": kind, "roles": roles, "scopes": scopes });

    let made =
        server.post("/v1/accounts", admin, &account("Phạm Văn Minh", "person", &["approver"], &["province:001"]));
    assert_eq!(made.status, 201, "{}", made.body);
    let bot = server.post("/v1/accounts", admin, &account("import bot", "machine", &["officer"], &["province:001"]));
    assert_eq!(bot.status, 201, "{}", bot.body);
    let bot = bot.json()["id"].as_i64().unwrap();

    for (body, status, says) in [
        (account("A", "person", &["admin", "approver"], &["national"]), 422, "no account holds admin with approver"),
        (account("B", "person", &["admin", "author"], &["national"]), 422, "no account holds admin with approver"),
        (account("C", "machine", &["approver"], &["province:001"]), 422, "a machine account cannot approve"),
        (account("D", "person", &["officer"], &["province:999"]), 422, "province:CODE"),
        (account("E", "person", &["clerk"], &["national"]), 422, "roles: expected one of"),
        (account("F\u{1b}[2K", "person", &["officer"], &["national"]), 422, "no control characters"),
        (account("Phạm Văn Minh", "person", &["officer"], &["province:001"]), 409, "there is an account named"),
    ] {
        server.post("/v1/accounts", admin, &body).assert_problem(status, says);
    }
    // A body that is not what the document describes: problems too.
    let headers = [("Authorization", &*format!("Bearer {admin}")), ("Content-Type", "application/json")];
    server.send("POST", "/v1/accounts", &headers, "{").assert_problem(400, "the request's body");
    server.send("POST", "/v1/accounts", &headers[..1], r#"{"name":"G"}"#).assert_problem(415, "the request's body");
    server
        .post(
            "/v1/accounts",
            admin,
            &json!({ "name": "G", "kind": "person", "roles": ["officer"], "scopes": ["national"], "extra": 1 }),
        )
        .assert_problem(422, "unknown field");

    // A person's token is the person's to make: not the admin's.
    let minh = made.json()["id"].as_i64().unwrap();
    server
        .post(&format!("/v1/accounts/{minh}/tokens"), admin, &json!({ "name": "laptop", "days": 30 }))
        .assert_problem(403, "a person makes their own tokens");
    // A machine's, the admin's.
    let token = server.post(&format!("/v1/accounts/{bot}/tokens"), admin, &json!({ "name": "nightly", "days": 30 }));
    assert_eq!(token.status, 201, "{}", token.body);
    let (bot_token, bot_token_id) =
        (token.json()["token"].as_str().unwrap().to_owned(), token.json()["id"].as_str().unwrap().to_owned());
    server
        .post(&format!("/v1/accounts/{bot}/tokens"), admin, &json!({ "name": "long", "days": 366 }))
        .assert_problem(422, "days: expected 1 to 365");
    let me = server.request("GET", "/v1/me", &[("Authorization", &format!("Bearer {bot_token}"))]);
    assert_eq!((me.status, me.json()["roles"].clone()), (200, json!(["officer"])), "{}", me.body);
    // The machine makes nothing: no account, not even a token of its own.
    server
        .post("/v1/accounts", &bot_token, &account("H", "person", &["officer"], &["province:001"]))
        .assert_problem(403, "only an admin makes accounts");
    server
        .post(&format!("/v1/accounts/{bot}/tokens"), &bot_token, &json!({ "name": "mine", "days": 1 }))
        .assert_problem(403, "a person makes their own tokens");

    // Its holder revokes it; it stops working; once.
    let revoke = format!("/v1/tokens/{bot_token_id}/revoke");
    assert_eq!(server.post(&revoke, &bot_token, &json!({})).status, 204);
    let me = server.request("GET", "/v1/me", &[("Authorization", &format!("Bearer {bot_token}"))]);
    me.assert_problem(401, "was revoked");
    server.post(&revoke, admin, &json!({})).assert_problem(409, "revoked already");

    // An admin disables an account, not their own.
    assert_eq!(server.post(&format!("/v1/accounts/{minh}/disable"), admin, &json!({})).status, 204);
    server.post("/v1/accounts/1/disable", admin, &json!({})).assert_problem(409, "cannot disable their own account");
    server.post("/v1/accounts/999/disable", admin, &json!({})).assert_problem(404, "no account 999");
    drop(server);

    let logged = |action: &str| t.scalar(format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"));
    assert_eq!(
        [logged("account.create"), logged("token.create"), logged("token.revoke"), logged("account.disable")],
        [3, 2, 1, 1]
    );
    t.adopt(crate::support::TEST_ADMIN, admin);
    crate::support::ok(t.cli().args(["audit", "verify"]));
}

on_both_backends!(accounts_are_made_by_the_rules);
