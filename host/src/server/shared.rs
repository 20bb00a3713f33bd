//! What the service's parts share: the state every handler is given, and the
//! header a request's id travels in.

use std::sync::Arc;

use axum::http::HeaderName;

use crate::app::App;

/// What the handlers share: the one `App` of the process.
pub type Shared = Arc<App>;

/// The header a request's id travels in, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
