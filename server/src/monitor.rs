//! The loops that read the broker: health and our sessions on an adaptive interval, and
//! apart from them the inventory (see [`inventory`]). Pages and the REST API answer from
//! their latest view at once, so a slow or offline broker never makes a page slow.

pub mod inventory;
mod ledger;
mod poller;

pub use poller::POLLER;

use crate::live::Hub;
use crate::shopper::{ShopperClient, ShopperError};
use chrono::Utc;
use gdl_model::error::ApiError;
use gdl_model::ids::SessionId;
use gdl_model::live::{LiveEvent, LiveState};
use gdl_model::sessions::{SessionView, SessionsView};
use gdl_model::shopper::{Provider, Session, SessionStatus};
use gdl_model::status::{BrokerState, BrokerStatus, ProviderOffers, StatusView};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The shortest time between two polls, even when refreshes are asked for.
const MIN_POLL_GAP: Duration = Duration::from_secs(1);

/// How long `?fresh=true` (and a refresh after a session action) waits for a new poll.
pub const REFRESH_PATIENCE: Duration = Duration::from_secs(5);

/// How often the broker is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PollIntervals {
    /// When the broker is ready and nothing is changing.
    pub idle: Duration,
    /// When the broker is not ready, or a session is on its way somewhere.
    pub busy: Duration,
}

impl PollIntervals {
    /// The intervals for a broker running `speed` times faster than real time (a
    /// simulator): never slower than the real broker's, a little faster when time is
    /// compressed.
    pub fn for_speed(speed: f64) -> Self {
        let base = Self::default();
        if speed <= 1.0 {
            return base;
        }
        Self {
            idle: base
                .idle
                .div_f64(speed.sqrt())
                .max(Duration::from_millis(1000)),
            busy: base
                .busy
                .div_f64(speed.sqrt())
                .max(Duration::from_millis(500)),
        }
    }
}

impl Default for PollIntervals {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(5),
            busy: Duration::from_secs(2),
        }
    }
}

/// What the monitor last saw.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerView {
    pub status: StatusView,
    pub sessions: SessionsView,
    /// Completed polls (0 until the first finishes).
    pub polls: u64,
}

/// A cheap-to-clone handle to the broker monitor.
#[derive(Clone)]
pub struct Monitor {
    shared: Arc<Shared>,
}

struct Shared {
    client: ShopperClient,
    /// Where changes are published for the live channel.
    hub: Hub,
    simulated: bool,
    intervals: PollIntervals,
    view: watch::Sender<BrokerView>,
    /// Polls started; a refresh waits for one that starts after it asked.
    started: AtomicU64,
    wake: Notify,
    /// Session id → status when first seen, and seconds from creation to running.
    /// std Mutex: never held across an await.
    seen: Mutex<HashMap<SessionId, Seen>>,
    ledger: ledger::Ledger,
    /// The offers as last read, and the nudge for a read now.
    offers: watch::Sender<inventory::Offers>,
    inventory_wake: Notify,
    /// Held while the changes since the hub's state are worked out and published: two
    /// loops publish the status.
    publishing: Mutex<()>,
    /// Among several replicas: the lease polling needs ([`poller`]), whether this replica
    /// holds it, and whether a page asked for fresh figures (read even by a follower).
    poller: OnceLock<poller::PollerLease>,
    holding: AtomicBool,
    forced: AtomicBool,
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    first_status: SessionStatus,
    time_to_running: Option<f64>,
}

impl Monitor {
    /// A monitor for `client`. Call [`Monitor::spawn`] to start polling.
    pub fn new(client: ShopperClient, simulated: bool, intervals: PollIntervals, hub: Hub) -> Self {
        Self::with_store(client, simulated, intervals, hub, None)
    }

    /// A monitor that also reads from `store` which run rented each session and how long it
    /// took to run.
    pub fn with_store(
        client: ShopperClient,
        simulated: bool,
        intervals: PollIntervals,
        hub: Hub,
        store: Option<crate::store::Store>,
    ) -> Self {
        let status = StatusView {
            version: gdl_model::VERSION.to_owned(),
            broker: BrokerStatus {
                state: BrokerState::Starting,
                reason: Some("the broker has not been checked yet".into()),
                hint: Some("The first check runs as the dashboard starts; wait a moment.".into()),
                code: None,
                url: client.base_url().to_owned(),
                simulated,
                checked_at: None,
                breaker: client.breaker().view(),
                consumer_id: client.consumer_id().to_owned(),
            },
            providers: Provider::KNOWN
                .iter()
                .map(|p| ProviderOffers {
                    provider: p.clone(),
                    offers: 0,
                    cheapest_per_hour: None,
                })
                .collect(),
            inventory_error: None,
            inventory_at: None,
        };
        let view = BrokerView {
            status,
            sessions: SessionsView {
                sessions: Vec::new(),
                error: None,
                fetched_at: None,
            },
            polls: 0,
        };
        Self {
            shared: Arc::new(Shared {
                client,
                hub,
                simulated,
                intervals,
                view: watch::Sender::new(view),
                started: AtomicU64::new(0),
                wake: Notify::new(),
                seen: Mutex::new(HashMap::new()),
                ledger: ledger::Ledger::new(store),
                offers: watch::Sender::new(inventory::Offers::default()),
                inventory_wake: Notify::new(),
                publishing: Mutex::new(()),
                poller: OnceLock::new(),
                holding: AtomicBool::new(false),
                forced: AtomicBool::new(false),
            }),
        }
    }

    /// Starts the polling loops; they end when every handle is dropped.
    pub fn spawn(&self) {
        self.repeat(
            |s| &s.inventory_wake,
            |m| async move { m.read_inventory().await },
        );
        self.repeat(|s| &s.wake, |m| async move { m.poll_once().await });
    }

    /// Runs `step` again and again while a handle lives: after the pause it returns, or
    /// sooner when `nudge` is notified, but never twice within a second however many
    /// callers ask for fresh figures.
    fn repeat<F, Fut>(&self, nudge: fn(&Shared) -> &Notify, step: F)
    where
        F: Fn(Monitor) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Duration> + Send,
    {
        let weak = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            loop {
                let Some(shared) = weak.upgrade() else { return };
                let monitor = Monitor { shared };
                let started = tokio::time::Instant::now();
                let pause = step(monitor.clone()).await;
                let wake = async {
                    nudge(&monitor.shared).notified().await;
                    tokio::time::sleep_until(started + MIN_POLL_GAP).await;
                };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = wake => {}
                }
            }
        });
    }

    /// The client in use.
    pub fn client(&self) -> &ShopperClient {
        &self.shared.client
    }

    /// Whether the broker is the embedded simulator.
    pub fn simulated(&self) -> bool {
        self.shared.simulated
    }

    /// The latest view.
    pub fn view(&self) -> BrokerView {
        self.shared.view.borrow().clone()
    }

    /// Subscribes to every new view.
    pub fn subscribe(&self) -> watch::Receiver<BrokerView> {
        self.shared.view.subscribe()
    }

    /// The latest view once the first poll and the first inventory read have finished,
    /// waiting at most `patience` for them (then answering with what is known, so a hung
    /// broker never hangs a page).
    pub async fn settled_view(&self, patience: Duration) -> BrokerView {
        let deadline = tokio::time::Instant::now() + patience;
        let mut rx = self.subscribe();
        let _ = tokio::time::timeout_at(deadline, rx.wait_for(|v| v.polls > 0)).await;
        let mut offers = self.shared.offers.subscribe();
        let _ = tokio::time::timeout_at(deadline, offers.wait_for(|o| o.reads > 0)).await;
        self.view()
    }

    /// Asks for a poll now and waits (at most `patience`) for a poll that started after
    /// this call to finish.
    pub async fn refresh(&self, patience: Duration) -> BrokerView {
        let mut rx = self.subscribe();
        let target = self.shared.started.load(Ordering::SeqCst) + 1;
        self.shared.forced.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
        let _ = tokio::time::timeout(patience, rx.wait_for(|v| v.polls >= target)).await;
        self.view()
    }

    /// One poll: health first (published at once), then our sessions; among several
    /// replicas, only by the poller's holder (the others follow it, [`poller`]). Returns how
    /// long to wait before the next one.
    async fn poll_once(&self) -> Duration {
        let forced = self.shared.forced.swap(false, Ordering::SeqCst);
        let first = self.view().polls == 0;
        if !self.holds_poller().await && !forced && !first {
            self.shared.started.fetch_add(1, Ordering::SeqCst);
            self.follow();
            return self.pace(self.shared.intervals.busy);
        }
        let pause = self.poll_broker().await;
        self.pace(pause)
    }

    /// One read of the broker (see [`Monitor::poll_once`]).
    async fn poll_broker(&self) -> Duration {
        self.shared.started.fetch_add(1, Ordering::SeqCst);
        let client = &self.shared.client;
        let broker = self.check_health().await;
        let state = broker.state;
        self.shared.view.send_modify(|v| v.status.broker = broker);
        if state == BrokerState::Offline {
            // Sessions stay as last seen: an unreachable broker removes nothing.
            self.publish_changes(false);
            self.shared.view.send_modify(|v| v.polls += 1);
            return self.shared.intervals.busy;
        }
        let sessions = client.our_sessions().await;
        let busy = matches!(&sessions, Ok(list) if list.iter().any(|s| {
            s.status.is_active() && s.status != SessionStatus::Running || s.status == SessionStatus::Stopping
        }));
        let sessions = match sessions {
            Ok(list) => {
                let mut views = self.session_views(&list);
                self.shared.ledger.enrich(client, &mut views).await;
                Ok(views)
            }
            Err(e) => Err(e),
        };
        let listed = sessions.is_ok();
        let now = Utc::now();
        self.shared.view.send_modify(|v| match sessions {
            Ok(list) => {
                v.sessions = SessionsView {
                    sessions: list,
                    error: None,
                    fetched_at: Some(now),
                }
            }
            Err(e) => v.sessions.error = Some(e.to_api_error()),
        });
        self.publish_changes(listed);
        self.shared.view.send_modify(|v| v.polls += 1);
        if busy || state != BrokerState::Ready {
            self.shared.intervals.busy
        } else {
            self.shared.intervals.idle
        }
    }

    /// Publishes what changed since the hub's state: the status, and sessions upserted or
    /// (only after a successful listing) removed.
    fn publish_changes(&self, sessions_listed: bool) {
        // Among several replicas the poller's holder publishes, and each replica its first
        // read (what its browsers start from); a follower's other reads stay its own.
        if !self.publishes() && self.view().polls > 0 {
            return;
        }
        let _one_at_a_time = self
            .shared
            .publishing
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let view = self.view();
        let sessions = sessions_listed.then_some(view.sessions.sessions.as_slice());
        // Publishing is one at a time, so nothing changes the hub between the diff and the
        // publish.
        let events = self
            .shared
            .hub
            .with_state(|old| changes(old, &view.status, sessions));
        if !events.is_empty() {
            self.shared.hub.publish(events);
        }
    }

    async fn check_health(&self) -> BrokerStatus {
        let client = &self.shared.client;
        let result = match client.health().await {
            Ok(_) => client.ready().await.map(|_| ()),
            Err(e) => Err(e),
        };
        let (state, error) = match result {
            Ok(()) => (BrokerState::Ready, None),
            Err(e @ ShopperError::NotReady { .. }) => (BrokerState::Starting, Some(e)),
            Err(e) => (BrokerState::Offline, Some(e)),
        };
        let api: Option<ApiError> = error.as_ref().map(ShopperError::to_api_error);
        BrokerStatus {
            state,
            reason: api.as_ref().map(|e| e.message.clone()),
            hint: api.as_ref().and_then(|e| e.hint.clone()),
            code: api.map(|e| e.error_code()),
            url: client.base_url().to_owned(),
            simulated: self.shared.simulated,
            checked_at: Some(Utc::now()),
            breaker: client.breaker().view(),
            consumer_id: client.consumer_id().to_owned(),
        }
    }

    /// Views of our sessions, with the time from creation to running where this process
    /// saw the session before it was running (otherwise it is unknown, not guessed).
    fn session_views(&self, sessions: &[Session]) -> Vec<SessionView> {
        let now = Utc::now();
        let mut seen = self.shared.seen.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .iter()
            .map(|s| {
                let entry = seen.entry(s.id.clone()).or_insert(Seen {
                    first_status: s.status,
                    time_to_running: None,
                });
                let saw_it_start = matches!(
                    entry.first_status,
                    SessionStatus::Pending | SessionStatus::Provisioning
                );
                if entry.time_to_running.is_none()
                    && saw_it_start
                    && s.status == SessionStatus::Running
                {
                    let secs = (now - s.created_at).num_milliseconds() as f64 / 1000.0;
                    entry.time_to_running = Some(secs.max(0.0));
                }
                SessionView::from_session(s, entry.time_to_running)
            })
            .collect()
    }
}

/// The events that turn `old` into the new status and session list. `sessions` is `None`
/// when the broker could not be listed: then nothing is removed.
pub fn changes(
    old: &LiveState,
    status: &StatusView,
    sessions: Option<&[SessionView]>,
) -> Vec<LiveEvent> {
    let mut events = Vec::new();
    let comparable = |s: &StatusView| {
        let mut s = s.clone();
        s.broker.checked_at = None;
        s.inventory_at = None;
        s
    };
    if old.status.as_ref().map(comparable) != Some(comparable(status)) {
        events.push(LiveEvent::Status {
            status: status.clone(),
        });
    }
    if let Some(sessions) = sessions {
        for session in sessions {
            if old.sessions.get(&session.id) != Some(session) {
                events.push(LiveEvent::SessionUpsert {
                    session: session.clone(),
                });
            }
        }
        let listed: std::collections::HashSet<&str> =
            sessions.iter().map(|s| s.id.as_str()).collect();
        for id in old.sessions.keys() {
            if !listed.contains(id.as_str()) {
                events.push(LiveEvent::SessionRemoved { id: id.clone() });
            }
        }
    }
    events
}

#[cfg(test)]
mod tests;
