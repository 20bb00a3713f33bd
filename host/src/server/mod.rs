//! The HTTP service, `ansinh serve`: one [`App`] held for the life of the
//! process (with the verifier of OIDC access tokens, [`state`]), behind one
//! router built in one place ([`router`]).
//!
//! What every request goes through, outermost first: a request id
//! (`x-request-id`, made if the client sent none, and returned), a `tracing`
//! span named by the matched route, never the raw path (a path may one day
//! carry a person's number), a body limit and a timeout. Errors are
//! `application/problem+json` (RFC 9457, [`problem::Problem`]) that say what to
//! do, as the command line's do. The routes are described by an OpenAPI 3.1
//! document built from the handlers' own annotations (`openapi.rs`), served at
//! `/openapi.json`.
//!
//! Routes: probes, the document, accounts and tokens, imports, releases, runs
//! and a run's steps (the long ones as jobs that a runner in the same process
//! does, `crate::jobs`), files, registry flags and the audit trail. Every
//! route for accounts is allowed by `accounts::policy`, as the command line is.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::accounts::oidc::Verifier;
use crate::app::App;

mod accounts;
mod audit;
mod auth;
mod extract;
mod files;
mod health;
mod imports;
mod jobs;
mod metrics;
mod openapi;
mod pages;
pub mod problem;
mod registry;
mod releases;
mod runs;
mod shared;
mod steps;

pub use shared::{REQUEST_ID, Shared, State};

/// The largest request body the routes take; uploads (a bank's status
/// report, an import, a plug-in) have limits of their own.
pub const BODY_LIMIT: usize = 1 << 20;

/// How long a request may take. Long actions are jobs: their requests return
/// at once with the job's id.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request that sends a file (an import, a plug-in, a bank's
/// report) may take: its transfer, and its loading as it is received.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The service: every route, and the layers every request goes through.
pub fn router(app: Shared) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        let route = request.extensions().get::<MatchedPath>().map_or("(no route)", MatchedPath::as_str);
        let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
        tracing::info_span!("request", method = %request.method(), route, request_id = id)
    });
    let routes = Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(auth::routes())
        .merge(accounts::routes())
        .merge(runs::routes())
        .merge(steps::routes())
        .merge(jobs::routes())
        .merge(files::routes())
        .merge(registry::routes())
        .merge(audit::routes())
        .merge(releases::routes())
        // Each layer wraps those before it: these routes take JSON bodies up to BODY_LIMIT.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(openapi::routes())
        .merge(pages::routes())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT));
    // A file sent takes the time its size and the client's line take, and is loaded as it comes.
    // Each has its own limit; axum's default limit of its extractors (2 MB, for a form) is lifted.
    let uploads = Router::new()
        .merge(steps::uploads().layer(RequestBodyLimitLayer::new(steps::UPLOAD_LIMIT)))
        .merge(releases::uploads().layer(RequestBodyLimitLayer::new(releases::UPLOAD_LIMIT)))
        .merge(imports::uploads().layer(RequestBodyLimitLayer::new(imports::UPLOAD_LIMIT)))
        .merge(pages::uploads().layer(RequestBodyLimitLayer::new(steps::UPLOAD_LIMIT)))
        .merge(pages::release_uploads().layer(RequestBodyLimitLayer::new(releases::UPLOAD_LIMIT)))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, UPLOAD_TIMEOUT));
    Router::new()
        .merge(routes)
        .merge(uploads)
        .fallback(problem::no_route)
        .method_not_allowed_fallback(problem::wrong_method)
        .with_state(app)
        // Each layer wraps those before it: the last is the outermost.
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// What the handlers share, built once from `app` and its configuration: the
/// verifier of OIDC access tokens if `[oidc]` is configured. The provider is
/// not asked anything yet: its keys are fetched when a token first needs them.
pub fn state(app: Arc<App>, options: &Options) -> anyhow::Result<Shared> {
    let oidc = match app.config.oidc() {
        Some(settings) => Some(Verifier::new(settings.clone())?),
        None => None,
    };
    let (outbox, demo_sign_in) = (options.outbox.clone(), options.demo_sign_in);
    // The session cookie is Secure wherever the pages are reached over https; the demo's
    // address, and a provider's way back to an http:// address (on loopback only, as
    // `[oidc] redirect_uri` allows), are plain http, where a browser keeps no Secure cookie.
    let plain = app.config.oidc().and_then(|o| o.client.as_ref()).is_some_and(|c| c.redirect_uri.scheme() == "http");
    let cookies_over_http = demo_sign_in || plain;
    let (categories, changes) = Default::default();
    Ok(Arc::new(State { app, oidc, outbox, demo_sign_in, cookies_over_http, categories, changes }))
}

/// Serve `app` on `listener` until SIGTERM or Ctrl-C, then finish the
/// requests under way and return; meanwhile, unless `options.worker` is off,
/// do jobs and share evaluations as a worker does (`jobs::runner`), and
/// stop it as a worker stops: what it holds is given back, to this process
/// or another, which resumes it.
pub async fn serve(app: App, listener: tokio::net::TcpListener, options: Options) -> anyhow::Result<()> {
    if options.demo_sign_in {
        // The demo's sign-in lets anyone who reaches the service act as its people: this machine only.
        anyhow::ensure!(
            listener.local_addr()?.ip().is_loopback(),
            "the demo's sign-in is offered only on a loopback address (127.0.0.1, ::1): listen there"
        );
    }
    let app = Arc::new(app);
    let runner = crate::jobs::runner::Runner::new(app.clone(), options.lease, options.outbox.clone())?;
    let crew = runner.crew().clone();
    let running = options.worker.then(|| tokio::spawn(runner.run()));
    // Asked to stop, the runner takes nothing more at once, while the requests under way finish.
    let stopping = crew.clone();
    let asked = async move {
        terminated().await;
        stopping.stop();
    };
    let served = axum::serve(listener, router(state(app, &options)?)).with_graceful_shutdown(asked).await;
    crew.stop();
    if let Some(running) = running {
        running.await?;
    }
    served?;
    Ok(())
}

/// The routes of an `ansinh worker`: its probes and its metrics.
pub fn probes(app: Arc<App>, options: &Options) -> anyhow::Result<Router> {
    let routes = Router::new().merge(health::routes()).merge(metrics::routes());
    Ok(routes.fallback(problem::no_route).with_state(state(app, options)?))
}

/// How the service does its jobs, and what its pages offer.
pub struct Options {
    /// How long a claim on a job or a shard lasts without a heartbeat.
    pub lease: Duration,
    /// Where `run issue` jobs write payment files.
    pub outbox: std::path::PathBuf,
    /// Offer the demo's sign-in (`ansinh demo --serve`): only on a loopback address, over plain
    /// HTTP (its session cookie is then not `Secure`, which a browser keeps only from HTTPS).
    pub demo_sign_in: bool,
    /// Do jobs in this process too (one machine; on SQLite the only way), not only in workers.
    pub worker: bool,
}

/// Once the process is asked to stop: SIGTERM, or Ctrl-C.
pub async fn terminated() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("asked to stop: finishing what is under way");
}
