//! The stored benchmark record a run (or `bench`) leaves, and the Benchmarks tab's filters,
//! sort and export.

use crate::benchmark::{PhaseMetrics, Sample};
use crate::ids::{BenchmarkId, RunId};
use crate::provider::Provider;
use crate::query::{blank_as_none, word_enum};
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
    pub id: BenchmarkId,
    /// The run that measured it; empty for one measured by `bench` or imported.
    pub run_id: RunId,
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
    /// The engine that served. Absent for a server measured by `bench` and in records from
    /// before engines were kept (those were vLLM 0.6.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::engines::Engine>,
    /// Its release (`0.31.0`), or the image the broker started in the entrypoint mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    /// How it was started (only what differs from the engine's defaults is kept).
    #[serde(default, skip_serializing_if = "is_default_settings")]
    pub engine_settings: crate::engines::EngineSettings,
    /// Prompt lengths asked and counted by the server, with the calibration the prompts
    /// were built with (absent in records from before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<crate::benchmark::input::InputLengths>,
    /// The engine settings tried on the same rental after the capacity search, when the
    /// run asked for tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<crate::tuning::Tuning>,
}

/// How [`BenchmarkRecord::settings_key`] names the engines' own defaults.
pub const DEFAULT_SETTINGS: &str = "default";

fn is_default_settings(s: &crate::engines::EngineSettings) -> bool {
    *s == crate::engines::EngineSettings::default()
}

impl BenchmarkRecord {
    /// The engine settings it ran with, as the Compare filter names them: their summary
    /// (`context 8,192 · prefix caching off`), or `default` when none was set.
    pub fn settings_key(&self) -> String {
        let summary = self.engine_settings.summary();
        if summary.is_empty() {
            DEFAULT_SETTINGS.to_owned()
        } else {
            summary
        }
    }

    /// `vLLM 0.31.0`, `SGLang 0.5.21`; `vLLM 0.6.4` for a run's record from before engines
    /// were kept; `None` for a server measured by `bench` that named none.
    pub fn engine_label(&self) -> Option<String> {
        match (&self.engine, &self.engine_version) {
            (Some(e), Some(v)) => Some(format!("{} {v}", e.label())),
            (Some(e), None) => Some(e.label().to_owned()),
            (None, _) if !self.external => Some(format!(
                "vLLM {}",
                crate::runs::VERSION_BEFORE_THE_CATALOGUE
            )),
            (None, _) => None,
        }
    }

    /// The engine that served, for filters: a run's record from before engines were kept
    /// counts as vLLM; `None` only for a server measured by `bench` that named none.
    pub fn served_by(&self) -> Option<crate::engines::Engine> {
        self.engine
            .or((!self.external).then_some(crate::engines::Engine::Vllm))
    }

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

/// `GET /api/benchmarks/{id}` and the benchmark page: a record with its raw samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BenchmarkDetail {
    /// The record.
    pub benchmark: BenchmarkRecord,
    /// Every raw sample, by phase (`quality`, `c1`, `c4`, ... or `r2.0`).
    pub samples: Vec<PhaseSample>,
}

/// One raw sample and the phase it was taken in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseSample {
    /// The phase: `quality` for the quality prompts, else a load level.
    pub phase: String,
    /// The request as measured.
    pub sample: Sample,
}

impl BenchmarkDetail {
    /// The successful load requests (the quality prompts left out).
    fn load(&self) -> impl Iterator<Item = &Sample> {
        self.samples
            .iter()
            .filter(|s| s.phase != "quality" && s.sample.ok())
            .map(|s| &s.sample)
    }

    /// The time to first token of every successful load request, ms.
    pub fn ttft_ms(&self) -> Vec<f64> {
        self.load().filter_map(|s| s.ttft_ms).collect()
    }

    /// Every gap between chunks of the load requests, ms.
    pub fn itl_ms(&self) -> Vec<f64> {
        self.load()
            .flat_map(|s| s.chunk_ms.windows(2).map(|w| w[1] - w[0]))
            .collect()
    }
}

/// How benchmarks are exported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// The Benchmarks tab's columns, one row each.
    #[default]
    Csv,
    /// The records as a JSON array.
    Json,
}

word_enum!(ExportFormat, "csv or json");

/// `GET /api/benchmarks/export?format=csv|json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExportQuery {
    /// csv (default) or json.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub format: Option<ExportFormat>,
}

/// `GET /api/benchmarks?limit=&offset=&engine=`: a page of records, of one engine when
/// `engine` is given (see [`BenchmarkRecord::served_by`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct BenchmarkPage {
    /// Rows in the page, 1 to 500 (50 when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<u32>,
    /// Rows skipped before the page (0 when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<u32>,
    /// `vllm` or `sglang`; every engine when unset.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub engine: Option<crate::engines::Engine>,
}

impl BenchmarkPage {
    /// The page asked for, without the filter.
    pub fn page(&self) -> crate::query::Page {
        crate::query::Page {
            limit: self.limit,
            offset: self.offset,
        }
    }
}

/// The Benchmarks tab's filters and sort, as its URL carries them
/// (`/benchmarks?model=Qwen&provider=vastai&sort=slo_cost`).
///
/// # Examples
///
/// ```
/// use gdl_model::runs::{BenchmarkFilters, BenchmarkSort};
/// use gdl_model::query::decode;
///
/// let f: BenchmarkFilters = decode("model=qwen&gpu=+&sort=tps")?;
/// assert_eq!(f.model.as_deref(), Some("qwen"));
/// assert_eq!(f.gpu, None, "an empty value is unset");
/// assert_eq!(f.sort, Some(BenchmarkSort::Tps));
/// # Ok::<(), gdl_model::error::ApiError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkFilters {
    /// A part of the model id (case-insensitive).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<String>,
    /// Only this provider's benchmarks.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider: Option<Provider>,
    /// A part of the GPU type (case-insensitive).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub gpu: Option<String>,
    /// Only this engine's benchmarks (see [`BenchmarkRecord::served_by`]).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub engine: Option<crate::engines::Engine>,
    /// The order (newest first when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub sort: Option<BenchmarkSort>,
}

/// How the Benchmarks tab sorts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkSort {
    /// The newest first.
    #[default]
    Newest,
    /// The lowest TTFT p50 at the first level first.
    Ttft,
    /// The lowest TPOT p50 at the first level first.
    Tpot,
    /// The most output tokens per second at the best level first.
    Tps,
    /// The cheapest at the SLOs first; records without one last.
    SloCost,
}

impl BenchmarkSort {
    /// Every order, as the tab's select lists them.
    pub const ALL: [BenchmarkSort; 5] = [
        Self::Newest,
        Self::SloCost,
        Self::Ttft,
        Self::Tpot,
        Self::Tps,
    ];

    /// The words people read in the select.
    pub fn label(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::SloCost => "$ / 1M at SLO",
            Self::Ttft => "TTFT",
            Self::Tpot => "TPOT",
            Self::Tps => "throughput",
        }
    }

    /// The wire spelling (`newest`, `ttft`, `tpot`, `tps`, `slo_cost`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Ttft => "ttft",
            Self::Tpot => "tpot",
            Self::Tps => "tps",
            Self::SloCost => "slo_cost",
        }
    }
}

word_enum!(BenchmarkSort, "newest, ttft, tpot, tps or slo_cost");

impl BenchmarkFilters {
    /// Whether `r` passes.
    pub fn passes(&self, r: &BenchmarkRecord) -> bool {
        let has = |text: &str, part: &Option<String>| {
            part.as_ref()
                .is_none_or(|p| text.to_lowercase().contains(&p.to_lowercase()))
        };
        has(&r.model, &self.model)
            && has(&r.gpu_type, &self.gpu)
            && self.provider.as_ref().is_none_or(|p| &r.provider == p)
            && self.engine.is_none_or(|e| r.served_by() == Some(e))
    }

    /// Sorts as asked.
    pub fn sort(&self, list: &mut [BenchmarkRecord]) {
        let first = |r: &BenchmarkRecord, f: fn(&crate::benchmark::PhaseMetrics) -> f64| {
            r.phases.first().map(f).unwrap_or(f64::INFINITY)
        };
        match self.sort.unwrap_or_default() {
            BenchmarkSort::Ttft => list.sort_by(|a, b| {
                first(a, |p| p.ttft_ms.p50).total_cmp(&first(b, |p| p.ttft_ms.p50))
            }),
            BenchmarkSort::Tpot => list.sort_by(|a, b| {
                first(a, |p| p.tpot_ms.p50).total_cmp(&first(b, |p| p.tpot_ms.p50))
            }),
            BenchmarkSort::Tps => {
                let best =
                    |r: &BenchmarkRecord| r.best_phase().map_or(0.0, |p| p.output_tokens_per_s);
                list.sort_by(|a, b| best(b).total_cmp(&best(a)))
            }
            BenchmarkSort::SloCost => {
                let cost = |r: &BenchmarkRecord| {
                    r.at_slo()
                        .and_then(|p| p.usd_per_million_output_tokens)
                        .unwrap_or(f64::INFINITY)
                };
                list.sort_by(|a, b| cost(a).total_cmp(&cost(b)))
            }
            BenchmarkSort::Newest => list.sort_by_key(|r| std::cmp::Reverse(r.created_at)),
        }
    }
}
