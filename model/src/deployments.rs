//! Deployments: a model kept serving on a rented GPU after Verify, behind the dashboard's
//! OpenAI-compatible gateway (`/serve/{id}/v1/...`), metered, and stopped by its guards
//! (idle time, spend, lifetime) or by a person. A deployment is provisioned by an ordinary
//! run (steps 1–9, the benchmark when asked); its Cleanup step waits until it stops.
//!
//! # Examples
//!
//! What `POST /api/deployments` takes: the test configuration and the guards.
//!
//! ```
//! use gdl_model::deployments::{DeployRequest, Guards};
//!
//! let request: DeployRequest = serde_json::from_str(
//!     r#"{"config":{"model":"qwen2.5-0.5b","max_price":0.5},"guards":{"max_spend_usd":2}}"#,
//! )?;
//! assert_eq!(request.guards.idle_minutes, 30.0, "the default idle time");
//! assert_eq!(request.guards.max_spend_usd, Some(2.0));
//! assert!(request.guards.check().is_ok());
//! let bad = Guards { idle_minutes: 0.0, ..Guards::default() };
//! assert!(bad.check().unwrap_err().contains("idle_minutes"));
//! # Ok::<(), serde_json::Error>(())
//! ```

mod guards;
mod meter;

pub use guards::{
    Guards, DEFAULT_IDLE_MINUTES, MAX_IDLE_MINUTES, MAX_KEYS, MAX_LABEL, MAX_LIFETIME_HOURS,
    MAX_SPEND_USD,
};
pub use meter::{Meter, TokenUsage};

use crate::ids::{DeploymentId, RunId, SessionId};
use crate::runs::TestConfig;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/deployments`: what to deploy (a test configuration) and its guards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// What to deploy, where, at what price: as for a test.
    pub config: TestConfig,
    /// When it stops by itself.
    #[serde(default)]
    pub guards: Guards,
    /// Run the benchmark before serving (its $/1M tokens is shown beside what serving costs).
    #[serde(default)]
    pub benchmark: bool,
    /// The label of the first deployment key (default "first key").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_label: Option<String>,
}

/// `POST /api/benchmarks/{id}/deploy`: keep a benchmark's model serving on the GPU type
/// it was measured on (from any provider), with the best settings its tuning found (the test's
/// own when it did not tune, or when asked).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeployBenchmark {
    /// When it stops by itself.
    #[serde(default)]
    pub guards: Guards,
    /// Start the engine with the test's own settings, not the best its tuning found.
    #[serde(default)]
    pub own_settings: bool,
    /// The label of the first deployment key (default "first key").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_label: Option<String>,
}

/// The answer to `POST /api/deployments`: its id, the gateway's path and the first key,
/// shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployStarted {
    /// The new deployment's id.
    pub id: DeploymentId,
    /// The run that provisions it.
    pub run_id: RunId,
    /// The OpenAI base path (`/serve/{id}/v1`); prefix it with the dashboard's address.
    pub base_path: String,
    /// The first key, in full: it is never shown again.
    pub key: CreatedKey,
    /// Said when the deployment cannot survive a restart of the dashboard (no secret key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A key just created: its secret in full, this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedKey {
    /// The key as listed from now on.
    pub key: DeploymentKey,
    /// `gdk-…`: send it as `Authorization: Bearer …` (the OpenAI client's `api_key`).
    pub secret: String,
}

/// `POST /api/deployments/{id}/keys`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What the key is for (a person, a program).
    pub label: String,
}

/// A deployment key as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentKey {
    /// `key-…`.
    pub id: String,
    /// What the key is for.
    pub label: String,
    /// The secret's first characters, to tell keys apart (`gdk-1a2b…`).
    pub prefix: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked: the gateway refuses it from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Where a deployment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    /// Its run is renting and starting the engine.
    Starting,
    /// The gateway forwards requests to it.
    Serving,
    /// The engine is being restarted or the tunnel reconnected: requests fail fast.
    Recovering,
    /// Its engine is being tuned on its host, restarted with other settings one at a time:
    /// requests fail fast until it serves again, with the best settings found.
    Tuning,
    /// It is being stopped: its session is being destroyed.
    Stopping,
    /// It ended and its session was destroyed (see `stop_reason`).
    Stopped,
    /// It never served, or ended on a failure (see `stop_reason`).
    Failed,
}

impl DeploymentStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Serving => "serving",
            Self::Recovering => "recovering",
            Self::Tuning => "tuning",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    /// Whether it has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Stopped | Self::Failed)
    }
}

/// Why a deployment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// No request for the idle time.
    Idle,
    /// Its spend reached the guard.
    Spend,
    /// Its lifetime reached the guard.
    Lifetime,
    /// The broker's hard maximum for a session was reached.
    BrokerMaximum,
    /// A person stopped it.
    Requested,
    /// Its run failed before it served.
    ProvisionFailed,
    /// The engine kept crashing after the restarts allowed.
    EngineFailed,
    /// The host was lost (destroyed at the provider, or unreachable).
    HostLost,
    /// The dashboard restarted and could not take it back (no secret key, or reconnecting
    /// failed): stopped rather than left running unwatched.
    NotResumed,
    /// The dashboard shut down without a secret key to resume it with.
    Shutdown,
}

impl StopReason {
    /// A sentence for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle for its idle time",
            Self::Spend => "its spend reached the limit",
            Self::Lifetime => "its lifetime reached the limit",
            Self::BrokerMaximum => "the broker's 12-hour maximum for a session",
            Self::Requested => "stopped by a person",
            Self::ProvisionFailed => "its run failed before it served",
            Self::EngineFailed => "the engine kept crashing",
            Self::HostLost => "the host was lost",
            Self::NotResumed => "the dashboard restarted and could not resume it",
            Self::Shutdown => "the dashboard shut down",
        }
    }
}

/// What will stop the deployment first, and when.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deadline {
    /// When.
    pub at: DateTime<Utc>,
    /// Which guard (or limit) it is.
    pub reason: StopReason,
}

/// A deployment as the API, the live channel and the pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    /// The deployment's id (`dep-…`).
    pub id: DeploymentId,
    /// The run that provisioned it (its steps, log, rentals and cleanup).
    pub run_id: RunId,
    /// The model as asked (preset or Hugging Face id).
    pub model: String,
    /// The model name the engine serves (what `/v1/models` lists); `None` until it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    /// "vLLM 0.31.0" and the like.
    pub engine: String,
    /// The engine settings and weights it was started with, in words ("weights FP8 · max 8
    /// sequences", [`crate::tuning::setup_words`]); empty in records made before this said
    /// "the engine's defaults".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub settings: String,
    /// Where it stands.
    pub status: DeploymentStatus,
    /// When it stops by itself (changeable while it runs).
    pub guards: Guards,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When it began serving (the gateway forwards from then on).
    pub serving_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Why it ended.
    pub stop_reason: Option<StopReason>,
    /// What happened, in words (the stop, a failure, a restart's outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The broker session it serves from.
    pub session_id: Option<SessionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The GPU it runs on ("RTX 4090", with a count when more than one).
    pub gpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The provider, by its display name.
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// What its session costs an hour (USD).
    pub price_per_hour: Option<f64>,
    /// When the broker's reservation ends (extended while the guards allow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the broker ends the session whatever we do (12 h after it was created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_end_at: Option<DateTime<Utc>>,
    /// Rent so far, provisioning included (USD), as of `updated_at`.
    #[serde(default)]
    pub spend_usd: f64,
    /// The requests the gateway forwarded.
    #[serde(default)]
    pub meter: Meter,
    /// The benchmark's $ per 1M output tokens at its SLO (or best level), when it ran one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_usd_per_mtok: Option<f64>,
    /// Engine restarts after a crash.
    #[serde(default)]
    pub restarts: u32,
    /// Its last tuning while it served (`POST /api/deployments/{id}/tune`): it serves with
    /// that tuning's best point since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<crate::tuning::Tuning>,
    /// Whether a restart of the dashboard resumes it (its SSH key is kept encrypted).
    #[serde(default)]
    pub resumable: bool,
    /// Its keys, revoked ones included (never their secrets).
    #[serde(default)]
    pub keys: Vec<DeploymentKey>,
    /// When this record was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Deployment {
    /// A deployment about to be provisioned by `run_id`.
    pub fn new(
        id: DeploymentId,
        run_id: RunId,
        model: String,
        engine: String,
        guards: Guards,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            run_id,
            model,
            served_model: None,
            engine,
            settings: String::new(),
            status: DeploymentStatus::Starting,
            guards,
            created_at: now,
            serving_since: None,
            ended_at: None,
            stop_reason: None,
            message: None,
            session_id: None,
            gpu: None,
            provider: None,
            price_per_hour: None,
            expires_at: None,
            hard_end_at: None,
            spend_usd: 0.0,
            meter: Meter::default(),
            benchmark_usd_per_mtok: None,
            restarts: 0,
            tuning: None,
            resumable: false,
            keys: Vec::new(),
            updated_at: now,
        }
    }

    /// The gateway's base path (`/serve/{id}/v1`).
    pub fn base_path(&self) -> String {
        base_path(&self.id)
    }

    /// What serving has cost per 1M output tokens so far: the spend over the output tokens
    /// served. `None` before any.
    pub fn served_usd_per_mtok(&self) -> Option<f64> {
        (self.meter.output_tokens > 0)
            .then(|| self.spend_usd / self.meter.output_tokens as f64 * 1_000_000.0)
    }

    /// When it was last used: the last request, else when it began serving.
    pub fn last_activity(&self) -> Option<DateTime<Utc>> {
        self.meter.last_request_at.or(self.serving_since)
    }

    /// What stops it first as of `now` (spend projected at its price), while it serves.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use gdl_model::deployments::{Deployment, Guards, StopReason};
    ///
    /// let start = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    /// let guards = Guards { idle_minutes: 30.0, max_spend_usd: Some(0.10), max_lifetime_hours: None };
    /// let mut d = Deployment::new("dep-1".into(), "run-1".into(), "m".into(), "vLLM".into(), guards, start);
    /// d.serving_since = Some(start);
    /// d.price_per_hour = Some(0.40);
    /// // Idle ends it at 10:30; $0.10 at $0.40/h is 15 minutes: spend comes first.
    /// let first = d.deadline(start).unwrap();
    /// assert_eq!((first.reason, first.at), (StopReason::Spend, start + Duration::minutes(15)));
    /// ```
    pub fn deadline(&self, now: DateTime<Utc>) -> Option<Deadline> {
        if self.status.is_finished() {
            return None;
        }
        let minutes = |m: f64| Duration::milliseconds((m * 60_000.0) as i64);
        let mut all = Vec::new();
        if let Some(last) = self.last_activity() {
            all.push(Deadline {
                at: last + minutes(self.guards.idle_minutes),
                reason: StopReason::Idle,
            });
        }
        if let Some(hours) = self.guards.max_lifetime_hours {
            all.push(Deadline {
                at: self.created_at + minutes(hours * 60.0),
                reason: StopReason::Lifetime,
            });
        }
        if let (Some(max), Some(price)) = (self.guards.max_spend_usd, self.price_per_hour) {
            if price > 0.0 {
                let left_hours = ((max - self.spend_usd) / price).max(0.0);
                all.push(Deadline {
                    at: now + minutes(left_hours * 60.0),
                    reason: StopReason::Spend,
                });
            }
        }
        if let Some(end) = self.hard_end_at {
            all.push(Deadline {
                at: end,
                reason: StopReason::BrokerMaximum,
            });
        }
        all.into_iter().min_by_key(|d| d.at)
    }
}

/// The gateway's base path for deployment `id`.
pub fn base_path(id: &DeploymentId) -> String {
    format!("/serve/{id}/v1")
}

/// `PATCH /api/deployments/{id}/guards` takes a whole [`Guards`]; `GET /api/deployments`
/// lists [`Deployment`]s newest first. A filter on the list:
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct DeploymentFilters {
    /// Only those still up (starting, serving, recovering, stopping).
    #[serde(default)]
    pub active: Option<bool>,
}

#[cfg(test)]
mod tests;
