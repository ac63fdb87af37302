//! The model registry: presets with aliases, a VRAM estimate from parameter count and
//! dtype plus KV-cache and runtime overhead, and quantization choices mapped to real
//! pre-quantized checkpoints (or refused with a clear error).
//!
//! Model ids are validated before anything else, so a shell metacharacter can never reach
//! the remote host's shell.
//!
//! # Examples
//!
//! ```
//! use gdl_model::registry::{resolve, Quantization};
//!
//! // A preset by alias, served from its pre-quantized AWQ checkpoint.
//! let m = resolve("qwen2.5-7b", Quantization::Awq)?;
//! assert_eq!(m.model, "Qwen/Qwen2.5-7B-Instruct");
//! assert_eq!(m.served_repo, "Qwen/Qwen2.5-7B-Instruct-AWQ");
//! assert_eq!(m.vram_gb, 7);
//!
//! // Any Hugging Face id whose name gives its size.
//! let other = resolve("someorg/Cool-Model-13B-Chat", Quantization::None)?;
//! assert_eq!(other.params_b, 13.0);
//!
//! // Refused before anything else: not a safe repository id.
//! let e = resolve("Qwen/Qwen2.5-1.5B; rm -rf /", Quantization::None).unwrap_err();
//! assert_eq!(e.code().as_str(), "invalid_model_id");
//! # Ok::<(), gdl_model::registry::ModelError>(())
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

mod error;
pub mod kv_cache;
mod presets;
pub use error::ModelError;
pub use presets::PRESETS;

/// How the weights are stored when served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// 16-bit weights (FP16/BF16) as published.
    None,
    /// 4-bit AWQ checkpoint.
    Awq,
    /// 4-bit GPTQ checkpoint.
    Gptq,
    /// 8-bit floating point, quantized by vLLM at load time (Ada/Hopper GPUs).
    Fp8,
}

impl Quantization {
    /// Every choice, for forms.
    pub const ALL: [Quantization; 4] = [Self::None, Self::Awq, Self::Gptq, Self::Fp8];

    /// Bytes per parameter, scales included.
    pub fn bytes_per_param(self) -> f64 {
        match self {
            Self::None => 2.0,
            Self::Fp8 => 1.0,
            Self::Awq | Self::Gptq => 0.5625,
        }
    }

    /// The wire name (`none`, `awq`, `gptq`, `fp8`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Awq => "awq",
            Self::Gptq => "gptq",
            Self::Fp8 => "fp8",
        }
    }

    /// What people read.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "FP16 / BF16",
            Self::Awq => "AWQ 4-bit",
            Self::Gptq => "GPTQ 4-bit",
            Self::Fp8 => "FP8 (at load time)",
        }
    }

    /// Parses a wire name (case-insensitive; `fp16`/`bf16` mean none).
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::registry::Quantization;
    ///
    /// assert_eq!(Quantization::parse("AWQ"), Some(Quantization::Awq));
    /// assert_eq!(Quantization::parse("bf16"), Some(Quantization::None));
    /// assert_eq!(Quantization::parse("int3"), None);
    /// assert_eq!(serde_json::to_string(&Quantization::Fp8).unwrap(), r#""fp8""#);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "fp16" | "bf16" => Some(Self::None),
            "awq" => Some(Self::Awq),
            "gptq" => Some(Self::Gptq),
            "fp8" => Some(Self::Fp8),
            _ => None,
        }
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model the dashboard knows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preset {
    /// The Hugging Face repository id.
    pub id: &'static str,
    /// The name people read, such as `Qwen2.5 7B Instruct`.
    pub name: &'static str,
    /// Parameters, in billions.
    pub params_b: f64,
    /// Short names, matched case-insensitively.
    pub aliases: &'static [&'static str],
    /// Pre-quantized checkpoints: (quantization, repository id).
    pub quantized: &'static [(Quantization, &'static str)],
    /// The repository needs an accepted licence and a Hugging Face token.
    pub gated: bool,
    /// One line on what the model is good for.
    pub description: &'static str,
}

/// A model request resolved to what will be served, with its VRAM need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolvedModel {
    /// The id the person asked for (after alias lookup: the base repository).
    pub model: String,
    /// The preset's name, or the last part of the id for another model.
    pub name: String,
    /// The repository vLLM loads (a pre-quantized one for AWQ/GPTQ).
    pub served_repo: String,
    /// How the weights are served.
    pub quantization: Quantization,
    /// Parameters, in billions (read from the name for a model that is no preset).
    pub params_b: f64,
    /// The repository needs an accepted licence and a Hugging Face token (presets only;
    /// false for other ids).
    pub gated: bool,
    /// Weights, GB.
    pub weights_gb: f64,
    /// KV cache, activations and CUDA context, GB.
    pub overhead_gb: f64,
    /// Weights plus overhead, rounded up to a whole GB: the VRAM one GPU needs.
    pub vram_gb: u32,
}

impl ResolvedModel {
    /// The VRAM each of `gpus` GPUs needs when vLLM splits the model across them (tensor
    /// parallel): the weights and KV cache divided, the CUDA context (1 GB) on every GPU.
    /// One GPU needs [`ResolvedModel::vram_gb`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::registry::{resolve, Quantization};
    ///
    /// let m = resolve("qwen2.5-7b", Quantization::None)?; // 15.2 GB weights + 4.8 GB
    /// assert_eq!(m.vram_per_gpu(1), 21);
    /// assert_eq!(m.vram_per_gpu(2), 11); // (20.0 - 1) / 2 + 1, rounded up
    /// assert!(m.fits(2, 12, 2));
    /// assert!(!m.fits(2, 12, 1), "two GPUs asked, one offered");
    /// # Ok::<(), gdl_model::registry::ModelError>(())
    /// ```
    pub fn vram_per_gpu(&self, gpus: u32) -> u32 {
        let gpus = gpus.max(1);
        if gpus == 1 {
            return self.vram_gb;
        }
        let shared = self.weights_gb + self.overhead_gb - CUDA_CONTEXT_GB;
        (shared / gpus as f64 + CUDA_CONTEXT_GB).ceil() as u32
    }

    /// Whether an offer of `gpu_count` GPUs with `vram_gb` each can serve this model on
    /// `gpus` of them: the same test the deployment test's inventory step applies.
    pub fn fits(&self, gpus: u32, offer_vram_gb: u32, offer_gpu_count: u32) -> bool {
        offer_gpu_count >= gpus.max(1) && offer_vram_gb >= self.vram_per_gpu(gpus)
    }
}

/// The CUDA context each GPU holds, GB.
const CUDA_CONTEXT_GB: f64 = 1.0;

/// Whether `id` is a safe repository id: `owner/name` with `[A-Za-z0-9._-]`, 1–96 chars each,
/// no `..`. Everything else (spaces, quotes, `;`, `$`, backticks, …) is refused.
///
/// # Examples
///
/// ```
/// use gdl_model::registry::is_valid_repo_id;
///
/// assert!(is_valid_repo_id("Qwen/Qwen2.5-0.5B-Instruct"));
/// assert!(!is_valid_repo_id("Qwen/$(reboot)"));
/// assert!(!is_valid_repo_id("../../etc/passwd"));
/// assert!(!is_valid_repo_id("justname"));
/// ```
pub fn is_valid_repo_id(id: &str) -> bool {
    let Some((owner, name)) = id.split_once('/') else {
        return false;
    };
    let part_ok = |p: &str| {
        (1..=96).contains(&p.len())
            && !p.starts_with(['.', '-'])
            && !p.contains("..")
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    part_ok(owner) && part_ok(name)
}

/// Finds a preset by id or alias (case-insensitive).
///
/// # Examples
///
/// ```
/// use gdl_model::registry::find_preset;
///
/// let p = find_preset("MISTRAL").unwrap();
/// assert_eq!(p.id, "mistralai/Mistral-7B-Instruct-v0.2");
/// assert_eq!(find_preset("qwen/qwen2.5-7b-instruct").unwrap().name, "Qwen2.5 7B Instruct");
/// assert!(find_preset("gpt-5").is_none());
/// ```
pub fn find_preset(text: &str) -> Option<&'static Preset> {
    let wanted = text.trim();
    PRESETS.iter().find(|p| {
        p.id.eq_ignore_ascii_case(wanted)
            || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(wanted))
    })
}

/// Reads a parameter count from a repository name: `-7B`, `_1.5b`, `-0.5B-`, `8x7B` (→ 56).
///
/// In billions; `None` when the name gives no size.
///
/// # Examples
///
/// ```
/// use gdl_model::registry::params_from_name;
///
/// assert_eq!(params_from_name("Qwen/Qwen2.5-0.5B-Instruct"), Some(0.5));
/// assert_eq!(params_from_name("mistralai/Mixtral-8x7B-Instruct-v0.1"), Some(56.0));
/// assert_eq!(params_from_name("google-bert/bert-base-uncased"), None);
/// ```
pub fn params_from_name(id: &str) -> Option<f64> {
    let name = id.rsplit('/').next()?.to_ascii_lowercase();
    let bytes: Vec<char> = name.chars().collect();
    for (i, c) in bytes.iter().enumerate() {
        if *c != 'b' || i == 0 {
            continue;
        }
        let after_ok = bytes.get(i + 1).is_none_or(|n| !n.is_ascii_alphanumeric());
        let mut start = i;
        while start > 0
            && (bytes[start - 1].is_ascii_digit()
                || bytes[start - 1] == '.'
                || bytes[start - 1] == 'x')
        {
            start -= 1;
        }
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let number: String = bytes[start..i].iter().collect();
        if !after_ok || !before_ok || number.is_empty() {
            continue;
        }
        let value = match number.split_once('x') {
            Some((experts, each)) => experts.parse::<f64>().ok()? * each.parse::<f64>().ok()?,
            None => number.parse::<f64>().ok()?,
        };
        if value > 0.0 {
            return Some(value);
        }
    }
    None
}

/// The VRAM estimate: weights (parameters × bytes per parameter) plus the larger of 1.5 GB
/// or 25 % of the weights for the KV cache and activations, plus 1 GB of CUDA context.
///
/// Returns (weights GB, overhead GB, both rounded to 0.1; total VRAM rounded up to a whole
/// GB).
///
/// # Examples
///
/// ```
/// use gdl_model::registry::{estimate, Quantization};
///
/// // 7.62 B in FP16: 15.2 GB of weights, max(1.5, 3.8) + 1.0 GB overhead, 21 GB in all.
/// assert_eq!(estimate(7.62, Quantization::None), (15.2, 4.8, 21));
/// assert_eq!(estimate(7.62, Quantization::Awq).2, 7);
/// ```
pub fn estimate(params_b: f64, quantization: Quantization) -> (f64, f64, u32) {
    let weights = params_b * quantization.bytes_per_param();
    let overhead = (weights * 0.25).max(1.5) + CUDA_CONTEXT_GB;
    let total = (weights + overhead).ceil() as u32;
    (round1(weights), round1(overhead), total)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Resolves a request: validates the id, finds the preset (or reads the size from the
/// name), maps the quantization to a real checkpoint, and estimates the VRAM.
///
/// FP8 is served from the base repository (vLLM quantizes at load time); AWQ and GPTQ
/// need a known checkpoint, or an id that is itself one (`…-AWQ`). See the
/// [module example](self).
pub fn resolve(model: &str, quantization: Quantization) -> Result<ResolvedModel, ModelError> {
    let model = model.trim();
    let preset = find_preset(model);
    if preset.is_none() && !is_valid_repo_id(model) {
        return Err(ModelError::InvalidId(model.chars().take(120).collect()));
    }
    let (id, name, params_b, gated, checkpoints): (
        String,
        String,
        f64,
        bool,
        &[(Quantization, &str)],
    ) = match preset {
        Some(p) => (p.id.into(), p.name.into(), p.params_b, p.gated, p.quantized),
        None => {
            let params =
                params_from_name(model).ok_or_else(|| ModelError::Unknown(model.into()))?;
            (
                model.into(),
                model.rsplit('/').next().unwrap_or(model).into(),
                params,
                false,
                &[],
            )
        }
    };
    let served_repo = match quantization {
        Quantization::None | Quantization::Fp8 => id.clone(),
        q => match checkpoints.iter().find(|(k, _)| *k == q) {
            Some((_, repo)) => (*repo).to_owned(),
            None if preset.is_none() && is_prequantized_name(&id, q) => id.clone(),
            None => {
                return Err(ModelError::NoCheckpoint {
                    model: id,
                    quantization: q,
                    available: checkpoints.iter().map(|(k, _)| *k).collect(),
                })
            }
        },
    };
    let (weights_gb, overhead_gb, vram_gb) = estimate(params_b, quantization);
    Ok(ResolvedModel {
        model: id,
        name,
        served_repo,
        quantization,
        params_b,
        gated,
        weights_gb,
        overhead_gb,
        vram_gb,
    })
}

/// A repository that is itself a pre-quantized checkpoint of that kind (`…-AWQ`, `…GPTQ…`).
fn is_prequantized_name(id: &str, q: Quantization) -> bool {
    let lower = id.to_ascii_lowercase();
    match q {
        Quantization::Awq => lower.contains("awq"),
        Quantization::Gptq => lower.contains("gptq"),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
