// Leptos view types nest deeply; release builds need more room than the default 128.
#![recursion_limit = "256"]

//! The gpu-deploy-llm server: dashboard (Leptos SSR), REST API, CLI, broker client and
//! broker simulator. `main.rs` only parses the command line and calls into here, so tests
//! drive everything through [`router`] and [`start`] without cargo-leptos.
//!
//! # Layout
//! The operations, and the doors that reach them:
//! - [`service`]: the operations the product offers ([`service::Dashboard`], and
//!   [`service::History`] for what the store holds). Every door delegates here.
//! - [`api`]: REST under `/api`; [`error`]: the one table from error code to HTTP status.
//! - `backend`: the pages' door: the app's server functions call the service through it.
//! - [`cli`]: the command line's doors; [`config`]: its commands and their flags.
//! - [`live`]: the live channel (`/ws`): event hub and connection loop.
//!
//! What a dashboard is made of:
//! - [`settings`]: what `serve` takes, each flag declared once; [`startup`]: [`start`],
//!   which builds a dashboard from them; `state`: [`AppState`], what the router shares.
//! - [`security`]: access token, login, host and origin checks, security headers.
//! - [`monitor`]: the one loop that reads the broker; pages answer from its view and it
//!   publishes every change to the live channel.
//! - [`runner`]: the deployment test (11 steps, one file each), SSH host, benchmark client.
//! - [`bench`]: the benchmark engine (load, SLO capacity search) behind runs and `bench`.
//! - [`sessions`]: what the broker does to a session when asked (clean up, done, extend).
//! - [`store`]: the SQLite database of runs, logs, benchmarks and embed tokens.
//! - [`shopper`]: the cloud-gpu-shopper client and its typed errors.
//! - [`simulator`]: the fake cloud: the broker's API and, behind each rented session, a
//!   simulated GPU host reached over real SSH (in-process or standalone).
//! - [`request_id`]: an id for every request, in its logs and its reply.
//! - [`serve`]: [`listen`] and [`run`]: the accept loop, with its connection cap and header
//!   deadline, and graceful shutdown.

pub mod api;
mod backend;
pub mod bench;
pub mod campaign;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod error;
pub mod gateway;
pub mod live;
pub mod monitor;
pub mod request_id;
pub mod runner;
pub mod security;
pub mod serve;
pub mod service;
pub mod sessions;
pub mod settings;
pub mod shopper;
pub mod simulator;
pub mod startup;
mod state;
pub mod store;

pub use serve::{listen, no_delay, run, ConnectionLimits, ConnectionStats};
pub use settings::Settings;
pub use startup::start;
pub use state::{AppState, Shared};

use app::{shell, App};
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};

/// The largest request body accepted anywhere, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP surface: pages, server functions, REST, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let backend: app::backend::SharedBackend = std::sync::Arc::new(state.dashboard.clone());
    let csp = state.access.csp_templates();
    let options = state.leptos.clone();
    // Pages, the not-found page included, are drawn with the same context: without it the
    // not-found page had no Content-Security-Policy of its own, so the default one refused
    // its stylesheet and scripts (and its live indicator never left "Connecting…").
    let context = move || {
        leptos::prelude::provide_context(backend.clone());
        leptos::prelude::provide_context(csp.clone());
    };
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/login", get(security::login_page).post(security::login))
        .route("/logout", axum::routing::post(security::logout))
        .route("/ws", get(live::upgrade))
        .merge(api::routes());
    if state.settings.test_hooks {
        router = router.merge(api::test_hooks());
    }
    // The gateway is outside the dashboard's login and checks: its keys are its own.
    let gateway = gateway::routes(state.dashboard.clone(), state.settings.deploy.gateway());
    let dashboard = router
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // The guard runs on every request: its state is one `Arc` to clone.
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(state.access.clone()),
            security::guard,
        ))
        // Every body, server functions' included (they read it themselves).
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state);
    Router::new()
        .merge(gateway)
        .merge(dashboard)
        // Outermost: every request, refused ones too, has its id in its logs and reply, and
        // every reply the security headers.
        .layer(axum::middleware::from_fn(request_id::layer))
}

/// The property tests' configuration: 100,000 cases (or `PROPTEST_CASES` for a longer
/// search), and no failure files written into the source tree.
#[cfg(test)]
pub(crate) fn proptest_config() -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100_000),
        failure_persistence: None,
        ..Default::default()
    }
}
