//! Server functions, grouped by domain. Bodies run on the server only, and each delegates
//! to one operation of the server's service layer through the [`crate::backend::Backend`]
//! context value.
//!
//! Every server function answers a [`Reply`]: the outer `Err` when the call itself failed
//! (the server unreachable, the page out of date), the inner `Err` when the operation was
//! refused (a bad range, a session gone): an answer, shown on the page, not a failure of
//! the call. Pages read a reply through [`crate::components::Loaded`]; actions through
//! [`outcome`].

mod campaigns;
mod deployments;

pub use campaigns::*;
pub use deployments::*;

use crate::error::AppError;
use gdl_model::compare::{CompareQuery, Comparison};
use gdl_model::costs::{CostParams, CostReport};
use gdl_model::embed::{CreatedEmbedToken, EmbedSetup, EmbedToken};
use gdl_model::error::ApiError;
use gdl_model::health::HealthView;
use gdl_model::ids::{BenchmarkId, RunId, SessionId};
use gdl_model::inventory::{InventoryFilters, InventoryView};
use gdl_model::legacy::{ImportReport, OldFile};
use gdl_model::live::LiveState;
use gdl_model::runs::{BenchmarkDetail, BenchmarkRecord, Run, RunFilters, TestConfig};
use gdl_model::sessions::{OrphanCleanup, SessionAction, SessionActionResult};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// What every server function answers: the operation's result or its refusal, inside the
/// call's own result.
pub type Reply<T> = Result<Result<T, ApiError>, AppError>;

/// A reply as one result: the refusal or the call's failure, both as people read them.
pub fn outcome<T>(reply: Reply<T>) -> Result<T, ApiError> {
    reply.map_err(|AppError(e)| e).and_then(|r| r)
}

/// An answer that cannot be refused, as a reply.
#[cfg(feature = "ssr")]
fn answered<T>(value: T) -> Reply<T> {
    Ok(Ok(value))
}

// --- the live state and the dashboard ---

/// The live state for the first paint: broker status and our sessions.
#[server(prefix = "/_fn", endpoint = "live_state")]
pub async fn get_live_state() -> Reply<LiveState> {
    answered(crate::backend::backend()?.live_state().await)
}

/// How the dashboard is doing (the Health tab).
#[server(prefix = "/_fn", endpoint = "health")]
pub async fn get_health() -> Reply<HealthView> {
    answered(crate::backend::backend()?.health())
}

// --- runs ---

/// Starts a deployment test with `config`; returns the run id.
#[server(prefix = "/_fn", endpoint = "start_run")]
pub async fn start_run(config: TestConfig) -> Reply<RunId> {
    let mut config = config;
    // The form's Tune judges settings by their capacity at the SLOs: it runs the search.
    config.capacity_search |= config.tune.is_some();
    Ok(crate::backend::backend()?.start_run(config).await)
}

/// Cancels a run in progress (its session is destroyed by cleanup).
#[server(prefix = "/_fn", endpoint = "cancel_run")]
pub async fn cancel_run(id: RunId) -> Reply<()> {
    Ok(crate::backend::backend()?.cancel_run(id).await)
}

/// Stored runs that pass `filters`, newest first, one page (the run history page).
/// JSON-encoded, as `get_inventory`.
#[server(prefix = "/_fn", endpoint = "runs", input = Json)]
pub async fn get_runs(filters: RunFilters) -> Reply<Vec<Run>> {
    Ok(crate::backend::backend()?.runs(filters).await)
}

/// One run by id (the run page), from the store.
#[server(prefix = "/_fn", endpoint = "run")]
pub async fn get_run(id: RunId) -> Reply<Run> {
    Ok(crate::backend::backend()?.run(id).await)
}

// --- sessions ---

/// Destroys a session on the broker now.
#[server(prefix = "/_fn", endpoint = "destroy_session")]
pub async fn destroy_session(id: SessionId) -> Reply<String> {
    Ok(crate::backend::backend()?.destroy_session(id).await)
}

/// Cleans up, marks done or extends (`hours`) one of our sessions.
#[server(prefix = "/_fn", endpoint = "act_on_session")]
pub async fn act_on_session(
    id: SessionId,
    action: SessionAction,
    hours: Option<u32>,
) -> Reply<SessionActionResult> {
    Ok(crate::backend::backend()?
        .act_on_session(id, action, hours)
        .await)
}

/// Cleans up every orphan; returns what was cleaned and why the others were not.
#[server(prefix = "/_fn", endpoint = "clean_up_orphans")]
pub async fn clean_up_orphans() -> Reply<OrphanCleanup> {
    answered(crate::backend::backend()?.clean_up_orphans().await)
}

// --- the broker ---

/// The offers that pass `filters` (the Inventory tab). JSON-encoded: URL encoding writes
/// nothing at all for filters that are all unset, which then do not read back.
#[server(prefix = "/_fn", endpoint = "inventory", input = Json)]
pub async fn get_inventory(filters: InventoryFilters) -> Reply<InventoryView> {
    Ok(crate::backend::backend()?.inventory(filters).await)
}

/// What renting cost over a period (the Costs tab). JSON-encoded, as `get_inventory`.
#[server(prefix = "/_fn", endpoint = "costs", input = Json)]
pub async fn get_costs(params: CostParams) -> Reply<CostReport> {
    Ok(crate::backend::backend()?.costs(params).await)
}

// --- benchmarks ---

/// The `limit` newest benchmark records created before `before` (older ones than the
/// live state keeps), newest first.
#[server(prefix = "/_fn", endpoint = "benchmarks_before")]
pub async fn benchmarks_before(
    before: chrono::DateTime<chrono::Utc>,
    limit: u32,
) -> Reply<Vec<BenchmarkRecord>> {
    Ok(crate::backend::backend()?
        .benchmarks_before(before, limit)
        .await)
}

/// One benchmark with its raw samples, for its detail page.
#[server(prefix = "/_fn", endpoint = "benchmark")]
pub async fn get_benchmark(id: BenchmarkId) -> Reply<BenchmarkDetail> {
    Ok(crate::backend::backend()?.benchmark(id).await)
}

/// The models benchmarked, and the query's model across GPUs and providers in one
/// comparison group (the Compare page; see [`CompareQuery`]).
#[server(prefix = "/_fn", endpoint = "compare")]
pub async fn get_comparison(query: CompareQuery) -> Reply<(Vec<String>, Comparison)> {
    Ok(crate::backend::backend()?.compare(query).await)
}

/// Imports the old Python dashboard's benchmark files (JSON-encoded: file texts go as they
/// are): what was imported, and why the rest was skipped.
#[server(prefix = "/_fn", endpoint = "import_benchmarks", input = Json)]
pub async fn import_benchmarks(files: Vec<OldFile>) -> Reply<ImportReport> {
    Ok(crate::backend::backend()?.import_benchmarks(files).await)
}

// --- embedding ---

/// The Share tab: embed tokens (never their secrets), who may embed, whether a panel's URL
/// needs a token. Refused to an embed token, as every function not known to only read.
#[server(prefix = "/_fn", endpoint = "embed_setup")]
pub async fn get_embed_setup() -> Reply<EmbedSetup> {
    Ok(crate::backend::backend()?.embed_setup().await)
}

/// Creates a read-only embed token; its secret is in this answer only.
#[server(prefix = "/_fn", endpoint = "create_embed_token")]
pub async fn create_embed_token(label: String) -> Reply<CreatedEmbedToken> {
    Ok(crate::backend::backend()?.create_embed_token(label).await)
}

/// Revokes an embed token: its panels go offline at once, saying why.
#[server(prefix = "/_fn", endpoint = "revoke_embed_token")]
pub async fn revoke_embed_token(id: String) -> Reply<EmbedToken> {
    Ok(crate::backend::backend()?.revoke_embed_token(id).await)
}
