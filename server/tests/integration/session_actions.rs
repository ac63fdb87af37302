//! Session actions over REST against the embedded simulator: clean up, done and extend
//! with structured results and the broker's own messages; a session the broker no longer
//! knows is "session not found"; the orphan guard finds a session no run uses, with its
//! hourly burn, and cleans it up.

use crate::dashboard::Dashboard;
use crate::recovery::nothing_running;
use crate::runs::post;
use crate::support::{eventually, rentable_offer, request};
use gdl_model::sessions::{ActionOutcome, SessionActionResult};
use gdl_model::shopper::SessionStatus;
use serde_json::{json, Value};
use std::time::Duration;

/// A session made on the broker directly (as ours, but by no run), once the dashboard
/// lists it running.
async fn stray_session(d: &Dashboard) -> gdl_model::ids::SessionId {
    let broker = d.broker();
    let sim = d.state.simulator.clone().unwrap();
    let offer = rentable_offer(&sim, &broker).await;
    let id = broker
        .create_session(&request(broker.consumer_id(), &offer))
        .await
        .unwrap()
        .session
        .id;
    eventually(Duration::from_secs(30), || async {
        d.state.dashboard.hub().with_state(|s| {
            s.sessions
                .get(&id)
                .is_some_and(|s| s.status == SessionStatus::Running)
                .then_some(())
        })
    })
    .await;
    id
}

fn result(reply: Value) -> SessionActionResult {
    serde_json::from_value(reply).unwrap()
}

#[tokio::test]
async fn extend_done_and_clean_up_answer_with_what_happened() {
    let d = Dashboard::start(None).await;
    let id = stray_session(&d).await;
    let before = d
        .state
        .dashboard
        .hub()
        .with_state(|s| s.sessions[&id].expires_at)
        .unwrap();
    let (status, reply) = post(
        &d,
        &format!("/api/sessions/{id}/extend"),
        json!({"hours": 2}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let extended = result(reply);
    assert_eq!(extended.outcome, ActionOutcome::Extended);
    assert_eq!(
        extended.expires_at.unwrap() - before,
        chrono::Duration::hours(2)
    );
    // Bad hours: ours for a negative number, the broker's words past its hard maximum.
    let (status, reply) = post(
        &d,
        &format!("/api/sessions/{id}/extend"),
        json!({"hours": -1}),
    )
    .await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (400, Some("invalid_input")),
        "{reply}"
    );
    let (status, reply) = post(
        &d,
        &format!("/api/sessions/{id}/extend"),
        json!({"hours": 12}),
    )
    .await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("extension would exceed 12-hour hard max"),
        "{reply}"
    );
    let (status, reply) = post(&d, &format!("/api/sessions/{id}/done"), json!({})).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(result(reply).outcome, ActionOutcome::Done);
    let (status, reply) = post(&d, &format!("/api/sessions/{id}/cleanup"), Value::Null).await;
    assert_eq!(status, 200, "{reply}");
    let cleaned = result(reply);
    assert_eq!(cleaned.outcome, ActionOutcome::Destroyed, "{cleaned:?}");
    nothing_running(&d).await;
    let (status, reply) = post(&d, "/api/sessions/nope/cleanup", Value::Null).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (404, Some("session_not_found")),
        "{reply}"
    );
    let (status, reply) = post(&d, &format!("/api/sessions/{id}/reboot"), Value::Null).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (404, Some("not_found")),
        "{reply}"
    );
}

#[tokio::test]
async fn a_session_the_broker_no_longer_knows_is_not_found_and_leaves_the_list() {
    let d = Dashboard::start(None).await;
    let id = stray_session(&d).await;
    let sim = d.state.simulator.clone().unwrap();
    let purged = reqwest::Client::new()
        .delete(format!("{}/_sim/sessions/{id}", sim.url()))
        .send()
        .await
        .unwrap();
    assert!(purged.status().is_success());
    let (status, reply) = post(&d, &format!("/api/sessions/{id}/cleanup"), Value::Null).await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (404, Some("session_not_found")),
        "{reply}"
    );
    assert!(reply["message"]
        .as_str()
        .unwrap()
        .starts_with("session not found"));
    assert!(
        !d.state.dashboard.hub().has_session(&id),
        "the list was refreshed"
    );
}

#[tokio::test]
async fn an_orphan_is_found_with_its_burn_and_cleaned_with_one_call() {
    let d = Dashboard::start(None).await;
    let id = stray_session(&d).await;
    let orphans: Value = d.get("/api/orphans").await.json().await.unwrap();
    assert_eq!(orphans["sessions"][0]["id"], id.as_str(), "{orphans}");
    let price = orphans["sessions"][0]["price_per_hour"].as_f64().unwrap();
    assert_eq!(orphans["burn_per_hour"].as_f64().unwrap(), price);
    let (status, reply) = post(&d, "/api/orphans/cleanup", Value::Null).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["cleaned"][0]["id"], id.as_str(), "{reply}");
    assert_eq!(reply["cleaned"][0]["outcome"], "destroyed", "{reply}");
    assert_eq!(reply["failed"], json!([]));
    nothing_running(&d).await;
    let orphans: Value = d.get("/api/orphans").await.json().await.unwrap();
    assert_eq!(orphans["sessions"], json!([]));
}
