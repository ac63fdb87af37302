//! A hub whose order is the database's (several replicas on PostgreSQL; docs/replicas.md,
//! "One live order"). [`Hub::publish`] changes this replica's state at once, so its own
//! pages read their writes, and hands each event to [`crate::live::relay`], which stores
//! it. Clients get events only as they come back from the database, numbered:
//! [`Hub::apply_stored`] applies, keeps and fans them out in that order, the same on every
//! replica. Until its own events come back, a replica keeps them as pending and applies
//! them again over each batch read, so its state never steps back to before its own write.
//! The epoch is the installation's, so a client resumes on any replica.

use super::{Hub, HubConfig, State};
use crate::store::StoredEvent;
use gdl_model::live::LiveEvent;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How a shared hub hands its events to the relay.
pub(super) struct Sharing {
    /// This replica's name among the events' publishers.
    origin: String,
    out: mpsc::UnboundedSender<Outgoing>,
}

/// An event on its way to the database: its publisher's count and its JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub n: u64,
    pub body: String,
}

impl Hub {
    /// A hub for one of several replicas: its epoch is the installation's (the same on
    /// each), its events go out on the answer's receiver (to [`crate::live::relay`]).
    pub fn shared(
        config: HubConfig,
        installation: String,
    ) -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (out, rx) = mpsc::unbounded_channel();
        let origin = uuid::Uuid::new_v4().simple().to_string();
        (
            Self::build(config, installation, Some(Sharing { origin, out })),
            rx,
        )
    }

    /// This replica's name among the events' publishers; `None` when alone.
    pub fn origin(&self) -> Option<&str> {
        self.inner.sharing.as_ref().map(|s| s.origin.as_str())
    }

    /// Starts the numbering at the database's newest event (before any client connects):
    /// clients resume from there on, by replay, or get a snapshot.
    pub fn start_at(&self, seq: u64) {
        let mut state = self.lock();
        state.seq = state.seq.max(seq);
        state.snapshot = None;
    }

    pub(super) fn publish_shared(
        &self,
        sharing: &Sharing,
        events: impl IntoIterator<Item = LiveEvent>,
    ) -> u64 {
        let mut state = self.lock();
        for event in events {
            state.live.apply(&event);
            state.own_n += 1;
            let n = state.own_n;
            let body = serde_json::to_string(&event).expect("live events serialise");
            state.pending.push_back((n, event));
            // The relay lives as long as the process; at shutdown what is left is let go.
            let _ = sharing.out.send(Outgoing { n, body });
        }
        state.snapshot = None;
        state.seq
    }

    /// Applies events read from the database in their order: each one after the last
    /// applied is numbered, kept and sent to every client, as [`Hub::publish`] does alone.
    /// The seq after them.
    pub fn apply_stored(&self, rows: Vec<StoredEvent>) -> u64 {
        let Some(sharing) = &self.inner.sharing else {
            return self.seq();
        };
        let mut state = self.lock();
        self.apply_rows(sharing, &mut state, rows);
        state.seq
    }

    /// Applies `rows` as [`Hub::apply_stored`] does, if the first is the event after the
    /// last applied (or already applied): this replica's own batch, just stored, that
    /// need not be read back. Whether they were; if not, nothing changed.
    pub fn apply_next(&self, rows: Vec<StoredEvent>) -> bool {
        let Some(sharing) = &self.inner.sharing else {
            return false;
        };
        let mut state = self.lock();
        if rows.first().is_some_and(|row| row.seq > state.seq + 1) {
            return false;
        }
        self.apply_rows(sharing, &mut state, rows);
        true
    }

    fn apply_rows(&self, sharing: &Sharing, state: &mut State, rows: Vec<StoredEvent>) {
        let mut own = None;
        for row in rows {
            if row.seq <= state.seq {
                continue;
            }
            if row.origin == sharing.origin {
                own = Some(row.origin_n);
            }
            match serde_json::from_str::<LiveEvent>(&row.body) {
                Ok(event) => self.record(state, row.seq, event),
                Err(e) => {
                    // A newer release's event: clients see the gap and resync.
                    tracing::warn!(seq = row.seq, error = %e, "skipping a live event this release cannot read");
                    state.seq = row.seq;
                }
            }
        }
        if let Some(n) = own {
            while state.pending.front().is_some_and(|(k, _)| *k <= n) {
                state.pending.pop_front();
            }
        }
        reapply_pending(state);
    }

    /// This replica's events not yet back from the database.
    pub fn pending_own(&self) -> usize {
        self.lock().pending.len()
    }

    /// Waits until this replica's events are stored and read back, or `patience` ran out
    /// (at shutdown: what the other replicas' browsers would otherwise miss). Whether all
    /// were.
    pub async fn settle(&self, patience: Duration) -> bool {
        let started = Instant::now();
        loop {
            let left = self.pending_own();
            if left == 0 {
                return true;
            }
            if started.elapsed() >= patience {
                tracing::warn!(
                    events = left,
                    "shutting down with live events not yet stored: the other replicas' browsers get them from a snapshot"
                );
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Applies this replica's pending events again over what was just read.
fn reapply_pending(state: &mut State) {
    if state.pending.is_empty() {
        return;
    }
    let State { pending, live, .. } = state;
    for (_, event) in pending.iter() {
        live.apply(event);
    }
    state.snapshot = None;
}
