//! The browser side of the live channel (see `gdl_model::live` for the contract).
//!
//! - [`client`]: what a received frame does to the mirrored state (plain Rust, tested
//!   without a browser): snapshots replace, events apply in `seq` order, duplicates are
//!   skipped, gaps ask for a resync, unparseable frames are counted with their error.
//! - [`conn`]: the connection state machine's pieces: backoff with jitter, quality.
//! - `store`: [`LiveStore`], the reactive signals pages read, and the bounded outbox.
//! - `driver` (browser only): the WebSocket loop (gloo-net) with heartbeat and reconnect.

pub mod client;
pub mod conn;
#[cfg(feature = "hydrate")]
mod driver;
mod store;

pub use store::{use_live, LiveStore};

/// Creates the store, provides it as context and, in the browser, starts the connection.
pub fn provide_live() -> LiveStore {
    let store = LiveStore::new();
    leptos::prelude::provide_context(store);
    #[cfg(feature = "hydrate")]
    driver::start(store);
    store
}
