//! Campaigns in the store: each record as a JSON body, saved as it changes.

use super::{Store, StoreError};
use gdl_model::campaigns::record::Campaign;
use gdl_model::ids::CampaignId;
use rusqlite::params;

impl Store {
    /// Saves (inserts or replaces) a campaign's record.
    pub async fn save_campaign(&self, c: &Campaign) -> Result<(), StoreError> {
        let body = serde_json::to_string(c)?;
        let (id, created, status) = (
            c.id.to_string(),
            c.created_at.to_rfc3339(),
            c.status.as_str(),
        );
        let sql = self.sql();
        self.with(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO campaigns (id, created_at, status, body)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, created, status, body],
            )
            .map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// One campaign.
    pub async fn campaign(&self, id: &CampaignId) -> Result<Option<Campaign>, StoreError> {
        Ok(self
            .bodies(
                "SELECT body FROM campaigns WHERE id = ?1",
                vec![id.to_string()],
            )
            .await?
            .pop())
    }

    /// Campaigns newest first, at most `limit`.
    pub async fn campaigns(&self, limit: u32) -> Result<Vec<Campaign>, StoreError> {
        self.bodies(
            "SELECT body FROM campaigns ORDER BY created_at DESC LIMIT ?1",
            vec![limit.to_string()],
        )
        .await
    }

    /// Campaigns a previous process left running (a restart ends them).
    pub async fn unfinished_campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        self.bodies(
            "SELECT body FROM campaigns WHERE status IN ('running', 'stopping')",
            Vec::new(),
        )
        .await
    }
}
