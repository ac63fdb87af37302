//! Session actions over REST against the embedded simulator: clean up, done and extend
//! with structured results and the broker's own messages; a session the broker no longer
//! knows is "session not found", and one that has ended is "session terminal"; the orphan
//! guard finds a session no run uses, with its hourly burn, and cleans it up, sparing the
//! session of a run in progress.

use crate::dashboard::Dashboard;
use crate::recovery::{nothing_running, step_running};
use crate::runs::{finished, kept_failed_run, post, run, start, SMALL};
use crate::support::{eventually, rentable_offer, request};
use gdl_model::runs::{RunStatus, StepName};
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
    let purged = crate::support::http()
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

/// Done and extend on a session that has ended are the broker's refusal, typed: 409
/// `session_terminal` with the broker's words and a hint, not a failure of the dashboard.
#[tokio::test]
async fn an_action_on_an_ended_session_is_session_terminal() {
    let d = Dashboard::start(None).await;
    let id = stray_session(&d).await;
    d.broker().delete_session(&id).await.unwrap();
    eventually(Duration::from_secs(30), || async {
        d.state.dashboard.hub().with_state(|s| {
            s.sessions
                .get(&id)
                .is_some_and(|s| s.status == SessionStatus::Stopped)
                .then_some(())
        })
    })
    .await;
    for (action, body) in [("done", json!({})), ("extend", json!({"hours": 1}))] {
        let (status, reply) = post(&d, &format!("/api/sessions/{id}/{action}"), body).await;
        assert_eq!(
            (status, reply["code"].as_str()),
            (409, Some("session_terminal")),
            "{action}: {reply}"
        );
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .contains("terminal state"),
            "{action}: {reply}"
        );
        assert!(
            !reply["hint"].as_str().unwrap_or_default().is_empty(),
            "{action}: {reply}"
        );
    }
    nothing_running(&d).await;
}

/// "Clean up all" destroys the orphans only: the session a run in progress is using (here
/// in its benchmark, made long) is neither listed as an orphan nor touched, and the run
/// goes on until it is cancelled.
#[tokio::test]
async fn cleaning_up_all_orphans_spares_the_session_of_a_run_in_progress() {
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    let d = Dashboard::start_custom(None, dir, |s| s.runs.bench_requests = 100_000).await;
    // The orphan is older than the run (a session newer than every run in progress may
    // still be one of theirs, so it is no orphan yet).
    let stray = stray_session(&d).await;
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    step_running(&d, &id, StepName::Benchmark).await;
    let used = run(&d, &id).await.session_id.expect("the run's session");
    assert_ne!(used, stray);

    let orphans: Value = d.get("/api/orphans").await.json().await.unwrap();
    let listed: Vec<&str> = orphans["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [stray.as_str()], "{orphans}");
    let (status, reply) = post(&d, "/api/orphans/cleanup", Value::Null).await;
    assert_eq!(status, 200, "{reply}");
    let cleaned: Vec<&str> = reply["cleaned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(cleaned, [stray.as_str()], "{reply}");
    assert_eq!(reply["failed"], json!([]), "{reply}");

    let broker = d.broker();
    assert_eq!(
        broker.get_session(&stray).await.unwrap().status,
        SessionStatus::Stopped
    );
    assert_eq!(
        broker.get_session(&used).await.unwrap().status,
        SessionStatus::Running,
        "the run's session is spared"
    );
    let sim = d.state.simulator.clone().unwrap();
    assert_eq!(sim.simulator().delete_requests(&used), 0);
    let going = run(&d, &id).await;
    assert_eq!(going.status, RunStatus::Running, "{:?}", going.error);

    let (status, reply) = post(&d, &format!("/api/runs/{id}/cancel"), Value::Null).await;
    assert_eq!(status, 202, "{reply}");
    assert_eq!(finished(&d, &id).await.status, RunStatus::Cancelled);
    nothing_running(&d).await;
}

/// Regression (issue 26): a kept instance cleaned up from the Sessions tab used to stay
/// "running" on its run's page; the run now records it destroyed, with when.
#[tokio::test]
async fn a_kept_instance_cleaned_up_from_the_sessions_tab_is_destroyed_on_its_run() {
    let d = Dashboard::start(None).await;
    let (id, done) = kept_failed_run(&d).await;
    let session = done.session_id.clone().unwrap();
    assert_eq!(done.rentals.last().unwrap().destroyed, None, "kept");
    eventually(Duration::from_secs(30), || async {
        d.state
            .dashboard
            .hub()
            .with_state(|s| s.sessions.contains_key(&session).then_some(()))
    })
    .await;
    let (status, reply) = post(&d, &format!("/api/sessions/{session}/cleanup"), json!({})).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(result(reply).outcome, ActionOutcome::Destroyed);
    let after = run(&d, &id).await;
    let rental = after
        .rentals
        .iter()
        .find(|r| r.session_id == session)
        .unwrap();
    assert_eq!(rental.destroyed, Some(true));
    assert!(rental.ended_at.is_some(), "{rental:?}");
    assert!(rental.cost_usd > 0.0);
    // What every open page shows comes from the live state, which has it too.
    let live = d.state.dashboard.hub().with_state(|s| {
        s.runs[&gdl_model::ids::RunId::from(id.clone())]
            .rentals
            .clone()
    });
    assert!(live
        .iter()
        .any(|r| r.session_id == session && r.destroyed == Some(true)));
    nothing_running(&d).await;
}
