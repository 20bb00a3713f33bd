//! Files that hold a secret, through the real binary on both backends: a
//! signing key, a configuration with `[audit] person_key` and the registry
//! service's token file are each refused while their group or others may read
//! them, with the `chmod` that mends it, and used once it is run.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{self, Driver, fails, national_plugin, ok, stdout, workspace};

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// What every refusal says: the file, its mode, and the exact command to run.
fn assert_refused(said: &str, path: &Path, mode: &str) {
    assert!(said.contains(&path.display().to_string()), "the file is not named:\n{said}");
    assert!(said.contains(&format!("(mode {mode})")), "the mode is not named:\n{said}");
    assert!(said.contains(&format!("`chmod 600 {}`", path.display())), "no chmod to run:\n{said}");
}

fn a_file_with_a_secret_open_to_others_is_refused(t: Driver) {
    // A signing key: `plugin sign --key` refuses it while the group may read it.
    let key = t.path("national.pem");
    t.key("keeper", "national", &key);
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "keys generate writes 0600");
    let cases = workspace().join("plugins/national-social-assistance/cases.yaml");
    let release =
        stdout(&ok(t.as_("author").args(["plugin", "upload"]).arg(national_plugin()).arg("--cases").arg(&cases)));
    let release = release.trim();
    chmod(&key, 0o640);
    let said = fails(t.as_("signer").args(["plugin", "sign", release, "--key"]).arg(&key));
    assert_refused(&said, &key, "0640");
    assert_eq!(t.text(format!("SELECT state FROM releases WHERE id = {release}")), "uploaded", "nothing was signed");
    chmod(&key, 0o600);
    ok(t.as_("signer").args(["plugin", "sign", release, "--key"]).arg(&key));

    // A configuration holding the audit trail's person key: refused for any command.
    let config = support::files::hanoi_config(t.dir.path(), false, false);
    chmod(&config, 0o644);
    let said = fails(t.cli().arg("--config").arg(&config).args(["keys", "list"]));
    assert_refused(&said, &config, "0644");
    assert!(said.contains("person_key"), "{said}");
    chmod(&config, 0o600);
    ok(t.cli().arg("--config").arg(&config).args(["keys", "list"]));
    // One without a secret (treasury accounts only) may stay readable by the group.
    let text = std::fs::read_to_string(&config).unwrap();
    let accounts = t.path("accounts.toml");
    std::fs::write(&accounts, text.split("[treasury").skip(1).map(|t| format!("[treasury{t}")).collect::<String>())
        .unwrap();
    chmod(&accounts, 0o644);
    ok(t.cli().arg("--config").arg(&accounts).args(["keys", "list"]));

    // The registry service's token file: refused before anything is asked of the service.
    let token = t.path("registry.token");
    std::fs::write(&token, "s3cret-registry-token\n").unwrap();
    chmod(&token, 0o604);
    let evaluate = |token: &Path| {
        let mut cmd = t.cli();
        cmd.args(["run", "evaluate", "999", "--registry-url", "http://127.0.0.1:9/api", "--registry-token-file"])
            .arg(token);
        cmd
    };
    let said = fails(&mut evaluate(&token));
    assert_refused(&said, &token, "0604");
    assert!(!said.contains("s3cret"), "a token is never shown:\n{said}");
    chmod(&token, 0o600);
    // Read now; the run is what is missing.
    let said = fails(&mut evaluate(&token));
    assert!(said.contains("there is no run 999") && !said.contains("chmod"), "{said}");
}

on_both_backends!(a_file_with_a_secret_open_to_others_is_refused);
