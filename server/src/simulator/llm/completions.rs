//! The two completion endpoints, answered the way vLLM answers them: `/v1/chat/completions`
//! (`messages` in, `choices[].message` or `choices[].delta` chunks out) and
//! `/v1/completions` (a `prompt` string or a list of them in, one choice per prompt,
//! `choices[].text` out). Both stream or not, report `usage` (streamed: in a last chunk
//! with no choices, when `stream_options.include_usage` asks for it), refuse a model they
//! do not serve with a 404, and share the server's faults: every Nth request refused, a
//! crash partway through the Nth.

use super::{authorized, sleep_until, unauthorized, Busy, Shared};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::SinkExt;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which endpoint a request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Chat,
    Text,
}

/// What a request asks for.
struct Asked {
    kind: Kind,
    model: String,
    /// One prompt per choice (a chat has one: its messages).
    prompts: Vec<String>,
    max_tokens: usize,
    stream: bool,
    include_usage: bool,
}

impl Asked {
    /// Reads a request body; `Err` is the 400 a malformed prompt gets.
    fn read(kind: Kind, body: &Value) -> Result<Self, String> {
        let prompts = match kind {
            Kind::Chat => vec![body["messages"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|x| x["content"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default()],
            Kind::Text => match &body["prompt"] {
                Value::String(p) => vec![p.clone()],
                Value::Array(items) if !items.is_empty() => items
                    .iter()
                    .map(|p| p.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("`prompt` must be a string or a list of strings")?,
                _ => return Err("`prompt` must be a string or a list of strings".into()),
            },
        };
        Ok(Self {
            kind,
            model: body["model"].as_str().unwrap_or_default().to_owned(),
            prompts,
            // OpenAI's default for a plain completion is 16 tokens.
            max_tokens: body["max_tokens"]
                .as_u64()
                .unwrap_or(if kind == Kind::Chat { 64 } else { 16 })
                .clamp(1, 4096) as usize,
            stream: body["stream"].as_bool().unwrap_or(false),
            include_usage: body["stream_options"]["include_usage"]
                .as_bool()
                .unwrap_or(false),
        })
    }
}

/// The answer to a prompt, token by token: right for the quality prompts, filler otherwise.
pub(super) fn answer(prompt: &str, max_tokens: usize) -> Vec<String> {
    let p = prompt.to_ascii_lowercase();
    let text = if p.contains("15 + 27") {
        "42".to_owned()
    } else if p.contains("capital of france") {
        "Paris".to_owned()
    } else if p.contains("primary colo") {
        "Red, blue, yellow".to_owned()
    } else if p.contains("square") {
        "def square(x):\n    return x ** 2".to_owned()
    } else {
        let words = [
            "Large", "language", "models", "predict", "the", "next", "token", "from", "context,",
            "and",
        ];
        (0..max_tokens)
            .map(|i| words[i % words.len()])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut tokens: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    tokens.truncate(max_tokens.max(1));
    tokens
}

/// Tokens the simulated model makes of a prompt: as a subword tokenizer does, a word of up
/// to five characters is one token and a longer one more (one per five characters), plus 8
/// of the chat template. Words are not tokens, so benchmarks must calibrate.
pub(super) fn tokens_of(prompt: &str) -> usize {
    let words: usize = prompt
        .split_whitespace()
        .map(|w| w.chars().count().div_ceil(5))
        .sum();
    words.max(1) + 8
}

/// `POST /v1/chat/completions`.
pub(super) async fn chat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    complete(shared, headers, Kind::Chat, body).await
}

/// `POST /v1/completions`.
pub(super) async fn text(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    complete(shared, headers, Kind::Text, body).await
}

fn error(status: StatusCode, message: &str) -> Response {
    let kind = match status {
        StatusCode::NOT_FOUND => "NotFoundError",
        StatusCode::BAD_REQUEST => "BadRequestError",
        _ => "InternalServerError",
    };
    let body =
        json!({"object": "error", "message": message, "type": kind, "code": status.as_u16()});
    (status, Json(body)).into_response()
}

/// The choice's end: `length` when it stopped at `max_tokens`.
fn finish(tokens: &[String], max_tokens: usize) -> &'static str {
    if tokens.len() >= max_tokens {
        "length"
    } else {
        "stop"
    }
}

async fn complete(shared: Arc<Shared>, headers: HeaderMap, kind: Kind, body: Value) -> Response {
    let arrived = Instant::now();
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let asked = match Asked::read(kind, &body) {
        Ok(asked) => asked,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    if asked.model != shared.profile.model {
        let message = format!("The model `{}` does not exist.", asked.model);
        return error(StatusCode::NOT_FOUND, &message);
    }
    let number = shared.begun.fetch_add(1, Ordering::SeqCst) + 1;
    let crashes = shared.crash_at == Some(number);
    let every = shared.profile.fail_every as usize;
    if every > 0 && number.is_multiple_of(every) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the engine is overloaded",
        );
    }
    if *shared.crashed.borrow() {
        // Gone: the connection this came on is being cut.
        return std::future::pending().await;
    }
    if crashes && !asked.stream {
        // Dies before answering: the connection is cut with this request in it.
        shared.crashed.send_replace(true);
        return std::future::pending().await;
    }
    let answers: Vec<Vec<String>> = asked
        .prompts
        .iter()
        .map(|p| answer(p, asked.max_tokens))
        .collect();
    let prompt_tokens: usize = asked.prompts.iter().map(|p| tokens_of(p)).sum();
    let completion_tokens: usize = answers.iter().map(Vec::len).sum();
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                       "total_tokens": prompt_tokens + completion_tokens});
    let id = format!(
        "{}-{number}",
        if kind == Kind::Chat {
            "chatcmpl"
        } else {
            "cmpl"
        }
    );
    let created = chrono::Utc::now().timestamp();
    if !asked.stream {
        let _busy = Busy::new(&shared);
        let longest = answers.iter().map(Vec::len).max().unwrap_or(0);
        let profile = &shared.profile;
        let ms = profile.ttft_ms + profile.ms_per_token * longest as f64;
        tokio::time::sleep(Duration::from_secs_f64(ms / 1000.0)).await;
        let choices: Vec<Value> = answers
            .iter()
            .enumerate()
            .map(|(index, tokens)| {
                let end = finish(tokens, asked.max_tokens);
                match kind {
                    Kind::Chat => json!({"index": index, "finish_reason": end, "logprobs": null,
                        "message": {"role": "assistant", "content": tokens.concat()}}),
                    Kind::Text => json!({"index": index, "finish_reason": end, "logprobs": null,
                        "text": tokens.concat(), "stop_reason": null}),
                }
            })
            .collect();
        let object = match kind {
            Kind::Chat => "chat.completion",
            Kind::Text => "text_completion",
        };
        return Json(json!({"id": id, "object": object, "created": created,
            "model": asked.model, "choices": choices, "usage": usage}))
        .into_response();
    }
    let (tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let stream = Streamed {
        shared,
        asked,
        answers,
        prompt_tokens,
        usage,
        id,
        created,
        crashes,
        arrived,
    };
    tokio::spawn(stream.run(tx));
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(rx))
        .expect("a valid response")
}

/// A streamed answer being written.
struct Streamed {
    shared: Arc<Shared>,
    asked: Asked,
    answers: Vec<Vec<String>>,
    prompt_tokens: usize,
    usage: Value,
    id: String,
    created: i64,
    crashes: bool,
    arrived: Instant,
}

type Sender = futures::channel::mpsc::Sender<Result<Bytes, std::io::Error>>;

impl Streamed {
    /// One event: a chunk with `choices`, or the usage chunk (no choices).
    fn event(&self, choices: Vec<Value>, usage: Option<&Value>) -> Result<Bytes, std::io::Error> {
        let object = match self.asked.kind {
            Kind::Chat => "chat.completion.chunk",
            Kind::Text => "text_completion",
        };
        let mut chunk = json!({"id": self.id, "object": object, "created": self.created,
            "model": self.asked.model, "choices": choices});
        if let Some(usage) = usage {
            chunk["usage"] = usage.clone();
        }
        Ok(Bytes::from(format!("data: {chunk}\n\n")))
    }

    /// Choice `index`'s piece of text (`finish`: its end).
    fn choice(&self, index: usize, text: Option<&str>, finish: Option<&str>) -> Value {
        match self.asked.kind {
            Kind::Chat => {
                let delta = text.map_or(json!({}), |t| json!({"content": t}));
                json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish})
            }
            Kind::Text => json!({"index": index, "text": text.unwrap_or(""), "logprobs": null,
                "finish_reason": finish, "stop_reason": null}),
        }
    }

    async fn run(self, mut tx: Sender) {
        let shared = &self.shared;
        // Queued until a decoding slot is free; prefill starts on arrival or when a slot is.
        let (_slot, start) = match shared.slots.clone().try_acquire_owned() {
            Ok(slot) => (slot, self.arrived),
            Err(_) => match shared.slots.clone().acquire_owned().await {
                Ok(slot) => (slot, Instant::now()),
                Err(_) => return,
            },
        };
        // Then until the cache holds its prompt and its reply (never more than all of it).
        let profile = &shared.profile;
        let longest = self.answers.iter().map(Vec::len).max().unwrap_or(0);
        let held = self.prompt_tokens + longest * self.answers.len();
        let held = u32::try_from(held)
            .unwrap_or(u32::MAX)
            .min(u32::try_from(shared.cache_size()).unwrap_or(u32::MAX));
        let (_cache, start) = match shared.cache.clone().try_acquire_many_owned(held) {
            Ok(cache) => (cache, start),
            Err(_) => match shared.cache.clone().acquire_many_owned(held).await {
                Ok(cache) => (cache, Instant::now()),
                Err(_) => return,
            },
        };
        let busy = Busy::new(shared);
        let slowdown = super::settings::crowding;
        // What the prefix cache holds of the prompts is not computed again.
        let cached: usize = if profile.prefix_caching {
            self.asked
                .prompts
                .iter()
                .map(|p| shared.prefixes.serve(p))
                .sum()
        } else {
            0
        };
        let prefill = profile.prefill_ms(self.prompt_tokens.saturating_sub(cached));
        // Each token is due at a point in time from the request's arrival, so waits do not
        // add up over a reply.
        let crowded = super::settings::prefill_crowding(busy.active());
        let mut due = start + Duration::from_secs_f64(prefill * crowded / 1000.0);
        sleep_until(due).await;
        if self.asked.kind == Kind::Chat {
            let role = json!({"index": 0, "delta": {"role": "assistant", "content": ""},
                "logprobs": null, "finish_reason": null});
            let _ = tx.send(self.event(vec![role], None)).await;
        }
        let mut i = 0;
        while i < longest {
            // Now and then a chunk carries two tokens, as real servers' do.
            let take = if i % 8 == 7 && i + 1 < longest { 2 } else { 1 };
            if self.crashes && i >= longest / 2 {
                // The stream breaks without its end (no `[DONE]`, no final chunk).
                shared.crashed.send_replace(true);
                let _ = tx.send(Err(std::io::Error::other("CUDA error"))).await;
                return;
            }
            if i > 0 {
                let wait = profile.ms_per_token * take as f64 * slowdown(busy.active());
                due += Duration::from_secs_f64(wait / 1000.0);
                sleep_until(due).await;
            } else {
                let served = self.arrived.elapsed().as_secs_f64() * 1000.0;
                shared
                    .first_content_ms
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(served);
            }
            for (index, tokens) in self.answers.iter().enumerate() {
                if i >= tokens.len() {
                    continue;
                }
                let piece = &tokens[i..(i + take).min(tokens.len())];
                let choice = self.choice(index, Some(&piece.concat()), None);
                if tx.send(self.event(vec![choice], None)).await.is_err() {
                    return;
                }
            }
            i += take;
        }
        for (index, tokens) in self.answers.iter().enumerate() {
            let end = finish(tokens, self.asked.max_tokens);
            let choice = self.choice(index, None, Some(end));
            let _ = tx.send(self.event(vec![choice], None)).await;
        }
        if self.asked.include_usage {
            let _ = tx.send(self.event(Vec::new(), Some(&self.usage))).await;
        }
        let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
    }
}
