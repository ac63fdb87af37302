//! The one error shape `{code, message, hint, request_id}`: every error a client reads,
//! whatever the route, is an [`ApiError`]. Match on its code ([`ApiError::error_code`]), show
//! its message and hint.
//!
//! # Examples
//!
//! ```
//! use gdl_model::code::ErrorCode;
//! use gdl_model::error::ApiError;
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
/// use gdl_model::error::ApiError;
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

    /// An `invalid_input` error: what is wrong with the input, and how to put it right.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::error::ApiError;
    ///
    /// let e = ApiError::invalid("limit must be 1 to 500, got 0", "Leave limit out for 50.");
    /// assert_eq!((e.code.as_str(), e.hint.as_deref()), ("invalid_input", Some("Leave limit out for 50.")));
    /// ```
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message).with_hint(hint)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_shape() {
        let e = ApiError::new(ErrorCode::ShopperUnreachable, "connection refused")
            .with_hint("start the broker")
            .with_request_id(Some("r-1".into()));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code":"shopper_unreachable","message":"connection refused",
                "hint":"start the broker","request_id":"r-1"})
        );
        let bare = serde_json::to_value(ApiError::new(ErrorCode::NotFound, "y")).unwrap();
        assert_eq!(bare, serde_json::json!({"code":"not_found","message":"y"}));
    }
}
