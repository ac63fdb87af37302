//! Which offers an engine version can run, from the catalogues: the GPU's compute
//! capability (from its name, [`crate::gpus`]) against the architectures the engine's build
//! has kernels for, the driver's CUDA against the build's, and the quantization's least
//! compute capability ([`super::can_run`]). An offer of a GPU the catalogue does not know
//! is kept and counted: never guessed either way (its driver, when listed, is still
//! checked).
//!
//! One rule for the runner's Query inventory step and the Inventory tab's "fits model".

use super::{can_run, Dtype, EngineVersion, Unsupported};
use crate::gpus;
use crate::shopper::Offer;
use std::collections::BTreeMap;

/// The quantization as the catalogue names it, for a run's `quantization` and `dtype`:
/// `fp16` for 16-bit weights (the runner passes `--dtype half` below compute capability 8.0
/// when the dtype is `auto`), `bf16` when bfloat16 is asked for, else the quantization.
///
/// # Examples
///
/// ```
/// use gdl_model::engines::{fit::catalogue_quantization, Dtype};
///
/// assert_eq!(catalogue_quantization(None, Dtype::Auto), "fp16");
/// assert_eq!(catalogue_quantization(Some("none"), Dtype::Bfloat16), "bf16");
/// assert_eq!(catalogue_quantization(Some("FP8"), Dtype::Auto), "fp8");
/// ```
pub fn catalogue_quantization(quantization: Option<&str>, dtype: Dtype) -> String {
    match quantization.map(str::trim) {
        None | Some("" | "none") if dtype == Dtype::Bfloat16 => "bf16".into(),
        None | Some("" | "none") => "fp16".into(),
        Some(q) => q.to_ascii_lowercase(),
    }
}

/// What [`check`] found for one offer.
#[derive(Debug)]
pub enum Verdict {
    /// The engine runs there.
    Runs,
    /// The catalogue does not know the GPU: kept, unchecked.
    UnknownGpu,
    /// The engine cannot run there, and why.
    Cannot(Unsupported),
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
                Verdict::Cannot(Unsupported::DriverTooOld {
                    engine: engine.label(),
                    needs: engine.min_cuda,
                    has,
                })
            }
            _ => Verdict::UnknownGpu,
        };
    };
    match can_run(
        engine,
        gpu.compute_capability,
        offer.cuda_version,
        quantization,
    ) {
        Ok(()) => Verdict::Runs,
        Err(why) => Verdict::Cannot(why),
    }
}

/// What [`split`] left out, and why.
#[derive(Debug, Default, PartialEq)]
pub struct LeftOut {
    /// Offers left out, by reason ([`Unsupported::key`]), counted.
    pub reasons: BTreeMap<String, usize>,
    /// Offers kept whose GPU the catalogue does not know (their architecture unchecked).
    pub unknown_gpus: usize,
}

impl LeftOut {
    /// Counts one offer left out for `why`.
    pub fn add(&mut self, why: &Unsupported) {
        *self.reasons.entry(why.key()).or_default() += 1;
    }

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
                left.add(&why);
                false
            }
        })
        .collect();
    (kept, left)
}

#[cfg(test)]
mod tests;
