//! What server functions need from the server, as a trait object provided as context
//! (`app` never depends on `server`; the server implements this).

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use gdl_model::api::{ApiError, SessionAction, SessionActionResult};
use gdl_model::live::LiveState;
use gdl_model::runs::{BenchmarkRecord, TestConfig};
use std::sync::Arc;

/// The server-side services the pages read.
pub trait Backend: Send + Sync + 'static {
    /// The live state (broker status, our sessions) that the first paint renders; the
    /// live channel keeps it current afterwards.
    fn live_state(&self) -> BoxFuture<'_, LiveState>;
    /// Starts a deployment test; returns the run id.
    fn start_run(&self, config: TestConfig) -> BoxFuture<'_, Result<String, ApiError>>;
    /// Cancels a run in progress.
    fn cancel_run(&self, id: String) -> BoxFuture<'_, Result<(), ApiError>>;
    /// Destroys one of our sessions on the broker (clean up now).
    fn destroy_session(&self, id: String) -> BoxFuture<'_, Result<String, ApiError>>;
    /// The `limit` newest benchmark records created before `before`, newest first (older
    /// ones than the live state keeps).
    fn benchmarks_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<BenchmarkRecord>, ApiError>>;
    /// The broker's offers that pass `filters`, sorted as they ask.
    fn inventory(
        &self,
        filters: gdl_model::api::InventoryFilters,
    ) -> BoxFuture<'_, Result<gdl_model::api::InventoryView, ApiError>>;
    /// Cleans up, marks done or extends (`hours`) one of our sessions.
    fn session_action(
        &self,
        id: String,
        action: SessionAction,
        hours: Option<u32>,
    ) -> BoxFuture<'_, Result<SessionActionResult, ApiError>>;
    /// Cleans up every orphan: what was cleaned, and why the others were not.
    fn clean_up_orphans(&self) -> BoxFuture<'_, (Vec<SessionActionResult>, Vec<ApiError>)>;
    /// What renting cost over a period: the broker's figures when it answers, ours always.
    fn costs(
        &self,
        params: gdl_model::costs::CostParams,
    ) -> BoxFuture<'_, Result<gdl_model::costs::CostReport, ApiError>>;
    /// Imports the old Python dashboard's benchmark files: what was imported, why the rest
    /// was skipped.
    fn import_benchmarks(
        &self,
        files: Vec<gdl_model::legacy::OldFile>,
    ) -> BoxFuture<'_, Result<gdl_model::legacy::ImportReport, ApiError>>;
    /// One run, live or stored.
    fn run(&self, id: String) -> BoxFuture<'_, Result<gdl_model::runs::Run, ApiError>>;
    /// `model` across GPUs and providers (every model benchmarked when `model` is empty:
    /// then only `models` is filled).
    fn compare(
        &self,
        model: String,
    ) -> BoxFuture<'_, Result<(Vec<String>, gdl_model::compare::Comparison), ApiError>>;
    /// One benchmark with its raw samples (phase, sample).
    fn benchmark(&self, id: String) -> BoxFuture<'_, Result<StoredBenchmark, ApiError>>;
    /// How the dashboard is doing, with the last hour's samples.
    fn health(&self) -> gdl_model::health::HealthView;
    /// Whether pages need a login (an access token is set), so the header offers a logout.
    fn login_required(&self) -> bool;
    /// The Share tab: embed tokens, the origins allowed to embed, whether a token is needed.
    fn embed_setup(&self) -> BoxFuture<'_, Result<gdl_model::embed::EmbedSetup, ApiError>>;
    /// Creates a read-only embed token labelled `label` (its secret is in the answer only).
    fn create_embed_token(
        &self,
        label: String,
    ) -> BoxFuture<'_, Result<gdl_model::embed::CreatedEmbedToken, ApiError>>;
    /// Revokes an embed token.
    fn revoke_embed_token(
        &self,
        id: String,
    ) -> BoxFuture<'_, Result<gdl_model::embed::EmbedToken, ApiError>>;
}

/// A benchmark record with its raw samples (phase, sample).
pub type StoredBenchmark = (BenchmarkRecord, Vec<(String, gdl_model::benchmark::Sample)>);

/// The page Content-Security-Policy, with `{nonce}` where the hydration scripts' nonce
/// goes; the server provides it, the app sets the header with the request's nonce.
#[derive(Clone, Debug)]
pub struct CspTemplate(pub String);

/// The context value server functions look up.
pub type SharedBackend = Arc<dyn Backend>;

/// The backend from the Leptos context, or an error saying it is missing.
pub fn backend() -> Result<SharedBackend, crate::error::AppError> {
    leptos::prelude::use_context::<SharedBackend>().ok_or_else(|| {
        crate::error::AppError(gdl_model::api::ApiError::new(
            gdl_model::code::ErrorCode::DashboardMisconfigured,
            "the server did not provide its backend to the app",
        ))
    })
}
