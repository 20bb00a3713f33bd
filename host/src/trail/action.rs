//! The actions the log records, one name each: a check that looks an entry
//! up by action uses the same constant as the code that appends it.

/// The first entry of a log: what existed before it, which it does not cover.
pub const AUDIT_BEGIN: &str = "audit.begin";
/// An account made, with the roles and scopes granted with it.
pub const ACCOUNT_CREATE: &str = "account.create";
/// An API token issued (its public id and expiry; never its secret).
pub const TOKEN_CREATE: &str = "token.create";
pub const TOKEN_REVOKE: &str = "token.revoke";
/// A person signed in to the web pages (the session's public id and expiry).
pub const SESSION_OPEN: &str = "session.open";
/// A person signed out.
pub const SESSION_END: &str = "session.end";
/// An account disabled: its tokens stop working.
pub const ACCOUNT_DISABLE: &str = "account.disable";
/// An OpenID provider's subject linked to a person's account: its access tokens act as the account.
pub const ACCOUNT_LINK_OIDC: &str = "account.link_oidc";
pub const AUDIT_EXPORT: &str = "audit.export";
pub const IMPORT_REGISTRY: &str = "import.registry";
pub const IMPORT_ENROLMENT: &str = "import.enrolment";
pub const KEY_ADD: &str = "key.add";
/// A registered key given a new certificate of the national root key.
pub const KEY_CERTIFY: &str = "key.certify";
pub const KEY_REVOKE: &str = "key.revoke";
pub const RELEASE_UPLOAD: &str = "release.upload";
pub const RELEASE_SIGN: &str = "release.sign";
pub const RELEASE_APPROVE: &str = "release.approve";
pub const RELEASE_ACTIVATE: &str = "release.activate";
pub const RELEASE_RETIRE: &str = "release.retire";
pub const REGISTRY_CLEAR_FLAG: &str = "registry.clear_flag";
pub const RUN_CREATE: &str = "run.create";
pub const RUN_EVALUATE: &str = "run.evaluate";
pub const RUN_APPROVE: &str = "run.approve";
/// People an approval left out of what it approved, and why (`store::holds`).
pub const RUN_HOLD: &str = "run.hold";
pub const RUN_APPROVAL_VOID: &str = "run.approval_void";
pub const RUN_ISSUE: &str = "run.issue";
pub const RUN_FILES: &str = "run.files";
pub const RUN_RECONCILE: &str = "run.reconcile";
pub const RUN_CANCEL: &str = "run.cancel";
/// A second person declined what a run would pay, with a reason.
pub const RUN_REFUSE: &str = "run.refuse";
pub const RUN_WHAT_IF: &str = "run.what_if";
/// Personal data was read (Decree 13/2023/ND-CP on personal data protection, Art. 9 and 27: the
/// controller records its processing): who read which people's data, of what, and how many.
pub const PERSONAL_READ: &str = "personal.read";
