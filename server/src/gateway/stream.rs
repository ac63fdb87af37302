//! A streamed reply passed through as it comes, event by event, while it is metered: the
//! first content chunk gives time to first token, the last one time per output token, the
//! final `usage` chunk the tokens. The gateway asks the engine for that usage chunk
//! (`stream_options.include_usage`) and drops it again when the client did not ask for it,
//! so a client sees exactly the stream it asked for. A stream that breaks, or stalls past
//! the gateway's limit, ends with an OpenAI error event (the OpenAI client raises it).

use super::GatewayConfig;
use crate::deploy::{Live, Measured};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use gdl_model::deployments::TokenUsage;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest event passed through (bytes).
const MAX_EVENT: usize = 1024 * 1024;

/// The body to send the engine, whether the client asked for a stream, and whether it asked
/// for the usage chunk itself. A deployment serves one model: whatever `model` the client
/// names (the preset, an alias, the repository), the engine is asked for `served`.
pub fn prepare(body: &Bytes, served: Option<&str>) -> (Bytes, bool, bool) {
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(body) else {
        return (body.clone(), false, false);
    };
    if let (Some(served), Some(model)) = (served, request.get_mut("model")) {
        *model = Value::String(served.to_owned());
    }
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        let body = serde_json::to_vec(&request)
            .map(Bytes::from)
            .unwrap_or_else(|_| body.clone());
        return (body, false, false);
    }
    let options = request
        .entry("stream_options")
        .or_insert_with(|| Value::Object(Default::default()));
    let asked = options
        .get("include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Value::Object(options) = options {
        options.insert("include_usage".into(), Value::Bool(true));
    }
    let body = serde_json::to_vec(&request)
        .map(Bytes::from)
        .unwrap_or_else(|_| body.clone());
    (body, true, asked)
}

/// What the events so far measured.
struct Tally {
    arrived: Instant,
    first: Option<Instant>,
    last: Option<Instant>,
    chunks: u64,
    usage: Option<TokenUsage>,
}

/// The parts of a streamed chunk the meter reads (the rest is passed on unread).
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    choices: Option<Vec<Choice<'a>>>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reasoning_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl Tally {
    fn new(arrived: Instant) -> Self {
        Self {
            arrived,
            first: None,
            last: None,
            chunks: 0,
            usage: None,
        }
    }

    fn measured(&self, failed: bool) -> Measured {
        let ms = |a: Instant, b: Instant| b.duration_since(a).as_secs_f64() * 1000.0;
        let tokens = self
            .usage
            .map_or(self.chunks, |u| u.completion_tokens.max(self.chunks.min(1)));
        let tpot = match (self.first, self.last) {
            (Some(first), Some(last)) if tokens > 1 => Some(ms(first, last) / (tokens - 1) as f64),
            _ => None,
        };
        Measured {
            usage: self.usage,
            ttft_ms: self.first.map(|f| ms(self.arrived, f)),
            tpot_ms: tpot,
            failed,
        }
    }

    /// Reads one event's data; whether to pass it on.
    fn event(&mut self, data: &str, asked_usage: bool) -> bool {
        if data.trim() == "[DONE]" {
            return true;
        }
        let Ok(chunk) = serde_json::from_str::<Chunk>(data) else {
            return true;
        };
        let choices = chunk.choices.unwrap_or_default();
        let content = choices.first().and_then(|c| {
            let delta = c.delta.as_ref();
            delta
                .and_then(|d| d.content.as_deref())
                .or(c.text.as_deref())
                .or(delta.and_then(|d| d.reasoning_content.as_deref()))
        });
        if content.is_some_and(|c| !c.is_empty()) {
            let now = Instant::now();
            self.first.get_or_insert(now);
            self.last = Some(now);
            self.chunks += 1;
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(TokenUsage {
                prompt_tokens: usage.prompt_tokens.unwrap_or(0),
                completion_tokens: usage.completion_tokens.unwrap_or(0),
            });
            return asked_usage || !choices.is_empty();
        }
        true
    }
}

/// A streamed reply on its way: read from the engine, metered, passed to the client as it
/// comes. Polled by the client's connection itself (no task or channel between): when the
/// client goes away it is dropped, which closes the engine's stream and records the
/// request as failed.
struct Passing {
    answer: reqwest::Response,
    live: Arc<Live>,
    tally: Tally,
    buffer: Vec<u8>,
    asked_usage: bool,
    stall: Duration,
    /// Set once the request is recorded (at the stream's end, or on drop).
    recorded: bool,
}

impl Passing {
    /// The next bytes for the client: events passed on, or the error event that ends a
    /// broken stream; `None` once it ended.
    async fn next(&mut self) -> Option<Bytes> {
        if self.recorded {
            return None;
        }
        loop {
            let chunk = match tokio::time::timeout(self.stall, self.answer.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => return self.end(None),
                Ok(Err(e)) => {
                    let why = format!("the engine's stream broke off ({})", e.without_url());
                    return self.end(Some(why));
                }
                Err(_) => {
                    let why = format!("the engine sent nothing for {} s", self.stall.as_secs());
                    return self.end(Some(why));
                }
            };
            self.buffer.extend_from_slice(&chunk);
            let mut out = Vec::new();
            while let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&event);
                let data: String = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                if data.is_empty() || self.tally.event(&data, self.asked_usage) {
                    out.extend_from_slice(&event);
                }
            }
            if self.buffer.len() > MAX_EVENT {
                let why = "the engine sent an event larger than the gateway passes";
                return self.end(Some(why.into()));
            }
            if !out.is_empty() {
                return Some(Bytes::from(out));
            }
        }
    }

    /// Records the request; the error event to send when it `failed`.
    fn end(&mut self, failed: Option<String>) -> Option<Bytes> {
        self.recorded = true;
        self.live
            .request_ended(self.tally.measured(failed.is_some()));
        failed.map(|message| {
            let error = super::Refusal::new(gdl_model::code::ErrorCode::UpstreamFailed, message);
            Bytes::from(format!("data: {}\n\n", error.body()))
        })
    }
}

impl Drop for Passing {
    /// The client closed the stream before its end: a failed request.
    fn drop(&mut self) {
        if !self.recorded {
            self.live.request_ended(self.tally.measured(true));
        }
    }
}

/// Passes `answer`'s events to the client as they come, metering them.
pub fn pass(
    config: &GatewayConfig,
    live: Arc<Live>,
    answer: reqwest::Response,
    arrived: Instant,
    asked_usage: bool,
) -> Response {
    let passing = Passing {
        answer,
        live,
        tally: Tally::new(arrived),
        buffer: Vec::new(),
        asked_usage,
        stall: config.upstream_timeout,
        recorded: false,
    };
    let stream = futures::stream::unfold(passing, |mut passing| async move {
        let bytes = passing.next().await?;
        Some((Ok::<_, std::io::Error>(bytes), passing))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_asks_for_usage_and_remembers_whether_the_client_did() {
        let (body, streamed, asked) = prepare(
            &Bytes::from_static(br#"{"stream":true,"model":"m"}"#),
            Some("org/m"),
        );
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert!(streamed && !asked);
        assert_eq!(
            sent["model"], "org/m",
            "the served model, whatever the client named"
        );
        assert_eq!(sent["stream_options"]["include_usage"], true);
        let (_, _, asked) = prepare(
            &Bytes::from_static(br#"{"stream":true,"stream_options":{"include_usage":true}}"#),
            None,
        );
        assert!(asked);
        let plain = Bytes::from_static(br#"{"model":"m"}"#);
        assert_eq!(prepare(&plain, None), (plain.clone(), false, false));
    }

    #[test]
    fn the_usage_chunk_is_counted_and_dropped_unless_asked_for() {
        let mut tally = Tally::new(Instant::now());
        assert!(tally.event(r#"{"choices":[{"delta":{"content":"Hi"}}]}"#, false));
        assert!(tally.event(r#"{"choices":[{"delta":{"content":" there"}}]}"#, false));
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#;
        assert!(!tally.event(usage, false), "not asked for: dropped");
        assert!(tally.event(usage, true), "asked for: passed");
        assert!(tally.event("[DONE]", false));
        let m = tally.measured(false);
        assert_eq!(m.usage.unwrap().completion_tokens, 2);
        assert!(m.ttft_ms.is_some() && m.tpot_ms.is_some());
    }
}
