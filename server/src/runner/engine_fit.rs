//! Which offers the engine a run deploys can run, from the model crate's catalogues: the
//! GPU's compute capability (from its name, [`gdl_model::gpus`]) against the architectures
//! the engine's build has kernels for, the driver's CUDA against the build's, and the
//! quantization's least compute capability ([`gdl_model::engines::can_run`]). An offer of a
//! GPU the catalogue does not know is kept and counted: never guessed either way (its
//! driver, when listed, is still checked).

use gdl_model::engines::{self, Dtype, Engine, EngineVersion};
use gdl_model::gpus;
use gdl_model::runs::TestConfig;
use gdl_model::shopper::Offer;
use std::collections::BTreeMap;

/// What a run deploys, as the offers are checked against it.
#[derive(Clone, Debug)]
pub struct Fit {
    /// The engine version.
    pub engine: &'static EngineVersion,
    /// The quantization as the catalogue names it: `fp16` for 16-bit weights (the runner
    /// passes `--dtype half` below compute capability 8.0 when the dtype is `auto`), `bf16`
    /// when the person asked for bfloat16.
    pub quantization: String,
}

impl Fit {
    /// The fit of a validated run's configuration (the entrypoint mode's broker image is
    /// checked as the catalogue's default vLLM).
    pub fn of(config: &TestConfig) -> Self {
        let engine = config
            .engine_version()
            .unwrap_or_else(|| engines::default_version(Engine::Vllm));
        let quantization = match config.quantization.as_deref().map(str::trim) {
            None | Some("" | "none") if config.settings.dtype == Dtype::Bfloat16 => "bf16",
            None | Some("" | "none") => "fp16",
            Some(q) => q,
        };
        Self {
            engine,
            quantization: quantization.to_ascii_lowercase(),
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

/// What [`split`] left out, and why.
#[derive(Debug, Default, PartialEq)]
pub struct LeftOut {
    /// Offers left out, by reason (`engines::Unsupported::key`), counted.
    pub reasons: BTreeMap<String, usize>,
    /// Offers kept whose GPU the catalogue does not know (their architecture unchecked).
    pub unknown_gpus: usize,
}

impl LeftOut {
    /// How many were left out.
    pub fn count(&self) -> usize {
        self.reasons.values().sum()
    }

    /// "3 offers left out: 2 sm_120 unsupported, 1 fp8 needs sm_89", or `None` when none were.
    pub fn summary(&self) -> Option<String> {
        let n = self.count();
        (n > 0).then(|| {
            let each: Vec<String> = self
                .reasons
                .iter()
                .map(|(why, k)| format!("{k} {why}"))
                .collect();
            format!(
                "{n} {} left out: {}",
                if n == 1 { "offer" } else { "offers" },
                each.join(", ")
            )
        })
    }
}

/// The offers `engine` can run `quantization` on, and what was left out.
pub fn split(
    offers: Vec<Offer>,
    engine: &EngineVersion,
    quantization: &str,
) -> (Vec<Offer>, LeftOut) {
    let mut left = LeftOut::default();
    let kept = offers
        .into_iter()
        .filter(|o| match check(o, engine, quantization) {
            Verdict::Runs => true,
            Verdict::UnknownGpu => {
                left.unknown_gpus += 1;
                true
            }
            Verdict::Cannot(why) => {
                *left.reasons.entry(why.key()).or_default() += 1;
                false
            }
        })
        .collect();
    (kept, left)
}

/// What [`check`] found for one offer.
#[derive(Debug)]
pub enum Verdict {
    /// The engine runs there.
    Runs,
    /// The catalogue does not know the GPU: kept, unchecked.
    UnknownGpu,
    /// The engine cannot run there, and why.
    Cannot(engines::Unsupported),
}

/// Whether `engine` can run `quantization` (`none` is checked as fp16) on `offer`. A GPU the
/// catalogue does not know is [`Verdict::UnknownGpu`] unless its listed driver is too old.
pub fn check(offer: &Offer, engine: &EngineVersion, quantization: &str) -> Verdict {
    let quantization = match quantization.trim() {
        "" | "none" => "fp16",
        q => q,
    };
    let Some(gpu) = gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb) else {
        return match offer.cuda_version {
            Some(has) if has + 1e-6 < engine.min_cuda => {
                Verdict::Cannot(engines::Unsupported::DriverTooOld {
                    engine: engine.label(),
                    needs: engine.min_cuda,
                    has,
                })
            }
            _ => Verdict::UnknownGpu,
        };
    };
    match engines::can_run(
        engine,
        gpu.compute_capability,
        offer.cuda_version,
        quantization,
    ) {
        Ok(()) => Verdict::Runs,
        Err(why) => Verdict::Cannot(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old() -> &'static EngineVersion {
        engines::find(Engine::Vllm, "0.6.4").unwrap()
    }

    fn offer(id: &str, gpu: &str, vram: u32, cuda: Option<f64>) -> Offer {
        serde_json::from_value(serde_json::json!({
            "id": id, "provider": "vastai", "gpu_type": gpu, "gpu_count": 1, "vram_gb": vram,
            "price_per_hour": 0.5, "available": true, "cuda_version": cuda,
        }))
        .unwrap()
    }

    #[test]
    fn the_deployed_vllm_leaves_out_blackwell_and_old_drivers_and_keeps_unknown_gpus() {
        let offers = vec![
            offer("a", "RTX 4090", 24, Some(12.4)),
            offer("b", "RTX 5090", 32, Some(12.8)),
            offer("c", "RTX 3090", 24, Some(11.8)),
            offer("d", "Mystery GPU 9000", 24, None),
            offer("e", "V100", 16, Some(12.2)),
        ];
        let (kept, left) = split(offers, old(), "none");
        let ids: Vec<&str> = kept.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["a", "d", "e"]);
        assert_eq!(left.unknown_gpus, 1);
        assert_eq!(left.count(), 2);
        let summary = left.summary().unwrap();
        assert!(summary.starts_with("2 offers left out: "), "{summary}");
        assert!(summary.contains("1 sm_120 unsupported"), "{summary}");
        assert!(
            summary.contains("1 driver too old for vLLM 0.6.4"),
            "{summary}"
        );
    }

    #[test]
    fn fp8_on_ampere_is_left_out_with_its_reason() {
        let offers = vec![
            offer("ampere", "A100 80GB PCIe", 80, Some(12.4)),
            offer("ada", "L40S", 48, Some(12.4)),
        ];
        let (kept, left) = split(offers, old(), "fp8");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].id.as_str(), "ada");
        assert_eq!(
            left.summary().unwrap(),
            "1 offer left out: 1 fp8 needs sm_89"
        );
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

    #[test]
    fn nothing_left_out_says_nothing() {
        let (_, left) = split(vec![offer("a", "RTX 4090", 24, Some(12.4))], old(), "awq");
        assert_eq!(left.summary(), None);
    }
}
