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

/// `gpu-deploy-llm bench ARGS --data-dir DIR`, off the test's runtime (whose server it
/// measures).
async fn bench(dir: &std::path::Path, args: &[&str]) -> crate::process::Output {
    let mut command = binary();
    command.arg("bench").args(args).arg("--data-dir").arg(dir);
    tokio::task::spawn_blocking(move || output_within(&mut command, Duration::from_secs(120)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_measures_a_server_without_usage_and_with_several_tokens_a_chunk() {
    let url = plain_server().await;
    let dir = data_dir();
    let out = bench(
        &dir,
        &[
            "--base-url",
            &url,
            "--model",
            "plain",
            "--gpu",
            "RTX 4090 x2",
            "--price-per-hour",
            "0.8",
            "--output-tokens",
            "12",
            "--requests",
            "6",
            "--concurrency",
            "1,3",
            "--warmup",
            "1",
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let record: Value = serde_json::from_str(&out.stdout).expect("the record as JSON");
    assert_eq!(record["external"], true);
    assert_eq!(
        (record["gpu_type"].as_str(), record["gpu_count"].as_u64()),
        (Some("RTX 4090"), Some(2))
    );
    let phases = record["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);
    // No token counts, so no calibration, and the record says so.
    assert!(record["input"]["measured"].is_null(), "{}", record["input"]);
    assert!(record["input"]["calibration"].is_null());
    assert!(
        out.stderr.contains("reported no token counts"),
        "{}",
        out.stderr
    );
    for p in phases {
        assert_eq!(p["completed"], 6);
        assert_eq!(p["usage_missing"], 6, "no usage from this server: {p}");
        assert!(p["ttft_ms"]["p50"].as_f64().unwrap() >= 20.0);
        assert!(p["usd_per_million_output_tokens"].as_f64().is_some());
    }
    // In a table, saying what it could not measure: with usage, 3 tokens a chunk.
    let out = bench(
        &dir,
        &[
            "--base-url",
            &url,
            "--model",
            "chunky",
            "--output-tokens",
            "9",
            "--requests",
            "3",
            "--concurrency",
            "1",
            "--warmup",
            "0",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("TTFT P50"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("chunks carry several tokens: ITL is per chunk"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("sent no usage"), "{}", out.stdout);
    // At a fixed request rate instead.
    let out = bench(
        &dir,
        &[
            "--base-url",
            &url,
            "--model",
            "plain",
            "--rate",
            "20",
            "--arrivals",
            "constant",
            "--requests",
            "5",
            "--warmup",
            "0",
            "--json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let rated: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rated["phases"][0]["request_rate"], 20.0);
    assert_eq!(rated["phases"][0]["completed"], 5);
    // All stored, where the dashboard reads its benchmarks.
    let store = server::store::Store::open(&dir).unwrap();
    let stored = store.benchmarks(10).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|b| b.external && b.run_id.is_empty()));
    // Bad input.
    let bad = bench(&dir, &["--base-url", "localhost:8000", "--model", "m"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stderr.contains("hint:"), "{}", bad.stderr);
}

/// `gpu-deploy-llm benchmarks …` with the given data directory; (exit code, stdout, stderr).
fn benchmarks(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = binary();
    command
        .arg("benchmarks")
        .args(args)
        .arg("--data-dir")
        .arg(dir);
    let out = output_within(&mut command, Duration::from_secs(60));
    (out.status.code(), out.stdout, out.stderr)
}

#[test]
fn the_old_dashboards_files_import_with_their_numbers_and_export_again() {
    let old = data_dir();
    std::fs::create_dir_all(&old).unwrap();
    let record = |id: &str, gpu: &str, tps: f64, ttft: f64, usd: f64| {
        json!({"id": id, "session_id": "s-1", "timestamp": "2026-01-10T12:00:00.5Z",
            "model_id": "Qwen/Qwen2.5-0.5B-Instruct", "quantization": "none", "provider": "vastai",
            "gpu_type": gpu, "gpu_count": 1, "gpu_vram_mb": 0, "price_per_hour": 0.2,
            "avg_tokens_per_second": tps, "avg_time_to_first_token_ms": ttft,
            "throughput_tokens_per_second": tps, "total_tokens_generated": 600, "prompts_tested": 6,
            "prompts_passed": 6, "match_rate": 1.0, "prompt_results": [],
            "tokens_per_dollar": 1.0, "cost_per_million_tokens": usd})
    };
    std::fs::write(
        old.join("bench-aaaa0001.json"),
        record("bench-aaaa0001", "RTX 3090", 85.5, 140.0, 0.65).to_string(),
    )
    .unwrap();
    std::fs::write(
        old.join("bench-aaaa0002.json"),
        record("bench-aaaa0002", "RTX 4090", 120.0, 90.0, 0.46).to_string(),
    )
    .unwrap();
    std::fs::write(old.join("index.json"), "[]").unwrap();
    std::fs::write(old.join("broken.json"), "{\"id\": 1}").unwrap();
    let data = data_dir();
    let old_dir = old.to_string_lossy().into_owned();
    let (code, out, err) = benchmarks(&data, &["import", &old_dir, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["imported"].as_array().unwrap().len(), 2);
    assert_eq!(
        result["skipped"].as_array().unwrap().len(),
        1,
        "broken.json; index.json is not a record"
    );
    let (code, out, _) = benchmarks(&data, &["show", "bench-aaaa0001", "--json"]);
    assert_eq!(code, Some(0));
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["phases"][0]["ttft_ms"]["p50"], 140.0);
    assert_eq!(shown["phases"][0]["output_tokens_per_s"], 85.5);
    let (_, csv, _) = benchmarks(&data, &["export"]);
    let row = csv
        .lines()
        .find(|l| l.starts_with("bench-aaaa0002,"))
        .unwrap();
    assert!(
        row.contains(",90.0000,") && row.contains(",0.4600,"),
        "{row}"
    );
    let (_, listed, _) = benchmarks(&data, &["list"]);
    assert!(
        listed.contains("bench-aaaa0001") && listed.contains("RTX 4090 x1"),
        "{listed}"
    );
    let (code, compared, _) = benchmarks(
        &data,
        &["compare", "--model", "Qwen/Qwen2.5-0.5B-Instruct", "--json"],
    );
    assert_eq!(code, Some(0));
    let c: Value = serde_json::from_str(&compared).unwrap();
    assert_eq!(
        c["without_slo"].as_array().unwrap().len(),
        2,
        "no SLO was judged then"
    );
    // Their group (imported, SLOs unknown) is named; a workload no group has finds nothing.
    let model = ["compare", "--model", "Qwen/Qwen2.5-0.5B-Instruct"];
    let (code, text, _) = benchmarks(&data, &[&model[..], &["--slo", "unknown"]].concat());
    assert_eq!(code, Some(0));
    assert!(
        text.contains("group: imported from the Python dashboard · SLOs unknown · none"),
        "{text}"
    );
    let other = [&model[..], &["--workload", "synthetic 1 in / 1 out"]].concat();
    let (code, _, err) = benchmarks(&data, &other);
    assert_eq!(code, Some(3));
    assert!(err.contains("in a group these filters match"), "{err}");
    let (code, _, err) = benchmarks(&data, &["show", "bench-none"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("benchmark_not_found"), "{err}");
    let (code, _, _) = benchmarks(&data, &["export", "--format", "xml"]);
    assert_eq!(code, Some(2));
}

/// A simulated model server (its tokenizer makes more tokens than words) without a key.
fn simulated_llm() -> server::simulator::llm::SimLlm {
    let profile = server::simulator::llm::LlmProfile::timed("sim", 0.5, (5.0, 0.5), "");
    server::simulator::llm::SimLlm::start(profile, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_replays_a_trace_at_its_times_with_prompts_calibrated_to_the_servers_tokens() {
    let llm = simulated_llm();
    let url = format!("http://{}", llm.addr());
    let dir = data_dir();
    // The shipped RAG trace, 50 times faster than its own clock (about 5 s).
    let args = |more: &[&str]| -> Vec<String> {
        [
            "--base-url",
            &url,
            "--model",
            "sim",
            "--warmup",
            "0",
            "--json",
        ]
        .iter()
        .chain(more)
        .map(|s| s.to_string())
        .collect()
    };
    let run = |a: Vec<String>| {
        let dir = dir.clone();
        async move {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            bench(&dir, &a).await
        }
    };
    let out = run(args(&[
        "--trace",
        "rag",
        "--replay",
        "--replay-speed",
        "50",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let record: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(record["workload"], "trace rag");
    let phase = &record["phases"][0];
    assert_eq!(phase["completed"], 100, "{phase}");
    assert!(phase["request_rate"].as_f64().unwrap() > 10.0, "{phase}");
    // The trace's exact answer lengths.
    let rag = gdl_model::benchmark::trace::shipped("rag").unwrap();
    let outputs: u64 = rag.iter().map(|r| u64::from(r.output_length)).sum();
    assert_eq!(phase["total_output_tokens"], outputs);
    // Its prompts, calibrated: the server counted what the trace asks, within 2 %.
    let input = &record["input"];
    let asked = input["asked"].as_f64().unwrap();
    let counted = input["measured"].as_f64().unwrap();
    assert!((counted - asked).abs() / asked < 0.02, "{input}");
    assert!(
        input["calibration"]["per_word"].as_f64().unwrap() > 1.1,
        "{input}"
    );
    assert!(out.stderr.contains("tokens a word"), "{}", out.stderr);

    // A Mooncake file of our own, its requests in turn at one level.
    let file = dir.join("mine.jsonl");
    std::fs::write(
        &file,
        "{\"timestamp\": 0, \"input_length\": 700, \"output_length\": 7, \"hash_ids\": [1, 2]}\n{\"timestamp\": 10, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [1, 3]}\n",
    )
    .unwrap();
    let path = file.to_string_lossy().to_string();
    let out = run(args(&[
        "--trace",
        &path,
        "--concurrency",
        "2",
        "--requests",
        "4",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let record: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(record["phases"][0]["total_output_tokens"], 7 + 5 + 7 + 5);
    assert_eq!(record["input"]["asked"], 650.0);

    // A trace that is not one: exit 2, the line named, a hint, nothing stored.
    std::fs::write(&file, "{\"timestamp\": 0}\n").unwrap();
    let out = run(args(&["--trace", &path])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("line 1") && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );
    let stored = server::store::Store::open(&dir)
        .unwrap()
        .benchmarks(10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
}
