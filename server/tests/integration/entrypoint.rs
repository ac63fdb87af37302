//! The entrypoint deploy mode: the broker has Vast.ai start the vLLM container itself
//! (`launch_mode: entrypoint`), never marks the session running and ends it after its
//! 10-minute provisioning timeout. The run connects to the provisioning session, waits for
//! the broker's vLLM through the tunnel, verifies and benchmarks it, and says so when the
//! broker ends the session under it.

use crate::dashboard::Dashboard;
use crate::recovery::{log_has, nothing_running, step_running};
use crate::runs::{finished, start};
use gdl_model::code::ErrorCode;
use gdl_model::runs::{RunStatus, StepName};
use gdl_model::shopper::Provider;
use serde_json::json;

/// At 20 times real time the broker's 10 minutes are 30 seconds, ample for the run.
async fn dashboard() -> Dashboard {
    Dashboard::start_custom(None, crate::process::data_dir(), |s| {
        s.sim_mut().speed = 20.0
    })
    .await
}

fn entrypoint_test() -> serde_json::Value {
    json!({"model": "qwen2.5-0.5b", "max_price": 5, "deploy_mode": "entrypoint"})
}

#[tokio::test]
async fn an_entrypoint_run_benchmarks_the_vllm_the_broker_started() {
    let d = dashboard().await;
    let sim = d.state.simulator.clone().unwrap();
    let id = start(&d, entrypoint_test()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert_eq!(done.offer.as_ref().unwrap().provider, Provider::VastAi);
    assert!(done.benchmark_id.is_some());
    assert_eq!(done.rentals[0].running_after_secs, None, "never running");
    let install = done
        .steps
        .iter()
        .find(|s| s.name == StepName::InstallVllm)
        .unwrap();
    assert_eq!(
        install.detail.as_deref(),
        Some("vLLM (vllm/vllm-openai:latest, started by the broker)")
    );
    assert!(log_has(
        &d,
        &id,
        "Entrypoint mode: the broker starts vLLM itself"
    ));
    assert!(log_has(
        &d,
        &id,
        "The broker reports the SSH address while it starts vLLM"
    ));
    assert!(log_has(&d, &id, "waiting for it to serve"));
    assert!(log_has(
        &d,
        &id,
        "/v1/models serves Qwen/Qwen2.5-0.5B-Instruct"
    ));
    assert!(!log_has(&d, &id, "docker pull") && !log_has(&d, &id, "pip install"));
    assert!(
        sim.simulator().handed_secrets().is_empty(),
        "no API key of ours went to the host"
    );
    nothing_running(&d).await;
}

#[tokio::test]
async fn the_broker_ending_an_entrypoint_session_fails_the_run_saying_so() {
    let d = dashboard().await;
    let sim = d.state.simulator.clone().unwrap();
    let id = start(&d, entrypoint_test()).await;
    step_running(&d, &id, StepName::InstallVllm).await;
    // The broker's ten minutes run out while the provider is still pulling the image.
    sim.simulator()
        .update_faults(|f| f.stuck_after_secs = Some(0.0));
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed);
    assert_eq!(
        done.error_code,
        Some(ErrorCode::SessionEndedByBroker),
        "{:?}",
        done.error
    );
    let error = done.error.clone().unwrap_or_default();
    assert!(
        error.contains("Session stuck in provisioning state - provisioning timeout"),
        "{error}"
    );
    nothing_running(&d).await;
}

#[tokio::test]
async fn the_entrypoint_mode_is_refused_off_vast_and_on_several_gpus() {
    let d = dashboard().await;
    for (extra, says) in [
        (json!({"provider": "tensordock"}), "only on Vast.ai"),
        (json!({"gpu_count": 2}), "one GPU"),
    ] {
        let mut body = entrypoint_test();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, error) = crate::runs::post(&d, "/api/runs", body).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["code"], "invalid_input");
        assert!(error["message"].as_str().unwrap().contains(says), "{error}");
        assert!(
            error["hint"].as_str().unwrap().contains("docker mode"),
            "{error}"
        );
    }
}
