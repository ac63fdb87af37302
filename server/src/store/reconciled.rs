//! The sessions nothing owned that the reconciler destroyed, one row per session (a later
//! pass that confirms the destroy replaces the row).

use super::{args, Store, StoreError};
use gdl_model::reconciled::Reconciled;

impl Store {
    /// Inserts or replaces what the reconciler did with a session.
    pub async fn save_reconciled(&self, record: &Reconciled) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO reconciled (session_id, destroyed_at, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (session_id) DO UPDATE SET destroyed_at = excluded.destroyed_at,
                 body = excluded.body",
            args![
                record.session.id.to_string(),
                record.destroyed_at.to_rfc3339(),
                serde_json::to_string(record)?
            ],
        )
        .await?;
        Ok(())
    }

    /// The newest `limit` records, newest first.
    pub async fn reconciled(&self, limit: u32) -> Result<Vec<Reconciled>, StoreError> {
        self.bodies(
            "SELECT body FROM reconciled ORDER BY destroyed_at DESC LIMIT ?1",
            args![limit],
        )
        .await
    }
}
