//! What a person asks to test (`POST /api/runs`, the form, `gpu-deploy-llm test`) and how
//! vLLM is started.

use crate::ids::RunId;
use crate::provider::{de_optional_provider, Provider};
use serde::{Deserialize, Serialize};

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

    /// How the form names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Docker => "Docker image",
            Self::Pip => "pip",
            Self::Entrypoint => "the broker (entrypoint, Vast.ai)",
        }
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

/// `POST /api/runs` answers `201 {"id": …}`: the run started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunStarted {
    /// The new run's id.
    pub id: RunId,
}
