//! Compare puts like with like: benchmarks of two workloads stored side by side never share
//! a frontier; the larger group is shown unless the URL chooses the other, the reply and
//! the page name the group, and a point resting on an external record is marked.

use crate::dashboard::Dashboard;
use crate::sglang::{compared, get_json, page};
use gdl_model::benchmark::PhaseMetrics;
use gdl_model::compare::DEFAULT_WORKLOAD;
use gdl_model::runs::BenchmarkRecord;

const MODEL: &str = "model=Qwen/Qwen2.5-0.5B-Instruct";
const LONG: &str = "synthetic 512 in / 128 out";

/// A stored benchmark on `gpu` whose one level met the default SLOs.
async fn store(d: &Dashboard, id: &str, gpu: &str, workload: &str, external: bool) {
    let mut r: BenchmarkRecord = serde_json::from_value(serde_json::json!({
        "id": id, "run_id": "", "created_at": "2026-11-24T01:00:00Z",
        "model": "Qwen/Qwen2.5-0.5B-Instruct", "served_repo": "x", "quantization": "none",
        "provider": "vastai", "gpu_type": gpu, "gpu_count": 1, "price_per_hour": 0.3,
        "prompts_matching": 4, "prompts_with_expected": 4, "external": external,
        "workload": workload, "engine": "vllm",
        "slo": {"ttft_p95_ms": 1000.0, "tpot_p95_ms": 100.0, "min_success": 0.99},
        "phases": []
    }))
    .unwrap();
    let mut level = PhaseMetrics {
        concurrency: 4,
        meets_slo: Some(true),
        usd_per_million_output_tokens: Some(0.2),
        ..Default::default()
    };
    level.tpot_ms.p50 = 10.0;
    r.phases.push(level);
    let history = d.state.dashboard.history();
    history
        .store()
        .save_benchmark(&r, Vec::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn compare_shows_one_workload_at_a_time_and_marks_external_points() {
    let d = Dashboard::start(None).await;
    store(&d, "bench-long0001", "H100", LONG, false).await;
    store(&d, "bench-long0002", "L4", LONG, true).await;
    store(&d, "bench-short001", "A100", DEFAULT_WORKLOAD, false).await;
    let c = get_json(&d, &format!("/api/compare?{MODEL}")).await;
    let mut shown = compared(&c);
    shown.sort();
    assert_eq!(shown, ["bench-long0001", "bench-long0002"], "{c}");
    assert_eq!(c["group"]["workload"], LONG, "{c}");
    assert_eq!(c["group"]["slo"], "ttft1000-tpot100", "{c}");
    assert_eq!(
        (c["left_out"].as_u64(), c["groups"].as_array().map(Vec::len)),
        (Some(1), Some(2))
    );
    let external: Vec<(&str, u64)> = c["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["gpu_type"].as_str().unwrap(),
                p["external"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        external.contains(&("L4", 1)) && external.contains(&("H100", 0)),
        "{c}"
    );
    let other =
        format!("{MODEL}&workload=synthetic%2064%20in%20%2F%2096%20out&slo=ttft1000-tpot100");
    let short = get_json(&d, &format!("/api/compare?{other}")).await;
    assert_eq!(compared(&short), ["bench-short001"], "{short}");
    // The page: the selects offer both workloads and keep the one chosen; the line names the
    // group; the external point has its word in the table and the legend.
    let html = page(&d, &format!("/compare?{other}")).await;
    assert!(
        html.contains("<option value=\"synthetic 64 in / 96 out\" selected"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"synthetic 512 in / 128 out\""),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"ttft1000-tpot100\" selected"),
        "{html}"
    );
    assert!(
        html.contains("data-testid=\"compare-quantization\""),
        "{html}"
    );
    assert!(
        html.contains("2 benchmarks in 1 other group left out"),
        "{html}"
    );
    let default = page(&d, &format!("/compare?{MODEL}")).await;
    let line = "2 benchmarks measured with the workload synthetic 512 in / 128 out, SLOs \
                ttft1000-tpot100, quantization none and vLLM (the group with the most benchmarks)";
    assert!(default.contains(line), "{default}");
    assert!(
        default.contains("data-testid=\"external-legend\""),
        "{default}"
    );
    assert!(
        default.contains("<td data-external=\"1\">external</td>"),
        "{default}"
    );
}
