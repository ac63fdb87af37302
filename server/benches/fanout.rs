//! Live-channel load driver: how fast events reach many WebSocket clients, how fast a crowd
//! connecting at once is served, and the server's memory per connection.
//!
//! `cargo bench -p server --bench fanout [-- [isolated] [burst] [storm] [levels…]]`
//!
//! - `isolated`: [`ISOLATED`] events, [`ISOLATED_GAP_MS`] apart, so each reaches every
//!   client before the next is published: the latency of one event to everyone.
//! - `burst`: [`BURST`] events [`SPACING_MS`] apart (up to a million frames a second at
//!   5,000 clients): the latency when clients fall behind and frames queue.
//! - `storm`: every client connects at the same moment (`/ws?new`, as a browser's first
//!   visit); the time from starting to connect to the first frame (the snapshot).
//!
//! - `replicas`: two server processes sharing one live order through PostgreSQL (as two
//!   replicas of the dashboard do), the clients split between them: the isolated events
//!   published on one, the burst half on each at the same total rate. Needs
//!   `GDL_TEST_DATABASE_URL` (`eval "$(scripts/pg.sh start)"`); says it was skipped without.
//!
//! Without a mode all three (not `replicas`) run; without levels, isolated and burst run at 1,000 and 5,000
//! clients (on the same connections, isolated first) and the storm at 1,000. The server runs
//! in a child process (this same binary, the hub's default settings), so its memory is
//! measured apart from the clients'; everything is on 127.0.0.1 and stops by itself. Every
//! client checks it got every event once and in order; a client that did not, or was
//! dropped, is counted, and the driver then exits 1 (`scripts/test.sh` runs it at 50 clients
//! so it cannot rot). Clients read only what they measure (the sequence number, the event's
//! id and publish time), so their share of the two cores goes to reading, not to parsing.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use chrono::Utc;
use futures::StreamExt;
use gdl_model::live::LiveEvent;
use gdl_model::sessions::SessionView;
use gdl_model::shopper::SessionStatus;
use server::live::{Hub, HubConfig};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const ROLE: &str = "GDL_FANOUT_ROLE";
/// The database a server process shares its events through (the `replicas` mode).
const SHARED_DB: &str = "GDL_FANOUT_DATABASE_URL";
const ISOLATED: u64 = 20;
const ISOLATED_GAP_MS: u64 = 250;
const BURST: u64 = 200;
const SPACING_MS: u64 = 5;
/// A reader gives up after this long (it then counts as dropped).
const READ_LIMIT: Duration = Duration::from_secs(300);

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var(ROLE).as_deref() == Ok("server") {
        runtime.block_on(serve());
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let levels: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let named = |m: &str| args.iter().any(|a| a == m);
    let all = !["isolated", "burst", "storm", "replicas"]
        .iter()
        .any(|m| named(m));
    let (isolated, burst, storm) = (
        all || named("isolated"),
        all || named("burst"),
        all || named("storm"),
    );
    let (event_levels, storm_levels) = if levels.is_empty() {
        (vec![1_000, 5_000], vec![1_000])
    } else {
        (levels.clone(), levels)
    };
    println!(
        "live channel: isolated = {ISOLATED} events {ISOLATED_GAP_MS} ms apart; burst = {BURST} events {SPACING_MS} ms apart; \
         storm = every client connecting at once. Latency: publish -> receipt (storm: connect -> first frame)."
    );
    println!(
        "{:<9} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8} {:>10} {:>9} {:>12}",
        "mode",
        "clients",
        "events",
        "p50 ms",
        "p99 ms",
        "max ms",
        "frames",
        "dropped",
        "disordered",
        "KiB/conn",
        "srv µs/frame"
    );
    let mut whole = true;
    if isolated || burst {
        for &clients in &event_levels {
            whole &= runtime.block_on(events(clients, isolated, burst));
        }
    }
    if storm {
        for &clients in &storm_levels {
            whole &= runtime.block_on(connect_storm(clients));
        }
    }
    if named("replicas") {
        for &clients in &event_levels {
            whole &= runtime.block_on(two_replicas(clients));
        }
    }
    println!(
        "KiB/conn: the server's resident memory growth per open connection, read after that row's phase; \
         srv µs/frame: the server's CPU time in the phase per frame delivered (storm: per connection)"
    );
    if !whole {
        eprintln!("some clients missed events, got them out of order, or were dropped");
        std::process::exit(1);
    }
}

/// The child: a hub with `/ws` and `/publish` on a port-0 listener; prints the port.
async fn serve() {
    let hub = match std::env::var(SHARED_DB) {
        Ok(url) => shared_hub(&url).await,
        Err(_) => Hub::new(HubConfig::default()),
    };
    let router = axum::Router::new()
        .route("/ws", get(server::live::upgrade))
        .route("/publish", post(publish))
        .with_state(hub);
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    axum::serve(
        listener.tap_io(server::no_delay),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
    .unwrap();
}

/// A hub whose order is the database's at `url`, as a replica's is.
async fn shared_hub(url: &str) -> Hub {
    let store = server::store::Store::connect(url)
        .await
        .expect("the shared database");
    let installation = store.installation_id().await.unwrap();
    let newest = store.newest_event().await.unwrap();
    let (hub, outgoing) = Hub::shared(HubConfig::default(), installation);
    server::live::relay::start(hub.clone(), store, newest, outgoing);
    hub
}

/// Publishes `n` events `ms` apart, ids `{tag}-{i}`; each carries its publish time in
/// `created_at`.
async fn publish(State(hub): State<Hub>, Query(q): Query<HashMap<String, String>>) -> &'static str {
    let number = |key: &str| q.get(key).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let tag = q.get("tag").map_or("event", String::as_str);
    for i in 0..number("n") {
        hub.publish([LiveEvent::SessionUpsert {
            session: SessionView {
                id: format!("{tag}-{i}").into(),
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
                foreign: false,
                cost: None,
            },
        }]);
        tokio::time::sleep(Duration::from_millis(number("ms"))).await;
    }
    "ok"
}

struct ServerProcess(Child, u16);

impl ServerProcess {
    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws?new", self.1)
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id()));
        status
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// The server process's CPU time so far (user and system), in ms (clock ticks of 10 ms).
    fn cpu_ms(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0.id()));
        let stat = stat.unwrap_or_default();
        // After the command name (in parentheses): state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) * 10.0
    }

    async fn publish(&self, tag: &str, n: u64, ms: u64) -> bool {
        let url = format!(
            "http://127.0.0.1:{}/publish?tag={tag}&n={n}&ms={ms}",
            self.1
        );
        let sent = reqwest::Client::new().post(url).send().await;
        sent.is_ok_and(|r| r.status().is_success())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> ServerProcess {
    start_server_on(None)
}

/// A server process, sharing its events through the database at `shared` if given.
fn start_server_on(shared: Option<&str>) -> ServerProcess {
    let mut command = Command::new(std::env::current_exe().unwrap());
    if let Some(url) = shared {
        command.env(SHARED_DB, url);
    }
    let mut child = command
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

/// What the driver reads of a server frame, found by its keys (the server writes `type`,
/// `epoch`, `seq`, then the event); the rest is left unparsed. A change of format shows as
/// missed events, which fail the run.
struct Lean<'a> {
    kind: &'a str,
    seq: u64,
    /// The session's id and publish time, for events.
    session: Option<(&'a str, &'a str)>,
}

impl<'a> Lean<'a> {
    fn read(text: &'a str) -> Option<Self> {
        let kind = string_after(text, "\"type\":\"")?;
        let seq = after(text, "\"seq\":")?;
        let seq = seq[..seq.find([',', '}'])?].parse().ok()?;
        let session = string_after(text, "\"id\":\"").zip(string_after(text, "\"created_at\":\""));
        Some(Self { kind, seq, session })
    }
}

/// What follows the first `key` in `text`.
fn after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.find(key).map(|at| &text[at + key.len()..])
}

/// The string value that follows `key` (which ends with its opening quote).
fn string_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = after(text, key)?;
    Some(&rest[..rest.find('"')?])
}

async fn connect(url: &str) -> Option<Socket> {
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .ok()?;
    Some(socket)
}

/// What one client saw: latencies per tag, and whether it saw every event once, in order.
#[derive(Default)]
struct Seen {
    latencies_ms: HashMap<String, Vec<f64>>,
    /// Events that arrived out of order or twice.
    disordered: u64,
    /// The connection failed or ended before every event arrived.
    dropped: bool,
    /// Kept open until every client is done, so memory is read with all connected.
    socket: Option<Socket>,
}

/// Connects, reports the snapshot on `ready`, then reads until `expected` events arrived.
async fn read_client(url: String, expected: u64, ready: tokio::sync::mpsc::Sender<()>) -> Seen {
    let mut seen = Seen::default();
    let Some(mut socket) = connect(&url).await else {
        seen.dropped = true;
        let _ = ready.send(()).await;
        return seen;
    };
    let mut last_seq: Option<u64> = None;
    let mut got = 0;
    let reading = async {
        // Reading also answers the server's pings (tungstenite does so by itself).
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let Some(frame) = Lean::read(text.as_str()) else {
                continue;
            };
            match (frame.kind, frame.session) {
                ("snapshot", _) => {
                    last_seq = Some(frame.seq);
                    let _ = ready.send(()).await;
                }
                ("event", Some((id, created_at))) => {
                    if last_seq.is_some_and(|last| frame.seq != last + 1) {
                        seen.disordered += 1;
                    }
                    last_seq = Some(frame.seq);
                    let sent = chrono::DateTime::parse_from_rfc3339(created_at);
                    let ms = sent.map_or(f64::NAN, |t| {
                        (Utc::now() - t.to_utc()).num_microseconds().unwrap_or(0) as f64 / 1e3
                    });
                    let tag = id.split('-').next().unwrap_or_default();
                    match seen.latencies_ms.get_mut(tag) {
                        Some(list) => list.push(ms),
                        None => {
                            seen.latencies_ms.insert(tag.to_owned(), vec![ms]);
                        }
                    }
                    got += 1;
                    if got == expected {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    };
    let complete = tokio::time::timeout(READ_LIMIT, reading)
        .await
        .unwrap_or(false);
    seen.dropped = !complete;
    seen.socket = Some(socket);
    seen
}

/// Connects `clients` readers one after another (as arriving browsers would), client `i`
/// to `url(i)`, each waiting for `expected` events; returns once each has its snapshot.
async fn connect_readers(
    clients: usize,
    expected: u64,
    url: impl Fn(usize) -> String,
) -> Vec<tokio::task::JoinHandle<Seen>> {
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(clients);
    let mut readers = Vec::with_capacity(clients);
    for i in 0..clients {
        readers.push(tokio::spawn(read_client(
            url(i),
            expected,
            ready_tx.clone(),
        )));
        let _ = ready_rx.recv().await;
    }
    readers
}

/// What every reader saw (a reader that failed counts as dropped).
async fn gather(readers: Vec<tokio::task::JoinHandle<Seen>>) -> Vec<Seen> {
    let mut seen = Vec::with_capacity(readers.len());
    for reader in readers {
        seen.push(reader.await.unwrap_or_else(|_| Seen {
            dropped: true,
            ..Seen::default()
        }));
    }
    seen
}

/// The `p` quantile of sorted `values`, or `None` when there are none.
fn quantile(values: &[f64], p: f64) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    Some(values[(last as f64 * p).round() as usize])
}

/// What one phase cost the server: memory per connection after it, CPU per frame in it.
struct Cost {
    kib_per_conn: f64,
    cpu_us_per_frame: f64,
}

/// Prints one row of the table.
fn row(mode: &str, clients: usize, events: u64, mut ms: Vec<f64>, tally: (u64, u64), cost: Cost) {
    ms.sort_by(f64::total_cmp);
    let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    let (dropped, disordered) = tally;
    println!(
        "{mode:<9} {clients:>7} {events:>7} {:>9} {:>9} {:>9} {:>9} {dropped:>8} {disordered:>10} {:>9.1} {:>12.1}",
        show(quantile(&ms, 0.50)),
        show(quantile(&ms, 0.99)),
        show(ms.last().copied()),
        ms.len(),
        cost.kib_per_conn,
        cost.cpu_us_per_frame,
    );
}

/// Connects `clients` one after another (as arriving browsers would), then runs the
/// isolated events and the burst on those connections. Returns whether every client got
/// every event once, in order.
async fn events(clients: usize, isolated: bool, burst: bool) -> bool {
    let server = start_server();
    let before = server.rss_kib();
    let per_conn = |now: u64| now.saturating_sub(before) as f64 / clients as f64;
    let expected = if isolated { ISOLATED } else { 0 } + if burst { BURST } else { 0 };
    let readers = connect_readers(clients, expected, |_| server.url()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = per_conn(server.rss_kib());
    let frames = |n: u64| (n as usize * clients) as f64;
    let mut published = true;
    let start = server.cpu_ms();
    if isolated {
        published &= server.publish("isolated", ISOLATED, ISOLATED_GAP_MS).await;
    }
    let between = server.cpu_ms();
    if burst {
        published &= server.publish("burst", BURST, SPACING_MS).await;
    }
    let mut seen = gather(readers).await;
    let end = server.cpu_ms();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = per_conn(server.rss_kib());
    let isolated_cost = Cost {
        kib_per_conn: idle,
        cpu_us_per_frame: (between - start) * 1e3 / frames(ISOLATED),
    };
    let burst_cost = Cost {
        kib_per_conn: after,
        cpu_us_per_frame: (end - between) * 1e3 / frames(BURST),
    };
    let dropped = seen.iter().filter(|s| s.dropped).count() as u64;
    let disordered: u64 = seen.iter().map(|s| s.disordered).sum();
    let mut whole = published && dropped == 0 && disordered == 0;
    let phases = [
        (isolated, "isolated", ISOLATED, isolated_cost),
        (burst, "burst", BURST, burst_cost),
    ];
    for (_, tag, n, cost) in phases.into_iter().filter(|(ran, ..)| *ran) {
        let ms: Vec<f64> = seen
            .iter_mut()
            .flat_map(|s| s.latencies_ms.remove(tag).unwrap_or_default())
            .collect();
        whole &= ms.len() == clients * n as usize;
        row(tag, clients, n, ms, (dropped, disordered), cost);
    }
    whole
}

/// Every client connects at the same moment; each times connect → first frame.
async fn connect_storm(clients: usize) -> bool {
    let server = start_server();
    let before = server.rss_kib();
    let cpu_before = server.cpu_ms();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(clients));
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (url, start) = (server.url(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let began = Instant::now();
            let mut socket = connect(&url).await?;
            let first = tokio::time::timeout(READ_LIMIT, socket.next()).await;
            let ms = began.elapsed().as_secs_f64() * 1e3;
            matches!(first, Ok(Some(Ok(Message::Text(_))))).then_some((ms, socket))
        }));
    }
    let mut done = Vec::with_capacity(clients);
    for task in tasks {
        done.push(task.await.ok().flatten());
    }
    let cost = Cost {
        kib_per_conn: 0.0,
        cpu_us_per_frame: (server.cpu_ms() - cpu_before) * 1e3 / clients as f64,
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cost = Cost {
        kib_per_conn: server.rss_kib().saturating_sub(before) as f64 / clients as f64,
        ..cost
    };
    let dropped = done.iter().filter(|d| d.is_none()).count() as u64;
    let ms = done.into_iter().flatten().map(|(ms, _)| ms).collect();
    row("storm", clients, 0, ms, (dropped, 0), cost);
    dropped == 0
}

/// Two replicas sharing one live order through PostgreSQL, `clients` split between them:
/// the isolated events published on one, the burst half on each (each half at half the
/// rate, so the total rate is a single server's). Every client must get every event once
/// and in order, whichever replica published it.
async fn two_replicas(clients: usize) -> bool {
    let Ok(base) = std::env::var("GDL_TEST_DATABASE_URL") else {
        println!("replicas: skipped: GDL_TEST_DATABASE_URL is unset (eval \"$(scripts/pg.sh start)\" sets it)");
        return true;
    };
    let schema = format!("fanout_{}", uuid::Uuid::new_v4().simple());
    let (admin, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("GDL_TEST_DATABASE_URL answers");
    tokio::spawn(connection);
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let url = format!("{base}?options=-c%20search_path%3D{schema}");
    let servers = [start_server_on(Some(&url)), start_server_on(Some(&url))];
    let expected = ISOLATED + BURST;
    let readers = connect_readers(clients, expected, |i| servers[i % 2].url()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu = |s: &[ServerProcess; 2]| s[0].cpu_ms() + s[1].cpu_ms();
    let start = cpu(&servers);
    let mut published = servers[0]
        .publish("isolated", ISOLATED, ISOLATED_GAP_MS)
        .await;
    let between = cpu(&servers);
    let (one, two) = tokio::join!(
        servers[0].publish("burst", BURST / 2, SPACING_MS * 2),
        servers[1].publish("burst", BURST - BURST / 2, SPACING_MS * 2)
    );
    published &= one && two;
    let mut seen = gather(readers).await;
    let end = cpu(&servers);
    let frames = |n: u64| (n as usize * clients) as f64;
    let dropped = seen.iter().filter(|s| s.dropped).count() as u64;
    let disordered: u64 = seen.iter().map(|s| s.disordered).sum();
    let mut whole = published && dropped == 0 && disordered == 0;
    let phases = [
        (
            "isolated",
            "2r-isol",
            ISOLATED,
            (between - start) * 1e3 / frames(ISOLATED),
        ),
        (
            "burst",
            "2r-burst",
            BURST,
            (end - between) * 1e3 / frames(BURST),
        ),
    ];
    for (tag, label, n, cpu_us_per_frame) in phases {
        let ms: Vec<f64> = seen
            .iter_mut()
            .flat_map(|s| s.latencies_ms.remove(tag).unwrap_or_default())
            .collect();
        whole &= ms.len() == clients * n as usize;
        let cost = Cost {
            kib_per_conn: 0.0,
            cpu_us_per_frame,
        };
        row(label, clients, n, ms, (dropped, disordered), cost);
    }
    drop(servers);
    let _ = admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await;
    whole
}
