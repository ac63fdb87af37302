//! The runner's two errors: [`StepError`], why one step failed (shown on the step, in the
//! run's error, in REST and in the CLI), and [`RunError`], why a request about runs was
//! refused (its HTTP status comes from its code, in `crate::error`).

use super::host::HostError;
use crate::shopper::ShopperError;
use crate::store::StoreError;
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use gdl_model::ids::RunId;
use std::fmt;
use std::time::Duration;

/// Why a step failed: a stable code, what happened, and what a person can do.
#[derive(Clone, Debug, PartialEq)]
pub struct StepError {
    pub code: ErrorCode,
    pub message: String,
    pub hint: Option<String>,
}

impl StepError {
    /// A failure with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what a person can do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl From<ShopperError> for StepError {
    fn from(e: ShopperError) -> Self {
        Self::new(e.code(), e.to_string()).hint(e.hint())
    }
}

impl From<HostError> for StepError {
    fn from(e: HostError) -> Self {
        Self::new(e.code(), e.to_string()).hint(e.hint())
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        Self::new(
            ErrorCode::StorageError,
            format!("the dashboard's database failed: {e}"),
        )
        .hint("Check the data directory's disk space and permissions.")
    }
}

/// Why a request to start, cancel or read a run was refused.
#[derive(Debug)]
pub enum RunError {
    /// The configuration is wrong (400).
    Invalid {
        code: ErrorCode,
        message: String,
        hint: String,
    },
    /// The concurrent-run limit is reached (409).
    Busy { running: Vec<String>, limit: usize },
    /// Too many starts in the last minute (429).
    RateLimited { limit: usize, retry_after: Duration },
    /// No such run (404).
    NotFound(RunId),
    /// The run has already ended (409).
    Finished(RunId),
    /// The database failed (500).
    Storage(StoreError),
}

impl RunError {
    /// A 400 `invalid_input` with what is wrong and what to do.
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Invalid {
            code: ErrorCode::InvalidInput,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The error as people and programs read it (never the database's internals).
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Self::Invalid {
                code,
                message,
                hint,
            } => ApiError::new(*code, message.clone()).with_hint(hint.clone()),
            Self::Busy { running, limit } => ApiError::new(
                ErrorCode::RunInProgress,
                format!(
                    "{} run(s) already in progress ({}); the limit is {limit}",
                    running.len(),
                    running.join(", ")
                ),
            )
            .with_hint("Wait for it to finish or cancel it, or raise --max-runs."),
            Self::RateLimited { limit, retry_after } => ApiError::new(
                ErrorCode::RateLimited,
                format!("too many runs started in the last minute (at most {limit})"),
            )
            .with_hint(format!("Try again in {} s.", retry_after.as_secs().max(1))),
            Self::NotFound(id) => ApiError::new(ErrorCode::RunNotFound, format!("no run {id}"))
                .with_hint("List runs with GET /api/runs."),
            Self::Finished(id) => ApiError::new(
                ErrorCode::RunFinished,
                format!("run {id} has already finished"),
            ),
            Self::Storage(_) => {
                ApiError::new(ErrorCode::StorageError, "the dashboard's database failed")
                    .with_hint("Check the server log and the data directory's disk space.")
            }
        }
    }

    /// The internal cause, for the log only.
    pub fn cause(&self) -> Option<String> {
        match self {
            Self::Storage(e) => Some(e.to_string()),
            _ => None,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_api_error().fmt(f)
    }
}

impl std::error::Error for RunError {}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        Self::Storage(e)
    }
}
