//! Deployment-test runs: the configuration a person submits, the 11 steps with their
//! states, log lines, and the host report.

use crate::benchmark::PhaseMetrics;
use crate::code::ErrorCode;
use crate::provider::{de_optional_provider, Provider};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The pipeline's steps, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    CalculateRequirements,
    QueryInventory,
    SelectOffer,
    CreateSession,
    WaitForRunning,
    ConnectSsh,
    DiagnoseHost,
    InstallVllm,
    VerifyDeployment,
    Benchmark,
    Cleanup,
}

impl StepName {
    /// All eleven, in order.
    pub const ALL: [StepName; 11] = [
        Self::CalculateRequirements,
        Self::QueryInventory,
        Self::SelectOffer,
        Self::CreateSession,
        Self::WaitForRunning,
        Self::ConnectSsh,
        Self::DiagnoseHost,
        Self::InstallVllm,
        Self::VerifyDeployment,
        Self::Benchmark,
        Self::Cleanup,
    ];

    /// What people read.
    pub fn label(self) -> &'static str {
        match self {
            Self::CalculateRequirements => "Calculate requirements",
            Self::QueryInventory => "Query inventory",
            Self::SelectOffer => "Select offer",
            Self::CreateSession => "Create session",
            Self::WaitForRunning => "Wait for running",
            Self::ConnectSsh => "Connect SSH",
            Self::DiagnoseHost => "Diagnose host",
            Self::InstallVllm => "Install & start vLLM",
            Self::VerifyDeployment => "Verify deployment",
            Self::Benchmark => "Benchmark",
            Self::Cleanup => "Cleanup",
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CalculateRequirements => "calculate_requirements",
            Self::QueryInventory => "query_inventory",
            Self::SelectOffer => "select_offer",
            Self::CreateSession => "create_session",
            Self::WaitForRunning => "wait_for_running",
            Self::ConnectSsh => "connect_ssh",
            Self::DiagnoseHost => "diagnose_host",
            Self::InstallVllm => "install_vllm",
            Self::VerifyDeployment => "verify_deployment",
            Self::Benchmark => "benchmark",
            Self::Cleanup => "cleanup",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A step's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Complete,
    Failed,
    Skipped,
    /// The dashboard stopped while this step ran.
    Interrupted,
}

impl StepStatus {
    /// Whether the step has ended (in any way).
    pub fn is_done(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

/// One step of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub name: StepName,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The stable code of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// What a person can do about a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// A one-line result (e.g. the offer chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A run's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Passed,
    Failed,
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
    pub offer_id: String,
    pub provider: Provider,
    pub gpu_type: String,
    pub gpu_count: u32,
    pub vram_gb: u32,
    pub price_per_hour: f64,
}

/// One rental a run made: the offer, the broker's session, and how it ended. A run rents
/// again on another offer when the provider fails to start a machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rental {
    /// 1 for the first rental of the run.
    pub attempt: u32,
    pub session_id: String,
    pub offer: OfferChoice,
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
    pub message: String,
}

/// One GPU as the host reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GpuInfo {
    pub name: String,
    pub memory_total_mib: u64,
    pub memory_used_mib: u64,
    pub driver: String,
    pub temperature_c: Option<u32>,
    pub utilization_pct: Option<u32>,
}

/// The host diagnostics, parsed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostReport {
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub gpus: Vec<GpuInfo>,
    pub cuda_version: Option<String>,
    pub docker_version: Option<String>,
    pub python_version: Option<String>,
    pub disk_free_gb: Option<f64>,
    pub ram_total_gb: Option<f64>,
    pub internet: Option<bool>,
    /// Problems noticed (no GPU, no docker, …) that did not stop the run.
    pub warnings: Vec<String>,
}

/// A run as the API and the UI show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: String,
    pub config: TestConfig,
    pub status: RunStatus,
    pub steps: Vec<Step>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferChoice>,
    /// Every session the run rented, in order (more than one when a machine failed to
    /// start and another offer was tried).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rentals: Vec<Rental>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostReport>,
    /// The SHA-256 fingerprint of the host key trusted on first use for the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_id: Option<String>,
    /// Why the run failed (the failed step's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stable code of that failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
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

/// How much a log line matters.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    #[default]
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The wire spelling (`info`, `warn`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }

    /// Reads a stored spelling; anything unknown is `info`.
    pub fn parse(text: &str) -> Self {
        match text {
            "warn" => Self::Warn,
            "error" => Self::Error,
            _ => Self::Info,
        }
    }
}

/// A log line of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    pub run_id: String,
    /// Position within the run, from 1.
    pub n: u64,
    pub at: DateTime<Utc>,
    pub level: LogLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepName>,
    pub message: String,
}

/// A stored benchmark: what was measured, on what, at what price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BenchmarkRecord {
    pub id: String,
    pub run_id: String,
    pub created_at: DateTime<Utc>,
    pub model: String,
    pub served_repo: String,
    pub quantization: String,
    pub provider: Provider,
    pub gpu_type: String,
    pub gpu_count: u32,
    pub price_per_hour: f64,
    /// Quality prompts answered as expected, and how many had an expectation.
    pub prompts_matching: u32,
    pub prompts_with_expected: u32,
    /// One entry per load phase (concurrency 1 first).
    pub phases: Vec<PhaseMetrics>,
    /// What the whole test cost (every rental attempt's price × time, provisioning
    /// included): until the benchmark ended when it is stored, settled once cleanup ends
    /// the rental. Absent in records from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_cost_usd: Option<f64>,
    /// Measured by `bench` against a server we did not deploy (no run, no rental).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The SLOs the levels were judged against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::benchmark::Slo>,
    /// The highest concurrency that met the SLOs, when the capacity search ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// What was asked: `synthetic 128 in / 128 out`, or the prompt file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

impl BenchmarkRecord {
    /// The level the SLOs allow the most load at: the capacity found by the search, else
    /// the highest-throughput level that met them. `None` when no level was judged or none
    /// met them.
    pub fn at_slo(&self) -> Option<&PhaseMetrics> {
        if let Some(c) = self.capacity {
            return self.phases.iter().find(|p| p.concurrency == c);
        }
        self.phases
            .iter()
            .filter(|p| p.meets_slo == Some(true))
            .max_by(|a, b| a.output_tokens_per_s.total_cmp(&b.output_tokens_per_s))
    }

    /// The phase with the highest output throughput (the one $/1M tokens is quoted at).
    pub fn best_phase(&self) -> Option<&PhaseMetrics> {
        self.phases
            .iter()
            .max_by(|a, b| a.output_tokens_per_s.total_cmp(&b.output_tokens_per_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_rejects_unknown_fields() {
        let c: TestConfig =
            serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":0.5}"#).unwrap();
        assert_eq!(c.reservation_hours, 1);
        assert!(!c.keep_on_failure);
        assert_eq!(c.deploy_mode, DeployMode::Docker);
        assert!(
            serde_json::from_str::<TestConfig>(r#"{"model":"x","max_price":1,"surprise":1}"#)
                .is_err()
        );
    }

    #[test]
    fn deploy_modes_parse_as_they_serialise() {
        for mode in DeployMode::ALL {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(DeployMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(DeployMode::parse("kubernetes"), None);
        assert!(DeployMode::Entrypoint.broker_launched() && !DeployMode::Pip.broker_launched());
    }

    #[test]
    fn a_new_run_has_eleven_pending_steps() {
        let run = Run::new(
            "r".into(),
            serde_json::from_str(r#"{"model":"m/x-1B","max_price":1}"#).unwrap(),
            Utc::now(),
        );
        assert_eq!(run.steps.len(), 11);
        assert!(run.steps.iter().all(|s| s.status == StepStatus::Pending));
        assert_eq!(StepName::parse("install_vllm"), Some(StepName::InstallVllm));
    }
}
