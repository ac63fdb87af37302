//! [`LiveStore`]: the reactive state every page reads, provided once at the root.

use super::client::ClientState;
use super::conn::{ConnInfo, OUTBOX_LIMIT};
use futures::channel::mpsc::UnboundedSender;
use gdl_model::live::{ClientFrame, LiveState};
use gdl_model::sessions::SessionView;
use gdl_model::status::StatusView;
use leptos::prelude::*;
use std::collections::VecDeque;

/// The live state and the connection, as signals. `Copy`: pass it anywhere.
#[derive(Clone, Copy)]
pub struct LiveStore {
    pub client: RwSignal<ClientState>,
    pub conn: RwSignal<ConnInfo>,
    /// The browser clock, ticking once a second (for "N s ago"); 0 on the server.
    pub now_ms: RwSignal<f64>,
    outbox: StoredValue<VecDeque<ClientFrame>>,
    /// Wakes the driver to flush the outbox; `None` until the driver runs.
    wake: StoredValue<Option<UnboundedSender<()>>>,
}

impl LiveStore {
    pub(super) fn new() -> Self {
        Self {
            client: RwSignal::new(ClientState::default()),
            conn: RwSignal::new(ConnInfo::default()),
            now_ms: RwSignal::new(0.0),
            outbox: StoredValue::new(VecDeque::new()),
            wake: StoredValue::new(None),
        }
    }

    /// Seeds the state from the server-rendered first paint (ignored once live).
    pub fn seed(&self, live: LiveState) {
        if !self.client.with_untracked(ClientState::is_live) {
            self.client.update(|c| c.seed(live));
        }
    }

    /// The broker status (tracked).
    pub fn status(&self) -> Option<StatusView> {
        self.client.with(|c| c.live.status.clone())
    }

    /// Our sessions, newest first (tracked).
    pub fn sessions(&self) -> Vec<SessionView> {
        self.client.with(|c| c.live.sessions_newest_first())
    }

    /// Queues a frame for the server; it goes out now if connected, else in order on
    /// connect. The outbox is bounded: the oldest frame is dropped (and counted) when full.
    pub fn send(&self, frame: ClientFrame) {
        let dropped = self.outbox.try_update_value(|q| {
            q.push_back(frame);
            let mut dropped = 0;
            while q.len() > OUTBOX_LIMIT {
                q.pop_front();
                dropped += 1;
            }
            dropped
        });
        if let Some(n) = dropped.filter(|n| *n > 0) {
            self.conn.update(|c| c.outbox_dropped += n);
        }
        self.wake.with_value(|w| {
            if let Some(w) = w {
                let _ = w.unbounded_send(());
            }
        });
    }

    /// Asks the server for a fresh snapshot (the Refresh control).
    pub fn resync(&self) {
        self.send(ClientFrame::Resync);
    }

    /// Takes every queued frame, oldest first (the driver, once connected).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) fn take_outbox(&self) -> Vec<ClientFrame> {
        self.outbox
            .try_update_value(|q| q.drain(..).collect())
            .unwrap_or_default()
    }

    /// Installs the driver's wake-up channel.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) fn set_wake(&self, wake: UnboundedSender<()>) {
        self.wake.set_value(Some(wake));
    }
}

/// The store provided at the root.
pub fn use_live() -> LiveStore {
    expect_context::<LiveStore>()
}
