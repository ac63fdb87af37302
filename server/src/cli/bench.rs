//! `gpu-deploy-llm bench`: the benchmark engine against any OpenAI-compatible streaming
//! server, stored like a test's benchmark (marked external), with a summary table.

use super::output::{bad_input, print, table};
use crate::bench::search::{search, Limits};
use crate::bench::{Arrivals, Engine, Workload};
use crate::config::BenchArgs;
use crate::runner::loadgen::{quality, Target};
use gdl_model::benchmark::{PhaseMetrics, Sample, Slo};
use gdl_model::code::ErrorCode;
use gdl_model::runs::BenchmarkRecord;
use gdl_model::shopper::Provider;
use std::time::Duration;

/// How long the server may take to list its models before the benchmark gives up.
const READY_PATIENCE: Duration = Duration::from_secs(60);

/// Runs it; the exit code (0 measured, 1 the server failed, 2 bad input).
pub async fn bench(a: BenchArgs) -> anyhow::Result<i32> {
    let base_url = a.base_url.trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Ok(bad_input(
            &format!("--base-url must be an http(s) URL, got {base_url:?}"),
            "For example http://127.0.0.1:8000 (without /v1).",
        ));
    }
    let api_key = match &a.api_key_env {
        None => String::new(),
        Some(var) => match std::env::var(var) {
            Ok(key) => key,
            Err(_) => {
                return Ok(bad_input(
                    &format!("the environment variable {var} is not set"),
                    "Export the server's API key in it, or leave --api-key-env out for a server without one.",
                ))
            }
        },
    };
    let (gpu_type, gpu_count) = parse_gpu(&a.gpu);
    let slo = Slo {
        ttft_p95_ms: a.slo_ttft_p95_ms,
        tpot_p95_ms: a.slo_tpot_p95_ms,
        min_success: a.slo_success.clamp(0.0, 1.0),
    };
    let (workload, described) = match &a.prompt_file {
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    return Ok(bad_input(
                        &format!("cannot read {}: {e}", path.display()),
                        "Give a JSON lines file of {\"prompt\": ..., \"max_tokens\": N}.",
                    ))
                }
            };
            match Workload::from_jsonl(&text, a.output_tokens) {
                Ok(w) => (w, format!("prompt file {}", path.display())),
                Err(e) => {
                    return Ok(bad_input(
                        &format!("{}: {e}", path.display()),
                        "Each line is {\"prompt\": \"...\"} or {\"messages\": [...]}, with an optional max_tokens.",
                    ))
                }
            }
        }
        None => match a.trace.as_deref().map(|t| read_trace(t, a.seed)) {
            Some(Err(code)) => return Ok(code),
            Some(Ok(w)) => w,
            None => (
                Workload::Synthetic {
                    input_tokens: a.input_tokens.max(1),
                    output_tokens: a.output_tokens.max(1),
                    exact_output: !a.no_exact_output,
                    seed: a.seed,
                    fit: None,
                },
                format!(
                    "synthetic {} in / {} out",
                    a.input_tokens.max(1),
                    a.output_tokens.max(1)
                ),
            ),
        },
    };
    let workload = workload.exact_output(!a.no_exact_output);
    if !(a.replay_speed.is_finite() && a.replay_speed > 0.0) {
        return Ok(bad_input(
            &format!("--replay-speed must be above 0, got {}", a.replay_speed),
            "1 replays at the trace's own times, 10 ten times faster.",
        ));
    }
    let mut engine = Engine {
        http: crate::runner::loadgen::host_client(None),
        target: Target {
            base_url,
            api_key: zeroize::Zeroizing::new(api_key),
            model: a.model.clone(),
        },
        workload,
        slo,
        price_per_hour: a.price_per_hour.filter(|p| *p > 0.0),
        sent: Default::default(),
    };
    eprintln!("waiting for {} to list its models", engine.target.base_url);
    if let Err(why) = engine.wait_ready(READY_PATIENCE).await {
        eprintln!(
            "error [{}]: the server is not ready: {why}",
            ErrorCode::BenchmarkUnreachable.as_str()
        );
        eprintln!(
            "hint: Check --base-url and --api-key-env, and that the server has loaded the model."
        );
        return Ok(1);
    }
    let fit = engine.calibrate().await;
    eprintln!(
        "{}",
        crate::bench::calibrate::described(fit, engine.workload.asked_input())
    );
    let warm_failures = engine.warm_up(a.warmup).await;
    if warm_failures > 0 {
        eprintln!(
            "warning: {warm_failures} of {} warm-up requests failed",
            a.warmup
        );
    }
    let (matching, with_expected, _) = quality(&engine.http, &engine.target).await;
    let mut samples: Vec<(String, Vec<Sample>)> = Vec::new();
    let mut phases: Vec<PhaseMetrics> = Vec::new();
    let mut capacity = None;
    if a.replay {
        let n = engine.workload.trace().map_or(0, <[_]>::len);
        eprintln!(
            "replaying {n} requests at {}× the trace's times",
            a.replay_speed
        );
        let (m, s) = engine.replay(a.replay_speed, a.max_in_flight).await;
        samples.push(("replay".to_owned(), s));
        phases.push(m);
    } else if a.search {
        let found = search(
            &engine,
            &Limits {
                max_concurrency: a.max_concurrency,
                time_budget: Duration::from_secs(a.time_budget_secs),
                usd_budget: a.usd_budget,
                requests_per_slot: 2,
            },
        )
        .await;
        eprintln!(
            "capacity search: {:?} after {:.0} s",
            found.stop,
            found.elapsed.as_secs_f64()
        );
        capacity = found.concurrency;
        for (m, s) in found.points {
            samples.push((format!("c{}", m.concurrency), s));
            phases.push(m);
        }
    } else if !a.rate.is_empty() {
        let arrivals = match a.arrivals.as_str() {
            "poisson" => Arrivals::Poisson { seed: 1 },
            "constant" => Arrivals::Constant,
            other => {
                return Ok(bad_input(
                    &format!("--arrivals must be poisson or constant, got {other:?}"),
                    "poisson for independent users, constant for evenly spaced requests.",
                ))
            }
        };
        for &rate in &a.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Ok(bad_input(
                    &format!("--rate must be positive, got {rate}"),
                    "Requests per second, e.g. --rate 1,2,4.",
                ));
            }
            eprintln!(
                "{rate} requests/s ({}): {} requests",
                a.arrivals, a.requests
            );
            let (m, s) = engine
                .rate_level(rate, a.requests.max(1), arrivals, a.max_in_flight)
                .await;
            samples.push((format!("r{rate}"), s));
            phases.push(m);
        }
    } else {
        for &c in &a.concurrency {
            eprintln!("concurrency {c}: {} requests", a.requests);
            let (m, s) = engine.level(c.max(1), a.requests.max(1)).await;
            samples.push((format!("c{c}"), s));
            phases.push(m);
        }
    }
    if phases.iter().all(|p| p.completed == 0) {
        eprintln!(
            "error [{}]: no request succeeded",
            ErrorCode::BenchmarkFailed.as_str()
        );
        eprintln!("hint: Try one request with curl against {}/v1/chat/completions; with a server that refuses unknown fields, add --no-exact-output.", engine.target.base_url);
        return Ok(1);
    }
    let input = engine.input_lengths(&phases);
    let record = BenchmarkRecord {
        tuning: None,
        id: format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]).into(),
        run_id: Default::default(),
        created_at: chrono::Utc::now(),
        model: a.model.clone(),
        served_repo: a.model.clone(),
        quantization: "unknown".into(),
        provider: Provider::from_wire("external"),
        gpu_type,
        gpu_count,
        price_per_hour: a.price_per_hour.unwrap_or(0.0),
        prompts_matching: matching,
        prompts_with_expected: with_expected,
        phases,
        test_cost_usd: None,
        external: true,
        slo: Some(slo),
        capacity,
        workload: Some(described),
        engine: None,
        engine_version: None,
        engine_settings: Default::default(),
        input: Some(input),
    };
    let dir = crate::settings::data_dir_or_default(a.data_dir.as_ref());
    std::fs::create_dir_all(&dir)?;
    let store = crate::store::Store::open(&dir)?;
    store.save_benchmark(&record, samples).await?;
    print(a.json, &record, || summary(&record));
    Ok(0)
}

/// A trace by shipped name or file, with its label; the exit code of bad input otherwise.
fn read_trace(name: &str, seed: u64) -> Result<(Workload, String), i32> {
    if let Some(w) = Workload::shipped_trace(name, seed) {
        return Ok((w, format!("trace {name}")));
    }
    let hint = "Name a shipped trace (chat, rag) or a Mooncake JSON lines file: {\"timestamp\": ms, \"input_length\": N, \"output_length\": N, \"hash_ids\": [...]} a line.";
    let text = std::fs::read_to_string(name)
        .map_err(|e| bad_input(&format!("cannot read the trace {name}: {e}"), hint))?;
    let requests = gdl_model::benchmark::trace::read_jsonl(&text)
        .map_err(|e| bad_input(&format!("{name}: {e}"), hint))?;
    let label = format!("trace {name}");
    Ok((
        Workload::Trace {
            name: name.to_owned(),
            requests: std::sync::Arc::new(requests),
            exact_output: true,
            seed,
            fit: None,
        },
        label,
    ))
}

/// "RTX 4090 x2" → ("RTX 4090", 2); no count means one.
fn parse_gpu(text: &str) -> (String, u32) {
    let text = text.trim();
    match text.rsplit_once(|c: char| c.is_whitespace()) {
        Some((name, count)) if count.starts_with(['x', '×']) => {
            let n = count.trim_start_matches(['x', '×']).parse().unwrap_or(1);
            (name.trim().to_owned(), n)
        }
        _ => (text.to_owned(), 1),
    }
}

/// The table people read.
pub(super) fn summary(r: &BenchmarkRecord) -> String {
    let rows = r
        .phases
        .iter()
        .map(|p| {
            vec![
                p.request_rate
                    .map(|r| format!("{r}/s ≤{}", p.concurrency))
                    .unwrap_or_else(|| p.concurrency.to_string()),
                format!("{}/{}", p.completed, p.completed + p.failed),
                format!("{:.0} ms", p.ttft_ms.p50),
                format!("{:.0} ms", p.ttft_ms.p95),
                format!("{:.1} ms", p.tpot_ms.p50),
                format!("{:.1} ms", p.itl_ms.p99),
                format!("{:.0} tok/s", p.output_tokens_per_s),
                p.goodput_rps
                    .map(|g| format!("{g:.2} req/s"))
                    .unwrap_or_default(),
                p.usd_per_million_output_tokens
                    .map(|c| format!("${c:.3}"))
                    .unwrap_or_else(|| "-".into()),
                match p.meets_slo {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let mut out = format!(
        "benchmark {} of {}{} ({}), stored\n",
        r.id,
        r.model,
        r.engine_label()
            .map(|e| format!(" on {e}"))
            .unwrap_or_default(),
        r.workload.clone().unwrap_or_default()
    );
    out += &table(
        &[
            "LOAD",
            "OK",
            "TTFT P50",
            "TTFT P95",
            "TPOT P50",
            "ITL P99",
            "OUTPUT",
            "GOODPUT",
            "$/1M TOKENS",
            "SLO",
        ],
        rows,
    );
    if let Some(c) = r.capacity {
        let at = r.phases.iter().find(|p| p.concurrency == c);
        out += &format!(
            "capacity at SLO: concurrency {c}{}\n",
            at.and_then(|p| p.usd_per_million_output_tokens)
                .map(|usd| format!(", ${usd:.3} per 1M output tokens"))
                .unwrap_or_default()
        );
    }
    let missing: usize = r.phases.iter().map(|p| p.usage_missing).sum();
    if missing > 0 {
        out += &format!("the server sent no usage for {missing} requests: output tokens are content chunks counted\n");
    }
    if r.phases.iter().any(|p| p.tokens_per_chunk > 1.05) {
        out += "chunks carry several tokens: ITL is per chunk, not per token\n";
    }
    if let Some(input) = &r.input {
        out += &format!("prompt lengths: {}\n", input.describe());
    }
    out += &format!(
        "quality {}/{} prompts answered as expected · vLLM conventions (TPOT decode-only per request, ITL per chunk gap)\n",
        r.prompts_matching, r.prompts_with_expected
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn gpu_text_reads_type_and_count() {
        assert_eq!(super::parse_gpu("RTX 4090 x2"), ("RTX 4090".into(), 2));
        assert_eq!(super::parse_gpu("H100 ×8"), ("H100".into(), 8));
        assert_eq!(super::parse_gpu("L4"), ("L4".into(), 1));
    }
}
