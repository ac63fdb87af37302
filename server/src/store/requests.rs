//! Requests for work another replica runs (docs/replicas.md, "Requests"): a cancel or a
//! stop that reaches a replica which does not run the work is written into the work's row
//! ([`Store::request_run`], [`Store::request_campaign`]); the replica holding the row's
//! lease takes its requests ([`Store::take_requests`]) every second and acts on them.

use super::{args, runs, Store, StoreError};
use gdl_model::ids::{CampaignId, RunId};
use gdl_model::runs::RunStatus;

/// What is asked of a run.
pub const CANCEL: &str = "cancel";
/// What is asked of a deployment's run, or of a campaign.
pub const STOP: &str = "stop";

/// A request taken by the replica that runs the work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Of a run: [`CANCEL`], or [`STOP`] for the deployment it serves.
    Run(RunId, String),
    /// Of a campaign: [`STOP`].
    Campaign(CampaignId, String),
}

/// How a taken request is named, from its row's id and request.
type Made = fn(String, String) -> Taken;

impl Store {
    /// Asks the replica running run `id` for `what`; false when the run is not running.
    pub async fn request_run(&self, id: &RunId, what: &str) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE runs SET request = ?2 WHERE id = ?1 AND status = ?3",
                args![
                    id.to_string(),
                    what,
                    runs::status_column(RunStatus::Running)
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Asks the replica running campaign `id` for `what`; false when it has ended.
    pub async fn request_campaign(&self, id: &CampaignId, what: &str) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE campaigns SET request = ?2
                 WHERE id = ?1 AND status IN ('running', 'stopping')",
                args![id.to_string(), what],
            )
            .await?;
        Ok(changed == 1)
    }

    /// The requests for work `owner` holds the lease of, each cleared as it is taken (of
    /// two takers, one gets it).
    pub async fn take_requests(&self, owner: &str) -> Result<Vec<Taken>, StoreError> {
        let tables: [(&str, &str, Made); 2] = [
            (
                "SELECT id, request FROM runs WHERE lock_owner = ?1 AND request IS NOT NULL",
                "UPDATE runs SET request = NULL
                 WHERE id = ?1 AND lock_owner = ?2 AND request = ?3",
                |id, what| Taken::Run(RunId::from(id), what),
            ),
            (
                "SELECT id, request FROM campaigns WHERE lock_owner = ?1 AND request IS NOT NULL",
                "UPDATE campaigns SET request = NULL
                 WHERE id = ?1 AND lock_owner = ?2 AND request = ?3",
                |id, what| Taken::Campaign(CampaignId::from(id), what),
            ),
        ];
        let mut taken = Vec::new();
        for (select, clear, made) in tables {
            for row in self.query(select, args![owner]).await? {
                let (id, what) = (row.text(0)?, row.text(1)?);
                let cleared = self
                    .execute(clear, args![id.clone(), owner, what.clone()])
                    .await?;
                if cleared == 1 {
                    taken.push(made(id, what));
                }
            }
        }
        Ok(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::places;
    use crate::store::Lease;
    use std::time::Duration;

    #[tokio::test]
    async fn a_request_reaches_the_lease_holder_once() {
        for place in places("requests").await {
            let store = place.open().await;
            let config = serde_json::json!({"model": "m", "max_price": 1});
            let mut run = gdl_model::runs::Run::new(
                "run-1".into(),
                serde_json::from_value(config).unwrap(),
                chrono::Utc::now(),
            );
            let a = Lease::new_run(&run.id, "a");
            store
                .save_run_owned(&run, &a, Duration::from_secs(60))
                .await
                .unwrap();
            assert!(store.request_run(&run.id, CANCEL).await.unwrap());
            assert!(
                store.take_requests("b").await.unwrap().is_empty(),
                "b holds nothing"
            );
            assert_eq!(
                store.take_requests("a").await.unwrap(),
                [Taken::Run(run.id.clone(), CANCEL.into())]
            );
            assert!(
                store.take_requests("a").await.unwrap().is_empty(),
                "taken once"
            );
            run.status = RunStatus::Cancelled;
            store
                .save_run_owned(&run, &a, Duration::from_secs(60))
                .await
                .unwrap();
            assert!(
                !store.request_run(&run.id, CANCEL).await.unwrap(),
                "an ended run asks nothing"
            );
            assert!(!store
                .request_campaign(&"camp-1".into(), STOP)
                .await
                .unwrap());
        }
    }
}
