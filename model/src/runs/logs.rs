//! A run's log lines.

use super::StepName;
use crate::ids::RunId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How much a log line matters.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Progress (the default).
    #[default]
    Info,
    /// Something went wrong, and the run goes on.
    Warn,
    /// A failure.
    Error,
}

impl LogLevel {
    /// The wire spelling (`info`, `warn`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }

    /// Reads a stored spelling; anything unknown is `info`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::runs::LogLevel;
    ///
    /// assert_eq!(LogLevel::parse("warn"), LogLevel::Warn);
    /// assert_eq!(LogLevel::parse("debug"), LogLevel::Info);
    /// assert!(LogLevel::Error > LogLevel::Warn, "levels order by how much they matter");
    /// ```
    pub fn parse(text: &str) -> Self {
        match text {
            "warn" => Self::Warn,
            "error" => Self::Error,
            _ => Self::Info,
        }
    }
}

/// A log line of a run.
///
/// # Examples
///
/// ```
/// use gdl_model::runs::{LogLevel, LogLine, StepName};
///
/// let line: LogLine = serde_json::from_str(r#"{"run_id":"run-1","n":12,
///     "at":"2026-11-24T01:00:00Z","level":"warn","step":"wait_for_running",
///     "message":"still provisioning after 120 s"}"#)?;
/// assert_eq!((line.level, line.step), (LogLevel::Warn, Some(StepName::WaitForRunning)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// The run it belongs to.
    pub run_id: RunId,
    /// Position within the run, from 1.
    pub n: u64,
    /// When it was logged.
    pub at: DateTime<Utc>,
    /// How much it matters.
    pub level: LogLevel,
    /// The step it was logged in; `None` outside any step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepName>,
    /// The text.
    pub message: String,
}
