//! Deployments: start one, list and read them, stop one, change its guards, make and revoke
//! its keys. The provisioning and the serving loop are the runner's; the registry is
//! [`crate::deploy`]; the gateway is [`crate::gateway`].

use super::{Dashboard, ServiceResult};
use gdl_model::deployments::{
    CreatedKey, DeployRequest, DeployStarted, Deployment, DeploymentKey, Guards,
};
use gdl_model::ids::DeploymentId;

impl Dashboard {
    /// Starts a deployment: its run provisions it, then it serves until stopped.
    pub async fn deploy(&self, request: DeployRequest) -> ServiceResult<DeployStarted> {
        Ok(self.runner().deploy(request).await?)
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
