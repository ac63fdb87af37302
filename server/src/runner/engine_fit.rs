//! Which offers the engine a run deploys can run: [`Fit`], the run's engine version and
//! quantization, checked offer by offer with the model crate's rule
//! ([`gdl_model::engines::fit`], which the Inventory tab's "fits model" uses too).

use gdl_model::engines::{self, Engine, EngineVersion};
use gdl_model::runs::TestConfig;
use gdl_model::shopper::Offer;

pub use gdl_model::engines::fit::{check, split, LeftOut, Verdict};

/// What a run deploys, as the offers are checked against it.
#[derive(Clone, Debug)]
pub struct Fit {
    /// The engine version.
    pub engine: &'static EngineVersion,
    /// The quantization as the catalogue names it
    /// ([`gdl_model::engines::fit::catalogue_quantization`]).
    pub quantization: String,
}

impl Fit {
    /// The fit of a validated run's configuration (the entrypoint mode's broker image is
    /// checked as the catalogue's default vLLM).
    pub fn of(config: &TestConfig) -> Self {
        let engine = config
            .engine_version()
            .unwrap_or_else(|| engines::default_version(Engine::Vllm));
        Self {
            engine,
            quantization: engines::fit::catalogue_quantization(
                config.quantization.as_deref(),
                config.settings.dtype,
            ),
        }
    }

    /// Whether the engine can (or may: unknown GPU) run on `offer`.
    pub fn allows(&self, offer: &Offer) -> bool {
        !matches!(self.check(offer), Verdict::Cannot(_))
    }

    /// What [`check`] finds for `offer`.
    pub fn check(&self, offer: &Offer) -> Verdict {
        check(offer, self.engine, &self.quantization)
    }

    /// `vLLM 0.31.0`.
    pub fn label(&self) -> String {
        self.engine.label()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, gpu: &str, vram: u32, cuda: Option<f64>) -> Offer {
        serde_json::from_value(serde_json::json!({
            "id": id, "provider": "vastai", "gpu_type": gpu, "gpu_count": 1, "vram_gb": vram,
            "price_per_hour": 0.5, "available": true, "cuda_version": cuda,
        }))
        .unwrap()
    }

    #[test]
    fn a_runs_fit_follows_its_engine_version_and_dtype() {
        let config = |json: serde_json::Value| -> TestConfig {
            let mut base = serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 1});
            base.as_object_mut()
                .unwrap()
                .extend(json.as_object().unwrap().clone());
            serde_json::from_value(base).unwrap()
        };
        let blackwell = offer("b", "RTX 5090", 32, Some(13.0));
        let current = Fit::of(&config(serde_json::json!({})));
        assert!(current.allows(&blackwell), "{}", current.label());
        let old = Fit::of(&config(serde_json::json!({"engine_version": "0.6.4"})));
        assert!(!old.allows(&blackwell));
        let turing = offer("t", "RTX 2080 Ti", 11, Some(13.0));
        assert!(current.allows(&turing), "fp16 runs there");
        let bf16 = Fit::of(&config(
            serde_json::json!({"settings": {"dtype": "bfloat16"}}),
        ));
        assert_eq!(bf16.quantization, "bf16");
        assert!(!bf16.allows(&turing), "bf16 needs sm_80");
        let unknown_old = offer("u", "Mystery GPU", 24, Some(12.0));
        assert!(!current.allows(&unknown_old), "its driver is still checked");
    }
}
