//! Work a stopped replica left: each replica extends the leases of the runs it runs (the
//! heartbeat), and looks every few seconds for runs whose lease expired. It claims each
//! (one replica wins a claim), takes back a deployment's serving where it can (the sealed
//! secrets) and otherwise closes the run as interrupted; the reconciler then destroys what
//! it rented and confirms it. The reconciler itself runs on one replica at a time, under
//! the named lease `reconciler`.

use super::owned::Owned;
use super::recover::close_orphan;
use super::Runner;
use crate::store::Lease;
use chrono::Utc;
use gdl_model::ids::RunId;
use gdl_model::live::LiveEvent;
use gdl_model::runs::{LogLevel, LogLine};
use std::collections::HashSet;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What a run taken over says.
const TAKEN_OVER: &str = "the replica running it stopped answering";

/// The named lease the reconciler runs under.
pub const RECONCILER: &str = "reconciler";

/// The most orphaned runs one pass takes.
const RUNS_PER_PASS: u32 = 100;

impl Runner {
    /// Starts the heartbeat, which extends the lease of every run this replica runs, and
    /// the takeover loop.
    pub fn spawn_leases(&self) {
        let runner = self.clone();
        tokio::spawn(async move {
            let every = runner.inner.config.leases.heartbeat;
            loop {
                tokio::time::sleep(every).await;
                let mut held: Vec<_> = {
                    let active = runner.inner.active.lock().unwrap();
                    active.values().map(|a| a.owned.clone()).collect()
                };
                held.extend(runner.inner.held.lock().unwrap().values().cloned());
                for owned in held {
                    owned.beat(&runner.inner.store).await;
                }
                let reconciling = runner.inner.reconciling.lock().unwrap().clone();
                if let Some(lease) = reconciling {
                    let ttl = runner.inner.config.leases.ttl;
                    if let Err(e) = runner.inner.store.extend(&lease, ttl).await {
                        tracing::warn!(error = %e, "cannot extend the reconciler's lease");
                    }
                }
            }
        });
        let runner = self.clone();
        tokio::spawn(async move {
            let every = runner.inner.config.leases.takeover_every;
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = runner.take_over().await {
                    tracing::warn!(error = %e, "cannot look for runs a stopped replica left");
                }
            }
        });
    }

    /// This replica's name in the leases it holds.
    pub fn replica(&self) -> &str {
        &self.inner.replica
    }

    /// A lease on work other than a run (a campaign) this replica holds from now on, `stop`
    /// cancelled if it is lost; the heartbeat extends it until [`Runner::let_go`].
    pub fn hold(&self, lease: Lease, stop: CancellationToken) -> Arc<Owned> {
        let owned = Arc::new(Owned::new(lease, self.inner.config.leases.ttl, stop));
        let key = owned.lease.key.clone();
        self.inner.held.lock().unwrap().insert(key, owned.clone());
        owned
    }

    /// Gives up a lease [`Runner::hold`] took.
    pub async fn let_go(&self, owned: &Owned) {
        self.inner.held.lock().unwrap().remove(&owned.lease.key);
        owned.release(&self.inner.store).await;
    }

    /// How long leases last.
    pub fn lease_ttl(&self) -> std::time::Duration {
        self.inner.config.leases.ttl
    }

    /// One pass: the runs whose lease expired, claimed, resumed or closed; how many.
    pub async fn take_over(&self) -> Result<usize, crate::store::StoreError> {
        let inner = &self.inner;
        let store = &inner.store;
        let local: HashSet<RunId> = inner.active.lock().unwrap().keys().cloned().collect();
        let orphaned: HashSet<RunId> = store
            .orphaned_runs(RUNS_PER_PASS)
            .await?
            .into_iter()
            .filter(|id| !local.contains(id))
            .collect();
        if orphaned.is_empty() {
            return Ok(0);
        }
        let resumed = super::resume::deployments(self, |d| orphaned.contains(&d.run_id)).await?;
        let (owner, ttl) = (&inner.replica, inner.config.leases.ttl);
        let mut closed = 0;
        for id in orphaned.difference(&resumed) {
            let Some(run) = close_orphan(store, id, owner, ttl, TAKEN_OVER).await? else {
                continue;
            };
            closed += 1;
            tracing::warn!(run = %id, replica = %owner, "took over a run whose replica stopped answering: closed as interrupted; the reconciler destroys what it rented");
            let last = store.logs(id, 1).await?.last().map_or(0, |l| l.n);
            let line = LogLine {
                run_id: id.clone(),
                n: last + 1,
                at: Utc::now(),
                level: LogLevel::Warn,
                step: None,
                message: format!(
                    "Replica {owner} took this run over: {TAKEN_OVER} (its lease expired). Closed as interrupted; what it rented is destroyed by the reconciler"
                ),
            };
            store.append_logs(std::slice::from_ref(&line)).await?;
            inner
                .hub
                .publish([LiveEvent::RunLog { line }, LiveEvent::RunUpsert { run }]);
        }
        if closed + resumed.len() > 0 {
            self.reconcile_soon();
        }
        Ok(closed + resumed.len())
    }

    /// A pass, when this replica holds the reconciler's lease (or takes it: free or
    /// expired); nothing when another replica does. The heartbeat extends the lease while
    /// the pass goes on; it is given up after.
    pub(super) async fn reconcile_if_ours(&self) -> Result<(), String> {
        let inner = &self.inner;
        let (owner, ttl) = (&inner.replica, inner.config.leases.ttl);
        let lease = match inner.store.claim_named(RECONCILER, owner, ttl).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("cannot take the reconciler's lease: {e}")),
        };
        *inner.reconciling.lock().unwrap() = Some(lease.clone());
        let pass = self.reconcile().await;
        inner.reconciling.lock().unwrap().take();
        if let Err(e) = inner.store.release(&lease).await {
            tracing::warn!(error = %e, "cannot release the reconciler's lease (it expires by itself)");
        }
        pass
    }
}
