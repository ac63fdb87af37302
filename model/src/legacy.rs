//! Benchmark files of the Python dashboard this product replaces
//! (`~/.gpu-deploy-llm/benchmarks/<id>.json`), read into our record. It measured one
//! request at a time and kept averages only: what it lacks is listed in `missing`.
//!
//! # Examples
//!
//! ```
//! use gdl_model::legacy::{import, is_imported};
//!
//! let old = r#"{"id":"bench-1a2b","session_id":"s-9","timestamp":"2026-01-10T12:00:00Z",
//!     "model_id":"Qwen/Qwen2.5-0.5B-Instruct","provider":"vastai","gpu_type":"RTX 3090",
//!     "price_per_hour":0.2,"avg_tokens_per_second":85.5,"avg_time_to_first_token_ms":140.0,
//!     "prompts_tested":6,"prompts_passed":5}"#;
//! let record = import(old, "bench-1a2b.json")?;
//! assert_eq!(record.phases[0].ttft_ms.p50, 140.0, "the average stands in for p50");
//! assert_eq!(record.phases[0].output_tokens_per_s, 85.5);
//! assert_eq!((record.prompts_matching, record.prompts_with_expected), (5, 6));
//! assert!(is_imported(&record));
//! assert!(import("{}", "x.json").unwrap_err().starts_with("x.json: "));
//! # Ok::<(), String>(())
//! ```

use crate::benchmark::{Dist, PhaseMetrics};
use crate::provider::Provider;
use crate::runs::BenchmarkRecord;
use serde::{Deserialize, Serialize};

/// What the old tool did not record, for every imported benchmark.
pub const MISSING: &[&str] = &[
    "percentiles (only averages were kept: p50 shows the average)",
    "TPOT and ITL",
    "load levels above concurrency 1",
    "SLOs and capacity",
    "raw samples",
    "cost of the test",
];

/// How an imported record's `workload` begins: what marks it as imported.
pub(crate) const IMPORTED: &str = "imported from the Python dashboard";

/// One old file to import: its name (for messages) and its text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OldFile {
    /// The file's name, such as `bench-1a2b3c4d.json`.
    pub name: String,
    /// The file's JSON text.
    pub text: String,
}

/// What an import did: the ids imported, and why the others were skipped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// The ids of the benchmarks imported.
    pub imported: Vec<String>,
    /// One line per file not imported: its name and why.
    pub skipped: Vec<String>,
}

impl ImportReport {
    /// Adds another report's outcome to this one.
    pub fn extend(&mut self, other: ImportReport) {
        self.imported.extend(other.imported);
        self.skipped.extend(other.skipped);
    }
}

/// Whether `record` was imported from the old tool (so importing it again may replace it;
/// a benchmark of ours never is).
pub fn is_imported(record: &BenchmarkRecord) -> bool {
    record.external
        && record
            .workload
            .as_deref()
            .is_some_and(|w| w.starts_with(IMPORTED))
}

/// The old tool's full record (`<id>.json`); fields it sometimes left out are optional.
#[derive(Debug, Deserialize)]
struct OldRecord {
    id: String,
    #[serde(default)]
    session_id: String,
    timestamp: String,
    model_id: String,
    #[serde(default)]
    quantization: Option<String>,
    provider: String,
    gpu_type: String,
    #[serde(default)]
    gpu_count: Option<u32>,
    #[serde(default)]
    price_per_hour: f64,
    #[serde(default)]
    avg_tokens_per_second: f64,
    #[serde(default)]
    avg_time_to_first_token_ms: Option<f64>,
    #[serde(default)]
    throughput_tokens_per_second: Option<f64>,
    #[serde(default)]
    total_tokens_generated: u64,
    #[serde(default)]
    prompts_tested: u32,
    #[serde(default)]
    prompts_passed: u32,
    #[serde(default)]
    cost_per_million_tokens: Option<f64>,
}

/// Reads one old record (the text of `<id>.json`) as ours, named `from` (the file).
///
/// The error is a sentence that starts with `from`. The record is marked external, with
/// one concurrency-1 phase of averages and a `workload` that lists [`MISSING`].
pub fn import(text: &str, from: &str) -> Result<BenchmarkRecord, String> {
    let old: OldRecord = serde_json::from_str(text)
        .map_err(|e| format!("{from}: not an old benchmark record: {e}"))?;
    let created_at = crate::time::parse_lenient(&old.timestamp)
        .ok_or_else(|| format!("{from}: unreadable timestamp {:?}", old.timestamp))?;
    let average = |v: Option<f64>| {
        v.map(|x| Dist {
            count: old.prompts_tested as usize,
            mean: x,
            p50: x,
            ..Default::default()
        })
        .unwrap_or_default()
    };
    let tokens_per_s = old
        .throughput_tokens_per_second
        .unwrap_or(old.avg_tokens_per_second);
    let phase = PhaseMetrics {
        concurrency: 1,
        completed: old.prompts_tested as usize,
        ttft_ms: average(old.avg_time_to_first_token_ms),
        total_output_tokens: old.total_tokens_generated,
        output_tokens_per_s: tokens_per_s,
        usd_per_million_output_tokens: old
            .cost_per_million_tokens
            .filter(|c| c.is_finite() && *c > 0.0),
        ..Default::default()
    };
    Ok(BenchmarkRecord {
        tuning: None,
        id: old.id.into(),
        run_id: Default::default(),
        created_at,
        served_repo: old.model_id.clone(),
        model: old.model_id,
        quantization: old.quantization.unwrap_or_else(|| "none".into()),
        provider: Provider::from_wire(&old.provider),
        gpu_type: old.gpu_type,
        gpu_count: old.gpu_count.unwrap_or(1).max(1),
        price_per_hour: old.price_per_hour,
        prompts_matching: old.prompts_passed,
        prompts_with_expected: old.prompts_tested,
        phases: vec![phase],
        test_cost_usd: None,
        external: true,
        slo: None,
        capacity: None,
        workload: Some(format!(
            "{IMPORTED} ({from}, session {}); missing: {}",
            if old.session_id.is_empty() {
                "unknown"
            } else {
                &old.session_id
            },
            MISSING.join("; ")
        )),
        // The old dashboard deployed vLLM; its records do not say which release.
        engine: Some(crate::engines::Engine::Vllm),
        engine_version: None,
        engine_settings: Default::default(),
        input: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_record_keeps_its_numbers_and_says_what_it_lacks() {
        let text = r#"{"id": "bench-1a2b3c4d", "session_id": "s-9", "timestamp": "2026-01-10T12:00:00.123456Z",
            "model_id": "Qwen/Qwen2.5-0.5B-Instruct", "quantization": "none", "provider": "vastai",
            "gpu_type": "RTX 3090", "gpu_count": 1, "gpu_vram_mb": 0, "price_per_hour": 0.2,
            "avg_tokens_per_second": 85.5, "avg_time_to_first_token_ms": 140.0,
            "throughput_tokens_per_second": 85.5, "total_tokens_generated": 600,
            "prompts_tested": 6, "prompts_passed": 5, "match_rate": 0.8333, "prompt_results": [],
            "tokens_per_dollar": 1539000.0, "cost_per_million_tokens": 0.65}"#;
        let r = import(text, "bench-1a2b3c4d.json").unwrap();
        assert_eq!(r.id, "bench-1a2b3c4d");
        assert_eq!((r.prompts_matching, r.prompts_with_expected), (5, 6));
        let p = &r.phases[0];
        assert_eq!((p.ttft_ms.p50, p.output_tokens_per_s), (140.0, 85.5));
        assert_eq!(p.usd_per_million_output_tokens, Some(0.65));
        assert!(
            r.external
                && r.workload
                    .as_deref()
                    .unwrap()
                    .contains("missing: percentiles")
        );
        assert!(is_imported(&r));
        assert!(!is_imported(&BenchmarkRecord {
            workload: None,
            ..r.clone()
        }));
        assert!(import("{}", "x.json").unwrap_err().starts_with("x.json:"));
    }
}
