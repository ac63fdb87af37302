//! Deployment tests over REST: start one, list the history, read one, cancel one, and
//! download its whole log as text or JSON lines.

use super::{json_body, Query};
use crate::service::{Dashboard, ServiceError};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdl_model::error::ApiError;
use gdl_model::ids::RunId;
use gdl_model::runs::{LogFormat, LogLine, LogQuery, Run, RunFilters, RunStarted, TestConfig};

/// The header naming the `after` of the next page of a log, when there may be one.
pub const NEXT_AFTER: &str = "x-next-after";

/// Starts a deployment test.
///
/// The body is a `TestConfig` (at least `model` and `max_price`); the answer is the new run's
/// id (201). 400 on bad input, 409 `run_in_progress` when the limit of runs at once is
/// reached, 429 over the start rate. Follow the run with `GET /api/runs/{id}` or the live
/// channel.
#[utoipa::path(post, path = "/api/runs", tag = "runs", request_body = TestConfig,
    responses(
        (status = 201, description = "Started", body = RunStarted),
        (status = 400, description = "Bad input", body = ApiError),
        (status = 409, description = "A run is already in progress", body = ApiError),
        (status = 429, description = "Too many starts", body = ApiError),
    ))]
pub async fn start(
    State(d): State<Dashboard>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<RunStarted>), ServiceError> {
    let config: TestConfig = json_body(
        &body,
        "the test configuration is not valid JSON of the expected shape",
        r#"Send at least {"model": "qwen2.5-0.5b", "max_price": 0.5}; optional: provider, quantization, reservation_hours, gpu_count, keep_on_failure, deploy_mode, engine, engine_version (GET /api/engines), settings {max_model_len, max_num_seqs, gpu_memory_utilization, data_parallel_size, dtype, kv_cache_dtype, prefix_caching, enforce_eager, trust_remote_code, extra_flags}, pin_offer, capacity_search."#,
    )?;
    let run = d.start_run(config).await?;
    Ok((StatusCode::CREATED, Json(RunStarted { id: run.id })))
}

/// The runs, newest first.
///
/// Filtered by `status` and `model`, in pages (`limit` 1–500 with `offset`, or `page`).
#[utoipa::path(get, path = "/api/runs", tag = "runs", params(RunFilters),
    responses((status = 200, body = Vec<Run>), (status = 400, body = ApiError)))]
pub async fn list(
    State(d): State<Dashboard>,
    Query(filters): Query<RunFilters>,
) -> Result<Json<Vec<Run>>, ServiceError> {
    Ok(Json(d.history().runs(&filters).await?))
}

/// One run.
///
/// Its configuration, status, steps (with reasons, codes and hints), rentals and what each
/// cost, the host report, the benchmark it recorded, its cleanup and its error. 404 for an
/// unknown id.
#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs", params(("id" = String, Path)),
    responses((status = 200, body = Run), (status = 404, body = ApiError)))]
pub async fn get(
    State(d): State<Dashboard>,
    Path(id): Path<RunId>,
) -> Result<Json<Run>, ServiceError> {
    Ok(Json(d.run(&id).await?))
}

/// Cancels a run in progress.
///
/// Answers at once (202); the run's cleanup then destroys what it rented, and the run ends
/// `cancelled`. 404 for an unknown id.
#[utoipa::path(post, path = "/api/runs/{id}/cancel", tag = "runs", params(("id" = String, Path)),
    responses((status = 202, description = "Cancelling"), (status = 404, body = ApiError)))]
pub async fn cancel(
    State(d): State<Dashboard>,
    Path(id): Path<RunId>,
) -> Result<StatusCode, ServiceError> {
    d.cancel_run(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// A run's log, as a download.
///
/// The lines numbered after `after`, oldest first, at most `limit`, as text or JSON lines
/// (`format=text|jsonl`). When the page is full, the `x-next-after` header names the `after`
/// of the next one.
#[utoipa::path(get, path = "/api/runs/{id}/logs", tag = "runs",
    params(("id" = String, Path), LogQuery),
    responses(
        (status = 200, description = "The lines as text or JSON lines (one LogLine each)", content_type = "text/plain"),
        (status = 404, body = ApiError),
    ))]
pub async fn logs(
    State(d): State<Dashboard>,
    Path(id): Path<RunId>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ServiceError> {
    let page = d.history().logs(&id, &query).await?;
    let (body, content_type, extension) = match query.format.unwrap_or_default() {
        LogFormat::Text => (
            page.lines.iter().map(text_line).collect::<String>(),
            "text/plain; charset=utf-8",
            "log",
        ),
        LogFormat::Jsonl => (json_lines(&page.lines), "application/x-ndjson", "jsonl"),
    };
    let mut response = super::attached(
        (StatusCode::OK, body).into_response(),
        &format!("{id}.{extension}"),
    );
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(n) = page.next_after {
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

/// One JSON [`LogLine`] a line.
pub fn json_lines(lines: &[LogLine]) -> String {
    let mut body = String::new();
    for line in lines {
        body.push_str(&serde_json::to_string(line).unwrap_or_default());
        body.push('\n');
    }
    body
}
