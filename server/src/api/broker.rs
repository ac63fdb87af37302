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

/// Broker readiness and the offers per provider.
///
/// Whether the broker is ready (with the reason and a hint when it is not), how many offers
/// each provider has, and this dashboard's version. `fresh=true` asks the broker now instead
/// of answering from the poller's last view.
#[utoipa::path(get, path = "/api/status", tag = "broker", params(Freshness),
    responses((status = 200, body = StatusView), (status = 400, body = ApiError)))]
pub async fn status(State(d): State<Dashboard>, Query(q): Query<Freshness>) -> Json<StatusView> {
    Json(d.status(q.fresh).await)
}

/// Our sessions on the broker, with their runs and costs.
///
/// Every session this product rented (any version of it), newest first: its status, error,
/// time to running, the run that rented it, whether another installation made it (`foreign`),
/// and its cost so far, the broker's figure or ours. `fresh=true` asks the broker now.
#[utoipa::path(get, path = "/api/sessions", tag = "sessions", params(Freshness),
    responses((status = 200, body = SessionsView), (status = 400, body = ApiError)))]
pub async fn sessions(
    State(d): State<Dashboard>,
    Query(q): Query<Freshness>,
) -> Json<SessionsView> {
    Json(d.sessions(q.fresh).await)
}

/// The GPU offers, filtered and sorted.
///
/// Offers from every provider the broker lists, filtered by provider, VRAM, price, GPU type
/// (part of the name matches: `4090` finds `RTX 4090`), location and reliability, sorted by
/// price (the default), VRAM, reliability or confidence. With `model` (and optionally
/// `quantization`, `gpus`, `max_model_len`, `engine` and `engine_version`), each offer says
/// whether that model fits on it: enough VRAM (with the KV cache of `max_model_len` tokens
/// when given), and the engine version can run there (the driver's CUDA, the GPU's
/// architecture, the quantization), by the rule a deployment test applies; the others with
/// enough VRAM say why not. 502 when the broker fails.
#[utoipa::path(get, path = "/api/inventory", tag = "broker",
    params(
        ("provider" = Option<String>, Query), ("min_vram" = Option<u32>, Query),
        ("max_price" = Option<f64>, Query), ("gpu_type" = Option<String>, Query),
        ("location" = Option<String>, Query), ("min_reliability" = Option<f64>, Query),
        ("sort" = Option<String>, Query, description = "price (default), vram, reliability or confidence"),
        ("model" = Option<String>, Query, description = "Mark the offers that fit this model"),
        ("quantization" = Option<String>, Query), ("gpus" = Option<u32>, Query),
        ("max_model_len" = Option<u32>, Query, description = "The context length to serve: its KV cache counts in the VRAM needed"),
        ("engine" = Option<String>, Query, description = "vllm (default) or sglang: the fit leaves out offers it cannot run"),
        ("engine_version" = Option<String>, Query, description = "The engine's version (its default when unset; GET /api/engines)"),
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

/// What renting cost in a period.
///
/// For today, this month (the default) or a range of days (`period=range&from=YYYY-MM-DD&to=YYYY-MM-DD`,
/// both included): the broker's totals for our consumer id when it answers (what is billed),
/// our own records always (each rental's price × time), split by provider and GPU, and each
/// run's cost. 400 for a bad period or range.
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
///
/// Connections now and in all, messages sent, the deepest client queue, overflows, send
/// failures, replays and snapshots after a reconnect, pings, and frames that could not be
/// read, since this server started.
#[utoipa::path(get, path = "/api/live/stats", tag = "live", responses((status = 200, body = LiveStats)))]
pub async fn live_stats(State(d): State<Dashboard>) -> Json<LiveStats> {
    Json(d.live_stats())
}

/// How the dashboard is doing.
///
/// The broker (state, circuit breaker, call latency, retries, inventory age), the live
/// channel, the runner and the store, with samples of the last hour.
#[utoipa::path(get, path = "/api/health", tag = "live",
    responses((status = 200, body = HealthView)))]
pub async fn health(State(d): State<Dashboard>) -> Json<HealthView> {
    Json(d.health())
}
