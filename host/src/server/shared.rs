//! What the service's parts share: the state every handler is given, and the
//! header a request's id travels in.

use std::ops::Deref;
use std::sync::Arc;

use axum::http::HeaderName;

use crate::accounts::oidc::Verifier;
use crate::app::App;

/// What the handlers share: the one [`State`] of the process.
pub type Shared = Arc<State>;

/// The one `App` of the process, and what the service adds to it: the
/// verifier of OIDC access tokens, with the provider's keys it keeps.
pub struct State {
    pub app: Arc<App>,
    /// None: `[oidc]` is not configured, and only API tokens are taken.
    pub oidc: Option<Verifier>,
    /// Where `run issue` jobs write payment files, and downloads read them.
    pub outbox: std::path::PathBuf,
    /// Whether the pages offer the demo's sign-in (`ansinh demo --serve`, on loopback only).
    pub demo_sign_in: bool,
    /// Whether the session cookie goes over plain HTTP too (the demo, on loopback only);
    /// else it is `__Host-` and `Secure`, for a service reached over HTTPS.
    pub cookies_over_http: bool,
}

impl Deref for State {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The header a request's id travels in, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
