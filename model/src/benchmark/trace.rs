//! Request traces in the Mooncake JSON lines format (the one AIPerf, GuideLLM and Dynamo
//! replay): one request a line, with when it arrives (`timestamp`, ms from the trace's
//! start), its prompt and answer lengths in tokens, and `hash_ids`: one id per block of
//! [`BLOCK_TOKENS`] prompt tokens, the same id wherever the same block of text recurs, so
//! requests that share a prefix (a conversation's history, a retrieved document) share its
//! leading ids.
//!
//! Two traces are shipped, generated here from a seed (numbers only, no text): a chat mix
//! and a RAG-like mix. `traces/chat.jsonl` and `traces/rag.jsonl` in the repository are
//! these, written out.
//!
//! # Examples
//!
//! ```
//! use gdl_model::benchmark::trace::{self, Mix};
//!
//! let chat = trace::shipped("chat").unwrap();
//! let text = trace::to_jsonl(&chat);
//! assert_eq!(trace::read_jsonl(&text).unwrap(), chat, "written and read back the same");
//! let s = trace::stats(&chat);
//! assert_eq!(s.requests, chat.len());
//! assert!(s.shared_share > 0.2, "later turns repeat the conversation so far");
//! assert!(Mix::from_name("rag").is_some() && Mix::from_name("nope").is_none());
//! ```

use serde::{Deserialize, Serialize};

/// Prompt tokens per hash id, as in Mooncake's traces.
pub const BLOCK_TOKENS: u32 = 512;

/// The most requests a trace file may hold.
pub const MAX_REQUESTS: usize = 100_000;

/// One request of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceRequest {
    /// When it arrives, ms from the trace's start.
    pub timestamp: u64,
    /// Prompt length, tokens.
    pub input_length: u32,
    /// Answer length, tokens.
    pub output_length: u32,
    /// One id per block of [`BLOCK_TOKENS`] prompt tokens (the last may be partial); equal
    /// ids are equal text.
    #[serde(default)]
    pub hash_ids: Vec<u64>,
}

/// The shipped traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// Conversations of one to six turns: each turn's prompt is the conversation so far
    /// (shared with its previous turn) and a new message.
    Chat,
    /// Questions about eight documents of 3,072 tokens: each prompt is one document (shared
    /// with every question about it) and a short question.
    Rag,
}

/// The names of the shipped traces.
pub const SHIPPED: [&str; 2] = ["chat", "rag"];

impl Mix {
    /// `chat` or `rag`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "chat" => Some(Self::Chat),
            "rag" => Some(Self::Rag),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Rag => "rag",
        }
    }
}

/// The shipped trace of that name (`chat` or `rag`), as generated with seed 1.
pub fn shipped(name: &str) -> Option<Vec<TraceRequest>> {
    Mix::from_name(name).map(|m| generate(m, 1))
}

/// A trace read from JSON lines; a sentence naming the first bad line otherwise. Blank lines
/// are skipped, other keys ignored; requests are put in order of arrival.
pub fn read_jsonl(text: &str) -> Result<Vec<TraceRequest>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = n + 1;
        let r: TraceRequest = serde_json::from_str(line).map_err(|e| {
            format!("line {at}: not a trace request ({{\"timestamp\", \"input_length\", \"output_length\", \"hash_ids\"}}): {e}")
        })?;
        if !(1..=131_072).contains(&r.input_length) || !(1..=32_768).contains(&r.output_length) {
            return Err(format!(
                "line {at}: input_length must be 1 to 131,072 and output_length 1 to 32,768"
            ));
        }
        out.push(r);
        if out.len() > MAX_REQUESTS {
            return Err(format!("more than {MAX_REQUESTS} requests"));
        }
    }
    if out.is_empty() {
        return Err("the trace has no requests".into());
    }
    out.sort_by_key(|r| r.timestamp);
    Ok(out)
}

/// The trace as JSON lines, one request a line.
pub fn to_jsonl(trace: &[TraceRequest]) -> String {
    trace
        .iter()
        .map(|r| serde_json::to_string(r).expect("numbers serialize") + "\n")
        .collect()
}

/// What a trace asks, in sum.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceStats {
    /// Requests.
    pub requests: usize,
    /// From the first arrival to the last, seconds.
    pub span_s: f64,
    /// Mean prompt length, tokens.
    pub mean_input: f64,
    /// Mean answer length, tokens.
    pub mean_output: f64,
    /// Share of prompt blocks already sent by an earlier request (what a prefix cache can
    /// reuse), 0–1.
    pub shared_share: f64,
}

/// Its sums.
pub fn stats(trace: &[TraceRequest]) -> TraceStats {
    let n = trace.len().max(1) as f64;
    let mut seen = std::collections::HashSet::new();
    let (mut blocks, mut repeated) = (0usize, 0usize);
    for r in trace {
        for id in &r.hash_ids {
            blocks += 1;
            repeated += usize::from(!seen.insert(*id));
        }
    }
    let first = trace.first().map_or(0, |r| r.timestamp);
    let last = trace.last().map_or(0, |r| r.timestamp);
    TraceStats {
        requests: trace.len(),
        span_s: (last - first) as f64 / 1000.0,
        mean_input: trace.iter().map(|r| f64::from(r.input_length)).sum::<f64>() / n,
        mean_output: trace
            .iter()
            .map(|r| f64::from(r.output_length))
            .sum::<f64>()
            / n,
        shared_share: if blocks == 0 {
            0.0
        } else {
            repeated as f64 / blocks as f64
        },
    }
}

/// A small deterministic random source (SplitMix64), so a seed gives the same trace on
/// every machine.
#[derive(Clone, Debug)]
pub struct Draws(u64);

impl Draws {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u32, high: u32) -> u32 {
        low + (self.next_u64() % u64::from(high - low + 1)) as u32
    }

    /// An exponential gap with this mean (Poisson arrivals).
    pub fn gap(&mut self, mean: f64) -> f64 {
        -(1.0 - self.unit()).ln() * mean
    }
}

/// The trace `mix` makes from `seed`.
pub fn generate(mix: Mix, seed: u64) -> Vec<TraceRequest> {
    let mut d = Draws::new(seed ^ mix as u64);
    let mut next_id = 0u64;
    let mut fresh = |count: usize| -> Vec<u64> {
        let ids = (next_id..next_id + count as u64).collect();
        next_id += count as u64;
        ids
    };
    let blocks = |tokens: u32| tokens.div_ceil(BLOCK_TOKENS) as usize;
    let mut out = Vec::new();
    match mix {
        Mix::Chat => {
            // 40 conversations starting about every 6 s; turns about 20 s apart.
            let mut start = 0.0;
            for _ in 0..40 {
                start += d.gap(6_000.0);
                let mut at = start;
                let (mut history, mut asked) = (0u32, 0u32);
                let mut ids: Vec<u64> = Vec::new();
                for _ in 0..d.between(1, 6) {
                    let input = history + d.between(20, 400);
                    // The last prompt's whole blocks are the same text again (its partial
                    // block goes on with the answer); the rest is new.
                    ids.truncate((asked / BLOCK_TOKENS) as usize);
                    let more = blocks(input) - ids.len();
                    ids.extend(fresh(more));
                    let output = d.between(30, 500);
                    out.push(TraceRequest {
                        timestamp: at as u64,
                        input_length: input,
                        output_length: output,
                        hash_ids: ids.clone(),
                    });
                    (history, asked) = (input + output, input);
                    at += d.gap(20_000.0);
                }
            }
        }
        Mix::Rag => {
            let documents: Vec<Vec<u64>> = (0..8).map(|_| fresh(6)).collect();
            let mut at = 0.0;
            for _ in 0..100 {
                at += d.gap(2_500.0);
                let document = &documents[d.between(0, 7) as usize];
                let question = d.between(30, 120);
                let mut ids = document.clone();
                ids.extend(fresh(1));
                out.push(TraceRequest {
                    timestamp: at as u64,
                    input_length: 6 * BLOCK_TOKENS + question,
                    output_length: d.between(64, 256),
                    hash_ids: ids,
                });
            }
        }
    }
    out.sort_by_key(|r| r.timestamp);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_trace_and_another_seed_another() {
        assert_eq!(generate(Mix::Chat, 7), generate(Mix::Chat, 7));
        assert_ne!(generate(Mix::Chat, 7), generate(Mix::Chat, 8));
    }

    #[test]
    fn every_request_has_one_id_per_block_and_arrives_in_order() {
        for mix in [Mix::Chat, Mix::Rag] {
            let t = generate(mix, 1);
            assert!(t.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
            for r in &t {
                assert_eq!(
                    r.hash_ids.len() as u32,
                    r.input_length.div_ceil(BLOCK_TOKENS)
                );
            }
        }
    }

    #[test]
    fn rag_questions_share_their_document_and_chat_turns_their_history() {
        let rag = generate(Mix::Rag, 1);
        let s = stats(&rag);
        assert_eq!(s.requests, 100);
        // 8 documents of 6 blocks, then every question's own block is new.
        assert!(s.shared_share > 0.7, "{s:?}");
        let documents: std::collections::HashSet<_> =
            rag.iter().map(|r| r.hash_ids[..6].to_vec()).collect();
        assert!(documents.len() <= 8);
        let chat = stats(&generate(Mix::Chat, 1));
        assert!((0.1..0.9).contains(&chat.shared_share), "{chat:?}");
        assert!(chat.mean_input > 200.0 && chat.mean_output > 30.0);
    }

    /// The repository's `traces/*.jsonl` are the shipped traces written out; with
    /// `GDL_WRITE_TRACES=1` this writes them.
    #[test]
    fn the_repositorys_trace_files_are_the_shipped_traces() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces");
        for name in SHIPPED {
            let path = dir.join(format!("{name}.jsonl"));
            let want = to_jsonl(&shipped(name).unwrap());
            if std::env::var_os("GDL_WRITE_TRACES").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(have == want, "{} differs from the generator: write it again with GDL_WRITE_TRACES=1 cargo test -p gdl-model -- trace", path.display());
        }
    }

    #[test]
    fn a_bad_line_is_named_and_a_good_file_read_in_order() {
        let bad = read_jsonl(
            "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 3}\n{\"timestamp\": 1}\n",
        );
        assert!(bad.unwrap_err().starts_with("line 2:"));
        let zero = read_jsonl("{\"timestamp\": 0, \"input_length\": 0, \"output_length\": 3}");
        assert!(zero.unwrap_err().contains("input_length"));
        assert!(read_jsonl("\n").is_err());
        let t = read_jsonl("{\"timestamp\": 9, \"input_length\": 5, \"output_length\": 3}\n\n{\"timestamp\": 2, \"input_length\": 7, \"output_length\": 1, \"hash_ids\": [4], \"other\": true}\n").unwrap();
        assert_eq!(t.iter().map(|r| r.timestamp).collect::<Vec<_>>(), [2, 9]);
        assert!(t[1].hash_ids.is_empty());
    }
}
