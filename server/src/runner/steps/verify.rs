//! Step 9, Verify deployment: opens a tunnel to the engine's port through SSH, then checks
//! `/health`, that `/v1/models` serves a model, and that one real completion streams.

use super::{Connected, Deps, Served, Target};
use crate::runner::bounded::read_limited;
use crate::runner::error::StepError;
use crate::runner::loadgen;
use crate::runner::vllm::PORT;
use gdl_model::code::ErrorCode;
use std::time::{Duration, Instant};

pub async fn run(
    d: &Deps<'_>,
    connected: &Connected,
    served: &Served,
) -> Result<Target, StepError> {
    let local = connected
        .host
        .forward(PORT)
        .await
        .map_err(|e| StepError::new(ErrorCode::TunnelFailed, e.to_string()).hint(e.hint()))?;
    let base_url = format!("http://{local}");
    d.ctx
        .info(&format!("Tunnel: {base_url} → host port {PORT}"));
    let http = crate::runner::loadgen::host_client(Some(Duration::from_secs(30)));
    let health = http
        .get(format!("{base_url}/health"))
        .send()
        .await
        .map_err(|e| failed(format!("/health through the tunnel: {e}")))?;
    if !health.status().is_success() {
        return Err(failed(format!("/health answered {}", health.status())));
    }
    let response = loadgen::authorized(
        http.get(format!("{base_url}/v1/models")),
        served.api_key.as_str(),
    )
    .send()
    .await
    .map_err(|e| failed(format!("/v1/models: {e}")))?;
    // A stranger's server: its answer is read up to a limit.
    let body = read_limited(response, 64 * 1024)
        .await
        .map_err(|e| failed(format!("/v1/models: {e}")))?;
    let models: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| failed(format!("/v1/models is not JSON: {e}")))?;
    let model = models["data"][0]["id"]
        .as_str()
        .ok_or_else(|| failed("/v1/models lists no model".into()))?
        .to_owned();
    d.ctx.info(&format!("/v1/models serves {model}"));
    let target = Target {
        base_url,
        api_key: served.api_key.clone(),
        model,
    };
    let (sample, text) = loadgen::stream_one(
        &http,
        &target,
        "Say hello in three words.",
        16,
        Instant::now(),
    )
    .await;
    if let Some(e) = sample.error {
        return Err(failed(format!("a test completion failed: {e}")));
    }
    d.ctx.info(&format!(
        "Test completion: {:?} ({} tokens)",
        text.trim(),
        sample.output_tokens
    ));
    Ok(target)
}

fn failed(message: String) -> StepError {
    StepError::new(ErrorCode::VerifyFailed, message)
        .hint("The engine started but does not answer as an OpenAI-compatible server should; keep the instance on failure and read its log.")
}
