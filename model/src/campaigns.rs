//! Campaigns: one action that rents several GPU types at once under a hard budget and
//! answers, with measurements, which GPU on which provider serves a model cheapest at a
//! latency target, and what finding out cost.
//!
//! - this file: what a person asks for ([`CampaignRequest`], checked by
//!   [`CampaignRequest::check`]) and the candidates, one per GPU type × count × provider ×
//!   quantization with offers that can run the model, ranked by their estimate
//!   ([`candidates`]) before anything is rented.
//! - [`estimate`]: the roofline estimate of a candidate's capacity and $ per 1M at the SLO.
//! - [`budget`]: the ledger that keeps the projected spend within the $ and time budgets.
//! - [`bundle`]: what runs a campaign again (`campaign --from`), downloadable from its page.
//! - [`record`]: a campaign as it runs and is kept: each candidate's state and the answer.
//! - [`verdict`]: how sure a recommendation is ("too close to call"), and the break-even
//!   against a serverless API's price.
//!
//! # Examples
//!
//! ```
//! use gdl_model::campaigns::{candidates, CampaignRequest, Measured};
//! use gdl_model::shopper::Offer;
//!
//! let request: CampaignRequest = serde_json::from_str(
//!     r#"{"model": "qwen2.5-7b", "budget_usd": 2}"#,
//! )?;
//! assert!(request.check().is_ok());
//! assert_eq!((request.parallel, request.workload.input_tokens), (3, 512));
//! let offers: Vec<Offer> = serde_json::from_str(r#"[
//!     {"id":"a","provider":"vastai","gpu_type":"RTX 4090","gpu_count":1,"vram_gb":24,"price_per_hour":0.40},
//!     {"id":"b","provider":"vastai","gpu_type":"RTX 4090","gpu_count":1,"vram_gb":24,"price_per_hour":0.35},
//!     {"id":"e","provider":"vastai","gpu_type":"RTX 4090","gpu_count":1,"vram_gb":24,"price_per_hour":0.60},
//!     {"id":"c","provider":"tensordock","gpu_type":"H100 SXM","gpu_count":1,"vram_gb":80,"price_per_hour":2.20},
//!     {"id":"d","provider":"tensordock","gpu_type":"Mystery 9000","gpu_count":1,"vram_gb":48,"price_per_hour":0.10}
//! ]"#)?;
//! let list = candidates(&request, 7.62, &offers, |_, _| true, &[] as &[Measured]);
//! // One candidate per GPU type and provider, at its cheapest offer, estimated ones first;
//! // its offers those its runs may rent (within 25 % of the cheapest: not the $0.60 one).
//! assert_eq!(list.len(), 3);
//! assert_eq!((list[0].offers, list[0].price_per_hour), (2, 0.35));
//! let unknown = list.last().unwrap();
//! assert!(unknown.estimate.is_none() && unknown.note.as_deref().unwrap().contains("catalogue"));
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod budget;
pub mod bundle;
pub mod estimate;
pub mod record;
pub mod verdict;
mod workload;

pub use workload::{slo_problems, WorkloadSpec};

use crate::benchmark::Slo;
use crate::engines::{Engine, EngineSettings};
use crate::ids::BenchmarkId;
use crate::registry::Quantization;
use crate::shopper::{Offer, Provider};
use estimate::{Estimate, Hardware, ModelSize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a person asks a campaign to find out (`POST /api/campaigns`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    /// A preset alias or Hugging Face id.
    pub model: String,
    /// The quantizations to try (`none`, `awq`, `gptq`, `fp8`); empty means `none`.
    #[serde(default)]
    pub quantizations: Vec<String>,
    /// The inference engine (`vllm` when absent).
    #[serde(default)]
    pub engine: Engine,
    /// The engine's release; absent means the catalogue's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    /// How the engine is started beyond the model.
    #[serde(default)]
    pub settings: EngineSettings,
    /// The requests measured with (512 tokens in, 128 out when absent).
    #[serde(default)]
    pub workload: WorkloadSpec,
    /// The latency targets a level must meet (p95 TTFT ≤ 1 s, p95 TPOT ≤ 100 ms when absent).
    #[serde(default)]
    pub slo: Slo,
    /// The most the whole campaign may spend, USD (0.01–10,000): a hard limit.
    pub budget_usd: f64,
    /// The longest it may take, minutes (5–1,440).
    #[serde(default = "default_minutes")]
    pub time_budget_minutes: u32,
    /// Rentals at once (1–8).
    #[serde(default = "default_parallel")]
    pub parallel: u32,
    /// Highest price accepted for one rental, USD per hour; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<f64>,
    /// Only these providers; empty means all.
    #[serde(default)]
    pub providers: Vec<Provider>,
    /// Only these GPU types (as the catalogue names them); empty means all.
    #[serde(default)]
    pub gpus: Vec<String>,
    /// A host decoding below this share of its estimate at the first probe is a lemon and
    /// is replaced (0.1–0.95).
    #[serde(default = "default_lemon")]
    pub lemon_ratio: f64,
    /// Candidates left out by the person before starting.
    #[serde(default)]
    pub exclude: Vec<CandidateKey>,
    /// Only these candidates (the ones ticked in a plan); empty means every candidate the
    /// filters allow. A candidate that appeared since the plan is not added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<CandidateKey>,
    /// Tune each candidate's engine after its capacity search, within this budget each
    /// (issue 31): its rental is planned longer by `seconds`, and the best settings found
    /// are kept beside the campaign's own figures.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::tuning::tune_unless_blank"
    )]
    pub tune: Option<crate::tuning::TuneRequest>,
}

fn default_minutes() -> u32 {
    60
}

fn default_parallel() -> u32 {
    3
}

fn default_lemon() -> f64 {
    0.6
}

impl CampaignRequest {
    /// Every problem with the request, one sentence each; empty when it can run.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut need = |ok: bool, problem: &str| {
            if !ok {
                problems.push(problem.to_owned());
            }
        };
        need(!self.model.trim().is_empty(), "name a model");
        need(
            self.budget_usd.is_finite() && (0.01..=10_000.0).contains(&self.budget_usd),
            "budget_usd must be between 0.01 and 10,000",
        );
        need(
            (5..=1440).contains(&self.time_budget_minutes),
            "time_budget_minutes must be between 5 and 1,440",
        );
        need(
            (1..=8).contains(&self.parallel),
            "parallel must be between 1 and 8",
        );
        need(
            (0.1..=0.95).contains(&self.lemon_ratio),
            "lemon_ratio must be between 0.1 and 0.95",
        );
        need(
            self.max_price.is_none_or(|p| p.is_finite() && p > 0.0),
            "max_price must be above 0",
        );
        for q in &self.quantizations {
            need(
                Quantization::parse(q).is_some(),
                &format!("unknown quantization {q:?}: use none, awq, gptq or fp8"),
            );
        }
        if let Some(tune) = self.tune {
            if let Some(problem) = tune.problem() {
                need(false, &problem);
            }
            need(
                tune.usd_budget <= self.budget_usd,
                "tune.usd_budget must not be more than budget_usd",
            );
            need(
                tune.seconds / 60 + 11 <= self.time_budget_minutes,
                "tune.seconds leaves no time within time_budget_minutes to rent, start and search (11 minutes)",
            );
        }
        problems.extend(self.workload.problems());
        problems.extend(slo_problems(&self.slo));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The quantizations to try, parsed (`none` when none is named).
    pub fn quantizations(&self) -> Vec<Quantization> {
        let parsed: Vec<Quantization> = self
            .quantizations
            .iter()
            .filter_map(|q| Quantization::parse(q))
            .collect();
        if parsed.is_empty() {
            vec![Quantization::None]
        } else {
            parsed
        }
    }
}

/// What tells candidates apart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CandidateKey {
    /// The GPU as the catalogue names it, or as the broker does when the catalogue does
    /// not know it.
    pub gpu_type: String,
    /// GPUs per instance.
    pub gpu_count: u32,
    /// The provider renting it.
    pub provider: Provider,
    /// `none`, `awq`, `gptq` or `fp8`.
    pub quantization: String,
}

impl std::fmt::Display for CandidateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ×{} on {}",
            self.gpu_type,
            self.gpu_count,
            self.provider.label()
        )?;
        if self.quantization != "none" {
            write!(f, " ({})", self.quantization)?;
        }
        Ok(())
    }
}

/// A measurement this installation already has of a candidate (same model, workload and
/// SLOs), used instead of the estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// What was measured.
    pub key: CandidateKey,
    /// The benchmark that measured it.
    pub benchmark: BenchmarkId,
    /// Its $ per 1M output tokens at the SLO capacity.
    pub usd_per_million: f64,
    /// Its per-user decode speed there, tokens per second.
    pub tokens_per_s_per_user: f64,
}

/// How much dearer than its cheapest offer a candidate's run may rent: prices drift
/// between the plan and the run, and another offer of the same kind in this band replaces
/// one that failed or was slow. Dearer ones would measure another price.
pub const PRICE_DRIFT: f64 = 1.25;

/// One candidate, before and while the campaign runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    /// Which GPU, how many, where, quantized how.
    pub key: CandidateKey,
    /// Offers of it that can run the model and that its runs may rent: within
    /// [`PRICE_DRIFT`] of its cheapest, or the request's max price when it sets one.
    pub offers: u32,
    /// Its cheapest such offer (the one rented first).
    pub offer: crate::ids::OfferId,
    /// The GPU as the broker names it in that offer.
    pub broker_gpu_type: String,
    /// VRAM per GPU of that offer, GB.
    pub vram_gb: u32,
    /// Its price, USD per hour.
    pub price_per_hour: f64,
    /// The estimate at the SLO, when the catalogue allows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// A benchmark of this installation that measured it before: its figures rank it
    /// instead of the estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_before: Option<BenchmarkId>,
    /// $ per 1M output tokens at the SLO used to rank it (measured before, else estimated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_usd_per_million: Option<f64>,
    /// Why it has no estimate, or what to know about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `POST /api/campaigns/plan`: the candidates a campaign would measure, ranked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignPlan {
    /// Every candidate, cheapest estimate first; those without an estimate last.
    pub candidates: Vec<Candidate>,
}

/// The candidates of `request` among `offers` for a model of `params_b` billion
/// parameters: one per GPU type × count × provider × quantization whose offers `fits`
/// (the same rule as Select offer: the engine, version, quantization, VRAM and disk),
/// within the request's filters, each at its cheapest offer; ranked by $ per 1M at the SLO
/// (a measurement of `before` where there is one, else the estimate), those without either
/// last. Candidates the request excludes, or does not name when it names some, are left out.
pub fn candidates(
    request: &CampaignRequest,
    params_b: f64,
    offers: &[Offer],
    fits: impl Fn(&Offer, Quantization) -> bool,
    before: &[Measured],
) -> Vec<Candidate> {
    let wanted_gpu = |name: &str| {
        request.gpus.is_empty() || request.gpus.iter().any(|g| g.eq_ignore_ascii_case(name))
    };
    let mut groups: BTreeMap<CandidateKey, Vec<&Offer>> = BTreeMap::new();
    for quantization in request.quantizations() {
        for offer in offers {
            let spec = crate::gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb);
            let name = spec.map_or(offer.gpu_type.as_str(), |s| s.name);
            let allowed = wanted_gpu(name)
                && (request.providers.is_empty() || request.providers.contains(&offer.provider))
                && request.max_price.is_none_or(|p| offer.price_per_hour <= p)
                && fits(offer, quantization);
            if !allowed {
                continue;
            }
            let key = CandidateKey {
                gpu_type: name.to_owned(),
                gpu_count: offer.gpu_count,
                provider: offer.provider.clone(),
                quantization: quantization.as_str().to_owned(),
            };
            groups.entry(key).or_default().push(offer);
        }
    }
    let mut list: Vec<Candidate> = groups
        .into_iter()
        .filter(|(key, _)| !request.exclude.contains(key))
        .filter(|(key, _)| request.only.is_empty() || request.only.contains(key))
        .filter_map(|(key, offers)| {
            let cheapest = *offers
                .iter()
                .min_by(|a, b| a.price_per_hour.total_cmp(&b.price_per_hour))?;
            // What its runs may rent: the same kind, up to the run's price cap.
            let cap = request
                .max_price
                .unwrap_or(cheapest.price_per_hour * PRICE_DRIFT);
            let count = offers.iter().filter(|o| o.price_per_hour <= cap).count() as u32;
            let quantization = Quantization::parse(&key.quantization).unwrap_or(Quantization::None);
            let model = ModelSize {
                params_b,
                bytes_per_param: quantization.bytes_per_param(),
            };
            let spec = crate::gpus::lookup_with_vram(&cheapest.gpu_type, cheapest.vram_gb);
            let estimated = spec.map(|gpu| {
                let hardware = Hardware {
                    gpu,
                    gpu_count: cheapest.gpu_count,
                    vram_gb: cheapest.vram_gb,
                    price_per_hour: cheapest.price_per_hour,
                };
                let (input, output) = request.workload.mean_lengths();
                estimate::estimate(&model, &hardware, input, output, &request.slo)
            });
            let (estimate, note) = match estimated {
                Some(Ok(e)) if e.concurrency == 0 => (
                    Some(e),
                    Some("estimated not to meet the SLOs even alone".to_owned()),
                ),
                Some(Ok(e)) => (
                    Some(e),
                    e.rough.then(|| {
                        "a rough estimate: the catalogue has no BF16 throughput for this card"
                            .to_owned()
                    }),
                ),
                Some(Err(why)) => (None, Some(why.to_string())),
                None => (
                    None,
                    Some("no estimate: the GPU catalogue does not know this card".to_owned()),
                ),
            };
            let measured = before.iter().find(|m| m.key == key);
            Some(Candidate {
                rank_usd_per_million: measured
                    .map(|m| m.usd_per_million)
                    .or(estimate.and_then(|e| e.usd_per_million)),
                measured_before: measured.map(|m| m.benchmark.clone()),
                key,
                offers: count,
                offer: cheapest.id.clone(),
                broker_gpu_type: cheapest.gpu_type.clone(),
                vram_gb: cheapest.vram_gb,
                price_per_hour: cheapest.price_per_hour,
                estimate,
                note,
            })
        })
        .collect();
    list.sort_by(
        |a, b| match (a.rank_usd_per_million, b.rank_usd_per_million) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.key.cmp(&b.key)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a
                .price_per_hour
                .total_cmp(&b.price_per_hour)
                .then(a.key.cmp(&b.key)),
        },
    );
    list
}

#[cfg(test)]
mod record_tests;
#[cfg(test)]
mod tests;
