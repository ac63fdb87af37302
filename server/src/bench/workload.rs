//! What the benchmark asks: seeded synthetic prompts of a target length, the requests of a
//! trace (Mooncake JSON lines: lengths and shared prefixes), or prompts from a file. Answers
//! are asked for at an exact length where the server allows it (vLLM's and SGLang's
//! `ignore_eos` and `min_tokens`). Lengths are in the model's tokens once [`Fit`] holds the
//! server's own count of words (see `gdl_model::benchmark::input`).

use crate::runner::loadgen::ChatRequest;
use gdl_model::benchmark::input::Calibration;
use gdl_model::benchmark::trace::{self, Draws, TraceRequest, BLOCK_TOKENS};
use serde_json::{json, Value};
use std::sync::Arc;

/// Words of the synthetic prompts: common English words.
const WORDS: &[&str] = &[
    "the", "river", "city", "light", "model", "paper", "green", "stone", "water", "house", "table",
    "night", "music", "window", "garden", "winter", "market", "road", "cloud", "bread", "story",
    "friend", "school", "mountain", "letter", "summer", "forest", "engine", "bridge", "island",
    "silver", "morning",
];

/// How prompts of a target length are built: one word per token until calibrated.
pub type Fit = Option<Calibration>;

/// The requests of a benchmark.
#[derive(Clone, Debug)]
pub enum Workload {
    /// Prompts of `input_tokens` tokens, each different (so no prefix cache answers them),
    /// drawn from `seed`, asking for exactly `output_tokens` tokens.
    Synthetic {
        input_tokens: u32,
        output_tokens: u32,
        /// Send `ignore_eos` and `min_tokens` (other servers may refuse them).
        exact_output: bool,
        seed: u64,
        fit: Fit,
    },
    /// A trace's requests in turn: each prompt built block by block from its `hash_ids`
    /// (the same id, the same text), so prompts share what the trace says they share.
    Trace {
        /// The shipped trace's name, or the file's.
        name: String,
        requests: Arc<Vec<TraceRequest>>,
        exact_output: bool,
        seed: u64,
        fit: Fit,
    },
    /// Prompts from a JSON lines file, used in turn.
    File(Vec<ChatRequest>),
}

impl Workload {
    /// Synthetic prompts asking for exact output lengths, seed 0.
    pub fn synthetic(input_tokens: u32, output_tokens: u32) -> Self {
        Self::Synthetic {
            input_tokens,
            output_tokens,
            exact_output: true,
            seed: 0,
            fit: None,
        }
    }

    /// A shipped trace (`chat`, `rag`) by name.
    pub fn shipped_trace(name: &str, seed: u64) -> Option<Self> {
        trace::shipped(name).map(|t| Self::Trace {
            name: name.to_owned(),
            requests: Arc::new(t),
            exact_output: true,
            seed,
            fit: None,
        })
    }

    /// The same prompts drawn from another seed.
    pub fn seeded(mut self, new: u64) -> Self {
        if let Self::Synthetic { seed, .. } | Self::Trace { seed, .. } = &mut self {
            *seed = new;
        }
        self
    }

    /// Whether answers are asked for at an exact length (`ignore_eos`, `min_tokens`).
    pub fn exact_output(mut self, on: bool) -> Self {
        if let Self::Synthetic { exact_output, .. } | Self::Trace { exact_output, .. } = &mut self {
            *exact_output = on;
        }
        self
    }

    /// The trace's requests, when it is one.
    pub fn trace(&self) -> Option<&[TraceRequest]> {
        match self {
            Self::Trace { requests, .. } => Some(requests),
            _ => None,
        }
    }

    /// Mean prompt tokens asked for over the whole workload (none for a prompt file).
    pub fn asked_input(&self) -> Option<f64> {
        self.asked_over(self.trace().map_or(1, <[_]>::len))
    }

    /// Mean prompt tokens asked for by requests `0..n` (none for a prompt file).
    pub fn asked_over(&self, n: usize) -> Option<f64> {
        match self {
            Self::Synthetic { input_tokens, .. } => Some(f64::from(*input_tokens)),
            Self::Trace { requests, .. } => {
                let n = n.max(1);
                let sum: f64 = (0..n)
                    .map(|i| f64::from(requests[i % requests.len()].input_length))
                    .sum();
                Some(sum / n as f64)
            }
            Self::File(_) => None,
        }
    }

    /// The fit prompts are built with (none for a prompt file or before calibrating).
    pub fn fit(&self) -> Fit {
        match self {
            Self::Synthetic { fit, .. } | Self::Trace { fit, .. } => *fit,
            Self::File(_) => None,
        }
    }

    /// Where prompts are built to a length: the fit that makes words tokens.
    pub fn fit_mut(&mut self) -> Option<&mut Fit> {
        match self {
            Self::Synthetic { fit, .. } | Self::Trace { fit, .. } => Some(fit),
            Self::File(_) => None,
        }
    }

    /// A prompt of exactly `words` words shaped as this workload's are, answered with one
    /// token: what calibration asks the server to count.
    pub fn probe(&self, words: u32) -> ChatRequest {
        let text = match self {
            Self::Trace { .. } => block_text(u64::MAX, 0, words),
            _ => preamble_and(0, &block_text(u64::MAX, 1, words)),
        };
        ChatRequest::prompt(&text, 1)
    }

    /// Requests in one pass through the workload: a trace's length (a level starts at a
    /// pass's start, so it sends the trace from its first request), 1 otherwise.
    pub fn pass(&self) -> usize {
        match self {
            Self::Trace { requests, .. } => requests.len().max(1),
            _ => 1,
        }
    }

    /// The `i`th request: a synthetic one unlike every other, a trace's request `i` in its
    /// pass, or a prompt file's in turn (repeated as the file gives them).
    pub fn request(&self, i: usize) -> ChatRequest {
        match self {
            Self::Synthetic {
                input_tokens,
                output_tokens,
                exact_output,
                seed,
                fit,
            } => {
                let words = fit.map_or(*input_tokens, |c| c.words_for(*input_tokens));
                let text = block_text(*seed, i as u64 + 1, words);
                exact(
                    ChatRequest::prompt(&preamble_and(i, &text), *output_tokens),
                    *exact_output,
                )
            }
            Self::Trace {
                requests,
                exact_output,
                seed,
                fit,
                ..
            } => {
                // Each pass through the trace draws its text anew: what its requests share
                // with each other stays shared, nothing with an earlier pass's.
                let (pass, r) = (i / requests.len(), &requests[i % requests.len()]);
                let text = trace_prompt(r, seed.wrapping_add(pass as u64), fit);
                exact(ChatRequest::prompt(&text, r.output_length), *exact_output)
            }
            Self::File(list) => list[i % list.len()].clone(),
        }
    }

    /// Reads a prompt file: one JSON object per line with `prompt` (text) or `messages`
    /// (chat messages) and optionally `max_tokens` (else `default_max_tokens`). Blank lines
    /// are skipped; any other line is an error naming its number.
    pub fn from_jsonl(text: &str, default_max_tokens: u32) -> Result<Self, String> {
        let mut list = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = n + 1;
            let value: Value =
                serde_json::from_str(line).map_err(|e| format!("line {at}: not JSON: {e}"))?;
            let max_tokens = match value.get("max_tokens") {
                None => default_max_tokens,
                Some(v) => v
                    .as_u64()
                    .filter(|n| (1..=32_768).contains(n))
                    .ok_or_else(|| format!("line {at}: max_tokens must be 1 to 32768"))?
                    as u32,
            };
            let request = match (value.get("prompt"), value.get("messages")) {
                (Some(Value::String(p)), None) => ChatRequest::prompt(p, max_tokens),
                (None, Some(m @ Value::Array(_))) => ChatRequest {
                    messages: m.clone(),
                    max_tokens,
                    extra: Default::default(),
                },
                _ => {
                    return Err(format!(
                        "line {at}: needs either \"prompt\" (text) or \"messages\" (a list)"
                    ))
                }
            };
            list.push(request);
        }
        if list.is_empty() {
            return Err("the prompt file has no prompts".into());
        }
        Ok(Self::File(list))
    }
}

/// `request` asking for exactly its `max_tokens`, when `exact`.
fn exact(mut request: ChatRequest, exact: bool) -> ChatRequest {
    if exact {
        request.extra.insert("ignore_eos".into(), json!(true));
        request
            .extra
            .insert("min_tokens".into(), json!(request.max_tokens));
    }
    request
}

/// A synthetic prompt: a line that makes it unique, then its words.
fn preamble_and(i: usize, text: &str) -> String {
    format!("Request {i}. Continue this text: {text}")
}

/// `words` words drawn from `(seed, block)`: the same pair, the same words.
fn block_text(seed: u64, block: u64, words: u32) -> String {
    let mut d = Draws::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ block);
    (0..words)
        .map(|_| WORDS[(d.next_u64() % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A trace request's prompt: its blocks' text in order, the last block only as long as the
/// request (less what the server adds to every prompt).
fn trace_prompt(r: &TraceRequest, seed: u64, fit: &Fit) -> String {
    let overhead = fit.map_or(0, |c| c.overhead.round() as u32);
    let mut left = r.input_length.saturating_sub(overhead).max(1);
    let mut parts = Vec::new();
    let ids: Vec<u64> = if r.hash_ids.is_empty() {
        // No ids: text of its own, shared with no one.
        vec![u64::MAX - r.timestamp]
    } else {
        r.hash_ids.clone()
    };
    for id in ids {
        if left == 0 {
            break;
        }
        let tokens = left.min(BLOCK_TOKENS);
        let words = fit.map_or(tokens, |c| c.words_in(tokens));
        parts.push(block_text(seed, id, words));
        left -= tokens;
    }
    if left > 0 {
        // Fewer ids than blocks: the rest is the request's own.
        let words = fit.map_or(left, |c| c.words_in(left));
        parts.push(block_text(seed, u64::MAX - r.timestamp - 1, words));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests;
