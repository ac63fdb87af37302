//! Embed tokens in the store: created with a label, looked up by the SHA-256 of their
//! secret (the secret itself is never stored), listed, revoked.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use gdl_model::embed::EmbedToken;
use rusqlite::{params, OptionalExtension};

/// The hex SHA-256 of an embed token's secret: what the store keeps and looks up.
pub fn hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The columns [`row`] reads, in its order.
const COLUMNS: &str = "id, label, created_at, revoked_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EmbedToken> {
    let at = |s: String| gdl_model::time::parse_lenient(&s).unwrap_or_default();
    Ok(EmbedToken {
        id: r.get(0)?,
        label: r.get(1)?,
        created_at: at(r.get(2)?),
        revoked_at: r.get::<_, Option<String>>(3)?.map(at),
    })
}

impl Store {
    /// Saves a new embed token under the hash of `secret`.
    pub async fn add_embed_token(
        &self,
        token: &EmbedToken,
        secret: &str,
    ) -> Result<(), StoreError> {
        let (id, label, created) = (
            token.id.clone(),
            token.label.clone(),
            token.created_at.to_rfc3339(),
        );
        let hash = hash(secret);
        let sql = self.sql();
        self.with(move |c| {
            c.execute(
                "INSERT INTO embed_tokens (id, label, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, label, hash, created],
            )
            .map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// Every embed token, newest first, revoked ones included.
    pub async fn embed_tokens(&self) -> Result<Vec<EmbedToken>, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM embed_tokens ORDER BY created_at DESC, id"
                ))
                .map_err(&sql)?;
            let rows = stmt.query_map([], row).map_err(&sql)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(&sql)
        })
        .await
    }

    /// The embed token whose secret hashes to `hash`, revoked or not.
    pub async fn embed_token_by_hash(
        &self,
        hash: String,
    ) -> Result<Option<EmbedToken>, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM embed_tokens WHERE hash = ?1"),
                params![hash],
                row,
            )
            .optional()
            .map_err(&sql)
        })
        .await
    }

    /// Revokes an embed token; `None` when there is no such token. Revoking twice keeps
    /// the first time.
    pub async fn revoke_embed_token(
        &self,
        id: String,
        at: DateTime<Utc>,
    ) -> Result<Option<EmbedToken>, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            c.execute(
                "UPDATE embed_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![id, at.to_rfc3339()],
            )
            .map_err(&sql)?;
            c.query_row(
                &format!("SELECT {COLUMNS} FROM embed_tokens WHERE id = ?1"),
                params![id],
                row,
            )
            .optional()
            .map_err(&sql)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_kept_as_hashes_and_revoked_once() {
        let dir = std::env::temp_dir().join(format!("gdl-embed-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir).unwrap();
        let secret = "gdle_0123456789abcdef0123456789abcdef";
        let token = EmbedToken {
            id: "t1".into(),
            label: "wall".into(),
            created_at: Utc::now(),
            revoked_at: None,
        };
        store.add_embed_token(&token, secret).await.unwrap();
        let raw = std::fs::read(store.path()).unwrap_or_default();
        let wal = std::fs::read(dir.join("gpu-deploy-llm.db-wal")).unwrap_or_default();
        let needle = secret.as_bytes();
        assert!(
            ![raw, wal]
                .iter()
                .any(|b| b.windows(needle.len()).any(|w| w == needle)),
            "the secret itself is never written"
        );
        let found = store.embed_token_by_hash(hash(secret)).await.unwrap();
        assert_eq!(found.map(|t| t.id), Some("t1".into()));
        assert!(store
            .embed_token_by_hash(hash("gdle_other"))
            .await
            .unwrap()
            .is_none());
        let first = Utc::now();
        let revoked = store
            .revoke_embed_token("t1".into(), first)
            .await
            .unwrap()
            .unwrap();
        let again = store
            .revoke_embed_token("t1".into(), first + chrono::Duration::hours(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.revoked_at, again.revoked_at);
        assert!(store
            .revoke_embed_token("nope".into(), first)
            .await
            .unwrap()
            .is_none());
        assert_eq!(store.embed_tokens().await.unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
