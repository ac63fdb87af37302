//! The live channel (WebSocket `/ws`) contract: every frame is JSON with a `type` tag.
//!
//! Data frames (`snapshot`, `event`) carry `seq` (strictly increasing per server boot) and
//! `epoch` (the boot id). On connect the client sends [`ClientFrame::Hello`] with the last
//! `seq` and `epoch` it applied; the server replays the missing events, or sends one
//! [`ServerFrame::Snapshot`] when the gap is gone or the epoch differs, then live events.
//! Events are idempotent upserts and removals keyed by id.

use crate::api::{SessionView, StatusView};
use crate::runs::{BenchmarkRecord, LogLine, Run};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The full state a client mirrors. A snapshot replaces the client's copy entirely.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveState {
    /// Broker status and offer counts; `None` before the first check.
    pub status: Option<StatusView>,
    /// Our sessions by id.
    pub sessions: BTreeMap<String, SessionView>,
    /// Runs in progress and the [`FINISHED_RUNS_KEPT`] newest finished ones, by id (older
    /// runs: `GET /api/runs`).
    #[serde(default)]
    pub runs: BTreeMap<String, Run>,
    /// The log of each run kept, oldest line first: the last [`LOG_LINES_KEPT`] lines of
    /// runs in progress and of the newest run, the last [`FINISHED_LOG_TAIL`] of the other
    /// finished runs (the whole log: `GET /api/runs/{id}/logs`).
    #[serde(default)]
    pub logs: BTreeMap<String, Vec<LogLine>>,
    /// The [`BENCHMARKS_KEPT`] newest benchmark records by id, samples left out (older
    /// records and samples: `GET /api/benchmarks`).
    #[serde(default)]
    pub benchmarks: BTreeMap<String, BenchmarkRecord>,
}

/// Log lines kept per run in progress in the live state; older ones stay in the database.
pub const LOG_LINES_KEPT: usize = 2000;
/// Finished runs kept in the live state, newest first. With the bounds below, the state a
/// new browser receives does not grow with the history: the 1,000th run costs the page no
/// more than the 10th.
pub const FINISHED_RUNS_KEPT: usize = 5;
/// Log lines kept per finished run in the live state, but for the newest run (shown as
/// the current one, with its log as it was while it ran).
pub const FINISHED_LOG_TAIL: usize = 20;
/// Benchmark records kept in the live state.
pub const BENCHMARKS_KEPT: usize = 10;

impl LiveState {
    /// Applies one event. Applying the same event twice leaves the same state.
    pub fn apply(&mut self, event: &LiveEvent) {
        match event {
            LiveEvent::Status { status } => self.status = Some(status.clone()),
            LiveEvent::SessionUpsert { session } => {
                self.sessions.insert(session.id.clone(), session.clone());
            }
            LiveEvent::SessionRemoved { id } => {
                self.sessions.remove(id);
            }
            LiveEvent::RunUpsert { run } => {
                self.runs.insert(run.id.clone(), run.clone());
                self.prune_runs();
            }
            LiveEvent::RunLog { line } => {
                let keep = self.log_lines_kept(&line.run_id);
                let lines = self.logs.entry(line.run_id.clone()).or_default();
                // Idempotent: a line already applied (same n) is not added twice.
                if lines.last().is_none_or(|last| last.n < line.n) {
                    lines.push(line.clone());
                    if lines.len() > keep {
                        lines.drain(..lines.len() - keep);
                    }
                }
            }
            LiveEvent::BenchmarkUpsert { benchmark } => {
                self.benchmarks
                    .insert(benchmark.id.clone(), benchmark.clone());
                if self.benchmarks.len() > BENCHMARKS_KEPT {
                    let mut by_age: Vec<_> = self
                        .benchmarks
                        .values()
                        .map(|b| (b.created_at, b.id.clone()))
                        .collect();
                    by_age.sort();
                    for (_, id) in by_age.iter().take(by_age.len() - BENCHMARKS_KEPT) {
                        self.benchmarks.remove(id);
                    }
                }
            }
        }
    }

    /// How many log lines run `id` keeps: all but the oldest past [`LOG_LINES_KEPT`] while
    /// it runs or is the newest run (or is not known yet), [`FINISHED_LOG_TAIL`] otherwise.
    fn log_lines_kept(&self, id: &str) -> usize {
        let Some(run) = self.runs.get(id) else {
            return LOG_LINES_KEPT;
        };
        let newest = self
            .runs
            .values()
            .all(|r| (r.created_at, &r.id) <= (run.created_at, &run.id));
        if !run.status.is_finished() || newest {
            LOG_LINES_KEPT
        } else {
            FINISHED_LOG_TAIL
        }
    }

    /// Keeps runs in progress and the newest finished ones, with the tail of their logs.
    /// Deterministic, so the server's state and every browser's copy stay the same.
    fn prune_runs(&mut self) {
        let mut finished: Vec<_> = self
            .runs
            .values()
            .filter(|r| r.status.is_finished())
            .map(|r| (r.created_at, r.id.clone()))
            .collect();
        finished.sort();
        let old = finished.len().saturating_sub(FINISHED_RUNS_KEPT);
        for (_, id) in &finished[..old] {
            self.runs.remove(id);
            self.logs.remove(id);
        }
        for (_, id) in &finished[old..] {
            let keep = self.log_lines_kept(id);
            if let Some(lines) = self.logs.get_mut(id) {
                if lines.len() > keep {
                    lines.drain(..lines.len() - keep);
                }
            }
        }
    }

    /// The run to show as current: the newest one in progress, else the newest one.
    /// Derived from server state only, so it never belongs to an old run by mistake.
    pub fn current_run(&self) -> Option<&Run> {
        let newest = |a: &&Run, b: &&Run| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        };
        self.runs
            .values()
            .filter(|r| !r.status.is_finished())
            .max_by(newest)
            .or_else(|| self.runs.values().max_by(newest))
    }

    /// Runs, newest first.
    pub fn runs_newest_first(&self) -> Vec<Run> {
        let mut list: Vec<Run> = self.runs.values().cloned().collect();
        list.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        list
    }

    /// Our running or provisioning sessions that no run in progress owns (none has rented
    /// it), newest first: they cost money and nothing uses them. A session created after a
    /// run in progress started is not counted: that run's create may not have recorded it
    /// yet.
    pub fn orphans(&self) -> Vec<&SessionView> {
        use crate::shopper::SessionStatus;
        let live: Vec<&Run> = self
            .runs
            .values()
            .filter(|r| !r.status.is_finished())
            .collect();
        let owned = |id: &str| {
            live.iter().any(|r| {
                r.session_id.as_deref() == Some(id) || r.rentals.iter().any(|x| x.session_id == id)
            })
        };
        let mut list: Vec<&SessionView> = self
            .sessions
            .values()
            .filter(|s| {
                matches!(
                    s.status,
                    SessionStatus::Running | SessionStatus::Provisioning
                )
            })
            .filter(|s| !owned(&s.id))
            .filter(|s| live.iter().all(|r| r.created_at > s.created_at))
            .collect();
        list.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        list
    }

    /// What [`LiveState::orphans`] cost an hour, USD.
    pub fn orphan_burn_per_hour(&self) -> f64 {
        self.orphans().iter().map(|s| s.price_per_hour).sum()
    }

    /// Sessions, newest first (then by id, for a stable order).
    pub fn sessions_newest_first(&self) -> Vec<SessionView> {
        let mut list: Vec<SessionView> = self.sessions.values().cloned().collect();
        list.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        list
    }
}

/// A change to the live state.
// Wire values: built once, serialised, dropped. Boxing the large variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEvent {
    /// The broker status or offer counts changed.
    Status { status: StatusView },
    /// A session appeared or changed.
    SessionUpsert { session: SessionView },
    /// The broker no longer lists this session.
    SessionRemoved { id: String },
    /// A run started or changed (steps, status, results).
    RunUpsert { run: Run },
    /// A run logged a line.
    RunLog { line: LogLine },
    /// A benchmark was recorded.
    BenchmarkUpsert { benchmark: BenchmarkRecord },
}

/// Server → client frames.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The whole state as of `seq`; events after it follow.
    Snapshot {
        epoch: String,
        seq: u64,
        state: LiveState,
    },
    /// One change, numbered.
    Event {
        epoch: String,
        seq: u64,
        event: LiveEvent,
    },
    /// The answer to a client ping, sent at once.
    Pong { nonce: u64, sent_at_ms: f64 },
    /// Why the server is about to close the connection (also the close frame's reason).
    Closing { reason: String },
}

/// Client → server frames.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame on every connection: what the client already has.
    Hello {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
    },
    /// Heartbeat; the server answers with a pong carrying the same nonce and time.
    Ping { nonce: u64, sent_at_ms: f64 },
    /// Asks for a fresh snapshot (the Refresh control).
    Resync,
}

/// Counters of the live channel, for the health panel and `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveStats {
    pub epoch: String,
    /// Last event number published.
    pub seq: u64,
    pub connections_current: u64,
    pub connections_total: u64,
    pub messages_sent: u64,
    /// Deepest any client's send queue has been.
    pub queue_depth_max: u64,
    /// Clients dropped because their send queue overflowed.
    pub overflows: u64,
    pub send_failures: u64,
    /// Connections resumed by replaying missed events.
    pub replays: u64,
    /// Snapshots sent (new connections, lost gaps, old epochs, resync requests).
    pub snapshots: u64,
    /// Pings from clients (answered with a pong at once).
    pub pings: u64,
    /// WebSocket pings the server sent (clients answer them by themselves).
    #[serde(default)]
    pub server_pings: u64,
    /// Client frames the server could not parse.
    pub bad_client_frames: u64,
    /// Connections closed for silence past the deadline.
    pub silent_closes: u64,
}

/// What a client does with a data frame, given the `epoch` and `seq` it has applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequencing {
    /// The next event: apply it.
    Apply,
    /// Already applied (a duplicate or an event the last snapshot covered): ignore it.
    Skip,
    /// Events are missing or the server restarted: ask for a resync.
    Gap,
}

/// Decides what to do with an event numbered `seq` of `epoch`.
pub fn sequence(have_epoch: Option<&str>, have_seq: u64, epoch: &str, seq: u64) -> Sequencing {
    if have_epoch != Some(epoch) {
        Sequencing::Gap
    } else if seq <= have_seq {
        Sequencing::Skip
    } else if seq == have_seq + 1 {
        Sequencing::Apply
    } else {
        Sequencing::Gap
    }
}

#[cfg(test)]
mod tests {
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
        let mut run = Run::new(format!("run-{i:04}"), config, at);
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
                state.logs[&id].len(),
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
            s.created_at =
                chrono::DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap();
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
}
