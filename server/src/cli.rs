//! The command line's doors, behind the tiny `main.rs`: each command decodes its flags,
//! delegates to the service layer (or, for the broker commands, to the broker client), and
//! prints what it got.
//!
//! # Layout
//! - this file: `serve`, `simulate`, `test`, logging, the shutdown signal, and the broker
//!   the one-shot commands ask.
//! - [`glance`]: `status` and `sessions`, from the broker or a running dashboard.
//! - [`broker`]: the other one-shot broker commands and `orphans`.
//! - [`history`]: `runs`, `logs` and `benchmarks`, on the data directory's store or a
//!   running dashboard (`source`, over `dashboard`'s REST client).
//! - `deploy`: `deploy`, a model kept serving on a running dashboard, with its endpoint,
//!   key and examples; `deployments`: `deployments`, `stop` and `keys`.
//! - `bench`: `bench`, the benchmark engine against any OpenAI-compatible server.
//! - `engines`: `engines`, the engine catalogue.
//! - [`output`]: tables, JSON, errors with their hint, exit codes, printable text.
//! - `follow`, `progress`: following a run as it goes, on a progress bar.

mod bench;
pub mod broker;
mod campaign;
mod dashboard;
mod deploy;
mod deployments;
mod engines;
mod follow;
pub mod glance;
pub mod history;
pub mod output;
mod progress;
mod source;
mod tune;

use crate::config::{Connect, SimulateArgs};
use crate::shopper::{ShopperClient, Timeouts};
use crate::simulator::{SimConfig, SimServer, Simulator};
use crate::Settings;
use anyhow::Context;

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

pub use bench::bench;
pub use campaign::campaign;
pub use deploy::deploy;
pub use deployments::{deployments, keys, stop};
pub use engines::engines;
pub use history::{benchmarks, logs, runs};
pub use tune::tune;

/// The broker `c` names, or the exit code of the refusal (said on stderr): without
/// `--shopper-url` (or `SHOPPER_URL`) there is no broker to ask, and a throwaway simulator's
/// empty answers would mislead. `dashboard`: whether the command could ask one with `--url`.
fn connect(c: &Connect, dashboard: bool) -> Result<ShopperClient, i32> {
    let Some(url) = c.shopper_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        let (message, hint) = if dashboard {
            (
                "no broker or dashboard given",
                "Pass --url http://127.0.0.1:8081 (a running dashboard; or GDL_URL), or \
                 --shopper-url URL (a broker; or SHOPPER_URL). `gpu-deploy-llm simulate` runs a \
                 simulated broker on http://127.0.0.1:8080.",
            )
        } else {
            (
                "no broker given",
                "Pass --shopper-url URL (or SHOPPER_URL): a real cloud-gpu-shopper, or \
                 `gpu-deploy-llm simulate` for a simulated one on http://127.0.0.1:8080.",
            )
        };
        return Err(output::bad_input(message, hint));
    };
    ShopperClient::new(url, Timeouts::default()).map_err(|e| {
        output::bad_input(
            &format!("--shopper-url {url:?} cannot be used: {e}"),
            "Give the broker's base URL, e.g. http://127.0.0.1:8080.",
        )
    })
}

/// `gpu-deploy-llm serve`.
pub async fn serve(mut settings: Settings) -> anyhow::Result<()> {
    settings
        .access
        .load_token_file()
        .map_err(anyhow::Error::msg)?;
    if std::env::args().any(|a| a == "--auth-token" || a.starts_with("--auth-token=")) {
        tracing::warn!(
            "--auth-token on the command line shows in `ps` to every user of this machine: \
             use --auth-token-file or GDL_AUTH_TOKEN"
        );
    }
    let site = settings.site_root.join("pkg");
    if !site.join("gpu-deploy-llm.wasm").exists() && !site.join("gpu-deploy-llm_bg.wasm").exists() {
        tracing::warn!(
            site = %site.display(),
            "the built site is missing: pages render but will not hydrate. Build with `cargo leptos build --release` \
             and start from the repository root, or pass --site-root"
        );
    }
    let addr = settings.addr;
    let access = crate::security::Access::new(
        settings.access.auth_token.clone(),
        settings.access.allowed_origins.clone(),
    );
    if let Err(message) = crate::security::check_token(settings.access.auth_token.as_deref())
        .and_then(|()| crate::security::check_exposure(addr, &access))
    {
        anyhow::bail!(message);
    }
    if !addr.ip().is_loopback() && settings.access.allowed_hosts.is_empty() {
        tracing::warn!(
            "listening on {addr} but no --allow-host is set: browsers are answered only under loopback names. \
             Add --allow-host <the name or address people use>"
        );
    }
    let broker = match settings.shopper_url() {
        Some(url) => format!("broker {}", crate::shopper::shown_url(url)),
        None => format!("embedded simulator at speed {}", settings.sim().speed),
    };
    let data_dir = settings.broker.resolved_data_dir();
    let state = crate::start(settings).await?;
    let listener = crate::listen(addr).with_context(|| {
        format!(
            "cannot listen on {addr} (is another dashboard running? choose another with --addr)"
        )
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    tracing::info!(data_dir = %data_dir.display(), "dashboard on http://{bound} ({broker})");
    crate::run(listener, state, shutdown_signal()).await?;
    tracing::info!("dashboard stopped");
    Ok(())
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

/// `gpu-deploy-llm test`: one run, headless. Returns the exit code: 0 passed, 1 failed,
/// 130 cancelled (Ctrl-C cancels the run and waits for its cleanup).
pub async fn test(args: crate::config::TestArgs) -> anyhow::Result<i32> {
    use gdl_model::runs::RunStatus;
    // Every other server setting is what `serve` would use (flags' defaults and their
    // environment variables), on the broker and data directory given here.
    let mut settings = Settings::defaults("127.0.0.1:0");
    settings.broker = args.broker.clone();
    settings.hub = args.hub.clone();
    let config = match test_config(&args) {
        Ok(config) => config,
        Err((message, hint)) => return Ok(output::bad_input(&message, hint)),
    };
    let state = crate::start(settings).await?;
    let dashboard = state.dashboard.clone();
    let run = match dashboard.start_run(config).await {
        Ok(run) => run,
        Err(e) => {
            output::failed(&e.error);
            return Ok(output::BAD_INPUT);
        }
    };
    let id = run.id.clone();
    eprintln!(
        "run {id}: {} on {}",
        run.config.model,
        dashboard.monitor().client().base_url()
    );
    let progress = progress::Progress::stderr(run.steps.len() as u64);
    let mut follower = follow::Follower::new(dashboard.hub().clone(), id.clone(), &progress);
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
                let _ = dashboard.cancel_run(&id).await;
            }
        }
    };
    drop(follower);
    drop(progress);
    let benchmark = finished
        .benchmark_id
        .as_ref()
        .and_then(|b| dashboard.hub().with_state(|s| s.benchmarks.get(b).cloned()));
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"run": finished, "benchmark": benchmark})
            )?
        );
    } else {
        output::out(&summary(&finished, benchmark.as_ref()));
    }
    Ok(match finished.status {
        RunStatus::Passed => 0,
        RunStatus::Cancelled | RunStatus::Interrupted => 130,
        _ => 1,
    })
}

/// What `test` runs: `--from`'s bundle run again (its highest price replaced by
/// `--max-price`), else the options; what is wrong and what to do otherwise.
fn test_config(
    args: &crate::config::TestArgs,
) -> Result<gdl_model::runs::TestConfig, (String, &'static str)> {
    let Some(path) = &args.from else {
        let mut config = args
            .rent
            .config(args.model.as_deref().unwrap_or_default())?;
        config.keep_on_failure = args.keep_on_failure;
        config.capacity_search = args.search;
        config.tune = args
            .tune_usd
            .map(|usd_budget| gdl_model::tuning::TuneRequest {
                usd_budget,
                seconds: args.tune_seconds,
            });
        args.workload.apply(&mut config);
        return Ok(config);
    };
    let hint = "Save a benchmark's bundle from its page (Download the bundle), or GET /api/benchmarks/{id}/bundle, then pass that file.";
    let text = std::fs::read_to_string(path)
        .map_err(|e| (format!("cannot read {}: {e}", path.display()), hint))?;
    let bundle = gdl_model::runs::bundle::BenchmarkBundle::read(&text)
        .map_err(|e| (format!("{} is {e}", path.display()), hint))?;
    eprintln!(
        "running benchmark {} again: {} on {} × {} ({}), ${:.3}/h then",
        bundle.benchmark,
        bundle.model,
        bundle.gpu_count,
        bundle.gpu_type,
        bundle.provider.label(),
        bundle.price_per_hour
    );
    let mut config = bundle.again();
    if let Some(price) = args.rent.max_price {
        config.max_price = price;
    }
    config.keep_on_failure |= args.keep_on_failure;
    Ok(config)
}

/// What a finished run did, as people read it (the caller prints it, control characters
/// replaced).
fn summary(
    run: &gdl_model::runs::Run,
    benchmark: Option<&gdl_model::runs::BenchmarkRecord>,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let code = run
        .error_code
        .map(|c| format!("  [{c}]"))
        .unwrap_or_default();
    let error = run
        .error
        .as_ref()
        .map(|e| format!("  ({e})"))
        .unwrap_or_default();
    let _ = writeln!(out, "\nrun {}  {:?}{code}{error}", run.id, run.status);
    if let Some(o) = &run.offer {
        let _ = writeln!(
            out,
            "offer    {} × {} on {} at ${:.3}/h",
            o.gpu_type, o.gpu_count, o.provider, o.price_per_hour
        );
    }
    if let Some(c) = &run.cleanup {
        let _ = writeln!(out, "cleanup  {}", c.message);
    }
    if !run.rentals.is_empty() {
        let _ = writeln!(
            out,
            "cost     ${:.4} for {} rental(s), provisioning included",
            run.cost_usd(chrono::Utc::now()),
            run.rentals.len()
        );
    }
    if let Some(b) = benchmark {
        let _ = writeln!(
            out,
            "quality  {}/{} prompts answered as expected",
            b.prompts_matching, b.prompts_with_expected
        );
        let _ = writeln!(
            out,
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
            let _ = writeln!(
                out,
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
        let _ = writeln!(
            out,
            "(vLLM conventions: TPOT decode-only per request; ITL per chunk gap)"
        );
        if let Some(t) = &b.tuning {
            out.push_str(&tuning_lines(t));
        }
    }
    out
}

/// A tuning as `test` and `tune` print it: a line for it, then a line a point, the best
/// marked.
pub fn tuning_lines(t: &gdl_model::tuning::Tuning) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "tuning   {} point(s), {:.0} s, ${:.4}, ended {:?}\n",
        t.points.len(),
        t.seconds,
        t.cost_usd,
        t.stop
    );
    for (i, p) in t.points.iter().enumerate() {
        let capacity = p.capacity.map_or("none".into(), |c| c.to_string());
        let mark = if i == t.best { "  <- best" } else { "" };
        let _ = writeln!(
            out,
            "  {:<40} capacity {capacity:>4}{mark}",
            output::printable(&p.change)
        );
    }
    out
}
