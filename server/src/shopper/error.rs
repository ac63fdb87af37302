//! Typed errors of the broker client, each with a stable code and a hint for people.

use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use std::time::Duration;

/// What went wrong talking to the broker.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ShopperError {
    /// Nothing answered at the broker's address (refused, DNS, network down), or the
    /// connection broke before the answer came.
    #[error("cannot reach the broker at {url}: {detail}")]
    Unreachable {
        url: String,
        detail: String,
        /// Whether a connection was made, so the request may have reached the broker.
        connected: bool,
    },
    /// The broker did not answer in time.
    #[error("the broker did not answer {operation} within {}", fmt_duration(*after))]
    Timeout { operation: String, after: Duration },
    /// The broker answers but says it is not ready (503 on /health or /ready).
    #[error("the broker is not ready: {detail}")]
    NotReady { detail: String },
    /// A 404: unknown session, offer or route (JSON or Gin's plain-text body).
    #[error("not found: {message}")]
    NotFound {
        message: String,
        request_id: Option<String>,
    },
    /// A 404 whose body is not the broker's JSON (Gin's plain-text `404 page not found`):
    /// the route does not exist, so the base URL is wrong; says nothing about the session.
    #[error("the broker has no such route ({message}): is the URL right?")]
    NoSuchRoute { message: String },
    /// 409 on create: this consumer already has an active session for that offer.
    #[error("{message}")]
    Duplicate {
        message: String,
        /// The existing session's id, when the broker's message names it.
        existing_session_id: Option<String>,
        request_id: Option<String>,
    },
    /// 409 on done/extend: the session is already stopping, stopped or failed.
    #[error("{message}")]
    TerminalState {
        message: String,
        request_id: Option<String>,
    },
    /// 503 with `error_type: stale_inventory`: the offer is gone at the provider.
    #[error("{message}")]
    StaleInventory {
        message: String,
        offer_id: Option<String>,
        provider: Option<gdl_model::shopper::Provider>,
        request_id: Option<String>,
    },
    /// 429, with the broker's `Retry-After` if it sent one.
    #[error("the broker is rate limiting requests")]
    RateLimited { retry_after: Option<Duration> },
    /// 400: the broker refused the request's input.
    #[error("the broker refused the request: {message}")]
    BadRequest {
        message: String,
        error_type: Option<String>,
        request_id: Option<String>,
    },
    /// 400 with `error_type: insufficient_disk`: the model needs more disk than asked for.
    /// The broker's refused create leaves a `pending` record behind (see the contract).
    #[error("{message}")]
    InsufficientDisk {
        message: String,
        requested_gb: u32,
        minimum_gb: u32,
        recommended_gb: u32,
        breakdown: Option<Box<gdl_model::shopper::DiskBreakdown>>,
        request_id: Option<String>,
    },
    /// 5xx (other than stale inventory / not ready).
    #[error("the broker failed with HTTP {status}: {message}")]
    Server {
        status: u16,
        message: String,
        error_type: Option<String>,
        /// The broker's `retry_suggested` (create errors): another offer may work.
        retry_suggested: bool,
        request_id: Option<String>,
    },
    /// The circuit breaker is open: the call was not made.
    #[error(
        "calls to the broker are paused after {failures} failures in a row (last: {last_error})"
    )]
    CircuitOpen {
        failures: u32,
        last_error: String,
        /// The hint of the failure that opened it (what to do about the broker).
        last_hint: String,
        probe_in: Duration,
    },
    /// A reply that is not the JSON the contract promises.
    #[error("undecodable broker reply (HTTP {status}): {detail}; body starts {snippet:?}")]
    Decode {
        status: u16,
        detail: String,
        snippet: String,
    },
}

fn fmt_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl ShopperError {
    /// Whether a request that failed so may still have been carried out by the broker: the
    /// connection was cut or never answered, it failed with a 5xx after receiving the
    /// request, or its answer was unreadable. A refusal (4xx, stale inventory, an open
    /// breaker, a rate limit) is clear: nothing was done.
    pub fn outcome_unclear(&self) -> bool {
        matches!(
            self,
            Self::Unreachable {
                connected: true,
                ..
            } | Self::Timeout { .. }
                | Self::Server { .. }
                | Self::Decode { .. }
        )
    }

    /// The stable snake_case code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unreachable { .. } | Self::CircuitOpen { .. } => ErrorCode::ShopperUnreachable,
            Self::Timeout { .. } => ErrorCode::ShopperTimeout,
            Self::NotReady { .. } => ErrorCode::ShopperNotReady,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::NoSuchRoute { .. } => ErrorCode::ShopperNoSuchRoute,
            Self::Duplicate { .. } => ErrorCode::SessionDuplicate,
            Self::TerminalState { .. } => ErrorCode::SessionTerminal,
            Self::StaleInventory { .. } => ErrorCode::OfferStale,
            Self::InsufficientDisk { .. } => ErrorCode::InsufficientDisk,
            Self::RateLimited { .. } => ErrorCode::ShopperRateLimited,
            Self::BadRequest { .. } => ErrorCode::ShopperRejected,
            Self::Server { .. } => ErrorCode::ShopperError,
            Self::Decode { .. } => ErrorCode::ShopperBadResponse,
        }
    }

    /// What a person should do next.
    pub fn hint(&self) -> String {
        match self {
            Self::Unreachable { url, .. } => format!(
                "Start cloud-gpu-shopper at {url}, fix --shopper-url / SHOPPER_URL, \
                 or unset SHOPPER_URL to use the embedded simulator."
            ),
            Self::CircuitOpen {
                probe_in,
                last_hint,
                ..
            } => format!(
                "{last_hint} Until then calls fail at once: the circuit breaker tries the \
                 broker again in {}.",
                fmt_duration(*probe_in)
            )
            .trim_start()
            .to_owned(),
            Self::Timeout { .. } => "The broker is slow or hung; check its logs. A cold \
                inventory can take several seconds, so try again shortly."
                .into(),
            Self::NotReady { .. } => "The broker is starting or shutting down; it becomes \
                ready on its own. Wait a moment."
                .into(),
            Self::NotFound { .. } => "The session or offer no longer exists on the broker; \
                refresh the list."
                .into(),
            Self::NoSuchRoute { .. } => "Set --shopper-url / SHOPPER_URL to the broker's base \
                address (e.g. http://127.0.0.1:8080), without a path."
                .into(),
            Self::Duplicate { .. } => "A session for this offer is already active: use it, \
                or destroy it before creating another."
                .into(),
            Self::TerminalState { .. } => "The session has already ended; nothing to do.".into(),
            Self::StaleInventory { .. } => "That offer is gone at the provider; refresh the \
                inventory and pick another offer."
                .into(),
            Self::RateLimited { retry_after } => match retry_after {
                Some(d) => format!("Wait {} and try again.", fmt_duration(*d)),
                None => "Wait a few seconds and try again.".into(),
            },
            Self::InsufficientDisk { recommended_gb, .. } => format!(
                "The broker recommends {recommended_gb} GB for this model; raise --max-disk-gb \
                 to at least that, or choose a smaller or quantized model."
            ),
            Self::BadRequest { .. } => "Check the values sent; the broker's message says \
                which one it refused."
                .into(),
            Self::Server { .. } => "The broker failed internally; check its logs (quote the \
                request id) and try again."
                .into(),
            Self::Decode { .. } => "The broker answered something other than its API; check \
                that SHOPPER_URL points at cloud-gpu-shopper and that versions match."
                .into(),
        }
    }

    /// The broker's request id, when it gave one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::NotFound { request_id, .. }
            | Self::Duplicate { request_id, .. }
            | Self::TerminalState { request_id, .. }
            | Self::StaleInventory { request_id, .. }
            | Self::BadRequest { request_id, .. }
            | Self::InsufficientDisk { request_id, .. }
            | Self::Server { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// Whether this says the broker is down or failing (what the circuit breaker counts),
    /// not that it answered no.
    pub fn is_broker_failure(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::Server { .. }
                | Self::Decode { .. }
        )
    }

    /// Whether trying the same idempotent call again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::NotReady { .. }
                | Self::RateLimited { .. }
                | Self::Server { .. }
        )
    }

    /// The error in the dashboard's shape.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::new(self.code(), self.to_string())
            .with_hint(self.hint())
            .with_request_id(self.request_id().map(str::to_owned))
    }
}

impl From<ShopperError> for ApiError {
    fn from(e: ShopperError) -> Self {
        e.to_api_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_code_and_a_hint() {
        let all = [
            ShopperError::Unreachable {
                url: "u".into(),
                detail: "d".into(),
                connected: false,
            },
            ShopperError::Timeout {
                operation: "o".into(),
                after: Duration::from_millis(1500),
            },
            ShopperError::NotReady { detail: "d".into() },
            ShopperError::NotFound {
                message: "m".into(),
                request_id: None,
            },
            ShopperError::NoSuchRoute {
                message: "m".into(),
            },
            ShopperError::Duplicate {
                message: "m".into(),
                existing_session_id: None,
                request_id: None,
            },
            ShopperError::TerminalState {
                message: "m".into(),
                request_id: None,
            },
            ShopperError::StaleInventory {
                message: "m".into(),
                offer_id: None,
                provider: None,
                request_id: None,
            },
            ShopperError::RateLimited { retry_after: None },
            ShopperError::BadRequest {
                message: "m".into(),
                error_type: None,
                request_id: None,
            },
            ShopperError::InsufficientDisk {
                message: "m".into(),
                requested_gb: 16,
                minimum_gb: 17,
                recommended_gb: 20,
                breakdown: None,
                request_id: None,
            },
            ShopperError::Server {
                status: 500,
                message: "m".into(),
                error_type: None,
                retry_suggested: false,
                request_id: Some("r".into()),
            },
            ShopperError::Decode {
                status: 200,
                detail: "d".into(),
                snippet: "s".into(),
            },
        ];
        let mut codes: Vec<_> = all.iter().map(ShopperError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for e in &all {
            assert!(!e.hint().is_empty());
            let api = e.to_api_error();
            assert_eq!(api.code, e.code().as_str());
        }
        assert_eq!(all[11].to_api_error().request_id.as_deref(), Some("r"));
        assert!(all[1].to_string().contains("1.5 s"));
    }

    /// A create the broker refused did nothing, so the run may move on to another offer; one
    /// whose answer never came or was unreadable may have rented a machine, so it is
    /// settled against the broker's list instead (`outcome_unclear`).
    #[test]
    fn only_a_create_that_may_have_reached_the_broker_has_an_unclear_outcome() {
        let refused = [
            ShopperError::BadRequest {
                message: "gpu_count must be positive".into(),
                error_type: Some("validation".into()),
                request_id: Some("r1".into()),
            },
            ShopperError::StaleInventory {
                message: "offer gone".into(),
                offer_id: Some("offer-1".into()),
                provider: None,
                request_id: None,
            },
            ShopperError::Duplicate {
                message: "already active".into(),
                existing_session_id: Some("sess-1".into()),
                request_id: None,
            },
            ShopperError::CircuitOpen {
                failures: 5,
                last_error: "connection refused".into(),
                last_hint: "Start the broker.".into(),
                probe_in: Duration::from_secs(30),
            },
            ShopperError::Unreachable {
                url: "http://127.0.0.1:1".into(),
                detail: "connection refused".into(),
                connected: false,
            },
            ShopperError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
            ShopperError::InsufficientDisk {
                message: "needs more disk".into(),
                requested_gb: 16,
                minimum_gb: 17,
                recommended_gb: 20,
                breakdown: None,
                request_id: None,
            },
        ];
        for e in &refused {
            assert!(!e.outcome_unclear(), "a refusal is clear: {e:?}");
        }
        let unclear = [
            ShopperError::Unreachable {
                url: "http://127.0.0.1:8080".into(),
                detail: "connection reset before the answer".into(),
                connected: true,
            },
            ShopperError::Timeout {
                operation: "create session".into(),
                after: Duration::from_secs(30),
            },
            ShopperError::Server {
                status: 500,
                message: "internal error".into(),
                error_type: None,
                retry_suggested: true,
                request_id: Some("r2".into()),
            },
            ShopperError::Decode {
                status: 201,
                detail: "expected value".into(),
                snippet: "<html>".into(),
            },
        ];
        for e in &unclear {
            assert!(e.outcome_unclear(), "may have been carried out: {e:?}");
        }
    }
}
