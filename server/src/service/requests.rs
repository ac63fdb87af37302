//! Requests another replica passed on (several replicas; docs/replicas.md, "Requests"): a
//! cancel or stop that reached a replica which does not run the work is written into the
//! work's row; this replica takes those for the work it holds every second and does what
//! was asked, as if it had been asked directly.

use super::Dashboard;
use crate::store::requests::{Taken, CANCEL, STOP};
use std::time::Duration;

/// How often a replica looks for requests passed on to it.
const EVERY: Duration = Duration::from_secs(1);

impl Dashboard {
    /// Takes and carries out the requests passed on to this replica, every second, while
    /// the process lives (call only with several replicas).
    pub fn spawn_requests(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(EVERY).await;
                let runner = this.runner();
                match runner.store().take_requests(runner.replica()).await {
                    Ok(taken) => {
                        for request in taken {
                            this.carry_out(request).await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the requests other replicas passed on")
                    }
                }
            }
        });
    }

    async fn carry_out(&self, request: Taken) {
        tracing::info!(?request, "doing what another replica was asked");
        let outcome = match &request {
            Taken::Run(id, what) if what == CANCEL => {
                self.runner().cancel(id).await.map_err(|e| e.to_string())
            }
            Taken::Run(id, what) if what == STOP => {
                let served = self
                    .runner()
                    .deployments()
                    .watched()
                    .into_iter()
                    .map(|live| live.snapshot())
                    .find(|d| &d.run_id == id);
                match served {
                    Some(d) => self
                        .runner()
                        .stop_deployment(&d.id)
                        .await
                        .map(drop)
                        .map_err(|e| e.message),
                    None => self.runner().cancel(id).await.map_err(|e| e.to_string()),
                }
            }
            Taken::Campaign(id, what) if what == STOP => self
                .campaigns()
                .stop(id)
                .await
                .map(drop)
                .map_err(|e| e.message),
            other => Err(format!("unknown request {other:?}")),
        };
        if let Err(e) = outcome {
            tracing::warn!(?request, error = %e, "a request passed on could not be done");
        }
    }
}
