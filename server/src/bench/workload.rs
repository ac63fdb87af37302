//! What the benchmark asks: synthetic prompts of a target length asking for an exact output
//! length (vLLM's `ignore_eos` and `min_tokens`), or prompts from a file.

use crate::runner::loadgen::ChatRequest;
use serde_json::{json, Value};

/// Words of the synthetic prompts: common English words, about one token each.
const WORDS: &[&str] = &[
    "the", "river", "city", "light", "model", "paper", "green", "stone", "water", "house", "table",
    "night", "music", "window", "garden", "winter", "market", "road", "cloud", "bread", "story",
    "friend", "school", "mountain", "letter", "summer", "forest", "engine", "bridge", "island",
    "silver", "morning",
];

/// The requests of a benchmark.
#[derive(Clone, Debug)]
pub enum Workload {
    /// Prompts of about `input_tokens` tokens, each different (so no prefix cache answers
    /// them), asking for exactly `output_tokens` tokens where the server supports it.
    Synthetic {
        input_tokens: u32,
        output_tokens: u32,
        /// Send vLLM's `ignore_eos` and `min_tokens` (other servers may refuse them).
        exact_output: bool,
    },
    /// Prompts from a JSON lines file, used in turn.
    File(Vec<ChatRequest>),
}

impl Workload {
    /// Synthetic prompts asking for exact output lengths.
    pub fn synthetic(input_tokens: u32, output_tokens: u32) -> Self {
        Self::Synthetic {
            input_tokens,
            output_tokens,
            exact_output: true,
        }
    }

    /// The `i`th request.
    pub fn request(&self, i: usize) -> ChatRequest {
        match self {
            Self::Synthetic {
                input_tokens,
                output_tokens,
                exact_output,
            } => {
                let words: Vec<&str> = (0..*input_tokens as usize)
                    .map(|k| WORDS[(k * 7 + i * 13 + k / WORDS.len()) % WORDS.len()])
                    .collect();
                let prompt = format!("Request {i}. Continue this text: {}", words.join(" "));
                let mut request = ChatRequest::prompt(&prompt, *output_tokens);
                if *exact_output {
                    request.extra.insert("ignore_eos".into(), json!(true));
                    request
                        .extra
                        .insert("min_tokens".into(), json!(output_tokens));
                }
                request
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_prompts_differ_and_ask_for_exact_lengths() {
        let w = Workload::synthetic(50, 64);
        let (a, b) = (w.request(0), w.request(1));
        assert_ne!(a.messages, b.messages);
        let text = a.messages[0]["content"].as_str().unwrap();
        let words = text.split_whitespace().count();
        assert!((50..60).contains(&words), "{words}");
        assert_eq!(a.max_tokens, 64);
        assert_eq!(a.extra["ignore_eos"], true);
        assert_eq!(a.extra["min_tokens"], 64);
    }

    #[test]
    fn prompt_files_take_prompts_or_messages_and_name_the_bad_line() {
        let w = Workload::from_jsonl(
            "{\"prompt\": \"hi\", \"max_tokens\": 5}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"yo\"}]}\n",
            32,
        )
        .unwrap();
        assert_eq!(w.request(0).max_tokens, 5);
        assert_eq!(w.request(1).max_tokens, 32);
        assert_eq!(w.request(2).max_tokens, 5, "used in turn");
        let bad = Workload::from_jsonl("{\"prompt\": \"a\"}\n{\"text\": 1}\n", 8).unwrap_err();
        assert!(bad.starts_with("line 2:"), "{bad}");
        assert!(Workload::from_jsonl("\n", 8).is_err());
    }
}
