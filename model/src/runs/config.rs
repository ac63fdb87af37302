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
    /// listed, or no longer matches the model, price or provider, the cheapest offer of
    /// the same GPU type and count (on the same provider, when the test names one) is
    /// rented and the run says so; when there is none, the run fails `pinned_offer_gone`.
    /// Another GPU type is never rented in its place. Absent (or `""` from a form) means
    /// the best offer.
    #[serde(
        default,
        deserialize_with = "de_optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub pin_offer: Option<String>,
    /// What the pinned offer rents, as the person saw it listed (the Inventory tab sends
    /// it): when the offer is gone from the broker by the time the run looks, this says
    /// which GPU type to stay on. Without it, the broker is asked about the offer.
    /// Without `pin_offer` (a benchmark's bundle run again), the test rents the cheapest
    /// offer of this GPU type and count, never another, and fails `pinned_offer_gone`
    /// when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_gpu: Option<PinnedGpu>,
    /// The inference engine (`vllm` when absent).
    #[serde(default)]
    pub engine: crate::engines::Engine,
    /// The engine's release, such as `0.31.0` (GET /api/engines lists them). Absent means the
    /// catalogue's default for the engine; a started run records the one it deploys. A run
    /// stored without it (from before the catalogue) deployed vLLM 0.6.4.
    #[serde(
        default,
        deserialize_with = "de_optional_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub engine_version: Option<String>,
    /// How the engine is started beyond the model (context length, batch, dtype...).
    #[serde(default, skip_serializing_if = "is_default_settings")]
    pub settings: crate::engines::EngineSettings,
    /// Benchmark with the SLO capacity search (the highest concurrency that meets the
    /// default SLOs, within 64 and 5 minutes) instead of the fixed levels.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub capacity_search: bool,
    /// The benchmark's load requests (tokens in and out, seed); absent means the
    /// dashboard's (64 in, `--bench-max-tokens` out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<crate::campaigns::WorkloadSpec>,
    /// The SLOs a level must meet; absent means [`crate::benchmark::Slo::default`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::benchmark::Slo>,
    /// The most the capacity search may spend on the instance, USD (a campaign's share of
    /// its budget): the search ends there with what it measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_budget_usd: Option<f64>,
    /// The capacity search's time limit, seconds (30–3,600; a campaign's share of its time
    /// budget); absent means the dashboard's 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_seconds: Option<u32>,
    /// A quick probe before the benchmark (a campaign's): a few requests alone on the
    /// engine, and the run fails `slow_host` when it decodes under the expected speed's
    /// share, before the capacity search spends money on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<DecodeProbe>,
    /// Offers not to rent (a campaign's slow hosts, replaced by others of their GPU type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub avoid_offers: Vec<String>,
    /// Tune the engine after the capacity search, within this budget (issue 31). A form's
    /// blank budget is no tuning ([`crate::tuning::tune_unless_blank`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::tuning::tune_unless_blank"
    )]
    pub tune: Option<crate::tuning::TuneRequest>,
}

/// What a campaign's quick probe expects of a host.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecodeProbe {
    /// The decode speed of one stream alone that the GPU type should reach, tokens per
    /// second (the campaign's estimate).
    pub expected_tokens_per_s: f64,
    /// Under this share of it, the host is slow (0.1–0.95).
    pub ratio: f64,
}

impl DecodeProbe {
    /// Whether `measured` tokens per second is too slow.
    ///
    /// ```
    /// use gdl_model::runs::DecodeProbe;
    ///
    /// let probe = DecodeProbe { expected_tokens_per_s: 40.0, ratio: 0.6 };
    /// assert!(probe.too_slow(20.0));
    /// assert!(!probe.too_slow(30.0));
    /// ```
    pub fn too_slow(&self, measured: f64) -> bool {
        measured < self.expected_tokens_per_s * self.ratio
    }
}

/// The GPU a pinned offer rents, as listed when the person chose it.
///
/// # Examples
///
/// ```
/// use gdl_model::runs::TestConfig;
///
/// let config: TestConfig = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":0.36,
///     "pin_offer":"vastai-41","pin_gpu":{"gpu_type":"RTX 4090","gpu_count":1,"price_per_hour":0.35}}"#)?;
/// let gpu = config.pin_gpu.unwrap();
/// assert_eq!(gpu.to_string(), "RTX 4090 at $0.35/h");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PinnedGpu {
    /// The GPU model, such as `RTX 4090`.
    pub gpu_type: String,
    /// GPUs in the offer.
    #[serde(default = "one")]
    pub gpu_count: u32,
    /// USD per hour for the whole offer, as listed.
    pub price_per_hour: f64,
}

impl PinnedGpu {
    /// What `offer` rents, at its price.
    pub fn of(offer: &crate::shopper::Offer) -> Self {
        Self {
            gpu_type: offer.gpu_type.clone(),
            gpu_count: offer.gpu_count,
            price_per_hour: offer.price_per_hour,
        }
    }

    /// Whether `offer` rents the same GPU type and count.
    pub fn same_gpu(&self, offer: &crate::shopper::Offer) -> bool {
        offer.gpu_type == self.gpu_type && offer.gpu_count == self.gpu_count
    }

    /// `RTX 4090`, `2 × RTX 4090`.
    pub fn gpu(&self) -> String {
        if self.gpu_count > 1 {
            format!("{} × {}", self.gpu_count, self.gpu_type)
        } else {
            self.gpu_type.clone()
        }
    }

    /// `$0.35/h`, `$0.745/h`: cents, or tenths of a cent when the price has them.
    pub fn price(&self) -> String {
        let p = self.price_per_hour;
        if (p * 100.0 - (p * 100.0).round()).abs() < 1e-6 {
            format!("${p:.2}/h")
        } else {
            format!("${p:.3}/h")
        }
    }
}

impl std::fmt::Display for PinnedGpu {
    /// `RTX 4090 at $0.35/h`, `2 × RTX 4090 at $0.745/h`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.gpu(), self.price())
    }
}

/// An optional text field where a form's empty value means absent.
fn de_optional_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()))
}

fn is_default_settings(s: &crate::engines::EngineSettings) -> bool {
    *s == crate::engines::EngineSettings::default()
}

/// The image the broker starts in the entrypoint mode (its `vastai/types.go`).
pub const BROKER_IMAGE: &str = "vllm/vllm-openai:latest";

/// The version a stored run without one deployed: the product pinned vLLM 0.6.4 before the
/// engine catalogue.
pub const VERSION_BEFORE_THE_CATALOGUE: &str = "0.6.4";

impl TestConfig {
    /// The engine version this run deploys (or deployed): the one it names, else the
    /// catalogue's default. `None` only for a name the catalogue does not have.
    pub fn engine_version(&self) -> Option<&'static crate::engines::EngineVersion> {
        match &self.engine_version {
            Some(v) => crate::engines::find(self.engine, v),
            None => Some(crate::engines::default_version(self.engine)),
        }
    }

    /// `vLLM 0.31.0` as recorded on a run (`vLLM 0.6.4` for one stored before versions were).
    pub fn engine_label(&self) -> String {
        if self.deploy_mode.broker_launched() {
            return format!(
                "{} (the broker's image: {})",
                self.engine.label(),
                BROKER_IMAGE
            );
        }
        let version = self
            .engine_version
            .as_deref()
            .unwrap_or(VERSION_BEFORE_THE_CATALOGUE);
        format!("{} {version}", self.engine.label())
    }
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
