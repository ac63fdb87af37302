//! The event hub. A cheap-to-clone handle around shared state guarded by a std `Mutex`
//! (never held across an `.await`: publishing only `try_send`s into bounded queues).

use gdl_model::live::{ClientFrame, LiveEvent, LiveState, LiveStats, ServerFrame};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// A serialised frame. Cloning shares the bytes, so fan-out copies nothing per client.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// Sizes and deadlines of the live channel.
#[derive(Clone, Debug, PartialEq)]
pub struct HubConfig {
    /// Recent events kept for resuming clients.
    pub ring_capacity: usize,
    /// Frames a client may have waiting before it is dropped as too slow.
    pub client_queue: usize,
    /// A connection that sends nothing (no ping, no pong) for this long is closed.
    pub silence_deadline: Duration,
    /// How often the server pings each connection (a WebSocket ping, which browsers and
    /// WebSocket libraries answer by themselves), so a quiet client that still reads stays
    /// connected and one that stopped reading is found.
    pub ping_every: Duration,
    /// How long a new connection without a resume point in its URL is given to say hello
    /// before it gets a snapshot.
    pub hello_grace: Duration,
    /// How long one write to a client may take: a client that stopped reading is let go
    /// then, instead of holding its connection (deaf to kicks, silence and shutdown).
    pub send_deadline: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            ring_capacity: 4096,
            client_queue: 1024,
            silence_deadline: Duration::from_secs(30),
            ping_every: Duration::from_secs(10),
            hello_grace: Duration::from_millis(100),
            send_deadline: Duration::from_secs(10),
        }
    }
}

/// A handle to the hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: String,
    config: HubConfig,
    state: Mutex<State>,
    counters: Counters,
    /// `Some(reason)` once the server is shutting down.
    closing: watch::Sender<Option<String>>,
    /// With several replicas: the order is the database's ([`shared`]).
    sharing: Option<shared::Sharing>,
}

struct State {
    seq: u64,
    ring: VecDeque<(u64, Frame)>,
    live: LiveState,
    clients: HashMap<u64, Slot>,
    next_client: u64,
    /// The snapshot as of a seq, encoded once and shared by every client that needs it.
    snapshot: Option<(u64, Frame)>,
    /// With several replicas: this replica's events not yet back from the database,
    /// numbered by its own count (applied to `live` at once, re-applied over what is read).
    pending: VecDeque<(u64, LiveEvent)>,
    own_n: u64,
}

struct Slot {
    tx: mpsc::Sender<Frame>,
    kick: Option<oneshot::Sender<String>>,
}

#[derive(Default)]
struct Counters {
    connections_current: AtomicU64,
    connections_total: AtomicU64,
    messages_sent: AtomicU64,
    queue_depth_max: AtomicU64,
    overflows: AtomicU64,
    send_failures: AtomicU64,
    replays: AtomicU64,
    snapshots: AtomicU64,
    pings: AtomicU64,
    server_pings: AtomicU64,
    bad_client_frames: AtomicU64,
    silent_closes: AtomicU64,
}

/// One client's view of the hub: what to send first, then its queue.
pub struct Subscription {
    pub client_id: u64,
    /// The replayed events, or one snapshot.
    pub initial: Vec<Frame>,
    /// Whether `initial` is a replay (true) or a snapshot (false).
    pub resumed: bool,
    pub rx: mpsc::Receiver<Frame>,
    /// Fires with a reason when the hub drops this client (queue overflow).
    pub kicked: oneshot::Receiver<String>,
}

/// Which counter to bump from the socket loop.
#[derive(Clone, Copy, Debug)]
pub enum Count {
    SendFailure,
    Ping,
    ServerPing,
    BadClientFrame,
    SilentClose,
    Snapshot,
}

impl Hub {
    /// A hub with a fresh epoch (boot id).
    pub fn new(config: HubConfig) -> Self {
        Self::build(config, uuid::Uuid::new_v4().simple().to_string(), None)
    }

    fn build(config: HubConfig, epoch: String, sharing: Option<shared::Sharing>) -> Self {
        Self {
            inner: Arc::new(Inner {
                epoch,
                config,
                state: Mutex::new(State {
                    seq: 0,
                    ring: VecDeque::new(),
                    live: LiveState::default(),
                    clients: HashMap::new(),
                    next_client: 1,
                    snapshot: None,
                    pending: VecDeque::new(),
                    own_n: 0,
                }),
                counters: Counters::default(),
                closing: watch::Sender::new(None),
                sharing,
            }),
        }
    }

    /// This boot's id.
    pub fn epoch(&self) -> &str {
        &self.inner.epoch
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The last published `seq`.
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// Reads the current state in place (under the hub's lock: keep `read` short and
    /// free of `.await`s).
    pub fn with_state<T>(&self, read: impl FnOnce(&LiveState) -> T) -> T {
        read(&self.lock().live)
    }

    /// Whether the broker listing includes session `id`.
    pub fn has_session(&self, id: &str) -> bool {
        self.with_state(|s| s.sessions.contains_key(id))
    }

    /// A full copy of the current state (every run with its log): for a page's first
    /// paint; use [`Hub::with_state`] to read a part.
    pub fn clone_state(&self) -> LiveState {
        self.with_state(LiveState::clone)
    }

    /// Numbers, records and fans out `events`, in order. Returns the last `seq`. With
    /// several replicas the state changes at once and the numbering is the database's:
    /// the events reach clients when they come back numbered ([`shared`]).
    pub fn publish(&self, events: impl IntoIterator<Item = LiveEvent>) -> u64 {
        if let Some(sharing) = &self.inner.sharing {
            return self.publish_shared(sharing, events);
        }
        let mut state = self.lock();
        for event in events {
            let seq = state.seq + 1;
            self.record(&mut state, seq, event);
        }
        state.seq
    }

    /// Puts what a replica read from its store at start into the state. With several
    /// replicas this is not news to the others, so it is not published; alone, it is.
    pub fn seed(&self, events: impl IntoIterator<Item = LiveEvent>) {
        if self.inner.sharing.is_none() {
            self.publish(events);
            return;
        }
        let mut state = self.lock();
        for event in events {
            state.live.apply(&event);
        }
        state.snapshot = None;
    }

    /// Applies event number `seq`, keeps it for resuming clients and sends it to every one.
    fn record(&self, state: &mut State, seq: u64, event: LiveEvent) {
        state.seq = seq;
        state.live.apply(&event);
        let frame = encode(&ServerFrame::Event {
            epoch: self.inner.epoch.clone(),
            seq,
            event,
        });
        state.ring.push_back((seq, frame.clone()));
        while state.ring.len() > self.inner.config.ring_capacity {
            state.ring.pop_front();
        }
        self.fan_out(state, &frame);
    }

    /// Sends a raw text frame to every client (test hook: malformed frames).
    pub fn broadcast_raw(&self, text: &str) {
        let mut state = self.lock();
        self.fan_out(&mut state, &Frame::from(text.to_owned()));
    }

    /// Registers a client that said `hello`, choosing replay or snapshot under the same
    /// lock as publishing, so no event falls between the two.
    pub fn subscribe(&self, hello: &ClientFrame) -> Subscription {
        let (last_seq, epoch) = match hello {
            ClientFrame::Hello { last_seq, epoch } => (*last_seq, epoch.as_deref()),
            _ => (None, None),
        };
        let mut state = self.lock();
        let oldest_kept = state.ring.front().map_or(state.seq + 1, |(s, _)| *s);
        let replay = match (epoch, last_seq) {
            (Some(e), Some(last)) if e == self.inner.epoch => {
                (last <= state.seq && last + 1 >= oldest_kept).then_some(last)
            }
            _ => None,
        };
        let initial = match replay {
            Some(last) => {
                self.inner.counters.replays.fetch_add(1, Relaxed);
                state
                    .ring
                    .iter()
                    .filter(|(s, _)| *s > last)
                    .map(|(_, f)| f.clone())
                    .collect()
            }
            None => {
                self.inner.counters.snapshots.fetch_add(1, Relaxed);
                vec![self.snapshot_locked(&mut state)]
            }
        };
        let (tx, rx) = mpsc::channel(self.inner.config.client_queue.max(1));
        let (kick_tx, kicked) = oneshot::channel();
        let client_id = state.next_client;
        state.next_client += 1;
        state.clients.insert(
            client_id,
            Slot {
                tx,
                kick: Some(kick_tx),
            },
        );
        let c = &self.inner.counters;
        c.connections_current.fetch_add(1, Relaxed);
        c.connections_total.fetch_add(1, Relaxed);
        Subscription {
            client_id,
            initial,
            resumed: replay.is_some(),
            rx,
            kicked,
        }
    }

    /// Forgets a client whose connection ended.
    pub fn unsubscribe(&self, client_id: u64) {
        // The slot may already be gone (dropped for overflow); the connection still ends.
        self.lock().clients.remove(&client_id);
        self.inner
            .counters
            .connections_current
            .fetch_sub(1, Relaxed);
    }

    /// A snapshot of the current state as a frame (for resync requests).
    pub fn snapshot_frame(&self) -> Frame {
        self.inner.counters.snapshots.fetch_add(1, Relaxed);
        let mut state = self.lock();
        self.snapshot_locked(&mut state)
    }

    /// Bumps a counter.
    pub fn count(&self, what: Count) {
        let c = &self.inner.counters;
        let counter = match what {
            Count::SendFailure => &c.send_failures,
            Count::Ping => &c.pings,
            Count::ServerPing => &c.server_pings,
            Count::BadClientFrame => &c.bad_client_frames,
            Count::SilentClose => &c.silent_closes,
            Count::Snapshot => &c.snapshots,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Counts `n` frames sent.
    pub fn add_sent(&self, n: u64) {
        self.inner.counters.messages_sent.fetch_add(n, Relaxed);
    }

    /// The counters now.
    pub fn stats(&self) -> LiveStats {
        let c = &self.inner.counters;
        LiveStats {
            epoch: self.inner.epoch.clone(),
            seq: self.seq(),
            connections_current: c.connections_current.load(Relaxed),
            connections_total: c.connections_total.load(Relaxed),
            messages_sent: c.messages_sent.load(Relaxed),
            queue_depth_max: c.queue_depth_max.load(Relaxed),
            overflows: c.overflows.load(Relaxed),
            send_failures: c.send_failures.load(Relaxed),
            replays: c.replays.load(Relaxed),
            snapshots: c.snapshots.load(Relaxed),
            pings: c.pings.load(Relaxed),
            server_pings: c.server_pings.load(Relaxed),
            bad_client_frames: c.bad_client_frames.load(Relaxed),
            silent_closes: c.silent_closes.load(Relaxed),
        }
    }

    /// Tells every connection to close with `reason` (server shutdown).
    pub fn close_all(&self, reason: &str) {
        self.inner.closing.send_replace(Some(reason.to_owned()));
    }

    /// Frames waiting in clients' queues (what closing them now leaves unsent).
    pub fn queued_frames(&self) -> usize {
        self.lock()
            .clients
            .values()
            .map(|c| c.tx.max_capacity() - c.tx.capacity())
            .sum()
    }

    /// Resolves with the reason once [`Hub::close_all`] was called.
    pub fn closing(&self) -> watch::Receiver<Option<String>> {
        self.inner.closing.subscribe()
    }

    /// The snapshot as of the current seq: encoded (from references, nothing cloned) the
    /// first time it is asked for, then shared until the next event.
    fn snapshot_locked(&self, state: &mut State) -> Frame {
        if let Some((seq, frame)) = &state.snapshot {
            if *seq == state.seq {
                return frame.clone();
            }
        }
        #[derive(serde::Serialize)]
        struct Snapshot<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            epoch: &'a str,
            seq: u64,
            state: &'a LiveState,
        }
        let frame = Frame::from(
            serde_json::to_string(&Snapshot {
                kind: "snapshot",
                epoch: &self.inner.epoch,
                seq: state.seq,
                state: &state.live,
            })
            .expect("the live state serialises"),
        );
        state.snapshot = Some((state.seq, frame.clone()));
        frame
    }

    fn fan_out(&self, state: &mut State, frame: &Frame) {
        let capacity = self.inner.config.client_queue.max(1);
        let counters = &self.inner.counters;
        state
            .clients
            .retain(|id, slot| match slot.tx.try_send(frame.clone()) {
                Ok(()) => {
                    let depth = (capacity - slot.tx.capacity()) as u64;
                    counters.queue_depth_max.fetch_max(depth, Relaxed);
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    counters.overflows.fetch_add(1, Relaxed);
                    let reason = format!(
                        "send queue overflow ({capacity} frames waiting): reconnect to resync"
                    );
                    tracing::warn!(client = id, %reason, "dropping slow live client");
                    if let Some(kick) = slot.kick.take() {
                        let _ = kick.send(reason);
                    }
                    false
                }
                // The connection task ended; it unsubscribes itself.
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Serialises a server frame (infallible for these types).
pub fn encode(frame: &ServerFrame) -> Frame {
    Frame::from(serde_json::to_string(frame).expect("server frames serialise"))
}

mod shared;
#[cfg(test)]
mod tests;

pub use shared::Outgoing;
