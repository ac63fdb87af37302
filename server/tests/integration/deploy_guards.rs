//! Deployments kept alive and stopped by their guards (issue 28), on the embedded
//! simulator: idle time and spend each end one and destroy its session; guards changed while
//! it serves take effect; a crashed engine is restarted (and, past the restarts allowed,
//! ends it); a dropped SSH connection is reconnected while requests fail fast, and a host
//! that is gone ends it as `host_lost`.

use crate::dashboard::Dashboard;
use crate::deployments::{
    chat, dashboard_with, deploy, deployment, ended_and_destroyed, reaches, stopped_and_destroyed,
};
use crate::recovery::log_has;
use crate::support::eventually;
use gdl_model::deployments::{DeploymentStatus, StopReason};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn idle_autostop_ends_a_deployment_and_destroys_its_session() {
    let d = dashboard_with(|_| {}).await;
    let (id, _) = deploy(&d, json!({"idle_minutes": 0.05})).await;
    let stopped = ended_and_destroyed(&d, &id, DeploymentStatus::Stopped, StopReason::Idle).await;
    assert!(
        stopped.serving_since.is_some(),
        "it served before: {stopped:?}"
    );
    assert!(stopped.ended_at.is_some());
}

#[tokio::test]
async fn the_spend_guard_ends_a_deployment_and_destroys_its_session() {
    let d = dashboard_with(|_| {}).await;
    let (id, _) = deploy(&d, json!({"max_spend_usd": 0.00005})).await;
    let stopped = ended_and_destroyed(&d, &id, DeploymentStatus::Stopped, StopReason::Spend).await;
    assert!(
        stopped.serving_since.is_some(),
        "it served before: {stopped:?}"
    );
    // Spend accrues with time at the session's price: it reached the guard.
    assert!(stopped.spend_usd >= 0.00005, "{stopped:?}");
}

#[tokio::test]
async fn guards_changed_while_it_serves_take_effect() {
    let d = dashboard_with(|_| {}).await;
    let (id, key) = deploy(&d, json!({})).await;
    reaches(&d, &id, DeploymentStatus::Serving).await;
    let (status, _) = chat(&d, &id, &key, false).await;
    assert_eq!(status, 200);
    let changed = d
        .http
        .put(format!("{}/api/deployments/{id}/guards", d.url))
        .json(&json!({"idle_minutes": 0.05, "max_lifetime_hours": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["guards"]["idle_minutes"], 0.05);
    assert_eq!(
        deployment(&d, &id).await.guards.max_lifetime_hours,
        Some(2.0)
    );
    ended_and_destroyed(&d, &id, DeploymentStatus::Stopped, StopReason::Idle).await;
}

/// Sends streamed chat completions until one breaks (the engine crashed in it).
async fn until_one_fails(d: &Dashboard, id: &str, key: &str) {
    for _ in 0..5 {
        let (status, body) = chat(d, id, key, true).await;
        if status != 200 || !body.trim_end().ends_with("data: [DONE]") {
            return;
        }
    }
    panic!("no request failed: the engine never crashed");
}

#[tokio::test]
async fn a_crashed_engine_is_restarted_and_the_next_request_succeeds() {
    let d = dashboard_with(|_| {}).await;
    let sim = d.state.simulator.clone().unwrap();
    // Verify's test completion is the first; the gateway's first request crashes it.
    sim.simulator()
        .update_faults(|f| f.vllm_crash_after_requests = 2);
    let (id, key) = deploy(&d, json!({})).await;
    let serving = reaches(&d, &id, DeploymentStatus::Serving).await;
    until_one_fails(&d, &id, &key).await;
    let restarted = eventually(Duration::from_secs(60), || async {
        let now = deployment(&d, &id).await;
        assert!(!now.status.is_finished(), "{now:?}");
        (now.restarts == 1 && now.status == DeploymentStatus::Serving).then_some(now)
    })
    .await;
    assert_eq!(restarted.session_id, serving.session_id, "the same host");
    let run_id = restarted.run_id.to_string();
    assert!(
        log_has(&d, &run_id, "restarting it in"),
        "logged on the run"
    );
    assert!(log_has(&d, &run_id, "restarted and serving again"));
    let (status, body) = chat(&d, &id, &key, false).await;
    assert_eq!(status, 200, "{body}");
    stopped_and_destroyed(&d, &id).await;
}

#[tokio::test]
async fn an_engine_that_crashes_past_its_restarts_fails_the_deployment() {
    let d = dashboard_with(|s| s.deploy.max_restarts = 0).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.vllm_crash_after_requests = 2);
    let (id, key) = deploy(&d, json!({})).await;
    reaches(&d, &id, DeploymentStatus::Serving).await;
    until_one_fails(&d, &id, &key).await;
    let failed =
        ended_and_destroyed(&d, &id, DeploymentStatus::Failed, StopReason::EngineFailed).await;
    assert_eq!(failed.restarts, 0);
    assert!(
        failed.message.unwrap_or_default().contains("restart"),
        "says why"
    );
}

#[tokio::test]
async fn a_dropped_ssh_connection_is_reconnected_and_requests_meanwhile_fail_fast() {
    let d = dashboard_with(|_| {}).await;
    let sim = d.state.simulator.clone().unwrap();
    let (id, key) = deploy(&d, json!({})).await;
    let serving = reaches(&d, &id, DeploymentStatus::Serving).await;
    let run_id = serving.run_id.to_string();
    let logins = sim.simulator().ssh_stats().logins;
    // Every connection cut, new ones closed on arrival, until SSH comes back.
    sim.simulator().set_ssh_down(true);
    eventually(Duration::from_secs(30), || async {
        log_has(&d, &run_id, "reconnecting").then_some(())
    })
    .await;
    let (status, body) = chat(&d, &id, &key, false).await;
    assert_eq!(status, 503, "{body}");
    let refusal: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["error"]["code"], "deployment_not_ready", "{body}");
    sim.simulator().set_ssh_down(false);
    eventually(Duration::from_secs(60), || async {
        let now = deployment(&d, &id).await;
        assert!(!now.status.is_finished(), "{now:?}");
        (now.status == DeploymentStatus::Serving && log_has(&d, &run_id, "SSH reconnected"))
            .then_some(())
    })
    .await;
    assert!(
        sim.simulator().ssh_stats().logins > logins,
        "logged in again"
    );
    let (status, body) = chat(&d, &id, &key, false).await;
    assert_eq!(status, 200, "{body}");
    stopped_and_destroyed(&d, &id).await;
}

#[tokio::test]
async fn a_host_that_is_gone_ends_the_deployment_as_host_lost() {
    let d = dashboard_with(|s| s.deploy.reconnects = 3).await;
    let sim = d.state.simulator.clone().unwrap();
    let (id, key) = deploy(&d, json!({})).await;
    let serving = reaches(&d, &id, DeploymentStatus::Serving).await;
    let session = serving.session_id.clone().unwrap();
    // The instance vanishes at the provider; the broker still reads it running.
    let vanished = crate::support::http()
        .post(format!("{}/_sim/sessions/{session}/vanish", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(vanished.status(), 204);
    let lost = ended_and_destroyed(&d, &id, DeploymentStatus::Failed, StopReason::HostLost).await;
    let message = lost.message.unwrap_or_default();
    assert!(message.contains("reconnect"), "{message}");
    let (status, body) = chat(&d, &id, &key, false).await;
    assert_eq!(status, 410, "{body}");
}
