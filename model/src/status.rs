//! The broker and its inventory at a glance (`GET /api/status`, the status card): whether
//! the broker is ready, why not and what to do, the circuit breaker, offers per provider.

use crate::breaker::BreakerView;
use crate::code::ErrorCode;
use crate::error::ApiError;
use crate::provider::Provider;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The broker as the dashboard sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BrokerState {
    /// `/health` and `/ready` both answer OK.
    Ready,
    /// The broker answers but is not ready (starting or shutting down), or we have not
    /// heard from it yet.
    Starting,
    /// The broker cannot be used: unreachable, timing out, or failing.
    Offline,
}

impl BrokerState {
    /// The word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ready => "Ready",
            Self::Starting => "Starting",
            Self::Offline => "Offline",
        }
    }
}

/// Broker health with the reason and what to do when it is not ready.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokerStatus {
    /// Ready, starting or offline.
    pub state: BrokerState,
    /// Why the broker is not ready (absent when ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What a person can do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The stable error code behind `reason`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// The broker URL in use.
    pub url: String,
    /// True when the broker is the embedded simulator, not a real cloud-gpu-shopper.
    pub simulated: bool,
    /// When the broker was last checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// The circuit breaker around broker calls.
    #[serde(default)]
    pub breaker: BreakerView,
    /// The `consumer_id` this dashboard creates sessions with: its installation's (find
    /// them at the broker with `GET /api/v1/sessions?consumer_id=...`).
    #[serde(default)]
    pub consumer_id: String,
}

/// Offers available from one provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderOffers {
    /// The provider counted.
    pub provider: Provider,
    /// How many offers the broker lists for it (0 when none or unknown).
    pub offers: u32,
    /// Cheapest offer's $/h, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cheapest_per_hour: Option<f64>,
}

/// `GET /api/status`: the broker and its inventory at a glance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusView {
    /// The dashboard's version.
    pub version: String,
    /// The broker's health, the reason when it is not ready, and the circuit breaker.
    pub broker: BrokerStatus,
    /// Offer counts per provider, every known provider always listed.
    pub providers: Vec<ProviderOffers>,
    /// Why the inventory is missing or partial, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_error: Option<ApiError>,
    /// When the inventory counts were taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_at: Option<DateTime<Utc>>,
}

impl StatusView {
    /// Offers across all providers.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::status::StatusView;
    ///
    /// let status: StatusView = serde_json::from_str(r#"{"version":"0.1.0",
    ///     "broker":{"state":"ready","url":"http://localhost:8080","simulated":true},
    ///     "providers":[{"provider":"vastai","offers":12,"cheapest_per_hour":0.18},
    ///                  {"provider":"tensordock","offers":3}]}"#)?;
    /// assert_eq!(status.total_offers(), 15);
    /// assert_eq!(status.broker.state.label(), "Ready");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn total_offers(&self) -> u32 {
        self.providers.iter().map(|p| p.offers).sum()
    }
}
