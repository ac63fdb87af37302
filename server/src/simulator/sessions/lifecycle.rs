//! How sessions end (`internal/service/provisioner/service.go` `DestroySession`,
//! `internal/service/lifecycle/*`): destroy with verification (one destroy at a time per
//! session, a `stopping` session answered at once, verification that can fail after the
//! broker's ten attempts), done, and the lifecycle tick: reservation expiry and the hard
//! maximum (running sessions), stuck provisioning/stopping sessions, the failed-destroy
//! watchdog, and ghost reconciliation (a running or provisioning session at least 10
//! minutes old whose instance the provider no longer has becomes stopped).

use super::{SimSession, HARD_MAX_SECS, SSH_TIMEOUT_SECS};
use crate::simulator::{sanitize, SimError, Simulator};
use gdl_model::shopper::SessionStatus;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Lifecycle tick interval (contract seconds).
const TICK_SECS: f64 = 60.0;
/// Reconciliation interval (contract seconds).
const RECONCILE_SECS: f64 = 300.0;
/// A ghost younger than this is left alone (contract seconds).
const GHOST_GRACE_SECS: f64 = 600.0;
/// The broker's verification waits: 5 s × attempt for 10 attempts (contract seconds).
const VERIFY_WAITS_SECS: f64 = 275.0;
/// The error the reconciler leaves on a ghost.
pub(crate) const GHOST_ERROR: &str = "Instance not found on provider during reconciliation";

impl Simulator {
    /// `DELETE /api/v1/sessions/:id`: force destroy, idempotent.
    pub(crate) async fn delete_session(&self, id: &str) -> Result<Value, SimError> {
        let status = self
            .state()
            .sessions
            .get(id)
            .map(|s| s.session.status)
            .ok_or_else(|| {
                SimError::standard(404, format!("session not found: {}", sanitize(id)))
            })?;
        match status {
            s if s.is_active() => self.destroy(id).await?,
            // The broker answers at once for a destroy already under way.
            SessionStatus::Stopping => {}
            SessionStatus::Failed => {
                let mut state = self.state();
                if let Some(s) = state.sessions.get_mut(id).filter(|s| s.instance) {
                    s.instance = false;
                    s.power_off();
                    s.session.status = SessionStatus::Stopped;
                }
            }
            _ => {}
        }
        Ok(json!({"message": "session destroyed", "session_id": id}))
    }

    /// `POST /api/v1/sessions/:id/done`.
    pub(crate) async fn done_session(&self, id: &str) -> Result<Value, SimError> {
        let status = self.get_session(id)?.status;
        if status.is_terminal() {
            return Err(super::terminal(id, status));
        }
        if status != SessionStatus::Stopping {
            self.destroy(id).await?;
        }
        Ok(json!({"message": "session shutdown initiated", "session_id": id}))
    }

    /// stopping → provider destroy → verification wait → stopped. A session without an
    /// instance stops at once; a destroy the provider never confirms (a fault) fails after
    /// the broker's ten attempts and leaves the session stopping.
    pub(super) async fn destroy(&self, id: &str) -> Result<(), SimError> {
        let (instance, unverified, extra) = {
            let mut guard = self.state();
            let state = &mut *guard;
            let extra = Duration::from_millis(state.faults.destroy_delay_ms);
            let Some(s) = state.sessions.get_mut(id) else {
                return Ok(());
            };
            s.session.status = SessionStatus::Stopping;
            let instance = s.instance.then(|| s.instance_id.clone());
            let unverified = instance.is_some() && state.faults.unverified_destroys > 0;
            if unverified {
                state.faults.unverified_destroys -= 1;
            } else {
                s.power_off();
            }
            (instance, unverified, extra)
        };
        match instance {
            Some(instance_id) if unverified => {
                tokio::time::sleep(self.scaled(VERIFY_WAITS_SECS) + extra).await;
                return Err(SimError::standard(
                    500,
                    format!("failed to verify destruction of session {id} (provider: {instance_id}) after 10 attempts"),
                ));
            }
            Some(_) => tokio::time::sleep(self.scaled(5.0) + extra).await,
            None => {}
        }
        if let Some(s) = self.state().sessions.get_mut(id) {
            s.session.status = SessionStatus::Stopped;
            s.instance = false;
            s.ended = Some(Instant::now());
        }
        Ok(())
    }

    /// The provider loses session `id`'s instance without the broker knowing (a fault):
    /// its machine goes away and the reconciler later finds a ghost.
    pub(crate) fn vanish_instance(&self, id: &str) -> bool {
        let mut state = self.state();
        let Some(s) = state.sessions.get_mut(id).filter(|s| s.instance) else {
            return false;
        };
        s.gone = true;
        s.power_off();
        true
    }

    /// The broker stops (SIGTERM) and starts again after `down` (`cmd/server/main.go`,
    /// `internal/service/lifecycle/startup.go`): `/health` and `/ready` answer 503 while it
    /// destroys every active session's instance, leaving their records as they were (a
    /// running session still reads running until reconciliation finds its instance gone);
    /// then nothing listens for `down`; then its startup sweep stops the provisioning and
    /// stopping sessions whose instances are gone, and it is ready again.
    pub fn restart(&self, down: Duration) {
        self.update_faults(|f| f.not_ready = true);
        for s in self.state().sessions.values_mut() {
            if s.session.status.is_active() && s.instance {
                s.gone = true;
                s.power_off();
            }
        }
        let weak = self.downgrade();
        let destroying = self.scaled(5.0);
        tokio::spawn(async move {
            tokio::time::sleep(destroying).await;
            if let Some(sim) = Simulator::from_weak(&weak) {
                sim.set_offline(true);
            }
            tokio::time::sleep(down).await;
            if let Some(sim) = Simulator::from_weak(&weak) {
                sim.startup_sweep();
                sim.update_faults(|f| f.not_ready = false);
                sim.set_offline(false);
            }
        });
    }

    /// The startup sweep's recovery: provisioning and stopping sessions whose instances are
    /// gone become stopped.
    fn startup_sweep(&self) {
        let now = Instant::now();
        for s in self.state().sessions.values_mut() {
            let waiting = matches!(
                s.session.status,
                SessionStatus::Provisioning | SessionStatus::Stopping
            );
            if waiting && s.gone {
                stop(s, None, now);
            }
        }
    }

    /// One lifecycle tick: hard max, expiry, stuck sessions, failed-destroy watchdog.
    async fn tick(&self) {
        let to_destroy: Vec<String> = {
            let mut state = self.state();
            let now = Instant::now();
            let stuck_after =
                self.scaled(state.faults.stuck_after_secs.unwrap_or(SSH_TIMEOUT_SECS));
            let hard_max = self.scaled(HARD_MAX_SECS);
            let mut destroy = Vec::new();
            for s in state.sessions.values_mut() {
                match s.session.status {
                    SessionStatus::Running
                        if now >= s.expires || s.created.elapsed() > hard_max =>
                    {
                        s.expired = true;
                        destroy.push(s.session.id.to_string())
                    }
                    SessionStatus::Provisioning | SessionStatus::Stopping
                        if s.created.elapsed() > stuck_after =>
                    {
                        // Stuck check and watchdog in the same tick: straight to stopped.
                        let what = if s.session.status == SessionStatus::Stopping {
                            "Session stuck in stopping state - manual cleanup may be required"
                        } else {
                            "Session stuck in provisioning state - provisioning timeout"
                        };
                        stop(s, Some(what), now);
                    }
                    SessionStatus::Failed if s.instance => stop(s, None, now),
                    _ => {}
                }
            }
            destroy
        };
        for id in to_destroy {
            let _ = self.destroy(&id).await;
        }
    }

    /// One reconciliation: ghosts old enough become stopped, with no destroy call.
    fn reconcile(&self) {
        let grace = self.scaled(GHOST_GRACE_SECS);
        let now = Instant::now();
        for s in self.state().sessions.values_mut() {
            let active = matches!(
                s.session.status,
                SessionStatus::Running | SessionStatus::Provisioning
            );
            if active && s.instance && s.gone && s.created.elapsed() >= grace {
                stop(s, Some(GHOST_ERROR), now);
            }
        }
    }
}

/// Marks `s` stopped at `now` (with `error`, if given) and its instance gone.
fn stop(s: &mut SimSession, error: Option<&str>, now: Instant) {
    if let Some(error) = error {
        s.session.error = Some(error.into());
    }
    s.session.status = SessionStatus::Stopped;
    s.instance = false;
    s.ended.get_or_insert(now);
    s.power_off();
}

/// Starts the lifecycle tick and the reconciler; they end when the simulator is dropped.
pub(crate) fn start_lifecycle(sim: &Simulator) {
    let weak = sim.downgrade();
    let every = sim.scaled(TICK_SECS).max(Duration::from_millis(20));
    let reconcile_every = sim.scaled(RECONCILE_SECS).max(Duration::from_millis(20));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reconciler = tokio::time::interval(reconcile_every);
        reconciler.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let tick = tokio::select! {
                _ = ticker.tick() => true,
                _ = reconciler.tick() => false,
            };
            let Some(sim) = Simulator::from_weak(&weak) else {
                return;
            };
            if tick {
                sim.tick().await;
            } else {
                sim.reconcile();
            }
        }
    });
}
