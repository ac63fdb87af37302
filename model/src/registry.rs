//! The model registry: presets with aliases, a VRAM estimate from parameter count and
//! dtype plus KV-cache and runtime overhead, and quantization choices mapped to real
//! pre-quantized checkpoints (or refused with a clear error).
//!
//! Model ids are validated before anything else, so a shell metacharacter can never reach
//! the remote host's shell.

use serde::{Deserialize, Serialize};
use std::fmt;

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
    pub name: &'static str,
    /// Parameters, in billions.
    pub params_b: f64,
    /// Short names, matched case-insensitively.
    pub aliases: &'static [&'static str],
    /// Pre-quantized checkpoints: (quantization, repository id).
    pub quantized: &'static [(Quantization, &'static str)],
    /// The repository needs an accepted licence and a Hugging Face token.
    pub gated: bool,
    pub description: &'static str,
}

/// The presets: the original dashboard's eight and current small open models.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "Qwen/Qwen2.5-0.5B-Instruct",
        name: "Qwen2.5 0.5B Instruct",
        params_b: 0.49,
        aliases: &["qwen2.5-0.5b"],
        quantized: &[
            (Quantization::Awq, "Qwen/Qwen2.5-0.5B-Instruct-AWQ"),
            (Quantization::Gptq, "Qwen/Qwen2.5-0.5B-Instruct-GPTQ-Int4"),
        ],
        gated: false,
        description: "Tiny and fast: the quickest end-to-end check",
    },
    Preset {
        id: "Qwen/Qwen2.5-1.5B-Instruct",
        name: "Qwen2.5 1.5B Instruct",
        params_b: 1.54,
        aliases: &["qwen2.5-1.5b"],
        quantized: &[
            (Quantization::Awq, "Qwen/Qwen2.5-1.5B-Instruct-AWQ"),
            (Quantization::Gptq, "Qwen/Qwen2.5-1.5B-Instruct-GPTQ-Int4"),
        ],
        gated: false,
        description: "Small, capable instruction model",
    },
    Preset {
        id: "Qwen/Qwen2.5-7B-Instruct",
        name: "Qwen2.5 7B Instruct",
        params_b: 7.62,
        aliases: &["qwen2.5-7b", "qwen"],
        quantized: &[
            (Quantization::Awq, "Qwen/Qwen2.5-7B-Instruct-AWQ"),
            (Quantization::Gptq, "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4"),
        ],
        gated: false,
        description: "Strong 7B instruction model",
    },
    Preset {
        id: "meta-llama/Llama-3.2-1B-Instruct",
        name: "Llama 3.2 1B Instruct",
        params_b: 1.24,
        aliases: &["llama3.2-1b", "llama-3.2-1b"],
        quantized: &[(
            Quantization::Awq,
            "hugging-quants/Llama-3.2-1B-Instruct-AWQ-INT4",
        )],
        gated: true,
        description: "Meta's small Llama (needs an accepted licence on Hugging Face)",
    },
    Preset {
        id: "meta-llama/Llama-3.2-3B-Instruct",
        name: "Llama 3.2 3B Instruct",
        params_b: 3.21,
        aliases: &["llama3.2-3b", "llama-3.2-3b"],
        quantized: &[(
            Quantization::Awq,
            "hugging-quants/Llama-3.2-3B-Instruct-AWQ-INT4",
        )],
        gated: true,
        description: "Meta's 3B Llama (needs an accepted licence on Hugging Face)",
    },
    Preset {
        id: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        name: "TinyLlama 1.1B",
        params_b: 1.1,
        aliases: &["tinyllama"],
        quantized: &[
            (Quantization::Awq, "TheBloke/TinyLlama-1.1B-Chat-v1.0-AWQ"),
            (Quantization::Gptq, "TheBloke/TinyLlama-1.1B-Chat-v1.0-GPTQ"),
        ],
        gated: false,
        description: "Smallest of the original presets, great for testing",
    },
    Preset {
        id: "microsoft/phi-2",
        name: "Phi-2",
        params_b: 2.78,
        aliases: &["phi-2"],
        quantized: &[
            (Quantization::Awq, "TheBloke/phi-2-AWQ"),
            (Quantization::Gptq, "TheBloke/phi-2-GPTQ"),
        ],
        gated: false,
        description: "Microsoft's efficient 2.7B model",
    },
    Preset {
        id: "microsoft/phi-1_5",
        name: "Phi-1.5",
        params_b: 1.42,
        aliases: &["phi-1.5"],
        quantized: &[],
        gated: false,
        description: "Microsoft's compact 1.3B model",
    },
    Preset {
        id: "mistralai/Mistral-7B-Instruct-v0.2",
        name: "Mistral 7B Instruct v0.2",
        params_b: 7.24,
        aliases: &["mistral-7b", "mistral"],
        quantized: &[
            (Quantization::Awq, "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"),
            (Quantization::Gptq, "TheBloke/Mistral-7B-Instruct-v0.2-GPTQ"),
        ],
        gated: false,
        description: "High-quality 7B instruction model",
    },
    Preset {
        id: "Qwen/Qwen2-7B-Instruct",
        name: "Qwen2 7B Instruct",
        params_b: 7.62,
        aliases: &["qwen2-7b"],
        quantized: &[
            (Quantization::Awq, "Qwen/Qwen2-7B-Instruct-AWQ"),
            (Quantization::Gptq, "Qwen/Qwen2-7B-Instruct-GPTQ-Int4"),
        ],
        gated: false,
        description: "Alibaba's Qwen2 7B model",
    },
    Preset {
        id: "Qwen/Qwen2-1.5B-Instruct",
        name: "Qwen2 1.5B Instruct",
        params_b: 1.54,
        aliases: &["qwen2-1.5b"],
        quantized: &[
            (Quantization::Awq, "Qwen/Qwen2-1.5B-Instruct-AWQ"),
            (Quantization::Gptq, "Qwen/Qwen2-1.5B-Instruct-GPTQ-Int4"),
        ],
        gated: false,
        description: "Alibaba's compact Qwen2 1.5B model",
    },
    Preset {
        id: "google/gemma-7b-it",
        name: "Gemma 7B IT",
        params_b: 8.54,
        aliases: &["gemma-7b", "gemma"],
        quantized: &[],
        gated: true,
        description: "Google's Gemma 7B (needs an accepted licence on Hugging Face)",
    },
    Preset {
        id: "google/gemma-2b-it",
        name: "Gemma 2B IT",
        params_b: 2.51,
        aliases: &["gemma-2b"],
        quantized: &[],
        gated: true,
        description: "Google's Gemma 2B (needs an accepted licence on Hugging Face)",
    },
];

/// Why a model request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// Not a Hugging Face repository id (`owner/name`, letters, digits, `.`, `_`, `-`).
    InvalidId(String),
    /// Neither a preset nor an id whose parameter count can be read (`…-7B…`).
    Unknown(String),
    /// No pre-quantized checkpoint of this kind is known for the model.
    NoCheckpoint {
        model: String,
        quantization: Quantization,
        available: Vec<Quantization>,
    },
}

impl ModelError {
    /// The stable error code.
    pub fn code(&self) -> crate::code::ErrorCode {
        use crate::code::ErrorCode;
        match self {
            Self::InvalidId(_) => ErrorCode::InvalidModelId,
            Self::Unknown(_) => ErrorCode::UnknownModel,
            Self::NoCheckpoint { .. } => ErrorCode::QuantizationUnavailable,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::InvalidId(_) => "Use a Hugging Face id such as Qwen/Qwen2.5-1.5B-Instruct, or a preset alias such as qwen2.5-1.5b.".into(),
            Self::Unknown(_) => format!(
                "Pick a preset ({}), or an id that names its size, such as org/Model-7B-Instruct.",
                PRESETS.iter().map(|p| p.aliases[0]).collect::<Vec<_>>().join(", ")
            ),
            Self::NoCheckpoint { available, .. } => {
                let names: Vec<&str> = available.iter().map(|q| q.as_str()).collect();
                format!("Choose one of: none, fp8{}{}.", if names.is_empty() { "" } else { ", " }, names.join(", "))
            }
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidId(id) => write!(f, "{id:?} is not a valid model id"),
            Self::Unknown(id) => write!(
                f,
                "unknown model {id:?}: not a preset and its size cannot be read from the name"
            ),
            Self::NoCheckpoint {
                model,
                quantization,
                ..
            } => {
                write!(
                    f,
                    "no pre-quantized {} checkpoint is known for {model}",
                    quantization.label()
                )
            }
        }
    }
}

impl std::error::Error for ModelError {}

/// A model request resolved to what will be served, with its VRAM need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolvedModel {
    /// The id the person asked for (after alias lookup: the base repository).
    pub model: String,
    pub name: String,
    /// The repository vLLM loads (a pre-quantized one for AWQ/GPTQ).
    pub served_repo: String,
    pub quantization: Quantization,
    pub params_b: f64,
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
pub fn find_preset(text: &str) -> Option<&'static Preset> {
    let wanted = text.trim();
    PRESETS.iter().find(|p| {
        p.id.eq_ignore_ascii_case(wanted)
            || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(wanted))
    })
}

/// Reads a parameter count from a repository name: `-7B`, `_1.5b`, `-0.5B-`, `8x7B` (→ 56).
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
mod tests {
    use super::*;

    #[test]
    fn a_model_split_across_gpus_needs_its_share_on_each_plus_the_context() {
        let m = resolve("qwen2.5-7b", Quantization::None).unwrap();
        assert_eq!(m.vram_per_gpu(1), m.vram_gb);
        let two = m.vram_per_gpu(2);
        assert!(
            two < m.vram_gb && two as f64 >= (m.weights_gb / 2.0),
            "{two} of {}",
            m.vram_gb
        );
        assert!(m.vram_per_gpu(4) < two);
        assert!(m.fits(1, m.vram_gb, 1));
        assert!(!m.fits(1, m.vram_gb - 1, 4));
        assert!(m.fits(2, two, 2));
        assert!(!m.fits(2, two, 1), "two GPUs asked, one offered");
    }

    #[test]
    fn presets_resolve_by_id_and_alias() {
        let by_alias = resolve("QWEN2.5-1.5B", Quantization::None).unwrap();
        assert_eq!(by_alias.model, "Qwen/Qwen2.5-1.5B-Instruct");
        assert_eq!(by_alias.served_repo, "Qwen/Qwen2.5-1.5B-Instruct");
        let awq = resolve("qwen2.5-7b", Quantization::Awq).unwrap();
        assert_eq!(awq.served_repo, "Qwen/Qwen2.5-7B-Instruct-AWQ");
        assert!(awq.vram_gb < resolve("qwen2.5-7b", Quantization::None).unwrap().vram_gb);
        for p in PRESETS {
            assert!(is_valid_repo_id(p.id), "{}", p.id);
            for (_, repo) in p.quantized {
                assert!(is_valid_repo_id(repo), "{repo}");
            }
        }
    }

    #[test]
    fn vram_estimate_from_params_and_dtype() {
        // 7.62 B in FP16: 15.2 GB weights + max(1.5, 3.8) + 1.0 = 20.1 → 21 GB.
        assert_eq!(estimate(7.62, Quantization::None), (15.2, 4.8, 21));
        // 0.49 B: 1.0 GB weights + 1.5 + 1.0 → 4 GB.
        assert_eq!(estimate(0.49, Quantization::None), (1.0, 2.5, 4));
        // AWQ: 4.3 GB weights + 1.5 + 1.0 = 6.8 → 7 GB.
        assert_eq!(estimate(7.62, Quantization::Awq).2, 7);
    }

    #[test]
    fn quantization_without_a_checkpoint_is_refused() {
        let err = resolve("gemma-2b", Quantization::Awq).unwrap_err();
        assert_eq!(err.code().as_str(), "quantization_unavailable");
        assert!(err.hint().contains("none, fp8"));
        let llama = resolve("llama3.2-1b", Quantization::Gptq).unwrap_err();
        assert!(llama.hint().contains("awq"), "{}", llama.hint());
        assert!(
            resolve("gemma-2b", Quantization::Fp8).is_ok(),
            "fp8 quantizes at load time"
        );
    }

    #[test]
    fn shell_metacharacters_are_refused_before_anything_else() {
        for bad in [
            "Qwen/Qwen2.5-1.5B; rm -rf /",
            "Qwen/$(reboot)-7B",
            "Qwen/Qwen`id`-7B",
            "a/b c-7B",
            "Qwen/Qwen2.5-7B'\"",
            "../../etc/passwd",
            "owner/..-7B",
            "justname-7B",
            "a/b/c-7B",
            "org/model-7B\nnext",
        ] {
            assert_eq!(
                resolve(bad, Quantization::None)
                    .unwrap_err()
                    .code()
                    .as_str(),
                "invalid_model_id",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unknown_ids_need_a_readable_size() {
        let m = resolve("someorg/Cool-Model-13B-Chat", Quantization::None).unwrap();
        assert_eq!(m.params_b, 13.0);
        assert_eq!(
            params_from_name("mistralai/Mixtral-8x7B-Instruct-v0.1"),
            Some(56.0)
        );
        assert_eq!(params_from_name("x/Qwen2.5-0.5B-Instruct"), Some(0.5));
        assert_eq!(params_from_name("x/bert-base"), None);
        assert_eq!(
            resolve("someorg/mystery", Quantization::None)
                .unwrap_err()
                .code()
                .as_str(),
            "unknown_model"
        );
        let awq = resolve("someorg/Thing-7B-AWQ", Quantization::Awq).unwrap();
        assert_eq!(awq.served_repo, "someorg/Thing-7B-AWQ");
    }
}
