//! What a campaign's candidate runs: its run's configuration (pinned to the candidate's
//! offer, the search's $ limit, the quick probe against the estimate, the slow hosts
//! avoided), and the measurements this installation already has.

use crate::runner::Runner;
use gdl_model::campaigns::record::CandidateState;
use gdl_model::campaigns::{CampaignRequest, CandidateKey, Measured, PRICE_DRIFT};
use gdl_model::registry::Quantization;
use gdl_model::runs::{DecodeProbe, PinnedGpu, TestConfig};

/// Slow hosts replaced per candidate: past this many, its GPU type (not the host) is what
/// decodes slower than estimated, and it is measured without the probe.
pub const SLOW_HOSTS_REPLACED: usize = 2;

/// A run's configuration for a campaign's candidates at quantization `q`.
pub fn base_config(request: &CampaignRequest, q: Quantization) -> TestConfig {
    TestConfig {
        tune: request.tune,
        model: request.model.clone(),
        max_price: request.max_price.unwrap_or(100.0),
        provider: None,
        quantization: (q != Quantization::None).then(|| q.as_str().to_owned()),
        reservation_hours: 1,
        gpu_count: 1,
        keep_on_failure: false,
        deploy_mode: Default::default(),
        pin_offer: None,
        pin_gpu: None,
        engine: request.engine,
        engine_version: request.engine_version.clone(),
        settings: request.settings.clone(),
        capacity_search: true,
        workload: Some(request.workload.clone()),
        slo: Some(request.slo),
        search_budget_usd: None,
        search_seconds: None,
        probe: None,
        avoid_offers: Vec::new(),
    }
}

/// The run of one candidate: pinned to its cheapest offer, on its provider, its capacity
/// search limited to `search` (the time the campaign's time budget leaves it) and to what
/// that time costs at the offer's price.
pub fn candidate_config(
    request: &CampaignRequest,
    c: &CandidateState,
    search: chrono::Duration,
) -> TestConfig {
    let key = &c.candidate.key;
    let q = Quantization::parse(&key.quantization).unwrap_or(Quantization::None);
    let price = c.candidate.price_per_hour;
    TestConfig {
        // Prices drift: the same GPU a little dearer by the time the run looks is still it.
        max_price: request
            .max_price
            .unwrap_or(price * PRICE_DRIFT)
            .max(price)
            .min(100.0),
        provider: Some(key.provider.clone()),
        gpu_count: key.gpu_count,
        pin_offer: Some(c.candidate.offer.to_string()),
        pin_gpu: Some(PinnedGpu {
            gpu_type: c.candidate.broker_gpu_type.clone(),
            gpu_count: key.gpu_count,
            price_per_hour: price,
        }),
        search_budget_usd: Some((price * search.num_seconds() as f64 / 3600.0).max(0.001)),
        search_seconds: Some(search.num_seconds().clamp(30, 3600) as u32),
        // A quick probe against the estimate, until hosts enough were found slow that the
        // estimate (not the host) must be off.
        probe: c
            .candidate
            .estimate
            .filter(|e| e.single_stream_tokens_per_s > 0.0)
            .filter(|_| c.slow_hosts.len() < SLOW_HOSTS_REPLACED)
            .map(|e| DecodeProbe {
                expected_tokens_per_s: e.single_stream_tokens_per_s,
                ratio: request.lemon_ratio,
            }),
        avoid_offers: c
            .slow_hosts
            .iter()
            .map(|h| h.offer.clone())
            .chain(c.ruled_out.iter().cloned())
            .collect(),
        // Measured again only to settle a close call: its settings' figures, not tuned.
        tune: request.tune.filter(|_| !c.again()),
        ..base_config(request, q)
    }
}

/// Benchmarks this installation has of `request`'s model with the same workload, SLOs and
/// engine, as measurements of their candidates.
pub async fn measured_before(runner: &Runner, request: &CampaignRequest) -> Vec<Measured> {
    let Ok(records) = runner.store().benchmarks(500).await else {
        return Vec::new();
    };
    let workload = request.workload.label();
    records
        .iter()
        .filter(|r| {
            !r.external
                && r.workload.as_deref() == Some(workload.as_str())
                && r.slo == Some(request.slo)
                && r.engine == Some(request.engine)
        })
        .filter_map(|r| {
            let spec = gdl_model::gpus::lookup(&r.gpu_type);
            let at = r.at_slo()?;
            let usd = at.usd_per_million_output_tokens?;
            (at.tpot_ms.p50 > 0.0).then(|| Measured {
                key: CandidateKey {
                    gpu_type: spec.map_or(r.gpu_type.clone(), |s| s.name.to_owned()),
                    gpu_count: r.gpu_count,
                    provider: r.provider.clone(),
                    quantization: r.quantization.clone(),
                },
                benchmark: r.id.clone(),
                usd_per_million: usd,
                tokens_per_s_per_user: 1000.0 / at.tpot_ms.p50,
            })
        })
        .collect()
}
