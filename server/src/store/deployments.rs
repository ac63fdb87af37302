//! Deployments in the store: the record (JSON body), the SHA-256 of each key's secret (the
//! secret itself is never stored), and the sealed secrets a restart resumes one with.

use super::db::Statement;
use super::{args, Lease, Store, StoreError};
use gdl_model::deployments::Deployment;
use gdl_model::ids::DeploymentId;

/// A key as the gateway looks it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub key_id: String,
    pub deployment_id: DeploymentId,
    pub hash: String,
    pub revoked: bool,
}

const UPSERT: &str = "INSERT INTO deployments (id, run_id, created_at, status, body)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id,
         created_at = excluded.created_at, status = excluded.status, body = excluded.body";

fn upsert_args(d: &Deployment) -> Result<Vec<super::Value>, StoreError> {
    Ok(args![
        d.id.to_string(),
        d.run_id.to_string(),
        d.created_at.to_rfc3339(),
        d.status.as_str(),
        serde_json::to_string(d)?
    ])
}

impl Store {
    /// Saves (inserts or replaces) a deployment's record.
    pub async fn save_deployment(&self, d: &Deployment) -> Result<(), StoreError> {
        self.execute(UPSERT, upsert_args(d)?).await?;
        Ok(())
    }

    /// Saves a deployment's record only while `lease` (of the run serving it) is still the
    /// run's: in one transaction the run's row is locked at the lease's token, then the
    /// record written. [`StoreError::Fenced`] when another replica has claimed the run; on
    /// PostgreSQL the row lock orders this write against a concurrent claim, so whichever
    /// commits second sees the other's token.
    pub async fn save_deployment_owned(
        &self,
        d: &Deployment,
        lease: &Lease,
    ) -> Result<(), StoreError> {
        let statements: Vec<Statement> = vec![
            (
                "UPDATE runs SET lock_token = lock_token WHERE id = ?1 AND lock_token = ?2",
                args![d.run_id.to_string(), lease.token.clone()],
            ),
            (UPSERT, upsert_args(d)?),
        ];
        if self.batch_guarded(statements).await? {
            Ok(())
        } else {
            Err(StoreError::Fenced(format!(
                "deployment {} is served by another replica now",
                d.id
            )))
        }
    }

    /// One deployment.
    pub async fn deployment(&self, id: &DeploymentId) -> Result<Option<Deployment>, StoreError> {
        Ok(self
            .bodies(
                "SELECT body FROM deployments WHERE id = ?1",
                args![id.to_string()],
            )
            .await?
            .pop())
    }

    /// Deployments newest first, at most `limit`; only those not ended when `active`.
    pub async fn deployments(
        &self,
        active: bool,
        limit: u32,
    ) -> Result<Vec<Deployment>, StoreError> {
        let query = if active {
            "SELECT body FROM deployments WHERE status NOT IN ('stopped', 'failed')
             ORDER BY created_at DESC LIMIT ?1"
        } else {
            "SELECT body FROM deployments ORDER BY created_at DESC LIMIT ?1"
        };
        self.bodies(query, args![limit]).await
    }

    /// Records a key of `deployment` under the SHA-256 `hash` of its secret.
    pub async fn add_deployment_key(
        &self,
        deployment: &DeploymentId,
        key_id: &str,
        hash: String,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO deployment_keys (id, deployment_id, hash) VALUES (?1, ?2, ?3)",
            args![key_id, deployment.to_string(), hash],
        )
        .await?;
        Ok(())
    }

    /// Marks a key revoked; whether it existed on that deployment.
    pub async fn revoke_deployment_key(
        &self,
        deployment: &DeploymentId,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE deployment_keys SET revoked = TRUE WHERE id = ?1 AND deployment_id = ?2",
                args![key_id, deployment.to_string()],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Every key not revoked of deployments not ended (what the gateway loads at start).
    pub async fn live_deployment_keys(&self) -> Result<Vec<KeyRow>, StoreError> {
        let rows = self
            .query(
                "SELECT k.id, k.deployment_id, k.hash, k.revoked FROM deployment_keys k
                 JOIN deployments d ON d.id = k.deployment_id
                 WHERE NOT k.revoked AND d.status NOT IN ('stopped', 'failed')",
                Vec::new(),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRow {
                    key_id: r.text(0)?,
                    deployment_id: DeploymentId::from(r.text(1)?),
                    hash: r.text(2)?,
                    revoked: r.bool(3)?,
                })
            })
            .collect()
    }

    /// The deployment a key's hash belongs to, revoked or not.
    pub async fn deployment_of_key(
        &self,
        hash: String,
    ) -> Result<Option<DeploymentId>, StoreError> {
        let rows = self
            .query(
                "SELECT deployment_id FROM deployment_keys WHERE hash = ?1",
                args![hash],
            )
            .await?;
        rows.first()
            .map(|r| r.text(0).map(DeploymentId::from))
            .transpose()
    }

    /// Keeps what resuming `deployment` needs, already sealed.
    pub async fn save_deployment_secret(
        &self,
        deployment: &DeploymentId,
        sealed: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO deployment_secrets (deployment_id, sealed) VALUES (?1, ?2)
             ON CONFLICT (deployment_id) DO UPDATE SET sealed = excluded.sealed",
            args![deployment.to_string(), sealed],
        )
        .await?;
        Ok(())
    }

    /// The sealed secrets of `deployment`, if kept.
    pub async fn deployment_secret(
        &self,
        deployment: &DeploymentId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self
            .query(
                "SELECT sealed FROM deployment_secrets WHERE deployment_id = ?1",
                args![deployment.to_string()],
            )
            .await?;
        rows.first().map(|r| r.bytes(0)).transpose()
    }

    /// Forgets the sealed secrets of `deployment` (once it has ended).
    pub async fn delete_deployment_secret(
        &self,
        deployment: &DeploymentId,
    ) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM deployment_secrets WHERE deployment_id = ?1",
            args![deployment.to_string()],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::places;

    #[tokio::test]
    async fn keys_are_revoked_and_sealed_secrets_kept_byte_for_byte() {
        for place in places("deployment_keys").await {
            let store = place.open().await;
            let d = Deployment::new(
                "dep-1".into(),
                "run-1".into(),
                "m".into(),
                "vLLM".into(),
                Default::default(),
                chrono::Utc::now(),
            );
            store.save_deployment(&d).await.unwrap();
            store.save_deployment(&d).await.unwrap();
            let id = d.id.clone();
            store
                .add_deployment_key(&id, "k1", "h1".into())
                .await
                .unwrap();
            store
                .add_deployment_key(&id, "k2", "h2".into())
                .await
                .unwrap();
            assert!(store.revoke_deployment_key(&id, "k1").await.unwrap());
            assert!(!store.revoke_deployment_key(&id, "nope").await.unwrap());
            let live = store.live_deployment_keys().await.unwrap();
            assert_eq!(
                live.iter()
                    .map(|k| (k.key_id.as_str(), k.revoked))
                    .collect::<Vec<_>>(),
                [("k2", false)]
            );
            assert_eq!(
                store.deployment_of_key("h1".into()).await.unwrap(),
                Some(id.clone()),
                "a revoked key still names its deployment"
            );
            let sealed: Vec<u8> = (0..=255).collect();
            store.save_deployment_secret(&id, vec![1]).await.unwrap();
            store
                .save_deployment_secret(&id, sealed.clone())
                .await
                .unwrap();
            assert_eq!(store.deployment_secret(&id).await.unwrap(), Some(sealed));
            store.delete_deployment_secret(&id).await.unwrap();
            assert_eq!(store.deployment_secret(&id).await.unwrap(), None);
            assert_eq!(store.deployments(true, 10).await.unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_record_is_saved_only_while_its_runs_lease_is_the_writers() {
        use gdl_model::runs::Run;
        use std::time::Duration;
        for place in places("deployment_fence").await {
            let store = place.open().await;
            let config = serde_json::json!({"model": "m", "max_price": 1});
            let run = Run::new(
                "run-1".into(),
                serde_json::from_value(config).unwrap(),
                chrono::Utc::now(),
            );
            let a = Lease::new_run(&run.id, "a");
            store
                .save_run_owned(&run, &a, Duration::from_millis(20))
                .await
                .unwrap();
            let mut d = Deployment::new(
                "dep-1".into(),
                run.id.clone(),
                "m".into(),
                "vLLM".into(),
                Default::default(),
                chrono::Utc::now(),
            );
            d.message = Some("a's".into());
            store.save_deployment_owned(&d, &a).await.unwrap();
            // a's lease expires (a pause) and b claims the run: b's record stands, a's is refused.
            tokio::time::sleep(Duration::from_millis(60)).await;
            let b = store
                .claim_run(&run.id, "b", Duration::from_secs(60))
                .await
                .unwrap()
                .expect("b claims the expired run");
            d.message = Some("b's".into());
            store.save_deployment_owned(&d, &b).await.unwrap();
            let mut stale = d.clone();
            stale.message = Some("a's, stale".into());
            assert!(matches!(
                store.save_deployment_owned(&stale, &a).await,
                Err(StoreError::Fenced(_))
            ));
            let stored = store.deployment(&d.id).await.unwrap().unwrap();
            assert_eq!(stored.message.as_deref(), Some("b's"));
            // A released lease keeps its token: the last save after the end still lands.
            assert!(store.release(&b).await.unwrap());
            d.message = Some("b's, ended".into());
            store.save_deployment_owned(&d, &b).await.unwrap();
            let stored = store.deployment(&d.id).await.unwrap().unwrap();
            assert_eq!(stored.message.as_deref(), Some("b's, ended"));
        }
    }
}
