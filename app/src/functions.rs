//! Server functions, grouped by domain. Bodies run on the server only.

use crate::error::AppError;
use gdl_model::live::LiveState;
use gdl_model::runs::TestConfig;
use leptos::prelude::*;

/// The live state for the first paint: broker status and our sessions.
#[server(prefix = "/_fn", endpoint = "live_state")]
pub async fn get_live_state() -> Result<LiveState, AppError> {
    let backend = crate::backend::backend()?;
    Ok(backend.live_state().await)
}

/// Whether this dashboard asks for a login (the header then offers "Log out").
#[server(prefix = "/_fn", endpoint = "login_required")]
pub async fn login_required() -> Result<bool, AppError> {
    Ok(crate::backend::backend()?.login_required())
}

/// Starts a deployment test with `config`; returns the run id.
#[server(prefix = "/_fn", endpoint = "start_run")]
pub async fn start_run(config: TestConfig) -> Result<String, AppError> {
    let backend = crate::backend::backend()?;
    backend.start_run(config).await.map_err(AppError)
}

/// Cancels a run in progress (its session is destroyed by cleanup).
#[server(prefix = "/_fn", endpoint = "cancel_run")]
pub async fn cancel_run(id: String) -> Result<(), AppError> {
    let backend = crate::backend::backend()?;
    backend.cancel_run(id).await.map_err(AppError)
}

/// The `limit` newest benchmark records created before `before` (older ones than the
/// live state keeps), newest first.
#[server(prefix = "/_fn", endpoint = "benchmarks_before")]
pub async fn benchmarks_before(
    before: chrono::DateTime<chrono::Utc>,
    limit: u32,
) -> Result<Vec<gdl_model::runs::BenchmarkRecord>, AppError> {
    let backend = crate::backend::backend()?;
    backend
        .benchmarks_before(before, limit.clamp(1, 200))
        .await
        .map_err(AppError)
}

/// Cleans up, marks done or extends (`hours`) one of our sessions. A refusal (not found,
/// already ended, bad hours, the broker's hard maximum) is an answer, not a failure of the
/// call: it comes back as the inner `Err`.
#[server(prefix = "/_fn", endpoint = "act_on_session")]
pub async fn act_on_session(
    id: String,
    action: gdl_model::api::SessionAction,
    hours: Option<u32>,
) -> Result<Result<gdl_model::api::SessionActionResult, gdl_model::api::ApiError>, AppError> {
    let backend = crate::backend::backend()?;
    Ok(backend.session_action(id, action, hours).await)
}

/// Cleans up every orphan; returns what was cleaned and why the others were not.
#[server(prefix = "/_fn", endpoint = "clean_up_orphans")]
pub async fn clean_up_orphans() -> Result<
    (
        Vec<gdl_model::api::SessionActionResult>,
        Vec<gdl_model::api::ApiError>,
    ),
    AppError,
> {
    Ok(crate::backend::backend()?.clean_up_orphans().await)
}

/// The offers that pass `filters` (the Inventory tab). The broker's refusal or absence is
/// an answer (the inner `Err`), shown on the page. JSON-encoded: URL encoding writes
/// nothing at all for filters that are all unset, which then do not read back.
#[server(prefix = "/_fn", endpoint = "inventory", input = leptos::server_fn::codec::Json)]
pub async fn get_inventory(
    filters: gdl_model::api::InventoryFilters,
) -> Result<Result<gdl_model::api::InventoryView, gdl_model::api::ApiError>, AppError> {
    Ok(crate::backend::backend()?.inventory(filters).await)
}

/// What renting cost over a period (the Costs tab). A refusal (a bad range) is an answer,
/// the inner `Err`. JSON-encoded, as `get_inventory`.
#[server(prefix = "/_fn", endpoint = "costs", input = leptos::server_fn::codec::Json)]
pub async fn get_costs(
    params: gdl_model::costs::CostParams,
) -> Result<Result<gdl_model::costs::CostReport, gdl_model::api::ApiError>, AppError> {
    Ok(crate::backend::backend()?.costs(params).await)
}

/// One run by id (the run page), from the store.
#[server(prefix = "/_fn", endpoint = "run")]
pub async fn get_run(
    id: String,
) -> Result<Result<gdl_model::runs::Run, gdl_model::api::ApiError>, AppError> {
    Ok(crate::backend::backend()?.run(id).await)
}

/// The models benchmarked, and `model` across GPUs and providers (the Compare page).
#[server(prefix = "/_fn", endpoint = "compare")]
pub async fn get_comparison(
    model: String,
) -> Result<Result<(Vec<String>, gdl_model::compare::Comparison), gdl_model::api::ApiError>, AppError>
{
    Ok(crate::backend::backend()?.compare(model).await)
}

/// A benchmark's distributions: its record, and its samples' TTFT and ITL values (ms).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BenchmarkDetail {
    pub record: gdl_model::runs::BenchmarkRecord,
    /// TTFT of every successful load request (the quality prompts left out).
    pub ttft_ms: Vec<f64>,
    /// Every gap between chunks of the load requests.
    pub itl_ms: Vec<f64>,
}

/// One benchmark for its detail page.
#[server(prefix = "/_fn", endpoint = "benchmark")]
pub async fn get_benchmark(
    id: String,
) -> Result<Result<BenchmarkDetail, gdl_model::api::ApiError>, AppError> {
    let backend = crate::backend::backend()?;
    Ok(backend.benchmark(id).await.map(|(record, samples)| {
        let load: Vec<_> = samples
            .into_iter()
            .filter(|(phase, s)| phase != "quality" && s.ok())
            .map(|(_, s)| s)
            .collect();
        BenchmarkDetail {
            record,
            ttft_ms: load.iter().filter_map(|s| s.ttft_ms).collect(),
            itl_ms: load
                .iter()
                .flat_map(|s| {
                    s.chunk_ms
                        .windows(2)
                        .map(|w| w[1] - w[0])
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }))
}

/// Imports the old Python dashboard's benchmark files (JSON-encoded: file texts go as they
/// are): what was imported, and why the rest was skipped. A store failure is the inner
/// `Err`.
#[server(prefix = "/_fn", endpoint = "import_benchmarks", input = leptos::server_fn::codec::Json)]
pub async fn import_benchmarks(
    files: Vec<gdl_model::legacy::OldFile>,
) -> Result<Result<gdl_model::legacy::ImportReport, gdl_model::api::ApiError>, AppError> {
    Ok(crate::backend::backend()?.import_benchmarks(files).await)
}

/// How the dashboard is doing (the Health tab).
#[server(prefix = "/_fn", endpoint = "health")]
pub async fn get_health() -> Result<gdl_model::health::HealthView, AppError> {
    Ok(crate::backend::backend()?.health())
}

/// Destroys a session on the broker now.
#[server(prefix = "/_fn", endpoint = "destroy_session")]
pub async fn destroy_session(id: String) -> Result<String, AppError> {
    let backend = crate::backend::backend()?;
    backend.destroy_session(id).await.map_err(AppError)
}

/// The Share tab: embed tokens (never their secrets), who may embed, whether a panel's URL
/// needs a token. Refused to an embed token, as every function not known to only read.
#[server(prefix = "/_fn", endpoint = "embed_setup")]
pub async fn get_embed_setup(
) -> Result<Result<gdl_model::embed::EmbedSetup, gdl_model::api::ApiError>, AppError> {
    Ok(crate::backend::backend()?.embed_setup().await)
}

/// Creates a read-only embed token; its secret is in this answer only. A refusal (no label)
/// is the inner `Err`.
#[server(prefix = "/_fn", endpoint = "create_embed_token")]
pub async fn create_embed_token(
    label: String,
) -> Result<Result<gdl_model::embed::CreatedEmbedToken, gdl_model::api::ApiError>, AppError> {
    Ok(crate::backend::backend()?.create_embed_token(label).await)
}

/// Revokes an embed token: its panels go offline at once, saying why.
#[server(prefix = "/_fn", endpoint = "revoke_embed_token")]
pub async fn revoke_embed_token(
    id: String,
) -> Result<Result<gdl_model::embed::EmbedToken, gdl_model::api::ApiError>, AppError> {
    Ok(crate::backend::backend()?.revoke_embed_token(id).await)
}
