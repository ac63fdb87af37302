//! Connection state, reconnect backoff and link quality: plain functions the driver uses
//! and the header shows.

/// Failed attempts after which the dashboard is shown as offline (it keeps retrying).
pub const OFFLINE_AFTER: u32 = 6;
/// How often the client pings.
pub const PING_EVERY_MS: f64 = 5_000.0;
/// Pings without an answer after which the connection is given up and reopened.
pub const MISSED_PONGS_LIMIT: u32 = 3;
/// Frames kept while disconnected; older ones are dropped (and counted) beyond this.
pub const OUTBOX_LIMIT: usize = 64;

/// Where the connection stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ConnState {
    /// First attempt under way.
    #[default]
    Connecting,
    Connected,
    /// Retrying: attempt `attempt` failed, the next try is at `next_try_at_ms`.
    Reconnecting {
        attempt: u32,
        next_try_at_ms: f64,
    },
    /// Many attempts failed; still retrying at the capped interval.
    Offline {
        attempt: u32,
        next_try_at_ms: f64,
    },
    /// The server refused this page for good (its embed token was revoked): no retries.
    Refused {
        reason: String,
    },
}

impl ConnState {
    /// A stable word for styles and tests.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Offline { .. } => "offline",
            Self::Refused { .. } => "refused",
        }
    }

    /// The state after `attempt` consecutive failures, retrying at `next_try_at_ms`.
    pub fn after_failure(attempt: u32, next_try_at_ms: f64) -> Self {
        if attempt >= OFFLINE_AFTER {
            Self::Offline {
                attempt,
                next_try_at_ms,
            }
        } else {
            Self::Reconnecting {
                attempt,
                next_try_at_ms,
            }
        }
    }

    /// What the header says, with `now_ms` for the countdown.
    pub fn describe(&self, now_ms: f64) -> String {
        let wait = |at: f64| ((at - now_ms) / 1000.0).ceil().max(0.0) as u64;
        match self {
            Self::Connecting => "Connecting…".into(),
            Self::Connected => "Connected".into(),
            Self::Reconnecting {
                attempt,
                next_try_at_ms,
            } => format!(
                "Reconnecting (attempt {attempt}, next try in {} s)",
                wait(*next_try_at_ms)
            ),
            Self::Offline { next_try_at_ms, .. } => {
                format!(
                    "Offline: the dashboard server does not answer (next try in {} s)",
                    wait(*next_try_at_ms)
                )
            }
            Self::Refused { reason } => format!("Disconnected: {reason}"),
        }
    }
}

/// Delay before reconnect attempt `attempt` (1-based): exponential from 500 ms, capped at
/// 30 s, with "equal jitter" (half fixed, half random) so many browsers do not retry in step.
pub fn backoff_ms(attempt: u32, random01: f64) -> f64 {
    let exp = 500.0 * 2f64.powi(attempt.saturating_sub(1).min(16) as i32);
    let capped = exp.min(30_000.0);
    capped / 2.0 + capped / 2.0 * random01.clamp(0.0, 1.0)
}

/// Link quality from the last round-trip time and unanswered pings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    Good,
    Degraded,
    Poor,
}

impl Quality {
    /// A stable word.
    pub fn key(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Degraded => "degraded",
            Self::Poor => "poor",
        }
    }
}

/// Good under 300 ms with every ping answered; poor past 1.5 s or two missed pongs.
pub fn quality(rtt_ms: Option<f64>, missed_pongs: u32) -> Quality {
    match (rtt_ms, missed_pongs) {
        (_, m) if m >= 2 => Quality::Poor,
        (Some(r), _) if r > 1500.0 => Quality::Poor,
        (_, 1) => Quality::Degraded,
        (Some(r), _) if r > 300.0 => Quality::Degraded,
        _ => Quality::Good,
    }
}

/// What the header shows about the connection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnInfo {
    pub state: ConnState,
    pub rtt_ms: Option<f64>,
    pub missed_pongs: u32,
    /// When the last data frame arrived (browser clock, ms).
    pub last_event_at_ms: Option<f64>,
    /// Why the server last closed the connection, if it said.
    pub last_close_reason: Option<String>,
    /// Why the server refused this page for good (a revoked embed token), if it did.
    pub refused: Option<String>,
    /// Outgoing frames dropped because the outbox was full while disconnected.
    pub outbox_dropped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_panel_says_why() {
        let refused = ConnState::Refused {
            reason: "the embed token of this panel was revoked".into(),
        };
        assert_eq!(refused.key(), "refused");
        assert_eq!(
            refused.describe(0.0),
            "Disconnected: the embed token of this panel was revoked"
        );
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(1, 0.0), 250.0);
        assert_eq!(backoff_ms(1, 1.0), 500.0);
        assert_eq!(backoff_ms(3, 1.0), 2000.0);
        assert_eq!(backoff_ms(20, 1.0), 30_000.0);
        assert_eq!(backoff_ms(20, 0.0), 15_000.0);
    }

    #[test]
    fn states_and_quality() {
        assert_eq!(ConnState::after_failure(2, 0.0).key(), "reconnecting");
        assert_eq!(
            ConnState::after_failure(OFFLINE_AFTER, 0.0).key(),
            "offline"
        );
        let s = ConnState::Reconnecting {
            attempt: 3,
            next_try_at_ms: 4500.0,
        };
        assert_eq!(
            s.describe(1000.0),
            "Reconnecting (attempt 3, next try in 4 s)"
        );
        assert_eq!(quality(Some(20.0), 0), Quality::Good);
        assert_eq!(quality(Some(400.0), 0), Quality::Degraded);
        assert_eq!(quality(Some(20.0), 1), Quality::Degraded);
        assert_eq!(quality(None, 2), Quality::Poor);
        assert_eq!(quality(Some(2000.0), 0), Quality::Poor);
    }
}
