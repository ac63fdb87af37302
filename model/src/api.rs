//! The dashboard's own API types (`/api/*`, server functions, and later the live channel).
//!
//! Every error a client reads, whatever the route, is an [`ApiError`]: match on its code
//! ([`ApiError::error_code`]), show its message and hint.
//!
//! # Examples
//!
//! ```
//! use gdl_model::api::ApiError;
//! use gdl_model::code::ErrorCode;
//!
//! let body = r#"{"code":"run_in_progress","message":"2 runs are in progress",
//!                "hint":"Wait for one to finish.","request_id":"r-42"}"#;
//! let error: ApiError = serde_json::from_str(body)?;
//! assert_eq!(error.error_code(), ErrorCode::RunInProgress);
//! assert_eq!(
//!     error.to_string(),
//!     "run_in_progress: 2 runs are in progress (Wait for one to finish.)"
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::code::ErrorCode;
use crate::shopper::{Provider, Session, SessionStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The one error shape everywhere a person or program reads an error.
///
/// `code` is a stable snake_case word (`shopper_unreachable`, `session_not_found`, ...);
/// `hint` tells a person what to do next.
///
/// # Examples
///
/// Build one and check its wire shape (unset `hint` and `request_id` are left out):
///
/// ```
/// use gdl_model::api::ApiError;
/// use gdl_model::code::ErrorCode;
///
/// let e = ApiError::new(ErrorCode::SessionNotFound, "no session s-1 of ours")
///     .with_hint("Refresh the Sessions tab.");
/// assert_eq!(
///     serde_json::to_value(&e)?,
///     serde_json::json!({"code": "session_not_found", "message": "no session s-1 of ours",
///                        "hint": "Refresh the Sessions tab."})
/// );
/// // A code this version does not know still reads.
/// let newer: ApiError = serde_json::from_str(r#"{"code":"gpu_on_fire","message":"hot"}"#)?;
/// assert_eq!(newer.error_code(), ErrorCode::Unknown);
/// assert_eq!(newer.code, "gpu_on_fire");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// The stable snake_case code, an [`ErrorCode`]'s wire spelling (kept as text so a
    /// code from a newer server survives a round trip).
    pub code: String,
    /// What went wrong, in a sentence.
    pub message: String,
    /// What a person can do next; `None` when there is nothing to suggest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The broker's (or the dashboard's) request id, for matching logs; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            hint: None,
            request_id: None,
        }
    }

    /// Adds what a person should do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The code as the enum ([`ErrorCode::Unknown`] for a code this version does not know).
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::parse(&self.code)
    }

    /// Adds the broker's (or our) request id.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

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
    pub code: Option<String>,
    /// The broker URL in use.
    pub url: String,
    /// True when the broker is the embedded simulator, not a real cloud-gpu-shopper.
    pub simulated: bool,
    /// When the broker was last checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// The circuit breaker around broker calls.
    #[serde(default)]
    pub breaker: crate::health::BreakerView,
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
    /// use gdl_model::api::StatusView;
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

/// One of our broker sessions as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// The broker's session id.
    pub id: String,
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
    pub run_id: Option<String>,
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
    pub source: crate::costs::CostSource,
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
            cost: None,
        }
    }

    /// The cost to date as of `now`: the broker's figure or the stored one when known, else
    /// for an active session ours, price × time since creation (never past its expiry).
    pub fn cost_to_date(&self, now: DateTime<Utc>) -> Option<SessionCostView> {
        if self.cost.is_some() || !self.status.is_active() {
            return self.cost;
        }
        let until = self.expires_at.map_or(now, |end| end.min(now));
        Some(SessionCostView {
            usd: crate::costs::rent_usd(self.price_per_hour, self.created_at, until),
            source: crate::costs::CostSource::Ours,
        })
    }

    /// Whether the session ended badly (a non-empty error, whatever the status).
    pub fn ended_badly(&self) -> bool {
        self.error.is_some()
    }
}

/// A query string's pairs with their values trimmed, empty ones left out (a form sends
/// every field, set or not).
pub fn set_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
}

/// Ended sessions shown per page of the Sessions tab (active ones are on every page).
pub const SESSIONS_PAGE: usize = 25;

/// The Sessions tab's filters and page, as its URL carries them (`/sessions?status=active
/// &provider=vastai&page=2`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionFilters {
    /// `active`, `ended`, or one status (`running`, `stopped`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A provider's wire name (`vastai`, ...): only its sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// From 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// The filters in a query string's pairs; empty and unreadable values count as unset.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::api::SessionFilters;
    ///
    /// let f = SessionFilters::from_pairs([("status", "active"), ("provider", ""), ("page", "x")]);
    /// assert_eq!(f.status.as_deref(), Some("active"));
    /// assert_eq!((f.provider.as_deref(), f.page), (None, None));
    /// assert_eq!(f.query_at(2), "status=active&page=2");
    /// ```
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut f = Self::default();
        for (key, value) in set_pairs(pairs) {
            match key {
                "status" => f.status = Some(value.to_owned()),
                "provider" => f.provider = Some(value.to_owned()),
                "page" => f.page = value.parse().ok().filter(|p| *p >= 1),
                _ => {}
            }
        }
        f
    }

    /// The query string of these filters at `page` (`status=...&provider=...&page=N`).
    pub fn query_at(&self, page: usize) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.status {
            parts.push(format!("status={s}"));
        }
        if let Some(p) = &self.provider {
            parts.push(format!("provider={p}"));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        parts.join("&")
    }

    fn passes(&self, s: &SessionView) -> bool {
        let status = match self.status.as_deref() {
            None => true,
            Some("active") => s.status.is_active(),
            Some("ended") => !s.status.is_active(),
            Some(one) => s.status.as_str() == one,
        };
        status
            && self
                .provider
                .as_deref()
                .is_none_or(|p| s.provider.as_str() == p)
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

pub use crate::inventory::{InventoryFilters, InventoryView, ModelFit};

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
    /// use gdl_model::api::SessionAction;
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
    pub id: String,
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

#[cfg(test)]
mod tests;
