//! What the accept loop allows and what it has seen: a leaf the settings, the state and
//! `/metrics` read without reaching the loop itself.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// What the accept loop allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once, live channels included.
    pub max: usize,
    /// The longest a client may take to send a request's headers.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max: 4096,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// What the accept loop has seen since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Connections open now.
    pub open: AtomicU64,
    /// Connections accepted since start.
    pub accepted: AtomicU64,
    /// Times the loop stopped accepting because the cap was reached.
    pub at_cap: AtomicU64,
}
