//! The requests a campaign measures with, and the bounds of its SLOs.

use crate::benchmark::trace::{self, Mix};
use crate::benchmark::Slo;
use serde::{Deserialize, Serialize};

/// The requests a campaign measures with: lengths in the model's tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Prompt length, tokens (1–32,768).
    #[serde(default = "default_input")]
    pub input_tokens: u32,
    /// Answer length, tokens (1–8,192).
    #[serde(default = "default_output")]
    pub output_tokens: u32,
    /// Seeds the prompts, so a campaign run again sends the same ones.
    #[serde(default)]
    pub seed: u64,
    /// A shipped request trace (`chat` or `rag`, see [`crate::benchmark::trace`]) whose
    /// requests give each prompt's and answer's length and shared prefixes, in place of
    /// `input_tokens` and `output_tokens`.
    #[serde(
        default,
        deserialize_with = "crate::query::blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub trace: Option<String>,
}

fn default_input() -> u32 {
    512
}

fn default_output() -> u32 {
    128
}

impl WorkloadSpec {
    /// What is out of bounds, one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=32_768).contains(&self.input_tokens) {
            out.push("workload.input_tokens must be between 1 and 32,768".to_owned());
        }
        if !(1..=8192).contains(&self.output_tokens) {
            out.push("workload.output_tokens must be between 1 and 8,192".to_owned());
        }
        if let Some(name) = self.trace.as_deref() {
            if Mix::from_name(name).is_none() {
                out.push(format!(
                    "workload.trace must be one of the shipped traces ({}), not {name:?}",
                    trace::SHIPPED.join(", ")
                ));
            }
        }
        out
    }

    /// "synthetic 512 in / 128 out", or "trace chat" (as benchmarks record their workload).
    pub fn label(&self) -> String {
        match &self.trace {
            Some(name) => format!("trace {name}"),
            None => format!(
                "synthetic {} in / {} out",
                self.input_tokens, self.output_tokens
            ),
        }
    }

    /// Mean prompt and answer lengths, tokens: the trace's when it names one (for
    /// estimates), else the lengths asked.
    pub fn mean_lengths(&self) -> (u32, u32) {
        match self.trace.as_deref().and_then(trace::shipped) {
            Some(t) => {
                let s = trace::stats(&t);
                (s.mean_input.round() as u32, s.mean_output.round() as u32)
            }
            None => (self.input_tokens, self.output_tokens),
        }
    }
}

/// What is out of bounds in `slo`, one sentence each.
pub fn slo_problems(slo: &Slo) -> Vec<String> {
    let mut out = Vec::new();
    let time = |t: f64| t.is_finite() && t > 0.0 && t <= 600_000.0;
    if !(time(slo.ttft_p95_ms) && time(slo.tpot_p95_ms)) {
        out.push("the SLOs' times (slo.ttft_p95_ms, slo.tpot_p95_ms) must be above 0 and at most 600,000 ms".to_owned());
    }
    if !(0.0..=1.0).contains(&slo.min_success) {
        out.push("slo.min_success must be between 0 and 1".to_owned());
    }
    out
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        Self {
            input_tokens: default_input(),
            output_tokens: default_output(),
            seed: 0,
            trace: None,
        }
    }
}
