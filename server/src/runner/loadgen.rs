//! The benchmark client: streaming chat completions through the tunnel, timed per chunk.
//! The quality prompts (expected answers → match rate) are here; load levels are the
//! benchmark engine's ([`crate::bench`]). Metrics follow `gdl_model::benchmark`.

use gdl_model::benchmark::Sample;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

mod sse;
use sse::SseEvents;

/// The largest server-sent event accepted, in bytes (a stranger's server streams to us).
const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// The most chunks kept per reply (far more than any `max_tokens` asked for).
const MAX_CHUNKS: usize = 16 * 1024;
/// The most reply text kept (only the quality checks read it).
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Where the model is served.
#[derive(Clone)]
pub struct Target {
    /// `http://127.0.0.1:<forwarded port>`.
    pub base_url: String,
    /// The server's API key (never printed: `Debug` shows `[redacted]`; wiped on drop);
    /// empty when the server asks for none (the broker-started vLLM).
    pub api_key: Zeroizing<String>,
    /// The served model name (from `/v1/models`).
    pub model: String,
}

/// An HTTP client for a model server on a rented host (a stranger's machine): it follows no
/// redirects, which could send the API key and the prompts anywhere; `timeout` per request.
pub fn host_client(timeout: Option<Duration>) -> reqwest::Client {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    let builder = match timeout {
        Some(t) => builder.timeout(t),
        None => builder,
    };
    builder.build().unwrap_or_default()
}

/// `request` with the API key, when there is one.
pub fn authorized(request: reqwest::RequestBuilder, api_key: &str) -> reqwest::RequestBuilder {
    if api_key.is_empty() {
        request
    } else {
        request.bearer_auth(api_key)
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("model", &self.model)
            .finish()
    }
}

/// A prompt with answers that count as right (any, case-insensitive).
pub struct QualityPrompt {
    pub id: &'static str,
    pub prompt: &'static str,
    pub expected: &'static [&'static str],
    pub max_tokens: u32,
}

/// The quality prompts.
pub const QUALITY_PROMPTS: &[QualityPrompt] = &[
    QualityPrompt {
        id: "math",
        prompt: "What is 15 + 27? Answer with the number only.",
        expected: &["42"],
        max_tokens: 16,
    },
    QualityPrompt {
        id: "knowledge",
        prompt: "What is the capital of France? Answer in one word.",
        expected: &["paris"],
        max_tokens: 16,
    },
    QualityPrompt {
        id: "instruction",
        prompt: "Name the three primary colors, comma separated.",
        expected: &["red", "blue", "yellow"],
        max_tokens: 32,
    },
    QualityPrompt {
        id: "code",
        prompt: "Write a Python function that returns the square of x. Only the function.",
        expected: &["def", "return"],
        max_tokens: 64,
    },
];

/// One streamed request. `origin` is the phase start (for `start_ms`).
pub async fn stream_one(
    http: &reqwest::Client,
    target: &Target,
    prompt: &str,
    max_tokens: u32,
    origin: Instant,
) -> (Sample, String) {
    let request = ChatRequest::prompt(prompt, max_tokens);
    stream_request(http, target, &request, origin).await
}

/// What one chat completion asks for: the messages, the output length, and any fields the
/// server understands beyond OpenAI's (vLLM's `ignore_eos` and `min_tokens` for exact
/// output lengths).
#[derive(Clone, Debug)]
pub struct ChatRequest {
    pub messages: Value,
    pub max_tokens: u32,
    pub extra: serde_json::Map<String, Value>,
}

impl ChatRequest {
    /// One user message.
    pub fn prompt(prompt: &str, max_tokens: u32) -> Self {
        Self {
            messages: json!([{"role": "user", "content": prompt}]),
            max_tokens,
            extra: Default::default(),
        }
    }
}

/// One streamed request as `request` says.
pub async fn stream_request(
    http: &reqwest::Client,
    target: &Target,
    request: &ChatRequest,
    origin: Instant,
) -> (Sample, String) {
    let started = Instant::now();
    let mut sample = Sample {
        start_ms: ms(started - origin),
        ..Default::default()
    };
    let mut body = json!({
        "model": target.model,
        "messages": request.messages,
        "max_tokens": request.max_tokens,
        "temperature": 0,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if let Some(fields) = body.as_object_mut() {
        fields.extend(request.extra.clone());
    }
    sample.usage_reported = false;
    let response = authorized(
        http.post(format!("{}/v1/chat/completions", target.base_url)),
        &target.api_key,
    )
    .json(&body)
    .timeout(Duration::from_secs(120))
    .send()
    .await;
    let response = match response {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            sample.error = Some(format!("HTTP {}", r.status().as_u16()));
            return (sample, String::new());
        }
        Err(e) => {
            sample.error = Some(e.to_string());
            return (sample, String::new());
        }
    };
    let mut text = String::new();
    let mut events = SseEvents::new(MAX_EVENT_BYTES);
    let mut response = response;
    let mut chunks_tokens = 0u32;
    'stream: loop {
        let piece = match response.chunk().await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                sample.error = Some(format!("stream broke: {e}"));
                break;
            }
        };
        let data = match events.push(&piece) {
            Ok(data) => data,
            Err(e) => {
                sample.error = Some(e);
                break;
            }
        };
        for data in data {
            if sample.chunk_ms.len() >= MAX_CHUNKS {
                sample.error = Some(format!("more than {MAX_CHUNKS} chunks in one reply"));
                break 'stream;
            }
            let Ok(value) = serde_json::from_str::<Value>(&data) else {
                continue;
            };
            if sample.first_chunk_ms.is_none() {
                sample.first_chunk_ms = Some(ms(started.elapsed()));
            }
            if let Some(content) = value["choices"][0]["delta"]["content"]
                .as_str()
                .filter(|c| !c.is_empty())
            {
                let at = ms(started.elapsed());
                if sample.ttft_ms.is_none() {
                    sample.ttft_ms = Some(at);
                }
                sample.chunk_ms.push(at);
                sample.e2e_ms = Some(at);
                chunks_tokens += 1;
                if text.len() < MAX_TEXT_BYTES {
                    text.push_str(content);
                }
            }
            if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
                sample.prompt_tokens = usage["prompt_tokens"].as_u64().unwrap_or(0) as u32;
                sample.output_tokens = usage["completion_tokens"].as_u64().unwrap_or(0) as u32;
                sample.usage_reported = true;
            }
        }
    }
    if sample.output_tokens == 0 {
        sample.output_tokens = chunks_tokens;
    }
    if sample.error.is_none() && sample.ttft_ms.is_none() {
        sample.error = Some("no tokens streamed".into());
    }
    (sample, text)
}

/// Runs the quality prompts one at a time; returns (matching, with expected, samples).
pub async fn quality(
    http: &reqwest::Client,
    target: &Target,
) -> (u32, u32, Vec<(String, bool, Sample)>) {
    let origin = Instant::now();
    let mut matching = 0;
    let mut results = Vec::new();
    for q in QUALITY_PROMPTS {
        let (sample, text) = stream_one(http, target, q.prompt, q.max_tokens, origin).await;
        let lower = text.to_ascii_lowercase();
        let ok = sample.error.is_none() && q.expected.iter().any(|e| lower.contains(e));
        matching += ok as u32;
        results.push((q.id.to_owned(), ok, sample));
    }
    (matching, QUALITY_PROMPTS.len() as u32, results)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::llm::{LlmProfile, SimLlm};

    #[tokio::test]
    async fn streams_from_the_simulated_vllm_and_measures() {
        let profile = LlmProfile::for_hardware("qwen2.5-0.5b", "H100 SXM5", 1, "secret".into());
        let llm = SimLlm::start(profile, 0).unwrap();
        let http = reqwest::Client::new();
        let target = Target {
            base_url: format!("http://{}", llm.addr()),
            api_key: Zeroizing::new("secret".into()),
            model: "qwen2.5-0.5b".into(),
        };
        let (matching, total, _) = quality(&http, &target).await;
        assert_eq!((matching, total), (4, 4));
        let (sample, text) =
            stream_one(&http, &target, "Tell me a story.", 24, Instant::now()).await;
        assert!(sample.ok() && sample.usage_reported, "{sample:?}");
        assert_eq!(sample.output_tokens, 24);
        assert!(sample.chunk_ms.len() >= 20 && !text.is_empty());
        assert!(sample.first_chunk_ms.unwrap() <= sample.ttft_ms.unwrap());
        let wrong_key = Target {
            api_key: Zeroizing::new("nope".into()),
            ..target
        };
        let (failed, _) = stream_one(&http, &wrong_key, "hi", 4, Instant::now()).await;
        assert_eq!(failed.error.as_deref(), Some("HTTP 401"));
        let shown = format!("{wrong_key:?}");
        assert!(
            shown.contains("[redacted]") && !shown.contains("nope"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_host_that_redirects_does_not_get_the_key_sent_elsewhere() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        // Elsewhere: counts what reaches it.
        let reached = Arc::new(AtomicUsize::new(0));
        let seen = reached.clone();
        let elsewhere = axum::Router::new().fallback(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { "{}" }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let there = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, elsewhere).await });
        // The rented host: redirects everything there.
        let to = there.clone();
        let host = axum::Router::new().fallback(move || {
            let to = to.clone();
            async move { axum::response::Redirect::temporary(&format!("{to}/v1/chat/completions")) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, host).await });
        let target = Target {
            base_url,
            api_key: Zeroizing::new("secret".into()),
            model: "m".into(),
        };
        let http = host_client(Some(Duration::from_secs(5)));
        let (sample, _) = stream_one(&http, &target, "hi", 4, Instant::now()).await;
        assert!(!sample.ok(), "{sample:?}");
        assert_eq!(
            reached.load(Ordering::SeqCst),
            0,
            "the redirect was followed"
        );
    }
}
