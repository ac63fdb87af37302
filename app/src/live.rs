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

/// A count of the changes of `read()` (something read from the live store), seen in the
/// browser only: a resource whose source includes it is asked again when the live state
/// says its answer is out of date. On the server it stays 0, so nothing rendered there
/// depends on the store while the first paint is written into it, and the browser, starting
/// from the same 0, does not ask again as it hydrates.
pub fn changes<T>(read: impl Fn() -> T + Send + Sync + 'static) -> leptos::prelude::ReadSignal<u64>
where
    T: PartialEq + Send + Sync + 'static,
{
    use leptos::prelude::*;
    let count = RwSignal::new(0u64);
    Effect::new(move |before: Option<T>| {
        let now = read();
        if before.is_some_and(|b| b != now) {
            count.update(|c| *c += 1);
        }
        now
    });
    count.read_only()
}

/// Creates the store, provides it as context and, in the browser, starts the connection.
pub fn provide_live() -> LiveStore {
    let store = LiveStore::new();
    leptos::prelude::provide_context(store);
    #[cfg(feature = "hydrate")]
    driver::start(store);
    store
}
