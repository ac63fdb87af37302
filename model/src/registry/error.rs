//! Why a model cannot be served: not a valid id, unknown, or no checkpoint for the
//! quantization asked for.

use super::{Quantization, PRESETS};
use std::fmt;

/// Why a model request was refused.
///
/// Each kind has a stable [`code`](ModelError::code) and a [`hint`](ModelError::hint).
///
/// # Examples
///
/// ```
/// use gdl_model::code::ErrorCode;
/// use gdl_model::registry::{resolve, ModelError, Quantization};
///
/// let e = resolve("gemma-2b", Quantization::Awq).unwrap_err();
/// assert!(matches!(e, ModelError::NoCheckpoint { .. }));
/// assert_eq!(e.code(), ErrorCode::QuantizationUnavailable);
/// assert_eq!(e.hint(), "Choose one of: none, fp8.");
/// assert_eq!(e.to_string(), "no pre-quantized AWQ 4-bit checkpoint is known for google/gemma-2b-it");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// Not a Hugging Face repository id (`owner/name`, letters, digits, `.`, `_`, `-`).
    InvalidId(String),
    /// Neither a preset nor an id whose parameter count can be read (`…-7B…`).
    Unknown(String),
    /// No pre-quantized checkpoint of this kind is known for the model.
    NoCheckpoint {
        /// The model's repository id.
        model: String,
        /// The quantization asked for.
        quantization: Quantization,
        /// The quantizations it has a checkpoint for (possibly none).
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
