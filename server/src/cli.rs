//! What each subcommand does, behind the tiny `main.rs`.

mod bench;
pub mod broker;
mod follow;
mod progress;

use crate::config::{ServeArgs, SimulateArgs};
use crate::shopper::Timeouts;
use crate::simulator::{SimConfig, SimServer, Simulator};
use crate::Settings;
use anyhow::Context;
use clap::Parser;
use std::time::Duration;

/// Logs to stderr, as text or (`json`) one JSON object a line with the current span (a
/// request's id, method and path); `RUST_LOG` overrides the default level (info).
pub fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::AboveTheBar);
    let _ = if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
}

pub use bench::{bench, benchmarks};

/// `gpu-deploy-llm serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let site = args.site_root.join("pkg");
    if !site.join("gpu-deploy-llm.wasm").exists() && !site.join("gpu-deploy-llm_bg.wasm").exists() {
        tracing::warn!(
            site = %site.display(),
            "the built site is missing: pages render but will not hydrate. Build with `cargo leptos build --release` \
             and start from the repository root, or pass --site-root"
        );
    }
    let access =
        crate::security::Access::new(args.auth_token.clone(), args.allowed_origins.clone());
    if let Err(message) = crate::security::check_token(args.auth_token.as_deref())
        .and_then(|()| crate::security::check_exposure(args.addr, &access))
    {
        anyhow::bail!(message);
    }
    if !args.addr.ip().is_loopback() && args.allowed_hosts.is_empty() {
        tracing::warn!(
            "listening on {} but no --allow-host is set: browsers are answered only under loopback names. \
             Add --allow-host <the name or address people use>",
            args.addr
        );
    }
    let settings = settings_from(&args);
    let state = crate::start(settings).await?;
    let listener = crate::listen(args.addr).with_context(|| {
        format!(
            "cannot listen on {} (is another dashboard running? choose another with --addr)",
            args.addr
        )
    })?;
    let broker = match &args.broker.shopper_url {
        Some(url) => format!("broker {url}"),
        None => format!("embedded simulator at speed {}", args.broker.sim_speed),
    };
    let bound = listener.local_addr().unwrap_or(args.addr);
    tracing::info!(data_dir = %state.settings.data_dir.display(), "dashboard on http://{bound} ({broker})");
    crate::run(listener, state, shutdown_signal()).await?;
    tracing::info!("dashboard stopped");
    Ok(())
}

/// The server settings a `serve`-style command line asks for.
fn settings_from(args: &ServeArgs) -> Settings {
    Settings {
        addr: args.addr,
        shopper_url: args
            .broker
            .shopper_url
            .clone()
            .filter(|u| !u.trim().is_empty()),
        sim: SimConfig {
            speed: args.broker.sim_speed,
            provision_failure_rate: args.broker.sim_failure_rate.clamp(0.0, 1.0),
            ..SimConfig::default()
        },
        data_dir: args.broker.resolved_data_dir(),
        site_root: args.site_root.clone(),
        timeouts: Timeouts {
            request: Duration::from_secs(args.request_timeout.max(1)),
            ready_wait: Duration::from_secs(args.ready_timeout.max(1)),
            ..Timeouts::default()
        },
        poll: crate::state::poll_for_speed(if args.broker.shopper_url.is_some() {
            1.0
        } else {
            args.broker.sim_speed
        }),
        live: crate::live::HubConfig::default(),
        test_hooks: args.test_hooks,
        max_runs: args.max_runs,
        max_rentals: args.max_rentals,
        ssh_timeout_minutes: args.ssh_timeout_minutes,
        max_disk_gb: args.max_disk_gb,
        allow_private_hosts: args.broker.allow_private_hosts,
        destroy_patience: Duration::from_secs(args.destroy_patience.max(1)),
        auth_token: args.auth_token.clone(),
        allowed_origins: args.allowed_origins.clone(),
        allowed_hosts: args.allowed_hosts.clone(),
        session_ttl: Duration::from_secs(args.session_hours.max(1) * 3600),
        bench: crate::BenchSettings {
            requests: args.bench_requests,
            levels: args
                .bench_concurrency
                .iter()
                .copied()
                .filter(|c| *c > 0)
                .collect(),
            max_tokens: args.bench_max_tokens,
        },
        broker_patience: Duration::from_millis(args.broker_patience_ms.max(1)),
        breaker: crate::shopper::BreakerConfig {
            threshold: args.breaker_failures,
            open_for: Duration::from_secs_f64(args.breaker_open_secs.max(0.1)),
            probes: args.breaker_probes.max(1),
        },
    }
}

/// `gpu-deploy-llm simulate`.
pub async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let sim = Simulator::new(SimConfig {
        speed: args.speed,
        seed: args.seed,
        provision_failure_rate: args.failure_rate.clamp(0.0, 1.0),
        ..SimConfig::default()
    });
    let server = SimServer::start(sim, args.addr).await.with_context(|| {
        format!(
            "cannot listen on {} (choose another with --addr)",
            args.addr
        )
    })?;
    tracing::info!(
        "simulated cloud-gpu-shopper on {} (speed {})",
        server.url(),
        args.speed
    );
    tokio::select! {
        _ = server.wait() => {}
        _ = shutdown_signal() => tracing::info!("simulator stopped"),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// `serve`'s options on their own, to reuse their defaults.
#[derive(clap::Parser)]
struct ServeCommand {
    #[command(flatten)]
    serve: ServeArgs,
}

/// `gpu-deploy-llm test`: one run, headless. Returns the exit code: 0 passed, 1 failed,
/// 130 cancelled (Ctrl-C cancels the run and waits for its cleanup).
pub async fn test(args: crate::config::TestArgs) -> anyhow::Result<i32> {
    use gdl_model::runs::{DeployMode, RunStatus, TestConfig};
    // Every other server setting is what `serve` would use (flags' defaults and their
    // environment variables), on the broker and data directory given here.
    let mut serve = ServeCommand::parse_from(["gpu-deploy-llm", "--addr", "127.0.0.1:0"]).serve;
    serve.broker = args.broker.clone();
    let Some(deploy_mode) = DeployMode::parse(&args.deploy_mode) else {
        anyhow::bail!(
            "--deploy-mode must be docker, pip or entrypoint, not {:?}",
            args.deploy_mode
        );
    };
    let state = crate::start(settings_from(&serve)).await?;
    let config = TestConfig {
        model: args.model.clone(),
        max_price: args.max_price,
        provider: args
            .provider
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(gdl_model::shopper::Provider::from_wire),
        quantization: args.quantization.clone(),
        reservation_hours: args.reservation_hours,
        gpu_count: args.gpu_count,
        keep_on_failure: args.keep_on_failure,
        deploy_mode,
        pin_offer: args.offer.clone(),
        capacity_search: args.search,
    };
    let run = match state.runner.start(config).await {
        Ok(run) => run,
        Err(e) => {
            let e = e.to_api_error();
            eprintln!("error [{}]: {}", e.code, e.message);
            if let Some(hint) = e.hint {
                eprintln!("hint: {hint}");
            }
            return Ok(2);
        }
    };
    let id = run.id.clone();
    eprintln!(
        "run {id}: {} on {}",
        run.config.model,
        state.monitor.client().base_url()
    );
    let progress = progress::Progress::stderr(run.steps.len() as u64);
    let mut follower = follow::Follower::new(state.hub.clone(), id.clone(), &progress);
    let mut cancelled = false;
    let finished = loop {
        tokio::select! {
            finished = follower.next() => {
                if let Some(run) = finished {
                    break run;
                }
            }
            _ = shutdown_signal(), if !cancelled => {
                progress.line("cancelling: the session will be destroyed first");
                cancelled = true;
                let _ = state.runner.cancel(&id).await;
            }
        }
    };
    drop(follower);
    drop(progress);
    let benchmark = finished
        .benchmark_id
        .as_ref()
        .and_then(|b| state.hub.with_state(|s| s.benchmarks.get(b).cloned()));
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"run": finished, "benchmark": benchmark})
            )?
        );
    } else {
        print_summary(&finished, benchmark.as_ref());
    }
    Ok(match finished.status {
        RunStatus::Passed => 0,
        RunStatus::Cancelled | RunStatus::Interrupted => 130,
        _ => 1,
    })
}

fn print_summary(run: &gdl_model::runs::Run, benchmark: Option<&gdl_model::runs::BenchmarkRecord>) {
    let code = run
        .error_code
        .map(|c| format!("  [{c}]"))
        .unwrap_or_default();
    let error = run
        .error
        .as_ref()
        .map(|e| format!("  ({})", follow::printable(e)))
        .unwrap_or_default();
    println!("\nrun {}  {:?}{code}{error}", run.id, run.status);
    if let Some(o) = &run.offer {
        println!(
            "offer    {} × {} on {} at ${:.3}/h",
            o.gpu_type, o.gpu_count, o.provider, o.price_per_hour
        );
    }
    if let Some(c) = &run.cleanup {
        println!("cleanup  {}", follow::printable(&c.message));
    }
    if !run.rentals.is_empty() {
        println!(
            "cost     ${:.4} for {} rental(s), provisioning included",
            run.cost_usd(chrono::Utc::now()),
            run.rentals.len()
        );
    }
    if let Some(b) = benchmark {
        println!(
            "quality  {}/{} prompts answered as expected",
            b.prompts_matching, b.prompts_with_expected
        );
        println!(
            "{:>5} {:>10} {:>10} {:>10} {:>10} {:>12} {:>10} {:>7}",
            "conc",
            "TTFT p50",
            "TTFT p99",
            "TPOT p50",
            "ITL p99",
            "out tok/s",
            "$/1M tok",
            "failed"
        );
        for p in &b.phases {
            println!(
                "{:>5} {:>8.0}ms {:>8.0}ms {:>8.1}ms {:>8.1}ms {:>12.0} {:>10} {:>7}",
                p.concurrency,
                p.ttft_ms.p50,
                p.ttft_ms.p99,
                p.tpot_ms.p50,
                p.itl_ms.p99,
                p.output_tokens_per_s,
                p.usd_per_million_output_tokens
                    .map(|c| format!("${c:.3}"))
                    .unwrap_or_else(|| "-".into()),
                p.failed
            );
        }
        println!("(vLLM conventions: TPOT decode-only per request; ITL per chunk gap)");
    }
}
