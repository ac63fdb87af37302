//! The eleven steps. Each runs under the run's cancel token; whatever happens, cleanup
//! runs last and says whether the broker confirmed the instance destroyed.

use super::context::RunContext;
use super::host::{RemoteHost, SimHost};
use super::loadgen::{self, Target};
use super::ssh::SshHost;
use super::{Plan, RunnerConfig};
use crate::shopper::{ShopperClient, ShopperError};
use chrono::Utc;
use gdl_model::live::LiveEvent;
use gdl_model::registry::Quantization;
use gdl_model::runs::{
    BenchmarkRecord, CleanupOutcome, DeployMode, OfferChoice, RunStatus, StepName, StepStatus,
};
use gdl_model::secret::SshPrivateKey;
use gdl_model::shopper::{CreateSessionRequest, InventoryQuery, Offer, SessionStatus};
use std::future::Future;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The vLLM image (docker mode) and package (pip mode).
const VLLM_IMAGE: &str = "vllm/vllm-openai:v0.6.4";
const VLLM_PIP: &str = "vllm==0.6.4";
/// How long the model may take to download and load.
const MODEL_LOAD_LIMIT: Duration = Duration::from_secs(20 * 60);
/// How long a session may take to reach running (the broker gives up at about 11 min).
const RUNNING_LIMIT: Duration = Duration::from_secs(12 * 60);
/// Offers tried when the first is gone at the provider.
const CREATE_ATTEMPTS: usize = 3;

/// Why the steps stopped early.
enum Stop {
    Failed,
    Cancelled,
}

/// What the steps hand each other.
#[derive(Default)]
struct Work {
    offers: Vec<Offer>,
    offer: Option<Offer>,
    session_id: Option<String>,
    /// The broker's one-time key: only here, wiped when the run ends.
    key: Option<SshPrivateKey>,
    host: Option<Box<dyn RemoteHost>>,
    api_key: Option<Zeroizing<String>>,
    target: Option<Target>,
}

/// Runs the steps, then cleanup, then records the outcome.
pub(super) async fn run(
    client: &ShopperClient,
    config: &RunnerConfig,
    ctx: RunContext,
    plan: Plan,
    failure: Option<StepName>,
) {
    let mut work = Work::default();
    let outcome = steps(client, config, &ctx, &plan, failure, &mut work).await;
    let failed = matches!(outcome, Err(Stop::Failed));
    let cancelled = matches!(outcome, Err(Stop::Cancelled));
    // Mark whatever was left pending as skipped.
    ctx.update(|run| {
        for step in run.steps.iter_mut().filter(|s| s.name != StepName::Cleanup) {
            if step.status == StepStatus::Pending {
                step.status = StepStatus::Skipped;
                step.reason = Some(if cancelled {
                    "cancelled".into()
                } else {
                    "an earlier step failed".into()
                });
            }
        }
    })
    .await;
    work.host = None;
    work.key = None;
    work.api_key = None;
    cleanup(client, &ctx, &work, failed && ctx.config().keep_on_failure).await;
    let error = ctx
        .snapshot()
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed && s.name != StepName::Cleanup)
        .map(|s| {
            format!(
                "{}: {}",
                s.name.label(),
                s.reason.clone().unwrap_or_default()
            )
        });
    ctx.update(|run| {
        run.status = match outcome {
            Ok(()) => RunStatus::Passed,
            Err(Stop::Failed) => RunStatus::Failed,
            Err(Stop::Cancelled) => RunStatus::Cancelled,
        };
        run.error = error.or_else(|| cancelled.then(|| "cancelled".to_owned()));
        run.ended_at = Some(Utc::now());
    })
    .await;
    let run = ctx.snapshot();
    let level = if run.status == RunStatus::Passed {
        "info"
    } else {
        "warn"
    };
    ctx.log(
        level,
        &format!(
            "Run {:?}{}",
            run.status,
            run.error.map(|e| format!(": {e}")).unwrap_or_default()
        ),
    );
}

/// Runs one step: running → complete, or failed with the reason; stops on cancel.
async fn step<T>(
    ctx: &RunContext,
    name: StepName,
    failure: Option<StepName>,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, Stop> {
    if ctx.cancel_token().is_cancelled() {
        return Err(Stop::Cancelled);
    }
    ctx.step_started(name).await;
    let result = if failure == Some(name) {
        Err(format!("injected failure at {} (test hook)", name.as_str()))
    } else {
        tokio::select! {
            result = work => result,
            _ = ctx.cancel_token().cancelled() => {
                ctx.log("warn", &format!("Cancelled during {}", name.label()));
                ctx.step_ended(name, StepStatus::Failed, Some("cancelled".into())).await;
                return Err(Stop::Cancelled);
            }
        }
    };
    match result {
        Ok(value) => {
            ctx.step_ended(name, StepStatus::Complete, None).await;
            Ok(value)
        }
        Err(reason) => {
            ctx.log("error", &format!("{} failed: {reason}", name.label()));
            ctx.step_ended(name, StepStatus::Failed, Some(reason)).await;
            Err(Stop::Failed)
        }
    }
}

fn shopper(e: ShopperError) -> String {
    format!("{e} ({})", e.hint())
}

async fn steps(
    client: &ShopperClient,
    config: &RunnerConfig,
    ctx: &RunContext,
    plan: &Plan,
    failure: Option<StepName>,
    work: &mut Work,
) -> Result<(), Stop> {
    let test = ctx.config();
    let model = &plan.model;

    step(ctx, StepName::CalculateRequirements, failure, async {
        ctx.detail(
            StepName::CalculateRequirements,
            format!(
                "{} ({}): {} GB VRAM = {} GB weights + {} GB KV cache and runtime",
                model.name,
                model.quantization.label(),
                model.vram_gb,
                model.weights_gb,
                model.overhead_gb
            ),
        )
        .await;
        if model.served_repo != model.model {
            ctx.log("info", &format!("Serving the pre-quantized checkpoint {}", model.served_repo));
        }
        if model.gated {
            ctx.log("warn", "This model is gated on Hugging Face: the host needs an accepted licence and a token");
        }
        ctx.log("info", "Checking that the broker is ready");
        client.wait_for_ready().await.map_err(shopper)?;
        Ok(())
    })
    .await?;

    let query = InventoryQuery {
        provider: test.provider.clone(),
        min_vram: Some(model.vram_gb),
        max_price: Some(test.max_price),
        min_gpu_count: Some(test.gpu_count.max(1)),
        ..Default::default()
    };
    work.offers = step(ctx, StepName::QueryInventory, failure, async {
        let offers = client.inventory_all(&query).await.map_err(shopper)?;
        if offers.is_empty() {
            return Err(format!(
                "no offers with at least {} GB VRAM at or under ${:.2}/h{} (no_offers); raise the price, pick another provider or a smaller/quantized model",
                model.vram_gb,
                test.max_price,
                test.provider.as_ref().map(|p| format!(" on {p}")).unwrap_or_default()
            ));
        }
        ctx.log("info", &format!("Found {} offers with ≥ {} GB VRAM under ${:.2}/h", offers.len(), model.vram_gb, test.max_price));
        Ok(offers)
    })
    .await?;

    work.offer = Some(
        step(ctx, StepName::SelectOffer, failure, async {
            let offer = rank(&work.offers)
                .first()
                .cloned()
                .cloned()
                .ok_or("no offer meets the requirements")?;
            ctx.detail(StepName::SelectOffer, describe(&offer)).await;
            ctx.log("info", &format!("Selected {}", describe(&offer)));
            Ok(offer)
        })
        .await?,
    );

    let (session, key, booked) = step(ctx, StepName::CreateSession, failure, async {
        let mut tried: Vec<String> = Vec::new();
        let mut candidate = work.offer.clone().expect("selected");
        for attempt in 1..=CREATE_ATTEMPTS {
            let request = CreateSessionRequest {
                consumer_id: client.consumer_id().to_owned(),
                offer_id: candidate.id.clone(),
                workload_type: "llm_vllm".into(),
                reservation_hours: test.reservation_hours,
                model_id: Some(model.served_repo.clone()),
                quantization: (model.quantization != Quantization::None)
                    .then(|| model.quantization.as_str().to_owned()),
                ..Default::default()
            };
            ctx.log(
                "info",
                &format!(
                    "Creating a session on {} (attempt {attempt}/{CREATE_ATTEMPTS})",
                    candidate.id
                ),
            );
            match client.create_session(&request).await {
                Ok(created) => return Ok((created.session, created.ssh_private_key, candidate)),
                Err(ShopperError::StaleInventory { message, .. }) => {
                    ctx.log(
                        "warn",
                        &format!("Offer {} is gone at the provider: {message}", candidate.id),
                    );
                    tried.push(candidate.id.clone());
                    let fresh = client.inventory_all(&query).await.map_err(shopper)?;
                    match rank(&fresh).into_iter().find(|o| !tried.contains(&o.id)) {
                        Some(next) => {
                            ctx.log("info", &format!("Next best: {}", describe(next)));
                            candidate = next.clone();
                        }
                        None => {
                            return Err(
                                "every matching offer is gone at the provider (offer_stale)".into(),
                            )
                        }
                    }
                }
                Err(e) => return Err(shopper(e)),
            }
        }
        Err(format!(
            "the provider refused {CREATE_ATTEMPTS} offers in a row (offer_stale); try again later"
        ))
    })
    .await?;
    work.session_id = Some(session.id.clone());
    work.key = Some(key);
    let choice = OfferChoice {
        offer_id: booked.id.clone(),
        provider: booked.provider.clone(),
        gpu_type: booked.gpu_type.clone(),
        gpu_count: booked.gpu_count,
        vram_gb: booked.vram_gb,
        price_per_hour: booked.price_per_hour,
    };
    work.offer = Some(booked);
    ctx.update(|run| {
        run.session_id = Some(session.id.clone());
        run.offer = Some(choice);
    })
    .await;
    ctx.detail(StepName::CreateSession, format!("session {}", session.id))
        .await;

    let session_id = session.id.clone();
    let running = step(ctx, StepName::WaitForRunning, failure, async {
        let started = Instant::now();
        let tensordock = session.provider == "tensordock";
        let mut pause = Duration::from_millis(500);
        let mut last = None;
        loop {
            let s = client.get_session(&session_id).await.map_err(shopper)?;
            if last != Some(s.status) {
                ctx.log(
                    "info",
                    &format!(
                        "Session is {} after {:.0} s",
                        s.status,
                        started.elapsed().as_secs_f64()
                    ),
                );
                last = Some(s.status);
            }
            match s.status {
                SessionStatus::Running => return Ok(s),
                status if status.is_terminal() || status == SessionStatus::Stopping => {
                    return Err(format!(
                        "the session ended while starting ({status}): {}",
                        s.error_text().unwrap_or("no reason given")
                    ));
                }
                _ => {}
            }
            if started.elapsed() > RUNNING_LIMIT {
                return Err(format!(
                    "not running after {} min (provisioning timeout)",
                    RUNNING_LIMIT.as_secs() / 60
                ));
            }
            // TensorDock needs its cloud-init: poll gently at first.
            let cap = if tensordock {
                Duration::from_secs(20)
            } else {
                Duration::from_secs(10)
            };
            tokio::time::sleep(pause).await;
            pause = (pause * 3 / 2).min(cap);
        }
    })
    .await?;
    ctx.detail(
        StepName::WaitForRunning,
        format!(
            "{}:{} as {}",
            running.ssh_host.clone().unwrap_or_default(),
            running.ssh_port.unwrap_or(22),
            running.ssh_user.clone().unwrap_or_default()
        ),
    )
    .await;

    let offer = work.offer.clone().expect("booked");
    let key = work.key.as_ref().expect("created");
    work.host = Some(
        step(ctx, StepName::ConnectSsh, failure, async {
            if !key.expose_pem().starts_with("-----BEGIN") {
                return Err("the broker's private key is not a PEM key".into());
            }
            let host: Box<dyn RemoteHost> = if config.simulated {
                Box::new(SimHost::new(
                    &offer.gpu_type,
                    offer.gpu_count,
                    offer.vram_gb,
                    config.sim_speed,
                ))
            } else {
                let address = running
                    .ssh_host
                    .clone()
                    .ok_or("the broker gave no SSH host")?;
                let port = running.ssh_port.unwrap_or(22);
                let user = running.ssh_user.clone().unwrap_or_else(|| "root".into());
                // Hosts often accept SSH a little after the broker says running.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match SshHost::connect(&address, port, &user, key, Duration::from_secs(30))
                        .await
                    {
                        Ok(h) => break Box::new(h),
                        Err(e) if attempt < 4 => {
                            ctx.log(
                                "warn",
                                &format!("SSH attempt {attempt} failed: {e}; retrying"),
                            );
                            tokio::time::sleep(Duration::from_secs(5 * attempt)).await;
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                }
            };
            let hello = host
                .exec("echo connected", Duration::from_secs(30))
                .await
                .map_err(|e| e.to_string())?;
            if hello.exit_code != 0 {
                return Err(format!("the host's shell failed: {}", hello.stderr.trim()));
            }
            ctx.log(
                "info",
                if config.simulated {
                    "SSH connected (simulated host)"
                } else {
                    "SSH connected"
                },
            );
            Ok(host)
        })
        .await?,
    );
    // The key is no longer needed once connected.
    work.key = None;
    let host = work.host.as_deref().expect("connected");

    let report = step(ctx, StepName::DiagnoseHost, failure, async {
        let log = |line: &str| ctx.log("info", line);
        let report = super::diagnose::diagnose(host, &log).await?;
        for w in &report.warnings {
            ctx.log("warn", w);
        }
        Ok(report)
    })
    .await?;
    let gpus = report.gpus.len();
    ctx.update(|run| run.host = Some(report)).await;
    ctx.detail(StepName::DiagnoseHost, format!("{gpus} GPU(s) seen"))
        .await;

    let api_key = Zeroizing::new(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ));
    step(
        ctx,
        StepName::InstallVllm,
        failure,
        install(
            host,
            ctx,
            plan,
            &test.deploy_mode,
            &api_key,
            offer.gpu_count,
        ),
    )
    .await?;
    work.api_key = Some(api_key);

    let api_key = work.api_key.as_ref().expect("installed");
    work.target = Some(
        step(ctx, StepName::VerifyDeployment, failure, async {
            let local = host.forward(8000).await.map_err(|e| e.to_string())?;
            let base_url = format!("http://{local}");
            ctx.log("info", &format!("Tunnel: {base_url} → host port 8000"));
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| e.to_string())?;
            let health = http
                .get(format!("{base_url}/health"))
                .send()
                .await
                .map_err(|e| format!("/health: {e}"))?;
            if !health.status().is_success() {
                return Err(format!("/health answered {}", health.status()));
            }
            let models: serde_json::Value = http
                .get(format!("{base_url}/v1/models"))
                .bearer_auth(api_key.as_str())
                .send()
                .await
                .map_err(|e| format!("/v1/models: {e}"))?
                .json()
                .await
                .map_err(|e| format!("/v1/models: {e}"))?;
            let served = models["data"][0]["id"]
                .as_str()
                .ok_or("/v1/models lists no model")?
                .to_owned();
            ctx.log("info", &format!("/v1/models serves {served}"));
            let target = Target {
                base_url,
                api_key: api_key.to_string(),
                model: served,
            };
            let (sample, text) = loadgen::stream_one(
                &http,
                &target,
                "Say hello in three words.",
                16,
                Instant::now(),
            )
            .await;
            if let Some(e) = sample.error {
                return Err(format!("a test completion failed: {e}"));
            }
            ctx.log(
                "info",
                &format!(
                    "Test completion: {:?} ({} tokens)",
                    text.trim(),
                    sample.output_tokens
                ),
            );
            Ok(target)
        })
        .await?,
    );

    let target = work.target.clone().expect("verified");
    let benchmark = step(ctx, StepName::Benchmark, failure, async {
        let http = reqwest::Client::new();
        let (matching, with_expected, quality) = loadgen::quality(&http, &target).await;
        for (id, ok, s) in &quality {
            ctx.log(
                if *ok { "info" } else { "warn" },
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
        let mut samples = vec![(
            "quality".to_owned(),
            quality.into_iter().map(|(_, _, s)| s).collect(),
        )];
        for &level in &config.load_levels {
            ctx.log(
                "info",
                &format!(
                    "Load phase: {} requests at concurrency {level}",
                    config.load_requests
                ),
            );
            let (metrics, raw) = loadgen::phase(
                &http,
                &target,
                level,
                config.load_requests,
                config.load_max_tokens,
                offer.price_per_hour,
            )
            .await;
            ctx.log(
                "info",
                &format!(
                    "c={level}: TTFT p50 {:.0} ms · TPOT p50 {:.1} ms · {:.0} tok/s · {} failed{}",
                    metrics.ttft_ms.p50,
                    metrics.tpot_ms.p50,
                    metrics.output_tokens_per_s,
                    metrics.failed,
                    metrics
                        .usd_per_million_output_tokens
                        .map(|c| format!(" · ${c:.2}/1M tokens"))
                        .unwrap_or_default()
                ),
            );
            samples.push((format!("c{level}"), raw));
            phases.push(metrics);
        }
        let record = BenchmarkRecord {
            id: format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            run_id: ctx.snapshot().id,
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
            phases,
        };
        ctx.store()
            .save_benchmark(&record, samples)
            .await
            .map_err(|e| e.to_string())?;
        Ok(record)
    })
    .await?;
    ctx.detail(StepName::Benchmark, format!("benchmark {}", benchmark.id))
        .await;
    ctx.update(|run| run.benchmark_id = Some(benchmark.id.clone()))
        .await;
    ctx.hub()
        .publish([LiveEvent::BenchmarkUpsert { benchmark }]);
    Ok(())
}

/// Offers best first: cheapest, then the most reliable.
fn rank(offers: &[Offer]) -> Vec<&Offer> {
    let mut ranked: Vec<&Offer> = offers.iter().filter(|o| o.available).collect();
    ranked.sort_by(|a, b| {
        a.price_per_hour
            .total_cmp(&b.price_per_hour)
            .then(b.reliability.total_cmp(&a.reliability))
    });
    ranked
}

fn describe(o: &Offer) -> String {
    format!(
        "{} × {} ({} GB) on {} at ${:.3}/h, offer {}",
        o.gpu_type, o.gpu_count, o.vram_gb, o.provider, o.price_per_hour, o.id
    )
}

/// Quotes a word for a POSIX shell.
pub fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Installs and starts vLLM, streaming progress, and waits for the model to load.
async fn install(
    host: &dyn RemoteHost,
    ctx: &RunContext,
    plan: &Plan,
    mode: &DeployMode,
    api_key: &Zeroizing<String>,
    gpu_count: u32,
) -> Result<(), String> {
    let model = &plan.model;
    let mut args = format!(
        "--model {} --served-model-name {} --host 0.0.0.0 --port 8000 --gpu-memory-utilization 0.90",
        sh_quote(&model.served_repo),
        sh_quote(&model.model)
    );
    if model.quantization != Quantization::None {
        args.push_str(&format!(" --quantization {}", model.quantization.as_str()));
    }
    if gpu_count > 1 {
        args.push_str(&format!(" --tensor-parallel-size {gpu_count}"));
    }
    let t = Duration::from_secs(60);
    let throttle = std::sync::Mutex::new(Instant::now() - Duration::from_secs(10));
    let progress = |line: &str| {
        let mut last = throttle.lock().unwrap();
        if last.elapsed() >= Duration::from_millis(800) || line.contains("complete") {
            *last = Instant::now();
            ctx.log("info", line.trim());
        }
    };
    // The key goes in through the environment; what is logged never shows it.
    let key_env = format!("VLLM_API_KEY={}", sh_quote(api_key));
    // How each mode fetches vLLM, starts it, and is watched while the model loads.
    let (fetch, start, running_check, logs_tail) = match mode {
        DeployMode::Docker => {
            host.exec("docker rm -f vllm-server >/dev/null 2>&1; true", t)
                .await
                .map_err(|e| e.to_string())?;
            (
                format!("docker pull {VLLM_IMAGE}"),
                format!(
                    "docker run -d --gpus all --ipc=host --name vllm-server -p 127.0.0.1:8000:8000 -e VLLM_API_KEY {VLLM_IMAGE} {args}"
                ),
                "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' vllm-server",
                "docker logs --tail 30 vllm-server 2>&1",
            )
        }
        DeployMode::Pip => (
            format!(
                "python3 -m pip install --progress-bar off {}",
                sh_quote(VLLM_PIP)
            ),
            format!(
                "nohup python3 -m vllm.entrypoints.openai.api_server {args} > /tmp/vllm.log 2>&1 &"
            ),
            "pgrep -n -f vllm.entrypoints.openai.api_server",
            "tail -n 30 /tmp/vllm.log",
        ),
    };
    ctx.log("info", &fetch);
    let fetched = host
        .exec_streaming(&fetch, Duration::from_secs(1800), &progress)
        .await
        .map_err(|e| e.to_string())?;
    if fetched.exit_code != 0 {
        return Err(format!("`{fetch}` failed: {}", fetched.stderr.trim()));
    }
    ctx.log("info", &format!("VLLM_API_KEY=[redacted] {start}"));
    let launched = host
        .exec(&format!("{key_env} {start}"), t)
        .await
        .map_err(|e| e.to_string())?;
    if launched.exit_code != 0 {
        return Err(format!("starting vLLM failed: {}", launched.stderr.trim()));
    }
    let started = Instant::now();
    let mut last_line = String::new();
    // The process id (pip) or start time (docker) first seen: a change means a restart.
    let mut first_seen: Option<String> = None;
    loop {
        let alive = host
            .exec(running_check, t)
            .await
            .map_err(|e| e.to_string())?;
        let seen = alive.stdout.trim().to_owned();
        if alive.exit_code == 0 && !seen.starts_with("false") {
            match &first_seen {
                None => first_seen = Some(seen.clone()),
                Some(first) if *first != seen => {
                    let tail = host
                        .exec(logs_tail, t)
                        .await
                        .map(|o| o.stdout)
                        .unwrap_or_default();
                    return Err(format!(
                        "vLLM restarted while loading (a crash loop: often a dependency or memory problem); last log lines:\n{}",
                        tail.trim()
                    ));
                }
                Some(_) => {}
            }
        }
        if alive.exit_code != 0 || seen.starts_with("false") {
            let tail = host
                .exec(logs_tail, t)
                .await
                .map(|o| o.stdout)
                .unwrap_or_default();
            return Err(format!(
                "vLLM exited while loading; last log lines:\n{}",
                tail.trim()
            ));
        }
        let code = host
            .exec(
                "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://localhost:8000/health",
                t,
            )
            .await
            .map_err(|e| e.to_string())?;
        if code.stdout.trim() == "200" {
            ctx.log(
                "info",
                &format!(
                    "vLLM is serving after {:.0} s",
                    started.elapsed().as_secs_f64()
                ),
            );
            return Ok(());
        }
        let tail = host
            .exec(&logs_tail.replace("30", "1"), t)
            .await
            .map(|o| o.stdout)
            .unwrap_or_default();
        let line = tail.trim().to_owned();
        if !line.is_empty() && line != last_line {
            ctx.log(
                "info",
                &format!("[{:.0} s] {line}", started.elapsed().as_secs_f64()),
            );
            last_line = line;
        }
        if started.elapsed() > MODEL_LOAD_LIMIT {
            return Err(format!(
                "the model did not load within {} min",
                MODEL_LOAD_LIMIT.as_secs() / 60
            ));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

/// Destroys a session and checks with the broker. Ok(message) when confirmed.
pub(super) async fn destroy(client: &ShopperClient, id: &str) -> Result<String, String> {
    match client.delete_session(id).await {
        Ok(_) | Err(ShopperError::NotFound { .. }) => {}
        Err(e) => return Err(format!("destroy failed: {}", shopper(e))),
    }
    match client.get_session(id).await {
        Ok(s) if s.status == SessionStatus::Stopped => Ok(format!(
            "session {id} destroyed; the broker reports it stopped"
        )),
        Ok(s) if s.status == SessionStatus::Failed => {
            Ok(format!("session {id} had failed; nothing is running"))
        }
        Ok(s) => Err(format!(
            "destroy requested, but the broker reports the session {}",
            s.status
        )),
        Err(ShopperError::NotFound { .. }) => Ok(format!(
            "session {id} destroyed; the broker no longer lists it"
        )),
        Err(e) => Err(format!(
            "destroy requested, but it could not be confirmed: {}",
            shopper(e)
        )),
    }
}

/// The cleanup step: destroys the session unless the person keeps it.
async fn cleanup(client: &ShopperClient, ctx: &RunContext, work: &Work, keep: bool) {
    let name = StepName::Cleanup;
    ctx.step_started(name).await;
    let Some(id) = work.session_id.clone() else {
        ctx.update(|run| {
            run.cleanup = Some(CleanupOutcome {
                destroyed_confirmed: true,
                kept: false,
                message: "no session was created".into(),
            })
        })
        .await;
        ctx.step_ended(
            name,
            StepStatus::Skipped,
            Some("no session was created".into()),
        )
        .await;
        return;
    };
    if keep {
        let message = format!("session {id} left running as asked (keep on failure); destroy it from the Sessions tab when done");
        ctx.log("warn", &message);
        ctx.update(|run| {
            run.cleanup = Some(CleanupOutcome {
                destroyed_confirmed: false,
                kept: true,
                message: message.clone(),
            })
        })
        .await;
        ctx.step_ended(
            name,
            StepStatus::Skipped,
            Some("kept at the person's request".into()),
        )
        .await;
        return;
    }
    let outcome = destroy(client, &id).await;
    let (confirmed, message) = match outcome {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    ctx.log(if confirmed { "info" } else { "error" }, &message);
    ctx.update(|run| {
        run.cleanup = Some(CleanupOutcome {
            destroyed_confirmed: confirmed,
            kept: false,
            message: message.clone(),
        })
    })
    .await;
    ctx.step_ended(
        name,
        if confirmed {
            StepStatus::Complete
        } else {
            StepStatus::Failed
        },
        (!confirmed).then_some(message),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::host::{ExecOutput, HostError};
    use futures::future::BoxFuture;
    use std::sync::Mutex;

    /// A host whose `docker inspect` answers come from a script.
    struct Scripted {
        inspect: Mutex<Vec<&'static str>>,
    }

    impl RemoteHost for Scripted {
        fn exec<'a>(
            &'a self,
            command: &'a str,
            _: Duration,
        ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
            Box::pin(async move {
                let stdout = if command.starts_with("docker inspect") {
                    let mut script = self.inspect.lock().unwrap();
                    if script.len() > 1 {
                        script.remove(0)
                    } else {
                        script[0]
                    }
                    .to_owned()
                } else if command.starts_with("docker logs") {
                    "CUDA error: out of memory\n".to_owned()
                } else if command.starts_with("curl") {
                    "000".to_owned()
                } else {
                    String::new()
                };
                Ok(ExecOutput {
                    stdout,
                    ..Default::default()
                })
            })
        }

        fn exec_streaming<'a>(
            &'a self,
            c: &'a str,
            t: Duration,
            _: &'a (dyn Fn(&str) + Send + Sync),
        ) -> BoxFuture<'a, Result<ExecOutput, HostError>> {
            self.exec(c, t)
        }

        fn forward<'a>(&'a self, _: u16) -> BoxFuture<'a, Result<std::net::SocketAddr, HostError>> {
            Box::pin(async { Err(HostError::Channel("no".into())) })
        }
    }

    async fn install_with(script: Vec<&'static str>) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("gdl-pipe-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = crate::store::Store::open(&dir).unwrap();
        let config: gdl_model::runs::TestConfig =
            serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let run = gdl_model::runs::Run::new("r".into(), config.clone(), Utc::now());
        let ctx = RunContext::new(
            run,
            crate::live::Hub::new(Default::default()),
            store,
            Default::default(),
        );
        let plan = super::super::validate(&config).unwrap();
        let host = Scripted {
            inspect: Mutex::new(script),
        };
        let key = Zeroizing::new("k".to_owned());
        install(&host, &ctx, &plan, &DeployMode::Docker, &key, 1).await
    }

    #[tokio::test]
    async fn a_crash_while_loading_fails_with_the_log_tail() {
        let err = install_with(vec![
            "true 2026-01-01T00:00:00Z",
            "false 2026-01-01T00:00:00Z",
        ])
        .await
        .unwrap_err();
        assert!(
            err.contains("exited while loading") && err.contains("out of memory"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_restart_while_loading_fails_with_the_log_tail() {
        let err = install_with(vec![
            "true 2026-01-01T00:00:00Z",
            "true 2026-01-01T00:00:09Z",
        ])
        .await
        .unwrap_err();
        assert!(
            err.contains("restarted") && err.contains("out of memory"),
            "{err}"
        );
    }

    #[test]
    fn shell_quoting_neutralises_metacharacters() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("$(reboot); `id`"), "'$(reboot); `id`'");
    }
}
