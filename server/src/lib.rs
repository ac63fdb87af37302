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

pub mod api;
mod backend;
pub mod bench;
pub mod cli;
pub mod config;
pub mod error;
pub mod live;
pub mod monitor;
pub mod request_id;
pub mod runner;
pub mod security;
pub mod service;
pub mod sessions;
pub mod settings;
pub mod shopper;
pub mod simulator;
pub mod startup;
mod state;
pub mod store;

pub use settings::Settings;
pub use startup::start;
pub use state::{AppState, Shared};

use app::{shell, App};
use axum::routing::get;
use axum::serve::ListenerExt;
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
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/login", get(security::login_page).post(security::login))
        .route("/logout", axum::routing::post(security::logout))
        .route("/ws", get(live::upgrade))
        .merge(api::routes());
    if state.settings.test_hooks {
        router = router.merge(api::test_hooks());
    }
    router
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                leptos::prelude::provide_context(backend.clone());
                leptos::prelude::provide_context(csp.clone());
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // The guard runs on every request: its state is one `Arc` to clone.
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(state.access.clone()),
            security::guard,
        ))
        // Every body, server functions' included (they read it themselves).
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        // Outermost: every request, refused ones too, has its id in its logs and reply, and
        // every reply the security headers.
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// Connections waiting to be accepted, at most (the kernel caps it at `somaxconn`). The
/// standard library's 128 overflows when a thousand browsers reconnect at once after a
/// restart, and each one past it waits a second for its SYN to be sent again.
const BACKLOG: u32 = 4096;

/// A listener on `addr` with room for a crowd connecting at once.
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Sends small writes at once: a live frame must not wait for the client's delayed ACK of
/// the one before it (Nagle's algorithm).
pub fn no_delay(stream: &mut tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// Serves `router(state)` on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = state.dashboard.hub().clone();
    let runner = state.dashboard.runner().clone();
    let (began_tx, began_rx) = tokio::sync::oneshot::channel();
    let shutdown = async move {
        shutdown.await;
        let began = std::time::Instant::now();
        let sent_before = hub.stats().messages_sent;
        // No paid instance is left behind: cancel runs and let their cleanup finish.
        let runs = runner.active_count();
        let (finished, pending) = if runs > 0 {
            tracing::info!("cancelling runs in progress and cleaning up their sessions");
            runner.shutdown(std::time::Duration::from_secs(90)).await
        } else {
            (0, 0)
        };
        // Live connections would keep graceful shutdown waiting: tell them to close.
        let stats = hub.stats();
        let dropped = hub.queued_frames();
        hub.close_all("server shutting down");
        let _ = began_tx.send(Shutdown {
            began,
            sent_before,
            connections: stats.connections_current,
            dropped,
            runs,
            finished,
            pending,
            hub: hub.clone(),
        });
    };
    axum::serve(
        listener.tap_io(no_delay),
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    if let Ok(s) = began_rx.await {
        tracing::info!(
            connections_closed = s.connections,
            frames_sent = s.hub.stats().messages_sent - s.sent_before,
            frames_dropped = s.dropped,
            runs_interrupted = s.runs,
            cleanups_finished = s.finished,
            cleanups_pending = s.pending,
            duration_ms = s.began.elapsed().as_millis() as u64,
            "shutdown statistics"
        );
    }
    Ok(())
}

/// What a graceful shutdown did, logged when it ends.
struct Shutdown {
    began: std::time::Instant,
    sent_before: u64,
    connections: u64,
    dropped: usize,
    runs: usize,
    finished: usize,
    pending: usize,
    hub: live::Hub,
}
