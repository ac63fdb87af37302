//! The live channel (WebSocket `/ws`) contract: every frame is JSON with a `type` tag.
//!
//! Data frames (`snapshot`, `event`) carry `seq` (strictly increasing per server boot) and
//! `epoch` (the boot id). On connect the client sends [`ClientFrame::Hello`] with the last
//! `seq` and `epoch` it applied; the server replays the missing events, or sends one
//! [`ServerFrame::Snapshot`] when the gap is gone or the epoch differs, then live events.
//! Events are idempotent upserts and removals keyed by id.
//!
//! # Examples
//!
//! A client that last applied event 41 of boot `e1` resumes; the server replays event 42:
//!
//! ```
//! use gdl_model::live::{sequence, ClientFrame, LiveEvent, LiveState, Sequencing, ServerFrame};
//!
//! let hello = ClientFrame::Hello { last_seq: Some(41), epoch: Some("e1".into()) };
//! assert_eq!(
//!     serde_json::to_string(&hello)?,
//!     r#"{"type":"hello","last_seq":41,"epoch":"e1"}"#
//! );
//!
//! let mut state = LiveState::default();
//! let text = r#"{"type":"event","epoch":"e1","seq":42,
//!                "event":{"kind":"session_removed","id":"s-7"}}"#;
//! let ServerFrame::Event { epoch, seq, event } = serde_json::from_str(text)? else {
//!     unreachable!()
//! };
//! assert_eq!(sequence(Some("e1"), 41, &epoch, seq), Sequencing::Apply);
//! assert_eq!(event, LiveEvent::SessionRemoved { id: "s-7".into() });
//! state.apply(&event);
//! // After a restart the epoch differs: the client asks for a snapshot.
//! assert_eq!(sequence(Some("e1"), 42, "e2", 1), Sequencing::Gap);
//! assert_eq!(serde_json::to_string(&ClientFrame::Resync)?, r#"{"type":"resync"}"#);
//! # Ok::<(), serde_json::Error>(())
//! ```

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
    ///
    /// Run upserts also drop the oldest finished runs (and their logs) past
    /// [`FINISHED_RUNS_KEPT`]; log lines and benchmarks are bounded the same way.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::live::{LiveEvent, LiveState};
    ///
    /// let line: LiveEvent = serde_json::from_str(r#"{"kind":"run_log","line":{"run_id":"run-1",
    ///     "n":1,"at":"2026-11-24T01:00:00Z","level":"warn","message":"retrying"}}"#)?;
    /// let mut state = LiveState::default();
    /// state.apply(&line);
    /// state.apply(&line); // a duplicate (same n) is not added twice
    /// assert_eq!(state.logs["run-1"].len(), 1);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use gdl_model::live::{LiveEvent, LiveState};
    /// use gdl_model::runs::{Run, RunStatus};
    ///
    /// let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":0.5}"#)?;
    /// let at = |minute| Utc.with_ymd_and_hms(2026, 11, 24, 10, minute, 0).unwrap();
    /// let running = Run::new("run-1".into(), config, at(0));
    /// let mut finished = Run::new("run-2".into(), running.config.clone(), at(5));
    /// finished.status = RunStatus::Passed;
    ///
    /// let mut state = LiveState::default();
    /// state.apply(&LiveEvent::RunUpsert { run: running });
    /// state.apply(&LiveEvent::RunUpsert { run: finished });
    /// assert_eq!(state.current_run().unwrap().id, "run-1", "in progress wins");
    /// assert_eq!(state.runs_newest_first()[0].id, "run-2");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
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
///
/// Tagged by `kind` (snake_case), inside a [`ServerFrame::Event`].
///
/// # Examples
///
/// ```
/// use gdl_model::live::LiveEvent;
///
/// let gone = LiveEvent::SessionRemoved { id: "s-1".into() };
/// assert_eq!(
///     serde_json::to_value(&gone)?,
///     serde_json::json!({"kind": "session_removed", "id": "s-1"})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
// Wire values: built once, serialised, dropped. Boxing the large variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEvent {
    /// The broker status or offer counts changed.
    Status {
        /// The new status, replacing the old one.
        status: StatusView,
    },
    /// A session appeared or changed.
    SessionUpsert {
        /// The session as it is now, replacing any copy with its id.
        session: SessionView,
    },
    /// The broker no longer lists this session.
    SessionRemoved {
        /// The session's id.
        id: String,
    },
    /// A run started or changed (steps, status, results).
    RunUpsert {
        /// The run as it is now, replacing any copy with its id.
        run: Run,
    },
    /// A run logged a line.
    RunLog {
        /// The line; its `n` orders it within the run.
        line: LogLine,
    },
    /// A benchmark was recorded.
    BenchmarkUpsert {
        /// The record, without raw samples.
        benchmark: BenchmarkRecord,
    },
}

/// Server → client frames.
///
/// Tagged by `type` (snake_case). Data frames carry the server's boot id (`epoch`) and
/// their number (`seq`): check them with [`sequence`] before applying an event.
///
/// # Examples
///
/// ```
/// use gdl_model::live::ServerFrame;
///
/// let frame: ServerFrame =
///     serde_json::from_str(r#"{"type":"pong","nonce":3,"sent_at_ms":1700000000000.0}"#)?;
/// assert_eq!(frame, ServerFrame::Pong { nonce: 3, sent_at_ms: 1_700_000_000_000.0 });
/// let closing = ServerFrame::Closing { reason: "server shutting down".into() };
/// assert_eq!(
///     serde_json::to_string(&closing)?,
///     r#"{"type":"closing","reason":"server shutting down"}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The whole state as of `seq`; events after it follow.
    Snapshot {
        /// The server's boot id.
        epoch: String,
        /// The last event the state includes.
        seq: u64,
        /// The whole state, replacing the client's copy.
        state: LiveState,
    },
    /// One change, numbered.
    Event {
        /// The server's boot id.
        epoch: String,
        /// The event's number: one more than the previous event of this epoch.
        seq: u64,
        /// The change to apply.
        event: LiveEvent,
    },
    /// The answer to a client ping, sent at once.
    Pong {
        /// The ping's nonce, echoed.
        nonce: u64,
        /// The ping's `sent_at_ms`, echoed, so the client can measure the round trip.
        sent_at_ms: f64,
    },
    /// Why the server is about to close the connection (also the close frame's reason).
    Closing {
        /// The reason, in words.
        reason: String,
    },
}

/// Client → server frames.
///
/// Tagged by `type` (snake_case), like [`ServerFrame`].
///
/// # Examples
///
/// ```
/// use gdl_model::live::ClientFrame;
///
/// // A new client has nothing yet: both fields are left out.
/// let hello = ClientFrame::Hello { last_seq: None, epoch: None };
/// assert_eq!(serde_json::to_string(&hello)?, r#"{"type":"hello"}"#);
/// let ping: ClientFrame = serde_json::from_str(r#"{"type":"ping","nonce":1,"sent_at_ms":5.0}"#)?;
/// assert_eq!(ping, ClientFrame::Ping { nonce: 1, sent_at_ms: 5.0 });
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame on every connection: what the client already has.
    Hello {
        /// The last event applied; `None` for a client with no state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<u64>,
        /// The epoch of that event; `None` for a client with no state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
    },
    /// Heartbeat; the server answers with a pong carrying the same nonce and time.
    Ping {
        /// A number the client picks to match the pong to this ping.
        nonce: u64,
        /// The client's clock when it sent the ping, ms.
        sent_at_ms: f64,
    },
    /// Asks for a fresh snapshot (the Refresh control).
    Resync,
}

/// Counters of the live channel, for the health panel and `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveStats {
    /// The server's boot id.
    pub epoch: String,
    /// Last event number published.
    pub seq: u64,
    /// Connections open now.
    pub connections_current: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Frames sent since start, over every connection.
    pub messages_sent: u64,
    /// Deepest any client's send queue has been.
    pub queue_depth_max: u64,
    /// Clients dropped because their send queue overflowed.
    pub overflows: u64,
    /// Connections closed because a send to them failed.
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
///
/// `have_epoch` and `have_seq` are what the client last applied (`None` and 0 before its
/// first snapshot).
///
/// # Examples
///
/// ```
/// use gdl_model::live::{sequence, Sequencing};
///
/// assert_eq!(sequence(Some("e"), 4, "e", 5), Sequencing::Apply);
/// assert_eq!(sequence(Some("e"), 4, "e", 4), Sequencing::Skip, "a duplicate");
/// assert_eq!(sequence(Some("e"), 4, "e", 7), Sequencing::Gap, "5 and 6 are missing");
/// assert_eq!(sequence(Some("old"), 4, "e", 5), Sequencing::Gap, "the server restarted");
/// assert_eq!(sequence(None, 0, "e", 1), Sequencing::Gap, "no snapshot yet");
/// ```
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
mod tests;
