use super::*;
use gdl_model::status::{BrokerState, BrokerStatus};

fn status(state: BrokerState) -> StatusView {
    StatusView {
        version: "0".into(),
        broker: BrokerStatus {
            state,
            reason: None,
            hint: None,
            code: None,
            url: "u".into(),
            simulated: true,
            checked_at: Some(Utc::now()),
            breaker: Default::default(),
            consumer_id: "gpu-deploy-llm/me".into(),
        },
        providers: vec![],
        inventory_error: None,
        inventory_at: Some(Utc::now()),
    }
}

fn session(id: &str, status: SessionStatus) -> SessionView {
    SessionView {
        id: id.into(),
        status,
        provider: Provider::VastAi,
        gpu_type: "L4".into(),
        gpu_count: 1,
        price_per_hour: 0.3,
        created_at: Utc::now(),
        expires_at: None,
        time_to_running_secs: None,
        error: None,
        consumer_id: "gpu-deploy-llm/v0.1.0".into(),
        run_id: None,
        foreign: false,
        cost: None,
    }
}

#[test]
fn only_changes_are_published() {
    let mut old = LiveState::default();
    let ready = status(BrokerState::Ready);
    let first = changes(&old, &ready, Some(&[session("a", SessionStatus::Pending)]));
    assert_eq!(first.len(), 2);
    for e in &first {
        old.apply(e);
    }
    // A new check time alone is no change.
    let later = status(BrokerState::Ready);
    assert!(changes(&old, &later, Some(&[session_like(&old, "a")])).is_empty());
    let moved = changes(&old, &later, Some(&[session("a", SessionStatus::Running)]));
    assert!(
        matches!(&moved[..], [LiveEvent::SessionUpsert { session }] if session.status == SessionStatus::Running)
    );
    let offline = changes(&old, &status(BrokerState::Offline), None);
    assert!(
        matches!(&offline[..], [LiveEvent::Status { .. }]),
        "no removals when not listed"
    );
    let gone = changes(&old, &later, Some(&[]));
    assert_eq!(gone, vec![LiveEvent::SessionRemoved { id: "a".into() }]);
}

fn session_like(state: &LiveState, id: &str) -> SessionView {
    state.sessions[id].clone()
}
