//! Deployments (issue 28) over REST and the gateway, on the embedded simulator: a model
//! deployed, served through `/serve/{id}/v1/...` with a deployment key (streamed and not),
//! metered, refused in OpenAI's error shape, stopped, its session destroyed.

use crate::dashboard::Dashboard;
use crate::recovery::nothing_running;
use crate::runs::post;
use crate::support::eventually;
use gdl_model::deployments::{Deployment, DeploymentStatus, StopReason};
use serde_json::{json, Value};
use std::time::Duration;

/// A dashboard that checks its deployments, restarts engines and reconnects SSH every
/// 200 ms, with `change` on top.
pub async fn dashboard_with(change: impl FnOnce(&mut server::Settings)) -> Dashboard {
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    Dashboard::start_custom(None, dir, |s| {
        s.deploy.check_every = Duration::from_millis(200);
        s.deploy.restart_wait = Duration::from_millis(200);
        s.deploy.reconnect_wait = Duration::from_millis(200);
        change(s);
    })
    .await
}

/// [`dashboard_with`] no change.
pub async fn dashboard() -> Dashboard {
    dashboard_with(|_| {}).await
}

/// [`dashboard`] on a steady market: every listed offer can be rented (no ghosts) and the
/// listings do not drift, for tests that rent the GPU a run measured again and a market's
/// churn (no such offer left) would fail for a reason not theirs.
pub async fn steady_dashboard() -> Dashboard {
    dashboard_with(|s| {
        s.sim_mut().ghosts = false;
        s.sim_mut().drift = false;
    })
    .await
}

/// Deploys the small model with `guards`; its id and first key.
pub async fn deploy(d: &Dashboard, guards: Value) -> (String, String) {
    let (status, started) = post(
        d,
        "/api/deployments",
        json!({"config": {"model": "qwen2.5-0.5b", "max_price": 5}, "guards": guards}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(
        started["base_path"],
        format!("/serve/{}/v1", started["id"].as_str().unwrap())
    );
    (
        started["id"].as_str().unwrap().to_owned(),
        started["key"]["secret"].as_str().unwrap().to_owned(),
    )
}

pub async fn deployment(d: &Dashboard, id: &str) -> Deployment {
    d.get(&format!("/api/deployments/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

/// Waits for deployment `id` to reach `status`.
pub async fn reaches(d: &Dashboard, id: &str, status: DeploymentStatus) -> Deployment {
    eventually(Duration::from_secs(90), || async {
        let now = deployment(d, id).await;
        assert!(
            status.is_finished() || !now.status.is_finished(),
            "ended before {status:?}: {now:?}"
        );
        (now.status == status).then_some(now)
    })
    .await
}

/// The deployment ended for `reason` with `status`, its run's cleanup confirmed by the
/// broker, and nothing of ours left running there.
pub async fn ended_and_destroyed(
    d: &Dashboard,
    id: &str,
    status: DeploymentStatus,
    reason: StopReason,
) -> Deployment {
    let ended = reaches(d, id, status).await;
    assert_eq!(ended.stop_reason, Some(reason), "{ended:?}");
    let message = ended.message.clone().unwrap_or_default();
    assert!(message.contains("confirmed"), "{message}");
    let provisioned = crate::runs::run(d, ended.run_id.as_str()).await;
    let cleanup = provisioned.cleanup.expect("the run's cleanup ran");
    assert!(cleanup.destroyed_confirmed, "{cleanup:?}");
    nothing_running(d).await;
    ended
}

/// Stops deployment `id` over REST and waits until it ended with its session destroyed.
pub async fn stopped_and_destroyed(d: &Dashboard, id: &str) -> Deployment {
    let (status, body) = post(d, &format!("/api/deployments/{id}/stop"), json!({})).await;
    assert_eq!(status, 202, "{body}");
    ended_and_destroyed(d, id, DeploymentStatus::Stopped, StopReason::Requested).await
}

/// A chat completion through the gateway: status and body.
pub async fn chat(d: &Dashboard, id: &str, key: &str, stream: bool) -> (u16, String) {
    let r = d
        .http
        .post(format!("{}/serve/{id}/v1/chat/completions", d.url))
        .bearer_auth(key)
        .json(&json!({"model": "any", "stream": stream, "max_tokens": 12,
                       "messages": [{"role": "user", "content": "Say hello"}]}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_deployment_serves_through_the_gateway_is_metered_and_stops() {
    let d = dashboard().await;
    let (id, key) = deploy(&d, json!({})).await;
    let serving = reaches(&d, &id, DeploymentStatus::Serving).await;
    assert!(serving.session_id.is_some() && serving.price_per_hour.is_some());
    assert_eq!(serving.keys.len(), 1);
    assert!(serving.keys[0].prefix.starts_with("gdk-"));

    let (status, body) = chat(&d, &id, &key, false).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(answer["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    let (status, body) = chat(&d, &id, &key, true).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("data: ") && body.trim_end().ends_with("data: [DONE]"),
        "{body}"
    );
    assert!(
        !body.contains("\"usage\""),
        "the usage chunk the client did not ask for is dropped: {body}"
    );

    let (status, body) = chat(&d, &id, "gdk-wrong", false).await;
    assert_eq!(status, 401);
    let refusal: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["error"]["code"], "invalid_api_key");
    assert_eq!(refusal["error"]["type"], "authentication_error");

    let metered = eventually(Duration::from_secs(10), || async {
        let now = deployment(&d, &id).await;
        (now.meter.requests >= 2 && now.meter.ttft_p50_ms.is_some() && now.spend_usd > 0.0)
            .then_some(now)
    })
    .await;
    assert!(metered.meter.output_tokens > 0 && metered.meter.input_tokens > 0);

    stopped_and_destroyed(&d, &id).await;
    let (status, body) = chat(&d, &id, &key, false).await;
    assert_eq!(status, 410, "{body}");
    assert!(
        body.contains("deployment_stopped") && body.contains("has ended"),
        "{body}"
    );
}
