//! The benchmark client's own cost: against a local server that answers every chat
//! completion at once (its first chunk written as soon as the request is read), the time
//! to first token the engine measures is all transport and client: its added latency. And
//! how many requests a second it can drive.
//!
//! `cargo bench -p server --bench bench_client [-- REQUESTS]` (default 2000 per level), at
//! concurrency 1, 64 and 256. Everything stays on 127.0.0.1 and stops by itself.

use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use axum::{Json, Router};
use gdl_model::benchmark::Slo;
use serde_json::json;
use server::bench::{Engine, Workload};
use server::runner::loadgen::Target;

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
    let requests: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = Router::new()
            .route(
                "/v1/models",
                get(|| async { Json(json!({"data": [{"id": "m"}]})) }),
            )
            .route("/v1/chat/completions", post(instant));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let engine = Engine {
            http: reqwest::Client::new(),
            target: Target {
                base_url: url,
                api_key: String::new(),
                model: "m".into(),
            },
            workload: Workload::synthetic(16, 1),
            slo: Slo::default(),
            price_per_hour: None,
        };
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
    });
}
