//! Prompt lengths in the model's own tokens. Prompts are built from words, and a model's
//! tokenizer makes more or fewer tokens of them, plus its chat template's own. So before
//! measuring, the benchmark asks the server to count two prompts of known word counts
//! (`usage.prompt_tokens`), fits tokens = overhead + per word × words, and builds every
//! prompt to the length asked in tokens. The record keeps what was asked, what the server
//! counted, and the fit; when the server reports no counts it says so, and lengths are words.
//!
//! # Examples
//!
//! ```
//! use gdl_model::benchmark::input::Calibration;
//!
//! // 64 words counted as 96 tokens, 320 words as 428: about 1.3 tokens a word and 13 of template.
//! let c = Calibration::from_counts((64, 96), (320, 428)).unwrap();
//! assert!((c.per_word - 1.296875).abs() < 1e-9);
//! assert_eq!(c.words_for(512), 385, "(512 − 13) / 1.297, rounded");
//! assert_eq!(c.words_for(5), 1, "never fewer than one word");
//! assert!(Calibration::from_counts((64, 0), (320, 0)).is_none(), "no counts, no fit");
//! ```

use super::PhaseMetrics;
use serde::{Deserialize, Serialize};

/// A benchmark's prompt lengths: asked, counted, and how prompts were fitted to them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InputLengths {
    /// Prompt tokens asked for, mean per request (absent for a prompt file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<f64>,
    /// Prompt tokens the server counted (`usage.prompt_tokens`), mean over the measured
    /// requests that reported them; absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<f64>,
    /// The fit prompts were built with; absent when the server counted nothing (the
    /// prompts then hold one word per token asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl InputLengths {
    /// "asked 512, counted 509 tokens a prompt (1.30 tokens a word)", or what is missing.
    pub fn describe(&self) -> String {
        let asked = self
            .asked
            .map(|a| format!("asked {a:.0}, "))
            .unwrap_or_default();
        let fit = match (self.calibration, self.asked) {
            (Some(c), _) => format!(" ({:.2} tokens a word)", c.per_word),
            (None, Some(_)) => " (not calibrated: one word per token asked)".to_owned(),
            (None, None) => String::new(),
        };
        match self.measured {
            Some(m) => format!("{asked}counted {m:.0} tokens a prompt{fit}"),
            None => format!("{asked}the server reported no token counts{fit}"),
        }
    }
}

/// How many tokens the server makes of a prompt of `words` words: `overhead + per_word ×
/// words`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Calibration {
    /// Tokens every prompt costs besides its words (chat template, preamble).
    pub overhead: f64,
    /// Tokens per word.
    pub per_word: f64,
}

impl Calibration {
    /// The fit through two prompts' (words, tokens counted); `None` when the counts are
    /// missing (0) or do not grow with the words.
    pub fn from_counts(short: (u32, u32), long: (u32, u32)) -> Option<Self> {
        let (w1, t1) = (f64::from(short.0), f64::from(short.1));
        let (w2, t2) = (f64::from(long.0), f64::from(long.1));
        if t1 <= 0.0 || t2 <= 0.0 || w2 <= w1 {
            return None;
        }
        let per_word = (t2 - t1) / (w2 - w1);
        (per_word.is_finite() && per_word > 0.05).then(|| Self {
            overhead: (t1 - per_word * w1).max(0.0),
            per_word,
        })
    }

    /// Words that make a prompt of `tokens` tokens, overhead included (at least one).
    pub fn words_for(&self, tokens: u32) -> u32 {
        ((f64::from(tokens) - self.overhead) / self.per_word)
            .round()
            .max(1.0) as u32
    }

    /// Words that make `tokens` tokens of text inside a prompt (no overhead; at least one).
    pub fn words_in(&self, tokens: u32) -> u32 {
        (f64::from(tokens) / self.per_word).round().max(1.0) as u32
    }
}

/// Mean prompt tokens counted per completed request that reported them, over `phases`.
pub fn measured(phases: &[PhaseMetrics]) -> Option<f64> {
    let counted: usize = phases
        .iter()
        .map(|p| p.completed.saturating_sub(p.usage_missing))
        .sum();
    let tokens: u64 = phases.iter().map(|p| p.total_prompt_tokens).sum();
    (counted > 0 && tokens > 0).then(|| tokens as f64 / counted as f64)
}
