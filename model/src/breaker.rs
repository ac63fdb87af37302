//! The circuit breaker around broker calls, as the status card and the Health tab show it.
//!
//! # Examples
//!
//! ```
//! use gdl_model::breaker::{BreakerPhase, BreakerView};
//!
//! let breaker: BreakerView = serde_json::from_str(r#"{"phase":"half_open","failures":5,
//!     "threshold":5,"open_secs":30.0,"last_error":"connection refused"}"#)?;
//! assert_eq!(breaker.phase, BreakerPhase::HalfOpen);
//! assert_eq!(breaker.phase.label(), "half-open");
//! assert!(breaker.transitions.is_empty(), "left out means none");
//! # Ok::<(), serde_json::Error>(())
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the circuit breaker around broker calls stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BreakerPhase {
    /// Calls go through; failures in a row are counted.
    #[default]
    Closed,
    /// Too many failures in a row: calls fail at once until the probe time.
    Open,
    /// The open time is over: a probe call is let through to see whether the broker is back.
    HalfOpen,
}

impl BreakerPhase {
    /// How the phase reads on the page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

/// One change of the breaker's phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakerTransition {
    /// When the phase changed.
    pub at: DateTime<Utc>,
    /// The phase it changed to.
    pub to: BreakerPhase,
    /// Why, in words (the failure that opened it, the probe that closed it).
    pub reason: String,
}

/// The circuit breaker as the status card and the Health tab show it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakerView {
    /// Where it stands now.
    pub phase: BreakerPhase,
    /// Failures in a row so far (while closed), or the ones that opened it.
    pub failures: u32,
    /// Failures in a row that open it.
    pub threshold: u32,
    /// How long it stays open before a probe, seconds.
    pub open_secs: f64,
    /// When the next probe is let through (while open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_at: Option<DateTime<Utc>>,
    /// The last failure seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The latest phase changes, oldest first.
    #[serde(default)]
    pub transitions: Vec<BreakerTransition>,
}
