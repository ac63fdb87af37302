//! What the gateway adds to time to first token: the same streamed chat completions sent
//! straight to an engine (as the gateway reaches it, at the tunnel's local end) and through
//! the dashboard's `/serve/{id}/v1/chat/completions`, at each concurrency level, and the
//! difference of the p50s and of the p99s. The target (issue 28): under 1 ms at p50 and
//! 5 ms at p99.
//!
//! The engine is a small local streaming server with a fixed time to first token (20 ms)
//! and a chunk every 2 ms after it (`--chunk-ms`), whatever the load, so the difference is
//! the gateway's alone. Client, gateway and engine share this machine's cores: at 256
//! streams of 500 tokens a second each, the CPU the gateway's extra hop takes shows as
//! queueing; a real engine serving 256 streams sends each far slower (try `--chunk-ms 30`). The gateway is the real one, in a dashboard started in this process (its
//! embedded simulator idle), with one deployment registered as serving from that engine.
//! Connections are opened before measuring, for both paths alike.
//!
//! `cargo bench -p server --bench gateway [-- --requests N --levels 1,64,256 --chunk-ms 2]`
//! (default 2000 requests a level and path). Everything stays on 127.0.0.1 and stops by
//! itself.

use axum::body::{Body, Bytes};
use axum::routing::post;
use axum::Router;
use gdl_model::deployments::{Deployment, DeploymentStatus, Guards};
use server::deploy::Upstream;
use std::sync::Arc;
use std::time::{Duration, Instant};

// The binary's allocator, so the gateway is measured as it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The engine's time to first token.
const ENGINE_TTFT: Duration = Duration::from_millis(20);
/// Content chunks per reply, one every `CHUNK_EVERY`.
const CHUNKS: usize = 8;
static CHUNK_EVERY: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
/// The engine's key (the gateway adds it; clients send a deployment key).
const ENGINE_KEY: &str = "engine-key";

/// A streamed reply: the first content chunk after [`ENGINE_TTFT`], then the rest, the
/// usage and the end.
async fn engine() -> axum::response::Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        tokio::time::sleep(ENGINE_TTFT).await;
        for i in 0..CHUNKS {
            if i > 0 {
                tokio::time::sleep(CHUNK_EVERY.get().copied().unwrap_or_default()).await;
            }
            let chunk = format!(
                "data: {{\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}}}}]}}\n\n"
            );
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
        }
        let end = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":8}}\n\ndata: [DONE]\n\n";
        let _ = tx.send(Ok(Bytes::from_static(end.as_bytes()))).await;
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(body)
        .unwrap()
}

/// Starts the engine; its base URL.
async fn start_engine() -> String {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Small writes at once, as the tunnel's local end sends them (no Nagle).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let router = Router::new().route("/v1/chat/completions", post(engine));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Starts a dashboard with a deployment serving from `engine_url`; the deployment's base
/// URL and key.
async fn start_gateway(engine_url: &str) -> (String, String, tokio::sync::oneshot::Sender<()>) {
    let dir = std::env::temp_dir().join(format!("gdl-bench-gateway-{}", std::process::id()));
    let mut settings = server::Settings::local(dir, server::simulator::SimConfig::default());
    // The driver is one key sending as fast as it can: the rate limit is not measured here.
    settings.deploy.gateway_rate = 1_000_000;
    let state = server::start(settings).await.unwrap();
    let registry = state.dashboard.runner().deployments().clone();
    let record = Deployment::new(
        "dep-bench".into(),
        "run-bench".into(),
        "sim".into(),
        "vLLM".into(),
        Guards::default(),
        chrono::Utc::now(),
    );
    let (live, key) = registry.create(record, "bench").await.unwrap();
    live.change(|d| {
        d.status = DeploymentStatus::Serving;
        d.served_model = Some("sim".into());
    });
    live.set_upstream(Some(Upstream {
        base_url: engine_url.to_owned(),
        api_key: zeroize::Zeroizing::new(ENGINE_KEY.into()),
    }));
    let listener = server::serve::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::run(listener, state, async move {
        let _ = stopped.await;
    }));
    (format!("{url}/serve/dep-bench/v1"), key.secret, stop)
}

/// One streamed chat completion; milliseconds to its first content chunk.
async fn ttft(http: &reqwest::Client, base_url: &str, key: &str) -> f64 {
    let body = r#"{"model":"sim","stream":true,"max_tokens":8,"messages":[{"role":"user","content":"Say hello"}]}"#;
    let sent = Instant::now();
    let mut answer = http
        .post(format!("{base_url}/chat/completions"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let mut first = None;
    while let Some(chunk) = answer.chunk().await.unwrap() {
        if first.is_none() && chunk.windows(9).any(|w| w == b"\"content\"") {
            first = Some(sent.elapsed());
        }
    }
    first.expect("a content chunk").as_secs_f64() * 1000.0
}

/// `requests` requests, `concurrency` at a time; their TTFTs sorted.
async fn measure(base_url: &str, key: &str, concurrency: usize, requests: usize) -> Vec<f64> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    // Warm: a connection per worker, opened before the clock runs.
    let warm: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, key) = (http.clone(), base_url.to_owned(), key.to_owned());
            tokio::spawn(async move { ttft(&http, &url, &key).await })
        })
        .collect();
    for w in warm {
        w.await.unwrap();
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, key) = (http.clone(), base_url.to_owned(), key.to_owned());
            let next = next.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                    out.push(ttft(&http, &url, &key).await);
                }
                out
            })
        })
        .collect();
    let mut all = Vec::with_capacity(requests);
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let requests: usize = value("--requests").map_or(2000, |v| v.parse().unwrap());
    let levels: Vec<usize> = value("--levels").map_or(vec![1, 64, 256], |v| {
        v.split(',').map(|l| l.trim().parse().unwrap()).collect()
    });
    let chunk_ms: u64 = value("--chunk-ms").map_or(2, |v| v.parse().unwrap());
    CHUNK_EVERY.get_or_init(|| Duration::from_millis(chunk_ms));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine_url = start_engine().await;
        let (gateway_url, key, _stop) = start_gateway(&engine_url).await;
        let direct_url = format!("{engine_url}/v1");
        println!(
            "time to first token, {requests} streamed chat completions a level and path \
             (engine: {} ms to first token, then {CHUNKS} chunks {chunk_ms} ms apart)",
            ENGINE_TTFT.as_millis()
        );
        println!(
            "{:>11}  {:>18}  {:>18}  {:>18}",
            "concurrency", "direct p50/p99 ms", "gateway p50/p99 ms", "added p50/p99 ms"
        );
        for &c in &levels {
            let direct = measure(&direct_url, ENGINE_KEY, c, requests).await;
            let gateway = measure(&gateway_url, &key, c, requests).await;
            let (d50, d99) = (quantile(&direct, 0.5), quantile(&direct, 0.99));
            let (g50, g99) = (quantile(&gateway, 0.5), quantile(&gateway, 0.99));
            println!(
                "{c:>11}  {:>18}  {:>18}  {:>18}",
                format!("{d50:.2} / {d99:.2}"),
                format!("{g50:.2} / {g99:.2}"),
                format!("{:+.2} / {:+.2}", g50 - d50, g99 - d99),
            );
        }
    });
}
