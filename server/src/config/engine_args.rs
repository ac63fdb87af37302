//! `gpu-deploy-llm test`'s engine flags: which engine and version, and its settings, as the
//! form and `POST /api/runs` take them (`TestConfig::engine`, `engine_version`, `settings`).

use clap::{Args, ValueEnum};
use gdl_model::engines::{Dtype, Engine, EngineSettings, KvCacheDtype};

/// The engine, its version and its settings.
#[derive(Clone, Debug, Default, Args)]
pub struct EngineArgs {
    /// The inference engine: vllm or sglang (SGLang runs in the docker mode).
    #[arg(long, default_value = "vllm")]
    pub engine: String,

    /// The engine's release, e.g. 0.31.0 (`gpu-deploy-llm engines` lists them); the
    /// catalogue's default when left out.
    #[arg(long)]
    pub engine_version: Option<String>,

    /// Context length in tokens (vLLM --max-model-len, SGLang --context-length).
    #[arg(long)]
    pub max_model_len: Option<u32>,

    /// Most sequences served at once (vLLM --max-num-seqs, SGLang --max-running-requests).
    #[arg(long)]
    pub max_num_seqs: Option<u32>,

    /// Share of each GPU's memory the engine takes, 0.10-0.99 (0.90 when left out).
    #[arg(long)]
    pub gpu_memory_utilization: Option<f64>,

    /// Copies of the model served side by side, dividing --gpu-count (vLLM
    /// --data-parallel-size, SGLang --dp-size); each is split over its share of the GPUs.
    #[arg(long)]
    pub data_parallel_size: Option<u32>,

    /// Weight precision.
    #[arg(long, value_enum, default_value_t = DtypeArg::Auto)]
    pub dtype: DtypeArg,

    /// KV-cache precision.
    #[arg(long, value_enum, default_value_t = KvArg::Auto)]
    pub kv_cache_dtype: KvArg,

    /// Prefix caching on or off (the engine's default, on, when left out).
    #[arg(long, value_parser = ["on", "off"])]
    pub prefix_caching: Option<String>,

    /// No CUDA graphs: less memory, slower decoding.
    #[arg(long)]
    pub enforce_eager: bool,

    /// Run the model repository's own code on the host: only for repositories you trust.
    #[arg(long)]
    pub trust_remote_code: bool,

    /// One more engine flag, --name or --name=value, from the engine's known flags
    /// (repeat it for more; at most 12).
    #[arg(long = "engine-flag", allow_hyphen_values = true)]
    pub engine_flags: Vec<String>,
}

/// `--dtype`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DtypeArg {
    #[default]
    Auto,
    Half,
    Bfloat16,
}

/// `--kv-cache-dtype`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum KvArg {
    #[default]
    Auto,
    Fp8,
}

impl EngineArgs {
    /// The engine, version and settings; an unknown engine is the error. The rest is
    /// checked where every run is (`runner::validate`).
    pub fn resolve(&self) -> Result<(Engine, Option<String>, EngineSettings), String> {
        let engine = Engine::parse(&self.engine).ok_or_else(|| {
            format!(
                "--engine must be vllm or sglang, not {:?}",
                self.engine.trim()
            )
        })?;
        let settings = EngineSettings {
            max_model_len: self.max_model_len,
            max_num_seqs: self.max_num_seqs,
            gpu_memory_utilization: self.gpu_memory_utilization,
            data_parallel_size: self.data_parallel_size,
            dtype: match self.dtype {
                DtypeArg::Auto => Dtype::Auto,
                DtypeArg::Half => Dtype::Half,
                DtypeArg::Bfloat16 => Dtype::Bfloat16,
            },
            kv_cache_dtype: match self.kv_cache_dtype {
                KvArg::Auto => KvCacheDtype::Auto,
                KvArg::Fp8 => KvCacheDtype::Fp8,
            },
            prefix_caching: self.prefix_caching.as_deref().map(|v| v == "on"),
            enforce_eager: self.enforce_eager,
            trust_remote_code: self.trust_remote_code,
            extra_flags: self.engine_flags.clone(),
        };
        Ok((engine, self.engine_version.clone(), settings))
    }
}
