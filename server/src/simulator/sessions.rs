//! The simulated session lifecycle: create (with the broker's validation order, duplicate
//! guard and stale-offer failures, a real one-time key and the instance's SSH port),
//! background SSH verification with the broker's poll schedule, destroy with verification
//! delay, extend, diagnostics, costs, and the lifecycle tick (expiry, hard max, stuck
//! sessions, failed → stopped). An instance's machine lives from a successful create until
//! it is destroyed or fails.

use super::host::SimHost;
use super::ssh::{self, Access, Endpoint};
use super::vllm::Gpus;
use super::{sanitize, SimError, Simulator};
use validate::validate_create;

mod reservation;
mod validate;
use chrono::Utc;
use gdl_model::shopper::{Provider, Session, SessionStatus};
use rand::Rng;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seconds (contract time) of the broker's SSH verification budget and stuck check.
const SSH_TIMEOUT_SECS: f64 = 600.0;
/// Lifecycle tick interval (contract seconds).
const TICK_SECS: f64 = 60.0;
/// Hard maximum age of a running session (contract seconds).
const HARD_MAX_SECS: f64 = 12.0 * 3600.0;

/// How a session's provisioning will end, decided at creation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Plan {
    /// SSH verifies at this poll attempt.
    Running { attempt: u32 },
    /// The instance fails at this poll attempt with this error.
    Fails { attempt: u32, error: String },
    /// SSH never verifies: the broker gives up after its timeout.
    SshTimeout,
}

/// A simulated session: the wire view plus what the broker keeps to itself.
pub(crate) struct SimSession {
    pub session: Session,
    pub offer_id: String,
    /// A provider instance exists (stored `provider_instance_id` is non-empty).
    pub instance: bool,
    pub created: Instant,
    /// Real-time expiry on the simulator's scale.
    pub expires: Instant,
    pub running_since: Option<Instant>,
    pub ended: Option<Instant>,
    /// The rented machine (its SSH port and host), while the instance exists.
    pub machine: Option<Endpoint>,
}

impl SimSession {
    /// The instance is destroyed at the provider: its machine goes away.
    fn power_off(&mut self) {
        if let Some(machine) = self.machine.take() {
            machine.close();
        }
    }
}

impl Simulator {
    /// `POST /api/v1/sessions`: returns the session and its one-time private key (PEM).
    pub(crate) async fn create_session(&self, body: &[u8]) -> Result<(Session, String), SimError> {
        let request = validate_create(body)?;
        let offer_id = request.offer_id.clone();
        let vanished = {
            let mut state = self.state();
            let take = state.faults.vanishing_offers > 0;
            if take {
                state.faults.vanishing_offers -= 1;
            }
            take
        };
        if vanished {
            self.evict_offer(&super::inventory::normalise_offer_id(&offer_id));
        }
        let Some(offer) = self.find_offer(&offer_id) else {
            return Err(SimError::standard(
                404,
                format!("offer not found: {}", sanitize(&offer_id)),
            ));
        };
        let offer_id = offer.offer.id.clone();
        // The key is generated for real (the broker's RSA keygen). It takes real CPU time,
        // so it happens before the record exists: at high speeds that time would otherwise
        // count as minutes of provisioning. The scaled wait below stands for it.
        let (key, public) = tokio::task::spawn_blocking(ssh::session_key)
            .await
            .map_err(|e| e.to_string())
            .and_then(|generated| generated)
            .map_err(|e| {
                SimError::standard(500, format!("failed to generate SSH key: {e}"))
                    .with("error_type", "provision_failed")
                    .with("retry_suggested", true)
            })?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = Utc::now();
        let hours = request.reservation_hours;
        let (stale, plan, keygen, delay) = {
            let mut state = self.state();
            if let Some(existing) = state.sessions.values().find(|s| {
                s.session.consumer_id == request.consumer_id
                    && s.offer_id == offer_id
                    && s.session.status.is_active()
            }) {
                return Err(SimError::standard(
                    409,
                    format!(
                        "consumer {} already has active session {} for offer {} (status: {})",
                        sanitize(&request.consumer_id),
                        existing.session.id,
                        offer_id,
                        existing.session.status
                    ),
                ));
            }
            let stale = offer.ghost || state.faults.stale_creates > 0;
            if state.faults.stale_creates > 0 {
                state.faults.stale_creates -= 1;
            }
            let failure_rate = state
                .faults
                .provision_failure_rate
                .unwrap_or(self.config().provision_failure_rate)
                .clamp(0.0, 1.0);
            let running_at = state.faults.running_after_attempts;
            let fail_next = state.faults.failing_provisionings > 0;
            if fail_next {
                state.faults.failing_provisionings -= 1;
            }
            let plan = match state.faults.fail_provisioning_with.clone() {
                Some(error) => Plan::Fails { attempt: 1, error },
                None if fail_next => Plan::Fails {
                    attempt: 1,
                    error: "instance_vanished: no longer exists on provider".into(),
                },
                None => choose_plan(&mut state.rng, failure_rate, running_at),
            };
            let keygen = state.rng.gen_range(0.4..1.6);
            let session = Session {
                id: id.clone(),
                consumer_id: request.consumer_id.clone(),
                provider: offer.offer.provider.clone(),
                gpu_type: offer.offer.gpu_type.clone(),
                gpu_count: offer.offer.gpu_count,
                status: SessionStatus::Pending,
                error: None,
                ssh_host: None,
                ssh_port: Some(22),
                ssh_user: Some(ssh_user(&offer.offer.provider).into()),
                template_hash_id: None,
                disk_gb: None,
                workload_type: request.workload_type.clone(),
                reservation_hours: hours,
                price_per_hour: offer.offer.price_per_hour,
                created_at: now,
                expires_at: Some(now + chrono::Duration::hours(hours as i64)),
                auto_retry: request.auto_retry,
                retry_count: 0,
                retry_parent_id: None,
                retry_child_id: None,
                failed_offers: None,
            };
            let created = Instant::now();
            state.sessions.insert(
                id.clone(),
                SimSession {
                    session,
                    offer_id: offer_id.clone(),
                    instance: false,
                    created,
                    expires: created + self.scaled(hours as f64 * 3600.0),
                    running_since: None,
                    ended: None,
                    machine: None,
                },
            );
            (stale, plan, keygen, state.faults.create_delay_ms)
        };
        // RSA key generation, balance check and the provider's create call.
        tokio::time::sleep(self.scaled(keygen) + Duration::from_millis(delay)).await;
        self.set_status(&id, SessionStatus::Provisioning, None);
        tokio::time::sleep(self.scaled(0.8)).await;
        if stale {
            let provider = offer.offer.provider.clone();
            let original = if provider == Provider::TensorDock {
                "No available nodes"
            } else {
                "no_such_ask"
            };
            self.set_status(
                &id,
                SessionStatus::Failed,
                Some(format!("provider create failed: {original}")),
            );
            self.evict_offer(&offer_id);
            return Err(SimError::standard(
                503,
                format!(
                    "offer {offer_id} from {provider} unavailable (stale inventory): {original} - consider retrying with a different offer"
                ),
            )
            .with("error_type", "stale_inventory")
            .with("offer_id", offer_id.clone())
            .with("provider", provider.as_str())
            .with("retry_suggested", true)
            .with(
                "message",
                "The selected offer is no longer available. Please refresh inventory and select a different offer.",
            ));
        }
        let host = SimHost::new(
            format!("sim-{}", &id[..8]),
            Gpus {
                gpu_type: offer.offer.gpu_type.clone(),
                count: offer.offer.gpu_count,
                vram_gb: offer.offer.vram_gb,
            },
            self.config().speed,
        )
        .with_secret_log(self.shared.handed_secrets.clone())
        .with_faults(self.shared.host_faults.clone());
        let machine = self
            .shared
            .ssh
            .open(Access {
                user: ssh_user(&offer.offer.provider).into(),
                key: public,
                host: Arc::new(host),
            })
            .map_err(|e| SimError::standard(500, format!("failed to create instance: {e}")))?;
        let session = {
            let mut state = self.state();
            state.issued_keys.push(key.clone());
            let Some(s) = state.sessions.get_mut(&id) else {
                return Err(SimError::standard(
                    500,
                    "session record vanished during create",
                ));
            };
            s.instance = true;
            s.machine = Some(machine);
            s.session.clone()
        };
        let sim = self.clone();
        let provision_id = id.clone();
        tokio::spawn(async move { sim.provision(provision_id, plan).await });
        Ok((session, key))
    }

    /// The broker's background SSH verification loop for one session.
    async fn provision(self, id: String, plan: Plan) {
        let provider = match self.state().sessions.get(&id) {
            Some(s) => s.session.provider.clone(),
            None => return,
        };
        if provider == Provider::TensorDock {
            // TensorDock's cloud-init wait before the first SSH poll.
            tokio::time::sleep(self.scaled(90.0)).await;
        }
        let started = Instant::now();
        let mut interval = 15.0_f64;
        let mut attempt = 0;
        loop {
            tokio::time::sleep(self.scaled(interval)).await;
            attempt += 1;
            interval = (interval * 1.5).min(60.0);
            let mut state = self.state();
            let Some(s) = state.sessions.get_mut(&id) else {
                return;
            };
            if s.session.status != SessionStatus::Provisioning {
                return; // destroyed or failed meanwhile
            }
            if s.session.ssh_host.is_none() {
                // The provider reports where SSH is: this instance's own loopback port.
                if let Some(machine) = &s.machine {
                    s.session.ssh_host = Some("127.0.0.1".into());
                    s.session.ssh_port = Some(machine.port());
                }
                interval = 15.0; // the broker's backoff resets once SSH info is known
            }
            let outcome = match &plan {
                Plan::Running { attempt: at } if attempt >= *at => {
                    Some((SessionStatus::Running, None))
                }
                Plan::Fails { attempt: at, error } if attempt >= *at => {
                    Some((SessionStatus::Failed, Some(error.clone())))
                }
                Plan::SshTimeout if started.elapsed() >= self.scaled(SSH_TIMEOUT_SECS) => {
                    // Destroyed, but the id is kept until the watchdog.
                    s.instance = true;
                    Some((
                        SessionStatus::Failed,
                        Some("SSH verification timeout".into()),
                    ))
                }
                _ => None,
            };
            if let Some((status, error)) = outcome {
                s.session.status = status;
                s.session.error = error;
                if status == SessionStatus::Running {
                    s.running_since = Some(Instant::now());
                } else {
                    s.ended = Some(Instant::now());
                    s.power_off();
                }
                return;
            }
        }
    }

    /// Sessions matching the broker's exact-match filters, newest first.
    pub(crate) fn list_sessions(
        &self,
        consumer_id: Option<&str>,
        status: Option<&str>,
        provider: Option<&str>,
        limit: i64,
    ) -> Vec<Session> {
        let state = self.state();
        let mut sessions: Vec<Session> = state
            .sessions
            .values()
            .map(|s| &s.session)
            .filter(|s| consumer_id.is_none_or(|c| s.consumer_id == c))
            .filter(|s| status.is_none_or(|st| s.status.as_str() == st))
            .filter(|s| provider.is_none_or(|p| s.provider.as_str() == p))
            .cloned()
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        if limit > 0 {
            sessions.truncate(limit as usize);
        }
        sessions
    }

    /// `GET /api/v1/sessions/:id`.
    pub(crate) fn get_session(&self, id: &str) -> Result<Session, SimError> {
        self.state()
            .sessions
            .get(id)
            .map(|s| s.session.clone())
            .ok_or_else(|| SimError::standard(404, "record not found"))
    }

    /// `DELETE /api/v1/sessions/:id`: force destroy, idempotent.
    pub(crate) async fn delete_session(&self, id: &str) -> Result<Value, SimError> {
        let status = {
            let state = self.state();
            match state.sessions.get(id) {
                Some(s) => s.session.status,
                None => {
                    return Err(SimError::standard(
                        404,
                        format!("session not found: {}", sanitize(id)),
                    ))
                }
            }
        };
        match status {
            s if s.is_active() => self.destroy(id).await,
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
            return Err(terminal(id, status));
        }
        if status != SessionStatus::Stopping {
            self.destroy(id).await;
        }
        Ok(json!({"message": "session shutdown initiated", "session_id": id}))
    }

    fn set_status(&self, id: &str, status: SessionStatus, error: Option<String>) {
        if let Some(s) = self.state().sessions.get_mut(id) {
            s.session.status = status;
            if error.is_some() {
                s.session.error = error;
            }
            if status.is_terminal() {
                s.ended = Some(Instant::now());
                s.power_off();
            }
        }
    }

    /// stopping → provider destroy → verification wait → stopped.
    async fn destroy(&self, id: &str) {
        self.set_status(id, SessionStatus::Stopping, None);
        if let Some(s) = self.state().sessions.get_mut(id) {
            s.power_off();
        }
        let extra = Duration::from_millis(self.state().faults.destroy_delay_ms);
        tokio::time::sleep(self.scaled(5.0) + extra).await;
        let mut state = self.state();
        if let Some(s) = state.sessions.get_mut(id) {
            s.session.status = SessionStatus::Stopped;
            s.instance = false;
            s.ended = Some(Instant::now());
        }
    }

    /// One lifecycle tick: hard max, expiry, stuck sessions, failed-destroy watchdog.
    async fn tick(&self) {
        let to_destroy: Vec<String> = {
            let mut state = self.state();
            let now = Instant::now();
            let stuck_after = self.scaled(SSH_TIMEOUT_SECS);
            let hard_max = self.scaled(HARD_MAX_SECS);
            let mut destroy = Vec::new();
            for s in state.sessions.values_mut() {
                match s.session.status {
                    SessionStatus::Running
                        if now >= s.expires || s.created.elapsed() > hard_max =>
                    {
                        destroy.push(s.session.id.clone())
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
                        s.session.error = Some(what.into());
                        s.session.status = SessionStatus::Stopped;
                        s.instance = false;
                        s.ended = Some(now);
                        s.power_off();
                    }
                    SessionStatus::Failed if s.instance => {
                        s.session.status = SessionStatus::Stopped;
                        s.instance = false;
                        s.power_off();
                    }
                    _ => {}
                }
            }
            destroy
        };
        for id in to_destroy {
            self.destroy(&id).await;
        }
    }
}

/// Starts the lifecycle tick; it ends when the simulator is dropped.
pub(crate) fn start_lifecycle(sim: &Simulator) {
    let weak = sim.downgrade();
    let every = sim.scaled(TICK_SECS).max(Duration::from_millis(20));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(sim) = Simulator::from_weak(&weak) else {
                return;
            };
            sim.tick().await;
        }
    });
}

fn terminal(id: &str, status: SessionStatus) -> SimError {
    SimError::standard(409, format!("session {id} is in terminal state: {status}"))
}

fn choose_plan(rng: &mut impl Rng, failure_rate: f64, running_at: Option<u32>) -> Plan {
    if rng.gen_bool(failure_rate) {
        return match rng.gen_range(0..3) {
            0 => Plan::SshTimeout,
            1 => Plan::Fails {
                attempt: rng.gen_range(1..=3),
                error: "instance stopped unexpectedly: exited (container exited with code 1) — likely cause: the image failed to start".into(),
            },
            _ => Plan::Fails {
                attempt: rng.gen_range(1..=3),
                error: "instance_vanished: no longer exists on provider".into(),
            },
        };
    }
    Plan::Running {
        attempt: running_at.unwrap_or_else(|| rng.gen_range(2..=5)).max(1),
    }
}

/// The login the provider's images use.
fn ssh_user(provider: &Provider) -> &'static str {
    match provider {
        Provider::TensorDock => "user",
        Provider::BlueLobster => "ubuntu",
        _ => "root",
    }
}
