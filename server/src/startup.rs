//! [`start`]: builds a dashboard from its [`Settings`]: the data directory, the broker (the
//! embedded simulator when no URL is given), the secret key that seals deployments, the
//! store, the runner (resuming deployments and closing runs a restart interrupted), the
//! broker monitor, the reconciler and the health sampler.

use crate::live::Hub;
use crate::monitor::Monitor;
use crate::runner::Runner;
use crate::security::embed::EmbedTokens;
use crate::security::Access;
use crate::service::{Dashboard, HealthSamples, Parts};
use crate::settings::Settings;
use crate::shopper::ShopperClient;
use crate::simulator::{SimServer, Simulator};
use crate::state::{AppState, Shared};
use crate::store::Store;
use anyhow::Context;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Builds the state; the broker monitor starts polling at once.
pub async fn start(mut settings: Settings) -> anyhow::Result<AppState> {
    settings
        .access
        .load_token_file()
        .map_err(anyhow::Error::msg)?;
    crate::security::check_token(settings.access.auth_token.as_deref())
        .map_err(anyhow::Error::msg)?;
    settings.hub.load_token().map_err(anyhow::Error::msg)?;
    let serving = settings.deploy.serving().map_err(anyhow::Error::msg)?;
    let data_dir = settings.broker.resolved_data_dir();
    create_private_dir(&data_dir).with_context(|| {
        format!(
            "cannot create the data directory {} (choose another with --data-dir or GDL_DATA_DIR)",
            data_dir.display()
        )
    })?;
    let (url, simulator) = match settings.shopper_url() {
        Some(url) => (url.to_owned(), None),
        None => {
            let sim = settings.sim();
            let speed = sim.speed;
            let server = SimServer::start(Simulator::new(sim), ([127, 0, 0, 1], 0).into())
                .await
                .context("cannot start the embedded broker simulator on a loopback port")?;
            tracing::info!(url = %server.url(), speed, "embedded broker simulator started");
            (server.url(), Some(Arc::new(server)))
        }
    };
    let store = match settings.database.postgres().map_err(anyhow::Error::msg)? {
        Some(config) => Store::connect_with(config).await.context(
            "cannot open the PostgreSQL database (check --database-url or GDL_DATABASE_URL, and that the server is up)",
        )?,
        None => Store::open(&data_dir).with_context(|| {
            format!(
                "cannot open the database in {} (choose another with --data-dir)",
                data_dir.display()
            )
        })?,
    };
    tracing::info!(database = %store.place(), "database open");
    let installation = store
        .installation_id()
        .await
        .context("cannot read this installation's id from its database")?;
    let client = ShopperClient::new(&url, settings.calls.timeouts())
        .map_err(|e| anyhow::anyhow!("{e} ({})", e.hint()))?
        .with_breaker(settings.calls.breaker())
        .with_limits(settings.calls.limits())
        .with_consumer_id(gdl_model::consumer_id(&installation));
    // Alone (SQLite), the live order is this process's; with several replicas
    // (PostgreSQL), the database's: events published from here on go through it, read back
    // from the newest one stored now (what starting reads from the store is seeded).
    let (hub, relay) = if store.shares_events() {
        let newest = store
            .newest_event()
            .await
            .context("cannot read the live events from the database")?;
        let (hub, outgoing) = Hub::shared(settings.tuning.live.clone(), installation.clone());
        (hub, Some((newest, outgoing)))
    } else {
        (Hub::new(settings.tuning.live.clone()), None)
    };
    let allow_private = settings.broker.allow_private_hosts || simulator.is_some();
    let mut runner_config = settings.runs.runner_config(allow_private);
    runner_config.serving = serving;
    runner_config.leases = settings.database.leases();
    if let Some(reconcile) = &settings.tuning.reconcile {
        runner_config.reconcile = reconcile.clone();
    }
    // The embedded simulator's hosts download from its fake Hub: ask that one.
    runner_config.hub = settings
        .hub
        .access(simulator.as_ref().map(|s| s.url()).as_deref());
    let runner = Runner::new(runner_config, client.clone(), hub.clone(), store.clone());
    runner
        .recover()
        .await
        .context("cannot read the stored runs")?;
    let campaigns = crate::campaign::Campaigns::new(runner.clone(), client.clone(), hub.clone());
    campaigns
        .recover()
        .await
        .context("cannot read the stored campaigns")?;
    if let Some((newest, outgoing)) = relay {
        crate::live::relay::start(hub.clone(), store.clone(), newest, outgoing);
    }
    let monitor = Monitor::with_store(
        client,
        simulator.is_some(),
        settings.poll(),
        hub.clone(),
        Some(store.clone()),
    );
    if store.shares_events() {
        monitor.share_polling(
            store.clone(),
            runner.replica().to_owned(),
            runner.lease_ttl(),
        );
    }
    monitor.spawn();
    runner.spawn_reconciler();
    runner.spawn_leases();
    campaigns.spawn_takeover(settings.database.leases().takeover_every);
    let shared_logins = store.shares_events().then(|| store.clone());
    let embed_tokens = EmbedTokens::new(store);
    let access = Access::new(
        settings.access.auth_token.clone(),
        settings.access.allowed_origins.clone(),
    )
    .with_hosts(settings.access.allowed_hosts.clone())
    .with_trusted_proxies(settings.access.trusted_proxies.clone())
    .with_session_ttl(settings.access.session_ttl)
    .with_embed_tokens(embed_tokens.clone());
    let access = match shared_logins {
        Some(store) => access.with_shared_logins(store),
        None => access,
    };
    let dashboard = Dashboard::new(Parts {
        monitor,
        hub,
        runner,
        campaigns,
        embed_tokens,
        health: HealthSamples::default(),
        patience: settings.calls.broker_patience,
        max_runs: usize::from(settings.runs.max_runs),
        allowed_origins: access.allowed_origins().to_vec(),
        login_required: access.enabled(),
    });
    dashboard.spawn_health_sampler();
    if dashboard.runner().store().shares_events() {
        dashboard.spawn_requests();
    }
    let leptos = LeptosOptions::builder()
        .output_name("gpu-deploy-llm")
        .site_root(settings.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(settings.addr)
        .build();
    Ok(AppState::new(Shared {
        dashboard,
        access,
        leptos,
        settings,
        simulator,
        connections: Default::default(),
    }))
}

/// Creates the data directory readable by its owner only (it holds every run's record).
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
