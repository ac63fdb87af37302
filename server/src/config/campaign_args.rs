//! Options of `gpu-deploy-llm campaign`.

use super::DashboardArgs;
use clap::Args;

/// Options of `gpu-deploy-llm campaign`.
#[derive(Clone, Debug, Args)]
pub struct CampaignArgs {
    /// Model: a preset alias (e.g. qwen2.5-7b) or a Hugging Face id (not with --from).
    #[arg(required_unless_present = "from", conflicts_with = "from")]
    pub model: Option<String>,

    /// The most the whole campaign may spend, USD: a hard limit (with --from, replaces the
    /// bundle's).
    #[arg(long, required_unless_present = "from")]
    pub budget: Option<f64>,

    /// Runs a campaign again from its bundle (downloaded from its page, or
    /// `GET /api/campaigns/{id}/bundle`) or from a campaign request in JSON; the other
    /// options but --budget, --plan and --json are then not used.
    #[arg(long, value_name = "FILE")]
    pub from: Option<std::path::PathBuf>,

    /// The longest it may take, minutes.
    #[arg(long, default_value_t = 60)]
    pub time_minutes: u32,

    /// Rentals at once.
    #[arg(long, default_value_t = 3)]
    pub parallel: u32,

    /// Prompt length of the benchmark's requests, tokens.
    #[arg(long, default_value_t = 512)]
    pub input_tokens: u32,

    /// Answer length of the benchmark's requests, tokens.
    #[arg(long, default_value_t = 128)]
    pub output_tokens: u32,

    /// A shipped request trace instead of synthetic lengths: chat or rag (its requests'
    /// lengths and shared prefixes; the estimate uses its mean lengths).
    #[arg(long)]
    pub trace: Option<String>,

    /// Seeds the prompts, so the campaign run again sends the same ones.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// The SLO on time to first token: its p95 at most this, ms.
    #[arg(long, default_value_t = 1000.0)]
    pub ttft_ms: f64,

    /// The SLO on time per output token: its p95 at most this, ms.
    #[arg(long, default_value_t = 100.0)]
    pub tpot_ms: f64,

    /// A quantization to try (none, awq, gptq, fp8); repeat for several. Default: none.
    #[arg(long = "quantization")]
    pub quantizations: Vec<String>,

    /// Only this provider (vastai, tensordock, bluelobster); repeat for several.
    #[arg(long = "provider")]
    pub providers: Vec<String>,

    /// Only this GPU type (as `gpu-deploy-llm campaign --plan` names it); repeat for several.
    #[arg(long = "gpu")]
    pub gpus: Vec<String>,

    /// Highest price accepted for one rental, USD per hour.
    #[arg(long)]
    pub max_price: Option<f64>,

    /// Tune each candidate's engine after its capacity search, spending at most this much
    /// (USD) on it: the best settings found are shown beside the campaign's own figures.
    #[arg(long, value_name = "USD", conflicts_with = "from")]
    pub tune_usd: Option<f64>,

    /// With --tune-usd: at most this many seconds of tuning per candidate (60-7200); each
    /// rental is planned this much longer.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = gdl_model::tuning::DEFAULT_TUNE_SECONDS,
        requires = "tune_usd"
    )]
    pub tune_seconds: u32,

    /// Only list the candidates with their estimates, ranked; rent nothing.
    #[arg(long)]
    pub plan: bool,

    /// Print the plan, or the ended campaign, as JSON (as the REST API answers).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}
