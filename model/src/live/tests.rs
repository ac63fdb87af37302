use super::*;
use crate::shopper::SessionStatus;

fn session(id: &str, status: SessionStatus) -> SessionView {
    SessionView {
        id: id.into(),
        status,
        provider: crate::shopper::Provider::VastAi,
        gpu_type: "RTX 4090".into(),
        gpu_count: 1,
        price_per_hour: 0.4,
        created_at: chrono::Utc::now(),
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
fn events_are_idempotent_upserts_and_removals() {
    let mut state = LiveState::default();
    let up = LiveEvent::SessionUpsert {
        session: session("a", SessionStatus::Pending),
    };
    state.apply(&up);
    state.apply(&up);
    assert_eq!(state.sessions.len(), 1);
    state.apply(&LiveEvent::SessionUpsert {
        session: session("a", SessionStatus::Running),
    });
    assert_eq!(state.sessions["a"].status, SessionStatus::Running);
    let gone = LiveEvent::SessionRemoved { id: "a".into() };
    state.apply(&gone);
    state.apply(&gone);
    assert!(state.sessions.is_empty());
}

fn run(i: i64, finished: bool) -> Run {
    let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
    let at = chrono::DateTime::from_timestamp(1_700_000_000 + i * 60, 0).unwrap();
    let mut run = Run::new(format!("run-{i:04}").into(), config, at);
    if finished {
        run.status = crate::runs::RunStatus::Passed;
    }
    run
}

fn log(run: &str, n: u64) -> LiveEvent {
    LiveEvent::RunLog {
        line: LogLine {
            run_id: run.into(),
            n,
            at: chrono::Utc::now(),
            level: crate::runs::LogLevel::Info,
            step: None,
            message: format!("line {n}"),
        },
    }
}

#[test]
fn history_does_not_grow_the_state() {
    let mut state = LiveState::default();
    let size = |s: &LiveState| serde_json::to_vec(s).unwrap().len();
    let mut after_10 = 0;
    for i in 0..1000 {
        let id = format!("run-{i:04}");
        state.apply(&LiveEvent::RunUpsert { run: run(i, false) });
        for n in 1..=300 {
            state.apply(&log(&id, n));
        }
        assert_eq!(
            state.logs[id.as_str()].len(),
            300,
            "a run in progress keeps its lines"
        );
        state.apply(&LiveEvent::RunUpsert { run: run(i, true) });
        state.apply(&log(&id, 301));
        if i == 9 {
            after_10 = size(&state);
        }
    }
    assert_eq!(state.runs.len(), FINISHED_RUNS_KEPT);
    assert!(state.runs.contains_key("run-0999") && !state.runs.contains_key("run-0994"));
    assert_eq!(
        state.logs.len(),
        FINISHED_RUNS_KEPT,
        "logs of dropped runs go too"
    );
    assert_eq!(
        state.logs["run-0999"].len(),
        301,
        "the newest keeps its log"
    );
    assert_eq!(state.logs["run-0998"].len(), FINISHED_LOG_TAIL);
    assert_eq!(
        state.logs["run-0998"].last().unwrap().n,
        301,
        "the tail is kept"
    );
    assert!(
        size(&state) <= after_10 + 64,
        "{} vs {after_10}",
        size(&state)
    );
}

#[test]
fn a_run_in_progress_is_never_dropped_for_newer_finished_ones() {
    let mut state = LiveState::default();
    state.apply(&LiveEvent::RunUpsert { run: run(0, false) });
    for i in 1..=20 {
        state.apply(&LiveEvent::RunUpsert { run: run(i, true) });
    }
    assert!(state.runs.contains_key("run-0000"));
    assert_eq!(state.runs.len(), FINISHED_RUNS_KEPT + 1);
    let again = state.clone();
    state.apply(&LiveEvent::RunUpsert { run: run(20, true) });
    assert_eq!(state, again, "applying an event twice changes nothing");
}

#[test]
fn orphans_are_active_sessions_no_run_in_progress_owns() {
    let mut state = LiveState::default();
    let mut at = |id: &str, status, minutes: i64| {
        let mut s = session(id, status);
        s.created_at = chrono::DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap();
        state.apply(&LiveEvent::SessionUpsert { session: s });
    };
    at("old-running", SessionStatus::Running, 0);
    at("old-provisioning", SessionStatus::Provisioning, 1);
    at("old-stopped", SessionStatus::Stopped, 2);
    at("ours", SessionStatus::Running, 30);
    at("too-new-to-tell", SessionStatus::Pending, 31);
    // A run in progress (started at minute 20) that rented "ours".
    let mut live = run(20, false);
    live.rentals.push(
        serde_json::from_value(serde_json::json!({
            "attempt": 1, "session_id": "ours", "created_at": "2023-11-14T22:43:20Z",
            "offer": {"offer_id": "o", "provider": "vastai", "gpu_type": "RTX 4090",
                      "gpu_count": 1, "vram_gb": 24, "price_per_hour": 0.4}
        }))
        .unwrap(),
    );
    state.apply(&LiveEvent::RunUpsert { run: live });
    let ids: Vec<&str> = state.orphans().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["old-provisioning", "old-running"]);
    assert!((state.orphan_burn_per_hour() - 0.8).abs() < 1e-9);
}

/// The orphan banner gives a run in progress the benefit of the doubt: a running session of
/// this installation created after the oldest run in progress started may be that run's
/// rental not recorded yet, so it is no orphan until every run older than it has finished;
/// one created before every run in progress is an orphan, though no run names either.
#[test]
fn a_session_newer_than_a_run_in_progress_is_not_yet_an_orphan() {
    let mut state = LiveState::default();
    let mut at = |id: &str, minutes: i64| {
        let mut s = session(id, SessionStatus::Running);
        s.created_at = chrono::DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap();
        state.apply(&LiveEvent::SessionUpsert { session: s });
    };
    at("before", 10);
    at("as-the-run-started", 20);
    at("between", 30);
    at("after", 50);
    // Two runs in progress, started at minutes 20 and 40, that name no session.
    state.apply(&LiveEvent::RunUpsert {
        run: run(20, false),
    });
    state.apply(&LiveEvent::RunUpsert {
        run: run(40, false),
    });
    assert!(state
        .runs
        .values()
        .all(|r| r.session_id.is_none() && r.rentals.is_empty()));
    let orphans = |state: &LiveState| -> Vec<String> {
        state.orphans().iter().map(|s| s.id.to_string()).collect()
    };
    assert_eq!(orphans(&state), ["before"]);
    assert!((state.orphan_burn_per_hour() - 0.4).abs() < 1e-9);
    // The oldest run ends: the session created after it but before the other one is no
    // longer given the benefit of the doubt.
    state.apply(&LiveEvent::RunUpsert { run: run(20, true) });
    assert_eq!(orphans(&state), ["between", "as-the-run-started", "before"]);
    // No run in progress: every running session of ours nothing owns is an orphan.
    state.apply(&LiveEvent::RunUpsert { run: run(40, true) });
    assert_eq!(
        orphans(&state),
        ["after", "between", "as-the-run-started", "before"]
    );
}

#[test]
fn sequencing_rules() {
    assert_eq!(sequence(Some("e"), 4, "e", 5), Sequencing::Apply);
    assert_eq!(sequence(Some("e"), 4, "e", 4), Sequencing::Skip);
    assert_eq!(sequence(Some("e"), 4, "e", 2), Sequencing::Skip);
    assert_eq!(sequence(Some("e"), 4, "e", 6), Sequencing::Gap);
    assert_eq!(sequence(Some("old"), 4, "e", 5), Sequencing::Gap);
    assert_eq!(sequence(None, 0, "e", 1), Sequencing::Gap);
}

#[test]
fn frames_have_type_tags() {
    let hello: ClientFrame = serde_json::from_str(r#"{"type":"hello"}"#).unwrap();
    assert_eq!(
        hello,
        ClientFrame::Hello {
            last_seq: None,
            epoch: None
        }
    );
    let json = serde_json::to_value(ServerFrame::Event {
        epoch: "e".into(),
        seq: 3,
        event: LiveEvent::SessionRemoved { id: "x".into() },
    })
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type":"event","epoch":"e","seq":3,"event":{"kind":"session_removed","id":"x"}})
    );
}
