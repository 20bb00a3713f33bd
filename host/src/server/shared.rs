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
    /// Each sealed run's categories, once counted (see [`Sealed`]).
    pub categories: Sealed<i64, Vec<(String, crate::model::Total)>>,
    /// What changed from one sealed run (the previous month's, the second) to another (the first).
    pub changes: Sealed<(i64, i64), crate::run::review::Diff>,
}

/// What is counted once over runs whose decisions are sealed (evaluated,
/// and never changed after: `trail::check_sealed` stops a changed one from
/// being paid), kept for the next reader, by the runs' ids `K`: a scan of a
/// million decisions for a page's table takes seconds. At most
/// [`Sealed::KEPT`] values are kept.
pub struct Sealed<K, T> {
    kept: std::sync::Mutex<std::collections::BTreeMap<K, Arc<T>>>,
}

impl<K, T> Default for Sealed<K, T> {
    fn default() -> Self {
        Sealed { kept: std::sync::Mutex::new(std::collections::BTreeMap::new()) }
    }
}

impl<K: Ord + Copy, T> Sealed<K, T> {
    const KEPT: usize = 64;

    /// The value for `runs`: kept, or counted now by `count` and kept.
    pub async fn get_or_count<F>(&self, runs: K, count: F) -> anyhow::Result<Arc<T>>
    where
        F: std::future::Future<Output = anyhow::Result<T>>,
    {
        if let Some(kept) = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&runs) {
            return Ok(kept.clone());
        }
        let counted = Arc::new(count.await?);
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() >= Self::KEPT {
            // The oldest runs go: the least likely to be looked at again.
            kept.pop_first();
        }
        kept.insert(runs, counted.clone());
        Ok(counted)
    }
}

impl Deref for State {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The header a request's id travels in, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
