//! [`ServiceError`]: why an operation of the service layer failed, as people and programs
//! read it (an [`ApiError`]: code, message, hint), with the internal cause kept apart for
//! the log. Each door turns it into its own answer: REST into an HTTP reply (its status from
//! the code, in `crate::error`), server functions into the app's error, the CLI into a line
//! on stderr and an exit code.

use crate::runner::RunError;
use crate::shopper::ShopperError;
use crate::store::StoreError;
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use std::fmt;

/// An operation's failure: what to show, and what to log.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceError {
    /// What people and programs read.
    pub error: ApiError,
    /// What the log says beyond the message (never shown).
    pub cause: Option<String>,
}

/// What an operation of the service layer answers.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// A failure with `code`, `message` and `hint`.
    pub fn new(code: ErrorCode, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ApiError::new(code, message).with_hint(hint).into()
    }

    /// An `invalid_input` failure: what is wrong with the input, and how to put it right.
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        ApiError::invalid(message, hint).into()
    }

    /// The code as the enum.
    pub fn code(&self) -> ErrorCode {
        self.error.error_code()
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ServiceError {}

impl From<ApiError> for ServiceError {
    fn from(error: ApiError) -> Self {
        Self { error, cause: None }
    }
}

impl From<RunError> for ServiceError {
    fn from(e: RunError) -> Self {
        Self {
            error: e.to_api_error(),
            cause: e.cause(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        RunError::Storage(e).into()
    }
}

impl From<ShopperError> for ServiceError {
    fn from(e: ShopperError) -> Self {
        e.to_api_error().into()
    }
}

impl From<ServiceError> for ApiError {
    /// The part people read; the cause is logged here, as it is dropped.
    fn from(e: ServiceError) -> Self {
        if let Some(cause) = &e.cause {
            tracing::error!(code = %e.error.code, cause, "{}", e.error.message);
        }
        e.error
    }
}
