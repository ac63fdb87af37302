//! Nothing this installation rents is left billing, and "confirmed" only ever means the
//! broker confirmed it: a create whose answer was lost is found and destroyed once the
//! broker answers; after a restart every rental of a run is destroyed, never confirmed
//! while the broker is away; a session nothing owns is destroyed after its grace period;
//! another dashboard's sessions on the same broker are shown as foreign and left alone.

use crate::dashboard::Dashboard;
use crate::recovery::step_running;
use crate::runs::{finished, run, start, SMALL};
use crate::support::{client, eventually, rentable_offer, request, sim};
use gdl_model::runs::{OfferChoice, Rental, RunStatus, StepName, StepStatus};
use gdl_model::sessions::{Orphans, SessionsView};
use gdl_model::shopper::{Offer, Session, SessionStatus};
use server::runner::ReconcileConfig;
use server::simulator::SimServer;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The reconciler at the tests' pace; automatic cleanup of unowned sessions off.
fn fast() -> ReconcileConfig {
    ReconcileConfig {
        every: Duration::from_millis(300),
        grace: None,
        unclear_window: Duration::from_secs(2),
        destroy_patience: Duration::from_secs(10),
        listing_patience: Duration::from_secs(1),
    }
}

fn data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()))
}

async fn dashboard(server: &SimServer, reconcile: ReconcileConfig) -> Dashboard {
    dashboard_in(server, data_dir(), reconcile).await
}

async fn dashboard_in(
    server: &SimServer,
    dir: std::path::PathBuf,
    reconcile: ReconcileConfig,
) -> Dashboard {
    Dashboard::start_custom(Some(&server.url()), dir, |s| {
        s.tuning.reconcile = Some(reconcile)
    })
    .await
}

/// The `consumer_id` a dashboard creates sessions with (its installation's).
fn consumer(d: &Dashboard) -> String {
    d.broker().consumer_id().to_owned()
}

/// The simulator's own record of a session (it answers even while offline).
fn at_broker(server: &SimServer, id: &str) -> Option<Session> {
    server
        .simulator()
        .sessions()
        .into_iter()
        .find(|s| s.id == id)
}

fn active_at_broker(server: &SimServer) -> Vec<Session> {
    server
        .simulator()
        .sessions()
        .into_iter()
        .filter(|s| s.status.is_active())
        .collect()
}

fn choice(offer: &Offer) -> OfferChoice {
    OfferChoice::of(offer)
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_and_destroyed_once_the_broker_answers() {
    let server = sim(60.0).await;
    let d = dashboard(&server, fast()).await;
    let mine = consumer(&d);
    // The broker receives the create, records it, and takes 3 s to finish it.
    server
        .simulator()
        .update_faults(|f| f.create_delay_ms = 3000);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    step_running(&d, &id, StepName::CreateSession).await;
    let made = eventually(Duration::from_secs(20), || async {
        active_at_broker(&server)
            .into_iter()
            .find(|s| s.consumer_id == mine)
    })
    .await;
    // The connection is cut before the answer: the run never learns the session's id.
    server.simulator().set_offline(true);
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed, "{:?}", done.error);
    let cleanup = done.cleanup.clone().expect("cleanup ran");
    assert!(
        !cleanup.destroyed_confirmed,
        "nothing is confirmed while the broker cannot be asked: {}",
        cleanup.message
    );
    assert_eq!(done.unclear_creates.len(), 1, "{:?}", done.unclear_creates);
    assert!(done.unclear_creates[0].is_open());
    assert!(done.owes_cleanup());
    let cleanup_step = done
        .steps
        .iter()
        .find(|s| s.name == StepName::Cleanup)
        .unwrap();
    assert_eq!(cleanup_step.status, StepStatus::Failed);
    // Meanwhile the broker finished the create: a paid session no run knows of.
    eventually(Duration::from_secs(20), || async {
        (at_broker(&server, &made.id)?.status == SessionStatus::Running).then_some(())
    })
    .await;

    server.simulator().set_offline(false);
    let settled = eventually(Duration::from_secs(60), || async {
        let r = run(&d, &id).await;
        r.cleanup
            .as_ref()
            .is_some_and(|c| c.destroyed_confirmed)
            .then_some(r)
    })
    .await;
    let rental: &Rental = settled
        .rentals
        .iter()
        .find(|r| r.session_id == made.id)
        .expect("the session the lost create made is one of the run's rentals");
    assert_eq!(rental.destroyed, Some(true));
    assert!(rental.cost_usd > 0.0, "its cost is recorded");
    let create = &settled.unclear_creates[0];
    assert!(
        create
            .settled
            .as_deref()
            .is_some_and(|s| s.contains(made.id.as_str())),
        "{create:?}"
    );
    assert!(!settled.owes_cleanup());
    assert_eq!(
        at_broker(&server, &made.id).unwrap().status,
        SessionStatus::Stopped
    );
    assert!(active_at_broker(&server).is_empty());
    assert!(crate::recovery::log_has(
        &d,
        &id,
        "whose answer was lost made session"
    ));
}

#[tokio::test]
async fn after_a_restart_every_rental_is_destroyed_and_nothing_is_confirmed_while_the_broker_is_away(
) {
    let server = sim(60.0).await;
    let broker = client(&server.url());
    let dir = data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let store = crate::support::store_for(&dir).await;
    let mine = gdl_model::consumer_id(&store.installation_id().await.unwrap());
    let offers: Vec<Offer> = broker
        .inventory_all(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|o| server.simulator().is_rentable(&o.id))
        .filter(|o| o.provider == gdl_model::shopper::Provider::VastAi)
        .take(2)
        .collect();
    let mut rentals = Vec::new();
    for (i, offer) in offers.iter().enumerate() {
        let created = broker
            .create_session(&request(&mine, offer))
            .await
            .unwrap()
            .session;
        rentals.push(Rental {
            attempt: i as u32 + 1,
            session_id: created.id,
            offer: choice(offer),
            created_at: created.created_at,
            expires_at: created.expires_at,
            // The first machine failed to start and its destroy was not confirmed.
            failure: (i == 0).then(|| "the provider failed to start it".to_owned()),
            cost_usd: if i == 0 { 0.01 } else { 0.0 },
            destroyed: (i == 0).then_some(false),
            ended_at: None,
            running_after_secs: None,
        });
    }
    // The previous process died during Benchmark with the second rental in use.
    let mut interrupted = crate::runs::stopped_during(StepName::Benchmark);
    interrupted.session_id = Some(rentals[1].session_id.clone());
    interrupted.offer = Some(rentals[1].offer.clone());
    interrupted.rentals = rentals.clone();
    store.save_run(&interrupted).await.unwrap();
    drop(store);

    server.simulator().set_offline(true);
    let d = dashboard_in(&server, dir, fast()).await;
    let counters = || d.state.dashboard.runner().reconcile_counters();
    eventually(Duration::from_secs(20), || async {
        (counters().failed_listings.load(Ordering::Relaxed) >= 3).then_some(())
    })
    .await;
    let waiting = run(&d, "run-interrupted").await;
    assert_eq!(waiting.status, RunStatus::Interrupted);
    assert!(
        waiting
            .cleanup
            .as_ref()
            .is_none_or(|c| !c.destroyed_confirmed),
        "a broker that does not answer confirms nothing: {:?}",
        waiting.cleanup
    );
    assert_eq!(active_at_broker(&server).len(), 2);

    server.simulator().set_offline(false);
    let back = eventually(Duration::from_secs(60), || async {
        let r = run(&d, "run-interrupted").await;
        r.cleanup
            .as_ref()
            .is_some_and(|c| c.destroyed_confirmed)
            .then_some(r)
    })
    .await;
    for rental in &back.rentals {
        assert_eq!(rental.destroyed, Some(true), "{rental:?}");
        assert!(
            rental.ended_at.is_some(),
            "the reconciler records when it ended: {rental:?}"
        );
        assert_eq!(
            at_broker(&server, &rental.session_id).unwrap().status,
            SessionStatus::Stopped,
            "the earlier rental too"
        );
    }
    assert!(active_at_broker(&server).is_empty());
}

#[tokio::test]
async fn a_session_nothing_owns_is_destroyed_after_its_grace_and_another_dashboards_is_left_alone()
{
    let server = sim(60.0).await;
    let broker = client(&server.url());
    let ours = dashboard(
        &server,
        ReconcileConfig {
            grace: Some(Duration::from_secs(1)),
            ..fast()
        },
    )
    .await;
    // Another installation on the same broker, with automatic cleanup off.
    let theirs = dashboard(&server, fast()).await;
    let (mine, other) = (consumer(&ours), consumer(&theirs));
    assert_ne!(mine, other, "each installation has its own consumer id");
    let offer = rentable_offer(&server, &broker).await;
    let create = |consumer: String| {
        let (broker, offer) = (&broker, &offer);
        async move {
            let made = broker.create_session(&request(&consumer, offer)).await;
            made.unwrap().session.id
        }
    };
    let orphan = create(mine.clone()).await;
    let foreign = create(other.clone()).await;

    let record = eventually(Duration::from_secs(30), || async {
        ours.state.dashboard.hub().with_state(|s| {
            s.reconciled
                .iter()
                .find(|r| r.session.id == orphan && r.confirmed)
                .cloned()
        })
    })
    .await;
    assert!(record.cost_usd > 0.0, "{record:?}");
    assert!(record.message.contains("destroyed by the reconciler"));
    assert_eq!(
        broker.get_session(&orphan).await.unwrap().status,
        SessionStatus::Stopped
    );
    // Three more passes: the other installation's session is left alone.
    let passes = || {
        let counters = ours.state.dashboard.runner().reconcile_counters();
        counters.passes.load(Ordering::Relaxed)
    };
    let before = passes();
    eventually(Duration::from_secs(20), || async {
        (passes() >= before + 3).then_some(())
    })
    .await;
    // It goes on to run (a session the reconciler destroyed never would; how many polls its
    // provisioning takes depends on the simulated market's draws, so it is waited for).
    eventually(Duration::from_secs(30), || async {
        let status = broker.get_session(&foreign).await.unwrap().status;
        (status == SessionStatus::Running).then_some(())
    })
    .await;
    // Ours shows it as another dashboard's, never as an orphan.
    let listed = eventually(Duration::from_secs(20), || async {
        let view: SessionsView = ours.get("/api/sessions").await.json().await.unwrap();
        view.sessions.into_iter().find(|s| s.id == foreign)
    })
    .await;
    assert!(listed.foreign, "{listed:?}");
    let orphans: Orphans = ours.get("/api/orphans").await.json().await.unwrap();
    assert!(
        orphans.sessions.iter().all(|s| s.id != foreign),
        "{orphans:?}"
    );
    // The other dashboard, automatic cleanup off, shows its own as an orphan.
    let theirs_orphans = eventually(Duration::from_secs(20), || async {
        let o: Orphans = theirs.get("/api/orphans").await.json().await.unwrap();
        o.sessions.iter().any(|s| s.id == foreign).then_some(o)
    })
    .await;
    assert!(theirs_orphans.sessions.iter().all(|s| !s.foreign));
    // What /metrics says of it: the passes, the one destroyed and what it had cost, and no
    // orphan left here (the other dashboard's session is not ours to count).
    let metrics = eventually(Duration::from_secs(20), || async {
        let text = ours.get("/metrics").await.text().await.unwrap();
        (metric(&text, "gdl_orphans") == 0.0).then_some(text)
    })
    .await;
    assert!(
        metrics.contains("gdl_reconciler_destroyed_total 1\n"),
        "{metrics}"
    );
    let passes_seen = metric(&metrics, "gdl_reconciler_passes_total");
    assert!(passes_seen >= (before + 3) as f64, "{metrics}");
    let usd = metric(&metrics, "gdl_reconciler_destroyed_usd_total");
    assert!(usd > 0.0, "{metrics}");
    assert!(
        (usd - record.cost_usd).abs() < 1e-5,
        "the destroyed session's cost {}: {metrics}",
        record.cost_usd
    );
    // The other dashboard counts its own session as its one orphan, and destroyed nothing.
    let theirs_metrics = theirs.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        metric(&theirs_metrics, "gdl_orphans"),
        1.0,
        "{theirs_metrics}"
    );
    assert_eq!(
        metric(&theirs_metrics, "gdl_reconciler_destroyed_total"),
        0.0,
        "{theirs_metrics}"
    );
    assert_eq!(
        metric(&theirs_metrics, "gdl_reconciler_destroyed_usd_total"),
        0.0,
        "{theirs_metrics}"
    );
    broker.delete_session(&foreign).await.unwrap();
}

/// The value of a sample without labels in Prometheus text (the test fails if it is absent).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e} in {text}"))
}
