//! Our sessions on the broker as the dashboard shows them (`GET /api/sessions`, the Sessions
//! tab), what a person can do to one (clean up, done, extend) and the orphans: sessions
//! that cost money and that no run in progress uses; the Sessions tab's filters and pages.

use crate::costs::CostSource;
use crate::error::ApiError;
use crate::ids::{RunId, SessionId};
use crate::provider::Provider;
use crate::query::{blank_as_none, encode};
use crate::shopper::{Session, SessionStatus};
use chrono::{DateTime, Utc};
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One of our broker sessions as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// The broker's session id.
    pub id: SessionId,
    /// Where the session is in its lifecycle.
    pub status: SessionStatus,
    /// The provider the instance is rented from.
    pub provider: Provider,
    /// The GPU model, such as `RTX 4090`.
    pub gpu_type: String,
    /// GPUs in the instance.
    pub gpu_count: u32,
    /// What the whole instance costs, USD per hour.
    pub price_per_hour: f64,
    /// When the broker created the session.
    pub created_at: DateTime<Utc>,
    /// When the reservation ends (the broker stops the session then); `None` when the
    /// broker gave no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Seconds from creation until the dashboard first saw the session running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_running_secs: Option<f64>,
    /// The broker's error text; set when the session ended badly, even once `stopped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `consumer_id` (shows which version of the dashboard made it).
    pub consumer_id: String,
    /// The run that rented it (absent for sessions no run of ours knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    /// Another installation's (another dashboard on this broker, or an older version that
    /// none of this installation's runs knows): shown, never counted as an orphan, never
    /// cleaned up in bulk ([`SessionView::mark_whose`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub foreign: bool,
    /// What it has cost so far, USD, and whose figure that is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<SessionCostView>,
}

/// A session's cost to date: the broker's figure when it answered (it bills whole hours),
/// else ours (price × time since creation, until it ended or expired).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionCostView {
    /// The cost to date, USD.
    pub usd: f64,
    /// Whose figure it is: the broker's or ours.
    pub source: CostSource,
}

impl SessionView {
    /// Builds the view of a broker session.
    pub fn from_session(session: &Session, time_to_running_secs: Option<f64>) -> Self {
        Self {
            id: session.id.clone(),
            status: session.status,
            provider: session.provider.clone(),
            gpu_type: session.gpu_type.clone(),
            gpu_count: session.gpu_count,
            price_per_hour: session.price_per_hour,
            created_at: session.created_at,
            expires_at: session.expires_at,
            time_to_running_secs,
            error: session.error_text().map(str::to_owned),
            consumer_id: session.consumer_id.clone(),
            run_id: None,
            foreign: false,
            cost: None,
        }
    }

    /// Sets [`SessionView::foreign`] against this installation's `consumer_id` (`mine`),
    /// once `run_id` says whether one of its runs rented the session.
    ///
    /// # Examples
    ///
    /// ```
    /// # use gdl_model::sessions::SessionView;
    /// # let mut view: SessionView = serde_json::from_value(serde_json::json!({
    /// #     "id": "s-1", "status": "running", "provider": "vastai", "gpu_type": "L4",
    /// #     "gpu_count": 1, "price_per_hour": 0.3, "created_at": "2026-12-01T10:00:00Z",
    /// #     "consumer_id": "gpu-deploy-llm/v0.1.0"}))?;
    /// let mine = gdl_model::consumer_id("3f9c2a7b1d4e");
    /// view.mark_whose(&mine);
    /// assert!(view.foreign, "an older version's session no run of ours rented");
    /// view.run_id = Some("run-1".into());
    /// view.mark_whose(&mine);
    /// assert!(!view.foreign, "one of our runs rented it");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn mark_whose(&mut self, mine: &str) {
        use crate::Whose;
        self.foreign = self.run_id.is_none()
            && matches!(
                crate::whose(&self.consumer_id, mine),
                Whose::OtherInstallation | Whose::OlderVersion
            );
    }

    /// The cost to date as of `now`: the broker's figure or the stored one when known, else
    /// for an active session ours, price × time since creation (never past its expiry).
    pub fn cost_to_date(&self, now: DateTime<Utc>) -> Option<SessionCostView> {
        if self.cost.is_some() || !self.status.is_active() {
            return self.cost;
        }
        let until = self.expires_at.map_or(now, |end| end.min(now));
        Some(SessionCostView {
            usd: crate::prices::rent_usd(self.price_per_hour, self.created_at, until),
            source: CostSource::Ours,
        })
    }

    /// Whether the session ended badly (a non-empty error, whatever the status).
    pub fn ended_badly(&self) -> bool {
        self.error.is_some()
    }
}

/// What a person can do to one of our sessions (`POST /api/sessions/{id}/{action}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionAction {
    /// Force destroy, followed until the broker confirms.
    Cleanup,
    /// Tell the broker the work is done (a graceful shutdown).
    Done,
    /// Extend the reservation by some hours, within the broker's hard maximum.
    Extend,
}

impl SessionAction {
    /// The wire spelling (and the last path segment of its route).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cleanup => "cleanup",
            Self::Done => "done",
            Self::Extend => "extend",
        }
    }

    /// The action spelled `text`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::sessions::SessionAction;
    /// assert_eq!(SessionAction::parse("extend"), Some(SessionAction::Extend));
    /// assert_eq!(SessionAction::Cleanup.as_str(), "cleanup");
    /// assert_eq!(SessionAction::parse("reboot"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Cleanup, Self::Done, Self::Extend]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// How an action on a session ended, when the broker answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActionOutcome {
    /// The broker confirmed the session stopped (or no longer lists it).
    Destroyed,
    /// The broker was asked to destroy it and has not confirmed: it may still be billing.
    Unconfirmed,
    /// The broker accepted `done`.
    Done,
    /// The reservation was extended (`expires_at` is the new end).
    Extended,
}

/// The result of a [`SessionAction`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionActionResult {
    /// The session acted on.
    pub id: SessionId,
    /// What was asked.
    pub action: SessionAction,
    /// How it ended.
    pub outcome: ActionOutcome,
    /// What happened, in words.
    pub message: String,
    /// The reservation's end after an extend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl SessionActionResult {
    /// The outcome's wire spelling.
    pub fn outcome_str(&self) -> &'static str {
        match self.outcome {
            ActionOutcome::Destroyed => "destroyed",
            ActionOutcome::Unconfirmed => "unconfirmed",
            ActionOutcome::Done => "done",
            ActionOutcome::Extended => "extended",
        }
    }
}

/// `GET /api/sessions`: our sessions, newest first, or why they could not be listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsView {
    /// Our sessions, newest first.
    pub sessions: Vec<SessionView>,
    /// Set when the broker could not be asked; `sessions` then holds the last known list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    /// When the broker last listed them; `None` before the first list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<DateTime<Utc>>,
}

/// `GET /api/orphans`: our sessions that cost money and that no run in progress uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Orphans {
    /// The orphans, newest first.
    pub sessions: Vec<SessionView>,
    /// What they cost together, USD per hour.
    pub burn_per_hour: f64,
}

/// What cleaning up every orphan did (`POST /api/orphans/cleanup`): a result per session
/// cleaned, an error per one not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrphanCleanup {
    /// The sessions cleaned up (destroyed, or asked and not confirmed).
    pub cleaned: Vec<SessionActionResult>,
    /// Why the others were not.
    pub failed: Vec<ApiError>,
}

/// Which sessions a list shows: the active ones, the ended ones, or those of one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Pending, provisioning or running: may be billing.
    Active,
    /// Stopping, stopped or failed.
    Ended,
    /// Exactly this status.
    Is(SessionStatus),
}

impl StatusFilter {
    /// The wire spelling: `active`, `ended` or a status (`running`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Ended => "ended",
            Self::Is(status) => status.as_str(),
        }
    }

    /// Whether a session of `status` passes.
    pub fn admits(self, status: SessionStatus) -> bool {
        match self {
            Self::Active => status.is_active(),
            Self::Ended => !status.is_active(),
            Self::Is(one) => status == one,
        }
    }
}

impl FromStr for StatusFilter {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "active" => Ok(Self::Active),
            "ended" => Ok(Self::Ended),
            other => SessionStatus::ALL
                .into_iter()
                .find(|s| s.as_str() == other)
                .map(Self::Is)
                .ok_or_else(|| {
                    format!("{other:?} is not active, ended or a session status (running, stopped, ...)")
                }),
        }
    }
}

impl fmt::Display for StatusFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StatusFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StatusFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for StatusFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::code::string_schema(
            "active, ended, or one session status",
            ["active", "ended"]
                .into_iter()
                .map(str::to_owned)
                .chain(SessionStatus::ALL.iter().map(|s| s.as_str().to_owned())),
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for StatusFilter {}

/// Ended sessions shown per page of the Sessions tab (active ones are on every page).
pub const SESSIONS_PAGE: usize = 25;

/// The Sessions tab's filters and page, as its URL carries them (`/sessions?status=active
/// &provider=vastai&page=2`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionFilters {
    /// `active`, `ended`, or one status (`running`, `stopped`, ...).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<StatusFilter>,
    /// Only this provider's sessions.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider: Option<Provider>,
    /// From 1.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub page: Option<usize>,
}

/// One page of the Sessions tab.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionPage {
    /// The active sessions that pass the filters (all of them), then this page's ended ones.
    pub rows: Vec<SessionView>,
    /// The page shown, from 1 (a page past the end shows the last).
    pub page: usize,
    /// Pages of ended sessions, at least 1.
    pub pages: usize,
    /// Sessions that pass the filters.
    pub matching: usize,
}

impl SessionFilters {
    /// The query string of these filters at `page` (`status=...&provider=...&page=N`).
    pub fn query_at(&self, page: usize) -> String {
        encode(&Self {
            page: (page > 1).then_some(page),
            ..self.clone()
        })
    }

    fn passes(&self, s: &SessionView) -> bool {
        self.status.is_none_or(|f| f.admits(s.status))
            && self.provider.as_ref().is_none_or(|p| &s.provider == p)
    }

    /// The page asked for, of `sessions` (newest first): every active session that passes
    /// the filters, whatever the page, then [`SESSIONS_PAGE`] ended ones. Paging never hides
    /// a session that costs money.
    pub fn page_of(&self, sessions: Vec<SessionView>) -> SessionPage {
        let (active, ended): (Vec<_>, Vec<_>) = sessions
            .into_iter()
            .filter(|s| self.passes(s))
            .partition(|s| s.status.is_active());
        let matching = active.len() + ended.len();
        let pages = ended.len().div_ceil(SESSIONS_PAGE).max(1);
        let page = self.page.unwrap_or(1).clamp(1, pages);
        let mut rows = active;
        rows.extend(
            ended
                .into_iter()
                .skip((page - 1) * SESSIONS_PAGE)
                .take(SESSIONS_PAGE),
        );
        SessionPage {
            rows,
            page,
            pages,
            matching,
        }
    }
}

#[cfg(test)]
mod tests;
