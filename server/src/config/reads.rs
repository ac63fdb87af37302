//! The options of the commands that read what a dashboard holds: `runs`, `logs` and
//! `benchmarks` (from the data directory's store, or a running dashboard), and
//! [`DashboardArgs`], the running dashboard they (and `status`, `sessions`) may ask instead.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// A running dashboard to ask over its REST API. Its access token comes from `GDL_TOKEN` or
/// a file, never from a flag: command lines show in `ps` to every user of the machine.
#[derive(Clone, Debug, Default, Args)]
pub struct DashboardArgs {
    /// Ask the dashboard running at this URL (e.g. http://127.0.0.1:8081) over its REST API,
    /// instead of the data directory's store or the broker, and show what it shows. Its
    /// access token, if it has one: GDL_TOKEN or --token-file.
    #[arg(long, global = true, env = "GDL_URL", value_name = "URL")]
    pub url: Option<String>,
    /// The dashboard's access token, from the first line of this file (make it readable by
    /// you only); without it, from the GDL_TOKEN environment variable. There is no --token
    /// flag: a command line shows in `ps` to every user of the machine.
    #[arg(long, global = true, env = "GDL_TOKEN_FILE", value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// Where the dashboard's data is, for the commands that read its store without a dashboard.
#[derive(Clone, Debug, Args)]
pub struct DataDir {
    /// The dashboard's data directory (where runs and benchmarks are stored). Default:
    /// $XDG_DATA_HOME/gpu-deploy-llm, else ~/.local/share/gpu-deploy-llm.
    #[arg(long, env = "GDL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Options of `gpu-deploy-llm runs`.
#[derive(Clone, Debug, Args)]
pub struct RunsArgs {
    /// Only runs in this state.
    #[arg(long, value_enum)]
    pub status: Option<RunState>,
    /// Only runs of this model, as it was asked for (a preset alias or a Hugging Face id).
    #[arg(long)]
    pub model: Option<String>,
    /// At most this many runs (1 to 500).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub limit: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// A run's state, as `runs --status` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunState {
    /// In progress.
    Running,
    /// The deployment test went through.
    Passed,
    /// A step failed.
    Failed,
    /// Cancelled by a person or a shutdown.
    Cancelled,
    /// The dashboard stopped during the run.
    Interrupted,
}

/// Options of `gpu-deploy-llm logs`.
#[derive(Clone, Debug, Args)]
pub struct LogsArgs {
    /// The run's id (`gpu-deploy-llm runs` lists them).
    pub run: String,
    /// Keep printing new lines as the run writes them, until it ends.
    #[arg(long)]
    pub follow: bool,
    /// One JSON log line per line instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub dashboard: DashboardArgs,
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
    #[command(flatten)]
    pub dashboard: DashboardArgs,
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
    /// A model across GPUs and providers, in one comparison group (the same workload,
    /// SLOs, quantization and engine): the frontier and the recommendations.
    Compare(CompareArgs),
    /// Every benchmark as CSV (default) or JSON, on stdout.
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportAs,
    },
    /// Import the old Python dashboard's benchmark files (a directory such as
    /// ~/.gpu-deploy-llm/benchmarks, its <id>.json files) into the data directory's store
    /// (not with --url).
    Import { dir: PathBuf },
}

/// How `benchmarks export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportAs {
    /// The Benchmarks tab's columns.
    Csv,
    /// The records as a JSON array.
    Json,
}

/// `benchmarks compare`: the model, and the comparison group to show; each part left out
/// is chosen (the group with the most benchmarks that matches the rest).
#[derive(Clone, Debug, Args)]
pub struct CompareArgs {
    /// A model id or a preset's alias.
    #[arg(long)]
    pub model: String,
    /// The workload as benchmarks record it (`synthetic 512 in / 128 out`).
    #[arg(long)]
    pub workload: Option<String>,
    /// The SLOs as `ttft<ms>-tpot<ms>` (`ttft1000-tpot100`), `-ok<percent>` appended when
    /// other than 99 % of requests had to succeed.
    #[arg(long)]
    pub slo: Option<String>,
    /// `none`, `awq`, `gptq`, `fp8` or `unknown`.
    #[arg(long)]
    pub quantization: Option<String>,
    /// `vllm` or `sglang`.
    #[arg(long, value_parser = |s: &str| gdl_model::engines::Engine::parse(s).ok_or("vllm or sglang"))]
    pub engine: Option<gdl_model::engines::Engine>,
    /// Only benchmarks run with these engine settings (their summary, or `default`).
    #[arg(long)]
    pub settings: Option<String>,
}

impl CompareArgs {
    /// The same query the Compare page's URL carries.
    pub fn query(&self) -> gdl_model::compare::CompareQuery {
        gdl_model::compare::CompareQuery {
            model: Some(self.model.clone()),
            engine: self.engine,
            settings: self.settings.clone(),
            workload: self.workload.clone(),
            slo: self.slo.clone(),
            quantization: self.quantization.clone(),
        }
    }
}
