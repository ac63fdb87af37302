//! Benchmark records and their math, following vLLM's `bench serve` definitions:
//!
//! - **TTFT**: request sent → first content token received (a first chunk with no content,
//!   such as vLLM's role-only chunk, does not count; it is kept apart as "first chunk").
//! - **Goodput**: requests that met the per-request SLOs (TTFT and TPOT) per second.
//! - **TPOT** (decode only, per request): `(E2E − TTFT) / (output_tokens − 1)`; requests
//!   with a single output token are skipped.
//! - **ITL** (per chunk gap): every gap between consecutive streamed chunks, pooled over all
//!   requests (one chunk may carry several tokens).
//! - **E2EL**: request sent → last token received.
//! - **Output throughput**: total output tokens / phase duration (wall clock).
//! - **$ per 1M output tokens**: `price_per_hour / (output_tok_per_s × 3600) × 10⁶`, at the
//!   phase's concurrency.
//!
//! Percentiles interpolate linearly between closest ranks (numpy's default, as vLLM).
//!
//! # Examples
//!
//! Two requests of one load phase, measured by a client, into the phase's metrics:
//!
//! ```
//! use gdl_model::benchmark::{phase_metrics, Sample};
//!
//! let sample = |ttft: f64, chunks: &[f64], tokens: u32| Sample {
//!     ttft_ms: Some(ttft),
//!     chunk_ms: chunks.to_vec(),
//!     e2e_ms: chunks.last().copied(),
//!     output_tokens: tokens,
//!     usage_reported: true,
//!     ..Default::default()
//! };
//! let samples = [
//!     sample(100.0, &[100.0, 120.0, 140.0], 3), // TPOT (140 - 100) / 2 = 20 ms
//!     sample(200.0, &[200.0, 260.0], 2),        // TPOT (260 - 200) / 1 = 60 ms
//! ];
//! // 5 output tokens in 2 s at $0.36 an hour.
//! let m = phase_metrics(&samples, 2, 2.0, Some(0.36));
//! assert_eq!((m.completed, m.failed), (2, 0));
//! assert_eq!(m.ttft_ms.p50, 150.0);
//! assert_eq!(m.tpot_ms.mean, 40.0);
//! assert_eq!(m.itl_ms.count, 3, "gaps of 20, 20 and 60 ms");
//! assert_eq!(m.output_tokens_per_s, 2.5);
//! let usd = m.usd_per_million_output_tokens.unwrap();
//! assert!((usd - 40.0).abs() < 1e-9, "0.36 / (2.5 × 3600) × 1e6");
//! ```

use serde::{Deserialize, Serialize};

pub mod input;
pub mod trace;

/// One request as measured by the client. Times are milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sample {
    /// When the request was sent, from the start of its phase.
    pub start_ms: f64,
    /// Request sent → first content chunk; `None` if none arrived.
    pub ttft_ms: Option<f64>,
    /// Arrival of every content chunk, from the request's start (the first equals TTFT).
    pub chunk_ms: Vec<f64>,
    /// Request sent → last chunk (end of the stream).
    pub e2e_ms: Option<f64>,
    /// Tokens in the prompt, as the server reported them.
    pub prompt_tokens: u32,
    /// Tokens generated: the server's count, or the content chunks counted without one.
    pub output_tokens: u32,
    /// Request sent → the first chunk of the stream, content or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_chunk_ms: Option<f64>,
    /// Whether the server reported token counts (`usage`); without them, output tokens are
    /// the content chunks counted.
    #[serde(default = "yes")]
    pub usage_reported: bool,
    /// Why the request failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn yes() -> bool {
    true
}

impl Sample {
    /// Completed without error and with at least one token.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.ttft_ms.is_some() && self.e2e_ms.is_some()
    }
}

/// A distribution summary, in the unit of the values summarised (milliseconds for the
/// latencies of [`PhaseMetrics`]).
///
/// # Examples
///
/// ```
/// use gdl_model::benchmark::Dist;
///
/// let d = Dist::of(&[4.0, 1.0, 3.0, 2.0]);
/// assert_eq!((d.count, d.min, d.max, d.mean), (4, 1.0, 4.0, 2.5));
/// assert_eq!(d.p50, 2.5);
/// assert_eq!(Dist::of(&[]), Dist::default());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dist {
    /// Values summarised (0 when there were none, and every figure is then 0).
    pub count: usize,
    /// The arithmetic mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 95th percentile (0 in records from before it was kept).
    #[serde(default)]
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Dist {
    /// Summarises values (any order). Empty input gives all zeros and `count` 0.
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            count: sorted.len(),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            p50: percentile(&sorted, 50.0),
            p90: percentile(&sorted, 90.0),
            p95: percentile(&sorted, 95.0),
            p99: percentile(&sorted, 99.0),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        }
    }
}

/// The `p`th percentile (0–100) of sorted values, interpolating linearly between ranks.
///
/// `sorted` must be in ascending order; an empty slice gives 0 and `p` is clamped to 0–100.
///
/// # Examples
///
/// ```
/// use gdl_model::benchmark::percentile;
///
/// let v = [1.0, 2.0, 3.0, 4.0];
/// assert_eq!(percentile(&v, 50.0), 2.5); // halfway between 2 and 3
/// assert!((percentile(&v, 90.0) - 3.7).abs() < 1e-9); // as numpy.percentile
/// assert_eq!(percentile(&v, 100.0), 4.0);
/// assert_eq!(percentile(&[], 50.0), 0.0);
/// ```
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let rank = (p.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
            let low = rank.floor() as usize;
            let high = rank.ceil() as usize;
            sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
        }
    }
}

/// The metrics of one load phase (a fixed number of requests at a fixed concurrency).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseMetrics {
    /// Requests kept in flight at once (the cap, at a fixed request rate).
    pub concurrency: u32,
    /// Requests that completed without error.
    pub completed: usize,
    /// Requests that failed or never produced a token.
    pub failed: usize,
    /// The phase's wall-clock time, seconds.
    pub duration_s: f64,
    /// Time to first content token over the completed requests, ms.
    pub ttft_ms: Dist,
    /// Time per output token after the first, ms (requests with one token left out).
    pub tpot_ms: Dist,
    /// Gaps between consecutive streamed chunks, pooled over requests, ms.
    pub itl_ms: Dist,
    /// End-to-end latency, request sent to last chunk, ms.
    pub e2el_ms: Dist,
    /// Prompt tokens of the completed requests.
    pub total_prompt_tokens: u64,
    /// Output tokens of the completed requests.
    pub total_output_tokens: u64,
    /// Output tokens per second over the phase's wall-clock time.
    pub output_tokens_per_s: f64,
    /// Completed requests per second over the phase's wall-clock time.
    pub requests_per_s: f64,
    /// `$ per 1M output tokens` at this concurrency, when a price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_million_output_tokens: Option<f64>,
    /// Request sent → first chunk of any kind (TTFT counts content only).
    #[serde(default)]
    pub first_chunk_ms: Dist,
    /// Completed requests whose server reported no token counts (`usage`).
    #[serde(default)]
    pub usage_missing: usize,
    /// Output tokens per content chunk (above 1, chunks carry several tokens and ITL is
    /// per chunk, not per token).
    #[serde(default)]
    pub tokens_per_chunk: f64,
    /// Requests per second that met the per-request SLOs, when SLOs were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput_rps: Option<f64>,
    /// Whether the level met the SLOs (p95 TTFT, p95 TPOT, success rate), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meets_slo: Option<bool>,
    /// Requests per second sent, for a level at a fixed request rate (`concurrency` is then
    /// its cap on requests in flight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_rate: Option<f64>,
}

/// Service-level objectives a load level must meet.
///
/// A request meets them when its TTFT and TPOT are within the bounds; a level when its
/// p95 TTFT and p95 TPOT are and enough of its requests succeeded.
///
/// # Examples
///
/// ```
/// use gdl_model::benchmark::{phase_metrics, Sample, Slo};
///
/// let fast = Sample {
///     ttft_ms: Some(100.0),
///     chunk_ms: vec![100.0, 120.0, 140.0],
///     e2e_ms: Some(140.0),
///     output_tokens: 3,
///     ..Default::default()
/// };
/// let slo = Slo::default(); // p95 TTFT ≤ 1 s, p95 TPOT ≤ 100 ms, ≥ 99 % success
/// assert!(slo.request_meets(&fast));
/// let samples = [fast.clone(), fast];
/// let mut m = phase_metrics(&samples, 2, 1.0, None);
/// slo.judge(&mut m, &samples);
/// assert_eq!(m.meets_slo, Some(true));
/// assert_eq!(m.goodput_rps, Some(2.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Slo {
    /// The most time to first token allowed: per request, and for a level's p95, ms.
    pub ttft_p95_ms: f64,
    /// The most time per output token allowed: per request, and for a level's p95, ms.
    pub tpot_p95_ms: f64,
    /// Share of requests that must succeed, 0–1.
    pub min_success: f64,
}

impl Default for Slo {
    /// p95 TTFT ≤ 1,000 ms, p95 TPOT ≤ 100 ms, ≥ 99 % success.
    fn default() -> Self {
        Self {
            ttft_p95_ms: 1000.0,
            tpot_p95_ms: 100.0,
            min_success: 0.99,
        }
    }
}

impl Slo {
    /// Whether one request met the per-request objectives.
    pub fn request_meets(&self, s: &Sample) -> bool {
        s.ok()
            && s.ttft_ms.is_some_and(|t| t <= self.ttft_p95_ms)
            && tpot(s).is_none_or(|t| t <= self.tpot_p95_ms)
    }

    /// Whether a level met the objectives.
    pub fn level_meets(&self, m: &PhaseMetrics) -> bool {
        let total = m.completed + m.failed;
        total > 0
            && m.completed as f64 / total as f64 >= self.min_success
            && m.ttft_ms.p95 <= self.ttft_p95_ms
            && m.tpot_ms.p95 <= self.tpot_p95_ms
    }

    /// Adds goodput and the verdict to `m`, measured from `samples`.
    pub fn judge(&self, m: &mut PhaseMetrics, samples: &[Sample]) {
        let good = samples.iter().filter(|s| self.request_meets(s)).count();
        m.goodput_rps = Some(if m.duration_s > 0.0 {
            good as f64 / m.duration_s
        } else {
            0.0
        });
        m.meets_slo = Some(self.level_meets(m));
    }
}

/// A request's time per output token after the first, when it has two tokens or more.
///
/// In ms: `(e2e_ms − ttft_ms) / (output_tokens − 1)`; `None` with fewer than two tokens or
/// a missing time.
///
/// # Examples
///
/// ```
/// use gdl_model::benchmark::{tpot, Sample};
///
/// let s = Sample { ttft_ms: Some(100.0), e2e_ms: Some(180.0), output_tokens: 5, ..Default::default() };
/// assert_eq!(tpot(&s), Some(20.0));
/// assert_eq!(tpot(&Sample { output_tokens: 1, ..s }), None);
/// ```
pub fn tpot(s: &Sample) -> Option<f64> {
    (s.output_tokens > 1).then_some(())?;
    Some((s.e2e_ms? - s.ttft_ms?) / (s.output_tokens - 1) as f64)
}

/// Computes a phase's metrics from its samples. `duration_s` is the phase's wall time.
pub fn phase_metrics(
    samples: &[Sample],
    concurrency: u32,
    duration_s: f64,
    price_per_hour: Option<f64>,
) -> PhaseMetrics {
    let ok: Vec<&Sample> = samples.iter().filter(|s| s.ok()).collect();
    let ttft: Vec<f64> = ok.iter().filter_map(|s| s.ttft_ms).collect();
    let e2el: Vec<f64> = ok.iter().filter_map(|s| s.e2e_ms).collect();
    let tpot: Vec<f64> = ok.iter().filter_map(|s| tpot(s)).collect();
    let first_chunk: Vec<f64> = ok
        .iter()
        .filter_map(|s| s.first_chunk_ms.or(s.ttft_ms))
        .collect();
    let chunks: usize = ok.iter().map(|s| s.chunk_ms.len()).sum();
    let itl: Vec<f64> = ok
        .iter()
        .flat_map(|s| s.chunk_ms.windows(2).map(|w| w[1] - w[0]))
        .collect();
    let total_output_tokens: u64 = ok.iter().map(|s| s.output_tokens as u64).sum();
    let total_prompt_tokens: u64 = ok.iter().map(|s| s.prompt_tokens as u64).sum();
    let output_tokens_per_s = if duration_s > 0.0 {
        total_output_tokens as f64 / duration_s
    } else {
        0.0
    };
    PhaseMetrics {
        concurrency,
        completed: ok.len(),
        failed: samples.len() - ok.len(),
        duration_s,
        ttft_ms: Dist::of(&ttft),
        tpot_ms: Dist::of(&tpot),
        itl_ms: Dist::of(&itl),
        e2el_ms: Dist::of(&e2el),
        total_prompt_tokens,
        total_output_tokens,
        output_tokens_per_s,
        requests_per_s: if duration_s > 0.0 {
            ok.len() as f64 / duration_s
        } else {
            0.0
        },
        usd_per_million_output_tokens: price_per_hour
            .and_then(|p| usd_per_million(p, output_tokens_per_s)),
        first_chunk_ms: Dist::of(&first_chunk),
        usage_missing: ok.iter().filter(|s| !s.usage_reported).count(),
        tokens_per_chunk: if chunks > 0 {
            total_output_tokens as f64 / chunks as f64
        } else {
            0.0
        },
        goodput_rps: None,
        meets_slo: None,
        request_rate: None,
    }
}

/// `$ per 1M output tokens` for a price per hour and a throughput; `None` if either is 0.
///
/// # Examples
///
/// ```
/// use gdl_model::benchmark::usd_per_million;
///
/// // $3.60 an hour at 1,000 tokens a second: 3.6 million tokens an hour, $1 per million.
/// let usd = usd_per_million(3.6, 1000.0).unwrap();
/// assert!((usd - 1.0).abs() < 1e-9);
/// assert_eq!(usd_per_million(3.6, 0.0), None);
/// ```
pub fn usd_per_million(price_per_hour: f64, output_tokens_per_s: f64) -> Option<f64> {
    (price_per_hour > 0.0 && output_tokens_per_s > 0.0)
        .then(|| price_per_hour / (output_tokens_per_s * 3600.0) * 1_000_000.0)
}

#[cfg(test)]
mod tests;
