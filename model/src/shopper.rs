//! The cloud-gpu-shopper broker's HTTP contract (`/api/v1/*`, `/health`, `/ready`).
//!
//! Field names and optionality follow the broker's Go structs: `omitempty` fields are
//! `Option` or `#[serde(default)]`, lists that may be `null` deserialise as empty, and
//! timestamps parse leniently (see [`crate::time`]).
//!
//! # Examples
//!
//! A client reading the broker's session list, as it answers it:
//!
//! ```
//! use gdl_model::shopper::{Provider, SessionList, SessionStatus};
//!
//! let body = r#"{"sessions":[{"id":"3f0c1e9a","consumer_id":"gpu-deploy-llm/v0.1.0",
//!     "provider":"vastai","gpu_type":"RTX 4090","gpu_count":1,"status":"stopped",
//!     "error":"SSH verification timeout","workload_type":"llm_vllm","reservation_hours":1,
//!     "price_per_hour":0.41,"created_at":"2026-03-05T14:00:00.123Z",
//!     "expires_at":"0001-01-01T00:00:00Z"}],"count":1}"#;
//! let list: SessionList = serde_json::from_str(body)?;
//! let s = &list.sessions[0];
//! assert_eq!((s.provider.clone(), s.status), (Provider::VastAi, SessionStatus::Stopped));
//! assert_eq!(s.error_text(), Some("SSH verification timeout"), "stopped, but it ended badly");
//! assert_eq!(s.expires_at, None, "Go's zero time means unset");
//! assert!(gdl_model::is_our_consumer(&s.consumer_id));
//!
//! // `null` lists read as empty.
//! let none: SessionList = serde_json::from_str(r#"{"sessions":null,"count":0}"#)?;
//! assert!(none.sessions.is_empty());
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::ids::SessionId;
pub use crate::provider::Provider;
use crate::time::de_optional;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod errors;
mod offers;
mod provider_errors;
mod sessions;
pub use errors::{BrokerErrorBody, DiskBreakdown};
pub use offers::{InventoryPage, InventoryQuery, Offer, TemplateRef};
pub use provider_errors::{explain_provider_error, provider_error_sentence};
pub use sessions::{
    CreateSessionRequest, CreateSessionResponse, ExtendRequest, ExtendResponse, Session,
    SessionDiagnostics, SessionList, SessionMessage, SessionQuery, SessionStatus,
};

/// Workload types accepted by `POST /api/v1/sessions` (its `workload_type`).
pub const WORKLOAD_TYPES: [&str; 9] = [
    "llm",
    "llm_vllm",
    "llm_tgi",
    "training",
    "batch",
    "interactive",
    "inference",
    "ssh",
    "benchmark",
];

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `GET /health` body (200 when ready, 503 when not, same shape).
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::Health;
///
/// let starting: Health = serde_json::from_str(r#"{"status":"unavailable",
///     "timestamp":"2026-03-05T14:00:00.5Z",
///     "services":{"lifecycle":"running","inventory":"ok","ready":"false"}}"#)?;
/// assert_eq!(starting.status, "unavailable");
/// assert_eq!(starting.services.ready, "false", "a string, not a bool");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// When the broker answered; `None` when it sent none.
    #[serde(default, deserialize_with = "de_optional")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Its services' states (empty when left out).
    #[serde(default)]
    pub services: HealthServices,
}

/// The `services` object of [`Health`]; `ready` is the string `"true"`/`"false"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthServices {
    /// The lifecycle manager (expiry, reconciler): `running` or `stopped`.
    #[serde(default)]
    pub lifecycle: String,
    /// The inventory service: `ok` (empty when the broker left it out).
    #[serde(default)]
    pub inventory: String,
    /// `true` or `false` (false during the broker's startup sweep).
    #[serde(default)]
    pub ready: String,
}

/// `GET /ready` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ready {
    /// Whether the broker takes work (200 when true, 503 when false).
    pub ready: bool,
    /// When the broker answered; `None` when it sent none.
    #[serde(default, deserialize_with = "de_optional")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// `GET /api/v1/costs?session_id=` reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionCost {
    /// The session asked about.
    pub session_id: SessionId,
    /// What it has cost so far, in `currency` (the broker bills whole hours).
    pub total_cost: f64,
    /// `USD`.
    #[serde(default)]
    pub currency: String,
}

/// `GET /api/v1/costs` (without `session_id`) and `/api/v1/costs/summary` reply.
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::CostSummary;
///
/// let summary: CostSummary = serde_json::from_str(r#"{"consumer_id":"gpu-deploy-llm/v0.1.0",
///     "total_cost":1.23,"session_count":3,"hours_used":4,"by_provider":{"vastai":1.23},
///     "period_start":"2026-11-01T00:00:00Z","period_end":"0001-01-01T00:00:00Z"}"#)?;
/// assert_eq!(summary.by_provider["vastai"], 1.23);
/// assert!(summary.by_gpu_type.is_empty(), "omitted by the broker when empty");
/// assert!(summary.period_start.is_some() && summary.period_end.is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostSummary {
    /// The consumer summarised; `None` for every consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_id: Option<String>,
    /// Everything in the period, USD.
    #[serde(default)]
    pub total_cost: f64,
    /// Sessions with costs in the period.
    #[serde(default)]
    pub session_count: u32,
    /// Number of hourly cost records (the broker's naming).
    #[serde(default)]
    pub hours_used: f64,
    /// Provider wire name → USD.
    #[serde(default)]
    pub by_provider: BTreeMap<String, f64>,
    /// GPU type → USD.
    #[serde(default)]
    pub by_gpu_type: BTreeMap<String, f64>,
    /// The period's start; `None` when the broker sent none (or Go's zero time).
    #[serde(default, deserialize_with = "de_optional")]
    pub period_start: Option<DateTime<Utc>>,
    /// The period's end; `None` when the broker sent none (or Go's zero time).
    #[serde(default, deserialize_with = "de_optional")]
    pub period_end: Option<DateTime<Utc>>,
}

/// Filters of `GET /api/v1/costs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostQuery {
    /// Only this consumer's costs.
    pub consumer_id: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<String>,
    /// `YYYY-MM-DD`.
    pub end_date: Option<String>,
    /// `daily` or `monthly`.
    pub period: Option<String>,
}

#[cfg(test)]
mod tests;
