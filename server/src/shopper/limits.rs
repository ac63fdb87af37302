//! How long the client waits for the broker, and how much of it it reads.

use std::time::Duration;

/// Every timeout the dashboard uses with the broker, in one place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeouts {
    /// Ordinary calls (lists, gets, extend). A cold inventory takes ~6 s on the broker.
    pub request: Duration,
    /// `/health` and `/ready` probes: short, so an offline broker is reported quickly.
    pub probe: Duration,
    /// How long [`ShopperClient::wait_for_ready`] waits.
    pub ready_wait: Duration,
    /// Create, done and delete block on the provider (destroy verification takes ≥ 5 s and
    /// up to ~275 s; Blue Lobster creates block up to 5 min).
    pub provider_call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request: Duration::from_secs(30),
            probe: Duration::from_secs(2),
            ready_wait: Duration::from_secs(120),
            provider_call: Duration::from_secs(330),
        }
    }
}

/// What the client reads of a broker at most: a broker is trusted to answer its API, not
/// to be small or finite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplyLimits {
    /// Bytes of one reply body.
    pub max_reply_bytes: usize,
    /// Pages of one paged listing (the inventory).
    pub max_pages: u32,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        Self {
            max_reply_bytes: 32 << 20,
            max_pages: 50,
        }
    }
}
