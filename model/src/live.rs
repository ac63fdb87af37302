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

mod state;

pub use state::{
    LiveState, BENCHMARKS_KEPT, FINISHED_CAMPAIGNS_KEPT, FINISHED_DEPLOYMENTS_KEPT,
    FINISHED_LOG_TAIL, FINISHED_RUNS_KEPT, LOG_LINES_KEPT,
};

use crate::ids::SessionId;
use crate::runs::{BenchmarkRecord, LogLine, Run};
use crate::sessions::SessionView;
use crate::status::StatusView;
use serde::{Deserialize, Serialize};

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
        id: SessionId,
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
    /// The reconciler destroyed a session nothing owned (or asked again about one).
    Reconciled {
        /// What it did.
        record: crate::reconciled::Reconciled,
    },
    /// A deployment started or changed (status, meter, spend, keys, guards).
    DeploymentUpsert {
        /// The deployment as it is now, replacing any copy with its id.
        deployment: crate::deployments::Deployment,
    },
    /// A campaign started or changed (its candidates' progress, spend, answer).
    CampaignUpsert {
        /// The campaign as it is now, replacing any copy with its id.
        campaign: crate::campaigns::record::Campaign,
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
