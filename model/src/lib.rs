//! Wire types of gpu-deploy-llm, usable without Leptos (serde only).
//!
//! The crate depends only on serde, serde_json, serde_urlencoded, chrono and zeroize (plus
//! utoipa behind the optional `openapi` feature): no Leptos, no axum, no async runtime. A client program, a
//! script's helper or a test can read what the dashboard and the broker send with the same
//! types the server writes them with.
//!
//! # Layout
//! - [`shopper`]: the cloud-gpu-shopper broker's HTTP contract: offers, sessions, the create
//!   request and its one-time SSH key, health, costs and the broker's error bodies. Tolerant
//!   where the broker is inconsistent (RFC 3339 variants, missing fields, `[]` vs `null`).
//! - [`error`]: [`error::ApiError`], the one error shape `{code, message, hint, request_id}`
//!   used everywhere a person or program reads an error.
//! - [`status`]: the broker and its inventory at a glance (`GET /api/status`).
//! - [`sessions`]: our sessions as the dashboard shows them, their actions, the orphans.
//! - [`query`]: the filters and pages every door decodes with the same struct.
//! - [`ids`]: typed ids (run, session, benchmark, offer), strings on the wire.
//! - [`breaker`]: the circuit breaker around broker calls, as the pages show it.
//! - [`costs`]: cost reports (today, this month, a range) and each run's cost.
//! - [`embed`]: embed tokens (read-only, revocable) and the embeddable panels' settings.
//! - [`export`]: benchmark records as CSV.
//! - [`health`]: how the dashboard is doing: the broker, the live channel, runner and store.
//! - [`compare`]: one model across GPUs and providers: the price-performance frontier.
//! - [`code`]: [`code::ErrorCode`], every error code the product shows, defined once.
//! - [`provider`]: [`provider::Provider`], the GPU clouds the broker rents from.
//! - [`benchmark`]: benchmark samples and vLLM-convention metrics (TTFT, TPOT, ITL, E2EL).
//! - [`inventory`]: the Inventory tab's filters, the offers they select, which fit a model.
//! - [`legacy`]: benchmark files of the Python dashboard, read into our record.
//! - [`live`]: the live channel (WebSocket) frames, events and sequencing rules.
//! - [`registry`]: model presets, aliases, VRAM estimates and quantized checkpoints.
//! - [`runs`]: deployment-test runs, their 11 steps, logs, host reports and benchmark records.
//! - [`secret`]: [`secret::SshPrivateKey`], a key that never prints or serialises itself.
//! - [`time`]: lenient timestamp parsing shared by the types above.
//! - [`prices`]: what renting cost over a time, and prices by GPU type across providers.
//!
//! # Examples
//!
//! A client of the live channel (`/ws`) reads each text frame as a [`live::ServerFrame`],
//! keeps the snapshot, and applies the events that come next in order
//! ([`live::sequence`] says what to do with each):
//!
//! ```
//! use gdl_model::live::{sequence, LiveState, Sequencing, ServerFrame};
//!
//! let frames = [
//!     r#"{"type":"snapshot","epoch":"boot-1","seq":7,"state":{"sessions":{}}}"#,
//!     r#"{"type":"event","epoch":"boot-1","seq":8,"event":{"kind":"run_log","line":
//!         {"run_id":"run-1","n":1,"at":"2026-11-24T01:00:00Z","level":"info",
//!          "message":"Selected RTX 4090 on vastai"}}}"#,
//!     r#"{"type":"event","epoch":"boot-1","seq":8,"event":{"kind":"session_removed","id":"s"}}"#,
//! ];
//! let mut state = LiveState::default();
//! let (mut epoch, mut seq) = (None::<String>, 0);
//! for text in frames {
//!     match serde_json::from_str::<ServerFrame>(text)? {
//!         ServerFrame::Snapshot { epoch: e, seq: s, state: whole } => {
//!             state = whole;
//!             (epoch, seq) = (Some(e), s);
//!         }
//!         ServerFrame::Event { epoch: e, seq: s, event } => {
//!             match sequence(epoch.as_deref(), seq, &e, s) {
//!                 Sequencing::Apply => {
//!                     state.apply(&event);
//!                     seq = s;
//!                 }
//!                 Sequencing::Skip => {} // already applied
//!                 Sequencing::Gap => unreachable!("a client would send ClientFrame::Resync"),
//!             }
//!         }
//!         _ => {}
//!     }
//! }
//! assert_eq!(seq, 8, "the duplicate seq 8 was skipped");
//! assert_eq!(state.logs["run-1"][0].message, "Selected RTX 4090 on vastai");
//! # Ok::<(), serde_json::Error>(())
//! ```

#![deny(missing_docs)]

pub mod benchmark;
pub mod breaker;
pub mod code;
pub mod compare;
pub mod costs;
pub mod embed;
pub mod error;
pub mod export;
pub mod health;
pub mod ids;
pub mod inventory;
pub mod legacy;
pub mod live;
pub mod prices;
pub mod provider;
pub mod query;
pub mod registry;
pub mod runs;
pub mod secret;
pub mod sessions;
pub mod shopper;
pub mod status;
pub mod time;

/// The product version, as used in the broker `consumer_id`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Prefix of every `consumer_id` this product has ever used, across versions.
pub const CONSUMER_PREFIX: &str = "gpu-deploy-llm/";

/// The `consumer_id` of this version: `gpu-deploy-llm/v<version>`.
///
/// # Examples
///
/// ```
/// let id = gdl_model::consumer_id();
/// assert_eq!(id, format!("gpu-deploy-llm/v{}", gdl_model::VERSION));
/// assert!(gdl_model::is_our_consumer(&id));
/// ```
pub fn consumer_id() -> String {
    format!("{CONSUMER_PREFIX}v{VERSION}")
}

/// Whether a broker session belongs to this product (any version).
///
/// # Examples
///
/// ```
/// use gdl_model::is_our_consumer;
/// assert!(is_our_consumer("gpu-deploy-llm/v0.0.1"));
/// assert!(!is_our_consumer("bench-123-1"));
/// ```
pub fn is_our_consumer(consumer_id: &str) -> bool {
    consumer_id.starts_with(CONSUMER_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_id_has_version_and_matches_prefix() {
        let id = consumer_id();
        assert_eq!(id, format!("gpu-deploy-llm/v{VERSION}"));
        assert!(is_our_consumer(&id));
        assert!(is_our_consumer("gpu-deploy-llm/v0.0.1"));
        assert!(!is_our_consumer("bench-123-1"));
        assert!(!is_our_consumer("gpu-deploy-llmx"));
    }
}
