//! The command line: its commands and their flags, each with an environment fallback where
//! it has one. `serve`'s flags are the dashboard's [`Settings`]; the rest are here.

use crate::settings::{positive_f64, BrokerArgs, HubSettings, Settings};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

mod campaign_args;
mod deploy_args;
mod engine_args;
mod reads;
mod workload_args;

pub use campaign_args::CampaignArgs;
pub use deploy_args::{DeployArgs, DeploymentsArgs, KeysArgs, RentArgs, StopArgs, TuneArgs};
pub use engine_args::EngineArgs;
pub use reads::{
    BenchmarksAction, BenchmarksArgs, DashboardArgs, DataDir, ExportAs, LogsArgs, RunState,
    RunsArgs,
};
pub use workload_args::WorkloadArgs;

/// Deploy LLMs on cheap cloud GPUs through cloud-gpu-shopper, and benchmark them.
#[derive(Debug, Parser)]
#[command(name = "gpu-deploy-llm", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log lines on stderr as `text` (for people) or `json` (one object a line, with the
    /// request's id and route, for log shippers).
    #[arg(long, global = true, env = "GDL_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the dashboard (web UI and REST API). Uses the embedded broker simulator unless
    /// a broker URL is given.
    Serve(Box<Settings>),
    /// Run only the broker simulator: the cloud-gpu-shopper HTTP API with simulated
    /// providers, for any client to use.
    Simulate(SimulateArgs),
    /// Run one deployment test headless (the dashboard's 11 steps) and print the result.
    /// Uses the embedded simulator unless a broker URL is given.
    Test(Box<TestArgs>),
    /// Whether the broker is ready, and if not why and what to do (exit 1 when not); with
    /// --url, the broker as that dashboard sees it.
    Status(ReadArgs),
    /// Offers from every provider, cheapest first, filtered.
    Inventory(InventoryArgs),
    /// Our sessions on the broker, active first (exit 3 when there are none); with --url,
    /// as that dashboard lists them.
    Sessions(ReadArgs),
    /// One session: its status, cost so far and the broker's diagnostics.
    Session(SessionArgs),
    /// Destroy a session now, following it until the broker confirms.
    Cleanup(SessionArgs),
    /// Tell the broker a session's work is done (a graceful shutdown).
    Done(SessionArgs),
    /// Extend a session's reservation, within the broker's hard maximum.
    Extend(ExtendArgs),
    /// What our sessions cost, by provider and GPU (the broker's figures).
    Costs(CostsArgs),
    /// The model presets with their VRAM estimates, and whether they fit a GPU.
    Models(ModelsArgs),
    /// The engines and versions a test may deploy (--engine, --engine-version), with the
    /// CUDA version and GPU architectures each needs.
    Engines(EnginesArgs),
    /// Benchmark any OpenAI-compatible streaming server (vLLM, llama.cpp's server, SGLang,
    /// TGI) and store the result like a test's, marked external.
    Bench(BenchArgs),
    /// Stored benchmarks: list, show one, compare a model across GPUs, export, import the
    /// old Python dashboard's files. From the data directory's store, or a running dashboard
    /// with --url.
    Benchmarks(BenchmarksArgs),
    /// Stored runs, newest first, filtered by status and model (exit 3 when none match);
    /// from the data directory's store, or a running dashboard with --url.
    Runs(RunsArgs),
    /// A run's log; with --follow, new lines as they come until the run ends. From the data
    /// directory's store, or a running dashboard with --url.
    Logs(LogsArgs),
    /// Our sessions that cost money and that no run in progress uses; --cleanup destroys
    /// them, following each until the broker confirms.
    Orphans(OrphansArgs),
    /// Deploy a model on a running dashboard (--url) and keep it serving behind its
    /// OpenAI-compatible gateway: prints the endpoint, a key (once), examples and how to stop
    /// it, then returns. Stops by itself after --idle-minutes (30), --max-spend or
    /// --max-lifetime-hours.
    Deploy(Box<DeployArgs>),
    /// A running dashboard's deployments, newest first, with spend, requests, tokens, idle
    /// time and time left (exit 3 when there are none).
    Deployments(DeploymentsArgs),
    /// Stop a deployment, following it until its session is destroyed (exit 1 if the broker
    /// did not confirm it).
    Stop(StopArgs),
    /// A deployment's keys; --new LABEL makes one (its secret printed once), --revoke KEY_ID
    /// revokes one.
    Keys(KeysArgs),
    /// Tune a serving deployment's engine on its host (it refuses requests meanwhile) and
    /// serve with the best settings found; --wait follows it and prints the points tried.
    Tune(TuneArgs),
    /// Measure several GPU types at once under a hard budget on a running dashboard (--url)
    /// and say which serves the model cheapest at the SLO: one progress line per candidate,
    /// then the frontier and the recommendation. --plan lists the candidates only.
    Campaign(Box<CampaignArgs>),
}

/// Options of `gpu-deploy-llm orphans`.
#[derive(Clone, Debug, Args)]
pub struct OrphansArgs {
    /// Destroy every orphan, following each until the broker confirms (exit 1 if one is
    /// not confirmed).
    #[arg(long)]
    pub cleanup: bool,
    #[command(flatten)]
    pub connect: Connect,
    #[command(flatten)]
    pub data: DataDir,
}

/// Options of `gpu-deploy-llm bench`.
#[derive(Clone, Debug, Args)]
pub struct BenchArgs {
    /// The server's base URL, e.g. http://127.0.0.1:8000 (without /v1).
    #[arg(long)]
    pub base_url: String,
    /// The served model name (as its /v1/models lists it).
    #[arg(long)]
    pub model: String,
    /// The environment variable holding the server's API key (never a flag: flags show up
    /// in process lists).
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// What the server costs, USD per hour ($ per 1M tokens, and the search's $ budget).
    #[arg(long)]
    pub price_per_hour: Option<f64>,
    /// What it runs on, e.g. "RTX 4090 x1" (recorded as GPU type and count).
    #[arg(long, default_value = "unknown x1")]
    pub gpu: String,
    /// Prompt length of the synthetic workload, in the model's tokens (calibrated with the
    /// server's own counts when it reports them).
    #[arg(long, default_value_t = 128)]
    pub input_tokens: u32,
    /// Output length asked for, in tokens.
    #[arg(long, default_value_t = 128)]
    pub output_tokens: u32,
    /// Do not send vLLM's ignore_eos/min_tokens (for servers that refuse unknown fields).
    #[arg(long)]
    pub no_exact_output: bool,
    /// A JSON lines file of {"prompt" | "messages", "max_tokens"} instead of synthetic prompts.
    #[arg(long)]
    pub prompt_file: Option<PathBuf>,
    /// A request trace instead of synthetic prompts: a shipped one (chat, rag) or a Mooncake
    /// JSON lines file ({"timestamp", "input_length", "output_length", "hash_ids"}). Its
    /// requests are used in turn at each level; with --replay, sent at their times.
    #[arg(long, conflicts_with = "prompt_file")]
    pub trace: Option<String>,
    /// Send the trace's requests at their arrival times (one phase) instead of levels.
    #[arg(long, requires = "trace")]
    pub replay: bool,
    /// Replay this many times faster than the trace's own clock.
    #[arg(long, default_value_t = 1.0, requires = "replay")]
    pub replay_speed: f64,
    /// Seeds the synthetic and trace prompts (the same seed sends the same prompts).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Concurrency levels, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub concurrency: Vec<u32>,
    /// Requests at each level.
    #[arg(long, default_value_t = 16)]
    pub requests: u32,
    /// Fixed request rates instead of concurrency levels, requests per second, comma
    /// separated.
    #[arg(long, value_delimiter = ',')]
    pub rate: Vec<f64>,
    /// How requests arrive at a fixed rate: poisson (independent users) or constant.
    #[arg(long, default_value = "poisson")]
    pub arrivals: String,
    /// At a fixed rate, the most requests in flight (later ones wait, and their wait counts).
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: u32,
    /// Warm-up requests before measuring (left out of the metrics).
    #[arg(long, default_value_t = 2)]
    pub warmup: u32,
    /// Search the highest concurrency that meets the SLOs instead of fixed levels.
    #[arg(long)]
    pub search: bool,
    /// The search's highest concurrency.
    #[arg(long, default_value_t = 64)]
    pub max_concurrency: u32,
    /// The search's time budget, seconds.
    #[arg(long, default_value_t = 300)]
    pub time_budget_secs: u64,
    /// The search's $ budget (price × time), with --price-per-hour.
    #[arg(long)]
    pub usd_budget: Option<f64>,
    /// SLO: p95 time to first token, ms.
    #[arg(long, default_value_t = 1000.0)]
    pub slo_ttft_p95_ms: f64,
    /// SLO: p95 time per output token, ms.
    #[arg(long, default_value_t = 100.0)]
    pub slo_tpot_p95_ms: f64,
    /// SLO: share of requests that succeed, 0-1.
    #[arg(long, default_value_t = 0.99)]
    pub slo_success: f64,
    /// Print the stored record as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where the result is stored (the dashboard's data directory).
    #[arg(long, env = "GDL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The broker the one-shot commands ask, and how they print.
#[derive(Clone, Debug, Args)]
pub struct Connect {
    /// Base URL of the broker: a real cloud-gpu-shopper, or `gpu-deploy-llm simulate` for a
    /// simulated one. Required (`status` and `sessions` may ask a dashboard with --url
    /// instead).
    #[arg(long, env = "SHOPPER_URL")]
    pub shopper_url: Option<String>,

    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The broker, or a running dashboard to ask instead (`status`, `sessions`).
#[derive(Clone, Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub connect: Connect,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// Options of `gpu-deploy-llm inventory`.
#[derive(Clone, Debug, Args)]
pub struct InventoryArgs {
    /// Only this provider (vastai, tensordock or bluelobster).
    #[arg(long)]
    pub provider: Option<String>,
    /// At least this much VRAM per GPU, GB.
    #[arg(long)]
    pub min_vram: Option<u32>,
    /// At most this price, USD per hour.
    #[arg(long)]
    pub max_price: Option<f64>,
    /// Part of the GPU's name, such as 4090 (case, spaces and dashes ignored).
    #[arg(long)]
    pub gpu_type: Option<String>,
    /// Location (the broker matches part of it).
    #[arg(long)]
    pub location: Option<String>,
    /// At least this reliability, 0 to 1.
    #[arg(long)]
    pub min_reliability: Option<f64>,
    /// At most this many offers shown.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub connect: Connect,
}

/// A session id and the broker.
#[derive(Clone, Debug, Args)]
pub struct SessionArgs {
    /// The session id.
    pub id: String,
    #[command(flatten)]
    pub connect: Connect,
}

/// Options of `gpu-deploy-llm extend`.
#[derive(Clone, Debug, Args)]
pub struct ExtendArgs {
    /// The session id.
    pub id: String,
    /// Hours to add (1 to 12).
    #[arg(long, allow_negative_numbers = true)]
    pub hours: i64,
    #[command(flatten)]
    pub connect: Connect,
}

/// Options of `gpu-deploy-llm costs`.
#[derive(Clone, Debug, Args)]
pub struct CostsArgs {
    /// daily (today) or monthly (this month, the broker's default).
    #[arg(long, value_enum)]
    pub period: Option<BrokerPeriod>,
    #[command(flatten)]
    pub connect: Connect,
}

/// The broker's cost periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BrokerPeriod {
    /// Today.
    Daily,
    /// This month.
    Monthly,
}

impl BrokerPeriod {
    /// The broker's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        }
    }
}

/// Options of `gpu-deploy-llm models`.
#[derive(Clone, Debug, Args)]
pub struct ModelsArgs {
    /// Mark the presets that fit GPUs with this much VRAM each, GB (e.g. 24 for an RTX 4090).
    #[arg(long)]
    pub fits: Option<u32>,
    /// Quantization for the estimate: none, awq, gptq or fp8.
    #[arg(long, default_value = "none")]
    pub quantization: String,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `gpu-deploy-llm engines`.
#[derive(Clone, Debug, Args)]
pub struct EnginesArgs {
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What a bundle decides, so `test --from` refuses it as a flag: the model, what is rented
/// and started, the search and the workload.
fn from_conflicts() -> Vec<&'static str> {
    let mut out = vec!["model", "search", "tune_usd"];
    out.extend(deploy_args::RENTED_AND_STARTED);
    out.extend([
        "input_tokens",
        "output_tokens",
        "trace",
        "seed",
        "ttft_ms",
        "tpot_ms",
    ]);
    out
}

/// Options of `gpu-deploy-llm test`.
#[derive(Clone, Debug, Args)]
pub struct TestArgs {
    /// Model: a preset alias (e.g. qwen2.5-0.5b) or a Hugging Face id (not with --from).
    #[arg(long, required_unless_present = "from")]
    pub model: Option<String>,

    /// Runs a benchmark again from its bundle (downloaded from its page, or
    /// `GET /api/benchmarks/{id}/bundle`): the same test on the same GPU type and count and
    /// provider, whichever offer of them is cheapest now. Beside it only --max-price
    /// (replaces the bundle's), --keep-on-failure, --json and the broker, data and Hub
    /// options are taken; the test's other options are refused.
    #[arg(long, value_name = "FILE", conflicts_with_all = from_conflicts())]
    pub from: Option<PathBuf>,

    #[command(flatten)]
    pub rent: RentArgs,

    /// Leave the instance running if the test fails.
    #[arg(long)]
    pub keep_on_failure: bool,

    /// Benchmark with the SLO capacity search (the highest concurrency within the SLOs, at
    /// most 64 and 5 minutes) instead of the fixed levels.
    #[arg(long)]
    pub search: bool,

    /// After the search, try engine settings one restart at a time on the same rental and
    /// keep the best, spending at most this many USD on it (0.01-100; docker or pip mode).
    #[arg(long, value_name = "USD", requires = "search")]
    pub tune_usd: Option<f64>,

    /// With --tune-usd: at most this many seconds of tuning (60-7200).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = gdl_model::tuning::DEFAULT_TUNE_SECONDS,
        requires = "tune_usd"
    )]
    pub tune_seconds: u32,

    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Print the run and its benchmark as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub broker: BrokerArgs,

    /// The Hugging Face Hub and token (gated and private models).
    #[command(flatten)]
    pub hub: HubSettings,
}

/// Options of `gpu-deploy-llm simulate`.
#[derive(Clone, Debug, Args)]
pub struct SimulateArgs {
    /// Address the simulated broker listens on (the real broker's default port is 8080).
    #[arg(long, env = "GDL_SIM_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Time scale: contract durations are divided by this (1 = realistic timings).
    #[arg(long, env = "GDL_SIM_SPEED", default_value_t = 1.0, value_parser = positive_f64)]
    pub speed: f64,

    /// Seed for the random inventory and outcomes (repeatable runs).
    #[arg(long, env = "GDL_SIM_SEED")]
    pub seed: Option<u64>,

    /// Share of provisionings that fail after the instance is created (0.0–1.0).
    #[arg(long, default_value_t = 0.12)]
    pub failure_rate: f64,
}

#[cfg(test)]
mod tests;
