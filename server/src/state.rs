//! [`AppState`]: what every handler and server function shares, and [`start`], which
//! builds it (starting the embedded simulator when no broker URL is given).

use crate::live::{Hub, HubConfig};
use crate::monitor::{Monitor, PollIntervals};
use crate::runner::{Runner, RunnerConfig};
use crate::shopper::{ShopperClient, Timeouts};
use crate::simulator::{SimConfig, SimServer, Simulator};
use crate::store::Store;
use app::backend::{Backend, SharedBackend};
use axum::extract::FromRef;
use futures::future::BoxFuture;
use gdl_model::api::ApiError;
use gdl_model::api::{SessionsView, StatusView};
use gdl_model::code::ErrorCode;
use gdl_model::live::LiveState;
use gdl_model::runs::TestConfig;
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What the server needs to start, independent of the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the dashboard listens (recorded in the Leptos options).
    pub addr: SocketAddr,
    /// A real broker, or `None` for the embedded simulator.
    pub shopper_url: Option<String>,
    /// The embedded simulator's configuration.
    pub sim: SimConfig,
    /// The data directory (created if missing).
    pub data_dir: PathBuf,
    /// The built site (`pkg/` with wasm, JS, CSS).
    pub site_root: PathBuf,
    pub timeouts: Timeouts,
    pub poll: PollIntervals,
    /// The live channel's sizes and deadlines.
    pub live: HubConfig,
    /// Enables test-only endpoints (`/_test/*`). Never in production.
    pub test_hooks: bool,
    /// Deployment-test runs allowed at once.
    pub max_runs: usize,
    /// Sessions one run may rent in all (a new one when a machine fails to start).
    pub max_rentals: u32,
    /// The broker's SSH verification budget asked for on every create (1–30 minutes).
    pub ssh_timeout_minutes: u32,
    /// The most disk (GB) a rental may ask for.
    pub max_disk_gb: u32,
    /// Allow SSH addresses on loopback or private networks (a simulator on this machine);
    /// always on for the embedded simulator.
    pub allow_private_hosts: bool,
    /// How long cleanup keeps asking the broker to confirm a destroy.
    pub destroy_patience: Duration,
    /// The access token; required to listen beyond loopback.
    pub auth_token: Option<String>,
    /// Extra origins allowed to embed and call the dashboard.
    pub allowed_origins: Vec<String>,
    /// Host names the dashboard answers to besides loopback ones.
    pub allowed_hosts: Vec<String>,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Benchmark load: requests per phase, concurrency levels, tokens per request.
    pub bench: BenchSettings,
    /// When the circuit breaker around broker calls opens, and for how long.
    pub breaker: crate::shopper::BreakerConfig,
    /// The longest a page or REST answer waits on the broker before answering with what
    /// is known.
    pub broker_patience: Duration,
}

impl Settings {
    /// A dashboard on a port-0 loopback listener with the embedded simulator `sim`, its
    /// data in `data_dir`, everything else at the defaults of `serve` (for tests and
    /// benchmarks that build the state themselves).
    pub fn local(data_dir: PathBuf, sim: SimConfig) -> Self {
        let runner = RunnerConfig::default();
        Self {
            addr: (std::net::Ipv4Addr::LOCALHOST, 0).into(),
            shopper_url: None,
            sim,
            data_dir,
            site_root: "target/site".into(),
            timeouts: Timeouts::default(),
            poll: PollIntervals::default(),
            live: HubConfig::default(),
            test_hooks: false,
            max_runs: 1,
            max_rentals: runner.max_rentals,
            ssh_timeout_minutes: runner.ssh_timeout_minutes,
            max_disk_gb: runner.max_disk_gb,
            allow_private_hosts: false,
            destroy_patience: runner.destroy_patience,
            auth_token: None,
            allowed_origins: vec![],
            allowed_hosts: vec![],
            session_ttl: Duration::from_secs(3600),
            bench: BenchSettings::default(),
            breaker: crate::shopper::BreakerConfig::default(),
            broker_patience: crate::api::FIRST_CHECK_PATIENCE,
        }
    }
}

/// The benchmark's load phases.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchSettings {
    pub requests: u32,
    pub levels: Vec<u32>,
    pub max_tokens: u32,
}

impl Default for BenchSettings {
    fn default() -> Self {
        let runner = RunnerConfig::default();
        Self {
            requests: runner.load_requests,
            levels: runner.load_levels,
            max_tokens: runner.load_max_tokens,
        }
    }
}

/// Shared state: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub monitor: Monitor,
    pub hub: Hub,
    pub runner: Runner,
    pub access: crate::security::Access,
    pub settings: Arc<Settings>,
    /// The embedded simulator, kept alive as long as the state.
    pub simulator: Option<Arc<SimServer>>,
    /// Samples of the Health tab's figures over the last hour.
    pub health: crate::health::History,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl FromRef<AppState> for Hub {
    fn from_ref(state: &AppState) -> Self {
        state.hub.clone()
    }
}

/// Builds the state: data directory, broker (embedded simulator or the given URL) and the
/// broker monitor, which starts polling at once.
pub async fn start(settings: Settings) -> anyhow::Result<AppState> {
    use anyhow::Context;
    crate::security::check_token(settings.auth_token.as_deref()).map_err(anyhow::Error::msg)?;
    create_private_dir(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {} (choose another with --data-dir or GDL_DATA_DIR)",
            settings.data_dir.display()
        )
    })?;
    let (url, simulator) = match &settings.shopper_url {
        Some(url) => (url.clone(), None),
        None => {
            let sim = Simulator::new(settings.sim.clone());
            let server = SimServer::start(sim, "127.0.0.1:0".parse().expect("literal address"))
                .await
                .context("cannot start the embedded broker simulator on a loopback port")?;
            tracing::info!(url = %server.url(), speed = settings.sim.speed, "embedded broker simulator started");
            (server.url(), Some(Arc::new(server)))
        }
    };
    let client = ShopperClient::new(&url, settings.timeouts)
        .map_err(|e| anyhow::anyhow!("{e} ({})", e.hint()))?
        .with_breaker(settings.breaker);
    let store = Store::open(&settings.data_dir).with_context(|| {
        format!(
            "cannot open the database in {} (choose another with --data-dir)",
            settings.data_dir.display()
        )
    })?;
    let hub = Hub::new(settings.live.clone());
    let runner = Runner::new(
        RunnerConfig {
            max_concurrent: settings.max_runs.max(1),
            max_rentals: settings.max_rentals.max(1),
            ssh_timeout_minutes: settings.ssh_timeout_minutes.clamp(1, 30),
            max_disk_gb: settings.max_disk_gb,
            allow_private_hosts: settings.allow_private_hosts || simulator.is_some(),
            destroy_patience: settings.destroy_patience,
            load_requests: settings.bench.requests.max(1),
            load_levels: settings.bench.levels.clone(),
            load_max_tokens: settings.bench.max_tokens.max(2),
        },
        client.clone(),
        hub.clone(),
        store,
    );
    runner
        .recover()
        .await
        .context("cannot read the stored runs")?;
    let monitor = Monitor::with_store(
        client,
        simulator.is_some(),
        settings.poll,
        hub.clone(),
        Some(runner.store().clone()),
    );
    monitor.spawn();
    let leptos = LeptosOptions::builder()
        .output_name("gpu-deploy-llm")
        .site_root(settings.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(settings.addr)
        .build();
    let embed_tokens = crate::security::embed::EmbedTokens::new(runner.store().clone());
    let state = AppState {
        leptos,
        monitor,
        hub,
        runner,
        access: crate::security::Access::new(
            settings.auth_token.clone(),
            settings.allowed_origins.clone(),
        )
        .with_hosts(settings.allowed_hosts.clone())
        .with_session_ttl(settings.session_ttl)
        .with_embed_tokens(embed_tokens),
        settings: Arc::new(settings),
        simulator,
        health: crate::health::History::default(),
    };
    crate::health::spawn_sampler(&state);
    Ok(state)
}

impl AppState {
    /// The broker status for pages and `/api/status`.
    pub async fn status_view(&self, fresh: bool) -> StatusView {
        self.view(fresh).await.status
    }

    /// Our sessions for pages and `/api/sessions`.
    pub async fn sessions_view(&self, fresh: bool) -> SessionsView {
        self.view(fresh).await.sessions
    }

    async fn view(&self, fresh: bool) -> crate::monitor::BrokerView {
        if fresh {
            self.monitor.refresh(crate::api::REFRESH_PATIENCE).await
        } else {
            self.monitor
                .settled_view(self.settings.broker_patience)
                .await
        }
    }

    /// The live state (what a snapshot carries) once the broker was checked, waiting at
    /// most a moment for the first check.
    pub async fn live_state(&self) -> LiveState {
        self.monitor
            .settled_view(self.settings.broker_patience)
            .await;
        self.hub.clone_state()
    }

    /// Imports the old dashboard's benchmark files (REST, and the Benchmarks tab) and sends
    /// the records imported to every open page.
    pub async fn import_benchmarks(
        &self,
        files: Vec<gdl_model::legacy::OldFile>,
    ) -> Result<gdl_model::legacy::ImportReport, ApiError> {
        let (report, saved) = self
            .runner
            .store()
            .import_legacy(files)
            .await
            .map_err(|e| crate::error::AppError::from(e).error)?;
        self.hub.publish(
            saved
                .into_iter()
                .map(|benchmark| gdl_model::live::LiveEvent::BenchmarkUpsert { benchmark }),
        );
        Ok(report)
    }

    /// The state as the app's backend (a context value for server functions).
    pub fn backend(&self) -> SharedBackend {
        Arc::new(self.clone())
    }
}

impl Backend for AppState {
    fn live_state(&self) -> BoxFuture<'_, LiveState> {
        Box::pin(AppState::live_state(self))
    }

    fn start_run(&self, config: TestConfig) -> BoxFuture<'_, Result<String, ApiError>> {
        Box::pin(async move {
            self.runner
                .start(config)
                .await
                .map(|run| run.id)
                .map_err(|e| e.to_api_error())
        })
    }

    fn cancel_run(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(async move { self.runner.cancel(&id).await.map_err(|e| e.to_api_error()) })
    }

    fn benchmarks_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<gdl_model::runs::BenchmarkRecord>, ApiError>> {
        Box::pin(async move {
            self.runner
                .store()
                .benchmarks_before(before, limit)
                .await
                .map_err(|e| crate::error::AppError::from(e).error)
        })
    }

    fn health(&self) -> gdl_model::health::HealthView {
        self.health_now(true)
    }

    fn import_benchmarks(
        &self,
        files: Vec<gdl_model::legacy::OldFile>,
    ) -> BoxFuture<'_, Result<gdl_model::legacy::ImportReport, ApiError>> {
        Box::pin(AppState::import_benchmarks(self, files))
    }

    fn run(&self, id: String) -> BoxFuture<'_, Result<gdl_model::runs::Run, ApiError>> {
        Box::pin(async move {
            match self.runner.store().run(&id).await {
                Ok(Some(run)) => Ok(run),
                Ok(None) => Err(crate::runner::RunError::NotFound(id).to_api_error()),
                Err(e) => Err(crate::error::AppError::from(e).error),
            }
        })
    }

    fn compare(
        &self,
        model: String,
    ) -> BoxFuture<'_, Result<(Vec<String>, gdl_model::compare::Comparison), ApiError>> {
        Box::pin(async move {
            crate::api::history::comparison(self.runner.store(), &model)
                .await
                .map_err(|e| e.error)
        })
    }

    fn benchmark(
        &self,
        id: String,
    ) -> BoxFuture<'_, Result<app::backend::StoredBenchmark, ApiError>> {
        Box::pin(async move {
            match self.runner.store().benchmark(&id).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(ApiError::new(
                    ErrorCode::BenchmarkNotFound,
                    format!("no benchmark {id}"),
                )
                .with_hint("See the Benchmarks tab for the ones stored.")),
                Err(e) => Err(crate::error::AppError::from(e).error),
            }
        })
    }

    fn costs(
        &self,
        params: gdl_model::costs::CostParams,
    ) -> BoxFuture<'_, Result<gdl_model::costs::CostReport, ApiError>> {
        Box::pin(async move {
            crate::costs::report(
                self.runner.store(),
                self.monitor.client(),
                &params,
                self.settings.broker_patience,
            )
            .await
        })
    }

    fn inventory(
        &self,
        filters: gdl_model::api::InventoryFilters,
    ) -> BoxFuture<'_, Result<gdl_model::api::InventoryView, ApiError>> {
        Box::pin(async move {
            let query = filters.query();
            if let Some(gdl_model::shopper::Provider::Other(p)) = &query.provider {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("unknown provider {p:?}"),
                )
                .with_hint(format!(
                    "Use one of {}, or leave it out for any.",
                    gdl_model::shopper::Provider::known_names()
                )));
            }
            let model = filters.fit_model().transpose()?;
            let listed = self
                .monitor
                .offers(false, self.settings.broker_patience)
                .await;
            if listed.at.is_none() {
                return Err(listed.error.unwrap_or_else(|| {
                    ApiError::new(
                        ErrorCode::ShopperTimeout,
                        "the broker has not listed its offers yet",
                    )
                    .with_hint("A cold inventory takes the broker several seconds; reload in a moment (the dashboard keeps reading it in the background).")
                }));
            }
            let mut offers: Vec<gdl_model::shopper::Offer> = listed
                .offers
                .iter()
                .filter(|o| query.admits(o))
                .cloned()
                .collect();
            filters.sort(&mut offers);
            let fetched_at = offers.iter().filter_map(|o| o.fetched_at).max();
            let fit =
                model.map(|m| gdl_model::api::ModelFit::of(m, filters.gpus.unwrap_or(1), &offers));
            Ok(gdl_model::api::InventoryView {
                offers,
                fetched_at,
                fit,
                listed_at: listed.at,
                stale: listed.error,
            })
        })
    }

    fn session_action(
        &self,
        id: String,
        action: gdl_model::api::SessionAction,
        hours: Option<u32>,
    ) -> BoxFuture<'_, Result<gdl_model::api::SessionActionResult, ApiError>> {
        Box::pin(async move { crate::sessions::act(self, &id, action, hours.map(i64::from)).await })
    }

    fn clean_up_orphans(
        &self,
    ) -> BoxFuture<'_, (Vec<gdl_model::api::SessionActionResult>, Vec<ApiError>)> {
        Box::pin(crate::sessions::clean_up_orphans(self))
    }

    fn destroy_session(&self, id: String) -> BoxFuture<'_, Result<String, ApiError>> {
        Box::pin(async move {
            if !self.hub.has_session(&id) {
                return Err(ApiError::new(ErrorCode::SessionNotFound, format!("{id} is not one of our sessions"))
                    .with_hint("Refresh the Sessions tab; only sessions this dashboard created can be destroyed here."));
            }
            let client = self.monitor.client();
            client
                .delete_session(&id)
                .await
                .map_err(|e| e.to_api_error())?;
            self.monitor.refresh(crate::api::REFRESH_PATIENCE).await;
            Ok(format!("session {id} destroyed"))
        })
    }

    fn login_required(&self) -> bool {
        self.access.enabled()
    }

    fn embed_setup(&self) -> BoxFuture<'_, Result<gdl_model::embed::EmbedSetup, ApiError>> {
        Box::pin(async move {
            Ok(gdl_model::embed::EmbedSetup {
                tokens: self.access.embed_tokens().list().await?,
                allowed_origins: self.access.allowed_origins().to_vec(),
                token_required: self.access.enabled(),
            })
        })
    }

    fn create_embed_token(
        &self,
        label: String,
    ) -> BoxFuture<'_, Result<gdl_model::embed::CreatedEmbedToken, ApiError>> {
        Box::pin(async move { self.access.embed_tokens().create(&label).await })
    }

    fn revoke_embed_token(
        &self,
        id: String,
    ) -> BoxFuture<'_, Result<gdl_model::embed::EmbedToken, ApiError>> {
        Box::pin(async move { self.access.embed_tokens().revoke(&id).await })
    }
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

/// Default poll intervals for a simulator running `speed` times faster than real time:
/// never slower than the real-broker defaults, a little faster when time is compressed.
pub fn poll_for_speed(speed: f64) -> PollIntervals {
    let base = PollIntervals::default();
    if speed <= 1.0 {
        return base;
    }
    let idle = base
        .idle
        .div_f64(speed.sqrt())
        .max(Duration::from_millis(1000));
    let busy = base
        .busy
        .div_f64(speed.sqrt())
        .max(Duration::from_millis(500));
    PollIntervals { idle, busy }
}
