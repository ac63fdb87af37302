//! SGLang (issue 27): a run with `"engine": "sglang"` goes through the same eleven steps over
//! the simulator's SSH, starting `lmsysorg/sglang` with `python3 -m sglang.launch_server`
//! and its API key in a mounted `--config` file, never in a log; its benchmark says SGLang
//! and its version; compare and the benchmarks list filter by engine.

use crate::dashboard::Dashboard;
use crate::recovery::{log_has, nothing_running};
use crate::runs::{finished, start, SMALL};
use gdl_model::code::ErrorCode;
use gdl_model::runs::{RunStatus, StepName, StepStatus};
use serde_json::{json, Value};

fn sglang_test() -> Value {
    json!({"model": "qwen2.5-0.5b", "max_price": 5, "engine": "sglang"})
}

/// Every line of run `id`'s log.
fn log_lines(d: &Dashboard, id: &str) -> Vec<String> {
    d.state.dashboard.hub().with_state(|s| {
        s.logs
            .get(id)
            .map(|l| l.iter().map(|l| l.message.clone()).collect())
            .unwrap_or_default()
    })
}

pub async fn get_json(d: &Dashboard, path: &str) -> Value {
    let r = d.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

pub async fn page(d: &Dashboard, path: &str) -> String {
    d.get(path).await.text().await.unwrap()
}

/// The ids in a list of benchmark records.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The benchmark ids a comparison rests on.
pub fn compared(c: &Value) -> Vec<String> {
    c["points"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["benchmarks"].as_array().unwrap().iter())
        .map(|b| b.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_sglang_run_passes_every_step_and_its_benchmark_says_sglang() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    let id = start(&d, sglang_test()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert!(done.steps.iter().all(|s| s.status == StepStatus::Complete));
    let install = done
        .steps
        .iter()
        .find(|s| s.name == StepName::InstallVllm)
        .unwrap();
    assert_eq!(install.detail.as_deref(), Some("SGLang 0.5.21 (docker)"));
    assert!(log_has(
        &d,
        &id,
        "docker pull lmsysorg/sglang:v0.5.21-cu130"
    ));
    assert!(log_has(
        &d,
        &id,
        "-v /tmp/gdl-sglang-key.yaml:/run/gdl-sglang-key.yaml:ro"
    ));
    assert!(log_has(
        &d,
        &id,
        "lmsysorg/sglang:v0.5.21-cu130 python3 -m sglang.launch_server --config"
    ));
    assert!(log_has(&d, &id, "SGLang is serving after"));
    assert!(log_has(
        &d,
        &id,
        "/v1/models serves Qwen/Qwen2.5-0.5B-Instruct"
    ));
    let keys = sim.simulator().handed_secrets();
    assert_eq!(keys.len(), 1, "one key, handed to SGLang through its file");
    let lines = log_lines(&d, &id);
    assert!(
        !lines.iter().any(|l| l.contains(&keys[0])),
        "the key is in no log line"
    );
    // Written through standard input: no command line the host ran holds it.
    let commands = sim.simulator().host_commands();
    assert!(commands
        .iter()
        .any(|c| c.contains("cat > /tmp/gdl-sglang-key.yaml")));
    assert!(
        !commands.iter().any(|c| c.contains(&keys[0])),
        "the key is in no command line"
    );
    let detail = get_json(
        &d,
        &format!("/api/benchmarks/{}", done.benchmark_id.unwrap()),
    )
    .await;
    // The CLI's table names the engine.
    let url = d.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        crate::process::output_within(
            crate::process::binary().args(["benchmarks", "list", "--url", &url]),
            std::time::Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", out.stderr);
    let header = out.stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains("MODEL") && header.contains("ENGINE"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("SGLang 0.5.21"), "{}", out.stdout);
    assert_eq!(detail["benchmark"]["engine"], "sglang");
    assert_eq!(detail["benchmark"]["engine_version"], "0.5.21");
    nothing_running(&d).await;
}

#[tokio::test]
async fn compare_and_the_benchmarks_list_filter_by_engine() {
    let d = Dashboard::start(None).await;
    let sglang = finished(&d, &start(&d, sglang_test()).await).await;
    let vllm = finished(&d, &start(&d, serde_json::from_str(SMALL).unwrap()).await).await;
    assert_eq!(
        (sglang.status, vllm.status),
        (RunStatus::Passed, RunStatus::Passed)
    );
    let (s, v) = (
        sglang.benchmark_id.unwrap().to_string(),
        vllm.benchmark_id.unwrap().to_string(),
    );
    assert_eq!(
        ids(&get_json(&d, "/api/benchmarks?engine=sglang").await),
        [s.as_str()]
    );
    assert_eq!(
        ids(&get_json(&d, "/api/benchmarks?engine=vllm").await),
        [v.as_str()]
    );
    assert_eq!(ids(&get_json(&d, "/api/benchmarks?engine=").await).len(), 2);
    let r = d.get("/api/benchmarks?engine=tgi").await;
    assert_eq!(r.status(), 400, "an unknown engine is refused");
    let model = "model=Qwen/Qwen2.5-0.5B-Instruct";
    assert_eq!(
        compared(&get_json(&d, &format!("/api/compare?{model}&engine=sglang")).await),
        [s.as_str()]
    );
    assert_eq!(
        compared(&get_json(&d, &format!("/api/compare?{model}&engine=vllm")).await),
        [v.as_str()]
    );
    // The pages: the Benchmarks tab's engine filter, the engine on a benchmark's page and
    // the Compare page's engine filter.
    let tab = page(&d, "/benchmarks?engine=sglang").await;
    assert!(
        tab.contains(&format!("data-benchmark=\"{s}\""))
            && !tab.contains(&format!("data-benchmark=\"{v}\"")),
        "{tab}"
    );
    assert!(tab.contains("class=\"engine\">SGLang 0.5.21</td>"), "{tab}");
    assert!(
        tab.contains("<option value=\"sglang\" selected"),
        "the filter is kept"
    );
    let detail = page(&d, &format!("/benchmarks/{s}")).await;
    assert!(
        detail.contains("<dt>Engine</dt><dd>SGLang 0.5.21</dd>"),
        "{detail}"
    );
    let frontier = page(&d, &format!("/compare?{model}&engine=vllm")).await;
    assert!(
        frontier.contains(&format!("from 1 benchmark ({v})"))
            && !frontier.contains(&format!("from 1 benchmark ({s})")),
        "the Compare page counts vLLM's benchmark only"
    );
    // Without an engine: never both on one frontier; a tie of one benchmark each goes to
    // the newer group (vLLM's), the other is listed and counted as left out.
    let one = get_json(&d, &format!("/api/compare?{model}")).await;
    assert_eq!(compared(&one), [v.as_str()], "{one}");
    assert_eq!(one["groups"].as_array().unwrap().len(), 2, "{one}");
    assert_eq!(one["left_out"], 1, "{one}");
}

#[tokio::test]
async fn sglang_dying_mid_benchmark_shows_its_log_without_the_key() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.vllm_crash_after_requests = 10);
    let id = start(&d, sglang_test()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed, "{:?}", done.error);
    let failed = done
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .unwrap();
    assert_eq!(failed.code, Some(ErrorCode::VllmExited), "{failed:?}");
    let message = failed.reason.clone().unwrap_or_default();
    assert!(
        message.contains("SGLang exited during the benchmark")
            && message.contains("Scheduler hit an exception"),
        "{message}"
    );
    // SGLang prints its arguments, key included, when it starts: the runner hides it.
    assert!(message.contains("api_key='[redacted]'"), "{message}");
    let key = &sim.simulator().handed_secrets()[0];
    assert!(!message.contains(key.as_str()));
    assert!(!log_lines(&d, &id).iter().any(|l| l.contains(key.as_str())));
    nothing_running(&d).await;
}
