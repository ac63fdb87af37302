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
//! - [`gpus`]: the GPU catalogue: architecture, compute capability, memory, bandwidth and
//!   tensor throughput of each card, found from the names brokers send.
//! - [`provider`]: [`provider::Provider`], the GPU clouds the broker rents from.
//! - [`benchmark`]: benchmark samples and vLLM-convention metrics (TTFT, TPOT, ITL, E2EL).
//! - [`inventory`]: the Inventory tab's filters, the offers they select, which fit a model.
//! - [`legacy`]: benchmark files of the Python dashboard, read into our record.
//! - [`live`]: the live channel (WebSocket) frames, events and sequencing rules.
//! - [`reconciled`]: sessions nothing owned that the reconciler destroyed on its own.
//! - [`engines`]: the engines (vLLM, SGLang), their supported versions and what each needs:
//!   driver CUDA version, GPU architectures, quantizations per architecture.
//! - [`registry`]: model presets, aliases, VRAM estimates and quantized checkpoints.
//! - [`runs`]: deployment-test runs, their 11 steps, logs, host reports and benchmark records.
//! - [`secret`]: [`secret::SshPrivateKey`] and [`secret::HfToken`], secrets that never print
//!   or serialise themselves.
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
pub mod campaigns;
pub mod code;
pub mod compare;
pub mod costs;
pub mod deployments;
pub mod embed;
pub mod engines;
pub mod error;
pub mod export;
pub mod gpus;
pub mod health;
pub mod ids;
pub mod inventory;
pub mod legacy;
pub mod live;
pub mod prices;
pub mod provider;
pub mod query;
pub mod reconciled;
pub mod registry;
pub mod runs;
pub mod secret;
pub mod sessions;
pub mod shopper;
pub mod status;
pub mod time;
pub mod tuning;

/// The product version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Prefix of every `consumer_id` this product has ever used, across versions and
/// installations.
pub const CONSUMER_PREFIX: &str = "gpu-deploy-llm/";

/// The `consumer_id` of one installation (one data directory, or one database that several
/// replicas share): `gpu-deploy-llm/<installation id>`. Two dashboards on one broker never
/// take each other's sessions for their own.
///
/// # Examples
///
/// ```
/// use gdl_model::{consumer_id, whose, Whose};
/// let mine = consumer_id("3f9c2a7b1d4e");
/// assert_eq!(mine, "gpu-deploy-llm/3f9c2a7b1d4e");
/// assert_eq!(whose(&mine, &mine), Whose::ThisInstallation);
/// assert_eq!(whose("gpu-deploy-llm/77aa01bc2d3e", &mine), Whose::OtherInstallation);
/// ```
pub fn consumer_id(installation: &str) -> String {
    format!("{CONSUMER_PREFIX}{installation}")
}

/// The `consumer_id` of a client tied to no installation (the one-shot CLI commands that
/// talk to a broker without a data directory), and of every version before installations
/// had ids: `gpu-deploy-llm/v<version>`.
pub fn version_consumer_id() -> String {
    format!("{CONSUMER_PREFIX}v{VERSION}")
}

/// Whose a broker session is, as far as its `consumer_id` tells. The store knows more: a
/// session one of this installation's runs rented is this installation's whatever its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whose {
    /// Made with this installation's id.
    ThisInstallation,
    /// Made by a version of this product from before installation ids
    /// (`gpu-deploy-llm/v0.1.0`): this installation's only if one of its runs rented it.
    OlderVersion,
    /// Made by another installation of this product (another dashboard on this broker).
    OtherInstallation,
    /// Not made by this product.
    NotThisProduct,
}

/// Reads a session's `consumer_id` against this installation's (`mine`).
pub fn whose(consumer_id: &str, mine: &str) -> Whose {
    if consumer_id == mine {
        return Whose::ThisInstallation;
    }
    let Some(rest) = consumer_id.strip_prefix(CONSUMER_PREFIX) else {
        return Whose::NotThisProduct;
    };
    let mut chars = rest.chars();
    if chars.next() == Some('v') && chars.next().is_some_and(|c| c.is_ascii_digit()) {
        Whose::OlderVersion
    } else {
        Whose::OtherInstallation
    }
}

/// Whether a broker session was made by this product (any version or installation).
///
/// # Examples
///
/// ```
/// use gdl_model::is_our_consumer;
/// assert!(is_our_consumer("gpu-deploy-llm/v0.0.1"));
/// assert!(is_our_consumer("gpu-deploy-llm/3f9c2a7b1d4e"));
/// assert!(!is_our_consumer("bench-123-1"));
/// ```
pub fn is_our_consumer(consumer_id: &str) -> bool {
    consumer_id.starts_with(CONSUMER_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_ids_tell_installations_versions_and_strangers_apart() {
        let mine = consumer_id("3f9c2a7b1d4e");
        assert!(is_our_consumer(&mine));
        assert_eq!(whose(&mine, &mine), Whose::ThisInstallation);
        assert_eq!(version_consumer_id(), format!("gpu-deploy-llm/v{VERSION}"));
        assert_eq!(whose(&version_consumer_id(), &mine), Whose::OlderVersion);
        assert_eq!(whose("gpu-deploy-llm/v0.0.1", &mine), Whose::OlderVersion);
        assert_eq!(
            whose("gpu-deploy-llm/0a1b2c3d4e5f", &mine),
            Whose::OtherInstallation
        );
        // A version-like id that is not one ("v" then no digit) is another installation's.
        assert_eq!(whose("gpu-deploy-llm/vx", &mine), Whose::OtherInstallation);
        assert_eq!(whose("bench-123-1", &mine), Whose::NotThisProduct);
        assert_eq!(whose("gpu-deploy-llmx", &mine), Whose::NotThisProduct);
        assert!(!is_our_consumer("gpu-deploy-llmx"));
    }
}
