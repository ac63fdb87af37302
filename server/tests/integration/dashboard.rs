//! The dashboard's HTTP surface (SSR pages and REST) on a port-0 listener, against the
//! embedded simulator and against a broker that is not there.

use crate::support::{eventually, request};
use gdl_model::sessions::SessionsView;
use gdl_model::shopper::InventoryQuery;
use gdl_model::status::{BrokerState, StatusView};
use server::monitor::PollIntervals;
use server::shopper::ShopperClient;
use server::simulator::SimConfig;
use server::{AppState, Settings};
use std::time::Duration;

pub struct Dashboard {
    pub url: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub data_dir: std::path::PathBuf,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Dashboard {
    pub async fn start(shopper_url: Option<&str>) -> Self {
        let data_dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
        Self::start_in(shopper_url, data_dir).await
    }

    pub async fn start_in(shopper_url: Option<&str>, data_dir: std::path::PathBuf) -> Self {
        Self::start_with(shopper_url, data_dir, None).await
    }

    /// With an access token required.
    pub async fn start_with(
        shopper_url: Option<&str>,
        data_dir: std::path::PathBuf,
        auth_token: Option<&str>,
    ) -> Self {
        Self::start_custom(shopper_url, data_dir, |s| {
            s.access.auth_token = auth_token.map(str::to_owned)
        })
        .await
    }

    /// With the test settings changed by `change`.
    pub async fn start_custom(
        shopper_url: Option<&str>,
        data_dir: std::path::PathBuf,
        change: impl FnOnce(&mut Settings),
    ) -> Self {
        let sim = SimConfig {
            speed: 60.0,
            seed: Some(7),
            provision_failure_rate: 0.0,
            ..SimConfig::default()
        };
        let mut settings = Settings::local(data_dir.clone(), sim);
        settings.broker.shopper_url = shopper_url.map(str::to_owned);
        // Tests talk to loopback only: with a broker of their own, the Hub is a closed port
        // (the run says so and goes on); the embedded simulator is its own Hub.
        settings.hub.endpoint = shopper_url.map(|_| "http://127.0.0.1:9".to_owned());
        settings.tuning.poll = Some(PollIntervals {
            idle: Duration::from_millis(200),
            busy: Duration::from_millis(100),
        });
        settings.runs.destroy_patience = Duration::from_secs(60);
        // The breaker at the tests' pace (polls every 100 ms): open for a second.
        settings.calls.breaker_failures = 5;
        settings.calls.breaker_open = Duration::from_secs(1);
        settings.calls.breaker_probes = 1;
        settings.runs.bench_requests = 4;
        settings.runs.bench_concurrency = vec![1, 2];
        settings.runs.bench_max_tokens = 16;
        if let Some(url) = crate::support::postgres_for(&data_dir).await {
            settings.database = server::settings::DatabaseSettings::postgres_at(&url);
        }
        change(&mut settings);
        let state = server::start(settings).await.unwrap();
        assert!(data_dir.is_dir(), "the data directory is created");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(server::run(listener, served, async move {
            let _ = rx.await;
        }));
        Self {
            url,
            state,
            // A request the dashboard never answers fails the test instead of hanging it
            // (and with it the whole suite, until CI's own limit).
            http: crate::support::http(),
            data_dir,
            _shutdown: tx,
        }
    }

    /// GETs `path` ([`crate::support::send_patiently`]).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        crate::support::send_patiently(self.http.get(format!("{}{path}", self.url))).await
    }

    pub fn broker(&self) -> ShopperClient {
        self.state.dashboard.monitor().client().clone()
    }
}

#[tokio::test]
async fn first_page_is_server_rendered_with_status_and_offer_counts() {
    let d = Dashboard::start(None).await;
    let status: StatusView = d.get("/api/status").await.json().await.unwrap();
    assert_eq!(status.broker.state, BrokerState::Ready);
    assert!(status.broker.simulated);
    assert_eq!(
        status.providers.len(),
        gdl_model::shopper::Provider::KNOWN.len(),
        "every known provider is listed"
    );
    let simulated: Vec<_> = status
        .providers
        .iter()
        .filter(|p| server::simulator::SIM_PROVIDERS.contains(&p.provider))
        .collect();
    assert_eq!(simulated.len(), server::simulator::SIM_PROVIDERS.len());
    assert!(
        simulated.iter().all(|p| p.offers > 0),
        "{:?}",
        status.providers
    );
    let html = d.get("/").await.text().await.unwrap();
    assert!(
        html.contains("data-state=\"Ready\""),
        "status in the SSR HTML"
    );
    assert!(html.contains("simulated"));
    for p in &status.providers {
        let row = format!("data-provider=\"{}\"", p.provider);
        assert!(html.contains(&row), "{row} in the SSR HTML");
    }
    assert!(html.contains("Vast.ai") && html.contains("TensorDock"));
    for mode in gdl_model::runs::DeployMode::ALL {
        let option = format!("<option value=\"{}\"", mode.as_str());
        assert!(html.contains(&option), "the form offers {option}");
    }
    assert!(
        html.contains("/pkg/gpu-deploy-llm"),
        "hydration scripts are linked"
    );
}

#[tokio::test]
async fn tabs_are_real_routes() {
    let d = Dashboard::start(None).await;
    for (path, text) in [
        ("/sessions", "<h1>Sessions</h1>"),
        ("/benchmarks", "No benchmarks recorded yet"),
    ] {
        let response = d.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(text), "{path}");
        assert!(
            html.contains("aria-current=\"page\""),
            "{path} marks its tab"
        );
    }
    let missing = d.get("/no-such-page").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    let api = d.get("/api/nope").await;
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert!(body["hint"].is_string());
    assert_eq!(d.get("/healthz").await.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn sessions_show_error_and_time_to_running_across_versions() {
    let d = Dashboard::start(None).await;
    let broker = d.broker();
    let sim = d.state.simulator.as_ref().unwrap().simulator().clone();
    let offers = broker
        .inventory_all(&InventoryQuery::default())
        .await
        .unwrap();
    let mut rentable = offers.iter().filter(|o| sim.is_rentable(&o.id));
    let good = broker
        .create_session(&request(broker.consumer_id(), rentable.next().unwrap()))
        .await
        .unwrap();
    sim.update_faults(|f| {
        f.fail_provisioning_with = Some("instance_vanished: no longer exists on provider".into())
    });
    let bad = broker
        .create_session(&request("gpu-deploy-llm/v0.0.1", rentable.next().unwrap()))
        .await
        .unwrap();
    broker
        .create_session(&request("not-ours", rentable.next().unwrap()))
        .await
        .unwrap();
    let view: SessionsView = eventually(Duration::from_secs(10), || async {
        let v: SessionsView = d.get("/api/sessions").await.json().await.unwrap();
        let good_running = v
            .sessions
            .iter()
            .any(|s| s.id == good.session.id && s.time_to_running_secs.is_some());
        let bad_stopped = v
            .sessions
            .iter()
            .any(|s| s.id == bad.session.id && s.status.is_terminal());
        (good_running && bad_stopped).then_some(v)
    })
    .await;
    assert_eq!(
        view.sessions.len(),
        2,
        "sessions of other consumers are not ours"
    );
    let failed = view
        .sessions
        .iter()
        .find(|s| s.id == bad.session.id)
        .unwrap();
    assert_eq!(
        failed.error.as_deref(),
        Some("instance_vanished: no longer exists on provider")
    );
    assert_eq!(failed.consumer_id, "gpu-deploy-llm/v0.0.1");
    let raw: serde_json::Value = d.get("/api/sessions").await.json().await.unwrap();
    assert!(
        raw["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["error"].is_string()),
        "error is in the JSON"
    );
    let html = d.get("/sessions").await.text().await.unwrap();
    assert!(html.contains(&good.session.id[..8]) && html.contains(&bad.session.id[..8]));
    assert!(html.contains("instance_vanished: no longer exists on provider"));
    assert!(html.contains("ended-badly"));
}

#[tokio::test]
async fn offline_broker_is_reported_with_reason_and_hint() {
    let d = Dashboard::start(Some("http://127.0.0.1:9")).await;
    let status: StatusView = d.get("/api/status").await.json().await.unwrap();
    assert_eq!(status.broker.state, BrokerState::Offline);
    assert!(!status.broker.simulated);
    assert_eq!(
        status.broker.code.map(|c| c.as_str()),
        Some("shopper_unreachable")
    );
    assert!(status
        .broker
        .reason
        .as_deref()
        .unwrap()
        .contains("127.0.0.1:9"));
    assert!(status
        .broker
        .hint
        .as_deref()
        .unwrap()
        .contains("SHOPPER_URL"));
    let html = d.get("/").await.text().await.unwrap();
    assert!(html.contains("data-state=\"Offline\""));
    assert!(
        html.contains("Start cloud-gpu-shopper"),
        "the hint is on the page"
    );
    let sessions: SessionsView = d
        .get("/api/sessions?fresh=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(sessions.sessions.is_empty());
}

#[tokio::test]
async fn status_follows_the_broker_going_not_ready_and_back() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.as_ref().unwrap().simulator().clone();
    sim.update_faults(|f| f.not_ready = true);
    let status: StatusView = d.get("/api/status?fresh=true").await.json().await.unwrap();
    assert_eq!(status.broker.state, BrokerState::Starting);
    assert_eq!(
        status.broker.code.map(|c| c.as_str()),
        Some("shopper_not_ready")
    );
    sim.update_faults(|f| f.not_ready = false);
    let status: StatusView = d.get("/api/status?fresh=true").await.json().await.unwrap();
    assert_eq!(status.broker.state, BrokerState::Ready);
    assert!(status.broker.reason.is_none());
}

#[tokio::test]
async fn fresh_views_read_the_broker_at_most_once_a_second() {
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    // Polls on their own only every minute: the ones seen here are the refreshes.
    let d = Dashboard::start_custom(None, dir, |s| {
        s.tuning.poll = Some(PollIntervals {
            idle: Duration::from_secs(60),
            busy: Duration::from_secs(60),
        })
    })
    .await;
    d.get("/api/status?fresh=true").await;
    let before = d.state.dashboard.monitor().view().polls;
    let started = std::time::Instant::now();
    let asks = (0..30).map(|_| d.get("/api/status?fresh=true"));
    futures::future::join_all(asks).await;
    let polls = d.state.dashboard.monitor().view().polls - before;
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        (polls as f64) <= seconds + 1.0,
        "{polls} polls in {seconds:.1} s for 30 fresh requests"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let d = Dashboard::start(None).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&d.data_dir), 0o700);
    assert_eq!(mode(&d.data_dir.join("gpu-deploy-llm.db")), 0o600);
}

#[tokio::test]
async fn an_unreachable_broker_removes_no_session() {
    let d = Dashboard::start(None).await;
    let server = d.state.simulator.as_ref().unwrap();
    let id = crate::support::create(server, &d.broker()).await.session.id;
    let listed = |view: &SessionsView| view.sessions.iter().any(|s| s.id == id);
    eventually(Duration::from_secs(10), || async {
        let view: SessionsView = d
            .get("/api/sessions?fresh=true")
            .await
            .json()
            .await
            .unwrap();
        listed(&view).then_some(())
    })
    .await;
    server.simulator().set_offline(true);
    eventually(Duration::from_secs(10), || async {
        let status: StatusView = d.get("/api/status?fresh=true").await.json().await.unwrap();
        (status.broker.state == BrokerState::Offline).then_some(())
    })
    .await;
    let view: SessionsView = d
        .get("/api/sessions?fresh=true")
        .await
        .json()
        .await
        .unwrap();
    assert!(listed(&view), "kept while the broker cannot be reached");
    server.simulator().set_offline(false);
}

#[tokio::test]
async fn the_inventory_is_filtered_and_sorted_as_the_url_says() {
    let d = Dashboard::start(None).await;
    let view: gdl_model::inventory::InventoryView = d
        .get("/api/inventory?provider=vastai&max_price=0.5&sort=vram")
        .await
        .json()
        .await
        .unwrap();
    assert!(!view.offers.is_empty());
    assert!(view
        .offers
        .iter()
        .all(|o| o.provider == gdl_model::shopper::Provider::VastAi && o.price_per_hour <= 0.5));
    assert!(
        view.offers.windows(2).all(|w| w[0].vram_gb >= w[1].vram_gb),
        "most VRAM first"
    );
    assert!(view.fetched_at.is_some());
    let refused = d.get("/api/inventory?provider=aws").await;
    assert_eq!(refused.status(), 400);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["code"], "invalid_input");
    // The page is rendered with the same filters, before any script runs.
    let html = d
        .get("/inventory?provider=tensordock&min_vram=24")
        .await
        .text()
        .await
        .unwrap();
    let rows = html.matches("data-offer=").count();
    assert!(rows > 0, "{html}");
    assert_eq!(html.matches("data-provider=\"tensordock\"").count(), rows);
    for vram in html.split("data-vram=\"").skip(1) {
        let gb: u32 = vram.split('"').next().unwrap().parse().unwrap();
        assert!(gb >= 24, "{gb} GB listed under min_vram=24");
    }
    assert!(html.contains("value=\"24\""), "the form keeps the filter");
    assert!(
        html.contains("data-gpu-prices="),
        "the price comparison is rendered"
    );
    // A card TensorDock really lists (the V100, 16 GB): in the page without the filter, in
    // neither the offers nor the price comparison with it.
    let small = "data-gpu-prices=\"V100\"";
    let unfiltered = d
        .get("/inventory?provider=tensordock")
        .await
        .text()
        .await
        .unwrap();
    assert!(unfiltered.contains(small), "TensorDock lists V100s");
    assert!(unfiltered.contains("data-vram=\"16\""));
    assert!(!html.contains(small), "16 GB cards are filtered out");
    assert!(!html.contains("data-vram=\"16\""));
}
