//! Two replicas of the dashboard (two `serve` processes) on one PostgreSQL database and one
//! broker (a `simulate` process): when the replica running a run is killed, the other
//! closes the run and destroys its session within the lease time; when it was only paused
//! past its lease and wakes, it writes nothing more about that run; a deployment it served
//! is resumed by the other, and left serving when the paused one wakes. Skipped (saying so)
//! without `GDL_TEST_DATABASE_URL`; `scripts/test.sh` sets it.

use crate::cli::{get_json, start_run_until_rented};
use crate::process::{binary, data_dir, live_sessions, simulate, Child};
use futures::StreamExt;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The lease the replicas hold runs with: short, so the tests are.
const LEASE_SECONDS: &str = "3";

/// A new schema of the test database, as the URL both replicas get, and a client on it;
/// `None` (saying so) without `GDL_TEST_DATABASE_URL`.
async fn database(test: &str) -> Option<(String, tokio_postgres::Client)> {
    let Ok(url) = std::env::var("GDL_TEST_DATABASE_URL") else {
        println!("{test}: skipped: GDL_TEST_DATABASE_URL is unset (scripts/test.sh sets it)");
        return None;
    };
    let schema = format!("r_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .await
        .unwrap();
    Some((format!("{url}?options=-c%20search_path%3D{schema}"), client))
}

/// A replica: `serve` on its own port and data directory, on the database at `url` (given
/// in the environment, as a password must be), with short leases.
fn replica(broker: &str, url: &str) -> (Child, String) {
    replica_with(broker, url, &[])
}

/// [`replica`] with more flags.
fn replica_with(broker: &str, url: &str, extra: &[&str]) -> (Child, String) {
    replica_env(broker, url, extra, &[])
}

/// [`replica_with`] with more environment variables.
fn replica_env(broker: &str, url: &str, extra: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Child::spawn(
        binary()
            .envs(env.iter().copied())
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir())
            .args(["--shopper-url", broker, "--allow-private-hosts"])
            .args([
                "--lease-seconds",
                LEASE_SECONDS,
                "--deploy-check-every",
                "0.5",
            ])
            .args(extra)
            .env("GDL_DATABASE_URL", url),
    );
    let line = child.wait_for_line("dashboard on http://", Duration::from_secs(60));
    let url = line[line.find("http://").unwrap()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (child, url)
}

/// Waits (at most a minute) until the run reads interrupted with its cleanup confirmed on
/// the replica at `url`; how long that took.
async fn closed_and_confirmed(url: &str, id: &str) -> (serde_json::Value, Duration) {
    let began = Instant::now();
    loop {
        let run = get_json(format!("{url}/api/runs/{id}")).await;
        if run["status"] == "interrupted" && run["cleanup"]["destroyed_confirmed"] == true {
            return (run, began.elapsed());
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the other replica closes the run and destroys its session: {run}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// POSTs `body` to `url`; the answer's status (a success, asserted) and JSON body.
async fn post_ok(url: String, body: serde_json::Value) -> serde_json::Value {
    let answer = crate::support::http()
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{url}: {}", answer.status());
    answer.json().await.unwrap_or(serde_json::Value::Null)
}

/// Waits (at most `limit`) until the record at `url` reads `status`; the record then.
async fn status_becomes(url: String, status: &str, limit: Duration) -> serde_json::Value {
    crate::support::eventually(limit, || async {
        let record = get_json(url.clone()).await;
        (record["status"] == status).then_some(record)
    })
    .await
}

/// The process id of the replica holding the broker poller's lease, if one does.
async fn poller_holder(db: &tokio_postgres::Client) -> Option<u32> {
    let rows = db
        .query(
            "SELECT lock_owner FROM leases WHERE name = 'broker_poller'
               AND lock_expires_at > CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
            &[],
        )
        .await
        .unwrap();
    let owner: Option<String> = rows.first().and_then(|r| r.get(0));
    // A replica's name is host:pid:random.
    owner.and_then(|o| o.split(':').nth(1).and_then(|p| p.parse().ok()))
}

/// Waits (at most 30 s) until `replica` holds the broker poller's lease.
async fn poller_held_by(db: &tokio_postgres::Client, replica: &Child) {
    let pid = replica.pid();
    crate::support::eventually(Duration::from_secs(30), || async {
        (poller_holder(db).await == Some(pid)).then_some(())
    })
    .await;
}

/// Whether the replica at `url` lists session `id` as running.
async fn listed_running(url: &str, id: &str) -> bool {
    let view = get_json(format!("{url}/api/sessions")).await;
    view["sessions"].as_array().is_some_and(|list| {
        list.iter()
            .any(|s| s["id"] == id && s["status"] == "running")
    })
}

/// The run's row as the database has it: its body, its log lines, its lease token.
async fn row(db: &tokio_postgres::Client, id: &str) -> (String, i64, Option<String>) {
    let run = db
        .query_one("SELECT body, lock_token FROM runs WHERE id = $1", &[&id])
        .await
        .unwrap();
    let logs = db
        .query_one("SELECT count(*) FROM logs WHERE run_id = $1", &[&id])
        .await
        .unwrap();
    (run.get(0), logs.get(0), run.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_run_is_closed_and_its_session_destroyed_by_the_other() {
    let Some((db_url, db)) = database("killed").await else {
        return;
    };
    let (_simulator, broker) = simulate(&[]);
    let (mut a, a_url) = replica(&broker, &db_url);
    // The first replica polls the broker for both; the second follows it.
    poller_held_by(&db, &a).await;
    let (b, b_url) = replica(&broker, &db_url);
    let id = start_run_until_rented(&a_url).await;
    let sessions = live_sessions(&broker).await;
    assert_eq!(sessions.len(), 1);
    let session = sessions[0]["id"].as_str().unwrap().to_owned();
    // The follower knows the session from the poller's events, not from reading the broker.
    crate::support::eventually(Duration::from_secs(30), || async {
        listed_running(&b_url, &session).await.then_some(())
    })
    .await;
    assert_eq!(poller_holder(&db).await, Some(a.pid()), "b only follows");
    a.signal("KILL");
    a.wait_within(Duration::from_secs(30));
    let (run, took) = closed_and_confirmed(&b_url, &id).await;
    // The second takes the poller's lease, and its sessions follow the broker again: the
    // destroyed session leaves the running ones.
    poller_held_by(&db, &b).await;
    crate::support::eventually(Duration::from_secs(30), || async {
        (!listed_running(&b_url, &session).await).then_some(())
    })
    .await;
    assert_eq!(run["error_code"], "interrupted", "{run}");
    assert_eq!(
        live_sessions(&broker).await,
        Vec::<serde_json::Value>::new(),
        "nothing left billing"
    );
    let log = reqwest::get(format!("{b_url}/api/runs/{id}/logs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        log.contains("took this run over"),
        "the run says who closed it: {log}"
    );
    println!(
        "a killed replica's run closed and its session destroyed by the other {:.1} s after the kill (lease {LEASE_SECONDS} s)",
        took.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_paused_past_its_lease_writes_nothing_about_the_run_when_it_wakes() {
    let Some((db_url, db)) = database("paused").await else {
        return;
    };
    let (_simulator, broker) = simulate(&[]);
    let (mut a, a_url) = replica(&broker, &db_url);
    let (_b, b_url) = replica(&broker, &db_url);
    let id = start_run_until_rented(&a_url).await;
    a.signal("STOP");
    closed_and_confirmed(&b_url, &id).await;
    assert_eq!(live_sessions(&broker).await.len(), 0);
    let before = row(&db, &id).await;
    a.signal("CONT");
    // Its heartbeat finds the lease gone: it says so and stops the run here.
    a.wait_for_line(&format!("lost the lease of {id}"), Duration::from_secs(30));
    // Whatever it was doing when paused has had time to try writing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        row(&db, &id).await,
        before,
        "nothing written by the paused replica"
    );
    let run = get_json(format!("{b_url}/api/runs/{id}")).await;
    assert_eq!(run["status"], "interrupted", "{run}");
    assert_eq!(run["cleanup"]["destroyed_confirmed"], true, "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_resumed_by_the_other_replica_and_the_paused_one_leaves_it_serving() {
    let Some((db_url, db)) = database("deployment").await else {
        return;
    };
    let (_simulator, broker) = simulate(&[]);
    // Both replicas hold the same secret key file: the one that takes over opens the
    // deployment's sealed secrets with it.
    let key = crate::deploy_restart::key_file(&data_dir());
    let key = key.to_str().unwrap();
    let (a, a_url) = replica_with(&broker, &db_url, &["--secret-key-file", key]);
    let (_b, b_url) = replica_with(&broker, &db_url, &["--secret-key-file", key]);
    let started = post_ok(
        format!("{a_url}/api/deployments"),
        serde_json::json!({"config": {"model": "qwen2.5-0.5b", "max_price": 5}}),
    )
    .await;
    let id = started["id"].as_str().expect("a deployment").to_owned();
    let serving = |url: String| {
        let id = id.clone();
        async move {
            let d = get_json(format!("{url}/api/deployments/{id}")).await;
            (d["status"] == "serving").then_some(d)
        }
    };
    let first =
        crate::support::eventually(Duration::from_secs(90), || serving(a_url.clone())).await;
    let session = first["session_id"].clone();
    a.signal("STOP");
    // The other replica claims the deployment's run once the lease expires and serves it
    // again from its sealed secrets, on the same session.
    let resumed = crate::support::eventually(Duration::from_secs(60), || async {
        let d = get_json(format!("{b_url}/api/deployments/{id}")).await;
        let message = d["message"].as_str().unwrap_or_default().to_owned();
        (d["status"] == "serving" && message.contains("resumed")).then_some(d)
    })
    .await;
    assert_eq!(resumed["session_id"], session, "{resumed}");
    a.signal("CONT");
    // From its waking on, the deployment's stored record stays the other replica's (read
    // every 50 ms: a write of the woken one would show before the other's next save).
    let lost = format!("lost the lease of {}", first["run_id"].as_str().unwrap());
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(6) {
        let row = db
            .query_one("SELECT body FROM deployments WHERE id = $1", &[&id])
            .await
            .unwrap();
        let stored: serde_json::Value = serde_json::from_str(row.get(0)).unwrap();
        assert!(
            stored["message"]
                .as_str()
                .is_some_and(|m| m.contains("resumed")),
            "the woken replica wrote over the other's record: {stored}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        a.stderr().contains(&lost),
        "it found its lease gone: {}",
        a.stderr()
    );
    assert_eq!(
        live_sessions(&broker).await.len(),
        1,
        "the woken replica left the session to the one serving it"
    );
    let still = get_json(format!("{b_url}/api/deployments/{id}")).await;
    assert_eq!(still["status"], "serving", "{still}");
    // A stop sent to the replica that no longer serves it is passed on to the one that
    // does: the deployment ends and its session is destroyed, confirmed by the broker.
    post_ok(
        format!("{a_url}/api/deployments/{id}/stop"),
        serde_json::json!({}),
    )
    .await;
    let stopped = status_becomes(
        format!("{b_url}/api/deployments/{id}"),
        "stopped",
        Duration::from_secs(60),
    )
    .await;
    let run_id = stopped["run_id"].as_str().unwrap().to_owned();
    crate::support::eventually(Duration::from_secs(30), || async {
        let run = get_json(format!("{b_url}/api/runs/{run_id}")).await;
        (run["cleanup"]["destroyed_confirmed"] == true).then_some(())
    })
    .await;
    assert_eq!(
        live_sessions(&broker).await.len(),
        0,
        "nothing left billing"
    );
}

/// A live client of the replica at `url` (`?new`, or a resume point): every frame it gets,
/// as JSON, until dropped.
async fn live_client(
    url: &str,
    query: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<serde_json::Value> {
    let ws = format!("{}/ws?{query}", url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws)
        .await
        .expect("connects");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                if tx
                    .send(serde_json::from_str(text.as_str()).unwrap())
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    rx
}

/// The event frames received so far, in order.
fn events_of(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
    into: &mut Vec<serde_json::Value>,
) {
    while let Ok(frame) = rx.try_recv() {
        if frame["type"] == "event" {
            into.push(frame);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_replicas_clients_get_one_order_of_events_and_resume_on_either() {
    let Some((db_url, _db)) = database("one order").await else {
        return;
    };
    let (_simulator, broker) = simulate(&[]);
    let (_a, a_url) = replica(&broker, &db_url);
    let (_b, b_url) = replica(&broker, &db_url);
    let mut on_a = live_client(&a_url, "new").await;
    let mut on_b = live_client(&b_url, "new").await;
    let mut snapshots = Vec::new();
    for rx in [&mut on_a, &mut on_b] {
        let frame = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a first frame")
            .unwrap();
        snapshots.push(frame);
    }
    let snapshots = (snapshots[0].clone(), snapshots[1].clone());
    assert_eq!(snapshots.0["type"], "snapshot");
    assert_eq!(
        snapshots.0["epoch"], snapshots.1["epoch"],
        "one epoch: the installation's"
    );
    let epoch = snapshots.0["epoch"].as_str().unwrap().to_owned();
    // A run on each replica at once: two sources of events, interleaved.
    let (run_a, run_b) = tokio::join!(
        start_run_until_rented(&a_url),
        start_run_until_rented(&b_url)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Each run is cancelled through the replica that does not run it: the cancel is
    // passed on to its owner.
    let http = crate::support::http();
    for (url, id) in [(&b_url, &run_a), (&a_url, &run_b)] {
        let answer = http
            .post(format!("{url}/api/runs/{id}/cancel"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202, "accepted for the other replica's run");
    }
    for (url, id) in [(&a_url, &run_a), (&b_url, &run_b)] {
        crate::support::eventually(Duration::from_secs(60), || async {
            let run = get_json(format!("{url}/api/runs/{id}")).await;
            (run["status"] == "cancelled" && run["cleanup"]["destroyed_confirmed"] == true)
                .then_some(())
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    events_of(&mut on_a, &mut seen_a);
    events_of(&mut on_b, &mut seen_b);
    let seqs = |v: &[serde_json::Value]| {
        v.iter()
            .map(|f| f["seq"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let (sa, sb) = (seqs(&seen_a), seqs(&seen_b));
    assert!(sa.len() > 20, "events of both runs: {sa:?}");
    // Each client's events follow its own snapshot with no gap and no repeat. The two
    // snapshots may be of different points (an event can land between the two connects),
    // so the clients are compared from the later one on.
    for (s, snapshot) in [(&sa, &snapshots.0), (&sb, &snapshots.1)] {
        assert_eq!(
            s.first().copied(),
            Some(snapshot["seq"].as_u64().unwrap() + 1),
            "the first event follows the snapshot: {s:?}"
        );
        assert!(
            s.windows(2).all(|w| w[1] == w[0] + 1),
            "no gap, no repeat: {s:?}"
        );
    }
    let from = sa[0].max(sb[0]);
    let (seen_a, seen_b) = (
        &seen_a[(from - sa[0]) as usize..],
        &seen_b[(from - sb[0]) as usize..],
    );
    let sa = &sa[(from - sa[0]) as usize..];
    assert_eq!(
        sa,
        &sb[(from - sb[0]) as usize..],
        "the same numbers on both replicas"
    );
    assert_eq!(
        seen_a, seen_b,
        "the same events in the same order on both replicas"
    );
    for id in [&run_a, &run_b] {
        assert!(
            seen_a
                .iter()
                .any(|f| f["event"]["kind"] == "run_upsert"
                    && f["event"]["run"]["id"] == id.as_str()),
            "each client sees the other replica's run {id}"
        );
    }
    // A client of one replica resumes on the other by replay: its first frame is the event
    // after its last one, as the first replica sent it.
    let last = sa[sa.len() - 6];
    let mut resumed = live_client(&b_url, &format!("last_seq={last}&epoch={epoch}")).await;
    let frame = tokio::time::timeout(Duration::from_secs(10), resumed.recv())
        .await
        .expect("a first frame")
        .unwrap();
    assert_eq!(
        frame,
        seen_a[sa.len() - 5],
        "replayed from {last}, not a snapshot"
    );
    println!(
        "one order on two replicas: {} events, seq {}..={}, identical on both",
        sa.len(),
        sa[0],
        sa[sa.len() - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_the_wrong_token_throttle_hold_on_both_replicas() {
    let Some((db_url, _db)) = database("logins").await else {
        return;
    };
    const TOKEN: &str = "a-team-token-of-32-characters-xx";
    let (_simulator, broker) = simulate(&[]);
    let env = [("GDL_AUTH_TOKEN", TOKEN)];
    let (_a, a_url) = replica_env(&broker, &db_url, &[], &env);
    let (_b, b_url) = replica_env(&broker, &db_url, &[], &env);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{a_url}/login"))
        .form(&[("token", TOKEN), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    let runs_on = |url: String, session: String| {
        let http = http.clone();
        async move {
            http.get(format!("{url}/api/runs"))
                .header("cookie", session)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // A browser the load balancer moves to the other replica stays logged in.
    assert_eq!(runs_on(b_url.clone(), session.clone()).await, 200);
    // A logout on one replica holds on the other within its recheck time (5 s).
    let out = http
        .post(format!("{a_url}/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(runs_on(a_url.clone(), session.clone()).await, 401);
    crate::support::eventually(Duration::from_secs(10), || {
        let check = runs_on(b_url.clone(), session.clone());
        async move { (check.await == 401).then_some(()) }
    })
    .await;
    // Wrong tokens on one replica count on the other: the guesser is throttled there too.
    for _ in 0..5 {
        let wrong = http
            .get(format!("{a_url}/api/runs"))
            .bearer_auth("a-wrong-token-of-32-characters-x")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
    }
    let throttled = crate::support::eventually(Duration::from_secs(10), || async {
        let answer = http
            .get(format!("{b_url}/api/runs"))
            .bearer_auth("another-wrong-token-32-characters")
            .send()
            .await
            .unwrap();
        (answer.status() == 429).then_some(answer)
    })
    .await;
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert_eq!(body["code"], "login_throttled", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_stopped_through_the_other_replica_stops_and_leaves_nothing_billing() {
    let Some((db_url, _db)) = database("campaign stop").await else {
        return;
    };
    let (_simulator, broker) = simulate(&[]);
    let (_a, a_url) = replica(&broker, &db_url);
    let (_b, b_url) = replica(&broker, &db_url);
    let started = post_ok(
        format!("{a_url}/api/campaigns"),
        serde_json::json!({
            "model": "qwen2.5-7b", "budget_usd": 2, "parallel": 2,
            "workload": {"input_tokens": 64, "output_tokens": 24},
            "slo": {"ttft_p95_ms": 2000, "tpot_p95_ms": 45, "min_success": 0.99}
        }),
    )
    .await;
    let id = started["id"].as_str().expect("a campaign").to_owned();
    // Once a candidate rents, the stop goes to the replica that does not run the campaign.
    crate::support::eventually(Duration::from_secs(60), || async {
        let c = get_json(format!("{b_url}/api/campaigns/{id}")).await;
        c["candidates"]
            .as_array()
            .is_some_and(|list| {
                list.iter()
                    .any(|c| c["runs"].as_array().is_some_and(|r| !r.is_empty()))
            })
            .then_some(())
    })
    .await;
    post_ok(
        format!("{b_url}/api/campaigns/{id}/stop"),
        serde_json::json!({}),
    )
    .await;
    status_becomes(
        format!("{b_url}/api/campaigns/{id}"),
        "stopped",
        Duration::from_secs(90),
    )
    .await;
    crate::support::eventually(Duration::from_secs(60), || async {
        live_sessions(&broker).await.is_empty().then_some(())
    })
    .await;
}
