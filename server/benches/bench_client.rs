//! The benchmark client's own cost: against a local server that answers every chat
//! completion at once (its first chunk written as soon as the request is read), the time
//! to first token the engine measures is all transport and client: its added latency. And
//! how many requests a second it can drive.
//!
//! `cargo bench -p server --bench bench_client [-- REQUESTS]` (default 2000 per level), at
//! concurrency 1, 64 and 256.
//!
//! Then its accuracy: against the simulated model server (a known time to first token and
//! time per output token), the p50s it measures at concurrency 1 and how far they are from
//! what the server did: the first token as the server really served it (its timer wakes a
//! little late, by a machine-dependent amount), and the configured time per token. It exits
//! with an error when TTFT is 2 ms or more off, or TPOT 1 ms or more.
//! `-- accuracy` runs only that part. Everything stays on 127.0.0.1 and stops by itself.

use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use axum::{Json, Router};
use gdl_model::benchmark::Slo;
use serde_json::json;
use server::bench::{Engine, Workload};
use server::runner::loadgen::Target;
use server::simulator::llm::{LlmProfile, SimLlm};

/// Answers at once: a content chunk, the usage, the end, in one write.
async fn instant() -> axum::response::Response {
    let chunk = json!({"choices": [{"index": 0, "delta": {"content": "hi"}}]});
    let usage = json!({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}});
    let body = format!("data: {chunk}\n\ndata: {usage}\n\ndata: [DONE]\n\n");
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(Bytes::from(body)))
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let requests: u32 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if !args.iter().any(|a| a == "accuracy") {
        runtime.block_on(overhead(requests));
    }
    let (ttft_off, tpot_off) = runtime.block_on(accuracy());
    // TTFT within 2 ms: on a virtual machine whose cores are shared (about a quarter of
    // the time stolen, December's), the server's hand-off to the connection and the
    // engine's read of it are about 1 ms apart, where the engine alone adds 0.1 ms (the
    // instant server above). Measuring at the wrong event (the role chunk, the end of the
    // reply) would be 12 ms or more off.
    if ttft_off.abs() >= 2.0 || tpot_off.abs() >= 1.0 {
        eprintln!(
            "the engine is off the simulated server's timing: TTFT {ttft_off:+.3} ms (2 ms allowed), \
             TPOT {tpot_off:+.3} ms (1 ms allowed)"
        );
        std::process::exit(1);
    }
}

fn engine(base_url: String, model: &str, api_key: &str, workload: Workload) -> Engine {
    Engine {
        http: reqwest::Client::new(),
        target: Target {
            base_url,
            api_key: zeroize::Zeroizing::new(api_key.into()),
            model: model.into(),
        },
        workload,
        slo: Slo::default(),
        price_per_hour: None,
        sent: Default::default(),
    }
}

/// Measures the simulated model server at concurrency 1 and prints how far the p50s are
/// from its timing (the first token as the server really served it, the per-token time as
/// configured); returns both differences (TTFT, TPOT), in milliseconds.
async fn accuracy() -> (f64, f64) {
    // No parameters: the prompt adds nothing to the configured time to first token.
    let profile = LlmProfile::timed("sim", 0.0, (80.0, 12.0), "k");
    let llm = SimLlm::start(profile.clone(), 0).unwrap();
    let engine = engine(
        format!("http://{}", llm.addr()),
        &profile.model,
        &profile.api_key,
        Workload::synthetic(32, 24),
    );
    engine.warm_up(2).await;
    let warmed = llm.served_ttft_ms().len();
    let (m, _) = engine.level(1, 20).await;
    assert_eq!((m.completed, m.failed), (20, 0));
    // The server's own timer wakes a little late, more on some machines than on others:
    // the engine is checked against the first token's time the server really gave (its
    // p50 over the same 20 replies), and the configured values are shown beside it.
    let mut served = llm.served_ttft_ms().split_off(warmed);
    served.sort_by(f64::total_cmp);
    let served_p50 = gdl_model::benchmark::percentile(&served, 50.0);
    let ttft_off = m.ttft_ms.p50 - served_p50;
    let tpot_off = m.tpot_ms.p50 - profile.ms_per_token;
    println!("\nthe engine against the simulated model server, concurrency 1, 20 requests");
    println!(
        "{:>10} {:>12} {:>12} {:>12} {:>10}",
        "", "configured", "served", "measured", "off"
    );
    println!(
        "{:>10} {:>12.3} {:>12.3} {:>12.3} {:>+10.3}",
        "TTFT p50", profile.ttft_ms, served_p50, m.ttft_ms.p50, ttft_off
    );
    println!(
        "{:>10} {:>12.3} {:>12} {:>12.3} {:>+10.3}",
        "TPOT p50", profile.ms_per_token, "-", m.tpot_ms.p50, tpot_off
    );
    (ttft_off, tpot_off)
}

/// The client's own cost against a server that answers at once.
async fn overhead(requests: u32) {
    {
        let app = Router::new()
            .route(
                "/v1/models",
                get(|| async { Json(json!({"data": [{"id": "m"}]})) }),
            )
            .route("/v1/chat/completions", post(instant));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let engine = engine(url, "m", "", Workload::synthetic(16, 1));
        engine
            .wait_ready(std::time::Duration::from_secs(5))
            .await
            .unwrap();
        engine.warm_up(50).await;
        println!("the engine against an instant local server, {requests} requests per level");
        println!(
            "{:>6} {:>10} {:>14} {:>14} {:>14} {:>7}",
            "conc", "req/s", "TTFT p50 ms", "TTFT p99 ms", "E2EL p50 ms", "failed"
        );
        for c in [1, 64, 256] {
            let (m, _) = engine.level(c, requests).await;
            println!(
                "{c:>6} {:>10.0} {:>14.3} {:>14.3} {:>14.3} {:>7}",
                m.requests_per_s, m.ttft_ms.p50, m.ttft_ms.p99, m.e2el_ms.p50, m.failed
            );
        }
    }
}
