//! Deployment-test runs: the configuration a person submits ([`TestConfig`]), the 11 steps
//! with their states, rentals, log lines, the host report, the stored benchmark record, and
//! the history's filters.
//!
//! # Examples
//!
//! What `POST /api/runs` takes, and the run it starts:
//!
//! ```
//! use chrono::Utc;
//! use gdl_model::runs::{DeployMode, Run, RunStatus, StepName, StepStatus, TestConfig};
//!
//! let config: TestConfig =
//!     serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":0.5,"provider":""}"#)?;
//! assert_eq!(config.provider, None, "an empty provider means any");
//! assert_eq!((config.reservation_hours, config.gpu_count), (1, 1));
//! assert_eq!(config.deploy_mode, DeployMode::Docker);
//! // Unknown fields are refused, so a typo never goes unnoticed.
//! assert!(serde_json::from_str::<TestConfig>(r#"{"model":"x","max_price":1,"gpu":2}"#).is_err());
//!
//! let mut run = Run::new("run-1".into(), config, Utc::now());
//! assert_eq!(run.status, RunStatus::Running);
//! run.step_mut(StepName::CalculateRequirements).status = StepStatus::Running;
//! assert_eq!(run.current_step(), Some(StepName::CalculateRequirements));
//! let json = serde_json::to_value(&run)?;
//! assert_eq!(json["steps"].as_array().unwrap().len(), 11);
//! assert_eq!(json["steps"][0]["status"], "running");
//! assert_eq!(json["steps"][1]["name"], "query_inventory");
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::code::ErrorCode;
use crate::ids::{BenchmarkId, RunId, SessionId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod benchmarks;
pub mod bundle;
mod config;
mod filters;
mod host;
mod logs;
mod rentals;
mod steps;
pub use benchmarks::{
    BenchmarkDetail, BenchmarkFilters, BenchmarkPage, BenchmarkRecord, BenchmarkSort, ExportFormat,
    ExportQuery, PhaseSample, DEFAULT_SETTINGS,
};
pub use config::{
    DecodeProbe, DeployMode, PinnedGpu, RunStarted, TestConfig, BROKER_IMAGE,
    VERSION_BEFORE_THE_CATALOGUE,
};
pub use filters::{LogFormat, LogQuery, RunFilters, LOG_PAGE, MAX_LOG_PAGE};
pub use host::{GpuInfo, HostReport};
pub use logs::{LogLevel, LogLine};
pub use rentals::{
    CleanupOutcome, InstanceState, OfferChoice, Rental, RentalOutcome, UnclearCreate,
};
pub use steps::{Step, StepName, StepStatus};

/// A run's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// In progress.
    Running,
    /// The deployment test went through.
    Passed,
    /// A step failed.
    Failed,
    /// The person (or a shutdown) cancelled it.
    Cancelled,
    /// The dashboard stopped during the run; a restart closed it and cleaned up.
    Interrupted,
}

impl RunStatus {
    /// Every state, in the order a filter lists them.
    pub const ALL: [RunStatus; 5] = [
        Self::Running,
        Self::Passed,
        Self::Failed,
        Self::Cancelled,
        Self::Interrupted,
    ];

    /// The wire spelling (`running`, `passed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// Whether the run has ended.
    pub fn is_finished(self) -> bool {
        self != Self::Running
    }
}

/// A run as the API and the UI show it.
///
/// # Examples
///
/// A run read from `GET /api/runs/{id}`, whose inventory step found nothing:
///
/// ```
/// use chrono::Utc;
/// use gdl_model::code::ErrorCode;
/// use gdl_model::runs::{Run, StepStatus};
///
/// let run: Run = serde_json::from_str(r#"{"id":"run-7",
///     "config":{"model":"qwen2.5-7b","max_price":0.1},"status":"failed",
///     "created_at":"2026-11-24T01:00:00Z","ended_at":"2026-11-24T01:00:04Z",
///     "steps":[{"name":"calculate_requirements","status":"complete"},
///              {"name":"query_inventory","status":"failed","reason":"no offer under $0.10/h",
///               "code":"no_offers","hint":"Raise the price."}],
///     "error":"no offer under $0.10/h","error_code":"no_offers"}"#)?;
/// assert!(run.status.is_finished());
/// assert_eq!(run.error_code, Some(ErrorCode::NoOffers));
/// let failed = run.steps.iter().find(|s| s.status == StepStatus::Failed).unwrap();
/// assert_eq!(failed.name.label(), "Query inventory");
/// assert_eq!(run.cost_usd(Utc::now()), 0.0, "it rented nothing");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    /// The run's id.
    pub id: RunId,
    /// What was asked.
    pub config: TestConfig,
    /// Where the run stands.
    pub status: RunStatus,
    /// The eleven steps, in order.
    pub steps: Vec<Step>,
    /// When the run started.
    pub created_at: DateTime<Utc>,
    /// When it ended; `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// The broker session rented last; `None` before the first rental.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    /// The offer chosen last; `None` before one is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferChoice>,
    /// Every session the run rented, in order (more than one when a machine failed to
    /// start and another offer was tried).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rentals: Vec<Rental>,
    /// Session creates whose answer never came back (the broker may have made a session):
    /// each is settled by a listing of the broker's sessions before cleanup is confirmed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unclear_creates: Vec<UnclearCreate>,
    /// The host diagnostics; `None` until the host was diagnosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostReport>,
    /// The SHA-256 fingerprint of the host key trusted on first use for the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// The benchmark record the run stored; `None` until it stores one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_id: Option<BenchmarkId>,
    /// Why the run failed (the failed step's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stable code of that failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// How cleanup ended; `None` until it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupOutcome>,
}

impl Run {
    /// What `rental` cost as of `now`: its recorded cost once it failed or its destroy was
    /// asked for, else (in use, kept, or left by an interrupted run) price × time until
    /// `now`, never past its expiry.
    pub fn rental_cost(&self, rental: &Rental, now: DateTime<Utc>) -> f64 {
        if rental.failure.is_some() || rental.destroyed.is_some() {
            return rental.cost_usd;
        }
        rental.cost_until(rental.expires_at.map_or(now, |end| end.min(now)))
    }

    /// The run's cost as of `now`: every rental attempt, provisioning included.
    ///
    /// USD. A rental given up (or whose destroy was asked for) counts its recorded cost;
    /// one still in use counts price × time so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use gdl_model::runs::Run;
    ///
    /// let at = |minute| Utc.with_ymd_and_hms(2026, 11, 24, 10, minute, 0).unwrap();
    /// let offer = serde_json::json!({"offer_id": "o", "provider": "vastai",
    ///     "gpu_type": "RTX 4090", "gpu_count": 1, "vram_gb": 24, "price_per_hour": 0.6});
    /// let mut run = Run::new(
    ///     "run-1".into(),
    ///     serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#)?,
    ///     at(0),
    /// );
    /// run.rentals = serde_json::from_value(serde_json::json!([
    ///     // The first machine failed to start: its cost was settled then.
    ///     {"attempt": 1, "session_id": "s-1", "offer": offer, "created_at": at(0),
    ///      "failure": "the provider failed to start it", "cost_usd": 0.05},
    ///     // The second is in use: $0.60 an hour for 30 minutes so far.
    ///     {"attempt": 2, "session_id": "s-2", "offer": offer, "created_at": at(10)},
    /// ]))?;
    /// assert!((run.cost_usd(at(40)) - 0.35).abs() < 1e-9);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn cost_usd(&self, now: DateTime<Utc>) -> f64 {
        self.rentals.iter().map(|r| self.rental_cost(r, now)).sum()
    }

    /// A new run with every step pending.
    pub fn new(id: RunId, config: TestConfig, now: DateTime<Utc>) -> Self {
        Self {
            id,
            config,
            status: RunStatus::Running,
            steps: StepName::ALL
                .iter()
                .map(|&name| Step {
                    name,
                    status: StepStatus::Pending,
                    started_at: None,
                    ended_at: None,
                    reason: None,
                    code: None,
                    hint: None,
                    detail: None,
                })
                .collect(),
            created_at: now,
            ended_at: None,
            session_id: None,
            offer: None,
            rentals: Vec::new(),
            unclear_creates: Vec::new(),
            host: None,
            host_key: None,
            benchmark_id: None,
            error: None,
            error_code: None,
            cleanup: None,
        }
    }

    /// Rentals whose destroy the broker has not confirmed, leaving out the one the person
    /// chose to keep: while there are any, something this run rented may still bill.
    pub fn unconfirmed_rentals(&self) -> impl Iterator<Item = &Rental> {
        let kept = self
            .cleanup
            .as_ref()
            .filter(|c| c.kept)
            .and(self.session_id.as_ref());
        self.rentals
            .iter()
            .filter(move |r| r.destroyed != Some(true) && Some(&r.session_id) != kept)
    }

    /// Whether the run still owes a cleanup: a rental not confirmed destroyed (unless kept)
    /// or a create not yet settled. A finished run that owes one is the reconciler's.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::Utc;
    /// use gdl_model::runs::{CleanupOutcome, Run};
    ///
    /// let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#)?;
    /// let mut run = Run::new("run-1".into(), config, Utc::now());
    /// assert!(!run.owes_cleanup(), "it rented nothing");
    /// run.session_id = Some("s-1".into());
    /// run.rentals = serde_json::from_value(serde_json::json!([{"attempt": 1,
    ///     "session_id": "s-1", "created_at": Utc::now(), "offer": {"offer_id": "o",
    ///     "provider": "vastai", "gpu_type": "L4", "gpu_count": 1, "vram_gb": 24,
    ///     "price_per_hour": 0.3}}]))?;
    /// assert!(run.owes_cleanup(), "its destroy is not confirmed");
    /// run.cleanup = Some(CleanupOutcome {
    ///     destroyed_confirmed: false,
    ///     kept: true,
    ///     message: "kept as asked".into(),
    /// });
    /// assert!(!run.owes_cleanup(), "the person kept it");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn owes_cleanup(&self) -> bool {
        self.unconfirmed_rentals().next().is_some()
            || self.unclear_creates.iter().any(UnclearCreate::is_open)
    }

    /// The step record for `name`.
    pub fn step_mut(&mut self, name: StepName) -> &mut Step {
        let index = StepName::ALL
            .iter()
            .position(|s| *s == name)
            .expect("every step exists");
        &mut self.steps[index]
    }

    /// The step currently running, if any.
    pub fn current_step(&self) -> Option<StepName> {
        self.steps
            .iter()
            .find(|s| s.status == StepStatus::Running)
            .map(|s| s.name)
    }
}

#[cfg(test)]
mod tests;
