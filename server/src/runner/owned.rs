//! Runs this replica owns, through leases in the database (docs/replicas.md): every run it
//! starts or takes over carries a [`Lease`], which a heartbeat extends while the run goes
//! on and which the run gives up when it ends. A run's writes carry the lease's token; when
//! one is refused, or a heartbeat finds the lease gone (this replica was paused or cut off
//! past its expiry, and another took the run over), the run is [`Owned::lose`]: it writes
//! and publishes nothing more and is cancelled here, without its cleanup. The replica that
//! took it over closes it and destroys what it rented, or resumes a deployment's serving
//! ([`super::takeover`]).

use crate::store::{Lease, Store};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long leases last and how often they are renewed and looked for.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// How long a lease lasts unless extended: how soon another replica takes over the
    /// work of one that stopped.
    pub ttl: Duration,
    /// How often the holder extends its leases (a third of `ttl` by default).
    pub heartbeat: Duration,
    /// How often a replica looks for runs whose lease expired.
    pub takeover_every: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            takeover_every: Duration::from_secs(5),
        }
    }
}

impl LeaseConfig {
    /// Leases lasting `ttl`, renewed at a third of it and looked for at a sixth.
    pub fn lasting(ttl: Duration) -> Self {
        Self {
            ttl,
            heartbeat: ttl / 3,
            takeover_every: ttl / 6,
        }
    }
}

/// The lease of one run (or campaign) this replica runs.
pub struct Owned {
    pub lease: Lease,
    pub ttl: Duration,
    lost: AtomicBool,
    cancel: CancellationToken,
}

impl Owned {
    pub fn new(lease: Lease, ttl: Duration, cancel: CancellationToken) -> Self {
        Self {
            lease,
            ttl,
            lost: AtomicBool::new(false),
            cancel,
        }
    }

    /// Whether another replica has taken the run over.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The work is another replica's now: say so once, and stop it here without a word
    /// more to the database or the browsers.
    pub fn lose(&self) {
        if !self.lost.swap(true, Ordering::SeqCst) {
            tracing::warn!(key = %self.lease.key, replica = %self.lease.owner, "this replica lost the lease of {} (it was paused or cut off past the lease time) and another took it over: it stops it here, writes nothing more about it and leaves what it rented to the other", self.lease.key);
            self.cancel.cancel();
        }
    }

    /// Extends the lease; loses the work when it is no longer ours. A database that does
    /// not answer changes nothing (the next beat tries again; the lease may expire).
    pub async fn beat(&self, store: &Store) {
        if self.is_lost() {
            return;
        }
        match store.extend(&self.lease, self.ttl).await {
            Ok(true) => {}
            Ok(false) => self.lose(),
            Err(e) => {
                tracing::warn!(key = %self.lease.key, error = %e, "cannot extend a lease")
            }
        }
    }

    /// Gives the lease up at the end of the work.
    pub async fn release(&self, store: &Store) {
        if self.is_lost() {
            return;
        }
        if let Err(e) = store.release(&self.lease).await {
            tracing::warn!(key = %self.lease.key, error = %e, "cannot release a lease (it expires by itself)");
        }
    }
}

/// A name for this replica, in leases and logs: the host, the process and a random part.
pub fn replica_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "replica".into());
    let random = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("{host}:{}:{random}", std::process::id())
}
