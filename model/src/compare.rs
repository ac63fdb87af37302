//! One model across GPUs and providers: the price-performance frontier ($ per 1M output
//! tokens at the SLO capacity against per-user speed, 1000 / TPOT p50 at that load) and a
//! recommendation by cost, speed or balance that names the benchmarks it rests on.
//!
//! # Examples
//!
//! Three benchmarks of one model; the A100 is dearer and slower than the H100, so it is
//! off the frontier:
//!
//! ```
//! use gdl_model::benchmark::{Dist, PhaseMetrics};
//! use gdl_model::compare::{compare, Goal};
//! use gdl_model::runs::BenchmarkRecord;
//!
//! // A record whose one level met the SLOs at `usd` per 1M tokens and `tpot` ms per token.
//! let record = |id: &str, gpu: &str, usd: f64, tpot: f64| -> BenchmarkRecord {
//!     let mut r: BenchmarkRecord = serde_json::from_value(serde_json::json!({
//!         "id": id, "run_id": "r", "created_at": "2026-11-24T01:00:00Z",
//!         "model": "Qwen/Qwen2.5-0.5B-Instruct", "served_repo": "Qwen/Qwen2.5-0.5B-Instruct",
//!         "quantization": "none", "provider": "vastai", "gpu_type": gpu, "gpu_count": 1,
//!         "price_per_hour": 0.3, "prompts_matching": 4, "prompts_with_expected": 4,
//!         "phases": []
//!     }))
//!     .unwrap();
//!     r.phases.push(PhaseMetrics {
//!         concurrency: 4,
//!         meets_slo: Some(true),
//!         usd_per_million_output_tokens: Some(usd),
//!         tpot_ms: Dist { p50: tpot, ..Default::default() },
//!         ..Default::default()
//!     });
//!     r
//! };
//! let records = [
//!     record("a", "RTX 3090", 0.10, 20.0), // cheapest, 50 tok/s per user
//!     record("b", "H100", 0.30, 5.0),      // fastest, 200 tok/s per user
//!     record("c", "A100", 0.35, 10.0),     // dearer and slower than the H100
//! ];
//! let c = compare("Qwen/Qwen2.5-0.5B-Instruct", &records);
//! let a100 = c.points.iter().find(|p| p.gpu_type == "A100").unwrap();
//! assert!(!a100.pareto);
//! let cost = c.recommendations.iter().find(|r| r.goal == Goal::Cost).unwrap();
//! assert_eq!(c.points[cost.point].gpu_type, "RTX 3090");
//! assert!(cost.text.contains("from 1 benchmark (a)"), "{}", cost.text);
//! ```

use crate::benchmark::Dist;
use crate::ids::BenchmarkId;
use crate::provider::Provider;
use crate::runs::BenchmarkRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod groups;

pub use groups::{
    compare_group, groups, slo_key, CompareGroup, CompareQuery, DEFAULT_WORKLOAD, UNKNOWN,
};

/// One GPU on one provider, over every benchmark of the model there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrontierPoint {
    /// The GPU model, such as `RTX 4090`.
    pub gpu_type: String,
    /// GPUs per instance.
    pub gpu_count: u32,
    /// The provider.
    pub provider: Provider,
    /// Median over its benchmarks of $ per 1M output tokens at the SLO capacity.
    pub usd_per_million: f64,
    /// Median per-user decode speed at that load, tokens per second (1000 / TPOT p50).
    pub tokens_per_s_per_user: f64,
    /// The benchmarks it rests on, newest first.
    pub benchmarks: Vec<BenchmarkId>,
    /// How many of them are external (measured by `bench`, or imported), not deployed here.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub external: usize,
    /// No other point is at least as cheap and as fast, and better in one.
    pub pareto: bool,
    /// Its quantization, set only when the benchmarks compared ran with several (a campaign
    /// weighing quantizations): each quantization is then a point of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
}

impl FrontierPoint {
    /// "RTX 4090 ×1 on Vast.ai", with " · awq" when points differ in quantization.
    pub fn label(&self) -> String {
        format!(
            "{} ×{} on {}{}",
            self.gpu_type,
            self.gpu_count,
            self.provider.label(),
            self.quantization
                .as_ref()
                .map(|q| format!(" · {q}"))
                .unwrap_or_default()
        )
    }
}

/// What to optimise a recommendation for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// The lowest $ per 1M tokens at the SLOs.
    Cost,
    /// The fastest per-user decode.
    Speed,
    /// On the frontier, the best speed per dollar relative to the best of each.
    Balanced,
}

impl Goal {
    /// Every goal, in the order recommendations are listed.
    pub const ALL: [Goal; 3] = [Goal::Cost, Goal::Speed, Goal::Balanced];

    /// The wire spelling (`cost`, `speed`, `balanced`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cost => "cost",
            Self::Speed => "speed",
            Self::Balanced => "balanced",
        }
    }
}

/// A recommendation: which point, and what it rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recommendation {
    /// What it optimises for.
    pub goal: Goal,
    /// Index into [`Comparison::points`].
    pub point: usize,
    /// "RTX 4090 ×1 on Vast.ai: $0.052 per 1M tokens at 96 tok/s per user, from 2 benchmarks".
    pub text: String,
}

/// `GET /api/compare?model=`: the model's frontier and recommendations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// The model id compared.
    pub model: String,
    /// One point per GPU type, count and provider (and quantization, when the benchmarks
    /// differ in it) with a level that met the SLOs, cheapest first.
    pub points: Vec<FrontierPoint>,
    /// One per [`Goal`], chosen among the frontier (pareto) points; empty without points.
    pub recommendations: Vec<Recommendation>,
    /// Benchmarks of the model where no level met the SLOs (not on the chart).
    pub without_slo: Vec<BenchmarkId>,
    /// The engine settings the model's benchmarks ran with (of the engine asked for), most
    /// used first, as the settings filter names them (`default` for none set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<String>,
    /// The comparison group shown (see [`CompareQuery`]); absent when none matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<CompareGroup>,
    /// Every group of the model's benchmarks (of the settings asked for), the most
    /// benchmarks first; the one shown among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<CompareGroup>,
    /// The model's benchmarks in other groups, left off this frontier.
    #[serde(default)]
    pub left_out: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// GPU type, GPU count, provider, and quantization when the records compared differ in it.
type Hardware = (String, u32, Provider, Option<String>);

/// A benchmark with its $ per 1M tokens and per-user speed at the SLO capacity.
type Measured<'a> = (&'a BenchmarkRecord, f64, f64);

/// Compares `model`'s benchmarks among `records` (any order).
///
/// Records of other models are ignored; those where no level met the SLOs (or the level
/// has no $ per 1M tokens figure) go to [`Comparison::without_slo`]. See the
/// [module example](self).
pub fn compare(model: &str, records: &[BenchmarkRecord]) -> Comparison {
    let mut groups: BTreeMap<Hardware, Vec<Measured>> = BTreeMap::new();
    let mut without_slo = Vec::new();
    let mut mine: Vec<&BenchmarkRecord> = records.iter().filter(|r| r.model == model).collect();
    mine.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    let mixed = mine.iter().any(|r| r.quantization != mine[0].quantization);
    for r in mine {
        let at = r.at_slo();
        let figures = at.and_then(|p| {
            let usd = p.usd_per_million_output_tokens?;
            (p.tpot_ms.p50 > 0.0).then_some((usd, 1000.0 / p.tpot_ms.p50))
        });
        match figures {
            Some((usd, speed)) => groups
                .entry((
                    r.gpu_type.clone(),
                    r.gpu_count,
                    r.provider.clone(),
                    mixed.then(|| r.quantization.clone()),
                ))
                .or_default()
                .push((r, usd, speed)),
            None => without_slo.push(r.id.clone()),
        }
    }
    let mut points: Vec<FrontierPoint> = groups
        .into_iter()
        .map(|((gpu_type, gpu_count, provider, quantization), list)| {
            let usd: Vec<f64> = list.iter().map(|x| x.1).collect();
            let speed: Vec<f64> = list.iter().map(|x| x.2).collect();
            FrontierPoint {
                gpu_type,
                gpu_count,
                provider,
                usd_per_million: Dist::of(&usd).p50,
                tokens_per_s_per_user: Dist::of(&speed).p50,
                benchmarks: list.iter().map(|x| x.0.id.clone()).collect(),
                external: list.iter().filter(|x| x.0.external).count(),
                pareto: false,
                quantization,
            }
        })
        .collect();
    let dominated = |i: usize, points: &[FrontierPoint]| {
        let p = &points[i];
        points.iter().enumerate().any(|(j, q)| {
            j != i
                && q.usd_per_million <= p.usd_per_million
                && q.tokens_per_s_per_user >= p.tokens_per_s_per_user
                && (q.usd_per_million < p.usd_per_million
                    || q.tokens_per_s_per_user > p.tokens_per_s_per_user)
        })
    };
    let flags: Vec<bool> = (0..points.len()).map(|i| !dominated(i, &points)).collect();
    for (p, pareto) in points.iter_mut().zip(flags) {
        p.pareto = pareto;
    }
    points.sort_by(|a, b| a.usd_per_million.total_cmp(&b.usd_per_million));
    let recommendations = recommend(&points);
    Comparison {
        model: model.to_owned(),
        points,
        recommendations,
        without_slo,
        ..Comparison::default()
    }
}

/// The lowest $ per 1M and the highest per-user speed among `points`.
pub(crate) fn extremes(points: &[FrontierPoint]) -> (f64, f64) {
    let cheapest = points
        .iter()
        .map(|p| p.usd_per_million)
        .fold(f64::INFINITY, f64::min);
    let fastest = points
        .iter()
        .map(|p| p.tokens_per_s_per_user)
        .fold(0.0, f64::max);
    (cheapest, fastest)
}

/// The balanced goal's score: the product of "how close to the cheapest" and "how close to
/// the fastest", each 0–1.
pub(crate) fn balanced_score(p: &FrontierPoint, cheapest: f64, fastest: f64) -> f64 {
    (cheapest / p.usd_per_million) * (p.tokens_per_s_per_user / fastest)
}

fn recommend(points: &[FrontierPoint]) -> Vec<Recommendation> {
    if points.is_empty() {
        return Vec::new();
    }
    let (cheapest, fastest) = extremes(points);
    Goal::ALL
        .iter()
        .filter_map(|&goal| {
            let candidates = points.iter().enumerate().filter(|(_, p)| p.pareto);
            let chosen = match goal {
                Goal::Cost => candidates.min_by(|a, b| {
                    a.1.usd_per_million
                        .total_cmp(&b.1.usd_per_million)
                        .then(b.1.tokens_per_s_per_user.total_cmp(&a.1.tokens_per_s_per_user))
                }),
                Goal::Speed => candidates.max_by(|a, b| {
                    a.1.tokens_per_s_per_user
                        .total_cmp(&b.1.tokens_per_s_per_user)
                        .then(b.1.usd_per_million.total_cmp(&a.1.usd_per_million))
                }),
                // The best product of "how close to the cheapest" and "how close to the
                // fastest", each 0–1.
                Goal::Balanced => candidates.max_by(|a, b| {
                    let score = |p| balanced_score(p, cheapest, fastest);
                    score(a.1).total_cmp(&score(b.1))
                }),
            }?;
            let (i, p) = chosen;
            let n = p.benchmarks.len();
            Some(Recommendation {
                goal,
                point: i,
                text: format!(
                    "{}: ${:.3} per 1M output tokens at {:.0} tok/s per user, from {n} benchmark{} ({})",
                    p.label(),
                    p.usd_per_million,
                    p.tokens_per_s_per_user,
                    if n == 1 { "" } else { "s" },
                    p.benchmarks
                        .iter()
                        .map(BenchmarkId::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmark::PhaseMetrics;
    use crate::runs::BenchmarkFilters;

    fn record(id: &str, gpu: &str, provider: &str, usd: f64, tpot: f64) -> BenchmarkRecord {
        let mut r: BenchmarkRecord = serde_json::from_value(serde_json::json!({
            "id": id, "run_id": "r", "created_at": "2026-11-24T01:00:00Z",
            "model": "Qwen/Qwen2.5-0.5B-Instruct", "served_repo": "x", "quantization": "none",
            "provider": provider, "gpu_type": gpu, "gpu_count": 1, "price_per_hour": 0.3,
            "prompts_matching": 4, "prompts_with_expected": 4, "phases": []
        }))
        .unwrap();
        let mut p = PhaseMetrics {
            concurrency: 4,
            usd_per_million_output_tokens: Some(usd),
            meets_slo: Some(true),
            output_tokens_per_s: 100.0,
            ..Default::default()
        };
        p.tpot_ms.p50 = tpot;
        r.phases = vec![p];
        r
    }

    #[test]
    fn the_frontier_keeps_what_nothing_beats_and_recommendations_name_their_benchmarks() {
        let records = vec![
            record("a", "RTX 3090", "vastai", 0.10, 20.0), // cheap, 50 tok/s
            record("b", "H100", "vastai", 0.30, 5.0),      // dear, 200 tok/s
            record("c", "A100", "tensordock", 0.35, 10.0), // dearer and slower than b
            record("d", "RTX 4090", "vastai", 0.12, 8.0),  // 125 tok/s
            record("e", "RTX 4090", "vastai", 0.14, 8.0),  // the same GPU again
        ];
        let c = compare("Qwen/Qwen2.5-0.5B-Instruct", &records);
        assert_eq!(c.points.len(), 4);
        let by = |gpu: &str| c.points.iter().find(|p| p.gpu_type == gpu).unwrap();
        assert!(by("RTX 3090").pareto && by("H100").pareto && by("RTX 4090").pareto);
        assert!(!by("A100").pareto, "the H100 is cheaper and faster");
        assert_eq!(by("RTX 4090").benchmarks.len(), 2);
        assert!(
            (by("RTX 4090").usd_per_million - 0.13).abs() < 1e-9,
            "the median"
        );
        let rec = |g: Goal| c.recommendations.iter().find(|r| r.goal == g).unwrap();
        assert_eq!(c.points[rec(Goal::Cost).point].gpu_type, "RTX 3090");
        assert_eq!(c.points[rec(Goal::Speed).point].gpu_type, "H100");
        assert_eq!(c.points[rec(Goal::Balanced).point].gpu_type, "RTX 4090");
        assert!(
            rec(Goal::Balanced)
                .text
                .contains("from 2 benchmarks (d, e)")
                || rec(Goal::Balanced)
                    .text
                    .contains("from 2 benchmarks (e, d)")
        );
        assert!(compare("other/model", &records).points.is_empty());
    }

    #[test]
    fn the_tabs_filters_pass_parts_of_names_and_sort_as_asked() {
        let mut list = vec![
            record("a", "RTX 3090", "vastai", 0.10, 20.0),
            record("b", "H100", "tensordock", 0.30, 5.0),
            record("c", "RTX 4090", "vastai", 0.12, 8.0),
        ];
        let f: BenchmarkFilters =
            crate::query::decode("gpu=rtx&provider=vastai&sort=slo_cost").unwrap();
        list.retain(|r| f.passes(r));
        f.sort(&mut list);
        assert_eq!(
            list.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
        let tpot: BenchmarkFilters = crate::query::decode("sort=tpot&model=qwen2.5").unwrap();
        let mut all = vec![
            record("a", "x", "vastai", 0.1, 20.0),
            record("b", "y", "vastai", 0.2, 5.0),
        ];
        assert!(all.iter().all(|r| tpot.passes(r)));
        tpot.sort(&mut all);
        assert_eq!(all[0].id, "b");
    }

    #[test]
    fn the_engine_filter_counts_records_from_before_engines_as_vllm_but_not_external_ones() {
        let mut sglang = record("s", "H100", "vastai", 0.2, 5.0);
        sglang.engine = Some(crate::engines::Engine::Sglang);
        let old = record("o", "H100", "vastai", 0.2, 5.0);
        let mut external = record("x", "H100", "vastai", 0.2, 5.0);
        external.external = true;
        let kept = |query: &str| {
            let f: BenchmarkFilters = crate::query::decode(query).unwrap();
            [&sglang, &old, &external]
                .into_iter()
                .filter(|r| f.passes(r))
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(kept("engine=sglang"), ["s"]);
        assert_eq!(kept("engine=vllm"), ["o"]);
        assert_eq!(kept("engine="), ["s", "o", "x"]);
        assert!(crate::query::decode::<BenchmarkFilters>("engine=tgi").is_err());
        let q: CompareQuery = crate::query::decode("model=m&engine=sglang").unwrap();
        assert_eq!(q.engine, Some(crate::engines::Engine::Sglang));
    }
}
