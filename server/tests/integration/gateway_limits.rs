//! The gateway's refusals and failures, over plain HTTP: each in OpenAI's error shape with
//! the status an OpenAI client acts on. A deployment still starting (503 with Retry-After),
//! a path it does not forward (404), a body over the limit (413), a key over its rate (429
//! with Retry-After, other keys unaffected), and a request in flight when the engine
//! crashes (an error, never a hang).

use crate::dashboard::Dashboard;
use crate::deployments::{dashboard_with, deploy, deployment, reaches, stopped_and_destroyed};
use crate::gateway::{metrics, value};
use crate::runs::post;
use crate::support::eventually;
use gdl_model::deployments::DeploymentStatus;
use serde_json::{json, Value};
use std::time::Duration;

/// Status, `Retry-After` and body of a gateway request (`body`: POST, else GET).
async fn ask(
    d: &Dashboard,
    id: &str,
    key: &str,
    path: &str,
    body: Option<String>,
) -> (u16, Option<u64>, Value) {
    let url = format!("{}/serve/{id}/v1/{path}", d.url);
    let request = match body {
        Some(body) => d
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body),
        None => d.http.get(url),
    };
    let r = request.bearer_auth(key).send().await.unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Asserts `body` is OpenAI's error object with `code` and `kind`.
fn openai_error(body: &Value, code: &str, kind: &str) {
    let error = &body["error"];
    assert_eq!(
        (error["code"].as_str(), error["type"].as_str()),
        (Some(code), Some(kind)),
        "{body}"
    );
    assert!(
        !error["message"].as_str().unwrap_or("").is_empty(),
        "{body}"
    );
    assert!(error.get("param").is_some(), "{body}");
}

#[tokio::test]
async fn the_gateway_refuses_in_openai_shape_while_starting_unknown_paths_large_bodies_and_fast_keys(
) {
    // 60 a minute: a burst of 6, then one a second.
    let d = dashboard_with(|s| {
        s.deploy.gateway_rate = 60;
        s.deploy.gateway_body_kib = 1;
    })
    .await;
    let (id, key) = deploy(&d, json!({})).await;
    let (status, retry, body) = ask(&d, &id, &key, "models", None).await;
    assert_eq!(status, 503, "still starting: {body}");
    openai_error(&body, "deployment_not_ready", "server_error");
    assert!(retry.is_some_and(|s| s > 0), "Retry-After: {retry:?}");
    let starting = value(&metrics(&d).await, "gdl_deployment_serving", &id, None);
    assert_eq!(starting, Some(0.0), "not serving yet");
    reaches(&d, &id, DeploymentStatus::Serving).await;

    let (status, _, body) = ask(&d, &id, &key, "embeddings", Some("{}".into())).await;
    assert_eq!(status, 404, "{body}");
    openai_error(&body, "not_found", "invalid_request_error");

    let large = json!({"model": "m", "prompt": "x".repeat(2048)}).to_string();
    let (status, _, body) = ask(&d, &id, &key, "completions", Some(large)).await;
    assert_eq!(status, 413, "{body}");
    openai_error(&body, "request_too_large", "invalid_request_error");
    let small = json!({"model": "m", "prompt": "Hi", "max_tokens": 2}).to_string();
    let (status, _, body) = ask(&d, &id, &key, "completions", Some(small)).await;
    assert_eq!(status, 200, "a body under the limit passes: {body}");

    let mut limited = None;
    for _ in 0..30 {
        let (status, retry, body) = ask(&d, &id, &key, "models", None).await;
        if status == 429 {
            limited = Some((retry, body));
            break;
        }
        assert_eq!(status, 200, "{body}");
    }
    let (retry, body) = limited.expect("a key past its burst is limited");
    openai_error(&body, "rate_limited", "rate_limit_error");
    assert!(retry.is_some_and(|s| s >= 1), "Retry-After: {retry:?}");
    let (status, other) = post(
        &d,
        &format!("/api/deployments/{id}/keys"),
        json!({"label": "other"}),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    let (status, _, body) = ask(&d, &id, other["secret"].as_str().unwrap(), "models", None).await;
    assert_eq!(status, 200, "keys are limited apart: {body}");

    stopped_and_destroyed(&d, &id).await;
}

/// One streamed chat completion through the gateway: status and the whole body.
async fn streamed(d: &Dashboard, id: &str, key: &str) -> (u16, String) {
    let body = json!({"model": "any", "stream": true, "max_tokens": 40,
                      "messages": [{"role": "user", "content": "Tell me about GPUs"}]});
    let r = d
        .http
        .post(format!("{}/serve/{id}/v1/chat/completions", d.url))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mut r = r;
    let mut text = String::new();
    // A break in the stream is an error too: what arrived before it is kept.
    while let Ok(Some(piece)) = r.chunk().await {
        text.push_str(&String::from_utf8_lossy(&piece));
    }
    (status, text)
}

#[tokio::test]
async fn a_request_in_flight_when_the_engine_crashes_fails_with_an_error_and_never_hangs() {
    let d = dashboard_with(|_| {}).await;
    let sim = d.state.simulator.clone().unwrap();
    // Verify's completion and its four quality prompts pass; a later request dies.
    sim.simulator()
        .update_faults(|f| f.vllm_crash_after_requests = 7);
    let (id, key) = deploy(&d, json!({})).await;
    reaches(&d, &id, DeploymentStatus::Serving).await;
    let mut failed = None;
    for _ in 0..6 {
        // The limit only turns a hang into a failure with a message.
        let (status, text) = tokio::time::timeout(Duration::from_secs(60), streamed(&d, &id, &key))
            .await
            .expect("a request in flight when the engine crashes never hangs");
        if status == 200 && text.trim_end().ends_with("data: [DONE]") {
            continue;
        }
        failed = Some((status, text));
        break;
    }
    sim.simulator()
        .update_faults(|f| f.vllm_crash_after_requests = 0);
    let (status, text) = failed.expect("the engine crashed within the requests sent");
    let error: Value = if status == 200 {
        // The stream had begun: it ends with an OpenAI error event, no `[DONE]`.
        assert!(text.contains("\"content\""), "it broke partway: {text}");
        assert!(!text.contains("[DONE]"), "{text}");
        let last = text.trim_end().rsplit("\n\n").next().unwrap();
        serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap()
    } else {
        assert!(status >= 500, "{status}: {text}");
        serde_json::from_str(&text).unwrap()
    };
    openai_error(&error, "upstream_failed", "server_error");
    let metered = eventually(Duration::from_secs(10), || async {
        let now = deployment(&d, &id).await;
        (now.meter.errors >= 1).then_some(now)
    })
    .await;
    assert!(metered.meter.requests >= 1);
    let errors = value(&metrics(&d).await, "gdl_deployment_errors_total", &id, None);
    assert!(errors >= Some(1.0), "/metrics counts it: {errors:?}");

    stopped_and_destroyed(&d, &id).await;
}
