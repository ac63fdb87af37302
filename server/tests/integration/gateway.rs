//! The gateway against the official OpenAI Python client (issue 28's acceptance): a
//! deployment on the embedded simulator answers a streamed chat completion and a plain
//! completion; a wrong key and a revoked key raise `openai.AuthenticationError`; once the
//! deployment is stopped a request raises an `APIStatusError` saying it ended.
//!
//! The client runs as a child process: `server/tests/gateway/client.py` with the python of
//! the venv `scripts/setup.sh --test` makes (`GDL_PYTHON`, set by `scripts/test.sh`). The
//! base URL and the key go through its environment, never its command line.

use crate::deployments::{dashboard, deploy, reaches, stopped_and_destroyed};
use crate::runs::post;
use gdl_model::deployments::DeploymentStatus;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The venv's python: `GDL_PYTHON`, else where `scripts/setup.sh --test` puts it. Fails
/// (never skips) when it is missing or cannot import `openai`.
fn python() -> PathBuf {
    let path = std::env::var_os("GDL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
            cache.join("gpu-deploy-llm/pyenv/bin/python")
        });
    let works = Command::new(&path)
        .args(["-c", "import openai"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        works,
        "no python with the `openai` package at {} (GDL_PYTHON): run scripts/setup.sh --test, \
         which installs the official OpenAI Python client into a venv",
        path.display()
    );
    path
}

/// Runs `case` of the client script against `base_url` with `key`; its JSON line.
async fn client(base_url: &str, key: &str, case: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gateway/client.py");
    let mut command = Command::new(python());
    command
        .arg(script)
        .env("GDL_BASE_URL", base_url)
        .env("GDL_KEY", key)
        .env("GDL_CASE", case)
        // No proxy between the client and loopback.
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY");
    let output = tokio::task::spawn_blocking(move || {
        crate::process::output_within(&mut command, Duration::from_secs(180))
    })
    .await
    .unwrap();
    let stdout = &output.stdout;
    assert!(
        output.status.success(),
        "the client script failed ({case}): {}\n{stdout}",
        output.stderr
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `/metrics`, read by an independent parser.
pub async fn metrics(d: &crate::dashboard::Dashboard) -> Vec<prometheus_parse::Sample> {
    let text = d.get("/metrics").await.text().await.unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text")
        .samples
}

/// Deployment `id`'s sample of `name` (at `quantile`, for a summary).
pub fn value(
    samples: &[prometheus_parse::Sample],
    name: &str,
    id: &str,
    quantile: Option<&str>,
) -> Option<f64> {
    use prometheus_parse::Value;
    let sample = samples
        .iter()
        .find(|s| s.metric == name && s.labels.get("deployment") == Some(id))?;
    match (&sample.value, quantile) {
        (Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v), None) => Some(*v),
        (Value::Summary(quantiles), Some(q)) => quantiles
            .iter()
            .find(|x| x.quantile.to_string() == q)
            .map(|x| x.count),
        _ => None,
    }
}

#[tokio::test]
async fn the_official_openai_client_is_served_refused_and_told_the_deployment_ended() {
    python();
    let d = dashboard().await;
    let (id, key) = deploy(&d, json!({})).await;
    reaches(&d, &id, DeploymentStatus::Serving).await;
    let base_url = format!("{}/serve/{id}/v1", d.url);

    let chat = client(&base_url, &key, "chat_stream").await;
    assert_eq!(chat["ok"], true, "{chat}");
    assert!(!chat["text"].as_str().unwrap().is_empty(), "{chat}");
    assert!(chat["chunks"].as_u64().unwrap() > 2, "streamed: {chat}");
    assert!(
        chat["usage"]["completion_tokens"].as_u64().unwrap() > 0,
        "the usage chunk the client asked for: {chat}"
    );

    let plain = client(&base_url, &key, "completion").await;
    assert_eq!(plain["ok"], true, "{plain}");
    assert!(!plain["text"].as_str().unwrap().is_empty(), "{plain}");
    assert_eq!(plain["usage"]["completion_tokens"], 8, "{plain}");

    let scrape = metrics(&d).await;
    let of = |name: &str| value(&scrape, name, &id, None);
    assert_eq!(of("gdl_deployment_serving"), Some(1.0));
    assert!(
        of("gdl_deployment_requests_total") >= Some(2.0),
        "{scrape:?}"
    );
    assert!(of("gdl_deployment_input_tokens_total") > Some(0.0));
    assert!(of("gdl_deployment_output_tokens_total") > Some(8.0));
    assert!(of("gdl_deployment_spend_usd_total").is_some());
    assert_eq!(of("gdl_deployment_errors_total"), Some(0.0));
    for name in [
        "gdl_deployment_ttft_milliseconds",
        "gdl_deployment_tpot_milliseconds",
    ] {
        let p50 = value(&scrape, name, &id, Some("0.5")).unwrap();
        let p95 = value(&scrape, name, &id, Some("0.95")).unwrap();
        assert!(p50 > 0.0 && p95 >= p50, "{name}: {p50} {p95}");
    }

    let models = client(&base_url, &key, "models").await;
    assert_eq!(
        models["models"].as_array().map(Vec::len),
        Some(1),
        "{models}"
    );

    let wrong = client(&base_url, "gdk-not-a-key", "completion").await;
    assert_eq!(wrong["error"], "AuthenticationError", "{wrong}");
    assert_eq!(
        (wrong["status"].as_u64(), wrong["code"].as_str()),
        (Some(401), Some("invalid_api_key"))
    );
    assert_eq!(wrong["type"], "authentication_error");

    let (status, second) = post(
        &d,
        &format!("/api/deployments/{id}/keys"),
        json!({"label": "ci"}),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    let secret = second["secret"].as_str().unwrap();
    let ok = client(&base_url, secret, "completion").await;
    assert_eq!(ok["ok"], true, "the new key works: {ok}");
    let revoked = d
        .http
        .delete(format!(
            "{}/api/deployments/{id}/keys/{}",
            d.url,
            second["key"]["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let refused = client(&base_url, secret, "chat_stream").await;
    assert_eq!(
        refused["error"], "AuthenticationError",
        "a revoked key: {refused}"
    );
    assert_eq!(refused["status"], 401);
    let still = client(&base_url, &key, "completion").await;
    assert_eq!(still["ok"], true, "the other key still works: {still}");

    stopped_and_destroyed(&d, &id).await;
    let after = client(&base_url, &key, "completion").await;
    assert_eq!(after["error"], "APIStatusError", "{after}");
    assert_eq!(
        (after["status"].as_u64(), after["code"].as_str()),
        (Some(410), Some("deployment_stopped"))
    );
    assert!(
        after["message"].as_str().unwrap().contains("has ended"),
        "{after}"
    );
}
