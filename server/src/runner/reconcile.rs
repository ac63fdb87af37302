//! The reconciler: what this installation rented is destroyed and confirmed, or kept by the
//! person's choice, whatever failed on the way. Every minute, after each run ends and at
//! start, it lists the broker's sessions and
//! - settles what finished runs still owe: rentals whose destroy the broker did not
//!   confirm (every rental of the run, not only its last), and creates whose answer was
//!   lost (the session such a create made is found and destroyed; none in a listing made
//!   long enough after settles it). A run's cleanup is confirmed only when the broker
//!   confirmed each of them;
//! - destroys this installation's sessions that nothing owns once they are older than the
//!   grace period (`--orphan-grace-minutes`; 0 leaves them to the orphan banner), and
//!   records each with its cost.
//!
//! A listing that fails is asked again with backoff (1 s doubling to a minute): nothing is
//! ever concluded from a broker that did not answer.

mod settle;

pub use settle::{settle_unclear, unowned, Listing};

use super::destroy::destroy;
use super::Runner;
use chrono::Utc;
use gdl_model::ids::SessionId;
use gdl_model::live::LiveEvent;
use gdl_model::reconciled::Reconciled;
use gdl_model::runs::{CleanupOutcome, LogLevel, LogLine, Run};
use gdl_model::sessions::SessionView;
use gdl_model::shopper::Session;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// When and how hard the reconciler works.
#[derive(Clone, Debug)]
pub struct ReconcileConfig {
    /// Time between passes when nothing asks for one sooner.
    pub every: Duration,
    /// How long a session that nothing owns may bill before it is destroyed; `None` leaves
    /// such sessions to the orphan banner and "Clean up all".
    pub grace: Option<Duration>,
    /// How long after a create whose answer was lost a listing that shows no session from
    /// it settles it (the broker's create can take minutes).
    pub unclear_window: Duration,
    /// How long one destroy in a pass keeps asking the broker to confirm (the next pass
    /// asks again).
    pub destroy_patience: Duration,
    /// How long a run's cleanup keeps asking for the broker's sessions, to find what a
    /// create whose answer was lost made, before leaving it to the reconciler.
    pub listing_patience: Duration,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(60),
            grace: Some(Duration::from_secs(600)),
            unclear_window: Duration::from_secs(360),
            destroy_patience: Duration::from_secs(60),
            listing_patience: Duration::from_secs(30),
        }
    }
}

/// What the reconciler has done since this process started (for `/metrics`).
#[derive(Default)]
pub struct ReconcileCounters {
    /// Passes that listed the broker's sessions.
    pub passes: AtomicU64,
    /// Passes the broker did not answer.
    pub failed_listings: AtomicU64,
    /// Sessions destroyed and confirmed: unowned ones, and rentals runs still owed.
    pub destroyed: AtomicU64,
    /// What the unowned sessions it destroyed had cost, in micro-dollars.
    pub destroyed_micro_usd: AtomicU64,
}

/// The most runs one pass looks at.
const RUNS_PER_PASS: u32 = 1000;

impl Runner {
    /// Starts the reconciler's loop: a pass at once, then every [`ReconcileConfig::every`]
    /// or sooner when asked ([`Runner::reconcile_soon`]); after a failed listing, again in
    /// 1 s, doubling up to `every`.
    pub fn spawn_reconciler(&self) {
        let runner = self.clone();
        tokio::spawn(async move {
            let every = runner.inner.config.reconcile.every;
            let mut backoff = Duration::from_secs(1);
            loop {
                let wait = match runner.reconcile_if_ours().await {
                    Ok(()) => {
                        backoff = Duration::from_secs(1);
                        every
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_secs = backoff.as_secs(), "the reconciler could not list the broker's sessions");
                        let wait = backoff;
                        backoff = (backoff * 2).min(every);
                        wait
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = runner.inner.reconcile_wake.notified() => {}
                }
            }
        });
    }

    /// Asks for a reconciler pass now (after a run ends).
    pub fn reconcile_soon(&self) {
        self.inner.reconcile_wake.notify_one();
    }

    /// What the reconciler has done so far.
    pub fn reconcile_counters(&self) -> &ReconcileCounters {
        &self.inner.reconcile_counters
    }

    /// One pass. Fails only when the broker's sessions or the stored runs cannot be read.
    pub async fn reconcile(&self) -> Result<(), String> {
        let inner = &self.inner;
        let counters = &inner.reconcile_counters;
        let listed = match inner.client.our_sessions().await {
            Ok(listed) => listed,
            Err(e) => {
                counters.failed_listings.fetch_add(1, Ordering::Relaxed);
                return Err(e.to_string());
            }
        };
        counters.passes.fetch_add(1, Ordering::Relaxed);
        let listing = Listing {
            sessions: &listed,
            at: Utc::now(),
            mine: inner.client.consumer_id(),
        };
        let mut claimed = claimed(&inner.store, &listed)
            .await
            .map_err(|e| e.to_string())?;
        let live: HashSet<_> = inner.active.lock().unwrap().keys().cloned().collect();
        let owing: Vec<Run> = inner
            .store
            .runs_not_confirmed(RUNS_PER_PASS)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| !live.contains(&r.id) && r.owes_cleanup())
            .collect();
        for run in owing {
            self.settle_run(run, &listing, &mut claimed).await;
        }
        if let Some(grace) = inner.config.reconcile.grace {
            let oldest_live = inner.hub.with_state(|s| {
                s.runs
                    .values()
                    .filter(|r| !r.status.is_finished())
                    .map(|r| r.created_at)
                    .min()
            });
            for session in unowned(&listing, &claimed, grace, oldest_live) {
                self.destroy_unowned(session).await;
            }
        }
        Ok(())
    }

    /// Settles what a finished run still owes against `listing`, destroys its unconfirmed
    /// rentals, and records the outcome on the run (saved, published, logged).
    async fn settle_run(
        &self,
        mut run: Run,
        listing: &Listing<'_>,
        claimed: &mut HashSet<SessionId>,
    ) {
        let inner = &self.inner;
        let config = &inner.config.reconcile;
        let rentals_before = run.rentals.len();
        let mut said = settle_unclear(&mut run, listing, claimed, config.unclear_window);
        // A session found for a lost create is saved as a rental before it is destroyed: a
        // process killed in between must not forget it (and its cost) once it is gone.
        if run.rentals.len() > rentals_before {
            if let Err(e) = inner.store.save_run(&run).await {
                tracing::warn!(run = %run.id, error = %e, "cannot save the rentals the reconciler found");
            }
        }
        let owed: Vec<SessionId> = run
            .unconfirmed_rentals()
            .map(|r| r.session_id.clone())
            .collect();
        for id in owed {
            let destroyed = destroy(&inner.client, &id, config.destroy_patience, &|_| {}).await;
            let now = Utc::now();
            if let Some(rental) = run.rentals.iter_mut().find(|r| r.session_id == id) {
                rental.record_destroy(destroyed.is_ok(), now);
                if rental.cost_usd == 0.0 {
                    rental.cost_usd = rental.cost_until(now);
                }
            }
            said.push(match destroyed {
                Ok(d) => {
                    inner
                        .reconcile_counters
                        .destroyed
                        .fetch_add(1, Ordering::Relaxed);
                    format!("Reconciler: {}", d.message(&id))
                }
                Err(e) => format!("Reconciler: {}", e.message),
            });
        }
        run.cleanup = Some(outcome(&run));
        self.record(&run, &said).await;
    }

    /// A session a person destroyed (the Sessions tab's Clean up, the run banner's Clean up
    /// now) and the broker confirmed gone: the finished run that rented it records its
    /// rental destroyed, so the run no longer shows it running. A session no finished run
    /// rented (or a run still going, whose own steps record it) is left alone.
    pub async fn destroyed_by_hand(&self, session: &SessionId) {
        let inner = &self.inner;
        let Ok(facts) = inner.store.rental_facts(vec![session.clone()]).await else {
            return;
        };
        let Some(fact) = facts.get(session) else {
            return;
        };
        if inner.active.lock().unwrap().contains_key(&fact.run_id) {
            return;
        }
        let Ok(Some(mut run)) = inner.store.run(&fact.run_id).await else {
            return;
        };
        let now = Utc::now();
        let Some(rental) = run
            .rentals
            .iter_mut()
            .find(|r| &r.session_id == session && r.destroyed != Some(true))
        else {
            return;
        };
        rental.record_destroy(true, now);
        if rental.cost_usd == 0.0 {
            rental.cost_usd = rental.cost_until(now);
        }
        let said = format!("Session {session} destroyed by hand; the broker confirmed it gone");
        self.record(&run, &[said]).await;
    }

    /// Saves and publishes `run`, with `said` appended to its log.
    async fn record(&self, run: &Run, said: &[String]) {
        let store = &self.inner.store;
        let last = match store.logs(&run.id, 1).await {
            Ok(lines) => lines.last().map_or(0, |l| l.n),
            Err(_) => 0,
        };
        let lines: Vec<LogLine> = said
            .iter()
            .zip(last + 1..)
            .map(|(message, n)| LogLine {
                run_id: run.id.clone(),
                n,
                at: Utc::now(),
                level: LogLevel::Warn,
                step: None,
                message: message.clone(),
            })
            .collect();
        if let Err(e) = store.append_logs(&lines).await {
            tracing::error!(run = %run.id, error = %e, "cannot log what the reconciler did");
        }
        if let Err(e) = store.save_run(run).await {
            tracing::error!(run = %run.id, error = %e, "cannot save what the reconciler did");
        }
        let mut events: Vec<LiveEvent> = lines
            .into_iter()
            .map(|line| LiveEvent::RunLog { line })
            .collect();
        events.push(LiveEvent::RunUpsert { run: run.clone() });
        self.inner.hub.publish(events);
    }

    /// Destroys a session nothing owns and records it with its cost.
    async fn destroy_unowned(&self, session: &Session) {
        let inner = &self.inner;
        let patience = inner.config.reconcile.destroy_patience;
        tracing::warn!(session = %session.id, gpu = %session.gpu_type, created_at = %session.created_at, "destroying a session of this installation that nothing owns");
        let destroyed = destroy(&inner.client, &session.id, patience, &|_| {}).await;
        let now = Utc::now();
        let cost_usd = gdl_model::prices::rent_usd(session.price_per_hour, session.created_at, now);
        let (confirmed, message) = match destroyed {
            Ok(d) => (
                true,
                format!("destroyed by the reconciler: {}", d.message(&session.id)),
            ),
            Err(e) => (false, format!("the reconciler's destroy: {}", e.message)),
        };
        if confirmed {
            let counters = &inner.reconcile_counters;
            counters.destroyed.fetch_add(1, Ordering::Relaxed);
            counters
                .destroyed_micro_usd
                .fetch_add((cost_usd * 1e6).round() as u64, Ordering::Relaxed);
        }
        let record = Reconciled {
            session: SessionView::from_session(session, None),
            destroyed_at: now,
            confirmed,
            message,
            cost_usd,
        };
        if let Err(e) = inner.store.save_reconciled(&record).await {
            tracing::error!(session = %session.id, error = %e, "cannot record what the reconciler destroyed");
        }
        inner.hub.publish([LiveEvent::Reconciled { record }]);
    }
}

/// The listed sessions that a rental of some run already names.
pub async fn claimed(
    store: &crate::store::Store,
    listed: &[Session],
) -> Result<HashSet<SessionId>, crate::store::StoreError> {
    let ids = listed.iter().map(|s| s.id.clone()).collect();
    Ok(store.rental_facts(ids).await?.into_keys().collect())
}

/// How a run's cleanup stands once what it owed was asked about: confirmed only when the
/// broker confirmed every rental (but a kept one) and every unclear create is settled.
pub fn outcome(run: &Run) -> CleanupOutcome {
    let kept = run.cleanup.as_ref().is_some_and(|c| c.kept);
    let previous = run
        .cleanup
        .as_ref()
        .map(|c| c.message.clone())
        .unwrap_or_default();
    let unconfirmed: Vec<String> = run
        .unconfirmed_rentals()
        .map(|r| r.session_id.to_string())
        .collect();
    let unclear = run.unclear_creates.iter().filter(|u| u.is_open()).count();
    if unconfirmed.is_empty() && unclear == 0 {
        let destroyed: Vec<String> = run
            .rentals
            .iter()
            .filter(|r| r.destroyed == Some(true))
            .map(|r| r.session_id.to_string())
            .collect();
        let message = match (kept, destroyed.is_empty()) {
            (true, _) => previous,
            (false, true) => "the broker lists no session this run made".to_owned(),
            (false, false) => format!(
                "the broker confirmed every session this run rented gone: {}",
                destroyed.join(", ")
            ),
        };
        return CleanupOutcome {
            destroyed_confirmed: !kept,
            kept,
            message,
        };
    }
    let mut open = Vec::new();
    if !unconfirmed.is_empty() {
        open.push(format!(
            "destroy not confirmed yet for {}",
            unconfirmed.join(", ")
        ));
    }
    if unclear > 0 {
        open.push(format!(
            "{unclear} create(s) whose answer was lost still to settle"
        ));
    }
    CleanupOutcome {
        destroyed_confirmed: false,
        kept,
        message: format!(
            "{}: the reconciler asks the broker again every minute",
            open.join("; ")
        ),
    }
}
