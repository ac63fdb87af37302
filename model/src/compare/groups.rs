//! Like with like: Compare puts on one frontier only benchmarks measured under the same
//! assumptions, a comparison group (workload, SLOs, quantization and engine). The query
//! that chooses a group, the groups a model's benchmarks fall in, and the comparison of
//! one group.
//!
//! A run's record from before workloads were kept was measured with the dashboard's fixed
//! load ([`DEFAULT_WORKLOAD`]) and judged against [`Slo::default`]. An external record
//! (measured by `bench`, or imported) joins only a group whose workload and SLOs it kept and
//! matches: one that kept neither (the old dashboard's imports) is in an [`UNKNOWN`] group
//! of its own kind, never in a group of known ones.

use super::{compare, Comparison};
use crate::benchmark::Slo;
use crate::query::blank_as_none;
use crate::runs::BenchmarkRecord;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The workload of a run's record from before workloads were kept: the dashboard's fixed
/// load, 64-token synthetic prompts asking for 96 tokens each.
pub const DEFAULT_WORKLOAD: &str = "synthetic 64 in / 96 out";

/// How a group names the workload or SLOs an external record did not keep.
pub const UNKNOWN: &str = "unknown";

/// `GET /api/compare`, the Compare page's URL and `benchmarks compare`: the model, and the
/// comparison group to show. A group filter left unset is chosen: among the groups that
/// match the filters set, one with a benchmark that met its SLOs first, then the one with
/// the most benchmarks (ties: the newest).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CompareQuery {
    /// The model id, e.g. Qwen/Qwen2.5-0.5B-Instruct (empty: the models benchmarked only).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<String>,
    /// `vllm` or `sglang`: the group's engine (a run's record from before engines were kept
    /// counts as vLLM); chosen when unset.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub engine: Option<crate::engines::Engine>,
    /// Only benchmarks run with these engine settings: their summary as the Compare page
    /// lists them (`context 8,192 · prefix caching off`), or `default`; any when unset.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub settings: Option<String>,
    /// The group's workload as benchmarks record it (`synthetic 512 in / 128 out`, a
    /// prompt file; `synthetic 64 in / 96 out` for records from before it was kept);
    /// chosen when unset.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub workload: Option<String>,
    /// The group's SLOs: `ttft<ms>-tpot<ms>` (p95 bounds, e.g. `ttft1000-tpot100`, the
    /// default), with `-ok<percent>` when other than 99 % of requests had to succeed
    /// (`ttft500-tpot50-ok95`), or `unknown`; chosen when unset.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub slo: Option<String>,
    /// The group's quantization (`none`, `awq`, `gptq`, `fp8`, `unknown`); chosen when unset.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub quantization: Option<String>,
}

/// A comparison group: what its benchmarks share, and how many there are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompareGroup {
    /// The workload (see [`CompareQuery::workload`]).
    pub workload: String,
    /// The SLOs in the URL's form (see [`CompareQuery::slo`]).
    pub slo: String,
    /// The quantization.
    pub quantization: String,
    /// The engine; absent for external records that named none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::engines::Engine>,
    /// The model's benchmarks in the group (of the settings asked for).
    pub benchmarks: usize,
    /// How many of them are external (measured by `bench`, or imported).
    #[serde(default)]
    pub external: usize,
    /// How many of them have a level that met their SLOs at a known price, so can be
    /// points of the frontier.
    #[serde(default)]
    pub measured: usize,
    /// When the newest of them was recorded.
    pub newest: DateTime<Utc>,
}

impl CompareGroup {
    /// What people read: `synthetic 512 in / 128 out · SLOs ttft1000-tpot100 · none · vLLM`.
    pub fn label(&self) -> String {
        format!(
            "{} · SLOs {} · {} · {}",
            self.workload,
            self.slo,
            self.quantization,
            self.engine.map_or("engine unknown", |e| e.label())
        )
    }

    /// The query that shows this group of `model` (with the settings filter kept).
    pub fn query(&self, model: &str, settings: Option<String>) -> CompareQuery {
        CompareQuery {
            model: Some(model.to_owned()),
            engine: self.engine,
            settings,
            workload: Some(self.workload.clone()),
            slo: Some(self.slo.clone()),
            quantization: Some(self.quantization.clone()),
        }
    }

    /// Whether a record of group key `k` belongs to this group.
    fn holds(&self, k: &Key) -> bool {
        k.0 == self.workload && k.1 == self.slo && k.2 == self.quantization && k.3 == self.engine
    }

    /// Whether the filters set in `q` allow this group.
    fn matches(&self, q: &CompareQuery) -> bool {
        let same = |set: &Option<String>, value: &str| {
            set.as_deref()
                .is_none_or(|s| s.trim().eq_ignore_ascii_case(value))
        };
        same(&q.workload, &self.workload)
            && same(&q.slo, &self.slo)
            && same(&q.quantization, &self.quantization)
            && q.engine.is_none_or(|e| self.engine == Some(e))
    }
}

/// The SLOs in the URL's form: `ttft1000-tpot100`, `ttft500-tpot50-ok95`.
///
/// ```
/// use gdl_model::benchmark::Slo;
/// use gdl_model::compare::slo_key;
///
/// assert_eq!(slo_key(&Slo::default()), "ttft1000-tpot100");
/// let strict = Slo { ttft_p95_ms: 500.0, tpot_p95_ms: 50.0, min_success: 0.95 };
/// assert_eq!(slo_key(&strict), "ttft500-tpot50-ok95");
/// ```
pub fn slo_key(slo: &Slo) -> String {
    let number = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{}", (x * 1000.0).round() / 1000.0)
        }
    };
    let mut key = format!(
        "ttft{}-tpot{}",
        number(slo.ttft_p95_ms),
        number(slo.tpot_p95_ms)
    );
    if (slo.min_success - Slo::default().min_success).abs() > 1e-9 {
        key.push_str(&format!("-ok{}", number(slo.min_success * 100.0)));
    }
    key
}

/// What a group's benchmarks share: workload, SLOs, quantization and engine.
type Key = (String, String, String, Option<crate::engines::Engine>);

/// The group `r` is in.
fn key(r: &BenchmarkRecord) -> Key {
    let workload = match &r.workload {
        // An import names its session and file; what matters is where it came from.
        Some(_) if crate::legacy::is_imported(r) => crate::legacy::IMPORTED.to_owned(),
        Some(w) => w.clone(),
        None if r.external => UNKNOWN.to_owned(),
        None => DEFAULT_WORKLOAD.to_owned(),
    };
    let slo = match &r.slo {
        Some(s) => slo_key(s),
        None if r.external => UNKNOWN.to_owned(),
        None => slo_key(&Slo::default()),
    };
    (
        workload,
        slo,
        r.quantization.to_ascii_lowercase(),
        r.served_by(),
    )
}

/// The groups `records` fall in: those with a benchmark that met its SLOs first, then the
/// most benchmarks first (ties: the newest first).
pub fn groups(records: &[BenchmarkRecord]) -> Vec<CompareGroup> {
    let mut out: Vec<CompareGroup> = Vec::new();
    for r in records {
        let k = key(r);
        let i = match out.iter().position(|g| g.holds(&k)) {
            Some(i) => i,
            None => {
                let (workload, slo, quantization, engine) = k;
                out.push(CompareGroup {
                    workload,
                    slo,
                    quantization,
                    engine,
                    benchmarks: 0,
                    external: 0,
                    measured: 0,
                    newest: r.created_at,
                });
                out.len() - 1
            }
        };
        let g = &mut out[i];
        g.benchmarks += 1;
        g.external += usize::from(r.external);
        g.measured += usize::from(
            r.at_slo()
                .and_then(|p| p.usd_per_million_output_tokens)
                .is_some(),
        );
        g.newest = g.newest.max(r.created_at);
    }
    // A group that can draw a frontier before one that cannot (the old dashboard's imports
    // met no SLO), then the largest, then the newest.
    out.sort_by(|a, b| {
        (b.measured > 0)
            .cmp(&(a.measured > 0))
            .then(b.benchmarks.cmp(&a.benchmarks))
            .then(b.newest.cmp(&a.newest))
    });
    out
}

/// Compares `model`'s benchmarks among `records` in one group: the one `q`'s filters
/// name, the largest that matches where they leave a choice. The answer names the group
/// shown, lists every group of the model and counts the benchmarks left out.
pub fn compare_group(model: &str, q: &CompareQuery, records: &[BenchmarkRecord]) -> Comparison {
    let mine: Vec<BenchmarkRecord> = records
        .iter()
        .filter(|r| r.model == model)
        .cloned()
        .collect();
    let groups = groups(&mine);
    let group = groups.iter().find(|g| g.matches(q)).cloned();
    let shown: Vec<BenchmarkRecord> = match &group {
        Some(g) => mine.into_iter().filter(|r| g.holds(&key(r))).collect(),
        None => Vec::new(),
    };
    let total: usize = groups.iter().map(|g| g.benchmarks).sum();
    Comparison {
        left_out: total - shown.len(),
        group,
        groups,
        ..compare(model, &shown)
    }
}

#[cfg(test)]
mod tests;
