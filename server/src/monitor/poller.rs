//! One broker poller across replicas (docs/replicas.md, "One broker poller"). With several
//! replicas on PostgreSQL, only the holder of the named lease [`POLLER`] reads the broker's
//! health and our sessions and publishes what changed; each of its polls claims the lease
//! again, which extends it. The others follow the holder's status and sessions through the
//! live events, and take the lease once it expires (its holder died or was paused): within
//! the lease time and one poll. A follower reads the broker itself only when a page asks
//! for fresh figures, and once at start before it knows any status.

use super::{BrokerView, Monitor};
use crate::store::Store;
use chrono::Utc;
use gdl_model::sessions::SessionsView;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The name of the poller's lease.
pub const POLLER: &str = "broker_poller";

/// The lease the poll of a replica among several needs.
pub(super) struct PollerLease {
    pub store: Store,
    pub owner: String,
    pub ttl: Duration,
}

impl Monitor {
    /// Polls only while this replica holds the poller's lease (several replicas on one
    /// PostgreSQL; call before [`Monitor::spawn`]).
    pub fn share_polling(&self, store: Store, owner: String, ttl: Duration) {
        let _ = self.shared.poller.set(PollerLease { store, owner, ttl });
    }

    /// Whether this replica reads the broker on its schedule: alone, always; among several,
    /// while it holds the lease (claimed, or extended, here).
    pub(super) async fn holds_poller(&self) -> bool {
        let Some(lease) = self.shared.poller.get() else {
            return true;
        };
        let held = match lease
            .store
            .claim_named(POLLER, &lease.owner, lease.ttl)
            .await
        {
            Ok(claimed) => claimed.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim the broker poller's lease; following the other replicas meanwhile");
                false
            }
        };
        let was = self.shared.holding.swap(held, Ordering::SeqCst);
        if held != was {
            if held {
                tracing::info!(replica = %lease.owner, "this replica polls the broker for all replicas now");
            } else {
                tracing::info!(replica = %lease.owner, "another replica polls the broker now; this one follows it");
            }
        }
        held
    }

    /// The pause before the next poll: among several replicas, short enough for the
    /// holder's polls to keep its lease and for a follower to take an expired one soon.
    pub(super) fn pace(&self, pause: Duration) -> Duration {
        match self.shared.poller.get() {
            Some(lease) => pause.min(lease.ttl / 3),
            None => pause,
        }
    }

    /// Whether this replica publishes the broker's status and sessions: alone, always;
    /// among several, only the poller's holder (a follower's own reads stay its own).
    pub(super) fn publishes(&self) -> bool {
        self.shared.poller.get().is_none() || self.shared.holding.load(Ordering::SeqCst)
    }

    /// A follower's view: the holder's status and sessions as the live events brought
    /// them, with this replica's own offer counts.
    pub(super) fn follow(&self) {
        let (status, sessions) = self.shared.hub.with_state(|s| {
            (
                s.status.clone(),
                s.sessions.values().cloned().collect::<Vec<_>>(),
            )
        });
        self.shared.view.send_modify(|v: &mut BrokerView| {
            if let Some(status) = status {
                v.status.broker = status.broker;
            }
            v.sessions = SessionsView {
                sessions,
                error: None,
                fetched_at: Some(Utc::now()),
            };
            v.polls += 1;
        });
    }

    /// Gives the lease up (at shutdown), so another replica polls at once.
    pub async fn release_poller(&self) {
        let Some(lease) = self.shared.poller.get() else {
            return;
        };
        if self.shared.holding.swap(false, Ordering::SeqCst) {
            if let Err(e) = lease.store.release_named(POLLER, &lease.owner).await {
                tracing::warn!(error = %e, "cannot give the broker poller's lease up (it expires by itself)");
            }
        }
    }
}
