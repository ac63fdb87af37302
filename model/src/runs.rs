//! Deployment-test runs: the configuration a person submits, the 11 steps with their
//! states, log lines, and the host report.
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
use crate::provider::{de_optional_provider, Provider};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod benchmarks;
mod logs;
mod steps;
pub use benchmarks::BenchmarkRecord;
pub use logs::{LogLevel, LogLine};
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
    /// Whether the run has ended.
    pub fn is_finished(self) -> bool {
        self != Self::Running
    }
}

/// How vLLM is installed on the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeployMode {
    /// The `vllm/vllm-openai` image.
    #[default]
    Docker,
    /// `pip install vllm` into the host's Python.
    Pip,
    /// The broker starts the `vllm/vllm-openai` container itself (`launch_mode:
    /// entrypoint`, Vast.ai only, one GPU): nothing is installed over SSH.
    Entrypoint,
}

impl DeployMode {
    /// Every mode, in the order a form lists them.
    pub const ALL: [DeployMode; 3] = [Self::Docker, Self::Pip, Self::Entrypoint];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Pip => "pip",
            Self::Entrypoint => "entrypoint",
        }
    }

    /// The mode spelled `text` (`docker`, `pip` or `entrypoint`).
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::runs::DeployMode;
    ///
    /// assert_eq!(DeployMode::parse(" pip "), Some(DeployMode::Pip));
    /// assert_eq!(DeployMode::parse("kubernetes"), None);
    /// assert!(DeployMode::Entrypoint.broker_launched());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text.trim())
    }

    /// Whether the broker starts vLLM (no SSH install, no API key of ours).
    pub fn broker_launched(self) -> bool {
        self == Self::Entrypoint
    }
}

/// What a person asks to test (`POST /api/runs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    /// A preset alias or Hugging Face id.
    pub model: String,
    /// Highest price accepted, USD per hour.
    pub max_price: f64,
    /// Only this provider; absent (or `""` from a form) means any.
    #[serde(
        default,
        deserialize_with = "de_optional_provider",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider: Option<Provider>,
    /// `none`, `awq`, `gptq` or `fp8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// 1–12.
    #[serde(default = "one")]
    pub reservation_hours: u32,
    /// GPUs wanted (vLLM splits the model across them), 1–8.
    #[serde(default = "one")]
    pub gpu_count: u32,
    /// Leave the instance running when the test fails (to look at it).
    #[serde(default)]
    pub keep_on_failure: bool,
    /// How vLLM is installed (`docker` when absent).
    #[serde(default)]
    pub deploy_mode: DeployMode,
    /// Rent this offer (the Inventory tab's "Test on this offer"). When it is no longer
    /// listed, or no longer matches the model, price or provider, the next-best offer is
    /// rented and the log says so. Absent (or `""` from a form) means the best offer.
    #[serde(
        default,
        deserialize_with = "de_optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub pin_offer: Option<String>,
    /// Benchmark with the SLO capacity search (the highest concurrency that meets the
    /// default SLOs, within 64 and 5 minutes) instead of the fixed levels.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub capacity_search: bool,
}

/// An optional text field where a form's empty value means absent.
fn de_optional_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()))
}

fn one() -> u32 {
    1
}

/// The offer a run booked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferChoice {
    /// The broker's offer id.
    pub offer_id: String,
    /// The provider it is on.
    pub provider: Provider,
    /// The GPU model, such as `RTX 4090`.
    pub gpu_type: String,
    /// GPUs in the offer.
    pub gpu_count: u32,
    /// VRAM per GPU, in GiB.
    pub vram_gb: u32,
    /// USD per hour for the whole offer.
    pub price_per_hour: f64,
}

/// One rental a run made: the offer, the broker's session, and how it ended. A run rents
/// again on another offer when the provider fails to start a machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rental {
    /// 1 for the first rental of the run.
    pub attempt: u32,
    /// The broker's session id.
    pub session_id: String,
    /// The offer rented.
    pub offer: OfferChoice,
    /// When the broker created the session (as the dashboard recorded it).
    pub created_at: DateTime<Utc>,
    /// When the reservation ends (the broker stops the session then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Why it was given up (absent while in use, or when it worked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Price × time from its creation until it was given up (or ended), USD.
    #[serde(default)]
    pub cost_usd: f64,
    /// Whether the broker confirmed it destroyed (absent until it is asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed: Option<bool>,
    /// Seconds from its creation until the broker reported it running (its SSH verified);
    /// absent until then, and in the entrypoint mode (never running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_after_secs: Option<f64>,
}

impl Rental {
    /// What it has cost until `now` (price × hours since creation).
    pub fn cost_until(&self, now: DateTime<Utc>) -> f64 {
        crate::costs::rent_usd(self.offer.price_per_hour, self.created_at, now)
    }
}

/// How cleanup ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CleanupOutcome {
    /// The broker confirmed the session is stopped.
    pub destroyed_confirmed: bool,
    /// The person chose to keep the instance.
    pub kept: bool,
    /// What happened, in words.
    pub message: String,
}

/// One GPU as the host reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GpuInfo {
    /// The name nvidia-smi gives, without its `NVIDIA ` and `GeForce ` prefixes.
    pub name: String,
    /// Total memory, MiB.
    pub memory_total_mib: u64,
    /// Memory in use, MiB.
    pub memory_used_mib: u64,
    /// The NVIDIA driver version.
    pub driver: String,
    /// Temperature, °C; `None` when nvidia-smi reports none.
    pub temperature_c: Option<u32>,
    /// GPU utilisation, percent; `None` when nvidia-smi reports none.
    pub utilization_pct: Option<u32>,
}

/// The host diagnostics, parsed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostReport {
    /// The host's name (empty when unknown).
    pub hostname: String,
    /// The OS name and version from `/etc/os-release` (empty when unknown).
    pub os: String,
    /// The kernel release, `uname -r` (empty when unknown).
    pub kernel: String,
    /// The GPUs nvidia-smi lists (empty without nvidia-smi).
    pub gpus: Vec<GpuInfo>,
    /// The CUDA version nvidia-smi reports, such as `12.4`; `None` when it reports none.
    pub cuda_version: Option<String>,
    /// The docker version, such as `24.0.7`; `None` when docker is missing.
    pub docker_version: Option<String>,
    /// The `python3` version, such as `3.10.12`; `None` when it is missing.
    pub python_version: Option<String>,
    /// Free disk on `/`, GB (10⁹ bytes); `None` when unknown.
    pub disk_free_gb: Option<f64>,
    /// Total memory, GB (10⁹ bytes); `None` when unknown.
    pub ram_total_gb: Option<f64>,
    /// Whether huggingface.co answered from the host; `None` when it could not be asked.
    pub internet: Option<bool>,
    /// Problems noticed (no GPU, no docker, …) that did not stop the run.
    pub warnings: Vec<String>,
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
    pub id: String,
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
    pub session_id: Option<String>,
    /// The offer chosen last; `None` before one is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferChoice>,
    /// Every session the run rented, in order (more than one when a machine failed to
    /// start and another offer was tried).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rentals: Vec<Rental>,
    /// The host diagnostics; `None` until the host was diagnosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostReport>,
    /// The SHA-256 fingerprint of the host key trusted on first use for the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// The benchmark record the run stored; `None` until it stores one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_id: Option<String>,
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
    pub fn new(id: String, config: TestConfig, now: DateTime<Utc>) -> Self {
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
            host: None,
            host_key: None,
            benchmark_id: None,
            error: None,
            error_code: None,
            cleanup: None,
        }
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
