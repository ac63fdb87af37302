//! History that does not weigh down the page: the live state (what every new browser gets
//! as its first snapshot, and what the server-rendered page carries) keeps runs in
//! progress, the newest finished ones with the tail of their logs and the newest
//! benchmarks; the rest is paged from REST, and a run's whole log downloads as text or
//! JSON lines.

use crate::dashboard::Dashboard;
use crate::runs::{finished, start, SMALL};
use gdl_model::ids::RunId;
use gdl_model::live::{BENCHMARKS_KEPT, FINISHED_LOG_TAIL, FINISHED_RUNS_KEPT};
use gdl_model::runs::{LogLine, Run, RunStatus};

/// Copies of `run` (its log and its benchmark too) numbered `from..to`, each a minute
/// newer than the last, into the store at `dir`.
async fn copies(dir: &std::path::Path, run: &Run, logs: &[LogLine], from: i64, to: i64) {
    let store = crate::support::store_for(dir).await;
    let benchmark = store
        .benchmark(run.benchmark_id.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap();
    for i in from..to {
        let id = RunId::from(format!("run-copy{i:05}"));
        let at = run.created_at + chrono::Duration::minutes(i + 1);
        let mut copy = run.clone();
        copy.id = id.clone();
        copy.created_at = at;
        let (mut record, samples) = benchmark.clone();
        record.id = format!("bench-copy{i:05}").into();
        record.run_id = id.clone();
        record.created_at = at;
        copy.benchmark_id = Some(record.id.clone());
        store.save_run(&copy).await.unwrap();
        let lines: Vec<LogLine> = logs
            .iter()
            .map(|l| LogLine {
                run_id: id.clone(),
                ..l.clone()
            })
            .collect();
        store.append_logs(&lines).await.unwrap();
        let mut phases: Vec<(String, Vec<_>)> = Vec::new();
        for (phase, sample) in samples {
            match phases.last_mut() {
                Some((p, list)) if *p == phase => list.push(sample),
                _ => phases.push((phase, vec![sample])),
            }
        }
        store.save_benchmark(&record, phases).await.unwrap();
    }
}

/// The snapshot a new browser gets and the server-rendered page, in bytes.
async fn weight(d: &Dashboard) -> (usize, usize) {
    let snapshot = serde_json::to_vec(&d.state.dashboard.hub().clone_state())
        .unwrap()
        .len();
    let page = d.get("/").await.text().await.unwrap().len();
    (snapshot, page)
}

#[tokio::test]
async fn two_hundred_runs_weigh_no_more_than_ten() {
    let dir = crate::process::data_dir();
    let (run, logs) = {
        let d = Dashboard::start_in(None, dir.clone()).await;
        let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
        let run = finished(&d, &id).await;
        assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
        let logs = d
            .state
            .dashboard
            .runner()
            .store()
            .logs(&id.as_str().into(), 100_000)
            .await
            .unwrap();
        (run, logs)
    };
    // Real runs print thousands of lines: make each copy's log long.
    let count = logs.len() as u64;
    let long: Vec<LogLine> = (0..10)
        .flat_map(|k| {
            logs.iter().map(move |l| LogLine {
                n: l.n + k * count,
                ..l.clone()
            })
        })
        .collect();
    copies(&dir, &run, &long, 0, 9).await;
    let after_10 = {
        let d = Dashboard::start_in(None, dir.clone()).await;
        weight(&d).await
    };
    copies(&dir, &run, &long, 9, 199).await;
    let d = Dashboard::start_in(None, dir.clone()).await;
    let after_200 = weight(&d).await;
    println!("snapshot and page bytes after 10 runs {after_10:?}, after 200 {after_200:?}");
    let state = d.state.dashboard.hub().clone_state();
    assert_eq!(state.runs.len(), FINISHED_RUNS_KEPT);
    assert!(
        state.runs.contains_key("run-copy00198"),
        "the newest are kept"
    );
    let newest = state.logs["run-copy00198"].len();
    assert!(
        newest > FINISHED_LOG_TAIL,
        "the newest run keeps its log: {newest}"
    );
    assert!(state
        .logs
        .iter()
        .all(|(id, l)| id == "run-copy00198" || l.len() <= FINISHED_LOG_TAIL));
    assert!(state.benchmarks.len() <= BENCHMARKS_KEPT);
    // Ids and times are the same length in every copy: within a few bytes.
    assert!(
        after_200.0 <= after_10.0 + 256 && after_200.1 <= after_10.1 + 256,
        "snapshot and page after 10 runs {after_10:?}, after 200 {after_200:?}"
    );
    // The history is all there, paged.
    let page: Vec<Run> = d
        .get("/api/runs?limit=50&offset=150")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.len(), 50);
    assert_eq!(page[0].id, "run-copy00048", "newest first");
    let oldest: Vec<Run> = d
        .get("/api/runs?limit=500&offset=190")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(oldest.len(), 10, "199 copies and the original");
    let benchmarks: Vec<serde_json::Value> =
        d.get("/api/benchmarks?limit=3").await.json().await.unwrap();
    assert_eq!(benchmarks.len(), 3);
    assert_eq!(benchmarks[0]["id"], "bench-copy00198");
    // What the Benchmarks tab's "Show older" asks for: those before the oldest it shows.
    let oldest_live = state
        .benchmarks
        .values()
        .map(|b| b.created_at)
        .min()
        .unwrap();
    let older = app::backend::Backend::benchmarks_before(&d.state.dashboard, oldest_live, 5)
        .await
        .unwrap();
    let ids: Vec<&str> = older.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "bench-copy00188",
            "bench-copy00187",
            "bench-copy00186",
            "bench-copy00185",
            "bench-copy00184"
        ]
    );
}

#[tokio::test]
async fn a_runs_whole_log_downloads_as_text_and_json_lines_in_pages() {
    let d = Dashboard::start(None).await;
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    finished(&d, &id).await;
    let stored = d
        .state
        .dashboard
        .runner()
        .store()
        .logs(&id.as_str().into(), 100_000)
        .await
        .unwrap();
    let text = d.get(&format!("/api/runs/{id}/logs?format=text")).await;
    assert_eq!(text.status(), 200);
    assert_eq!(
        text.headers()["content-disposition"],
        format!("attachment; filename=\"{id}.log\"").as_str()
    );
    let text = text.text().await.unwrap();
    assert_eq!(text.lines().count(), stored.len());
    for (line, stored) in text.lines().zip(&stored) {
        assert!(line.ends_with(&stored.message), "{line:?} vs {stored:?}");
    }
    // JSON lines, five at a time, each page naming the next.
    let mut after = 0;
    let mut read: Vec<LogLine> = Vec::new();
    loop {
        let page = d
            .get(&format!(
                "/api/runs/{id}/logs?format=jsonl&limit=5&after={after}"
            ))
            .await;
        assert_eq!(page.headers()["content-type"], "application/x-ndjson");
        let next = page
            .headers()
            .get(server::api::NEXT_AFTER)
            .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        let body = page.text().await.unwrap();
        read.extend(
            body.lines()
                .map(|l| serde_json::from_str::<LogLine>(l).unwrap()),
        );
        match next {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(read, stored);
    for (path, status, code) in [
        (
            format!("/api/runs/{id}/logs?format=xml"),
            400,
            "invalid_input",
        ),
        (
            format!("/api/runs/{id}/logs?limit=-1"),
            400,
            "invalid_input",
        ),
        ("/api/runs/run-nope/logs".to_owned(), 404, "run_not_found"),
        ("/api/runs?limit=many".to_owned(), 400, "invalid_input"),
    ] {
        let r = d.get(&path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let error: serde_json::Value = r.json().await.unwrap();
        assert_eq!(error["code"], code, "{path}: {error}");
        assert!(error["hint"].is_string(), "{path}: {error}");
    }
}

#[tokio::test]
async fn benchmarks_export_as_csv_rows_matching_the_records_and_as_json() {
    let d = crate::dashboard::Dashboard::start(None).await;
    let id = crate::runs::start(&d, serde_json::from_str(crate::runs::SMALL).unwrap()).await;
    let run = crate::runs::finished(&d, &id).await;
    let bench_id = run.benchmark_id.expect("a passed run stores a benchmark");
    let csv = d.get("/api/benchmarks/export?format=csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"benchmarks-"));
    let text = csv.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], gdl_model::export::CSV_COLUMNS.join(","));
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[1].starts_with(&format!("{bench_id},")));
    let json: Vec<gdl_model::runs::BenchmarkRecord> = d
        .get("/api/benchmarks/export?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json.len(), 1);
    assert_eq!(json[0].id, bench_id);
    assert_eq!(gdl_model::export::benchmarks_csv(&json), text);
    let bad = d.get("/api/benchmarks/export?format=xml").await;
    assert_eq!(bad.status(), 400);
    // Its page: the facts, the operating curve and the distributions, drawn on the server.
    let page = d
        .get(&format!("/benchmarks/{bench_id}"))
        .await
        .text()
        .await
        .unwrap();
    let levels = json[0].phases.len();
    assert!(
        page.contains(&format!("data-levels=\"{levels}\"")),
        "{page}"
    );
    assert!(page.contains("<title id=\"curve-title\">"));
    assert!(
        page.contains("<title id=\"ttft-title\">") && page.contains("<title id=\"itl-title\">")
    );
    assert!(
        page.contains("p95 TTFT ≤ 1000 ms"),
        "the SLOs are in its configuration"
    );
    assert!(
        page.contains(&format!("href=\"/api/benchmarks/{bench_id}\"")),
        "raw samples"
    );
    let missing = d
        .get("/benchmarks/bench-missing")
        .await
        .text()
        .await
        .unwrap();
    assert!(missing.contains("benchmark_not_found"), "{missing}");
    // The tab's filters and sort, in the URL and rendered on the server.
    let none = d.get("/benchmarks?model=llama").await.text().await.unwrap();
    assert_eq!(none.matches("<tr data-benchmark=\"").count(), 0, "{none}");
    let one = d
        .get("/benchmarks?model=QWEN&sort=slo_cost")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(one.matches("<tr data-benchmark=\"").count(), 1);
    assert!(one.contains("value=\"QWEN\"") && one.contains("<option value=\"slo_cost\" selected"));
}

#[tokio::test]
async fn the_old_dashboards_records_import_over_rest() {
    let d = crate::dashboard::Dashboard::start(None).await;
    let record = |id: &str, ttft: f64| {
        serde_json::json!({"id": id, "session_id": "s-1", "timestamp": "2026-01-10T12:00:00Z",
            "model_id": "Qwen/Qwen2.5-0.5B-Instruct", "provider": "tensordock",
            "gpu_type": "RTX 4090", "price_per_hour": 0.4, "avg_tokens_per_second": 120.0,
            "avg_time_to_first_token_ms": ttft, "prompts_tested": 6, "prompts_passed": 6,
            "cost_per_million_tokens": 0.93})
    };
    let (status, body) =
        crate::runs::post(&d, "/api/benchmarks/import", record("bench-old1", 90.0)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"imported": ["bench-old1"], "skipped": []})
    );
    let stored: serde_json::Value = d
        .get("/api/benchmarks/bench-old1")
        .await
        .json()
        .await
        .unwrap();
    let level = &stored["benchmark"]["phases"][0];
    assert_eq!(
        (
            level["ttft_ms"]["p50"].as_f64(),
            level["output_tokens_per_s"].as_f64()
        ),
        (Some(90.0), Some(120.0)),
        "{stored}"
    );
    assert_eq!(level["usd_per_million_output_tokens"], 0.93);
    // An array: what can be imported is, the rest is named with why.
    let batch = serde_json::json!([record("bench-old2", 80.0), {"id": "bench-bad"}]);
    let (status, body) = crate::runs::post(&d, "/api/benchmarks/import", batch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"], serde_json::json!(["bench-old2"]));
    assert!(
        body["skipped"][0]
            .as_str()
            .unwrap()
            .starts_with("record bench-bad: not an old benchmark record"),
        "{body}"
    );
    // Nothing importable, or not JSON: 400 with the error shape.
    for bad in [serde_json::json!({"id": "x"}), serde_json::json!([])] {
        let (status, body) = crate::runs::post(&d, "/api/benchmarks/import", bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_input")),
            "{body}"
        );
        assert!(body["hint"]
            .as_str()
            .unwrap()
            .contains(".gpu-deploy-llm/benchmarks"));
    }
    let garbage = d
        .http
        .post(format!("{}/api/benchmarks/import", d.url))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    // The tab lists them, rendered on the server.
    let tab = d
        .get("/benchmarks?provider=tensordock")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        tab.matches("<tr data-benchmark=\"bench-old").count(),
        2,
        "{tab}"
    );
}
