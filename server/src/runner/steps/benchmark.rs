//! Step 10, Benchmark: the quality prompts (expected answers), then the load phases at each
//! concurrency, streamed through the tunnel and timed per chunk; the record and its raw
//! samples are stored and published. Requests that fail make it look at vLLM: a process that
//! died fails the step with its log, and a stage where every request failed fails it too
//! (a benchmark of errors measures nothing).

use super::{Connected, Deps, ResolvedModel, Served, Target};
use crate::bench::{Engine, Workload};
use crate::runner::error::StepError;
use crate::runner::loadgen;
use crate::runner::vllm::Liveness;
use chrono::Utc;
use gdl_model::benchmark::Sample;
use std::time::Duration;

/// Warm-up requests before the load phases.
const WARM_UP: u32 = 2;

/// Prompt length of the load phases when the run names no workload, tokens.
const LOAD_INPUT_TOKENS: u32 = 64;

/// How far the dashboard's capacity search may go (a run may shorten its time).
pub const SEARCH: crate::bench::search::Limits = crate::bench::search::Limits {
    max_concurrency: 64,
    time_budget: std::time::Duration::from_secs(300),
    usd_budget: None,
    requests_per_slot: 2,
};
use gdl_model::code::ErrorCode;
use gdl_model::live::LiveEvent;
use gdl_model::runs::{BenchmarkRecord, LogLevel, StepName};

/// The load generator for the run's engine through `target` (the same engine as
/// `gpu-deploy-llm bench`), its prompts calibrated to the server's tokens and warmed up,
/// both logged, with its workload's label: the Benchmark step's, and a serving
/// deployment's tuning's.
pub async fn engine_for(
    d: &Deps<'_>,
    http: reqwest::Client,
    target: &Target,
    price_per_hour: f64,
) -> (Engine, String) {
    let test = d.ctx.config();
    let (workload, label) = workload_of(test.workload.as_ref(), d.config.load_max_tokens);
    let mut engine = Engine {
        http,
        target: target.clone(),
        workload,
        slo: test.slo.unwrap_or_default(),
        price_per_hour: Some(price_per_hour),
        sent: Default::default(),
    };
    let fit = engine.calibrate().await;
    d.ctx.info(&crate::bench::calibrate::described(
        fit,
        engine.workload.asked_input(),
    ));
    let warm_failed = engine.warm_up(WARM_UP).await;
    d.ctx.info(&format!(
        "Warm-up: {WARM_UP} requests, left out of the metrics ({warm_failed} failed)"
    ));
    (engine, label)
}

/// How far the run's capacity search may go: the dashboard's limits, its own time and
/// money when it names them.
pub fn search_limits(test: &gdl_model::runs::TestConfig) -> crate::bench::search::Limits {
    crate::bench::search::Limits {
        usd_budget: test.search_budget_usd,
        time_budget: test
            .search_seconds
            .map_or(SEARCH.time_budget, |s| Duration::from_secs(s.into())),
        ..SEARCH
    }
}

pub async fn run(
    d: &Deps<'_>,
    connected: &Connected,
    served: &Served,
    target: &Target,
    model: &ResolvedModel,
    serving: bool,
) -> Result<BenchmarkRecord, StepError> {
    let offer = &connected.offer;
    let http = loadgen::host_client(None);
    let (matching, with_expected, quality) = loadgen::quality(&http, target).await;
    let answers: Vec<Sample> = quality.iter().map(|(_, _, s)| s.clone()).collect();
    still_serving(connected, served, "the quality prompts", &answers).await?;
    for (id, ok, s) in &quality {
        d.ctx.log(
            if *ok { LogLevel::Info } else { LogLevel::Warn },
            &format!(
                "Quality {id}: {} · TTFT {:.0} ms · {} tokens",
                if *ok {
                    "as expected"
                } else {
                    "unexpected answer"
                },
                s.ttft_ms.unwrap_or(0.0),
                s.output_tokens
            ),
        );
    }
    let mut phases = Vec::new();
    let mut samples = vec![("quality".to_owned(), answers)];
    let load = d.config;
    let test = d.ctx.config();
    let (engine, label) = engine_for(d, http, target, offer.price_per_hour).await;
    if let Some(probe) = test.probe {
        probe_host(d, &engine, probe).await?;
    }
    let mut capacity = None;
    let mut searched = None;
    if test.capacity_search {
        let limits = search_limits(&test);
        d.ctx.info(&format!(
            "Capacity search: the highest concurrency within the SLOs (p95 TTFT ≤ {:.0} ms, p95 TPOT ≤ {:.0} ms), at most {} and {} s{}",
            engine.slo.ttft_p95_ms,
            engine.slo.tpot_p95_ms,
            limits.max_concurrency,
            limits.time_budget.as_secs(),
            limits
                .usd_budget
                .map(|b| format!(" and ${b:.2}"))
                .unwrap_or_default()
        ));
        let found = crate::bench::search::search(&engine, &limits).await;
        capacity = found.concurrency;
        searched = Some((found.clone(), limits));
        d.ctx.info(&format!(
            "Capacity search ended ({:?}) after {:.0} s: {}",
            found.stop,
            found.elapsed.as_secs_f64(),
            capacity
                .map(|c| format!("concurrency {c} meets the SLOs"))
                .unwrap_or_else(|| "no level met the SLOs".into())
        ));
        for (metrics, raw) in found.points {
            still_serving(
                connected,
                served,
                &format!("concurrency {}", metrics.concurrency),
                &raw,
            )
            .await?;
            samples.push((format!("c{}", metrics.concurrency), raw));
            phases.push(metrics);
        }
    }
    let levels: &[u32] = if test.capacity_search {
        &[]
    } else {
        &load.load_levels
    };
    for &level in levels {
        d.ctx.info(&format!(
            "Load phase: {} requests at concurrency {level}, {label}",
            load.load_requests
        ));
        let (metrics, raw) = engine.level(level, load.load_requests).await;
        d.ctx.info(&format!(
            "c={level}: TTFT p50 {:.0} ms · TPOT p50 {:.1} ms · {:.0} tok/s · {} failed{}",
            metrics.ttft_ms.p50,
            metrics.tpot_ms.p50,
            metrics.output_tokens_per_s,
            metrics.failed,
            metrics
                .usd_per_million_output_tokens
                .map(|c| format!(" · ${c:.2}/1M tokens"))
                .unwrap_or_default()
        ));
        still_serving(connected, served, &format!("concurrency {level}"), &raw).await?;
        samples.push((format!("c{level}"), raw));
        phases.push(metrics);
    }
    let tuning = match (test.tune, searched) {
        (Some(request), Some(searched)) => {
            let gpu = gdl_model::runs::OfferChoice::of(offer);
            let on = super::tune::On {
                host: connected.host.as_ref(),
                gpu: &gpu,
                served,
                model,
                engine: &engine,
            };
            let (measured, limits) = searched;
            Some(super::tune::run(d, on, (Some(measured), limits), request, serving).await)
        }
        _ => None,
    };
    let input = engine.input_lengths(&phases);
    d.ctx.info(&format!("Prompt lengths: {}", input.describe()));
    let record = BenchmarkRecord {
        tuning,
        id: format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]).into(),
        run_id: d.ctx.id(),
        created_at: Utc::now(),
        model: model.model.clone(),
        served_repo: model.served_repo.clone(),
        quantization: model.quantization.as_str().into(),
        provider: offer.provider.clone(),
        gpu_type: offer.gpu_type.clone(),
        gpu_count: offer.gpu_count,
        price_per_hour: offer.price_per_hour,
        prompts_matching: matching,
        prompts_with_expected: with_expected,
        slo: Some(engine.slo),
        workload: Some(label),
        phases,
        test_cost_usd: Some(d.ctx.read(|run| run.cost_usd(Utc::now()))),
        external: false,
        capacity,
        engine: Some(test.engine),
        engine_version: Some(
            test.engine_version
                .clone()
                .unwrap_or_else(|| gdl_model::runs::BROKER_IMAGE.to_owned()),
        ),
        engine_settings: test.settings.clone(),
        input: Some(input),
    };
    d.ctx.store().save_benchmark(&record, samples).await?;
    d.ctx
        .detail(StepName::Benchmark, format!("benchmark {}", record.id))
        .await;
    d.ctx
        .update(|run| run.benchmark_id = Some(record.id.clone()))
        .await;
    d.ctx.hub().publish([LiveEvent::BenchmarkUpsert {
        benchmark: record.clone(),
    }]);
    Ok(record)
}

/// The load requests a run asks for, and their label as benchmarks record it: its workload
/// (seeded synthetic lengths or a shipped trace), else the dashboard's (64 tokens in,
/// `max_tokens` out).
fn workload_of(
    spec: Option<&gdl_model::campaigns::WorkloadSpec>,
    max_tokens: u32,
) -> (Workload, String) {
    let Some(w) = spec else {
        return (
            Workload::synthetic(LOAD_INPUT_TOKENS, max_tokens),
            format!("synthetic {LOAD_INPUT_TOKENS} in / {max_tokens} out"),
        );
    };
    let trace = w
        .trace
        .as_deref()
        .and_then(|name| Workload::shipped_trace(name, w.seed));
    let workload = trace
        .unwrap_or_else(|| Workload::synthetic(w.input_tokens, w.output_tokens).seeded(w.seed));
    (workload, w.label())
}

/// After a stage (`what`) with failed requests: fails the step if vLLM is gone (with its
/// last log lines) or if no request of the stage succeeded.
async fn still_serving(
    connected: &Connected,
    served: &Served,
    what: &str,
    samples: &[Sample],
) -> Result<(), StepError> {
    let errors: Vec<&str> = samples.iter().filter_map(|s| s.error.as_deref()).collect();
    let Some(first) = errors.first() else {
        return Ok(());
    };
    let failed = format!(
        "{} of {} requests of {what} failed, the first with: {first}",
        errors.len(),
        samples.len()
    );
    let host = connected.host.as_ref();
    if served.launch.alive(host).await? == Liveness::Stopped {
        let what = format!(
            "{} exited during the benchmark ({failed})",
            served.launch.engine()
        );
        return Err(served
            .launch
            .failure(host, ErrorCode::VllmExited, &what, &served.api_key)
            .await);
    }
    if errors.len() == samples.len() {
        return Err(StepError::new(ErrorCode::BenchmarkFailed, failed).hint(
            "vLLM runs but answered none of these requests: keep the instance on failure and read its log.",
        ));
    }
    Ok(())
}

/// Requests sent alone to the engine by a campaign's quick probe.
const PROBE_REQUESTS: u32 = 3;

/// A campaign's quick probe: a few requests alone on the engine; a host decoding under the
/// expected speed's share fails the run `slow_host` before the capacity search spends
/// money on it (the campaign then rents another offer of the same GPU type).
async fn probe_host(
    d: &Deps<'_>,
    engine: &Engine,
    probe: gdl_model::runs::DecodeProbe,
) -> Result<(), StepError> {
    let (metrics, _) = engine.level(1, PROBE_REQUESTS).await;
    let tpot = metrics.tpot_ms.p50;
    if !(tpot.is_finite() && tpot > 0.0) {
        d.ctx.warn(&format!(
            "Probe: {PROBE_REQUESTS} requests alone measured no decode speed ({} failed); going on",
            metrics.failed
        ));
        return Ok(());
    }
    let speed = 1000.0 / tpot;
    let floor = probe.expected_tokens_per_s * probe.ratio;
    d.ctx.info(&format!(
        "Probe: {speed:.1} tok/s alone over {PROBE_REQUESTS} requests; {:.1} expected of this GPU, {floor:.1} at least",
        probe.expected_tokens_per_s
    ));
    if probe.too_slow(speed) {
        return Err(StepError::new(
            ErrorCode::SlowHost,
            format!(
                "this host decodes at {speed:.1} tok/s alone, under {:.0} % of the {:.1} expected of its GPU: a slow host",
                probe.ratio * 100.0,
                probe.expected_tokens_per_s
            ),
        )
        .hint("A campaign rents another offer of the same GPU type; lower lemon_ratio to keep slower hosts."));
    }
    Ok(())
}
