//! What `test` and `deploy` rent and start ([`RentArgs`]), and the options of the deployment
//! commands: `deploy`, `deployments`, `stop` and `keys`, each asking a running dashboard
//! ([`DashboardArgs`]).

use super::{DashboardArgs, EngineArgs};
use clap::Args;
use gdl_model::deployments::DEFAULT_IDLE_MINUTES;
use gdl_model::runs::{DeployMode, TestConfig};

/// The offer, price, provider, quantization and engine a run rents and starts: `test`'s and
/// `deploy`'s, the same flags.
#[derive(Clone, Debug, Args)]
pub struct RentArgs {
    /// Highest price accepted, USD per hour: required (with `test --from`, it replaces the
    /// bundle's).
    #[arg(long)]
    pub max_price: Option<f64>,

    /// Only this provider (vastai, tensordock or bluelobster); any when left out.
    #[arg(long)]
    pub provider: Option<String>,

    /// none, awq, gptq or fp8 (AWQ/GPTQ use a pre-quantized checkpoint).
    #[arg(long)]
    pub quantization: Option<String>,

    /// Hours to reserve the instance for (1-12).
    #[arg(long, default_value_t = 1)]
    pub reservation_hours: u32,

    /// GPUs wanted (1-8).
    #[arg(long, default_value_t = 1)]
    pub gpu_count: u32,

    /// How vLLM is started: docker (our container over SSH), pip (installed over SSH) or
    /// entrypoint (the broker starts the vLLM container; Vast.ai, one GPU).
    #[arg(long, default_value = "docker")]
    pub deploy_mode: String,

    /// Rent this offer (an id from `inventory`); the next-best one when it is gone.
    #[arg(long)]
    pub offer: Option<String>,

    #[command(flatten)]
    pub engine: EngineArgs,
}

impl RentArgs {
    /// The test configuration for `model` (no capacity search, nothing kept on failure), or
    /// what is wrong with a flag and what to do. The rest is checked where every run is.
    pub fn config(&self, model: &str) -> Result<TestConfig, (String, &'static str)> {
        let max_price = self.max_price.ok_or_else(|| {
            (
                "--max-price is required: the highest price accepted, USD per hour".to_owned(),
                "Add --max-price 0.5, say; `gpu-deploy-llm inventory` lists the offers' prices.",
            )
        })?;
        let deploy_mode = DeployMode::parse(&self.deploy_mode).ok_or_else(|| {
            (
                format!(
                    "--deploy-mode must be docker, pip or entrypoint, not {:?}",
                    self.deploy_mode
                ),
                "Leave it out for docker.",
            )
        })?;
        let (engine, engine_version, settings) = self.engine.resolve().map_err(|why| {
            (
                why,
                "Leave --engine out for vLLM; `gpu-deploy-llm engines` lists the engines and versions.",
            )
        })?;
        Ok(TestConfig {
            tune: None,
            engine,
            engine_version,
            settings,
            model: model.to_owned(),
            max_price,
            provider: self
                .provider
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(gdl_model::shopper::Provider::from_wire),
            quantization: self.quantization.clone(),
            reservation_hours: self.reservation_hours,
            gpu_count: self.gpu_count,
            keep_on_failure: false,
            deploy_mode,
            pin_offer: self.offer.clone(),
            pin_gpu: None,
            capacity_search: false,
            workload: None,
            slo: None,
            search_budget_usd: None,
            search_seconds: None,
            probe: None,
            avoid_offers: Vec::new(),
        })
    }
}

/// Options of `gpu-deploy-llm deploy`.
#[derive(Clone, Debug, Args)]
pub struct DeployArgs {
    /// Model: a preset alias (e.g. qwen2.5-0.5b) or a Hugging Face id.
    #[arg(required_unless_present = "from_benchmark")]
    pub model: Option<String>,

    /// Deploy this benchmark's model (a `bench-…` id) on the GPU type and count it was
    /// measured on (any provider's cheapest offer), with the best settings its tuning found (the test's own with
    /// --own-settings or when it did not tune); the rest of the test's configuration too.
    #[arg(long, value_name = "ID", conflicts_with_all = from_benchmark_conflicts())]
    pub from_benchmark: Option<String>,

    /// With --from-benchmark: the settings the test ran with, not its tuning's best.
    #[arg(long, requires = "from_benchmark")]
    pub own_settings: bool,

    #[command(flatten)]
    pub rent: RentArgs,

    /// Stop after this many minutes without a request (fractions allowed).
    #[arg(long, default_value_t = DEFAULT_IDLE_MINUTES, allow_negative_numbers = true)]
    pub idle_minutes: f64,

    /// Stop once the deployment's rent (provisioning included) reaches this many USD.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub max_spend: Option<f64>,

    /// Stop this many hours after the deployment started.
    #[arg(long, value_name = "H", allow_negative_numbers = true)]
    pub max_lifetime_hours: Option<f64>,

    /// Run the benchmark before serving (its $/1M tokens shows beside what serving costs).
    #[arg(long)]
    pub benchmark: bool,

    /// With --benchmark: the SLO capacity search (the highest concurrency within the default
    /// SLOs, at most 64 and 5 minutes) instead of the fixed levels.
    #[arg(long, requires = "benchmark")]
    pub search: bool,

    /// Before it opens, after the benchmark's capacity search (both implied), try engine
    /// settings one restart at a time on its rental and serve with the best, spending at
    /// most this many USD on it (0.01-100; docker or pip mode).
    #[arg(long, value_name = "USD")]
    pub tune_usd: Option<f64>,

    /// With --tune-usd: at most this many seconds of tuning (60-7200).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = gdl_model::tuning::DEFAULT_TUNE_SECONDS,
        requires = "tune_usd"
    )]
    pub tune_seconds: u32,

    /// The first deployment key's label (default "first key").
    #[arg(long, value_name = "L")]
    pub key_label: Option<String>,

    /// Wait until it serves (or fails), printing its progress on stderr; without it the
    /// command returns as soon as the dashboard has started it.
    #[arg(long)]
    pub wait: bool,

    /// Print the answer (id, endpoint, key) as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// The flags of what a run rents and starts, but its highest price: what a bundle or a
/// benchmark decides (`test --from`, `deploy --from-benchmark`).
pub const RENTED_AND_STARTED: [&str; 18] = [
    "provider",
    "quantization",
    "reservation_hours",
    "gpu_count",
    "deploy_mode",
    "offer",
    "engine",
    "engine_version",
    "max_model_len",
    "max_num_seqs",
    "gpu_memory_utilization",
    "data_parallel_size",
    "dtype",
    "kv_cache_dtype",
    "prefix_caching",
    "enforce_eager",
    "trust_remote_code",
    "engine_flags",
];

/// What --from-benchmark takes from the benchmark, so not from a flag.
fn from_benchmark_conflicts() -> Vec<&'static str> {
    let mut out = vec!["model", "benchmark", "search", "tune_usd", "max_price"];
    out.extend(RENTED_AND_STARTED);
    out
}

/// Options of `gpu-deploy-llm deployments`.
#[derive(Clone, Debug, Args)]
pub struct DeploymentsArgs {
    /// Only those still up (starting, serving, recovering, tuning, stopping).
    #[arg(long)]
    pub active: bool,

    /// Print the deployments as JSON (as `GET /api/deployments` answers).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// Options of `gpu-deploy-llm stop`.
#[derive(Clone, Debug, Args)]
pub struct StopArgs {
    /// The deployment's id (`gpu-deploy-llm deployments` lists them).
    pub id: String,

    /// Print the ended deployment as JSON.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// Options of `gpu-deploy-llm tune`.
#[derive(Clone, Debug, Args)]
pub struct TuneArgs {
    /// The serving deployment's id (`gpu-deploy-llm deployments` lists them).
    pub id: String,

    /// Spend at most this many USD on tuning (0.01-100): restarts and capacity searches.
    #[arg(long, value_name = "USD")]
    pub usd: f64,

    /// At most this many seconds of tuning (60-7200); the gateway refuses requests meanwhile.
    #[arg(long, value_name = "SECONDS", default_value_t = gdl_model::tuning::DEFAULT_TUNE_SECONDS)]
    pub seconds: u32,

    /// Follow it until it serves again, printing each setting tried (exit 1 if it ended).
    #[arg(long)]
    pub wait: bool,

    /// Print the deployment as JSON (after --wait, as it then is).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// Options of `gpu-deploy-llm keys`.
#[derive(Clone, Debug, Args)]
pub struct KeysArgs {
    /// The deployment's id.
    pub id: String,

    /// Make a key with this label; its secret is printed this once.
    #[arg(long = "new", value_name = "LABEL", conflicts_with = "revoke")]
    pub new: Option<String>,

    /// Revoke this key (its `key-…` id): the gateway refuses it from then on.
    #[arg(long, value_name = "KEY_ID")]
    pub revoke: Option<String>,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}
