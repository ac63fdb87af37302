//! Workloads worth trusting, end to end on the embedded simulator: a run asks for a shipped
//! trace with a seed; its benchmark records the trace, the prompt lengths asked and counted
//! by the server, and the calibration that made the two agree. A trace that is not shipped
//! is refused before anything starts.

use crate::dashboard::Dashboard;
use crate::runs::{finished, post, start};
use crate::sglang::{get_json, page};
use gdl_model::runs::RunStatus;
use serde_json::json;

#[tokio::test]
async fn a_run_on_a_trace_records_its_prompts_in_the_models_tokens() {
    let d = Dashboard::start(None).await;
    let body = json!({"model": "qwen2.5-0.5b", "max_price": 5,
        "workload": {"trace": "rag", "seed": 3}});
    let done = finished(&d, &start(&d, body).await).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    let id = done.benchmark_id.unwrap();
    let b = get_json(&d, &format!("/api/benchmarks/{id}")).await;
    let record = if b["benchmark"].is_object() {
        &b["benchmark"]
    } else {
        &b
    };
    assert_eq!(record["workload"], "trace rag", "{record}");
    let input = &record["input"];
    let (asked, counted) = (
        input["asked"].as_f64().unwrap(),
        input["measured"].as_f64().unwrap(),
    );
    // The RAG trace's prompts are over 3,000 tokens; the simulated tokenizer makes about
    // 1.5 tokens a word, and the calibrated prompts come out at what the trace asks.
    assert!(asked > 3000.0, "{input}");
    assert!((counted - asked).abs() / asked < 0.02, "{input}");
    assert!(input["calibration"]["per_word"].as_f64().unwrap() > 1.1);
    let text = page(&d, &format!("/api/runs/{}/logs", done.id)).await;
    assert!(
        text.contains("tokens a word"),
        "the calibration is in the log"
    );
    assert!(
        text.contains("Prompt lengths: asked"),
        "the counts are in the log"
    );

    // A trace that is not shipped: refused with the names of those that are.
    let (status, reply) = post(
        &d,
        "/api/runs",
        json!({"model": "qwen2.5-0.5b", "max_price": 5, "workload": {"trace": "mine"}}),
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {reply}");
    assert!(reply.to_string().contains("chat, rag"), "{reply}");
}
