//! History fetched on demand, paged: older runs and benchmarks than the live state keeps,
//! and a run's whole log as text or JSON lines (the run view's Download button).

use crate::error::AppError;
use crate::runner::RunError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdl_model::code::ErrorCode;
use gdl_model::runs::{BenchmarkRecord, LogLine, Run};
use std::collections::HashMap;

/// Rows per page unless `limit` says otherwise, and the most one page may hold.
const PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;
/// Log lines per page unless `limit` says otherwise, and the most one page may hold.
const LOG_PAGE: u32 = 10_000;
const MAX_LOG_PAGE: u32 = 100_000;
/// The header naming the `after` of the next page of a log, when there may be one.
pub const NEXT_AFTER: &str = "x-next-after";

/// A query parameter that is missing, not a number in range, or not one of its values; a
/// body that is not what the route takes.
#[derive(Debug)]
struct BadInput {
    message: String,
    hint: String,
}

impl From<BadInput> for AppError {
    fn from(e: BadInput) -> Self {
        AppError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidInput,
            e.message,
            &e.hint,
        )
    }
}

/// A whole number query parameter `key` in `0..=max`, or `default` when absent.
fn number(q: &HashMap<String, String>, key: &str, default: u64, max: u64) -> Result<u64, BadInput> {
    let Some(text) = q.get(key) else {
        return Ok(default);
    };
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| BadInput {
            message: format!("{key} must be a whole number from 0 to {max}, got {text:?}"),
            hint: format!("Leave {key} out for {default}."),
        })
}

/// `limit` (1 to `max`, default `default`) and `offset`.
fn page(q: &HashMap<String, String>, default: u32, max: u32) -> Result<(u32, u32), BadInput> {
    let limit = number(q, "limit", default as u64, max as u64)?.max(1) as u32;
    let offset = number(q, "offset", 0, u32::MAX as u64)? as u32;
    Ok((limit, offset))
}

/// `GET /api/runs?limit=&offset=`: runs, newest first.
#[utoipa::path(get, path = "/api/runs", tag = "runs",
    params(("limit" = Option<u32>, Query, description = "1 to 500, default 50"), ("offset" = Option<u32>, Query)),
    responses((status = 200, body = Vec<Run>), (status = 400, body = gdl_model::api::ApiError)))]
pub async fn list_runs(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<Run>>, AppError> {
    let (limit, offset) = page(&q, PAGE, MAX_PAGE)?;
    Ok(Json(state.runner.store().runs_page(offset, limit).await?))
}

/// `GET /api/benchmarks?limit=&offset=`: benchmark records, newest first.
#[utoipa::path(get, path = "/api/benchmarks", tag = "benchmarks",
    params(("limit" = Option<u32>, Query, description = "1 to 500, default 50"), ("offset" = Option<u32>, Query)),
    responses((status = 200, body = Vec<BenchmarkRecord>), (status = 400, body = gdl_model::api::ApiError)))]
pub async fn list_benchmarks(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<BenchmarkRecord>>, AppError> {
    let (limit, offset) = page(&q, PAGE, MAX_PAGE)?;
    Ok(Json(
        state.runner.store().benchmarks_page(offset, limit).await?,
    ))
}

/// The models benchmarked (most benchmarks first), and `model` across GPUs and providers.
pub async fn comparison(
    store: &crate::store::Store,
    model: &str,
) -> Result<(Vec<String>, gdl_model::compare::Comparison), AppError> {
    let records = store.benchmarks(EXPORT_LIMIT).await?;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        *counts.entry(r.model.as_str()).or_default() += 1;
    }
    let mut models: Vec<(&str, usize)> = counts.into_iter().collect();
    models.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let models = models.into_iter().map(|(m, _)| m.to_owned()).collect();
    Ok((models, gdl_model::compare::compare(model.trim(), &records)))
}

/// `GET /api/compare?model=`: one model across GPUs and providers: the price-performance
/// frontier and the recommendations (ids with "/" work as a query value).
#[utoipa::path(get, path = "/api/compare", tag = "benchmarks",
    params(("model" = String, Query, description = "The model id, e.g. Qwen/Qwen2.5-0.5B-Instruct")),
    responses(
        (status = 200, body = gdl_model::compare::Comparison),
        (status = 400, description = "No model given", body = gdl_model::api::ApiError),
    ))]
pub async fn compare(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<gdl_model::compare::Comparison>, AppError> {
    let Some(model) = q.get("model").map(|m| m.trim()).filter(|m| !m.is_empty()) else {
        return Err(BadInput {
            message: "model is required".into(),
            hint: "GET /api/compare?model=Qwen/Qwen2.5-0.5B-Instruct".into(),
        }
        .into());
    };
    Ok(Json(comparison(state.runner.store(), model).await?.1))
}

/// Benchmarks in one export at most.
const EXPORT_LIMIT: u32 = 100_000;

/// `GET /api/benchmarks/export?format=csv|json`: every stored benchmark, newest first, as a
/// download: CSV with the Benchmarks tab's columns, or the records as a JSON array.
#[utoipa::path(get, path = "/api/benchmarks/export", tag = "benchmarks",
    params(("format" = Option<String>, Query, description = "csv (default) or json")),
    responses(
        (status = 200, description = "text/csv, or a JSON array of BenchmarkRecord", content_type = "text/csv"),
        (status = 400, body = gdl_model::api::ApiError),
    ))]
pub async fn export_benchmarks(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let csv = match q.get("format").map(String::as_str) {
        None | Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(BadInput {
                message: format!("format must be csv or json, got {other:?}"),
                hint: "GET /api/benchmarks/export?format=csv or ?format=json".into(),
            }
            .into())
        }
    };
    let records = state.runner.store().benchmarks(EXPORT_LIMIT).await?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let (body, kind, ext) = if csv {
        (
            gdl_model::export::benchmarks_csv(&records),
            "text/csv; charset=utf-8",
            "csv",
        )
    } else {
        (
            serde_json::to_string_pretty(&records).map_err(|e| {
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::DashboardError,
                    format!("cannot write the records as JSON: {e}"),
                    "Report this with the request id.",
                )
            })?,
            "application/json",
            "json",
        )
    };
    let disposition = format!("attachment; filename=\"benchmarks-{stamp}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response())
}

/// `POST /api/benchmarks/import`: the old Python dashboard's benchmark files (the JSON of
/// one `<id>.json`, or an array of them) imported as external benchmarks. What was imported
/// and why the rest was skipped; 400 when nothing could be.
#[utoipa::path(post, path = "/api/benchmarks/import", tag = "benchmarks",
    request_body(content = serde_json::Value, description = "One old record, or an array of them"),
    responses(
        (status = 200, body = gdl_model::legacy::ImportReport),
        (status = 400, description = "Not JSON, or nothing importable", body = gdl_model::api::ApiError),
    ))]
pub async fn import_benchmarks(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<gdl_model::legacy::ImportReport>, AppError> {
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| BadInput {
        message: format!("the body is not JSON: {e}"),
        hint: "POST the text of an old <id>.json file, or a JSON array of them.".into(),
    })?;
    let records = match value {
        serde_json::Value::Array(records) => records,
        record => vec![record],
    };
    let files = records
        .iter()
        .enumerate()
        .map(|(i, record)| gdl_model::legacy::OldFile {
            name: match record["id"].as_str() {
                Some(id) => format!("record {id}"),
                None => format!("record {}", i + 1),
            },
            text: record.to_string(),
        })
        .collect();
    let report = state.import_benchmarks(files).await?;
    if report.imported.is_empty() {
        return Err(BadInput {
            message: match report.skipped.as_slice() {
                [] => "no benchmark records given".to_owned(),
                skipped => format!("nothing imported: {}", skipped.join("; ")),
            },
            hint: "Send the old dashboard's ~/.gpu-deploy-llm/benchmarks/<id>.json files (not index.json).".into(),
        }
        .into());
    }
    Ok(Json(report))
}

/// How a log is written out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Text,
    JsonLines,
}

/// `GET /api/runs/{id}/logs?format=text|jsonl&after=N&limit=M`: the run's log lines
/// numbered after `after`, oldest first, as a download. When the page is full, the
/// `x-next-after` header names the `after` of the next one.
#[utoipa::path(get, path = "/api/runs/{id}/logs", tag = "runs",
    params(
        ("id" = String, Path),
        ("format" = Option<String>, Query, description = "text (default) or jsonl"),
        ("after" = Option<u64>, Query, description = "Lines numbered after this one"),
        ("limit" = Option<u32>, Query, description = "Lines in this page, 1 to 100000 (default 10000)"),
    ),
    responses(
        (status = 200, description = "The lines as text or JSON lines (one LogLine each)", content_type = "text/plain"),
        (status = 404, body = gdl_model::api::ApiError),
    ))]
pub async fn run_logs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let format = match q.get("format").map(|f| f.trim()) {
        None | Some("text") => LogFormat::Text,
        Some("jsonl") => LogFormat::JsonLines,
        Some(other) => {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                format!("format must be text or jsonl, got {other:?}"),
                "format=text for reading, format=jsonl for programs (one JSON log line each).",
            ))
        }
    };
    let after = number(&q, "after", 0, u64::MAX)?;
    let limit = number(&q, "limit", LOG_PAGE as u64, MAX_LOG_PAGE as u64)?.max(1) as u32;
    let store = state.runner.store();
    if store.run(&id).await?.is_none() {
        return Err(RunError::NotFound(id).into());
    }
    let lines = store.logs_after(&id, after, limit).await?;
    let next = (lines.len() == limit as usize)
        .then(|| lines.last().map(|l| l.n))
        .flatten();
    let (body, content_type, extension) = match format {
        LogFormat::Text => (
            lines.iter().map(text_line).collect::<String>(),
            "text/plain; charset=utf-8",
            "log",
        ),
        LogFormat::JsonLines => {
            let mut body = String::new();
            for line in &lines {
                body.push_str(&serde_json::to_string(line).unwrap_or_default());
                body.push('\n');
            }
            (body, "application/x-ndjson", "jsonl")
        }
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("attachment; filename=\"{id}.{extension}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    if let Some(n) = next {
        headers.insert(NEXT_AFTER, HeaderValue::from(n));
    }
    Ok(response)
}

/// `2026-11-23T23:33:18.123Z INFO  [Create session] Creating a session on …`.
pub fn text_line(line: &LogLine) -> String {
    let step = line
        .step
        .map(|s| format!(" [{}]", s.label()))
        .unwrap_or_default();
    format!(
        "{} {:<5}{step} {}\n",
        line.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        format!("{:?}", line.level).to_uppercase(),
        line.message
    )
}
