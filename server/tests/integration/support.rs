//! Helpers shared by the integration tests.

use gdl_model::shopper::{CreateSessionRequest, CreateSessionResponse, InventoryQuery, Offer};
use server::shopper::{ShopperClient, Timeouts};
use server::simulator::{SimConfig, SimServer, Simulator};
use std::future::Future;
use std::time::{Duration, Instant};

/// A simulator on a loopback port, fast and with no random provisioning failures.
pub async fn sim(speed: f64) -> SimServer {
    sim_with(SimConfig {
        speed,
        seed: Some(42),
        provision_failure_rate: 0.0,
        ..SimConfig::default()
    })
    .await
}

/// A simulated broker as `config` says, on a free loopback port.
pub async fn sim_with(config: SimConfig) -> SimServer {
    let sim = Simulator::new(config);
    SimServer::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// A client with short timeouts and no retries, so each error surfaces as it is.
pub fn client(url: &str) -> ShopperClient {
    ShopperClient::new(
        url,
        Timeouts {
            request: Duration::from_secs(5),
            probe: Duration::from_secs(1),
            ready_wait: Duration::from_secs(3),
            provider_call: Duration::from_secs(10),
        },
    )
    .unwrap()
    // The breaker at the tests' pace: open for half a second.
    .with_breaker(server::shopper::BreakerConfig {
        threshold: 5,
        open_for: Duration::from_millis(500),
        probes: 1,
    })
    .with_retries(0)
}

/// The first Vast.ai offer that is not a ghost (one the provider still has). Tests rent on
/// Vast.ai unless they are about another provider (Blue Lobster's blocking create and boot
/// wait are pinned in `contract.rs`).
pub async fn rentable_offer(server: &SimServer, client: &ShopperClient) -> Offer {
    let query = InventoryQuery {
        provider: Some(gdl_model::shopper::Provider::VastAi),
        ..Default::default()
    };
    let offers = client.inventory_all(&query).await.unwrap();
    offers
        .into_iter()
        .find(|o| server.simulator().is_rentable(&o.id))
        .expect("a rentable offer")
}

/// A create request for `offer` by `consumer`.
pub fn request(consumer: &str, offer: &Offer) -> CreateSessionRequest {
    CreateSessionRequest {
        consumer_id: consumer.into(),
        offer_id: offer.id.clone(),
        workload_type: "llm".into(),
        reservation_hours: 1,
        ..Default::default()
    }
}

/// Creates a session as this client's consumer on a rentable offer.
pub async fn create(server: &SimServer, client: &ShopperClient) -> CreateSessionResponse {
    let offer = rentable_offer(server, client).await;
    client
        .create_session(&request(client.consumer_id(), &offer))
        .await
        .expect("create succeeds")
}

/// Polls `check` until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        // A check that never returns fails at the deadline too, not never; given at least
        // 30 s, so a page asked once more after a stall (`send_patiently`) can answer.
        let left = deadline.saturating_duration_since(Instant::now());
        let answer = tokio::time::timeout(left.max(Duration::from_secs(30)), check()).await;
        if let Some(value) = answer.unwrap_or_else(|_| panic!("a check hung past {limit:?}")) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Ids of this client's consumer's sessions the broker still has active (billing).
pub async fn active_sessions(broker: &ShopperClient) -> Vec<gdl_model::ids::SessionId> {
    broker
        .our_sessions()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.status.is_active())
        .map(|s| s.id)
        .collect()
}

/// Sends `request`; when its answer has not begun within 20 s, sends it once more, saying so.
/// In the integration binary's process a page render has stalled past two minutes about once
/// a full run (never with a dashboard in a process of its own; not yet explained,
/// docs/testing.md). Only the wait for the answer's start is bounded here: its body has the
/// client's own limit. For GETs only: the answer is checked by the caller as before.
pub async fn send_patiently(request: reqwest::RequestBuilder) -> reqwest::Response {
    let again = request.try_clone().expect("a GET can be sent again");
    match tokio::time::timeout(Duration::from_secs(20), request.send()).await {
        Ok(answer) => answer.unwrap(),
        Err(_) => {
            let asked = again.try_clone().and_then(|r| r.build().ok());
            let path = asked.map(|r| r.url().path().to_owned()).unwrap_or_default();
            eprintln!("GET {path}: no answer within 20 s; asking once more (docs/testing.md)");
            again.send().await.unwrap()
        }
    }
}

/// Set in a test's own process (see [`in_own_process`]).
const ALONE: &str = "GDL_TEST_ALONE";

/// Runs the test `name` (its full path, `module::test`) in a process of its own: in the
/// test binary's process this starts the binary again for that test only, checks that it
/// ran and passed, and returns false (the caller returns); in that process it returns true
/// (the caller goes on with the test). For a test that changes the whole process (a global
/// log capture), or that must not share it with the other tests' dashboards.
pub async fn in_own_process(name: &'static str) -> bool {
    if std::env::var_os(ALONE).is_some() {
        return true;
    }
    let out = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([name, "--exact", "--test-threads=1", "--nocapture"])
            .env(ALONE, "1");
        // A test that hangs in its own process fails here instead of hanging this one.
        crate::process::output_within(&mut command, Duration::from_secs(600))
    })
    .await
    .unwrap();
    let stdout = &out.stdout;
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} in its own process:\n{stdout}\n{}",
        out.stderr
    );
    false
}

/// An HTTP client for the tests: a request nothing answers fails the test after two
/// minutes instead of hanging it (and the whole suite with it, until CI's own limit).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// With `GDL_TEST_STORE=postgres` (and `GDL_TEST_DATABASE_URL`), the URL of a schema of its
/// own for the dashboard whose data directory is `data_dir` (the same schema each time, so
/// a dashboard started again on the same directory finds its data): the whole suite can
/// then run on PostgreSQL. `None`, and SQLite, otherwise.
pub async fn postgres_for(data_dir: &std::path::Path) -> Option<String> {
    if std::env::var("GDL_TEST_STORE").ok()? != "postgres" {
        return None;
    }
    let url = std::env::var("GDL_TEST_DATABASE_URL")
        .expect("GDL_TEST_STORE=postgres needs GDL_TEST_DATABASE_URL (scripts/pg.sh start)");
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let schema = format!(
        "d_{}",
        digest[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the test database answers");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await
        .unwrap();
    Some(format!("{url}?options=-c%20search_path%3D{schema}"))
}

/// The store a test dashboard started on `data_dir` uses: SQLite there, or its PostgreSQL
/// schema under `GDL_TEST_STORE=postgres` ([`postgres_for`]).
pub async fn store_for(data_dir: &std::path::Path) -> server::store::Store {
    match postgres_for(data_dir).await {
        Some(url) => server::store::Store::connect(&url).await.unwrap(),
        None => {
            std::fs::create_dir_all(data_dir).unwrap();
            server::store::Store::open(data_dir).unwrap()
        }
    }
}
