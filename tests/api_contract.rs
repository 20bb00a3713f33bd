//! The service against its own document: schemathesis (PyPI) reads the live
//! server's `/openapi.json`, makes requests of every operation from it (its
//! examples, the edges of each parameter and body, then random ones) with the
//! token of each role, and checks every answer: never a 5xx, and each status,
//! content type, header and body as the document says.

use crate::support::service::Server;
use crate::support::{Driver, TEST_ADMIN, schemathesis};

/// What every answer is checked for.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

fn every_answer_conforms_to_the_document(t: Driver) {
    t.evaluated_run(81, 200, "2024-09");
    let scope = ["province:001"];
    let callers = [
        ("admin", t.token(TEST_ADMIN)),
        ("officer", t.person("Lê Văn Hùng", &["officer"], &scope)),
        ("approver", t.person("Phạm Văn Minh", &["approver"], &scope)),
        ("auditor", t.person("Nguyễn Thị Thu", &["auditor"], &scope)),
        ("author", t.person("Đặng Văn Tác", &["author"], &["national"])),
    ];
    let server = Server::start(&t);
    let document = format!("http://{}/openapi.json", server.address);
    // One worker: with more, schemathesis's threads race in Hypothesis's descriptions of its
    // own strategies (a runtime error of the tool, reported as such, not a finding).
    for (role, token) in callers {
        let out = schemathesis::st()
            .args(["run", &document, "--checks", CHECKS, "--max-examples", "10", "--seed", "1"])
            .args(["--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-color"])
            .arg("--header")
            .arg(format!("Authorization: Bearer {token}"))
            // Its cache of what it found goes in the test's folder, not the checkout.
            .current_dir(t.dir.path())
            .output()
            .expect("run schemathesis");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "as the {role}, schemathesis found answers the document does not allow:\n{said}");
        assert!(said.contains(" passed") && !said.contains("failures"), "as the {role}:\n{said}");
    }
}

on_both_backends!(every_answer_conforms_to_the_document);
