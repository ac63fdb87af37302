//! The preset table: the models the dashboard knows by name.

use super::{Preset, Quantization};

/// The presets: the original dashboard's eight and current small open models.
///
/// # Examples
///
/// ```
/// use gdl_model::registry::{Quantization, PRESETS};
///
/// let tiny = PRESETS.iter().find(|p| p.aliases.contains(&"tinyllama")).unwrap();
/// assert_eq!(tiny.id, "TinyLlama/TinyLlama-1.1B-Chat-v1.0");
/// assert!(tiny.quantized.iter().any(|(q, _)| *q == Quantization::Gptq));
/// assert!(PRESETS.iter().filter(|p| p.gated).all(|p| p.id.starts_with("meta-llama/")
///     || p.id.starts_with("google/")));
/// ```
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
