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
    /// When the broker confirmed it destroyed (by the run, its cleanup or the
    /// reconciler); absent until then, and in records older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
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

    /// Records the broker's answer to its destroy at `now`: confirmed (it ended then) or
    /// not.
    pub fn record_destroy(&mut self, confirmed: bool, now: DateTime<Utc>) {
        self.destroyed = Some(confirmed);
        if confirmed {
            self.ended_at.get_or_insert(now);
        }
    }

    /// Its instance: running, destroyed (and when), or not confirmed destroyed.
    pub fn instance(&self) -> InstanceState {
        match self.destroyed {
            Some(true) => InstanceState::Destroyed(self.ended_at),
            Some(false) => InstanceState::Unconfirmed,
            None => InstanceState::Running,
        }
    }
}

/// A rental's instance as the broker last told us.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InstanceState {
    /// Not asked to be destroyed yet.
    Running,
    /// The broker confirmed it destroyed (when, if recorded).
    Destroyed(Option<DateTime<Utc>>),
    /// Destroy was asked for and the broker did not confirm it (the reconciler retries).
    Unconfirmed,
}

/// What a rental was to its run.
#[derive(Clone, Debug, PartialEq)]
pub enum RentalOutcome {
    /// The run is using it now.
    InUse,
    /// Given up because the machine failed to start: why.
    Failed(String),
    /// Left running at the person's request after the test failed (keep on failure).
    Kept,
    /// It served the test until the run ended (or its cleanup destroyed it): the run's
    /// state.
    Ended(super::RunStatus),
}

impl RentalOutcome {
    /// In words, for the run's Rentals table.
    pub fn label(&self) -> String {
        use super::RunStatus as S;
        match self {
            Self::InUse => "in use".into(),
            Self::Failed(why) => format!("failed: {why}"),
            Self::Kept => "kept running (keep on failure)".into(),
            Self::Ended(S::Running) => "released by cleanup".into(),
            Self::Ended(S::Passed) => "served the test".into(),
            Self::Ended(status) => format!("test {}", status.as_str()),
        }
    }
}

impl super::Run {
    /// What `rental` was to this run: in use only while the run runs and has not let it
    /// go; kept when the person kept it; otherwise given up or ended with the test.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::Utc;
    /// use gdl_model::runs::{InstanceState, RentalOutcome, Run, RunStatus};
    ///
    /// let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#)?;
    /// let mut run = Run::new("run-1".into(), config, Utc::now());
    /// run.session_id = Some("s-1".into());
    /// run.rentals = serde_json::from_value(serde_json::json!([{"attempt": 1,
    ///     "session_id": "s-1", "created_at": Utc::now(), "offer": {"offer_id": "o",
    ///     "provider": "vastai", "gpu_type": "L4", "gpu_count": 1, "vram_gb": 24,
    ///     "price_per_hour": 0.3}}]))?;
    /// assert_eq!(run.rental_outcome(&run.rentals[0]), RentalOutcome::InUse);
    /// // Cleanup destroys it and the run ends: no longer in use.
    /// let now = Utc::now();
    /// run.rentals[0].record_destroy(true, now);
    /// run.status = RunStatus::Passed;
    /// assert_eq!(run.rental_outcome(&run.rentals[0]).label(), "served the test");
    /// assert_eq!(run.rentals[0].instance(), InstanceState::Destroyed(Some(now)));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn rental_outcome(&self, rental: &Rental) -> RentalOutcome {
        if let Some(why) = &rental.failure {
            return RentalOutcome::Failed(why.clone());
        }
        let current = self.session_id.as_ref() == Some(&rental.session_id);
        let kept = self.cleanup.as_ref().is_some_and(|c| c.kept);
        if current && kept {
            RentalOutcome::Kept
        } else if current && rental.destroyed.is_none() && !self.status.is_finished() {
            RentalOutcome::InUse
        } else {
            RentalOutcome::Ended(self.status)
        }
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
