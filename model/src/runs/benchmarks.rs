//! The stored benchmark record a run (or `bench`) leaves.

use crate::benchmark::PhaseMetrics;
use crate::provider::Provider;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A stored benchmark: what was measured, on what, at what price.
///
/// # Examples
///
/// ```
/// use gdl_model::benchmark::PhaseMetrics;
/// use gdl_model::runs::BenchmarkRecord;
///
/// let mut r: BenchmarkRecord = serde_json::from_str(r#"{"id":"b-1","run_id":"run-1",
///     "created_at":"2026-11-24T01:00:00Z","model":"Qwen/Qwen2.5-0.5B-Instruct",
///     "served_repo":"Qwen/Qwen2.5-0.5B-Instruct","quantization":"none","provider":"vastai",
///     "gpu_type":"RTX 4090","gpu_count":1,"price_per_hour":0.4,"prompts_matching":3,
///     "prompts_with_expected":4,"phases":[]}"#)?;
/// assert!(!r.external && r.test_cost_usd.is_none(), "left out: the defaults");
/// let level = |concurrency, tps, meets| PhaseMetrics {
///     concurrency,
///     output_tokens_per_s: tps,
///     meets_slo: Some(meets),
///     ..Default::default()
/// };
/// r.phases = vec![level(1, 90.0, true), level(8, 600.0, true), level(32, 900.0, false)];
/// assert_eq!(r.best_phase().unwrap().concurrency, 32);
/// assert_eq!(r.at_slo().unwrap().concurrency, 8, "the most load that met the SLOs");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BenchmarkRecord {
    /// The benchmark's id.
    pub id: String,
    /// The run that measured it; empty for one measured by `bench` or imported.
    pub run_id: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// The model id asked for.
    pub model: String,
    /// The repository vLLM loaded (a pre-quantized one for AWQ/GPTQ).
    pub served_repo: String,
    /// `none`, `awq`, `gptq` or `fp8` (`unknown` for a server measured by `bench`).
    pub quantization: String,
    /// The provider of the instance (`external` for a server measured by `bench`).
    pub provider: Provider,
    /// The GPU model, such as `RTX 4090`.
    pub gpu_type: String,
    /// GPUs in the instance.
    pub gpu_count: u32,
    /// What the instance cost, USD per hour (0 when unknown).
    pub price_per_hour: f64,
    /// Quality prompts answered as expected.
    pub prompts_matching: u32,
    /// Quality prompts that had an expected answer.
    pub prompts_with_expected: u32,
    /// One entry per load phase (concurrency 1 first).
    pub phases: Vec<PhaseMetrics>,
    /// What the whole test cost (every rental attempt's price × time, provisioning
    /// included): until the benchmark ended when it is stored, settled once cleanup ends
    /// the rental. Absent in records from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_cost_usd: Option<f64>,
    /// Measured by `bench` against a server we did not deploy (no run, no rental).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The SLOs the levels were judged against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::benchmark::Slo>,
    /// The highest concurrency that met the SLOs, when the capacity search ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// What was asked: `synthetic 128 in / 128 out`, or the prompt file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

impl BenchmarkRecord {
    /// The level the SLOs allow the most load at: the capacity found by the search, else
    /// the highest-throughput level that met them. `None` when no level was judged or none
    /// met them.
    pub fn at_slo(&self) -> Option<&PhaseMetrics> {
        if let Some(c) = self.capacity {
            return self.phases.iter().find(|p| p.concurrency == c);
        }
        self.phases
            .iter()
            .filter(|p| p.meets_slo == Some(true))
            .max_by(|a, b| a.output_tokens_per_s.total_cmp(&b.output_tokens_per_s))
    }

    /// The phase with the highest output throughput (the one $/1M tokens is quoted at).
    pub fn best_phase(&self) -> Option<&PhaseMetrics> {
        self.phases
            .iter()
            .max_by(|a, b| a.output_tokens_per_s.total_cmp(&b.output_tokens_per_s))
    }
}
