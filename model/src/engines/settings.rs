//! Engine settings a person may set on a run (the form, `POST /api/runs`, the CLI's flags):
//! context length, concurrent sequences, GPU memory share, dtype, KV-cache dtype, prefix
//! caching, eager mode, trust-remote-code and a bounded list of extra flags, each checked
//! here and turned into the engine's own flags by [`EngineSettings::flags`]. Values are
//! returned as separate words: the runner quotes every one (no shell ever sees them raw).
//!
//! Flag names: vLLM's `vllm serve --help` (engine arguments, docs.vllm.ai "Engine Arguments")
//! and SGLang's `python -m sglang.launch_server --help` (docs.sglang.io "Server Arguments").

use super::Engine;
use serde::{Deserialize, Serialize};

mod extra;
use extra::check_extra;
pub use extra::known_flags;

/// The most extra flags a run may pass.
pub const MAX_EXTRA_FLAGS: usize = 12;

/// Weight and activation precision (`--dtype`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    /// The checkpoint's own precision; below compute capability 8.0 (no bf16) the runner
    /// passes `half` instead, as the engines themselves advise.
    #[default]
    Auto,
    /// FP16 (`half`): runs on every supported GPU.
    Half,
    /// BF16: needs compute capability 8.0 (Ampere) or newer.
    Bfloat16,
}

impl Dtype {
    /// Every choice, for forms.
    pub const ALL: [Dtype; 3] = [Self::Auto, Self::Half, Self::Bfloat16];

    /// The wire and flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Half => "half",
            Self::Bfloat16 => "bfloat16",
        }
    }
}

/// KV-cache precision (`--kv-cache-dtype`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KvCacheDtype {
    /// The model's dtype.
    #[default]
    Auto,
    /// FP8 (E4M3): about twice the cache in the same memory, at a small accuracy cost.
    Fp8,
}

impl KvCacheDtype {
    /// Every choice, for forms.
    pub const ALL: [KvCacheDtype; 2] = [Self::Auto, Self::Fp8];

    /// The wire spelling (`auto`, `fp8`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Fp8 => "fp8",
        }
    }

    /// The value each engine's flag takes.
    fn flag_value(self, engine: Engine) -> &'static str {
        match (self, engine) {
            (Self::Auto, _) => "auto",
            (Self::Fp8, Engine::Vllm) => "fp8",
            (Self::Fp8, Engine::Sglang) => "fp8_e4m3",
        }
    }
}

/// How the engine is started, beyond the model: every field optional, the engine's default
/// when absent.
///
/// # Examples
///
/// ```
/// use gdl_model::engines::{Engine, EngineSettings};
///
/// let s: EngineSettings = serde_json::from_str(
///     r#"{"max_model_len":8192,"prefix_caching":false,"extra_flags":["--seed=7"]}"#,
/// )?;
/// s.check(Engine::Vllm).unwrap();
/// assert_eq!(
///     s.flags(Engine::Vllm, 1).join(" "),
///     "--max-model-len 8192 --gpu-memory-utilization 0.9 --no-enable-prefix-caching --seed=7"
/// );
/// assert_eq!(
///     s.flags(Engine::Sglang, 2).join(" "),
///     "--context-length 8192 --mem-fraction-static 0.9 --disable-radix-cache --tp-size 2 --seed=7"
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// Context length in tokens (vLLM `--max-model-len`, SGLang `--context-length`),
    /// 256–1,048,576; the model's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_model_len: Option<u32>,
    /// Most sequences served at once (vLLM `--max-num-seqs`, SGLang
    /// `--max-running-requests`), 1–4,096.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_num_seqs: Option<u32>,
    /// Share of each GPU's memory the engine may take, 0.10–0.99 (0.90 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_utilization: Option<f64>,
    /// Copies of the model served side by side on the run's GPUs (vLLM
    /// `--data-parallel-size`, SGLang `--dp-size`), 1–8, dividing the run's GPU count: each
    /// copy is split over `gpu_count / data_parallel_size` GPUs (tensor parallel). One copy
    /// over all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_parallel_size: Option<u32>,
    /// `auto`, `half` or `bfloat16`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub dtype: Dtype,
    /// `auto` or `fp8`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub kv_cache_dtype: KvCacheDtype,
    /// Prefix caching on or off; the engine's default (on in both) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_caching: Option<bool>,
    /// No CUDA graphs (vLLM `--enforce-eager`, SGLang `--disable-cuda-graph`): less memory,
    /// slower decoding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enforce_eager: bool,
    /// Run the model repository's own Python code. It runs with the engine's rights on
    /// the rented host: only for repositories you trust.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trust_remote_code: bool,
    /// More engine flags, each `--flag` or `--flag=value`, from the engine's known flags
    /// ([`known_flags`]), at most [`MAX_EXTRA_FLAGS`]. A form sends them as one text,
    /// one flag a line (blank lines dropped).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_flags"
    )]
    pub extra_flags: Vec<String>,
}

/// A list of flags, or one text with a flag on each line (a form's textarea).
fn de_flags<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flags {
        List(Vec<String>),
        Lines(String),
    }
    Ok(match Flags::deserialize(d)? {
        Flags::List(list) => list,
        Flags::Lines(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// A setting that cannot be used, with the field it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    /// The field (`max_model_len`, `extra_flags`...).
    pub field: &'static str,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl EngineSettings {
    /// The GPU memory share used when none is set.
    pub const DEFAULT_GPU_MEMORY_UTILIZATION: f64 = 0.90;

    /// Checks every field for `engine`: the first problem is the error.
    pub fn check(&self, engine: Engine) -> Result<(), SettingsError> {
        let wrong = |field, message: String| Err(SettingsError { field, message });
        if let Some(n) = self.max_model_len {
            if !(256..=1_048_576).contains(&n) {
                return wrong(
                    "max_model_len",
                    format!("must be 256 to 1,048,576 tokens, got {n}"),
                );
            }
        }
        if let Some(n) = self.max_num_seqs {
            if !(1..=4096).contains(&n) {
                return wrong("max_num_seqs", format!("must be 1 to 4,096, got {n}"));
            }
        }
        if let Some(u) = self.gpu_memory_utilization {
            if !(u.is_finite() && (0.10..=0.99).contains(&u)) {
                return wrong(
                    "gpu_memory_utilization",
                    format!("must be 0.10 to 0.99, got {u}"),
                );
            }
        }
        if let Some(n) = self.data_parallel_size {
            if !(1..=8).contains(&n) {
                return wrong("data_parallel_size", format!("must be 1 to 8, got {n}"));
            }
        }
        if self.extra_flags.len() > MAX_EXTRA_FLAGS {
            return wrong(
                "extra_flags",
                format!(
                    "at most {MAX_EXTRA_FLAGS} flags, got {}",
                    self.extra_flags.len()
                ),
            );
        }
        for flag in &self.extra_flags {
            check_extra(engine, flag).map_err(|message| SettingsError {
                field: "extra_flags",
                message,
            })?;
        }
        Ok(())
    }

    /// The GPU memory share the engine is started with.
    pub fn memory_share(&self) -> f64 {
        self.gpu_memory_utilization
            .unwrap_or(Self::DEFAULT_GPU_MEMORY_UTILIZATION)
    }

    /// Whether these settings can run on `gpus` GPUs: the copies served side by side divide
    /// them (none asked: always).
    pub fn fits_gpu_count(&self, gpus: u32) -> Result<(), SettingsError> {
        let copies = self.copies();
        if !gpus.max(1).is_multiple_of(copies) {
            return Err(SettingsError {
                field: "data_parallel_size",
                message: format!(
                    "{copies} copies of the model do not divide {gpus} GPU(s): use a data_parallel_size that divides gpu_count"
                ),
            });
        }
        Ok(())
    }

    /// Copies of the model served side by side (1 when none are asked).
    pub fn copies(&self) -> u32 {
        self.data_parallel_size.unwrap_or(1).max(1)
    }

    /// The GPUs each copy is split over on `gpus` GPUs (at least one; the split rounds
    /// down where the copies do not divide them, which [`Self::fits_gpu_count`] refuses).
    pub fn gpus_per_copy(&self, gpus: u32) -> u32 {
        (gpus / self.copies()).max(1)
    }

    /// The engine's flags for these settings on `gpus` GPUs, as separate words, unquoted:
    /// each copy of the model (one unless [`Self::data_parallel_size`] says) is split over
    /// its share of the GPUs (tensor parallelism above one); `dtype` `auto` adds nothing
    /// (the runner decides `half` below Ampere). Settings whose copies do not divide `gpus`
    /// are refused before (`fits_gpu_count`); here the split rounds down.
    pub fn flags(&self, engine: Engine, gpus: u32) -> Vec<String> {
        let vllm = engine == Engine::Vllm;
        let mut out: Vec<String> = Vec::new();
        let mut flag = |name: &str, value: Option<String>| {
            out.push(name.to_owned());
            out.extend(value);
        };
        if let Some(n) = self.max_model_len {
            let name = if vllm {
                "--max-model-len"
            } else {
                "--context-length"
            };
            flag(name, Some(n.to_string()));
        }
        if let Some(n) = self.max_num_seqs {
            let name = if vllm {
                "--max-num-seqs"
            } else {
                "--max-running-requests"
            };
            flag(name, Some(n.to_string()));
        }
        let share = if vllm {
            "--gpu-memory-utilization"
        } else {
            "--mem-fraction-static"
        };
        flag(share, Some(format!("{}", self.memory_share())));
        if self.dtype != Dtype::Auto {
            flag("--dtype", Some(self.dtype.as_str().to_owned()));
        }
        if self.kv_cache_dtype != KvCacheDtype::Auto {
            flag(
                "--kv-cache-dtype",
                Some(self.kv_cache_dtype.flag_value(engine).to_owned()),
            );
        }
        match (self.prefix_caching, vllm) {
            (Some(true), true) => flag("--enable-prefix-caching", None),
            (Some(false), true) => flag("--no-enable-prefix-caching", None),
            (Some(false), false) => flag("--disable-radix-cache", None),
            _ => {}
        }
        if self.enforce_eager {
            let name = if vllm {
                "--enforce-eager"
            } else {
                "--disable-cuda-graph"
            };
            flag(name, None);
        }
        if self.trust_remote_code {
            flag("--trust-remote-code", None);
        }
        let copies = self.copies();
        let split = self.gpus_per_copy(gpus);
        if split > 1 {
            let name = if vllm {
                "--tensor-parallel-size"
            } else {
                "--tp-size"
            };
            flag(name, Some(split.to_string()));
        }
        if copies > 1 {
            let name = if vllm {
                "--data-parallel-size"
            } else {
                "--dp-size"
            };
            flag(name, Some(copies.to_string()));
        }
        out.extend(self.extra_flags.iter().map(|f| f.trim().to_owned()));
        out
    }

    /// One line for a run's page and a benchmark's configuration: only what differs from
    /// the engine's defaults (`context 8,192 · prefix caching off`), empty when nothing does.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.max_model_len {
            parts.push(format!("context {}", thousands(n)));
        }
        if let Some(n) = self.max_num_seqs {
            parts.push(format!("max {} sequences", thousands(n)));
        }
        if let Some(u) = self.gpu_memory_utilization {
            parts.push(format!("GPU memory {:.0}%", u * 100.0));
        }
        if let Some(n) = self.data_parallel_size {
            parts.push(match n {
                1 => "one copy".to_owned(),
                n => format!("{n} copies (data parallel)"),
            });
        }
        if self.dtype != Dtype::Auto {
            parts.push(format!("dtype {}", self.dtype.as_str()));
        }
        if self.kv_cache_dtype != KvCacheDtype::Auto {
            parts.push(format!("KV cache {}", self.kv_cache_dtype.as_str()));
        }
        match self.prefix_caching {
            Some(true) => parts.push("prefix caching on".into()),
            Some(false) => parts.push("prefix caching off".into()),
            None => {}
        }
        if self.enforce_eager {
            parts.push("eager".into());
        }
        if self.trust_remote_code {
            parts.push("trusts remote code".into());
        }
        parts.extend(self.extra_flags.iter().cloned());
        parts.join(" · ")
    }
}

/// `8,192`.
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
