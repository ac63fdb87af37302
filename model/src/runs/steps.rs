//! The deployment test's eleven steps and each step's state.

use crate::code::ErrorCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The pipeline's steps, in order.
///
/// # Examples
///
/// ```
/// use gdl_model::runs::StepName;
///
/// assert_eq!(StepName::parse("install_vllm"), Some(StepName::InstallVllm));
/// assert_eq!(StepName::InstallVllm.label(), "Install & start vLLM");
/// assert_eq!(serde_json::to_string(&StepName::ConnectSsh).unwrap(), r#""connect_ssh""#);
/// assert_eq!(StepName::ALL.last(), Some(&StepName::Cleanup));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// 1: resolve the model, estimate the VRAM it needs, check the broker is ready.
    CalculateRequirements,
    /// 2: ask the broker for offers with enough VRAM and GPUs, within the price.
    QueryInventory,
    /// 3: choose the offer to rent.
    SelectOffer,
    /// 4: book the offer: create the broker session.
    CreateSession,
    /// 5: wait until the broker reports the session running.
    WaitForRunning,
    /// 6: log in to the host over SSH with the session's one-time key.
    ConnectSsh,
    /// 7: read the host's GPUs, CUDA, docker, Python, disk, memory and internet access.
    DiagnoseHost,
    /// 8: install and start vLLM, and wait for the model to load.
    InstallVllm,
    /// 9: check the model server answers as an OpenAI-compatible server.
    VerifyDeployment,
    /// 10: the quality prompts, then the load phases.
    Benchmark,
    /// 11: destroy the session (unless kept) and check the broker confirms it.
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
    /// Not started yet.
    Pending,
    /// In progress.
    Running,
    /// Ended well.
    Complete,
    /// Ended with an error: the step's `reason`, `code` and `hint` say which.
    Failed,
    /// Not run, or given up (an earlier step failed, the run was cancelled): `reason` says
    /// why.
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
///
/// # Examples
///
/// ```
/// use gdl_model::code::ErrorCode;
/// use gdl_model::runs::{Step, StepName, StepStatus};
///
/// let step: Step = serde_json::from_str(r#"{"name":"select_offer","status":"failed",
///     "started_at":"2026-11-24T01:00:00Z","ended_at":"2026-11-24T01:00:01Z",
///     "reason":"no offer under $0.10/h","code":"no_offers","hint":"Raise the price."}"#)?;
/// assert_eq!((step.name, step.status), (StepName::SelectOffer, StepStatus::Failed));
/// assert!(step.status.is_done());
/// assert_eq!(step.code, Some(ErrorCode::NoOffers));
/// assert_eq!(step.detail, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    /// Which step.
    pub name: StepName,
    /// Its state.
    pub status: StepStatus,
    /// When it started; `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended; `None` until then, and for a step skipped before it started.
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
