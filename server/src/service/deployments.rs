//! Deployments: start one, list and read them, stop one, change its guards, make and revoke
//! its keys. The provisioning and the serving loop are the runner's; the registry is
//! [`crate::deploy`]; the gateway is [`crate::gateway`].

use super::{Dashboard, ServiceResult};
use gdl_model::deployments::{
    CreatedKey, DeployBenchmark, DeployRequest, DeployStarted, Deployment, DeploymentKey, Guards,
};
use gdl_model::ids::{BenchmarkId, DeploymentId};
use gdl_model::tuning::TuneRequest;

impl Dashboard {
    /// Starts a deployment: its run provisions it, then it serves until stopped.
    pub async fn deploy(&self, request: DeployRequest) -> ServiceResult<DeployStarted> {
        Ok(self.runner().deploy(request).await?)
    }

    /// Keeps benchmark `id`'s model serving on the GPU type and count it was measured on
    /// (the cheapest such offer of any provider now, at a price up to the test's or the one it
    /// ran at), started with the best settings its tuning found unless `own_settings`.
    /// Only a benchmark one of our runs measured can be deployed: 409
    /// `benchmark_not_repeatable` otherwise, 404 for an unknown id.
    pub async fn deploy_benchmark(
        &self,
        id: &BenchmarkId,
        asked: DeployBenchmark,
    ) -> ServiceResult<DeployStarted> {
        let history = self.history();
        let record = history.benchmark(id).await?.benchmark;
        let bundle = history.bundle_of(&record).await?;
        let best = match (&record.tuning, asked.own_settings) {
            (Some(tuning), false) => Some(tuning.winner()),
            _ => None,
        };
        let request = DeployRequest {
            config: bundle.serving(best),
            guards: asked.guards,
            benchmark: false,
            key_label: asked.key_label,
        };
        self.deploy(request).await
    }

    /// Deployments newest first (only those still up when `active_only`).
    pub async fn deployments(&self, active_only: bool) -> ServiceResult<Vec<Deployment>> {
        Ok(self.runner().deployments().list(active_only).await?)
    }

    /// One deployment as it is now.
    pub async fn deployment(&self, id: &DeploymentId) -> ServiceResult<Deployment> {
        Ok(self.runner().deployments().read(id).await?)
    }

    /// Stops a deployment; its run destroys the session and confirms it.
    pub async fn stop_deployment(&self, id: &DeploymentId) -> ServiceResult<Deployment> {
        Ok(self.runner().stop_deployment(id).await?)
    }

    /// Asks a serving deployment to tune its engine within `request`'s budget: it stops
    /// serving meanwhile and serves with the best settings found after.
    pub async fn tune_deployment(
        &self,
        id: &DeploymentId,
        request: TuneRequest,
    ) -> ServiceResult<Deployment> {
        Ok(self.runner().tune_deployment(id, request).await?)
    }

    /// Changes a deployment's guards while it runs.
    pub async fn set_deployment_guards(
        &self,
        id: &DeploymentId,
        guards: Guards,
    ) -> ServiceResult<Deployment> {
        Ok(self.runner().deployments().set_guards(id, guards).await?)
    }

    /// Makes a key for a deployment; its secret is in the answer only.
    pub async fn new_deployment_key(
        &self,
        id: &DeploymentId,
        label: &str,
    ) -> ServiceResult<CreatedKey> {
        Ok(self.runner().deployments().new_key(id, label).await?)
    }

    /// Revokes a deployment's key.
    pub async fn revoke_deployment_key(
        &self,
        id: &DeploymentId,
        key_id: &str,
    ) -> ServiceResult<DeploymentKey> {
        Ok(self.runner().deployments().revoke_key(id, key_id).await?)
    }
}
