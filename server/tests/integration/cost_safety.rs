//! No paid instance is left behind: a cancel at any step (the create in flight included),
//! a client that goes away during a create, and a dashboard that stopped mid-create all end
//! with nothing running at the broker.

use crate::dashboard::Dashboard;
use crate::runs::{finished, run, start, SMALL};
use crate::support::{active_sessions as active, client, eventually, rentable_offer, request, sim};
use gdl_model::code::ErrorCode;
use gdl_model::runs::{OfferChoice, RunStatus, StepName, StepStatus, UnclearCreate};
use gdl_model::shopper::SessionStatus;
use server::shopper::{ShopperClient, Timeouts};
use std::time::Duration;

async fn cancel(d: &Dashboard, id: &str) -> u16 {
    d.http
        .post(format!("{}/api/runs/{id}/cancel", d.url))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn cancel_during_create_waits_for_the_session_and_destroys_it() {
    // Every listed offer rentable: the create in flight makes a session (a stale offer,
    // chosen when the inventory drifted under a busy machine, would make none).
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    let d = Dashboard::start_custom(None, dir, |s| s.sim_mut().ghosts = false).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| f.create_delay_ms = 3000);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    // The POST is in flight: the run records the request as sent (its open "in flight"
    // entry) and no session yet, read in one answer. The step merely running is not
    // enough: a cancel before the request leaves rightly rents nothing.
    eventually(Duration::from_secs(30), || async {
        let r = run(&d, &id).await;
        let create = r
            .steps
            .iter()
            .find(|s| s.name == StepName::CreateSession)
            .unwrap();
        let sent = r
            .unclear_creates
            .iter()
            .any(|u| u.is_open() && u.why == UnclearCreate::IN_FLIGHT);
        (create.status == StepStatus::Running && sent && r.session_id.is_none()).then_some(())
    })
    .await;
    assert_eq!(cancel(&d, &id).await, 202);
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Cancelled);
    let session = done
        .session_id
        .clone()
        .expect("the session the broker made is recorded");
    let cleanup = done.cleanup.unwrap();
    assert!(cleanup.destroyed_confirmed, "{}", cleanup.message);
    assert_eq!(
        d.broker().get_session(&session).await.unwrap().status,
        SessionStatus::Stopped
    );
    assert!(active(&d.broker()).await.is_empty());
}

/// A cancel once each step has started: before the benchmark the run is always still in
/// progress, so the cancel is accepted and the run ends cancelled, with the step that was
/// running (this one or, the fast ones being over already, a later one) failed as
/// cancelled, the ones before it complete and the rest skipped as cancelled. During the benchmark the run
/// may finish first (409, passed). Either way nothing is left running.
#[tokio::test]
async fn cancel_at_every_step_leaves_nothing_running() {
    let d = Dashboard::start(None).await;
    for name in StepName::ALL
        .into_iter()
        .filter(|s| *s != StepName::Cleanup)
    {
        let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
        eventually(Duration::from_secs(60), || async {
            let r = run(&d, &id).await;
            let step = r.steps.iter().find(|s| s.name == name).unwrap();
            (step.status != StepStatus::Pending || r.status.is_finished()).then_some(())
        })
        .await;
        let answer = cancel(&d, &id).await;
        let done = finished(&d, &id).await;
        if name < StepName::Benchmark || answer == 202 {
            assert_eq!(answer, 202, "{name:?}: the cancel is accepted");
            assert_eq!(done.status, RunStatus::Cancelled, "{name:?}");
            assert_eq!(done.error_code, Some(ErrorCode::Cancelled), "{name:?}");
            let pipeline: Vec<_> = done
                .steps
                .iter()
                .filter(|s| s.name != StepName::Cleanup)
                .collect();
            // The first step not complete is the one the cancel stopped: failed as
            // cancelled if it was running, or skipped if the cancel came between two steps.
            let at = pipeline
                .iter()
                .position(|s| s.status != StepStatus::Complete)
                .unwrap_or_else(|| panic!("{name:?}: every step completed: {:#?}", done.steps));
            let stopped = pipeline[at];
            assert!(
                stopped.name >= name,
                "{name:?}: stopped at {:?}, but {name:?} had started: {:#?}",
                stopped.name,
                done.steps
            );
            match stopped.status {
                StepStatus::Failed => {
                    assert_eq!(stopped.code, Some(ErrorCode::Cancelled), "{name:?}");
                    assert!(stopped.started_at.is_some(), "{name:?}: it was running");
                }
                StepStatus::Skipped => {
                    assert!(stopped.started_at.is_none(), "{name:?}: never started")
                }
                other => panic!("{name:?}: {:?} is {other:?}", stopped.name),
            }
            assert!(
                pipeline[at + 1..]
                    .iter()
                    .all(|s| s.status == StepStatus::Skipped
                        && s.reason.as_deref() == Some("cancelled")),
                "{name:?}: the steps after it are skipped as cancelled: {:#?}",
                done.steps
            );
        } else {
            assert_eq!(answer, 409, "{name:?}: cancel answered {answer}");
            assert_eq!(done.status, RunStatus::Passed, "{name:?}: finished first");
        }
        assert!(
            active(&d.broker()).await.is_empty(),
            "{name:?}: nothing left running"
        );
    }
}

#[tokio::test]
async fn a_create_whose_client_went_away_still_completes() {
    let server = sim(60.0).await;
    server
        .simulator()
        .update_faults(|f| f.create_delay_ms = 800);
    let patient = client(&server.url());
    let hasty = ShopperClient::new(
        &server.url(),
        Timeouts {
            provider_call: Duration::from_millis(200),
            ..Timeouts::default()
        },
    )
    .unwrap()
    .with_retries(0);
    let offer = rentable_offer(&server, &patient).await;
    let err = hasty
        .create_session(&request(hasty.consumer_id(), &offer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ShopperTimeout, "{err}");
    // As with the broker (a Go server), the session exists anyway and starts running.
    let session = eventually(Duration::from_secs(20), || async {
        patient
            .our_sessions()
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.status == SessionStatus::Running)
    })
    .await;
    assert_eq!(session.gpu_type, offer.gpu_type);
}

#[tokio::test]
async fn a_restart_finds_and_destroys_a_session_created_while_the_dashboard_was_gone() {
    let server = sim(60.0).await;
    let broker = client(&server.url());
    let offer = rentable_offer(&server, &broker).await;
    // The previous process: in Create session, the offer recorded, then gone before the
    // broker's reply (which carried the session id) was saved.
    let data_dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let mut interrupted = crate::runs::stopped_during(StepName::CreateSession);
    interrupted.offer = Some(OfferChoice {
        offer_id: offer.id.clone(),
        provider: offer.provider.clone(),
        gpu_type: offer.gpu_type.clone(),
        gpu_count: offer.gpu_count,
        vram_gb: offer.vram_gb,
        price_per_hour: offer.price_per_hour,
    });
    let store = crate::support::store_for(&data_dir).await;
    store.save_run(&interrupted).await.unwrap();
    // The broker made it for this installation while the dashboard was gone.
    let mine = gdl_model::consumer_id(&store.installation_id().await.unwrap());
    drop(store);
    let orphan = broker
        .create_session(&request(&mine, &offer))
        .await
        .unwrap()
        .session
        .id;

    let d = Dashboard::start_in(Some(&server.url()), data_dir).await;
    // Interrupted before the dashboard listens; its session destroyed in the background.
    assert_eq!(
        run(&d, "run-interrupted").await.status,
        RunStatus::Interrupted
    );
    let back = crate::support::eventually(std::time::Duration::from_secs(30), || async {
        let r = run(&d, "run-interrupted").await;
        r.cleanup
            .as_ref()
            .is_some_and(|c| c.destroyed_confirmed)
            .then_some(r)
    })
    .await;
    assert_eq!(back.error_code, Some(ErrorCode::Interrupted));
    let create = back
        .steps
        .iter()
        .find(|s| s.name == StepName::CreateSession)
        .unwrap();
    assert_eq!(create.status, StepStatus::Interrupted);
    // Found as what the interrupted create made: a rental of the run, destroyed.
    let rental = back
        .rentals
        .iter()
        .find(|r| r.session_id == orphan)
        .expect("recorded as the run's rental");
    assert_eq!(rental.destroyed, Some(true));
    assert!(back.unclear_creates.iter().all(|u| !u.is_open()));
    assert_eq!(
        broker.get_session(&orphan).await.unwrap().status,
        SessionStatus::Stopped
    );
}

#[tokio::test]
async fn a_machine_that_fails_to_start_is_replaced_by_the_next_offer() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.failing_provisionings = 2);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert_eq!(done.rentals.len(), 3, "{:#?}", done.rentals);
    for failed in &done.rentals[..2] {
        assert!(failed
            .failure
            .as_deref()
            .unwrap()
            .contains("instance_vanished"));
        assert_eq!(failed.destroyed, Some(true));
        assert!(failed.cost_usd >= 0.0);
    }
    let used = &done.rentals[2];
    assert!(used.failure.is_none() && used.destroyed == Some(true));
    assert_eq!(done.session_id.as_deref(), Some(used.session_id.as_str()));
    assert_ne!(
        done.rentals[0].offer.offer_id,
        done.rentals[1].offer.offer_id
    );
    let logs = d.state.dashboard.hub().with_state(|s| s.logs[&id].clone());
    assert_eq!(
        logs.iter()
            .filter(|l| l.message.contains("cost so far $"))
            .count(),
        2,
        "each failed rental is logged with its cost"
    );
    assert!(active(&d.broker()).await.is_empty());
    let html = d.get("/").await.text().await.unwrap();
    assert_eq!(
        html.matches("data-failed=\"true\"").count(),
        2,
        "the page lists each failed rental"
    );
    assert!(html.contains("data-rental=\"3\""));
}

#[tokio::test]
async fn the_rentals_a_run_may_make_are_bounded() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.failing_provisionings = 5);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed);
    assert_eq!(done.error_code, Some(ErrorCode::ProvisioningFailed));
    assert_eq!(done.rentals.len(), 3, "the default maximum");
    assert!(done.rentals.iter().all(|r| r.destroyed == Some(true)));
    assert!(done.error.unwrap().contains("3 rental(s)"));
    assert!(active(&d.broker()).await.is_empty());
}

#[tokio::test]
async fn a_destroy_under_way_is_answered_at_once_and_followed_until_stopped() {
    let server = sim(60.0).await;
    let c = client(&server.url());
    let id = crate::support::create(&server, &c).await.session.id;
    server
        .simulator()
        .update_faults(|f| f.destroy_delay_ms = 1500);
    let first = {
        let c = c.clone();
        let id = id.clone();
        tokio::spawn(async move { c.delete_session(&id).await })
    };
    eventually(Duration::from_secs(5), || async {
        (c.get_session(&id).await.unwrap().status == SessionStatus::Stopping).then_some(())
    })
    .await;
    // The broker answers a second destroy at once while the first is under way.
    let started = std::time::Instant::now();
    c.delete_session(&id).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let deletes = || server.simulator().delete_requests(&id);
    assert_eq!(deletes(), 2);
    // Cleanup's destroy keeps asking until the broker says stopped: one destroy, then only
    // lookups while the broker reports it stopping (never a destroy again).
    let destroyed = server::runner::destroy::destroy(&c, &id, Duration::from_secs(20), &|_| {})
        .await
        .unwrap();
    assert_eq!(destroyed, server::runner::destroy::Destroyed::Stopped);
    assert_eq!(
        deletes(),
        3,
        "cleanup's destroy asked the broker to destroy it once"
    );
    first.await.unwrap().unwrap();
    assert_eq!(deletes(), 3);
}

#[tokio::test]
async fn a_failing_broker_is_asked_again_until_the_destroy_is_confirmed() {
    use server::runner::destroy::destroy;
    let server = sim(60.0).await;
    let c = client(&server.url());
    let id = crate::support::create(&server, &c).await.session.id;
    server.simulator().update_faults(|f| f.error_burst = 3);
    let destroyed = destroy(&c, &id, Duration::from_secs(20), &|_| {})
        .await
        .unwrap();
    assert_eq!(destroyed, server::runner::destroy::Destroyed::Stopped);

    // A broker that stays away: unconfirmed, with the code and a hint, within the patience.
    let other = crate::support::create(&server, &c).await.session.id;
    server.simulator().set_offline(true);
    let started = std::time::Instant::now();
    let err = destroy(&c, &other, Duration::from_secs(2), &|_| {})
        .await
        .unwrap_err();
    server.simulator().set_offline(false);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.code, ErrorCode::DestroyUnconfirmed);
    assert!(err.hint.unwrap().contains("may still be billing"));
    destroy(&c, &other, Duration::from_secs(20), &|_| {})
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_base_path_is_not_taken_for_a_destroyed_session() {
    use server::runner::destroy::destroy;
    let server = sim(60.0).await;
    let c = client(&server.url());
    let id = crate::support::create(&server, &c).await.session.id;
    let wrong = client(&format!("{}/not-the-broker", server.url()));
    let err = destroy(&wrong, &id, Duration::from_secs(1), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DestroyUnconfirmed, "{err}");
    assert!(err.message.contains("no such route"), "{err}");
    assert!(c.get_session(&id).await.unwrap().status.is_active());
}

#[tokio::test]
async fn a_host_flooding_its_output_leaves_the_dashboard_small() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    // About 75 MB of output, then a 10 MB line without an end, during the image pull.
    sim.simulator()
        .update_faults(|f| f.host_flood_lines = 1_000_000);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    let logs = d.state.dashboard.hub().with_state(|s| s.logs[&id].clone());
    assert!(logs.len() < 1000, "{} lines kept", logs.len());
    assert!(logs.iter().all(|l| l.message.len() <= 2 * 1024 + 64));
    let stored = d
        .state
        .dashboard
        .runner()
        .store()
        .logs(&id.as_str().into(), 100_000)
        .await
        .unwrap();
    assert!(stored.len() < 1000, "{} lines stored", stored.len());
    let db: u64 = std::fs::read_dir(&d.data_dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(db < 4 * 1024 * 1024, "the database holds {db} bytes");
}
