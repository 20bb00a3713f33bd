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
}

impl Deref for State {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The header a request's id travels in, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
