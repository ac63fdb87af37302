//! The dashboard through a failing broker: the circuit breaker opens on a dead or hung
//! broker and closes when it is back, pages keep answering from what is known, 5xx bursts
//! are retried then typed (429s never count as failures), destroy and done still reach the
//! broker while it is open, a malformed reply is a typed error, and a cold inventory never
//! holds up the sessions.

use crate::dashboard::Dashboard;
use crate::support::{client, eventually, sim};
use gdl_model::breaker::BreakerPhase;
use gdl_model::sessions::SessionsView;
use gdl_model::status::{BrokerState, StatusView};
use server::shopper::ShopperError;
use std::time::{Duration, Instant};

async fn status(d: &Dashboard) -> StatusView {
    d.get("/api/status").await.json().await.unwrap()
}

#[tokio::test]
async fn a_hung_broker_opens_the_breaker_and_pages_answer_from_what_is_known() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.as_ref().unwrap().simulator().clone();
    // Listed once while the broker is well.
    let before: gdl_model::inventory::InventoryView =
        d.get("/api/inventory").await.json().await.unwrap();
    assert!(!before.offers.is_empty() && before.listed_at.is_some());
    // Every call now hangs far past the probe timeout: the health checks time out.
    sim.update_faults(|f| f.slow_ms = 30_000);
    // Once open, the status card's next check is refused at once (no wait on the hung
    // broker) and says so.
    let open = eventually(Duration::from_secs(30), || async {
        let s = status(&d).await;
        let refused = s.broker.code.map(|c| c.as_str()) == Some("shopper_unreachable");
        (s.broker.breaker.phase == BreakerPhase::Open && refused).then_some(s)
    })
    .await;
    assert_eq!(open.broker.state, BrokerState::Offline);
    assert!(open
        .broker
        .reason
        .unwrap()
        .contains("calls to the broker are paused"));
    assert!(open.broker.breaker.probe_at.is_some());
    assert!(
        open.broker.breaker.failures >= 5,
        "{:?}",
        open.broker.breaker
    );
    // No answer waits on the hung broker: calls fail at once, pages show what is known.
    let started = Instant::now();
    let err = d
        .state
        .dashboard
        .monitor()
        .client()
        .list_sessions(&Default::default())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused without calling"
    );
    assert!(matches!(err, ShopperError::CircuitOpen { .. }), "{err:?}");
    assert_eq!(err.code().as_str(), "shopper_unreachable");
    assert!(
        err.hint().contains("tries the broker again in"),
        "{}",
        err.hint()
    );
    assert!(
        err.hint().contains("slow or hung"),
        "the failure's own hint first: {}",
        err.hint()
    );
    for path in [
        "/api/status",
        "/api/sessions",
        "/api/inventory",
        "/",
        "/inventory",
    ] {
        let started = Instant::now();
        let r = d.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        // The hung broker would take 30 s; the patience is 0.8 s.
        assert!(started.elapsed() < Duration::from_secs(5), "{path} waited");
    }
    let kept: gdl_model::inventory::InventoryView =
        d.get("/api/inventory").await.json().await.unwrap();
    assert_eq!(
        kept.offers.len(),
        before.offers.len(),
        "the last list, kept"
    );
    assert!(
        kept.listed_at.is_some() && kept.listed_at <= Some(chrono::Utc::now()),
        "with when it was read"
    );
    let page = d.get("/").await.text().await.unwrap();
    assert!(
        page.contains("data-breaker=\"open\""),
        "the status card says so"
    );
    // Back: the next probe closes it.
    sim.update_faults(|f| f.slow_ms = 0);
    let closed = eventually(Duration::from_secs(30), || async {
        let s = status(&d).await;
        (s.broker.breaker.phase == BreakerPhase::Closed && s.broker.state == BrokerState::Ready)
            .then_some(s)
    })
    .await;
    let phases: Vec<BreakerPhase> = closed
        .broker
        .breaker
        .transitions
        .iter()
        .map(|t| t.to)
        .collect();
    assert!(
        phases.ends_with(&[
            BreakerPhase::Open,
            BreakerPhase::HalfOpen,
            BreakerPhase::Closed
        ]),
        "{phases:?}"
    );
}

#[tokio::test]
async fn an_offline_broker_opens_the_breaker_and_it_closes_within_the_probe_time() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    c.health().await.unwrap();
    server.simulator().set_offline(true);
    for _ in 0..5 {
        let e = c.health().await.unwrap_err();
        assert!(matches!(e, ShopperError::Unreachable { .. }), "{e:?}");
    }
    assert_eq!(c.breaker().view().phase, BreakerPhase::Open);
    assert!(matches!(
        c.health().await,
        Err(ShopperError::CircuitOpen { .. })
    ));
    server.simulator().set_offline(false);
    // Open for 0.5 s: then one probe, which the broker answers.
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.health().await.unwrap();
    assert_eq!(c.breaker().view().phase, BreakerPhase::Closed);
}

#[tokio::test]
async fn a_5xx_burst_is_retried_then_typed_and_4xx_or_429_are_no_failures() {
    let server = sim(200.0).await;
    let c = client(&server.url()).with_retries(2);
    server.simulator().update_faults(|f| f.error_burst = 2);
    c.list_sessions(&Default::default()).await.unwrap();
    server.simulator().update_faults(|f| f.error_burst = 3);
    let e = c.list_sessions(&Default::default()).await.unwrap_err();
    assert!(
        matches!(e, ShopperError::Server { status: 500, .. }),
        "{e:?}"
    );
    assert_eq!(c.breaker().view().failures, 3, "each attempt counted");
    assert_eq!(c.breaker().view().phase, BreakerPhase::Closed);
    // The broker answering no (404) or slow down (429) is not the broker failing.
    let missing = c.get_session("no-such-session").await.unwrap_err();
    assert!(
        matches!(missing, ShopperError::NotFound { .. }),
        "{missing:?}"
    );
    assert_eq!(c.breaker().view().failures, 0);
    server.simulator().update_faults(|f| f.rate_limited = 1);
    c.list_sessions(&Default::default()).await.unwrap();
    assert_eq!(
        c.breaker().view().failures,
        0,
        "a 429 is backed off, then retried"
    );
    // More 429s in a row than the breaker's threshold (5), none retried: each is typed as
    // rate limiting, none counts as a failure, and the breaker stays closed (were they
    // failures, the sixth call would be refused by the open breaker).
    let once = client(&server.url());
    server.simulator().update_faults(|f| f.rate_limited = 8);
    for call in 1..=8 {
        let e = once.list_sessions(&Default::default()).await.unwrap_err();
        assert!(
            matches!(e, ShopperError::RateLimited { .. }),
            "call {call}: {e:?}"
        );
        let breaker = once.breaker().view();
        assert_eq!(
            (breaker.failures, breaker.phase),
            (0, BreakerPhase::Closed),
            "call {call}"
        );
    }
    once.list_sessions(&Default::default()).await.unwrap();
}

#[tokio::test]
async fn a_malformed_reply_is_a_typed_error_and_the_dashboard_keeps_going() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.as_ref().unwrap().simulator().clone();
    eventually(Duration::from_secs(10), || async {
        status(&d).await.inventory_at.map(|_| ())
    })
    .await;
    // The next 8 replies are cut short: the polls and inventory reads get typed errors (the
    // status says so; five in a row open the breaker, whose probes use up the rest),
    // nothing panics, and the offers listed before are kept.
    sim.update_faults(|f| f.malformed = 8);
    eventually(Duration::from_secs(10), || async {
        let s = status(&d).await;
        let said = s.broker.code.map(|c| c.as_str()) == Some("shopper_bad_response")
            || s.inventory_error.is_some();
        said.then_some(())
    })
    .await;
    let kept: gdl_model::inventory::InventoryView =
        d.get("/api/inventory").await.json().await.unwrap();
    assert!(!kept.offers.is_empty());
    // And then it recovers by itself.
    eventually(Duration::from_secs(30), || async {
        let s = status(&d).await;
        (s.inventory_error.is_none() && s.broker.state == BrokerState::Ready).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_cold_inventory_never_holds_up_the_sessions() {
    let d = Dashboard::start(None).await;
    let server = d.state.simulator.as_ref().unwrap();
    // Every inventory listing now takes 6 s, as a cold broker's does.
    server
        .simulator()
        .update_faults(|f| f.cold_inventory_ms = 6_000);
    let created = crate::support::create(server, &d.broker()).await.session.id;
    // Sessions are polled every 0.1–0.2 s here: one shows up within a second or so.
    let started = Instant::now();
    eventually(Duration::from_secs(5), || async {
        let view: SessionsView = d.get("/api/sessions").await.json().await.unwrap();
        view.sessions.iter().any(|s| s.id == created).then_some(())
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "sessions waited on the inventory: {:?}",
        started.elapsed()
    );
    server
        .simulator()
        .update_faults(|f| f.cold_inventory_ms = 0);
}

/// Cleanup calls never wait on the breaker: while it is open (a 5xx burst, and long enough
/// that it cannot close during the test), other calls are refused at once, but a destroy
/// and a done still reach the broker, which ends both sessions.
#[tokio::test]
async fn destroy_and_done_go_through_an_open_breaker() {
    let server = sim(60.0).await;
    let c = client(&server.url()).with_breaker(server::shopper::BreakerConfig {
        threshold: 5,
        open_for: Duration::from_secs(120),
        probes: 1,
    });
    let offers = c.inventory_all(&Default::default()).await.unwrap();
    let mut rentable = offers
        .iter()
        .filter(|o| server.simulator().is_rentable(&o.id));
    let mut rent = async || {
        let offer = rentable.next().expect("a rentable offer");
        let request = crate::support::request(c.consumer_id(), offer);
        c.create_session(&request).await.unwrap().session.id
    };
    let destroyed = rent().await;
    let finished = rent().await;
    server.simulator().update_faults(|f| f.error_burst = 5);
    for _ in 0..5 {
        let e = c.health().await.unwrap_err();
        assert!(
            matches!(e, ShopperError::Server { status: 500, .. }),
            "{e:?}"
        );
    }
    assert_eq!(c.breaker().view().phase, BreakerPhase::Open);
    let refused = c.get_session(&destroyed).await.unwrap_err();
    assert!(
        matches!(refused, ShopperError::CircuitOpen { .. }),
        "{refused:?}"
    );
    assert_eq!(server.simulator().delete_requests(&destroyed), 0);

    c.delete_session(&destroyed)
        .await
        .expect("the destroy is sent");
    assert_eq!(server.simulator().delete_requests(&destroyed), 1);
    assert_eq!(c.breaker().view().phase, BreakerPhase::Open);
    c.done(&finished).await.expect("the done is sent");
    // Confirmed by the broker itself (read by a client whose breaker is closed).
    let reader = client(&server.url());
    for id in [&destroyed, &finished] {
        eventually(Duration::from_secs(30), || async {
            let s = reader.get_session(id).await.unwrap();
            (s.status == gdl_model::shopper::SessionStatus::Stopped).then_some(())
        })
        .await;
    }
    assert!(matches!(
        c.list_sessions(&Default::default()).await,
        Err(ShopperError::CircuitOpen { .. })
    ));
}
