//! Live-channel load driver: fan-out latency from publish to receipt for 100, 1,000 and
//! 5,000 WebSocket clients, and server memory per idle connection.
//!
//! `cargo bench -p server --bench fanout [-- 100 1000]` (levels optional). The server runs in
//! a child process (this same binary), so its memory is measured apart from the clients';
//! everything is on 127.0.0.1 and stops by itself. Every client checks that it got every
//! event once and in order; a client that did not, or was dropped, is counted, and the
//! driver then exits 1 (`scripts/test.sh` runs it at 50 clients so it cannot rot).

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
        "{:>8} {:>9} {:>9} {:>9} {:>10} {:>8} {:>10} {:>22}",
        "clients",
        "p50 ms",
        "p99 ms",
        "max ms",
        "frames",
        "dropped",
        "disordered",
        "server KiB/idle conn"
    );
    let mut whole = true;
    for clients in levels {
        whole &= runtime.block_on(level(clients));
    }
    if !whole {
        eprintln!("some clients missed events, got them out of order, or were dropped");
        std::process::exit(1);
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
                run_id: None,
                cost: None,
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
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server prints its port within 30 s");
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

/// What one client saw.
#[derive(Default)]
struct Seen {
    latencies_ms: Vec<f64>,
    /// Events that arrived out of order or twice.
    disordered: u64,
    /// The connection failed or ended before every event arrived.
    dropped: bool,
}

/// Reads one client's frames until every event arrived, the connection ends or `limit`.
async fn read_client(url: String, hello: String, ready: tokio::sync::mpsc::Sender<bool>) -> Seen {
    let mut seen = Seen::default();
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(&url).await else {
        seen.dropped = true;
        let _ = ready.send(false).await;
        return seen;
    };
    if socket.send(Message::Text(hello.into())).await.is_err() {
        seen.dropped = true;
        let _ = ready.send(false).await;
        return seen;
    }
    let mut last_seq = None;
    let reading = async {
        // Reading also answers the server's pings (tungstenite does so by itself).
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            match serde_json::from_str::<ServerFrame>(text.as_str()) {
                Ok(ServerFrame::Snapshot { seq, .. }) => {
                    last_seq = Some(seq);
                    let _ = ready.send(true).await;
                }
                Ok(ServerFrame::Event {
                    seq,
                    event: LiveEvent::SessionUpsert { session },
                    ..
                }) => {
                    if last_seq.is_some_and(|last| seq != last + 1) {
                        seen.disordered += 1;
                    }
                    last_seq = Some(seq);
                    let received = Utc::now();
                    seen.latencies_ms.push(
                        (received - session.created_at)
                            .num_microseconds()
                            .unwrap_or(0) as f64
                            / 1000.0,
                    );
                    if seen.latencies_ms.len() as u64 == EVENTS {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    };
    let complete = tokio::time::timeout(Duration::from_secs(300), reading)
        .await
        .unwrap_or(false);
    seen.dropped = !complete;
    seen
}

/// The `p` quantile of sorted `values`, or `None` when there are none.
fn quantile(values: &[f64], p: f64) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    Some(values[(last as f64 * p).round() as usize])
}

/// Runs one level; returns whether every client got every event once, in order.
async fn level(clients: usize) -> bool {
    let server = start_server();
    let url = format!("ws://127.0.0.1:{}/ws", server.1);
    let before = rss_kib(server.0.id());
    let hello = serde_json::to_string(&ClientFrame::Hello {
        last_seq: None,
        epoch: None,
    })
    .unwrap();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<bool>(clients);
    let mut readers = Vec::with_capacity(clients);
    for _ in 0..clients {
        readers.push(tokio::spawn(read_client(
            url.clone(),
            hello.clone(),
            ready_tx.clone(),
        )));
        // Connect one at a time, as browsers arriving would (and within the listen backlog).
        let _ = ready_rx.recv().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(server.0.id());
    let per_conn = (idle.saturating_sub(before)) as f64 / clients as f64;
    let published = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/publish?n={EVENTS}&ms={SPACING_MS}",
            server.1
        ))
        .send()
        .await;
    if let Err(e) = published {
        println!("{clients:>8} publishing failed: {e}");
        return false;
    }
    let mut all = Vec::with_capacity(clients * EVENTS as usize);
    let (mut dropped, mut disordered) = (0, 0);
    for reader in readers {
        let seen = reader.await.unwrap_or_else(|_| Seen {
            dropped: true,
            ..Seen::default()
        });
        dropped += u64::from(seen.dropped);
        disordered += seen.disordered;
        all.extend(seen.latencies_ms);
    }
    all.sort_by(f64::total_cmp);
    let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    println!(
        "{clients:>8} {:>9} {:>9} {:>9} {:>10} {dropped:>8} {disordered:>10} {per_conn:>22.1}",
        show(quantile(&all, 0.50)),
        show(quantile(&all, 0.99)),
        show(all.last().copied()),
        all.len(),
    );
    dropped == 0 && disordered == 0 && all.len() == clients * EVENTS as usize
}
