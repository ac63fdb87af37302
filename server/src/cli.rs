//! What each subcommand does, behind the tiny `main.rs`.

use crate::config::{ServeArgs, SimulateArgs};
use crate::shopper::Timeouts;
use crate::simulator::{SimConfig, SimServer, Simulator};
use crate::Settings;
use anyhow::Context;
use std::time::Duration;

/// Logs to stderr; `RUST_LOG` overrides the default level (info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

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
    let settings = Settings {
        addr: args.addr,
        shopper_url: args.shopper_url.clone().filter(|u| !u.trim().is_empty()),
        sim: SimConfig {
            speed: args.sim_speed,
            ..SimConfig::default()
        },
        data_dir: args.resolved_data_dir(),
        site_root: args.site_root.clone(),
        timeouts: Timeouts {
            request: Duration::from_secs(args.request_timeout.max(1)),
            ready_wait: Duration::from_secs(args.ready_timeout.max(1)),
            ..Timeouts::default()
        },
        poll: crate::state::poll_for_speed(if args.shopper_url.is_some() {
            1.0
        } else {
            args.sim_speed
        }),
        live: crate::live::HubConfig::default(),
        test_hooks: args.test_hooks,
        max_runs: args.max_runs,
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
    };
    let state = crate::start(settings).await?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another dashboard running? choose another with --addr)",
                args.addr
            )
        })?;
    let broker = match &args.shopper_url {
        Some(url) => format!("broker {url}"),
        None => format!("embedded simulator at speed {}", args.sim_speed),
    };
    tracing::info!(data_dir = %state.settings.data_dir.display(), "dashboard on http://{} ({broker})", args.addr);
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
