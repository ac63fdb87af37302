//! The run history's filters and pages (`/runs`, `GET /api/runs`, `gpu-deploy-llm runs`)
//! and a page of a run's log (`GET /api/runs/{id}/logs`).

use super::RunStatus;
use crate::error::ApiError;
use crate::query::{blank_as_none, encode, word_enum, Page};
use serde::{Deserialize, Serialize};

word_enum!(
    RunStatus,
    "running, passed, failed, cancelled or interrupted"
);

/// The run history's filters and page (`/runs?status=failed&model=qwen2.5-0.5b&page=2`,
/// `GET /api/runs`, `gpu-deploy-llm runs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RunFilters {
    /// Only runs in this state: running, passed, failed, cancelled or interrupted.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub status: Option<RunStatus>,
    /// Only runs of this model, as it was asked for (a preset alias or a Hugging Face id).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<String>,
    /// The page, from 1, of `limit` runs (another way to say `offset`).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub page: Option<u32>,
    /// Runs in the page, 1 to 500 (50 when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<u32>,
    /// Runs skipped before the page (0 when unset; `page` sets it when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<u32>,
}

impl RunFilters {
    /// `(limit, offset)`: the limit checked, the offset given or else the page's.
    pub fn window(&self) -> Result<(u32, u32), ApiError> {
        let (limit, offset) = Page {
            limit: self.limit,
            offset: self.offset,
        }
        .window()?;
        if self.offset.is_some() {
            return Ok((limit, offset));
        }
        match self.page {
            None => Ok((limit, 0)),
            Some(0) => Err(ApiError::invalid(
                "page counts from 1, got 0",
                "Leave page out for the first.",
            )),
            Some(page) => Ok((limit, (page - 1).saturating_mul(limit))),
        }
    }

    /// The query string of these filters at `page` (the pager's links).
    pub fn query_at(&self, page: u32) -> String {
        encode(&Self {
            page: (page > 1).then_some(page),
            offset: None,
            ..self.clone()
        })
    }
}

/// How a log is written out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One line of text each (`2026-11-23T23:33:18.123Z INFO  [Create session] …`).
    #[default]
    Text,
    /// One JSON `LogLine` each.
    Jsonl,
}

word_enum!(LogFormat, "text or jsonl");

/// `GET /api/runs/{id}/logs?format=&after=&limit=`: a page of a run's log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LogQuery {
    /// text (default) or jsonl.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub format: Option<LogFormat>,
    /// Lines numbered after this one.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub after: Option<u64>,
    /// Lines in this page, 1 to 100000 (10000 when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<u32>,
}

/// Log lines per page unless `limit` says otherwise, and the most one page may hold.
pub const LOG_PAGE: u32 = 10_000;
/// The most log lines one page may hold.
pub const MAX_LOG_PAGE: u32 = 100_000;

impl LogQuery {
    /// Lines in the page, checked against 1 to [`MAX_LOG_PAGE`].
    pub fn lines(&self) -> Result<u32, ApiError> {
        let limit = self.limit.unwrap_or(LOG_PAGE);
        if (1..=MAX_LOG_PAGE).contains(&limit) {
            Ok(limit)
        } else {
            Err(ApiError::invalid(
                format!("limit must be a whole number from 1 to {MAX_LOG_PAGE}, got {limit}"),
                format!("Leave limit out for {LOG_PAGE}."),
            ))
        }
    }
}
