//! The broker's disk check on create (`internal/service/provisioner/disk.go`): the disk a
//! model needs from its parameter count and quantization, the image and the system, and the
//! `insufficient_disk` refusal when a request asks for less than the minimum.

use crate::simulator::SimError;
use gdl_model::registry::params_from_name;
use gdl_model::shopper::DiskBreakdown;

/// The estimate for `model_id` (quantization given or read from the name's suffix), or
/// `None` when no parameter count can be read and no template sets a floor (no check).
pub(super) fn estimate(
    model_id: Option<&str>,
    quantization: Option<&str>,
    template: bool,
    extra_gb: u32,
) -> Option<DiskBreakdown> {
    let model = model_id.unwrap_or_default();
    let params = known_params(model).or_else(|| params_from_name(model))?;
    let quantization = quantization
        .map(str::to_ascii_lowercase)
        .or_else(|| suffix_quantization(model));
    let weights = params * bytes_per_param(quantization.as_deref());
    let buffer = 0.5 * weights;
    let image = if template { 15.0 } else { 10.0 };
    let overhead = 5.0 + extra_gb as f64;
    let raw = weights + buffer + image + overhead;
    let recommended = round_up_to_5((raw * 1.2).ceil() as u32);
    Some(DiskBreakdown {
        model_weight_gb: weights,
        download_buffer_gb: buffer,
        docker_image_gb: image,
        system_overhead_gb: overhead,
        minimum_gb: raw.ceil() as u32,
        recommended_gb: recommended,
        template_floor_gb: None,
        model_id: Some(model.to_owned()),
        quantization,
        param_count_b: Some(params),
    })
}

/// The 400 the broker answers when `requested` GB is under the estimate's minimum.
pub(super) fn check(requested: u32, estimate: &DiskBreakdown) -> Result<(), SimError> {
    if requested >= estimate.minimum_gb {
        return Ok(());
    }
    let message = format!(
        "insufficient disk space: {requested} GB requested, minimum {} GB required (recommended: {} GB) — breakdown: {}",
        estimate.minimum_gb,
        estimate.recommended_gb,
        estimate.describe()
    );
    Err(SimError::standard(400, message)
        .with("error_type", "insufficient_disk")
        .with("requested_gb", requested)
        .with("minimum_gb", estimate.minimum_gb)
        .with("recommended_gb", estimate.recommended_gb)
        .with(
            "breakdown",
            serde_json::to_value(estimate).unwrap_or_default(),
        ))
}

/// Parameter counts (billions) of models whose names do not say them.
fn known_params(model: &str) -> Option<f64> {
    match model.to_ascii_lowercase().as_str() {
        "deepseek-ai/deepseek-r1" | "deepseek-ai/deepseek-v3" => Some(671.0),
        "deepseek-ai/deepseek-v2" | "deepseek-ai/deepseek-coder-v2" => Some(236.0),
        _ => None,
    }
}

fn suffix_quantization(model: &str) -> Option<String> {
    let upper = model.to_ascii_uppercase();
    ["AWQ", "GPTQ", "FP8", "INT8", "INT4"]
        .iter()
        .find(|q| upper.ends_with(&format!("-{q}")))
        .map(|q| q.to_ascii_lowercase())
}

fn bytes_per_param(quantization: Option<&str>) -> f64 {
    match quantization.unwrap_or_default() {
        "fp32" => 4.0,
        "fp8" | "int8" => 1.0,
        "awq" | "gptq" => 0.5625,
        "int4" | "gguf-q4" => 0.5,
        _ => 2.0,
    }
}

fn round_up_to_5(n: u32) -> u32 {
    n.div_ceil(5) * 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_match_the_brokers_worked_examples() {
        let small = estimate(Some("Qwen/Qwen2.5-0.5B-Instruct"), None, false, 0).unwrap();
        assert_eq!((small.minimum_gb, small.recommended_gb), (17, 20));
        assert_eq!(
            small.describe(),
            "model weights: 1.0 GB, download buffer: 0.5 GB, docker image: 10 GB, system overhead: 5 GB"
        );
        let big = estimate(Some("meta-llama/Llama-3.1-70B-Instruct"), None, false, 0).unwrap();
        assert_eq!((big.minimum_gb, big.recommended_gb), (225, 270));
        let awq = estimate(Some("Qwen/Qwen2.5-7B-Instruct-AWQ"), None, false, 0).unwrap();
        assert_eq!(awq.quantization.as_deref(), Some("awq"));
        assert!(estimate(Some("some/model"), None, false, 0).is_none());
        assert!(estimate(None, None, false, 0).is_none());
    }

    #[test]
    fn less_than_the_minimum_is_refused_with_the_breakdown() {
        let e = estimate(Some("Qwen/Qwen2.5-0.5B-Instruct"), None, false, 0).unwrap();
        assert!(check(17, &e).is_ok());
        let err = check(16, &e).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.body["error_type"], "insufficient_disk");
        assert_eq!(err.body["recommended_gb"], 20);
        assert_eq!(err.body["breakdown"]["minimum_gb"], 17);
        assert!(err.body["error"].as_str().unwrap().starts_with(
            "insufficient disk space: 16 GB requested, minimum 17 GB required (recommended: 20 GB)"
        ));
    }
}
