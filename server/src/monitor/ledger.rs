//! What the Sessions tab adds to the broker's session list: the run that rented each
//! session and how long it took to run (from the store, so they survive restarts), and its
//! cost to date (the broker's figure when it answers, else price × time, labelled which).

use crate::shopper::ShopperClient;
use crate::store::Store;
use gdl_model::costs::CostSource;
use gdl_model::ids::SessionId;
use gdl_model::sessions::{SessionCostView, SessionView};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the broker is asked for an active session's cost (it bills whole hours).
const COST_EVERY: Duration = Duration::from_secs(60);

/// Broker cost requests one poll makes at most (the rest wait for the next polls).
const COSTS_PER_POLL: usize = 8;

/// How long one cost request may take before the poll goes on without it.
const COST_PATIENCE: Duration = Duration::from_secs(2);

/// The broker's last cost figure for a session.
#[derive(Clone, Copy, Debug)]
struct Asked {
    usd: Option<f64>,
    at: Instant,
    /// Asked after the session ended: the figure will not change.
    settled: bool,
    /// Asked while the session was active (its end calls for one more ask).
    while_active: bool,
}

/// Remembers the broker's cost figures between polls.
#[derive(Default)]
pub(super) struct Ledger {
    store: Option<Store>,
    /// std Mutex: never held across an await.
    asked: Mutex<HashMap<SessionId, Asked>>,
}

impl Ledger {
    pub fn new(store: Option<Store>) -> Self {
        Self {
            store,
            asked: Mutex::default(),
        }
    }

    /// Adds the owning run, a stored time to running, and the cost to date to `views`.
    pub async fn enrich(&self, client: &ShopperClient, views: &mut [SessionView]) {
        let facts = match &self.store {
            Some(store) => store
                .rental_facts(views.iter().map(|v| v.id.clone()).collect())
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot read which runs own the sessions");
                    HashMap::new()
                }),
            None => HashMap::new(),
        };
        self.ask_broker(client, views).await;
        let asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
        for view in views.iter_mut() {
            let fact = facts.get(&view.id);
            view.run_id = fact.map(|f| f.run_id.clone());
            view.mark_whose(client.consumer_id());
            if view.time_to_running_secs.is_none() {
                view.time_to_running_secs = fact.and_then(|f| f.running_after_secs);
            }
            let broker = asked.get(&view.id).and_then(|a| a.usd);
            view.cost = match broker {
                Some(usd) => Some(SessionCostView {
                    usd,
                    source: CostSource::Broker,
                }),
                // Ours grows by the second: the page works it out (SessionView::cost_to_date),
                // so the live channel does not carry a change every poll.
                None if view.status.is_active() => None,
                None => fact.filter(|f| f.cost_usd > 0.0).map(|f| SessionCostView {
                    usd: f.cost_usd,
                    source: CostSource::Ours,
                }),
            };
        }
    }

    /// Asks the broker for the costs that are due: never asked, ended since last asked, or
    /// asked [`COST_EVERY`] ago (active, or ended without an answer yet); at most
    /// [`COSTS_PER_POLL`] a poll.
    async fn ask_broker(&self, client: &ShopperClient, views: &[SessionView]) {
        let due: Vec<(SessionId, bool)> = {
            let asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
            views
                .iter()
                .filter(|v| match asked.get(&v.id) {
                    None => true,
                    Some(a) if a.settled => false,
                    Some(a) => {
                        (a.while_active && !v.status.is_active()) || a.at.elapsed() >= COST_EVERY
                    }
                })
                .take(COSTS_PER_POLL)
                .map(|v| (v.id.clone(), !v.status.is_active()))
                .collect()
        };
        for (id, ended) in due {
            let usd = match tokio::time::timeout(COST_PATIENCE, client.session_cost(&id)).await {
                Ok(Ok(cost)) => Some(cost.total_cost),
                _ => None,
            };
            let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
            let last = asked.get(&id).and_then(|a| a.usd);
            asked.insert(
                id,
                Asked {
                    usd: usd.or(last),
                    at: Instant::now(),
                    settled: ended && usd.is_some(),
                    while_active: !ended,
                },
            );
        }
    }
}
