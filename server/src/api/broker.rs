//! The broker and the dashboard at a glance: status, our sessions, the inventory, costs,
//! health and the live channel's counters.

use super::Query;
use crate::service::{Dashboard, ServiceError};
use axum::extract::State;
use axum::Json;
use gdl_model::costs::{CostParams, CostReport};
use gdl_model::error::ApiError;
use gdl_model::health::HealthView;
use gdl_model::inventory::{InventoryFilters, InventoryView};
use gdl_model::live::LiveStats;
use gdl_model::query::Freshness;
use gdl_model::sessions::SessionsView;
use gdl_model::status::StatusView;

/// Broker readiness (with reason and hint), offers per provider, the version.
#[utoipa::path(get, path = "/api/status", tag = "broker", params(Freshness),
    responses((status = 200, body = StatusView), (status = 400, body = ApiError)))]
pub async fn status(State(d): State<Dashboard>, Query(q): Query<Freshness>) -> Json<StatusView> {
    Json(d.status(q.fresh).await)
}

/// Our sessions on the broker (every version of this product), with owning run and cost.
#[utoipa::path(get, path = "/api/sessions", tag = "sessions", params(Freshness),
    responses((status = 200, body = SessionsView), (status = 400, body = ApiError)))]
pub async fn sessions(
    State(d): State<Dashboard>,
    Query(q): Query<Freshness>,
) -> Json<SessionsView> {
    Json(d.sessions(q.fresh).await)
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
        (status = 200, body = InventoryView),
        (status = 400, body = ApiError),
        (status = 502, description = "The broker failed", body = ApiError),
    ))]
pub async fn inventory(
    State(d): State<Dashboard>,
    Query(filters): Query<InventoryFilters>,
) -> Result<Json<InventoryView>, ServiceError> {
    Ok(Json(d.inventory(&filters).await?))
}

/// `GET /api/costs?period=today|month|range&from&to`: the broker's totals when it answers,
/// ours always, and each run's cost.
#[utoipa::path(get, path = "/api/costs", tag = "costs", params(CostParams),
    responses(
        (status = 200, body = CostReport),
        (status = 400, description = "A bad period or range", body = ApiError),
    ))]
pub async fn costs(
    State(d): State<Dashboard>,
    Query(params): Query<CostParams>,
) -> Result<Json<CostReport>, ServiceError> {
    Ok(Json(d.costs(&params).await?))
}

/// Counters of the live channel.
#[utoipa::path(get, path = "/api/live/stats", tag = "live", responses((status = 200, body = LiveStats)))]
pub async fn live_stats(State(d): State<Dashboard>) -> Json<LiveStats> {
    Json(d.live_stats())
}

/// How the dashboard is doing: the broker (state, circuit breaker, call latency, retries,
/// inventory age), the live channel, the runner and the store, with the last hour's samples.
#[utoipa::path(get, path = "/api/health", tag = "live",
    responses((status = 200, body = HealthView)))]
pub async fn health(State(d): State<Dashboard>) -> Json<HealthView> {
    Json(d.health())
}
