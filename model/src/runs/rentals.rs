//! The rentals a run makes (a run rents again on another offer when the provider fails to
//! start a machine) and how its cleanup ended.

use crate::ids::{OfferId, SessionId};
use crate::provider::Provider;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The offer a run booked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferChoice {
    /// The broker's offer id.
    pub offer_id: OfferId,
    /// The provider it is on.
    pub provider: Provider,
    /// The GPU model, such as `RTX 4090`.
    pub gpu_type: String,
    /// GPUs in the offer.
    pub gpu_count: u32,
    /// VRAM per GPU, in GiB.
    pub vram_gb: u32,
    /// USD per hour for the whole offer.
    pub price_per_hour: f64,
}

impl OfferChoice {
    /// The booking of `offer`.
    pub fn of(offer: &crate::shopper::Offer) -> Self {
        Self {
            offer_id: offer.id.clone(),
            provider: offer.provider.clone(),
            gpu_type: offer.gpu_type.clone(),
            gpu_count: offer.gpu_count,
            vram_gb: offer.vram_gb,
            price_per_hour: offer.price_per_hour,
        }
    }
}

/// One rental a run made: the offer, the broker's session, and how it ended. A run rents
/// again on another offer when the provider fails to start a machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rental {
    /// 1 for the first rental of the run.
    pub attempt: u32,
    /// The broker's session id.
    pub session_id: SessionId,
    /// The offer rented.
    pub offer: OfferChoice,
    /// When the broker created the session (as the dashboard recorded it).
    pub created_at: DateTime<Utc>,
    /// When the reservation ends (the broker stops the session then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Why it was given up (absent while in use, or when it worked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Price × time from its creation until it was given up (or ended), USD.
    #[serde(default)]
    pub cost_usd: f64,
    /// Whether the broker confirmed it destroyed (absent until it is asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed: Option<bool>,
    /// Seconds from its creation until the broker reported it running (its SSH verified);
    /// absent until then, and in the entrypoint mode (never running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_after_secs: Option<f64>,
}

impl Rental {
    /// What it has cost until `now` (price × hours since creation).
    pub fn cost_until(&self, now: DateTime<Utc>) -> f64 {
        crate::prices::rent_usd(self.offer.price_per_hour, self.created_at, now)
    }
}

/// A session create whose answer never came back: in flight (recorded before the request
/// is sent, so a dashboard that dies meanwhile still knows of it), or asked and then cut
/// off, timed out or failed with a 5xx. The broker may have made a session all the same:
/// until a listing of the broker's sessions settles it, the run's cleanup stays open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnclearCreate {
    /// The offer asked for.
    pub offer: OfferChoice,
    /// When the request was sent.
    pub asked_at: DateTime<Utc>,
    /// Why its outcome is unknown (`in flight` while the request is under way).
    pub why: String,
    /// How it was settled (the session found and destroyed, or that the broker lists none
    /// from it); absent while open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<String>,
}

impl UnclearCreate {
    /// What [`UnclearCreate::why`] says while the request is under way.
    pub const IN_FLIGHT: &'static str = "in flight";

    /// Whether it is still to be settled.
    pub fn is_open(&self) -> bool {
        self.settled.is_none()
    }
}

/// How cleanup ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CleanupOutcome {
    /// The broker confirmed the session is stopped.
    pub destroyed_confirmed: bool,
    /// The person chose to keep the instance.
    pub kept: bool,
    /// What happened, in words.
    pub message: String,
}
