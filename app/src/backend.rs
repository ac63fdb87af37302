//! What server functions need from the server, as a trait object provided as context
//! (`app` never depends on `server`; the server implements this over its service layer,
//! one line a method).

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use gdl_model::campaigns::record::Campaign;
use gdl_model::campaigns::{CampaignPlan, CampaignRequest};
use gdl_model::compare::{CompareQuery, Comparison};
use gdl_model::costs::{CostParams, CostReport};
use gdl_model::deployments::{
    CreatedKey, DeployBenchmark, DeployRequest, DeployStarted, Deployment, DeploymentKey, Guards,
};
use gdl_model::embed::{CreatedEmbedToken, EmbedSetup, EmbedToken};
use gdl_model::error::ApiError;
use gdl_model::health::HealthView;
use gdl_model::ids::{BenchmarkId, CampaignId, DeploymentId, RunId, SessionId};
use gdl_model::inventory::{InventoryFilters, InventoryView};
use gdl_model::legacy::{ImportReport, OldFile};
use gdl_model::live::LiveState;
use gdl_model::runs::{BenchmarkDetail, BenchmarkRecord, Run, RunFilters, TestConfig};
use gdl_model::sessions::{OrphanCleanup, SessionAction, SessionActionResult};
use std::sync::Arc;

/// What an operation answers: its result, or the service's refusal.
pub type Answer<'a, T> = BoxFuture<'a, Result<T, ApiError>>;

/// The server-side operations the pages use.
pub trait Backend: Send + Sync + 'static {
    /// The live state (broker status, our sessions) that the first paint renders; the
    /// live channel keeps it current afterwards.
    fn live_state(&self) -> BoxFuture<'_, LiveState>;
    /// Whether pages need a login (an access token is set), so the header offers a logout.
    fn login_required(&self) -> bool;
    /// Starts a deployment test; returns the run id.
    fn start_run(&self, config: TestConfig) -> Answer<'_, RunId>;
    /// Cancels a run in progress.
    fn cancel_run(&self, id: RunId) -> Answer<'_, ()>;
    /// Stored runs that pass `filters`, newest first, one page.
    fn runs(&self, filters: RunFilters) -> Answer<'_, Vec<Run>>;
    /// One run, as stored.
    fn run(&self, id: RunId) -> Answer<'_, Run>;
    /// Destroys one of our sessions on the broker (clean up now).
    fn destroy_session(&self, id: SessionId) -> Answer<'_, String>;
    /// Cleans up, marks done or extends (`hours`) one of our sessions.
    fn act_on_session(
        &self,
        id: SessionId,
        action: SessionAction,
        hours: Option<u32>,
    ) -> Answer<'_, SessionActionResult>;
    /// Cleans up every orphan: what was cleaned, and why the others were not.
    fn clean_up_orphans(&self) -> BoxFuture<'_, OrphanCleanup>;
    /// The broker's offers that pass `filters`, sorted as they ask.
    fn inventory(&self, filters: InventoryFilters) -> Answer<'_, InventoryView>;
    /// What renting cost over a period: the broker's figures when it answers, ours always.
    fn costs(&self, params: CostParams) -> Answer<'_, CostReport>;
    /// The `limit` newest benchmark records created before `before`, newest first (older
    /// ones than the live state keeps).
    fn benchmarks_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Answer<'_, Vec<BenchmarkRecord>>;
    /// One benchmark with its raw samples.
    fn benchmark(&self, id: BenchmarkId) -> Answer<'_, BenchmarkDetail>;
    /// The models benchmarked, and the query's model across GPUs and providers in one
    /// comparison group (only the models when no model is given), only the benchmarks run
    /// with the query's settings counted when it names them.
    fn compare(&self, query: CompareQuery) -> Answer<'_, (Vec<String>, Comparison)>;
    /// Imports the old Python dashboard's benchmark files: what was imported, why the rest
    /// was skipped.
    fn import_benchmarks(&self, files: Vec<OldFile>) -> Answer<'_, ImportReport>;
    /// How the dashboard is doing, with the last hour's samples.
    fn health(&self) -> HealthView;
    /// The Share tab: embed tokens, the origins allowed to embed, whether a token is needed.
    fn embed_setup(&self) -> Answer<'_, EmbedSetup>;
    /// Creates a read-only embed token labelled `label` (its secret is in the answer only).
    fn create_embed_token(&self, label: String) -> Answer<'_, CreatedEmbedToken>;
    /// Revokes an embed token.
    fn revoke_embed_token(&self, id: String) -> Answer<'_, EmbedToken>;
    /// Starts a deployment: its run provisions it, then it serves until stopped. The answer
    /// holds its first key in full, this once.
    fn deploy(&self, request: DeployRequest) -> Answer<'_, DeployStarted>;
    /// Keeps a benchmark's model serving where it was measured, with its tuning's best
    /// settings unless `asked.own_settings`.
    fn deploy_benchmark(
        &self,
        id: BenchmarkId,
        asked: DeployBenchmark,
    ) -> Answer<'_, DeployStarted>;
    /// Deployments, newest first.
    fn deployments(&self) -> Answer<'_, Vec<Deployment>>;
    /// One deployment as it is now.
    fn deployment(&self, id: DeploymentId) -> Answer<'_, Deployment>;
    /// Stops a deployment; its run destroys the session and confirms it.
    fn stop_deployment(&self, id: DeploymentId) -> Answer<'_, Deployment>;
    /// Changes a deployment's guards while it runs.
    fn set_deployment_guards(&self, id: DeploymentId, guards: Guards) -> Answer<'_, Deployment>;
    /// Asks a serving deployment to tune its engine within `request`'s budget.
    fn tune_deployment(
        &self,
        id: DeploymentId,
        request: gdl_model::tuning::TuneRequest,
    ) -> Answer<'_, Deployment>;
    /// Makes a key for a deployment; its secret is in the answer only.
    fn new_deployment_key(&self, id: DeploymentId, label: String) -> Answer<'_, CreatedKey>;
    /// Revokes a deployment's key.
    fn revoke_deployment_key(&self, id: DeploymentId, key_id: String) -> Answer<'_, DeploymentKey>;
    /// The candidates a campaign would measure, ranked by estimate; nothing rented.
    fn plan_campaign(&self, request: CampaignRequest) -> Answer<'_, CampaignPlan>;
    /// Starts a campaign.
    fn start_campaign(&self, request: CampaignRequest) -> Answer<'_, Campaign>;
    /// Campaigns, newest first.
    fn campaigns(&self) -> Answer<'_, Vec<Campaign>>;
    /// One campaign as it is now.
    fn campaign(&self, id: CampaignId) -> Answer<'_, Campaign>;
    /// Stops a campaign; its runs' sessions are destroyed and confirmed.
    fn stop_campaign(&self, id: CampaignId) -> Answer<'_, Campaign>;
}

/// The Content-Security-Policy of pages and of the embeddable panels (`/embed/...`, the
/// only ones other origins may frame), each with `{nonce}` where the hydration scripts'
/// nonce goes; the server provides them, the app sets the header with the request's nonce.
#[derive(Clone, Debug)]
pub struct CspTemplate {
    /// The dashboard's own pages: framed by nothing but itself.
    pub page: String,
    /// The panels: framed by the allowed origins too.
    pub panel: String,
}

/// The context value server functions look up.
pub type SharedBackend = Arc<dyn Backend>;

/// The backend from the Leptos context, or an error saying it is missing.
pub fn backend() -> Result<SharedBackend, crate::error::AppError> {
    leptos::prelude::use_context::<SharedBackend>().ok_or_else(|| {
        crate::error::AppError(ApiError::new(
            gdl_model::code::ErrorCode::DashboardMisconfigured,
            "the server did not provide its backend to the app",
        ))
    })
}
