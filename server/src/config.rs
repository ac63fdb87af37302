//! The command line: `serve`, `simulate` and `test`, each flag with an environment
//! fallback.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

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
    Serve(ServeArgs),
    /// Run only the broker simulator: the cloud-gpu-shopper HTTP API with simulated
    /// providers, for any client to use.
    Simulate(SimulateArgs),
    /// Run one deployment test headless (the dashboard's 11 steps) and print the result.
    /// Uses the embedded simulator unless a broker URL is given.
    Test(TestArgs),
    /// Whether the broker is ready, and if not why and what to do (exit 1 when not).
    Status(Connect),
    /// Offers from every provider, cheapest first, filtered.
    Inventory(InventoryArgs),
    /// Our sessions on the broker, active first.
    Sessions(Connect),
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
    /// Benchmark any OpenAI-compatible streaming server (vLLM, llama.cpp's server, SGLang,
    /// TGI) and store the result like a test's, marked external.
    Bench(BenchArgs),
    /// Stored benchmarks: list, show one, compare a model across GPUs, export, import the
    /// old Python dashboard's files.
    Benchmarks(BenchmarksArgs),
}

/// Options of `gpu-deploy-llm benchmarks`.
#[derive(Clone, Debug, Args)]
pub struct BenchmarksArgs {
    #[command(subcommand)]
    pub action: BenchmarksAction,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// The dashboard's data directory (where benchmarks are stored).
    #[arg(long, global = true, env = "GDL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// What `benchmarks` does.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum BenchmarksAction {
    /// The newest benchmarks.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One benchmark, whole.
    Show { id: String },
    /// A model across GPUs and providers: the frontier and the recommendations.
    Compare {
        #[arg(long)]
        model: String,
    },
    /// Every benchmark as CSV (default) or JSON, on stdout.
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Import the old Python dashboard's benchmark files (a directory such as
    /// ~/.gpu-deploy-llm/benchmarks, its <id>.json files).
    Import { dir: PathBuf },
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
    /// Prompt length of the synthetic workload, in tokens (about one word each).
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
    /// Base URL of the broker (a real one, or `gpu-deploy-llm simulate`). Unset: an
    /// embedded simulator answers (fresh, with no sessions).
    #[arg(long, env = "SHOPPER_URL")]
    pub shopper_url: Option<String>,

    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
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
    /// GPU type (the broker matches part of the name).
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
    #[arg(long)]
    pub period: Option<String>,
    #[command(flatten)]
    pub connect: Connect,
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

/// Options of `gpu-deploy-llm test`.
#[derive(Clone, Debug, Args)]
pub struct TestArgs {
    /// Model: a preset alias (e.g. qwen2.5-0.5b) or a Hugging Face id.
    #[arg(long)]
    pub model: String,

    /// Highest price accepted, USD per hour.
    #[arg(long)]
    pub max_price: f64,

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

    /// Leave the instance running if the test fails.
    #[arg(long)]
    pub keep_on_failure: bool,

    /// How vLLM is started: docker (our container over SSH), pip (installed over SSH) or
    /// entrypoint (the broker starts the vLLM container; Vast.ai, one GPU).
    #[arg(long, default_value = "docker")]
    pub deploy_mode: String,

    /// Rent this offer (an id from `inventory`); the next-best one when it is gone.
    #[arg(long)]
    pub offer: Option<String>,

    /// Benchmark with the SLO capacity search (the highest concurrency within the default
    /// SLOs, at most 64 and 5 minutes) instead of the fixed levels.
    #[arg(long)]
    pub search: bool,

    /// Print the run and its benchmark as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Which broker to use and where to keep data: shared by `serve` and `test`.
#[derive(Clone, Debug, Args)]
pub struct BrokerArgs {
    /// Base URL of a real cloud-gpu-shopper broker (e.g. http://127.0.0.1:8080). Unset:
    /// the embedded simulator runs in this process and nothing is rented for real.
    #[arg(long, env = "SHOPPER_URL")]
    pub shopper_url: Option<String>,

    /// Time scale of the embedded simulator (10 = ten times faster than real brokers).
    /// Ignored with --shopper-url.
    #[arg(long, env = "GDL_SIM_SPEED", default_value_t = 10.0, value_parser = positive_f64)]
    pub sim_speed: f64,

    /// Share of the embedded simulator's provisionings that fail after the instance is
    /// created (0.0-1.0), as real clouds' sometimes do.
    #[arg(long, env = "GDL_SIM_FAILURE_RATE", default_value_t = 0.12)]
    pub sim_failure_rate: f64,

    /// Accept SSH addresses on loopback or private networks from the broker. Needed for a
    /// simulator on this machine (`gpu-deploy-llm simulate`); never for a real cloud, whose
    /// hosts are public. The embedded simulator needs no flag.
    #[arg(long, env = "GDL_ALLOW_PRIVATE_HOSTS")]
    pub allow_private_hosts: bool,

    /// Directory for the dashboard's data (SQLite database). Default:
    /// $XDG_DATA_HOME/gpu-deploy-llm, else ~/.local/share/gpu-deploy-llm.
    #[arg(long, env = "GDL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Options of `gpu-deploy-llm serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address the dashboard listens on.
    #[arg(long, env = "GDL_ADDR", default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Directory holding the built site (`pkg/` with the wasm, JS and CSS). cargo-leptos
    /// writes it to target/site; the default works when started from the repository root.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Seconds to wait for the broker to become ready before giving up on an operation
    /// that needs it (one value, used everywhere).
    #[arg(long, env = "GDL_READY_TIMEOUT", default_value_t = 120)]
    pub ready_timeout: u64,

    /// Seconds before an ordinary broker request times out.
    #[arg(long, env = "GDL_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,

    /// The longest (ms) a page or REST answer waits on the broker; then it answers with what
    /// is known (the last status, sessions and offers, with their age).
    #[arg(long, env = "GDL_BROKER_PATIENCE_MS", default_value_t = 800)]
    pub broker_patience_ms: u64,

    /// Broker failures in a row (nothing answered, a timeout, a 5xx, a reply that is not
    /// the API) that open the circuit breaker: calls then fail at once with
    /// `shopper_unreachable` until a probe (0: never open).
    #[arg(long, env = "GDL_BREAKER_FAILURES", default_value_t = 5)]
    pub breaker_failures: u32,

    /// Seconds the circuit breaker stays open before it lets a probe call through.
    #[arg(long, env = "GDL_BREAKER_OPEN_SECS", default_value_t = 10.0)]
    pub breaker_open_secs: f64,

    /// Successful probe calls in a row that close the circuit breaker again.
    #[arg(long, env = "GDL_BREAKER_PROBES", default_value_t = 1)]
    pub breaker_probes: u32,

    /// Access token. Required to listen on anything but loopback; then pages need a login
    /// and programs `Authorization: Bearer <token>`.
    #[arg(long, env = "GDL_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,

    /// An origin (scheme://host[:port]) allowed to embed the dashboard and call it, besides
    /// its own. Repeat, or comma-separate in the environment variable.
    #[arg(
        long = "allow-origin",
        env = "GDL_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// A host name (or address) the dashboard answers to besides 127.0.0.1, localhost and
    /// [::1], e.g. when it listens beyond loopback. Requests for any other name are refused
    /// (421), which stops DNS-rebinding pages. Repeat or separate with commas.
    #[arg(long = "allow-host", env = "GDL_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Hours a login (with --auth-token) lasts before the token is asked again.
    #[arg(long, env = "GDL_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u64,

    /// Deployment-test runs allowed at the same time.
    #[arg(long, env = "GDL_MAX_RUNS", default_value_t = 1)]
    pub max_runs: usize,

    /// Seconds cleanup keeps asking the broker to confirm a destroy (retrying with backoff)
    /// before it reports the session as not confirmed destroyed.
    #[arg(long, env = "GDL_DESTROY_PATIENCE", default_value_t = 600)]
    pub destroy_patience: u64,

    /// Sessions one run may rent in all: when the provider fails to start a machine, the run
    /// destroys it and rents the next-best offer, up to this many times.
    #[arg(long, env = "GDL_MAX_RENTALS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_rentals: u32,

    /// Minutes the broker may take to verify a new machine's SSH before it gives up
    /// (`ssh_timeout_minutes`, 1–30; the broker's own default is 10, and its stuck check
    /// ends any session still provisioning 10 minutes after creation).
    #[arg(long, env = "GDL_SSH_TIMEOUT_MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub ssh_timeout_minutes: u32,

    /// The most disk (GB) a run may ask for. Each rental asks for the model's weights, the
    /// vLLM image and headroom; when the broker answers that more is needed, the run asks
    /// again once at the broker's recommendation if it is within this limit.
    #[arg(long, env = "GDL_MAX_DISK_GB", default_value_t = 500, value_parser = clap::value_parser!(u32).range(20..=10000))]
    pub max_disk_gb: u32,

    /// Benchmark: streamed requests per load phase.
    #[arg(long, env = "GDL_BENCH_REQUESTS", default_value_t = 12)]
    pub bench_requests: u32,

    /// Benchmark: concurrency of each load phase, comma separated (start with 1).
    #[arg(
        long,
        env = "GDL_BENCH_CONCURRENCY",
        default_value = "1,4",
        value_delimiter = ','
    )]
    pub bench_concurrency: Vec<u32>,

    /// Benchmark: output tokens per load request.
    #[arg(long, env = "GDL_BENCH_MAX_TOKENS", default_value_t = 96)]
    pub bench_max_tokens: u32,

    /// Enable test-only endpoints (/_test/*), used by the browser tests. Never in production.
    #[arg(long, env = "GDL_TEST_HOOKS")]
    pub test_hooks: bool,
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

fn positive_f64(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("expected a positive number, got {text:?}")),
    }
}

impl BrokerArgs {
    /// The data directory to use: the flag, else the XDG default.
    pub fn resolved_data_dir(&self) -> PathBuf {
        data_dir_or_default(self.data_dir.as_ref())
    }
}

/// `dir`, else $XDG_DATA_HOME/gpu-deploy-llm, else ~/.local/share/gpu-deploy-llm.
pub fn data_dir_or_default(dir: Option<&PathBuf>) -> PathBuf {
    if let Some(dir) = dir {
        return dir.clone();
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("gpu-deploy-llm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_defaults_and_flags() {
        let cli = Cli::try_parse_from(["gpu-deploy-llm", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.addr.to_string(), "127.0.0.1:8081");
        assert_eq!(args.ready_timeout, 120);
        let cli = Cli::try_parse_from([
            "gpu-deploy-llm",
            "serve",
            "--addr",
            "127.0.0.1:9999",
            "--shopper-url",
            "http://127.0.0.1:8080",
            "--data-dir",
            "/tmp/x",
            "--sim-speed",
            "50",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(
            args.broker.shopper_url.as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(args.broker.resolved_data_dir(), PathBuf::from("/tmp/x"));
        assert_eq!(args.broker.sim_speed, 50.0);
    }

    #[test]
    fn bad_speed_is_refused() {
        let err = Cli::try_parse_from(["gpu-deploy-llm", "simulate", "--speed", "0"]).unwrap_err();
        assert!(err.to_string().contains("expected a positive number"));
    }
}
