//! What the gateway counted for one deployment: requests, tokens, errors, and time to first
//! token and per output token as a client sees them through the gateway.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The tokens one request used, as the engine reported them (`usage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
}

/// A deployment's meter.
///
/// Percentiles are over the most recent requests (the server keeps a window of them);
/// `None` before any streamed request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meter {
    /// Requests forwarded to the engine (answered or not).
    pub requests: u64,
    /// Requests that failed: the engine's 5xx, a broken stream, a timeout, or the gateway
    /// refusing because the engine was not ready.
    pub errors: u64,
    /// Prompt tokens the engine reported.
    pub input_tokens: u64,
    /// Completion tokens the engine reported.
    pub output_tokens: u64,
    /// Request in → first content out, streamed requests (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The 95th percentile of the same.
    pub ttft_p95_ms: Option<f64>,
    /// Time per output token after the first, streamed requests (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The 95th percentile of the same.
    pub tpot_p95_ms: Option<f64>,
    /// When the last request arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_request_at: Option<DateTime<Utc>>,
}

impl Meter {
    /// Tokens in and out.
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}
