//! The simulated session: create (`internal/api/handlers.go` `handleCreateSession` and
//! `provisioner.CreateSession`: the broker's validation order, offer lookup, duplicate
//! guard, the `pending` record, the disk check, stale offers, Blue Lobster's blocking
//! create, a real one-time key and the instance's SSH port), list and get. Verification is
//! in `provision`, how sessions end in `lifecycle`, extend/diagnostics/costs in
//! `reservation`. An instance's machine lives from a successful create until it is
//! destroyed, fails or vanishes at the provider.

use super::ssh::{self, Access, Endpoint};
use super::{host::SimHost, sanitize, vllm::Gpus, SimError, Simulator};
use provision::{choose_plan, Plan, VANISHED};
use validate::validate_create;

mod disk;
mod lifecycle;
mod provision;
mod reservation;
mod validate;
use chrono::Utc;
use gdl_model::shopper::{Provider, Session, SessionStatus};
pub(crate) use lifecycle::start_lifecycle;
use rand::Rng;
pub(crate) use reservation::cost_range;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seconds (contract time) of the broker's default SSH verification budget and stuck check.
const SSH_TIMEOUT_SECS: f64 = 600.0;
/// Hard maximum age of a running session (contract seconds).
const HARD_MAX_SECS: f64 = 12.0 * 3600.0;
/// Blue Lobster's create polls its provider task for at most this long (contract seconds).
const BLUE_LOBSTER_TASK_LIMIT_SECS: f64 = 300.0;

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
    /// The provider's id for the instance (`provider_instance_id`, never on the wire).
    pub instance_id: String,
    /// The provider no longer has the instance, but the broker has not noticed.
    pub gone: bool,
    /// The SSH verification budget (contract seconds).
    pub ssh_timeout_secs: f64,
    /// The broker ended it itself because its reservation ran out (or the hard maximum):
    /// nothing had destroyed it before.
    pub expired: bool,
    /// `DELETE /api/v1/sessions/:id` requests that reached the broker for it (for tests).
    pub deletes: u32,
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
        let offer_id = offer.offer.id.to_string();
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
        let (stale, plan, keygen, delay, blue_lobster_task, extra_disk) = {
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
            let stale = (offer.ghost && self.config().ghosts) || state.faults.stale_creates > 0;
            if state.faults.stale_creates > 0 {
                state.faults.stale_creates -= 1;
            }
            let failure_rate = state
                .faults
                .provision_failure_rate
                .unwrap_or(self.config().provision_failure_rate)
                .clamp(0.0, 1.0);
            let running_at = state.faults.running_after_attempts;
            // A create that fails as stale never provisions: the fault waits for one that does.
            let fail_next = !stale && state.faults.failing_provisionings > 0;
            if fail_next {
                state.faults.failing_provisionings -= 1;
            }
            let plan = match state.faults.fail_provisioning_with.clone() {
                _ if request.launch_mode == "entrypoint" => Plan::ApiTimeout,
                _ if state.faults.ssh_never_verifies => Plan::SshTimeout,
                Some(error) => Plan::Fails { attempt: 1, error },
                None if fail_next => Plan::Fails {
                    attempt: 1,
                    error: VANISHED.into(),
                },
                None => choose_plan(&mut state.rng, failure_rate, running_at),
            };
            let task_timeout = offer.offer.provider == Provider::BlueLobster
                && state.faults.blue_lobster_task_timeouts > 0;
            if task_timeout {
                state.faults.blue_lobster_task_timeouts -= 1;
            }
            let task_secs = state.rng.gen_range(20.0..60.0);
            let instance_id = instance_id(&mut state.rng, &offer.offer.provider);
            let keygen = state.rng.gen_range(0.4..1.6);
            let session = Session {
                id: id.clone().into(),
                consumer_id: request.consumer_id.clone(),
                provider: offer.offer.provider.clone(),
                gpu_type: offer.offer.gpu_type.clone(),
                gpu_count: offer.offer.gpu_count,
                status: SessionStatus::Pending,
                error: None,
                ssh_host: None,
                ssh_port: Some(22),
                ssh_user: Some(ssh_user(&offer.offer.provider).into()),
                // Never set by the broker, whatever the request asked (see the contract).
                launch_mode: None,
                api_endpoint: None,
                api_port: None,
                model_id: None,
                template_name: None,
                // Kept in memory only: in the create reply, not in later reads.
                template_hash_id: request.template_hash_id.clone(),
                disk_gb: request.disk_gb,
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
                    instance_id,
                    gone: false,
                    ssh_timeout_secs: request
                        .ssh_timeout_minutes
                        .map_or(SSH_TIMEOUT_SECS, |m| m as f64 * 60.0),
                    expired: false,
                    deletes: 0,
                },
            );
            (
                stale,
                plan,
                keygen,
                state.faults.create_delay_ms,
                (task_timeout, task_secs),
                state.faults.extra_disk_gb,
            )
        };
        // The disk check comes after the record exists, and nothing ever moves a refused
        // create's `pending` record on: it blocks the same consumer and offer (409).
        let template = request.template_hash_id.is_some();
        if let Some(estimate) = disk::estimate(
            request.model_id.as_deref(),
            request.quantization.as_deref(),
            template,
            extra_disk,
        ) {
            match request.disk_gb {
                Some(requested) => disk::check(requested, &estimate)?,
                None => self.update_session(&id, |s| s.disk_gb = Some(estimate.recommended_gb)),
            }
        }
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
            .with("offer_id", offer_id.to_string())
            .with("provider", provider.as_str())
            .with("retry_suggested", true)
            .with(
                "message",
                "The selected offer is no longer available. Please refresh inventory and select a different offer.",
            ));
        }
        if offer.offer.provider == Provider::BlueLobster {
            self.blue_lobster_task(&id, blue_lobster_task).await?;
        }
        let host = SimHost::new(
            format!("sim-{}", &id[..8]),
            Gpus {
                gpu_type: offer.offer.gpu_type.clone(),
                count: offer.offer.gpu_count,
                vram_gb: offer.offer.vram_gb,
                slowdown: self.host_slowdown(matches!(plan, Plan::Running { .. })),
            },
            self.config().speed,
        )
        .with_driver(self.host_driver(&offer.offer))
        .with_disk_gb(request.disk_gb);
        let host = Arc::new(self.equip(host));
        if let Some(args) = request.provider_vllm(&offer.offer.provider) {
            host.start_provider_vllm(args);
        }
        let machine = self
            .shared
            .ssh
            .open(Access {
                user: ssh_user(&offer.offer.provider).into(),
                key: public,
                host,
            })
            .map_err(|e| {
                SimError::standard(500, format!("failed to create instance: {e}"))
                    .with("error_type", "provision_failed")
                    .with("retry_suggested", true)
            })?;
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
            if s.session.provider == Provider::BlueLobster {
                // Blue Lobster's create answers with the machine's address.
                s.session.ssh_host = Some("127.0.0.1".into());
                s.session.ssh_port = Some(machine.port());
            }
            s.machine = Some(machine);
            s.session.clone()
        };
        let sim = self.clone();
        let provision_id = id.clone();
        tokio::spawn(async move { sim.provision(provision_id, plan).await });
        Ok((session, key))
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

    /// Blue Lobster's create waits for the provider's launch task inside the request: done
    /// after `secs`, or (`timeout`) failed after the client's 5-minute poll limit.
    async fn blue_lobster_task(
        &self,
        id: &str,
        (timeout, secs): (bool, f64),
    ) -> Result<(), SimError> {
        if !timeout {
            tokio::time::sleep(self.scaled(secs)).await;
            return Ok(());
        }
        tokio::time::sleep(self.scaled(BLUE_LOBSTER_TASK_LIMIT_SECS)).await;
        let vm = uuid::Uuid::new_v4();
        let error =
            format!("bluelobster: CreateInstance: task poll timeout after 5m0s (vm_uuid={vm})");
        self.set_status(
            id,
            SessionStatus::Failed,
            Some(format!("provider create failed: {error}")),
        );
        // The broker's classifier reads "timeout" as an SSH timeout.
        Err(
            SimError::standard(500, format!("failed to create instance: {error}"))
                .with("error_type", "ssh_timeout")
                .with("retry_suggested", true),
        )
    }

    fn update_session(&self, id: &str, change: impl FnOnce(&mut Session)) {
        if let Some(s) = self.state().sessions.get_mut(id) {
            change(&mut s.session);
        }
    }

    /// Every session it holds, newest first, whether or not it is answering: what an
    /// operator reading the broker's database sees (for tests and load drivers).
    pub fn sessions(&self) -> Vec<Session> {
        self.list_sessions(None, None, None, 0)
    }

    /// Sessions the broker ended itself when their reservation (or its hard maximum) ran
    /// out: what no client destroyed in time (for load drivers).
    pub fn expired_sessions(&self) -> Vec<gdl_model::ids::SessionId> {
        let state = self.state();
        state
            .sessions
            .values()
            .filter(|s| s.expired)
            .map(|s| s.session.id.clone())
            .collect()
    }

    /// How many `DELETE /api/v1/sessions/:id` requests for session `id` reached the broker
    /// (past the fault knobs), for tests that count destroys.
    pub fn delete_requests(&self, id: &str) -> u32 {
        self.state().sessions.get(id).map_or(0, |s| s.deletes)
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
}

/// The broker's 409 for a session that has ended.
fn terminal(id: &str, status: SessionStatus) -> SimError {
    SimError::standard(409, format!("session {id} is in terminal state: {status}"))
}

/// A provider instance id shaped like each provider's.
fn instance_id(rng: &mut impl Rng, provider: &Provider) -> String {
    match provider {
        Provider::VastAi => rng.gen_range(10_000_000u64..40_000_000).to_string(),
        _ => uuid::Builder::from_random_bytes(rng.gen())
            .into_uuid()
            .to_string(),
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
