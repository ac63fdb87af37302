//! REST endpoints under `/api/*` for programs and scripts, with the shared wire types and
//! the one error shape.

use crate::error::AppError;
use crate::runner::RunError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use gdl_model::api::{SessionsView, StatusView};
use gdl_model::code::ErrorCode;
use gdl_model::live::LiveStats;
use gdl_model::runs::{Run, StepName, TestConfig};
use serde::Deserialize;
use std::time::Duration;

pub mod embed_tokens;
pub mod history;
pub mod metrics;
pub mod openapi;
pub mod sessions;

/// How long a request waits for the broker's first check before answering with what is
/// known. Keeps `/api/status` under a second even when the broker hangs.
pub const FIRST_CHECK_PATIENCE: Duration = Duration::from_millis(800);

/// How long `?fresh=true` waits for a new poll.
pub const REFRESH_PATIENCE: Duration = Duration::from_secs(5);

/// `?fresh=true` asks for a new poll of the broker before answering.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Freshness {
    /// Poll the broker before answering (at most once a second, waiting up to 5 s).
    #[serde(default)]
    pub fresh: bool,
}

/// The `/api` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/sessions", get(sessions))
        .route(
            "/api/sessions/{id}/{action}",
            axum::routing::post(sessions::act),
        )
        .route("/api/orphans", get(sessions::orphans))
        .route("/api/inventory", get(inventory))
        .route(
            "/api/orphans/cleanup",
            axum::routing::post(sessions::clean_up_orphans),
        )
        .route("/api/costs", get(costs))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/docs", get(openapi::browser))
        .route("/api/docs/docs.js", get(openapi::script))
        .route("/api/docs/docs.css", get(openapi::style))
        .route(
            "/api/embed-tokens",
            get(embed_tokens::list).post(embed_tokens::create),
        )
        .route(
            "/api/embed-tokens/{id}",
            axum::routing::delete(embed_tokens::revoke),
        )
        .route("/api/live/stats", get(live_stats))
        .route("/api/health", get(health))
        .route("/metrics", get(metrics::metrics))
        .route("/api/runs", get(history::list_runs).post(start_run))
        .route("/api/runs/{id}", get(get_run))
        .route("/api/runs/{id}/logs", get(history::run_logs))
        .route("/api/runs/{id}/cancel", axum::routing::post(cancel_run))
        .route("/api/benchmarks", get(history::list_benchmarks))
        .route("/api/benchmarks/export", get(history::export_benchmarks))
        .route(
            "/api/benchmarks/import",
            axum::routing::post(history::import_benchmarks),
        )
        .route("/api/compare", get(history::compare))
        .route("/api/benchmarks/{id}", get(get_benchmark))
        .route(
            "/api/{*rest}",
            get(unknown).post(unknown).put(unknown).delete(unknown),
        )
}

/// Broker readiness (with reason and hint), offers per provider, the version.
#[utoipa::path(get, path = "/api/status", tag = "broker", params(Freshness),
    responses((status = 200, body = StatusView)))]
async fn status(State(state): State<AppState>, Query(q): Query<Freshness>) -> Json<StatusView> {
    Json(state.status_view(q.fresh).await)
}

/// `GET /api/costs?period=today|month|range&from&to`: the broker's totals when it answers,
/// ours always, and each run's cost.
#[utoipa::path(get, path = "/api/costs", tag = "costs",
    params(
        ("period" = Option<String>, Query, description = "today, month (default) or range"),
        ("from" = Option<String>, Query, description = "First day of a range, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last day of a range (included), YYYY-MM-DD"),
    ),
    responses(
        (status = 200, body = gdl_model::costs::CostReport),
        (status = 400, description = "A bad period or range", body = gdl_model::api::ApiError),
    ))]
async fn costs(
    State(state): State<AppState>,
    Query(params): Query<gdl_model::costs::CostParams>,
) -> Result<Json<gdl_model::costs::CostReport>, AppError> {
    Ok(Json(
        crate::costs::report(
            state.runner.store(),
            state.monitor.client(),
            &params,
            state.settings.broker_patience,
        )
        .await?,
    ))
}

/// Our sessions on the broker (every version of this product), with owning run and cost.
#[utoipa::path(get, path = "/api/sessions", tag = "sessions", params(Freshness),
    responses((status = 200, body = SessionsView)))]
async fn sessions(State(state): State<AppState>, Query(q): Query<Freshness>) -> Json<SessionsView> {
    Json(state.sessions_view(q.fresh).await)
}

/// `POST /api/runs` with a JSON [`TestConfig`]: `{"id": ...}` (201), 400 on bad input,
/// 409 `run_in_progress` over the limit, 429 over the start rate.
#[utoipa::path(post, path = "/api/runs", tag = "runs", request_body = TestConfig,
    responses(
        (status = 201, description = "Started: `{\"id\": \"run-…\"}`", body = serde_json::Value),
        (status = 400, description = "Bad input", body = gdl_model::api::ApiError),
        (status = 409, description = "A run is already in progress", body = gdl_model::api::ApiError),
        (status = 429, description = "Too many starts", body = gdl_model::api::ApiError),
    ))]
async fn start_run(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let config: TestConfig = serde_json::from_slice(&body).map_err(|e| {
        RunError::invalid(
            format!("the test configuration is not valid JSON of the expected shape: {e}"),
            r#"Send at least {"model": "qwen2.5-0.5b", "max_price": 0.5}; optional: provider, quantization, reservation_hours, gpu_count, keep_on_failure, deploy_mode."#,
        )
    })?;
    let run = state.runner.start(config).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": run.id}))))
}

/// One run: its steps, rentals, host report, cleanup and error.
#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs", params(("id" = String, Path)),
    responses((status = 200, body = Run), (status = 404, body = gdl_model::api::ApiError)))]
async fn get_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Run>, AppError> {
    match state.runner.store().run(&id).await? {
        Some(run) => Ok(Json(run)),
        None => Err(RunError::NotFound(id).into()),
    }
}

/// Cancels a run in progress; its cleanup destroys what it rented.
#[utoipa::path(post, path = "/api/runs/{id}/cancel", tag = "runs", params(("id" = String, Path)),
    responses((status = 202, description = "Cancelling"), (status = 404, body = gdl_model::api::ApiError)))]
async fn cancel_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.runner.cancel(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// One benchmark record with its raw samples (`{benchmark, samples: [{phase, sample}]}`).
#[utoipa::path(get, path = "/api/benchmarks/{id}", tag = "benchmarks", params(("id" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = gdl_model::api::ApiError)))]
async fn get_benchmark(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    match state.runner.store().benchmark(&id).await? {
        Some((record, samples)) => {
            let samples: Vec<serde_json::Value> = samples
                .into_iter()
                .map(|(phase, s)| serde_json::json!({"phase": phase, "sample": s}))
                .collect();
            Ok(Json(
                serde_json::json!({"benchmark": record, "samples": samples}),
            ))
        }
        None => Err(AppError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BenchmarkNotFound,
            format!("no benchmark {id}"),
            "List benchmarks with GET /api/benchmarks.",
        )),
    }
}

/// `GET /api/inventory?provider=&min_vram=&max_price=&gpu_type=&location=&min_reliability=&sort=`
/// (and `model=&quantization=&gpus=` to mark the offers that fit a model).
#[utoipa::path(get, path = "/api/inventory", tag = "broker",
    params(
        ("provider" = Option<String>, Query), ("min_vram" = Option<u32>, Query),
        ("max_price" = Option<f64>, Query), ("gpu_type" = Option<String>, Query),
        ("location" = Option<String>, Query), ("min_reliability" = Option<f64>, Query),
        ("sort" = Option<String>, Query, description = "price (default), vram, reliability or confidence"),
        ("model" = Option<String>, Query, description = "Mark the offers that fit this model"),
        ("quantization" = Option<String>, Query), ("gpus" = Option<u32>, Query),
    ),
    responses(
        (status = 200, body = gdl_model::api::InventoryView),
        (status = 400, body = gdl_model::api::ApiError),
        (status = 502, description = "The broker failed", body = gdl_model::api::ApiError),
    ))]
async fn inventory(
    State(state): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<gdl_model::api::InventoryView>, AppError> {
    let filters = gdl_model::api::InventoryFilters::from_pairs(
        q.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    Ok(Json(
        app::backend::Backend::inventory(&state, filters).await?,
    ))
}

/// Counters of the live channel.
#[utoipa::path(get, path = "/api/live/stats", tag = "live", responses((status = 200, body = LiveStats)))]
async fn live_stats(State(state): State<AppState>) -> Json<LiveStats> {
    Json(state.hub.stats())
}

/// How the dashboard is doing: the broker (state, circuit breaker, call latency, retries,
/// inventory age), the live channel, the runner and the store, with the last hour's samples.
#[utoipa::path(get, path = "/api/health", tag = "live",
    responses((status = 200, body = gdl_model::health::HealthView)))]
async fn health(State(state): State<AppState>) -> Json<gdl_model::health::HealthView> {
    Json(state.health_now(true))
}

/// Test-only routes, mounted with `--test-hooks`: `POST /_test/live/raw` sends its body as
/// a raw text frame to every live client (to prove malformed frames are shown).
pub fn test_hooks() -> Router<AppState> {
    Router::new()
        .route(
            "/_test/live/raw",
            axum::routing::post(|State(state): State<AppState>, body: String| async move {
                state.hub.broadcast_raw(&body);
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_test/runs/fail_next",
            axum::routing::post(|State(state): State<AppState>, body: String| async move {
                match StepName::parse(body.trim()) {
                    Some(step) => {
                        state.runner.inject_failure(Some(step));
                        StatusCode::NO_CONTENT
                    }
                    None => StatusCode::BAD_REQUEST,
                }
            }),
        )
}

async fn unknown() -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such API endpoint",
        "Every endpoint is described in /api/openapi.json (and the README).",
    )
}
