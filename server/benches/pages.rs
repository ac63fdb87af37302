//! Page and status load driver: how fast the dashboard serves its own page (`/`, rendered on
//! the server) and `/api/status`, as requests a second and latency, with keep-alive
//! connections sending one request after another (as `wrk -t2 -c10` does).
//!
//! `cargo bench -p server --bench pages [-- [--seconds S] [--connections C] [--rounds R]
//! [--binary PATH]... ]`
//!
//! The dashboard runs in a child process on the embedded simulator (speed 10, a fixed seed,
//! no provisioning failures): by default this same binary's build of the server; with
//! `--binary PATH` (repeatable) each given `gpu-deploy-llm` is started with `serve` instead,
//! so two builds (say this one and an older commit's) are measured side by side on one
//! machine, their rounds interleaved so a busy moment does not favour either. Every request
//! must answer 200 with a whole body; a failure is counted and the driver then exits 1
//! (`scripts/test.sh` runs it for a moment so it cannot rot). Everything is on 127.0.0.1 and
//! stops by itself.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// The binary's allocator, so "this build" is measured as it ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROLE: &str = "GDL_PAGES_ROLE";
const PATHS: [&str; 2] = ["/", "/api/status"];

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("server") {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(serve());
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let seconds = value("--seconds").unwrap_or(10);
    let connections = value("--connections").unwrap_or(10) as usize;
    let rounds = value("--rounds").unwrap_or(3);
    let binaries: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--binary")
        .map(|w| w[1].clone())
        .collect();
    let targets: Vec<Target> = if binaries.is_empty() {
        vec![Target::this_build()]
    } else {
        binaries.iter().map(|b| Target::binary(b)).collect()
    };
    // The client: two threads, as wrk -t2.
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Let each dashboard read the broker once before it is measured.
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "page and status: {connections} keep-alive connections, {seconds} s per round, {rounds} rounds interleaved; \
         latency from sending a request to its last byte"
    );
    println!(
        "{:<40} {:<12} {:>10} {:>9} {:>9} {:>9} {:>8}",
        "server", "path", "req/s", "p50 ms", "p90 ms", "p99 ms", "failed"
    );
    let mut results: Vec<Vec<Measured>> = vec![Vec::new(); targets.len() * PATHS.len()];
    for _ in 0..rounds {
        for (t, target) in targets.iter().enumerate() {
            for (p, path) in PATHS.iter().enumerate() {
                let measured = client.block_on(load(
                    target.port,
                    path,
                    connections,
                    Duration::from_secs(seconds),
                ));
                results[t * PATHS.len() + p].push(measured);
            }
        }
    }
    let mut failed = 0;
    for (t, target) in targets.iter().enumerate() {
        for (p, path) in PATHS.iter().enumerate() {
            let all = Measured::merge(&results[t * PATHS.len() + p]);
            failed += all.failed;
            println!(
                "{:<40} {:<12} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>8}",
                target.name,
                path,
                all.per_second(),
                all.percentile(0.50),
                all.percentile(0.90),
                all.percentile(0.99),
                all.failed
            );
        }
    }
    if failed > 0 {
        eprintln!("{failed} requests failed");
        std::process::exit(1);
    }
}

/// A dashboard being measured, in its own process.
struct Target {
    name: String,
    port: u16,
    child: Child,
    _data: TempDir,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("gdl-pages-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Target {
    /// This build's server, in a child process of this same binary; it prints its port.
    fn this_build() -> Self {
        let data = TempDir::new();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(ROLE, "server")
            .env("GDL_PAGES_DATA", &data.0)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Self {
            name: "this build".into(),
            port: line.trim().parse().unwrap(),
            child,
            _data: data,
        }
    }

    /// `gpu-deploy-llm serve` of the binary at `path`, found by the address it announces.
    fn binary(path: &str) -> Self {
        let data = TempDir::new();
        let mut child = Command::new(path)
            .args(["serve", "--addr", "127.0.0.1:0", "--sim-speed", "10"])
            .args(["--sim-failure-rate", "0", "--data-dir"])
            .arg(&data.0)
            .env("RUST_LOG", "warn,server::cli=info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let reader = BufReader::new(child.stderr.take().unwrap());
        let mut port = None;
        for line in reader.lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                port = digits.parse().ok();
                break;
            }
        }
        Self {
            name: path.into(),
            port: port.unwrap_or_else(|| panic!("{path} did not say where it listens")),
            child,
            _data: data,
        }
    }
}

/// The child: a dashboard on the embedded simulator, on a port-0 loopback listener.
async fn serve() {
    let data = std::path::PathBuf::from(std::env::var("GDL_PAGES_DATA").unwrap());
    let sim = server::simulator::SimConfig {
        speed: 10.0,
        seed: Some(7),
        provision_failure_rate: 0.0,
        ..Default::default()
    };
    let state = server::start(server::Settings::local(data, sim))
        .await
        .unwrap();
    let listener = server::listen(([127, 0, 0, 1], 0).into()).unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    server::run(listener, state, std::future::pending())
        .await
        .unwrap();
}

/// What one path's load measured.
#[derive(Clone, Default)]
struct Measured {
    latencies_ms: Vec<f64>,
    failed: u64,
    elapsed: Duration,
}

impl Measured {
    fn merge(all: &[Measured]) -> Measured {
        let mut merged = Measured::default();
        for m in all {
            merged.latencies_ms.extend(&m.latencies_ms);
            merged.failed += m.failed;
            merged.elapsed += m.elapsed;
        }
        merged.latencies_ms.sort_by(f64::total_cmp);
        merged
    }

    fn per_second(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile(&self, p: f64) -> f64 {
        gdl_model::benchmark::percentile(&self.latencies_ms, p * 100.0)
    }
}

/// `connections` clients sending `GET path` one after another for `length`.
async fn load(port: u16, path: &str, connections: usize, length: Duration) -> Measured {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html,application/json\r\n\r\n"
    );
    let started = Instant::now();
    let until = started + length;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move { client(port, request.into_bytes(), until).await })
        })
        .collect();
    let mut measured = Measured::default();
    for task in tasks {
        let (latencies, failed) = task.await.unwrap();
        measured.latencies_ms.extend(latencies);
        measured.failed += failed;
    }
    measured.elapsed = started.elapsed();
    measured
}

/// One keep-alive connection: requests until `until`; the latencies (ms) and the failures.
async fn client(port: u16, request: Vec<u8>, until: Instant) -> (Vec<f64>, u64) {
    let (mut latencies, mut failed) = (Vec::new(), 0);
    let mut buffer = Vec::with_capacity(256 * 1024);
    let mut stream = None;
    while Instant::now() < until {
        if stream.is_none() {
            match TcpStream::connect(("127.0.0.1", port)).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(s) = stream.as_mut() else { continue };
        let sent = Instant::now();
        match exchange(s, &request, &mut buffer).await {
            Some(200) => latencies.push(sent.elapsed().as_secs_f64() * 1000.0),
            _ => {
                failed += 1;
                stream = None;
            }
        }
    }
    (latencies, failed)
}

/// Sends `request` and reads one whole response (its length given or chunked): its status.
async fn exchange(stream: &mut TcpStream, request: &[u8], buffer: &mut Vec<u8>) -> Option<u16> {
    stream.write_all(request).await.ok()?;
    buffer.clear();
    let head_end = loop {
        if let Some(i) = find(buffer, b"\r\n\r\n") {
            break i + 4;
        }
        read_more(stream, buffer).await?;
    };
    let head = std::str::from_utf8(&buffer[..head_end])
        .ok()?
        .to_ascii_lowercase();
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(n) => {
            while buffer.len() < head_end + n {
                read_more(stream, buffer).await?;
            }
        }
        None if head.contains("transfer-encoding: chunked") => {
            // The last chunk is empty: "0\r\n\r\n".
            let done = |b: &[u8]| b.ends_with(b"\r\n0\r\n\r\n") || b == b"0\r\n\r\n";
            while !done(&buffer[head_end..]) {
                read_more(stream, buffer).await?;
            }
        }
        None => return None,
    }
    Some(status)
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<()> {
    // Straight into the buffer's spare room: no copy through a chunk on the stack.
    buffer.reserve(16 * 1024);
    match stream.read_buf(buffer).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
