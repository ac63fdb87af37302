//! Wire types of gpu-deploy-llm, usable without Leptos (serde only).
//!
//! # Layout
//! - [`shopper`]: the cloud-gpu-shopper broker's HTTP contract: offers, sessions, the create
//!   request and its one-time SSH key, health, costs and the broker's error bodies. Tolerant
//!   where the broker is inconsistent (RFC 3339 variants, missing fields, `[]` vs `null`).
//! - [`api`]: the dashboard's own API: status, session views and the error shape
//!   `{code, message, hint, request_id}` used everywhere a person or program reads an error.
//! - [`costs`]: cost reports (today, this month, a range) and each run's cost.
//! - [`export`]: benchmark records as CSV.
//! - [`health`]: how the dashboard is doing: the broker circuit breaker and more.
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

pub mod api;
pub mod benchmark;
pub mod code;
pub mod compare;
pub mod costs;
pub mod export;
pub mod health;
pub mod inventory;
pub mod legacy;
pub mod live;
pub mod prices;
pub mod provider;
pub mod registry;
pub mod runs;
pub mod secret;
pub mod shopper;
pub mod time;

/// The product version, as used in the broker `consumer_id`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Prefix of every `consumer_id` this product has ever used, across versions.
pub const CONSUMER_PREFIX: &str = "gpu-deploy-llm/";

/// The `consumer_id` of this version: `gpu-deploy-llm/v<version>`.
pub fn consumer_id() -> String {
    format!("{CONSUMER_PREFIX}v{VERSION}")
}

/// Whether a broker session belongs to this product (any version).
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
