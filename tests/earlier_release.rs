//! A database made by an earlier release of ansinh, upgraded by this one's
//! migrations, still verifies and replays: the audit trail outlives a change
//! of the store's layout. The fixtures under `fixtures/` were each made by
//! `ansinh demo` at the commit their README names, before the change they
//! guard, on each backend; nothing here regenerates them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Backend, Driver, ansinh, ok, stdout, workspace};

/// Before decisions stored their repeated outputs and verifications once and
/// their inputs compactly (issue 15): the demo of 60 people, evaluated,
/// approved, issued, with its audit log.
const BEFORE_COMPACT_DECISIONS: &str = "tests/fixtures/made-before-compact-decisions";

/// Before decisions named their plug-in and engine through `deciders` and kept
/// their digests as bytes, and before beneficiaries lost their second index
/// (migration 24): the same demo, its decisions' texts and inputs already
/// stored compactly.
const BEFORE_DECIDERS: &str = "tests/fixtures/made-before-deciders";

/// The fixture's files for the driver's backend, copied into its folder (a
/// token and a configuration must be readable by their owner alone), and
/// its database loaded into the driver's.
fn load(t: &Driver, fixture: &str) -> (PathBuf, PathBuf) {
    let from = workspace().join(fixture).join(match t.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    });
    let copy = |name: &str| {
        let to = t.path(name);
        std::fs::copy(from.join(name), &to).unwrap();
        set_owner_only(&to);
        to
    };
    match t.backend {
        Backend::Sqlite => {
            std::fs::copy(from.join("ansinh.db"), t.url()).unwrap();
        }
        Backend::Postgres => {
            let dump = from.join("dump.sql");
            ok(Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", t.url(), "-f"]).arg(&dump));
        }
    }
    (copy("ansinh.toml"), copy("demo-officer.token"))
}

fn set_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `fixture`, loaded and migrated, says VERIFIED and IDENTICAL, and its run still shows.
fn verifies_and_replays(t: &Driver, fixture: &str) {
    let (config, token) = load(t, fixture);
    let auditor = || {
        let mut cmd = ansinh();
        cmd.args(["--database-url", t.url()]).arg("--config").arg(&config).arg("--token-file").arg(&token);
        cmd
    };
    let verified = stdout(&ok(auditor().args(["audit", "verify"])));
    assert!(verified.contains("VERIFIED"), "{verified}");
    assert!(verified.contains("58 decisions checked against their digests"), "{verified}");
    assert!(verified.contains("4 files made again and compared"), "{verified}");
    let replayed = stdout(&ok(auditor().args(["audit", "replay", "1"])));
    assert!(replayed.contains("IDENTICAL"), "{replayed}");
    assert!(replayed.contains("identical 57"), "{replayed}");
    // The people's pages read the old decisions too.
    let shown = stdout(&ok(auditor().args(["run", "show", "1"])));
    assert!(shown.contains("issued"), "{shown}");
}

fn a_database_of_the_release_before_compact_decisions_verifies_and_replays(t: Driver) {
    verifies_and_replays(&t, BEFORE_COMPACT_DECISIONS);
}
on_both_backends!(a_database_of_the_release_before_compact_decisions_verifies_and_replays);

fn a_database_of_the_release_before_deciders_verifies_and_replays(t: Driver) {
    verifies_and_replays(&t, BEFORE_DECIDERS);
    // Migrated, not kept as they were: every digest its 32 bytes, the one plug-in and engine a row.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM decisions WHERE digest IS NULL OR length(digest) <> 32"), 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM deciders"), 1);
}
on_both_backends!(a_database_of_the_release_before_deciders_verifies_and_replays);
