//! Deployments in the store: the record (JSON body), the SHA-256 of each key's secret (the
//! secret itself is never stored), and the sealed secrets a restart resumes one with.

use super::{Store, StoreError};
use gdl_model::deployments::Deployment;
use gdl_model::ids::DeploymentId;
use rusqlite::{params, OptionalExtension};

/// A key as the gateway looks it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub key_id: String,
    pub deployment_id: DeploymentId,
    pub hash: String,
    pub revoked: bool,
}

impl Store {
    /// Saves (inserts or replaces) a deployment's record.
    pub async fn save_deployment(&self, d: &Deployment) -> Result<(), StoreError> {
        let body = serde_json::to_string(d)?;
        let (id, run, created, status) = (
            d.id.to_string(),
            d.run_id.to_string(),
            d.created_at.to_rfc3339(),
            d.status.as_str(),
        );
        let sql = self.sql();
        self.with(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO deployments (id, run_id, created_at, status, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, run, created, status, body],
            )
            .map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// One deployment.
    pub async fn deployment(&self, id: &DeploymentId) -> Result<Option<Deployment>, StoreError> {
        Ok(self
            .bodies(
                "SELECT body FROM deployments WHERE id = ?1",
                vec![id.to_string()],
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
        self.bodies(query, vec![limit.to_string()]).await
    }

    /// Records a key of `deployment` under the SHA-256 `hash` of its secret.
    pub async fn add_deployment_key(
        &self,
        deployment: &DeploymentId,
        key_id: &str,
        hash: String,
    ) -> Result<(), StoreError> {
        let (dep, id) = (deployment.to_string(), key_id.to_owned());
        let sql = self.sql();
        self.with(move |c| {
            c.execute(
                "INSERT INTO deployment_keys (id, deployment_id, hash) VALUES (?1, ?2, ?3)",
                params![id, dep, hash],
            )
            .map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// Marks a key revoked; whether it existed on that deployment.
    pub async fn revoke_deployment_key(
        &self,
        deployment: &DeploymentId,
        key_id: &str,
    ) -> Result<bool, StoreError> {
        let (dep, id) = (deployment.to_string(), key_id.to_owned());
        let sql = self.sql();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE deployment_keys SET revoked = 1 WHERE id = ?1 AND deployment_id = ?2",
                    params![id, dep],
                )
                .map_err(&sql)?;
            Ok(n > 0)
        })
        .await
    }

    /// Every key not revoked of deployments not ended (what the gateway loads at start).
    pub async fn live_deployment_keys(&self) -> Result<Vec<KeyRow>, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT k.id, k.deployment_id, k.hash, k.revoked FROM deployment_keys k
                     JOIN deployments d ON d.id = k.deployment_id
                     WHERE k.revoked = 0 AND d.status NOT IN ('stopped', 'failed')",
                )
                .map_err(&sql)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(KeyRow {
                        key_id: r.get(0)?,
                        deployment_id: DeploymentId::from(r.get::<_, String>(1)?),
                        hash: r.get(2)?,
                        revoked: r.get::<_, i64>(3)? != 0,
                    })
                })
                .map_err(&sql)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(&sql)
        })
        .await
    }

    /// The deployment a key's hash belongs to, revoked or not.
    pub async fn deployment_of_key(
        &self,
        hash: String,
    ) -> Result<Option<DeploymentId>, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            c.query_row(
                "SELECT deployment_id FROM deployment_keys WHERE hash = ?1",
                params![hash],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(|d| d.map(DeploymentId::from))
            .map_err(&sql)
        })
        .await
    }

    /// Keeps what resuming `deployment` needs, already sealed.
    pub async fn save_deployment_secret(
        &self,
        deployment: &DeploymentId,
        sealed: Vec<u8>,
    ) -> Result<(), StoreError> {
        let dep = deployment.to_string();
        let sql = self.sql();
        self.with(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO deployment_secrets (deployment_id, sealed) VALUES (?1, ?2)",
                params![dep, sealed],
            )
            .map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// The sealed secrets of `deployment`, if kept.
    pub async fn deployment_secret(
        &self,
        deployment: &DeploymentId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let dep = deployment.to_string();
        let sql = self.sql();
        self.with(move |c| {
            c.query_row(
                "SELECT sealed FROM deployment_secrets WHERE deployment_id = ?1",
                params![dep],
                |r| r.get(0),
            )
            .optional()
            .map_err(&sql)
        })
        .await
    }

    /// Forgets the sealed secrets of `deployment` (once it has ended).
    pub async fn delete_deployment_secret(
        &self,
        deployment: &DeploymentId,
    ) -> Result<(), StoreError> {
        let dep = deployment.to_string();
        let sql = self.sql();
        self.with(move |c| {
            c.execute(
                "DELETE FROM deployment_secrets WHERE deployment_id = ?1",
                params![dep],
            )
            .map_err(&sql)?;
            Ok(())
        })
        .await
    }
}
