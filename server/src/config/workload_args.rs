//! The benchmark's workload and SLOs as `test` flags; each left out keeps the dashboard's
//! default (64 tokens in, 96 out, seed 0; p95 TTFT 1,000 ms, p95 TPOT 100 ms, 99 % success).

use clap::Args;
use gdl_model::benchmark::Slo;
use gdl_model::campaigns::WorkloadSpec;
use gdl_model::runs::TestConfig;

/// The benchmark's requests and SLOs.
#[derive(Clone, Debug, Default, Args)]
pub struct WorkloadArgs {
    /// Prompt length of the benchmark's requests, in the model's tokens (default 64).
    #[arg(long)]
    pub input_tokens: Option<u32>,

    /// Answer length asked for, exactly (default 96).
    #[arg(long)]
    pub output_tokens: Option<u32>,

    /// A shipped request trace instead of synthetic lengths: chat or rag.
    #[arg(long)]
    pub trace: Option<String>,

    /// Seeds the prompts (the same seed sends the same prompts).
    #[arg(long)]
    pub seed: Option<u64>,

    /// SLO: p95 time to first token, ms (default 1,000).
    #[arg(long)]
    pub ttft_ms: Option<f64>,

    /// SLO: p95 time per output token, ms (default 100).
    #[arg(long)]
    pub tpot_ms: Option<f64>,
}

/// The dashboard's load prompt and answer lengths when a run names none.
const DEFAULT_LENGTHS: (u32, u32) = (64, 96);

impl WorkloadArgs {
    /// Sets what was given on `config` (its checks are the run's).
    pub fn apply(&self, config: &mut TestConfig) {
        if self.input_tokens.is_some()
            || self.output_tokens.is_some()
            || self.trace.is_some()
            || self.seed.is_some()
        {
            config.workload = Some(WorkloadSpec {
                input_tokens: self.input_tokens.unwrap_or(DEFAULT_LENGTHS.0),
                output_tokens: self.output_tokens.unwrap_or(DEFAULT_LENGTHS.1),
                seed: self.seed.unwrap_or(0),
                trace: self.trace.clone(),
            });
        }
        if self.ttft_ms.is_some() || self.tpot_ms.is_some() {
            let d = Slo::default();
            config.slo = Some(Slo {
                ttft_p95_ms: self.ttft_ms.unwrap_or(d.ttft_p95_ms),
                tpot_p95_ms: self.tpot_ms.unwrap_or(d.tpot_p95_ms),
                ..d
            });
        }
    }
}
