//! The simulated session lifecycle: create (with the broker's validation order, duplicate
//! guard and stale-offer failures), background SSH verification with the broker's poll
//! schedule, destroy with verification delay, extend, diagnostics, costs, and the
//! lifecycle tick (expiry, hard max, stuck sessions, failed → stopped).

use super::{sanitize, SimError, Simulator};
use chrono::{DateTime, Utc};
use gdl_model::shopper::{CostSummary, Session, SessionStatus, WORKLOAD_TYPES};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
#[derive(Clone, Debug)]
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
}

impl Simulator {
    /// `POST /api/v1/sessions`: returns the session and its one-time private key (PEM).
    pub(crate) async fn create_session(&self, body: &[u8]) -> Result<(Session, String), SimError> {
        let request = validate_create(body)?;
        let offer_id = request.offer_id.clone();
        let Some(offer) = self.find_offer(&offer_id) else {
            return Err(SimError::standard(
                404,
                format!("offer not found: {}", sanitize(&offer_id)),
            ));
        };
        let offer_id = offer.offer.id.clone();
        let id = uuid::Uuid::new_v4().to_string();
        let now = Utc::now();
        let hours = request.reservation_hours;
        let (stale, plan, keygen) = {
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
            let plan = match state.faults.fail_provisioning_with.clone() {
                Some(error) => Plan::Fails { attempt: 1, error },
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
                ssh_user: Some(
                    if offer.offer.provider == "tensordock" {
                        "user"
                    } else {
                        "root"
                    }
                    .into(),
                ),
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
                },
            );
            (stale, plan, keygen)
        };
        // RSA key generation, balance check and the provider's create call.
        tokio::time::sleep(self.scaled(keygen)).await;
        self.set_status(&id, SessionStatus::Provisioning, None);
        tokio::time::sleep(self.scaled(0.8)).await;
        if stale {
            let provider = offer.offer.provider.clone();
            let original = if provider == "tensordock" {
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
            .with("provider", provider)
            .with("retry_suggested", true)
            .with(
                "message",
                "The selected offer is no longer available. Please refresh inventory and select a different offer.",
            ));
        }
        let session = {
            let mut state = self.state();
            let s = state.sessions.get_mut(&id).expect("just inserted");
            s.instance = true;
            s.session.clone()
        };
        let sim = self.clone();
        let provision_id = id.clone();
        tokio::spawn(async move { sim.provision(provision_id, plan).await });
        let key = fake_private_key(&id);
        self.state().issued_keys.push(key.clone());
        Ok((session, key))
    }

    /// The broker's background SSH verification loop for one session.
    async fn provision(self, id: String, plan: Plan) {
        let provider = match self.state().sessions.get(&id) {
            Some(s) => s.session.provider.clone(),
            None => return,
        };
        if provider == "tensordock" {
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
            let host = ssh_endpoint(&mut state.rng, &provider);
            let Some(s) = state.sessions.get_mut(&id) else {
                return;
            };
            if s.session.status != SessionStatus::Provisioning {
                return; // destroyed or failed meanwhile
            }
            if s.session.ssh_host.is_none() {
                s.session.ssh_host = Some(host.0);
                s.session.ssh_port = Some(host.1);
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
                    s.instance = true; // destroyed, but the id is kept until the watchdog
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
            .filter(|s| provider.is_none_or(|p| s.provider == p))
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
            SessionStatus::Stopping => self.wait_until_not_stopping(id).await,
            SessionStatus::Failed => {
                let mut state = self.state();
                if let Some(s) = state.sessions.get_mut(id).filter(|s| s.instance) {
                    s.instance = false;
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

    /// `POST /api/v1/sessions/:id/extend`: the body is validated before the id is looked up.
    pub(crate) fn extend_session(&self, id: &str, body: &[u8]) -> Result<Value, SimError> {
        let hours = match serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("additional_hours").cloned())
        {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            _ => 0,
        };
        if hours <= 0 {
            return Err(SimError::standard(400, "additional_hours is required"));
        }
        if hours > 12 {
            return Err(SimError::standard(
                400,
                "additional_hours must be at most 12",
            ));
        }
        let scaled_hour = self.scaled(3600.0);
        let mut state = self.state();
        let s = state
            .sessions
            .get_mut(id)
            .ok_or_else(|| SimError::standard(404, "record not found"))?;
        let status = s.session.status;
        if status.is_terminal() || status == SessionStatus::Stopping {
            return Err(terminal(id, status));
        }
        let elapsed_hours = s.created.elapsed().as_secs_f64() / scaled_hour.as_secs_f64();
        if elapsed_hours + hours as f64 > 12.0 {
            return Err(SimError::standard(
                400,
                format!(
                    "extension would exceed 12-hour hard max: session {id} has been running for {elapsed_hours:.1} hours, requested {hours} more hours"
                ),
            ));
        }
        s.expires += scaled_hour * hours as u32;
        s.session.reservation_hours += hours as u32;
        let new_expires = s
            .session
            .expires_at
            .map(|t| t + chrono::Duration::hours(hours));
        s.session.expires_at = new_expires;
        Ok(json!({"message": "session extended", "session_id": id, "new_expires_at": new_expires}))
    }

    /// `GET /api/v1/sessions/:id/diagnostics`.
    pub(crate) fn diagnostics(&self, id: &str) -> Result<Value, SimError> {
        let state = self.state();
        let s = state
            .sessions
            .get(id)
            .ok_or_else(|| SimError::standard(404, "record not found"))?;
        if s.session.status != SessionStatus::Running {
            return Err(SimError::standard(
                400,
                "session is not running; diagnostics only available for running sessions",
            ));
        }
        let hour = self.scaled(3600.0).as_secs_f64();
        let uptime_min = (s.created.elapsed().as_secs_f64() / hour * 60.0) as i64;
        let left_min = (s
            .expires
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
            / hour
            * 60.0) as i64;
        let session = &s.session;
        Ok(json!({
            "session_id": session.id, "status": session.status, "provider": session.provider,
            "gpu_type": session.gpu_type, "gpu_count": session.gpu_count,
            "ssh_host": session.ssh_host, "ssh_port": session.ssh_port, "ssh_user": session.ssh_user,
            "created_at": session.created_at, "expires_at": session.expires_at,
            "uptime": hours_minutes(uptime_min),
            "time_to_expiry": if left_min <= 0 { "expired".to_string() } else { hours_minutes(left_min) },
            "ssh_available": session.ssh_host.is_some(),
            "note": "Full SSH diagnostics (GPU status, health checks) require client-side SSH access. The private key is not stored server-side for security."
        }))
    }

    /// `GET /api/v1/costs?session_id=`.
    pub(crate) fn session_cost(&self, id: &str) -> Result<Value, SimError> {
        let state = self.state();
        let s = state.sessions.get(id).ok_or_else(|| {
            SimError::standard(404, format!("session not found: {}", sanitize(id)))
        })?;
        let cost = self.cost_of(s);
        Ok(json!({"session_id": id, "total_cost": cost, "currency": "USD"}))
    }

    /// The cost summary over every session (optionally one consumer's).
    pub(crate) fn cost_summary(&self, consumer_id: Option<&str>) -> CostSummary {
        let state = self.state();
        let mut summary = CostSummary {
            consumer_id: consumer_id.map(str::to_owned),
            ..Default::default()
        };
        let mut by_provider = BTreeMap::new();
        let mut by_gpu = BTreeMap::new();
        for s in state.sessions.values() {
            if consumer_id.is_some_and(|c| s.session.consumer_id != c) {
                continue;
            }
            let hours = self.billed_hours(s);
            if hours == 0 {
                continue;
            }
            let cost = hours as f64 * s.session.price_per_hour;
            summary.total_cost += cost;
            summary.session_count += 1;
            summary.hours_used += hours as f64;
            *by_provider.entry(s.session.provider.clone()).or_insert(0.0) += cost;
            *by_gpu.entry(s.session.gpu_type.clone()).or_insert(0.0) += cost;
        }
        summary.by_provider = by_provider;
        summary.by_gpu_type = by_gpu;
        let now = Utc::now();
        summary.period_start = month_start(now, 0);
        summary.period_end = month_start(now, 1);
        summary
    }

    /// Hourly records: one per full (scaled) hour running, or per started hour for a
    /// failed session, as the broker's tracker writes them.
    fn billed_hours(&self, s: &SimSession) -> u32 {
        let hour = self.scaled(3600.0).as_secs_f64();
        let until = s.ended.unwrap_or_else(Instant::now);
        if s.session.error.is_some() {
            let lived = until.saturating_duration_since(s.created).as_secs_f64();
            (lived / hour).ceil() as u32
        } else {
            s.running_since
                .map(|r| (until.saturating_duration_since(r).as_secs_f64() / hour).floor() as u32)
                .unwrap_or(0)
        }
    }

    fn cost_of(&self, s: &SimSession) -> f64 {
        self.billed_hours(s) as f64 * s.session.price_per_hour
    }

    fn set_status(&self, id: &str, status: SessionStatus, error: Option<String>) {
        if let Some(s) = self.state().sessions.get_mut(id) {
            s.session.status = status;
            if error.is_some() {
                s.session.error = error;
            }
            if status.is_terminal() {
                s.ended = Some(Instant::now());
            }
        }
    }

    /// stopping → provider destroy → verification wait → stopped.
    async fn destroy(&self, id: &str) {
        self.set_status(id, SessionStatus::Stopping, None);
        tokio::time::sleep(self.scaled(5.0)).await;
        let mut state = self.state();
        if let Some(s) = state.sessions.get_mut(id) {
            s.session.status = SessionStatus::Stopped;
            s.instance = false;
            s.ended = Some(Instant::now());
        }
    }

    async fn wait_until_not_stopping(&self, id: &str) {
        while self
            .state()
            .sessions
            .get(id)
            .is_some_and(|s| s.session.status == SessionStatus::Stopping)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
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
                    }
                    SessionStatus::Failed if s.instance => {
                        s.session.status = SessionStatus::Stopped;
                        s.instance = false;
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

/// The fields of a create request the simulator reads.
struct CreateRequest {
    consumer_id: String,
    offer_id: String,
    workload_type: String,
    reservation_hours: u32,
    auto_retry: bool,
}

/// Binds and validates a create body with the broker's messages and order.
fn validate_create(body: &[u8]) -> Result<CreateRequest, SimError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(SimError::standard(400, "EOF"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| SimError::standard(400, format!("invalid character in request body: {e}")))?;
    let Value::Object(map) = value else {
        return Err(SimError::standard(
            400,
            "json: cannot unmarshal value into Go value of type api.CreateSessionRequest",
        ));
    };
    let text = |key: &str| -> Result<String, SimError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(type_error(key, "string")),
        }
    };
    let consumer_id = text("consumer_id")?;
    let offer_id = text("offer_id")?;
    let workload_type = text("workload_type")?;
    let retry_scope = text("retry_scope")?;
    let hours = match map.get("reservation_hours") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or(0),
        Some(_) => return Err(type_error("reservation_hours", "int")),
    };
    let auto_retry = matches!(map.get("auto_retry"), Some(Value::Bool(true)));
    let mut problems = Vec::new();
    for (key, value) in [
        ("consumer_id", &consumer_id),
        ("offer_id", &offer_id),
        ("workload_type", &workload_type),
    ] {
        if value.is_empty() {
            problems.push(format!("{key} is required"));
        }
    }
    match hours {
        0 => problems.push("reservation_hours is required".into()),
        h if h < 1 => problems.push("reservation_hours must be at least 1".into()),
        h if h > 12 => problems.push("reservation_hours must be at most 12".into()),
        _ => {}
    }
    if !problems.is_empty() {
        return Err(SimError::standard(400, problems.join("; ")));
    }
    if !WORKLOAD_TYPES.contains(&workload_type.as_str()) {
        return Err(SimError::standard(
            400,
            format!(
                "invalid workload_type: must be one of: {}",
                WORKLOAD_TYPES.join(", ")
            ),
        ));
    }
    if auto_retry
        && !retry_scope.is_empty()
        && !["same_gpu", "same_vram", "any"].contains(&retry_scope.as_str())
    {
        return Err(SimError::standard(
            400,
            "invalid retry_scope: must be one of: same_gpu, same_vram, any",
        ));
    }
    Ok(CreateRequest {
        consumer_id,
        offer_id,
        workload_type,
        reservation_hours: hours as u32,
        auto_retry,
    })
}

fn type_error(field: &str, go_type: &str) -> SimError {
    SimError::standard(
        400,
        format!("json: cannot unmarshal value into Go struct field CreateSessionRequest.{field} of type {go_type}"),
    )
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

/// Where the provider says SSH is: Vast's proxy host and port, or a dedicated IP.
fn ssh_endpoint(rng: &mut impl Rng, provider: &str) -> (String, u16) {
    if provider == "tensordock" {
        // Documentation range (RFC 5737): never a reachable address.
        (format!("203.0.113.{}", rng.gen_range(2..250)), 22)
    } else {
        (
            format!("ssh{}.vast.ai", rng.gen_range(1..9)),
            rng.gen_range(20000..60000),
        )
    }
}

/// A stand-in for the broker's PKCS#1 PEM (the simulated host accepts it as is).
fn fake_private_key(session_id: &str) -> String {
    let body: String = (0..8)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect::<Vec<_>>()
        .join("");
    format!(
        "-----BEGIN RSA PRIVATE KEY-----\nSIMULATED{}{}\n-----END RSA PRIVATE KEY-----\n",
        &session_id[..8],
        body
    )
}

fn hours_minutes(minutes: i64) -> String {
    if minutes >= 60 {
        format!("{}h {}m", minutes / 60, minutes % 60)
    } else {
        format!("{minutes}m")
    }
}

fn month_start(now: DateTime<Utc>, months_ahead: u32) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    let (mut year, mut month) = (now.year(), now.month() + months_ahead);
    if month > 12 {
        month -= 12;
        year += 1;
    }
    chrono::NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_validation_follows_the_broker() {
        let err =
            |body: &str| validate_create(body.as_bytes()).err().unwrap().body["error"].clone();
        assert_eq!(err(""), "EOF");
        assert_eq!(
            err("{}"),
            "consumer_id is required; offer_id is required; workload_type is required; reservation_hours is required"
        );
        assert_eq!(
            err(
                r#"{"consumer_id":"c","offer_id":"o","workload_type":"llm","reservation_hours":13}"#
            ),
            "reservation_hours must be at most 12"
        );
        assert!(err(
            r#"{"consumer_id":"c","offer_id":"o","workload_type":"x","reservation_hours":1}"#
        )
        .as_str()
        .unwrap()
        .starts_with("invalid workload_type"));
        assert!(err(r#"{"reservation_hours":"2"}"#)
            .as_str()
            .unwrap()
            .contains("reservation_hours of type int"));
        assert!(validate_create(
            br#"{"consumer_id":"c","offer_id":"o","workload_type":"llm","reservation_hours":2}"#
        )
        .is_ok());
    }

    #[test]
    fn durations_print_like_the_broker() {
        assert_eq!(hours_minutes(12), "12m");
        assert_eq!(hours_minutes(90), "1h 30m");
    }
}
