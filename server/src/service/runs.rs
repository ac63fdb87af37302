//! Starting and cancelling deployment tests. The run itself is the runner's; a finished
//! run is read from the store through [`super::History`].

use super::{Dashboard, ServiceResult};
use gdl_model::ids::RunId;
use gdl_model::runs::{Run, TestConfig};

impl Dashboard {
    /// Starts a deployment test: the run as it begins (its steps all waiting).
    pub async fn start_run(&self, config: TestConfig) -> ServiceResult<Run> {
        Ok(self.runner().start(config).await?)
    }

    /// Cancels a run in progress; its cleanup destroys what it rented.
    pub async fn cancel_run(&self, id: &RunId) -> ServiceResult<()> {
        Ok(self.runner().cancel(id).await?)
    }

    /// One run, as stored (the runner stores every change as it happens).
    pub async fn run(&self, id: &RunId) -> ServiceResult<Run> {
        self.history().run(id).await
    }
}
