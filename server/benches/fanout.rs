//! Live-channel load driver: fan-out latency from publish to receipt for 100, 1,000 and
//! 5,000 WebSocket clients, and server memory per idle connection.
//!
//! `cargo bench -p server --bench fanout [-- 100 1000]` (levels optional). The server runs in
//! a child process (this same binary), so its memory is measured apart from the clients';
//! everything is on 127.0.0.1 and stops by itself.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use gdl_model::api::SessionView;
use gdl_model::live::{ClientFrame, LiveEvent, ServerFrame};
use gdl_model::shopper::SessionStatus;
use server::live::{Hub, HubConfig};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const ROLE: &str = "GDL_FANOUT_ROLE";
const EVENTS: u64 = 200;
const SPACING_MS: u64 = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var(ROLE).as_deref() == Ok("server") {
        runtime.block_on(serve());
        return;
    }
    let levels: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let levels = if levels.is_empty() {
        vec![100, 1_000, 5_000]
    } else {
        levels
    };
    println!("live channel fan-out: {EVENTS} events per level, {SPACING_MS} ms apart, publish -> receipt");
    println!(
        "{:>8} {:>9} {:>9} {:>9} {:>10} {:>22}",
        "clients", "p50 ms", "p99 ms", "max ms", "frames", "server KiB/idle conn"
    );
    for clients in levels {
        runtime.block_on(level(clients));
    }
}

/// The child: a hub with `/ws` and `/publish` on a port-0 listener; prints the port.
async fn serve() {
    let hub = Hub::new(HubConfig {
        client_queue: 4096,
        ..HubConfig::default()
    });
    let router = axum::Router::new()
        .route("/ws", get(server::live::upgrade))
        .route("/publish", post(publish))
        .with_state(hub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
    .unwrap();
}

/// Publishes `n` events `ms` apart; each carries its publish time in `created_at`.
async fn publish(State(hub): State<Hub>, Query(q): Query<HashMap<String, u64>>) -> &'static str {
    let n = q.get("n").copied().unwrap_or(EVENTS);
    let ms = q.get("ms").copied().unwrap_or(SPACING_MS);
    for i in 0..n {
        hub.publish([LiveEvent::SessionUpsert {
            session: SessionView {
                id: format!("bench-{i}"),
                status: SessionStatus::Running,
                provider: gdl_model::shopper::Provider::VastAi,
                gpu_type: "RTX 4090".into(),
                gpu_count: 1,
                price_per_hour: 0.4,
                created_at: Utc::now(),
                expires_at: None,
                time_to_running_secs: None,
                error: None,
                consumer_id: "bench".into(),
            },
        }]);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    "ok"
}

struct ServerProcess(Child, u16);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> ServerProcess {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "server")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the server process");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    ServerProcess(child, port)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

async fn level(clients: usize) {
    let server = start_server();
    let url = format!("ws://127.0.0.1:{}/ws", server.1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib(server.0.id());
    let hello = serde_json::to_string(&ClientFrame::Hello {
        last_seq: None,
        epoch: None,
    })
    .unwrap();
    let mut sockets = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .expect("connect");
        socket
            .send(Message::Text(hello.clone().into()))
            .await
            .unwrap();
        sockets.push(socket);
    }
    let mut readers = Vec::with_capacity(clients);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(clients);
    for mut socket in sockets {
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(EVENTS as usize);
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                match serde_json::from_str::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::Snapshot { .. }) => ready.send(()).await.unwrap(),
                    Ok(ServerFrame::Event {
                        event: LiveEvent::SessionUpsert { session },
                        ..
                    }) => {
                        let received = Utc::now();
                        latencies.push(
                            (received - session.created_at)
                                .num_microseconds()
                                .unwrap_or(0) as f64
                                / 1000.0,
                        );
                        if latencies.len() as u64 == EVENTS {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            latencies
        }));
    }
    for _ in 0..clients {
        ready_rx.recv().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(server.0.id());
    let per_conn = (idle.saturating_sub(before)) as f64 / clients as f64;
    let http = reqwest::Client::new();
    http.post(format!(
        "http://127.0.0.1:{}/publish?n={EVENTS}&ms={SPACING_MS}",
        server.1
    ))
    .send()
    .await
    .unwrap();
    let mut all = Vec::with_capacity(clients * EVENTS as usize);
    for reader in readers {
        all.extend(
            tokio::time::timeout(Duration::from_secs(120), reader)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{clients:>8} {:>9.2} {:>9.2} {:>9.2} {:>10} {per_conn:>22.1}",
        pct(0.50),
        pct(0.99),
        all.last().copied().unwrap_or(0.0),
        all.len()
    );
}
