//! Which offers the engine we deploy can run, from the model crate's catalogues: the GPU's
//! compute capability (from its name, [`gdl_model::gpus`]) against the architectures the
//! engine's build has kernels for, the driver's CUDA against the build's, and the
//! quantization's least compute capability ([`gdl_model::engines::can_run`]). An offer of a
//! GPU the catalogue does not know is kept and counted: never guessed either way.

use gdl_model::engines::{self, Engine, EngineVersion};
use gdl_model::gpus;
use gdl_model::shopper::Offer;
use std::collections::BTreeMap;

/// The vLLM release the runner deploys ([`super::vllm::IMAGE`], [`super::vllm::PIP_PACKAGE`]).
pub const DEPLOYED_VLLM: &str = "0.6.4";

/// The catalogue's entry for the vLLM the runner deploys.
pub fn deployed() -> &'static EngineVersion {
    engines::find(Engine::Vllm, DEPLOYED_VLLM).expect("the deployed vLLM is in the catalogue")
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

/// The offers `engine` can run `quantization` on, and what was left out. The quantization
/// `none` is checked as fp16: the rule that a bf16 checkpoint needs sm_80 waits for the
/// runner to pass `--dtype half` below it (issue 27).
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

/// Whether `engine` can run `quantization` on `offer` (`none` checked as fp16, see [`split`]).
pub fn check(offer: &Offer, engine: &EngineVersion, quantization: &str) -> Verdict {
    let quantization = match quantization.trim() {
        "" | "none" => "fp16",
        q => q,
    };
    let Some(gpu) = gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb) else {
        return Verdict::UnknownGpu;
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
        let (kept, left) = split(offers, deployed(), "none");
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
        let (kept, left) = split(offers, deployed(), "fp8");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].id.as_str(), "ada");
        assert_eq!(
            left.summary().unwrap(),
            "1 offer left out: 1 fp8 needs sm_89"
        );
    }

    #[test]
    fn the_catalogue_entry_is_the_vllm_the_runner_installs() {
        assert_eq!(deployed().image, crate::runner::vllm::IMAGE);
        assert_eq!(deployed().pip, crate::runner::vllm::PIP_PACKAGE);
        assert_eq!(deployed().min_cuda, crate::runner::vllm::MIN_CUDA);
    }

    #[test]
    fn nothing_left_out_says_nothing() {
        let (_, left) = split(
            vec![offer("a", "RTX 4090", 24, Some(12.4))],
            deployed(),
            "awq",
        );
        assert_eq!(left.summary(), None);
    }
}
