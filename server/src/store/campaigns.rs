//! Campaigns in the store: each record as a JSON body, saved as it changes by the replica
//! that runs it (under its lease).

use super::{args, Lease, Store, StoreError};
use gdl_model::campaigns::record::Campaign;
use gdl_model::ids::CampaignId;
use std::time::Duration;

impl Store {
    /// Saves a campaign this replica runs, only while `lease` is still the campaign's (the
    /// first save writes the row with the lease, for `ttl`). [`StoreError::Fenced`] when
    /// another replica has claimed it.
    pub async fn save_campaign_owned(
        &self,
        c: &Campaign,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let written = self
            .batch_guarded(vec![(
                "INSERT INTO campaigns (id, created_at, status, body,
                     lock_owner, lock_token, lock_expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, {now} + ?7)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body
                 WHERE campaigns.lock_token = excluded.lock_token",
                args![
                    c.id.to_string(),
                    c.created_at.to_rfc3339(),
                    c.status.as_str(),
                    serde_json::to_string(c)?,
                    lease.owner.clone(),
                    lease.token.clone(),
                    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
                ],
            )])
            .await?;
        if written {
            Ok(())
        } else {
            Err(StoreError::Fenced(format!(
                "campaign {} is another replica's now",
                c.id
            )))
        }
    }

    /// One campaign.
    pub async fn campaign(&self, id: &CampaignId) -> Result<Option<Campaign>, StoreError> {
        Ok(self
            .bodies(
                "SELECT body FROM campaigns WHERE id = ?1",
                args![id.to_string()],
            )
            .await?
            .pop())
    }

    /// Campaigns newest first, at most `limit`.
    pub async fn campaigns(&self, limit: u32) -> Result<Vec<Campaign>, StoreError> {
        self.bodies(
            "SELECT body FROM campaigns ORDER BY created_at DESC LIMIT ?1",
            args![limit],
        )
        .await
    }

    /// Campaigns recorded running whose replica stopped (their lease is free or
    /// expired): a restart, or another replica, ends them.
    pub async fn orphaned_campaigns(&self) -> Result<Vec<CampaignId>, StoreError> {
        let rows = self
            .query(
                "SELECT id FROM campaigns WHERE status IN ('running', 'stopping')
                   AND (lock_expires_at IS NULL OR lock_expires_at < {now})
                 ORDER BY created_at",
                Vec::new(),
            )
            .await?;
        rows.iter()
            .map(|r| Ok(CampaignId::from(r.text(0)?)))
            .collect()
    }
}
