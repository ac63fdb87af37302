//! Serving the simulator on a loopback port with an accept loop that can go offline:
//! the listening socket closes and open connections are cut, so clients see a refused
//! connection, exactly as when the real broker is down; it re-binds the same port later.

use super::Simulator;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

impl Simulator {
    /// Refuses connections until [`Simulator::set_offline`]`(false)`.
    pub fn set_offline(&self, offline: bool) {
        self.offline_switch().send_replace(offline);
    }

    /// Goes offline now and comes back after `duration`.
    pub fn go_offline_for(&self, duration: Duration) {
        self.set_offline(true);
        let weak = self.downgrade();
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            if let Some(sim) = Simulator::from_weak(&weak) {
                sim.set_offline(false);
            }
        });
    }

    /// Whether it is refusing connections.
    pub fn is_offline(&self) -> bool {
        *self.offline_switch().borrow()
    }

    /// Follows the offline switch (a change is seen even when it was brief).
    pub fn watch_offline(&self) -> watch::Receiver<bool> {
        self.offline_switch().subscribe()
    }

    fn offline_switch(&self) -> &watch::Sender<bool> {
        &self.shared.offline
    }
}

/// A simulator listening on a TCP address. Dropping it stops serving.
pub struct SimServer {
    addr: SocketAddr,
    sim: Simulator,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Binds `addr` (port 0 picks a free port) and serves `sim` on it.
    pub async fn start(sim: Simulator, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = bind(addr)?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(sim.clone(), listener, addr));
        Ok(Self {
            addr,
            sim,
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The simulator behind it.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// Serves until the task ends (never, unless re-binding fails).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn serve(sim: Simulator, first: TcpListener, addr: SocketAddr) {
    let router = sim.router();
    let mut offline = sim.offline_switch().subscribe();
    let mut listener = Some(first);
    loop {
        let current = match listener.take() {
            Some(l) => l,
            None => match bind_retrying(addr).await {
                Some(l) => l,
                None => return,
            },
        };
        let went_offline = serve_until(&current, router.clone(), async {
            offline.wait_for(|off| *off).await.is_ok()
        })
        .await;
        drop(current);
        if !went_offline || offline.wait_for(|off| !*off).await.is_err() {
            return;
        }
    }
}

/// Serves `router` on `listener` until `stop` is ready, then cuts every open connection
/// (mid-response too, as a process that dies does) and returns what `stop` gave.
pub(super) async fn serve_until<T>(
    listener: &TcpListener,
    router: axum::Router,
    stop: impl std::future::Future<Output = T>,
) -> T {
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    let out = loop {
        tokio::select! {
            biased;
            out = &mut stop => break out,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // Small writes (a stream's chunks) go out at once, as a real server's do.
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    connections.abort_all();
    out
}

async fn bind_retrying(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..100 {
        if let Ok(l) = bind(addr) {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracing::error!(%addr, "simulator could not re-bind its address after going offline");
    None
}
