//! Checking a test configuration before anything is rented: the first problem is the
//! error, with what to do about it.

use super::error::RunError;
use gdl_model::campaigns::slo_problems;
use gdl_model::engines::{self, EngineVersion};
use gdl_model::registry::{self, Quantization};
use gdl_model::runs::{DeployMode, TestConfig};
use gdl_model::shopper::Provider;

/// What validation resolved: the model to serve and its VRAM need.
#[derive(Debug)]
pub struct Plan {
    pub model: registry::ResolvedModel,
    /// The engine version the run deploys (the catalogue's default when none was named).
    pub engine: &'static EngineVersion,
}

/// Checks every field.
pub fn validate(config: &TestConfig) -> Result<Plan, RunError> {
    let quantization = match config
        .quantization
        .as_deref()
        .filter(|q| !q.trim().is_empty())
    {
        None => Quantization::None,
        Some(q) => Quantization::parse(q).ok_or_else(|| {
            RunError::invalid(
                format!("unknown quantization {q:?}"),
                "Use none, awq, gptq or fp8.",
            )
        })?,
    };
    // With the KV cache the chosen context length needs (the inventory's least VRAM).
    let model = registry::resolve(&config.model, quantization)
        .map_err(|e| RunError::Invalid {
            code: e.code(),
            message: e.to_string(),
            hint: e.hint(),
        })?
        .with_context(&config.settings);
    if !(config.max_price.is_finite() && config.max_price > 0.0 && config.max_price <= 100.0) {
        return Err(RunError::invalid(
            format!(
                "max_price must be more than 0 and at most 100 $/h, got {}",
                config.max_price
            ),
            "A small model runs on GPUs from about $0.10/h.",
        ));
    }
    if !(1..=12).contains(&config.reservation_hours) {
        return Err(RunError::invalid(
            format!(
                "reservation_hours must be 1 to 12, got {}",
                config.reservation_hours
            ),
            "The broker rents for 1 to 12 hours.",
        ));
    }
    if !(1..=8).contains(&config.gpu_count) {
        return Err(RunError::invalid(
            format!("gpu_count must be 1 to 8, got {}", config.gpu_count),
            "Most models here fit on one GPU.",
        ));
    }
    if let Some(p @ Provider::Other(_)) = &config.provider {
        return Err(RunError::invalid(
            format!("unknown provider {:?}", p.as_str()),
            format!(
                "Use one of {}, or leave it out for any.",
                Provider::known_names()
            ),
        ));
    }
    if let Some(offer) = &config.pin_offer {
        if offer.len() > 200 || offer.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(RunError::invalid(
                "pin_offer is not an offer id",
                "Use an id from the Inventory tab or GET /api/inventory, or leave it out for the best offer.",
            ));
        }
    }
    if let Some(gpu) = &config.pin_gpu {
        let named = !gpu.gpu_type.trim().is_empty()
            && gpu.gpu_type.len() <= 100
            && !gpu.gpu_type.chars().any(char::is_control);
        let priced = gpu.price_per_hour.is_finite() && gpu.price_per_hour >= 0.0;
        if !(named && priced && (1..=16).contains(&gpu.gpu_count)) {
            return Err(RunError::invalid(
                "pin_gpu is not an offer's GPU (gpu_type, gpu_count 1–16, price_per_hour)",
                "Send the GPU type, count and price the pinned offer was listed with, or leave pin_gpu out.",
            ));
        }
    }
    if config.deploy_mode.broker_launched() {
        if let Some(p) = config.provider.as_ref().filter(|p| **p != Provider::VastAi) {
            return Err(RunError::invalid(
                format!(
                    "the entrypoint deploy mode works only on Vast.ai, not {}",
                    p.label()
                ),
                "The broker starts vLLM itself only on Vast.ai: leave the provider empty (Vast.ai is then used) or use the docker mode.",
            ));
        }
        if config.gpu_count != 1 {
            return Err(RunError::invalid(
                format!(
                    "the entrypoint deploy mode runs vLLM on one GPU, got gpu_count {}",
                    config.gpu_count
                ),
                "The broker passes no tensor-parallel size to the vLLM it starts: use gpu_count 1, or the docker mode to split a model across GPUs.",
            ));
        }
    }
    let mut terms: Vec<String> = config
        .workload
        .as_ref()
        .map(|w| w.problems())
        .unwrap_or_default();
    terms.extend(config.slo.as_ref().map(slo_problems).unwrap_or_default());
    if config
        .search_budget_usd
        .is_some_and(|b| !(b.is_finite() && b > 0.0))
    {
        terms.push("search_budget_usd must be above 0".to_owned());
    }
    if config
        .search_seconds
        .is_some_and(|s| !(30..=3600).contains(&s))
    {
        terms.push("search_seconds must be between 30 and 3,600".to_owned());
    }
    if config.probe.is_some_and(|p| {
        !(p.expected_tokens_per_s.is_finite()
            && p.expected_tokens_per_s > 0.0
            && (0.1..=0.95).contains(&p.ratio))
    }) {
        terms.push(
            "probe needs expected_tokens_per_s above 0 and a ratio between 0.1 and 0.95".to_owned(),
        );
    }
    terms.extend(config.tune.and_then(|t| t.problem()));
    if config.tune.is_some() && !config.capacity_search {
        terms.push(
            "tune needs capacity_search: each setting is judged by its capacity at the SLOs"
                .to_owned(),
        );
    }
    if config.tune.is_some() && config.deploy_mode.broker_launched() {
        terms.push(
            "tune needs the docker or pip deploy mode: the broker starts the engine in the entrypoint mode, so it cannot be restarted with other settings".to_owned(),
        );
    }
    if !terms.is_empty() {
        return Err(RunError::invalid(
            terms.join("; "),
            "Leave workload, slo, search_budget_usd, search_seconds, probe and tune out for the dashboard's defaults.",
        ));
    }
    let engine = engine_version(config)?;
    config
        .settings
        .check(config.engine)
        .and_then(|()| config.settings.fits_gpu_count(config.gpu_count))
        .map_err(|e| RunError::invalid(format!("settings.{e}"), settings_hint(e.field)))?;
    if config.engine == engines::Engine::Sglang && config.deploy_mode != DeployMode::Docker {
        return Err(RunError::invalid(
            format!(
                "SGLang is deployed in the docker mode only, not {}",
                config.deploy_mode.as_str()
            ),
            "Use deploy_mode docker (the lmsysorg/sglang image), or the vLLM engine.",
        ));
    }
    if config.deploy_mode.broker_launched() && config.engine_version.is_some() {
        return Err(RunError::invalid(
            "the entrypoint deploy mode runs the broker's own vLLM image; engine_version cannot be chosen there",
            "Leave engine_version out, or use the docker mode to choose the version.",
        ));
    }
    Ok(Plan { model, engine })
}

/// The engine version `config` names, or its engine's default.
fn engine_version(config: &TestConfig) -> Result<&'static EngineVersion, RunError> {
    config.engine_version().ok_or_else(|| {
        let known: Vec<&str> = engines::catalogue()
            .iter()
            .filter(|v| v.engine == config.engine)
            .map(|v| v.version)
            .collect();
        RunError::invalid(
            format!(
                "{} {} is not a version we deploy",
                config.engine.label(),
                config.engine_version.as_deref().unwrap_or_default()
            ),
            format!(
                "Use one of {} (GET /api/engines lists them with what each needs), or leave engine_version out for {}.",
                known.join(", "),
                engines::default_version(config.engine).label()
            ),
        )
    })
}

fn settings_hint(field: &str) -> &'static str {
    match field {
        "max_model_len" => "Leave it out for the model's own context length, or give 256 to 1048576 tokens.",
        "max_num_seqs" => "Leave it out for the engine's default (256 in vLLM).",
        "gpu_memory_utilization" => "0.90 is the default; lower it when something else shares the GPU.",
        "data_parallel_size" => "Leave it out for one copy of the model over all the run's GPUs; 2 on two GPUs serves a copy on each.",
        _ => "Each extra flag is --name or --name=value, from the engine's flags GET /api/engines lists; the runner sets the model, host, port and key itself.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_model::code::ErrorCode;

    fn check(json: &str) -> Result<Plan, gdl_model::error::ApiError> {
        validate(&serde_json::from_str(json).unwrap()).map_err(|e| e.to_api_error())
    }

    #[test]
    fn validation_explains_each_problem() {
        assert!(check(r#"{"model":"qwen2.5-0.5b","max_price":0.5}"#).is_ok());
        assert!(check(r#"{"model":"qwen2.5-0.5b","max_price":0.5,"provider":""}"#).is_ok());
        let e = check(r#"{"model":"qwen2.5-0.5b","max_price":0}"#).unwrap_err();
        assert_eq!(e.error_code(), ErrorCode::InvalidInput);
        assert!(e.message.contains("max_price"));
        let e =
            check(r#"{"model":"qwen2.5-0.5b","max_price":1,"reservation_hours":13}"#).unwrap_err();
        assert!(e.message.contains("reservation_hours"));
        let e = check(r#"{"model":"qwen2.5-0.5b","max_price":1,"provider":"aws"}"#).unwrap_err();
        assert!(e.message.contains("aws"));
        assert!(e.hint.unwrap().contains("bluelobster"));
        let e = check(r#"{"model":"x/y; rm -rf /","max_price":1}"#).unwrap_err();
        assert_eq!(e.code, "invalid_model_id");
        let e = check(r#"{"model":"gemma-2b","max_price":1,"quantization":"awq"}"#).unwrap_err();
        assert_eq!(e.code, "quantization_unavailable");
        let pinned = r#"{"model":"qwen2.5-0.5b","max_price":1,"pin_offer":"vastai-1","pin_gpu":"#;
        assert!(check(&format!(
            r#"{pinned}{{"gpu_type":"L4","gpu_count":1,"price_per_hour":0.3}}}}"#
        ))
        .is_ok());
        let e = check(&format!(
            r#"{pinned}{{"gpu_type":" ","gpu_count":1,"price_per_hour":0.3}}}}"#
        ))
        .unwrap_err();
        assert!(e.message.contains("pin_gpu"), "{}", e.message);
    }

    #[test]
    fn an_engine_version_settings_and_modes_are_checked() {
        let ok = check(r#"{"model":"qwen2.5-0.5b","max_price":1,"engine":"sglang"}"#).unwrap();
        assert_eq!(ok.engine.label(), "SGLang 0.5.21");
        let ok =
            check(r#"{"model":"qwen2.5-0.5b","max_price":1,"engine_version":"v0.6.4"}"#).unwrap();
        assert_eq!(ok.engine.image, "vllm/vllm-openai:v0.6.4");
        let e =
            check(r#"{"model":"qwen2.5-0.5b","max_price":1,"engine_version":"0.1"}"#).unwrap_err();
        assert_eq!(e.message, "vLLM 0.1 is not a version we deploy");
        assert!(e.hint.unwrap().contains("0.31.0, 0.6.4"));
        let e = check(r#"{"model":"qwen2.5-0.5b","max_price":1,"settings":{"max_model_len":5}}"#)
            .unwrap_err();
        assert!(
            e.message.starts_with("settings.max_model_len: "),
            "{}",
            e.message
        );
        let e = check(
            r#"{"model":"qwen2.5-0.5b","max_price":1,"engine":"sglang","deploy_mode":"pip"}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("docker mode only"), "{}", e.message);
        let e = check(r#"{"model":"qwen2.5-0.5b","max_price":1,"deploy_mode":"entrypoint","engine_version":"0.6.4"}"#)
            .unwrap_err();
        assert!(e.message.contains("broker's own vLLM"), "{}", e.message);
    }

    #[test]
    fn the_entrypoint_mode_asks_for_vast_and_one_gpu() {
        let ok = r#"{"model":"qwen2.5-0.5b","max_price":1,"deploy_mode":"entrypoint"}"#;
        assert!(check(ok).is_ok());
        let e = check(r#"{"model":"qwen2.5-0.5b","max_price":1,"deploy_mode":"entrypoint","provider":"tensordock"}"#)
            .unwrap_err();
        assert!(e.message.contains("only on Vast.ai"), "{}", e.message);
        let e = check(
            r#"{"model":"qwen2.5-0.5b","max_price":1,"deploy_mode":"entrypoint","gpu_count":2}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("one GPU"), "{}", e.message);
        assert!(e.hint.unwrap().contains("docker mode"));
    }

    #[test]
    fn copies_side_by_side_must_divide_the_gpus() {
        let with = |gpus: u32, copies: u32| {
            check(&format!(
                r#"{{"model":"qwen2.5-0.5b","max_price":1,"gpu_count":{gpus},"settings":{{"data_parallel_size":{copies}}}}}"#
            ))
        };
        assert!(with(2, 2).is_ok());
        assert!(with(4, 2).is_ok());
        let e = with(3, 2).unwrap_err();
        assert!(
            e.message.starts_with("settings.data_parallel_size: "),
            "{}",
            e.message
        );
        assert!(e.hint.unwrap().contains("a copy on each"));
        assert!(with(1, 2).is_err());
    }
}
