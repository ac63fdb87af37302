//! Benchmark records and their math, following vLLM's `bench serve` definitions:
//!
//! - **TTFT**: request sent → first content token received.
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

use serde::{Deserialize, Serialize};

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
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    /// Why the request failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Sample {
    /// Completed without error and with at least one token.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.ttft_ms.is_some() && self.e2e_ms.is_some()
    }
}

/// A distribution summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dist {
    pub count: usize,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub min: f64,
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
            p99: percentile(&sorted, 99.0),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        }
    }
}

/// The `p`th percentile (0–100) of sorted values, interpolating linearly between ranks.
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
    pub concurrency: u32,
    pub completed: usize,
    pub failed: usize,
    pub duration_s: f64,
    pub ttft_ms: Dist,
    pub tpot_ms: Dist,
    pub itl_ms: Dist,
    pub e2el_ms: Dist,
    pub total_prompt_tokens: u64,
    pub total_output_tokens: u64,
    pub output_tokens_per_s: f64,
    pub requests_per_s: f64,
    /// `$ per 1M output tokens` at this concurrency, when a price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_million_output_tokens: Option<f64>,
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
    let tpot: Vec<f64> = ok
        .iter()
        .filter(|s| s.output_tokens > 1)
        .filter_map(|s| Some((s.e2e_ms? - s.ttft_ms?) / (s.output_tokens - 1) as f64))
        .collect();
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
    }
}

/// `$ per 1M output tokens` for a price per hour and a throughput; `None` if either is 0.
pub fn usd_per_million(price_per_hour: f64, output_tokens_per_s: f64) -> Option<f64> {
    (price_per_hour > 0.0 && output_tokens_per_s > 0.0)
        .then(|| price_per_hour / (output_tokens_per_s * 3600.0) * 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ttft: f64, chunks: &[f64], tokens: u32) -> Sample {
        Sample {
            start_ms: 0.0,
            ttft_ms: Some(ttft),
            chunk_ms: chunks.to_vec(),
            e2e_ms: chunks.last().copied(),
            prompt_tokens: 10,
            output_tokens: tokens,
            error: None,
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        close(percentile(&v, 50.0), 2.5);
        close(percentile(&v, 90.0), 3.7);
        close(percentile(&v, 99.0), 3.97);
        close(percentile(&[5.0], 99.0), 5.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn ttft_tpot_itl_e2el_on_a_hand_made_set() {
        let samples = vec![
            // 100 ms to first token, then 4 more tokens in chunks at 120, 140, 160, 180.
            sample(100.0, &[100.0, 120.0, 140.0, 160.0, 180.0], 5),
            // 200 ms TTFT, 3 tokens in two chunks (one chunk carries two tokens).
            sample(200.0, &[200.0, 260.0], 3),
            // A single-token reply: counts for TTFT and E2EL, not for TPOT.
            sample(50.0, &[50.0], 1),
            // A failed request: counted as failed, in no distribution.
            Sample {
                error: Some("HTTP 500".into()),
                ..Default::default()
            },
        ];
        let m = phase_metrics(&samples, 2, 2.0, Some(0.36));
        assert_eq!((m.completed, m.failed), (3, 1));
        close(m.ttft_ms.mean, (100.0 + 200.0 + 50.0) / 3.0);
        close(m.ttft_ms.p50, 100.0);
        // TPOT: (180-100)/4 = 20 and (260-200)/2 = 30; the 1-token reply is skipped.
        assert_eq!(m.tpot_ms.count, 2);
        close(m.tpot_ms.mean, 25.0);
        // ITL pooled over chunk gaps: 20, 20, 20, 20, 60.
        assert_eq!(m.itl_ms.count, 5);
        close(m.itl_ms.p50, 20.0);
        close(m.itl_ms.max, 60.0);
        close(m.e2el_ms.max, 260.0);
        // 9 output tokens in 2 s = 4.5 tok/s; $0.36/h → 0.36 / (4.5 × 3600) × 1e6 = $22.22.
        assert_eq!(m.total_output_tokens, 9);
        close(m.output_tokens_per_s, 4.5);
        close(
            m.usd_per_million_output_tokens.unwrap(),
            0.36 / (4.5 * 3600.0) * 1e6,
        );
        close(m.requests_per_s, 1.5);
    }

    #[test]
    fn cost_needs_price_and_throughput() {
        assert_eq!(usd_per_million(0.0, 100.0), None);
        assert_eq!(usd_per_million(1.0, 0.0), None);
        close(usd_per_million(3.6, 1000.0).unwrap(), 1.0);
    }
}
