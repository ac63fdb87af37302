//! The pages' door: the app's [`Backend`] over the [`Dashboard`], one line a method. The
//! app's server functions call these through a context value (`app` never depends on
//! `server`).

use crate::service::Dashboard;
use app::backend::{Answer, Backend};
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
use gdl_model::health::HealthView;
use gdl_model::ids::{BenchmarkId, CampaignId, DeploymentId, RunId, SessionId};
use gdl_model::inventory::{InventoryFilters, InventoryView};
use gdl_model::legacy::{ImportReport, OldFile};
use gdl_model::live::LiveState;
use gdl_model::runs::{BenchmarkDetail, BenchmarkRecord, Run, RunFilters, TestConfig};
use gdl_model::sessions::{OrphanCleanup, SessionAction, SessionActionResult};

impl Backend for Dashboard {
    fn live_state(&self) -> BoxFuture<'_, LiveState> {
        Box::pin(Dashboard::live_state(self))
    }

    fn login_required(&self) -> bool {
        Dashboard::login_required(self)
    }

    fn start_run(&self, config: TestConfig) -> Answer<'_, RunId> {
        Box::pin(async move { Ok(Dashboard::start_run(self, config).await?.id) })
    }

    fn cancel_run(&self, id: RunId) -> Answer<'_, ()> {
        Box::pin(async move { Ok(Dashboard::cancel_run(self, &id).await?) })
    }

    fn runs(&self, filters: RunFilters) -> Answer<'_, Vec<Run>> {
        Box::pin(async move { Ok(self.history().runs(&filters).await?) })
    }

    fn run(&self, id: RunId) -> Answer<'_, Run> {
        Box::pin(async move { Ok(Dashboard::run(self, &id).await?) })
    }

    fn destroy_session(&self, id: SessionId) -> Answer<'_, String> {
        Box::pin(async move { Ok(Dashboard::destroy_session(self, &id).await?) })
    }

    fn act_on_session(
        &self,
        id: SessionId,
        action: SessionAction,
        hours: Option<u32>,
    ) -> Answer<'_, SessionActionResult> {
        Box::pin(async move {
            Ok(Dashboard::act_on_session(self, &id, action, hours.map(i64::from)).await?)
        })
    }

    fn clean_up_orphans(&self) -> BoxFuture<'_, OrphanCleanup> {
        Box::pin(Dashboard::clean_up_orphans(self))
    }

    fn inventory(&self, filters: InventoryFilters) -> Answer<'_, InventoryView> {
        Box::pin(async move { Ok(Dashboard::inventory(self, &filters).await?) })
    }

    fn costs(&self, params: CostParams) -> Answer<'_, CostReport> {
        Box::pin(async move { Ok(Dashboard::costs(self, &params).await?) })
    }

    fn benchmarks_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Answer<'_, Vec<BenchmarkRecord>> {
        Box::pin(async move { Ok(self.history().benchmarks_before(before, limit).await?) })
    }

    fn benchmark(&self, id: BenchmarkId) -> Answer<'_, BenchmarkDetail> {
        Box::pin(async move { Ok(self.history().benchmark(&id).await?) })
    }

    fn compare(&self, query: CompareQuery) -> Answer<'_, (Vec<String>, Comparison)> {
        Box::pin(async move { Ok(self.history().compare(&query).await?) })
    }

    fn import_benchmarks(&self, files: Vec<OldFile>) -> Answer<'_, ImportReport> {
        Box::pin(async move { Ok(Dashboard::import_benchmarks(self, files).await?) })
    }

    fn health(&self) -> HealthView {
        Dashboard::health(self)
    }

    fn embed_setup(&self) -> Answer<'_, EmbedSetup> {
        Box::pin(async move { Ok(Dashboard::embed_setup(self).await?) })
    }

    fn create_embed_token(&self, label: String) -> Answer<'_, CreatedEmbedToken> {
        Box::pin(async move { Ok(Dashboard::create_embed_token(self, &label).await?) })
    }

    fn revoke_embed_token(&self, id: String) -> Answer<'_, EmbedToken> {
        Box::pin(async move { Ok(Dashboard::revoke_embed_token(self, &id).await?) })
    }

    fn deploy(&self, request: DeployRequest) -> Answer<'_, DeployStarted> {
        Box::pin(async move { Ok(Dashboard::deploy(self, request).await?) })
    }

    fn deploy_benchmark(
        &self,
        id: BenchmarkId,
        asked: DeployBenchmark,
    ) -> Answer<'_, DeployStarted> {
        Box::pin(async move { Ok(Dashboard::deploy_benchmark(self, &id, asked).await?) })
    }

    fn deployments(&self) -> Answer<'_, Vec<Deployment>> {
        Box::pin(async move { Ok(Dashboard::deployments(self, false).await?) })
    }

    fn deployment(&self, id: DeploymentId) -> Answer<'_, Deployment> {
        Box::pin(async move { Ok(Dashboard::deployment(self, &id).await?) })
    }

    fn stop_deployment(&self, id: DeploymentId) -> Answer<'_, Deployment> {
        Box::pin(async move { Ok(Dashboard::stop_deployment(self, &id).await?) })
    }

    fn set_deployment_guards(&self, id: DeploymentId, guards: Guards) -> Answer<'_, Deployment> {
        Box::pin(async move { Ok(Dashboard::set_deployment_guards(self, &id, guards).await?) })
    }

    fn tune_deployment(
        &self,
        id: DeploymentId,
        request: gdl_model::tuning::TuneRequest,
    ) -> Answer<'_, Deployment> {
        Box::pin(async move { Ok(Dashboard::tune_deployment(self, &id, request).await?) })
    }

    fn new_deployment_key(&self, id: DeploymentId, label: String) -> Answer<'_, CreatedKey> {
        Box::pin(async move { Ok(Dashboard::new_deployment_key(self, &id, &label).await?) })
    }

    fn revoke_deployment_key(&self, id: DeploymentId, key_id: String) -> Answer<'_, DeploymentKey> {
        Box::pin(async move { Ok(Dashboard::revoke_deployment_key(self, &id, &key_id).await?) })
    }

    fn plan_campaign(&self, request: CampaignRequest) -> Answer<'_, CampaignPlan> {
        Box::pin(async move { Ok(Dashboard::plan_campaign(self, &request).await?) })
    }

    fn start_campaign(&self, request: CampaignRequest) -> Answer<'_, Campaign> {
        Box::pin(async move { Ok(Dashboard::start_campaign(self, request).await?) })
    }

    fn campaigns(&self) -> Answer<'_, Vec<Campaign>> {
        Box::pin(async move { Ok(Dashboard::campaigns_list(self).await?) })
    }

    fn campaign(&self, id: CampaignId) -> Answer<'_, Campaign> {
        Box::pin(async move { Ok(Dashboard::campaign(self, &id).await?) })
    }

    fn stop_campaign(&self, id: CampaignId) -> Answer<'_, Campaign> {
        Box::pin(async move { Ok(Dashboard::stop_campaign(self, &id).await?) })
    }
}
