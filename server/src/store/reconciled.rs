//! The sessions nothing owned that the reconciler destroyed, one row per session (a later
//! pass that confirms the destroy replaces the row).

use super::{Store, StoreError};
use gdl_model::reconciled::Reconciled;
use rusqlite::params;

impl Store {
    /// Inserts or replaces what the reconciler did with a session.
    pub async fn save_reconciled(&self, record: &Reconciled) -> Result<(), StoreError> {
        let body = serde_json::to_string(record)?;
        let (id, at) = (
            record.session.id.to_string(),
            record.destroyed_at.to_rfc3339(),
        );
        let sql = self.sql();
        self.with(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO reconciled (session_id, destroyed_at, body) VALUES (?1, ?2, ?3)",
                params![id, at, body],
            )
            .map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// The newest `limit` records, newest first.
    pub async fn reconciled(&self, limit: u32) -> Result<Vec<Reconciled>, StoreError> {
        self.bodies(
            "SELECT body FROM reconciled ORDER BY destroyed_at DESC LIMIT ?1",
            vec![limit.to_string()],
        )
        .await
    }
}
