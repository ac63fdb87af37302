//! Serving the router: the listener, the accept loop and graceful shutdown.
//!
//! The accept loop is our own rather than `axum::serve`, which offers neither of the two
//! limits a dashboard reachable before authentication needs:
//! - a **connection cap**: past [`ConnectionLimits::max`] open connections, the loop stops
//!   accepting until one closes (the next ones wait in the kernel's queue), so a crowd of
//!   idle sockets cannot take every file descriptor;
//! - a **header deadline**: a client has [`ConnectionLimits::header_timeout`] to send a
//!   request's headers, from connecting or from the end of its previous request, or its
//!   connection is closed, so half a request cannot hold a slot forever.

pub mod connections;

pub use connections::{ConnectionLimits, ConnectionStats};

use crate::state::AppState;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Connections waiting to be accepted, at most (the kernel caps it at `somaxconn`). The
/// standard library's 128 overflows when a thousand browsers reconnect at once after a
/// restart, and each one past it waits a second for its SYN to be sent again.
const BACKLOG: u32 = 4096;

/// A listener on `addr` with room for a crowd connecting at once.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
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
pub fn no_delay(stream: &mut TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then lets the open
/// connections finish their requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = state.dashboard.hub().clone();
    let runner = state.dashboard.runner().clone();
    let monitor = state.dashboard.monitor().clone();
    let limits = state.settings.connections.limits();
    let stats = state.connections.clone();
    let (began_tx, began_rx) = tokio::sync::oneshot::channel();
    let shutdown = async move {
        shutdown.await;
        let began = std::time::Instant::now();
        let sent_before = hub.stats().messages_sent;
        // No paid instance is left behind: cancel runs and let their cleanup finish.
        let runs = runner.active_count();
        let (finished, pending) = if runs > 0 {
            tracing::info!("cancelling runs in progress and cleaning up their sessions");
            runner.shutdown(Duration::from_secs(90)).await
        } else {
            (0, 0)
        };
        // With several replicas, another polls the broker at once, and this one's last
        // events reach the others' browsers.
        monitor.release_poller().await;
        if hub.origin().is_some() {
            hub.settle(Duration::from_secs(5)).await;
        }
        // Live connections would keep graceful shutdown waiting: tell them to close.
        let live = hub.stats();
        let dropped = hub.queued_frames();
        hub.close_all("server shutting down");
        let _ = began_tx.send(Shutdown {
            began,
            sent_before,
            connections: live.connections_current,
            dropped,
            runs,
            finished,
            pending,
            hub: hub.clone(),
        });
    };
    accept_loop(listener, crate::router(state), limits, stats, shutdown).await;
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

/// Accepts connections (at most `limits.max` open) and serves each with `router` until
/// `shutdown` resolves; then asks each connection to close after its request in progress
/// and waits for all of them.
pub async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max.max(1)));
    let (closing_tx, closing) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut warned: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                stats.at_cap.fetch_add(1, Ordering::Relaxed);
                // Once a minute at most: a crowd at the cap must not flood the log.
                if warned.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                    warned = Some(std::time::Instant::now());
                    tracing::warn!(
                        max = limits.max,
                        "connection cap reached: new connections wait until one closes (--max-connections)"
                    );
                }
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                }
            }
        };
        let (mut stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        no_delay(&mut stream);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        // The slot goes with the socket, into a live channel's task too after an upgrade.
        let stream = Counted::new(stream, slot, stats.clone());
        let service = router.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let mut closing = closing.clone();
        let header_timeout = limits.header_timeout;
        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = async { let _ = closing.wait_for(|c| *c).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
}

/// A connection's socket holding its slot under the cap: both are let go when the socket
/// is dropped, whether by hyper or, after an upgrade, by the live channel.
struct Counted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    stats: Arc<ConnectionStats>,
}

impl Counted {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, stats: Arc<ConnectionStats>) -> Self {
        stats.open.fetch_add(1, Ordering::Relaxed);
        Self {
            stream,
            _slot: slot,
            stats,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
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
    hub: crate::live::Hub,
}
