//! The dashboard killed (SIGKILL) in the middle of a cleanup, and again in the middle of
//! the cleanup its restart took up: the next start takes it up once more, and the run says
//! "confirmed" only once the broker has confirmed the session gone. Real processes: the
//! standalone simulator and `serve`, on loopback.

use crate::cli::start_run_until_rented;
use crate::process::{data_dir, live_sessions, serve, simulate};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

async fn get(url: String) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Waits until the broker shows `session` with `status`.
async fn broker_shows(broker: &str, session: &str, status: &str) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let sessions = get(format!("{broker}/api/v1/sessions")).await;
        let found = sessions["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == session && s["status"] == status);
        if found {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{session} never {status}: {sessions}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleanup_interrupted_twice_is_taken_up_by_the_next_start() {
    let (_simulator, broker) = simulate(&[]);
    let data = data_dir();
    let args = [
        "--shopper-url",
        broker.as_str(),
        "--allow-private-hosts",
        "--reconcile-every",
        "1",
    ];
    let (mut first, url) = serve(&args, &data);
    let id = start_run_until_rented(&url).await;
    let session = get(format!("{url}/api/runs/{id}")).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The provider takes 8 s to confirm a destroy: long enough to die twice meanwhile.
    let faults = crate::support::http()
        .post(format!("{broker}/_sim/faults"))
        .json(&json!({"destroy_delay_ms": 8000}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());

    // 1. Cancelled: its cleanup asks for the destroy and waits for it; killed meanwhile.
    let cancel = crate::support::http()
        .post(format!("{url}/api/runs/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 202);
    broker_shows(&broker, &session, "stopping").await;
    first.signal("KILL");
    first.wait_within(Duration::from_secs(30));

    // 2. The restart takes the cleanup up (its reconciler asks the broker again and
    //    follows the destroy); killed again while the broker has not confirmed it.
    let (mut second, url) = serve(&args, &data);
    let run = get(format!("{url}/api/runs/{id}")).await;
    assert_ne!(run["status"], "running", "{run}");
    assert_ne!(
        run["cleanup"]["destroyed_confirmed"], true,
        "nothing is confirmed while the session is stopping: {run}"
    );
    let still: Vec<Value> = live_sessions(&broker).await;
    assert!(
        still
            .iter()
            .any(|s| s["id"] == session.as_str() && s["status"] == "stopping"),
        "the destroy is still under way at the second kill: {still:?}"
    );
    second.signal("KILL");
    second.wait_within(Duration::from_secs(30));

    // 3. The next start takes it up again: once the broker confirms, the run says so.
    let (_third, url) = serve(&args, &data);
    let deadline = Instant::now() + LIMIT;
    let run = loop {
        let run = get(format!("{url}/api/runs/{id}")).await;
        if run["cleanup"]["destroyed_confirmed"] == true {
            break run;
        }
        assert!(
            Instant::now() < deadline,
            "the cleanup is never confirmed: {run}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        run["rentals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["destroyed"] == true),
        "every rental confirmed destroyed: {run}"
    );
    assert!(live_sessions(&broker).await.is_empty(), "nothing billing");
}
