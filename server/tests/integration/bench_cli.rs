//! `gpu-deploy-llm bench` against a plain OpenAI-compatible streaming server started here
//! (not ours): one that sends no `usage` and several tokens per chunk, as some servers do.
//! The result is stored like a test's benchmark, marked external.

use crate::process::{binary, data_dir, output_within};
use axum::body::{Body, Bytes};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::time::Duration;

/// A bare streaming server: three words a chunk, 4 ms apart, no role chunk; model `plain`
/// sends no usage, model `chunky` sends it (so its chunks are known to carry 3 tokens).
async fn plain_server() -> String {
    async fn chat(Json(body): Json<Value>) -> axum::response::Response {
        let max = body["max_tokens"].as_u64().unwrap_or(16) as usize;
        let usage = body["model"] == "chunky";
        let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
        tokio::spawn(async move {
            use futures::SinkExt;
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut sent = 0;
            while sent < max {
                let words = (max - sent).min(3);
                let text = "word ".repeat(words);
                let chunk = json!({"choices": [{"index": 0, "delta": {"content": text}}]});
                if tx
                    .send(Ok(Bytes::from(format!("data: {chunk}\n\n"))))
                    .await
                    .is_err()
                {
                    return;
                }
                sent += words;
                tokio::time::sleep(Duration::from_millis(4)).await;
            }
            if usage {
                let u =
                    json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": max}});
                let _ = tx.send(Ok(Bytes::from(format!("data: {u}\n\n")))).await;
            }
            let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
        });
        axum::response::Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(rx))
            .unwrap()
    }
    let app = Router::new()
        .route(
            "/v1/models",
            get(|| async { Json(json!({"data": [{"id": "plain"}, {"id": "chunky"}]})) }),
        )
        .route("/v1/chat/completions", post(chat));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_measures_a_server_without_usage_and_with_several_tokens_a_chunk() {
    let url = plain_server().await;
    let dir = data_dir();
    let mut command = binary();
    command
        .args([
            "bench",
            "--base-url",
            &url,
            "--model",
            "plain",
            "--gpu",
            "RTX 4090 x2",
        ])
        .args([
            "--price-per-hour",
            "0.8",
            "--output-tokens",
            "12",
            "--requests",
            "6",
        ])
        .args([
            "--concurrency",
            "1,3",
            "--warmup",
            "1",
            "--json",
            "--data-dir",
        ])
        .arg(&dir);
    let out =
        tokio::task::spawn_blocking(move || output_within(&mut command, Duration::from_secs(120)))
            .await
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let record: Value = serde_json::from_str(&out.stdout).expect("the record as JSON");
    assert_eq!(record["external"], true);
    assert_eq!(
        (record["gpu_type"].as_str(), record["gpu_count"].as_u64()),
        (Some("RTX 4090"), Some(2))
    );
    let phases = record["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);
    for p in phases {
        assert_eq!(p["completed"], 6);
        assert_eq!(p["usage_missing"], 6, "no usage from this server: {p}");
        // 12 tokens counted in 4 chunks: counted by chunk, the server's tokens are unknown.
        assert!(p["ttft_ms"]["p50"].as_f64().unwrap() >= 20.0);
        assert!(p["usd_per_million_output_tokens"].as_f64().is_some());
    }
    // In a table, saying what it could not measure: with usage, 3 tokens a chunk.
    let mut command = binary();
    command
        .args([
            "bench",
            "--base-url",
            &url,
            "--model",
            "chunky",
            "--output-tokens",
            "9",
        ])
        .args([
            "--requests",
            "3",
            "--concurrency",
            "1",
            "--warmup",
            "0",
            "--data-dir",
        ])
        .arg(&dir);
    let out =
        tokio::task::spawn_blocking(move || output_within(&mut command, Duration::from_secs(120)))
            .await
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("TTFT P50"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("chunks carry several tokens: ITL is per chunk"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("sent no usage"), "{}", out.stdout);
    // Both stored, where the dashboard reads its benchmarks.
    let store = server::store::Store::open(&dir).unwrap();
    let stored = store.benchmarks(10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|b| b.external && b.run_id.is_empty()));
    // Bad input and an absent server.
    let mut command = binary();
    command.args(["bench", "--base-url", "localhost:8000", "--model", "m"]);
    let bad =
        tokio::task::spawn_blocking(move || output_within(&mut command, Duration::from_secs(30)))
            .await
            .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stderr.contains("hint:"), "{}", bad.stderr);
}
