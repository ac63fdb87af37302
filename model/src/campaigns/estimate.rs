//! What a GPU should do for a model before anything is rented: a roofline estimate of its
//! capacity at the SLO and of its $ per 1M output tokens there, from the GPU catalogue's
//! memory bandwidth and dense throughput and the model's size.
//!
//! Decoding one step of a batch of `c` sequences reads the weights once and each sequence's
//! KV cache, and computes about 2 FLOPs per parameter per sequence; the step takes the longer
//! of the two at an efficiency real engines reach ([`BANDWIDTH_EFFICIENCY`],
//! [`COMPUTE_EFFICIENCY`]), plus the engine's own cost of a step ([`STEP_OVERHEAD_MS`]).
//! The time per output token is that step; the time to first token
//! is the prompt's prefill (compute-bound) plus one step. The capacity is the largest batch
//! whose figures stay within the SLOs and whose KV cache fits beside the weights. It is an
//! estimate and says so: the campaign measures each candidate and records how far off it was.
//!
//! # Examples
//!
//! ```
//! use gdl_model::benchmark::Slo;
//! use gdl_model::campaigns::estimate::{estimate, Hardware, ModelSize};
//! use gdl_model::gpus::lookup;
//!
//! let model = ModelSize { params_b: 7.62, bytes_per_param: 2.0 };
//! let slo = Slo { ttft_p95_ms: 1000.0, tpot_p95_ms: 50.0, min_success: 0.99 };
//! let h100 = Hardware { gpu: lookup("H100 SXM").unwrap(), gpu_count: 1, vram_gb: 80, price_per_hour: 2.0 };
//! let l4 = Hardware { gpu: lookup("L4").unwrap(), gpu_count: 1, vram_gb: 24, price_per_hour: 0.4 };
//! let fast = estimate(&model, &h100, 512, 128, &slo).unwrap();
//! let slow = estimate(&model, &l4, 512, 128, &slo).unwrap();
//! assert!(fast.tokens_per_s_per_user > slow.tokens_per_s_per_user);
//! assert!(fast.concurrency > slow.concurrency);
//! // An 8B model in BF16 reads 15 GB a token: the L4's 300 GB/s keeps it slow.
//! assert!(slow.tokens_per_s_per_user < 20.0, "{slow:?}");
//! ```

use crate::benchmark::{usd_per_million, Slo};
use crate::gpus::GpuSpec;
use serde::{Deserialize, Serialize};

/// The share of peak memory bandwidth a decode step reaches.
pub const BANDWIDTH_EFFICIENCY: f64 = 0.7;
/// The share of peak dense throughput prefill and large batches reach.
pub const COMPUTE_EFFICIENCY: f64 = 0.4;
/// What every decode step costs beyond moving and computing, ms: the engine's scheduling
/// and kernel launches (CUDA graphs on). It dominates small models on fast cards: a 0.5B
/// model on an H100 decodes at hundreds of tokens a second alone, not thousands.
pub const STEP_OVERHEAD_MS: f64 = 2.0;
/// The share of memory the engine may fill (vLLM's default `gpu_memory_utilization`).
pub const MEMORY_SHARE: f64 = 0.9;
/// The largest batch considered (the capacity search's own limit).
pub const MAX_CONCURRENCY: u32 = 64;
/// KV cache per token per billion parameters, bytes: dense models with grouped-query
/// attention hold about 12–24 KB a token per billion parameters in 16-bit (Llama 3.1 8B:
/// 32 layers × 8 KV heads × 128 × 2 × 2 bytes = 128 KiB a token). One figure for all, as the
/// catalogue has no layer counts; a campaign's measurements say how far off it is.
pub const KV_BYTES_PER_TOKEN_PER_B: f64 = 16.0 * 1024.0;
/// Dense BF16 TFLOPS assumed for a card whose catalogue entry has none (Volta and Turing
/// FP16 tensor figures are of this order); its estimate is marked rough.
const FALLBACK_TFLOPS: f64 = 60.0;

/// A model's size as it is served.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelSize {
    /// Parameters, billions.
    pub params_b: f64,
    /// Bytes per parameter of the served weights (2 in BF16, 1 in FP8, ~0.56 in AWQ/GPTQ).
    pub bytes_per_param: f64,
}

/// One candidate's hardware: the card, how many, their memory and the price.
#[derive(Clone, Copy, Debug)]
pub struct Hardware {
    /// The card, from the catalogue.
    pub gpu: &'static GpuSpec,
    /// How many (their bandwidth and throughput add up; tensor parallel).
    pub gpu_count: u32,
    /// Memory per GPU, GB (the offer's, which the catalogue may not know).
    pub vram_gb: u32,
    /// The offer's price, USD per hour.
    pub price_per_hour: f64,
}

/// The estimate at the SLO capacity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    /// The largest batch within the SLOs (0: not even one sequence meets them).
    pub concurrency: u32,
    /// Per-user decode speed at that batch, tokens per second.
    pub tokens_per_s_per_user: f64,
    /// Output tokens per second of the whole GPU at that batch.
    pub tokens_per_s: f64,
    /// $ per 1M output tokens at that batch; `None` when no batch meets the SLOs.
    pub usd_per_million: Option<f64>,
    /// Estimated time to first token at that batch, ms.
    pub ttft_ms: f64,
    /// Estimated time per output token at that batch, ms.
    pub tpot_ms: f64,
    /// Decode speed of one sequence alone, tokens per second (what a probe checks).
    pub single_stream_tokens_per_s: f64,
    /// The card's catalogue entry lacked a throughput figure, so a fallback was used.
    pub rough: bool,
}

/// Why a candidate has no estimate.
#[derive(Clone, Debug, PartialEq)]
pub enum NoEstimate {
    /// The catalogue has no memory bandwidth for the card.
    UnknownBandwidth,
    /// The weights and one sequence's KV cache do not fit in the memory.
    DoesNotFit {
        /// GB the weights and one sequence's KV cache need.
        need_gb: f64,
        /// GB the engine may use on the GPUs.
        have_gb: f64,
    },
}

impl std::fmt::Display for NoEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownBandwidth => {
                f.write_str("no estimate: the GPU catalogue has no memory bandwidth for this card")
            }
            Self::DoesNotFit { need_gb, have_gb } => write!(
                f,
                "no estimate: the weights and one sequence need {need_gb:.1} GB, the GPUs have {have_gb:.1} GB usable"
            ),
        }
    }
}

/// Estimates `model` on `hardware` for requests of `input_tokens` in and `output_tokens`
/// out, within `slo`. See the [module example](self).
pub fn estimate(
    model: &ModelSize,
    hardware: &Hardware,
    input_tokens: u32,
    output_tokens: u32,
    slo: &Slo,
) -> Result<Estimate, NoEstimate> {
    let gpus = f64::from(hardware.gpu_count.max(1));
    let bandwidth = hardware
        .gpu
        .memory_bandwidth_gb_s
        .ok_or(NoEstimate::UnknownBandwidth)?;
    let bandwidth = f64::from(bandwidth) * 1e9 * gpus * BANDWIDTH_EFFICIENCY;
    let tflops = hardware.gpu.bf16_tflops;
    let rough = tflops.is_none();
    let flops = tflops.unwrap_or(FALLBACK_TFLOPS) * 1e12 * gpus * COMPUTE_EFFICIENCY;
    let weights = model.params_b * 1e9 * model.bytes_per_param;
    let kv_per_token = KV_BYTES_PER_TOKEN_PER_B * model.params_b;
    let flops_per_token = 2.0 * model.params_b * 1e9;
    let memory = f64::from(hardware.vram_gb) * 1e9 * gpus * MEMORY_SHARE;
    let context = f64::from(input_tokens + output_tokens);
    // On average a sequence is halfway through its answer.
    let mean_context = f64::from(input_tokens) + f64::from(output_tokens) / 2.0;
    let fits = |c: f64| weights + c * context * kv_per_token <= memory;
    if !fits(1.0) {
        return Err(NoEstimate::DoesNotFit {
            need_gb: (weights + context * kv_per_token) / 1e9,
            have_gb: memory / 1e9,
        });
    }
    let step_ms = |c: f64| {
        let read = (weights + c * mean_context * kv_per_token) / bandwidth;
        let compute = c * flops_per_token / flops;
        read.max(compute) * 1000.0 + STEP_OVERHEAD_MS
    };
    let prefill_ms = f64::from(input_tokens) * flops_per_token / flops * 1000.0;
    let ttft_ms = |c: f64| prefill_ms + step_ms(c);
    let within = |c: f64| fits(c) && step_ms(c) <= slo.tpot_p95_ms && ttft_ms(c) <= slo.ttft_p95_ms;
    let concurrency = (1..=MAX_CONCURRENCY)
        .take_while(|&c| within(f64::from(c)))
        .last()
        .unwrap_or(0);
    let at = f64::from(concurrency.max(1));
    let tpot = step_ms(at);
    let per_user = 1000.0 / tpot;
    let tokens_per_s = per_user * f64::from(concurrency);
    Ok(Estimate {
        concurrency,
        tokens_per_s_per_user: per_user,
        tokens_per_s,
        usd_per_million: (concurrency > 0)
            .then(|| usd_per_million(hardware.price_per_hour, tokens_per_s))
            .flatten(),
        ttft_ms: ttft_ms(at),
        tpot_ms: tpot,
        single_stream_tokens_per_s: 1000.0 / step_ms(1.0),
        rough,
    })
}

/// How far an estimate was from the measurement, (estimate − measured) / measured: +0.25
/// says the estimate was 25 % above what was measured. `None` when either is missing or the
/// measurement is zero.
pub fn relative_error(estimated: Option<f64>, measured: Option<f64>) -> Option<f64> {
    let (e, m) = (estimated?, measured?);
    (m != 0.0 && e.is_finite() && m.is_finite()).then(|| (e - m) / m)
}
