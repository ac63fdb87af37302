//! Embed tokens in the store: created with a label, looked up by the SHA-256 of their
//! secret (the secret itself is never stored), listed, revoked.

use super::{args, Row, Store, StoreError};
use chrono::{DateTime, Utc};
use gdl_model::embed::EmbedToken;

/// The hex SHA-256 of an embed token's secret: what the store keeps and looks up.
pub fn hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn token(r: &Row) -> Result<EmbedToken, StoreError> {
    let at = |s: String| gdl_model::time::parse_lenient(&s).unwrap_or_default();
    Ok(EmbedToken {
        id: r.text(0)?,
        label: r.text(1)?,
        created_at: at(r.text(2)?),
        revoked_at: r.opt_text(3)?.map(at),
    })
}

impl Store {
    /// Saves a new embed token under the hash of `secret`.
    pub async fn add_embed_token(
        &self,
        token: &EmbedToken,
        secret: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO embed_tokens (id, label, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            args![
                token.id.clone(),
                token.label.clone(),
                hash(secret),
                token.created_at.to_rfc3339()
            ],
        )
        .await?;
        Ok(())
    }

    /// Every embed token, newest first, revoked ones included.
    pub async fn embed_tokens(&self) -> Result<Vec<EmbedToken>, StoreError> {
        let rows = self
            .query(
                "SELECT id, label, created_at, revoked_at FROM embed_tokens
                 ORDER BY created_at DESC, id",
                Vec::new(),
            )
            .await?;
        rows.iter().map(token).collect()
    }

    /// The embed token whose secret hashes to `hash`, revoked or not.
    pub async fn embed_token_by_hash(
        &self,
        hash: String,
    ) -> Result<Option<EmbedToken>, StoreError> {
        let rows = self
            .query(
                "SELECT id, label, created_at, revoked_at FROM embed_tokens WHERE hash = ?1",
                args![hash],
            )
            .await?;
        rows.first().map(token).transpose()
    }

    /// Revokes an embed token; `None` when there is no such token. Revoking twice keeps
    /// the first time.
    pub async fn revoke_embed_token(
        &self,
        id: String,
        at: DateTime<Utc>,
    ) -> Result<Option<EmbedToken>, StoreError> {
        self.execute(
            "UPDATE embed_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            args![id.clone(), at.to_rfc3339()],
        )
        .await?;
        let rows = self
            .query(
                "SELECT id, label, created_at, revoked_at FROM embed_tokens WHERE id = ?1",
                args![id],
            )
            .await?;
        rows.first().map(token).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_kept_as_hashes_and_revoked_once() {
        for place in crate::store::tests::places("embed_tokens").await {
            let store = place.open().await;
            let secret = "gdle_0123456789abcdef0123456789abcdef";
            let token = EmbedToken {
                id: "t1".into(),
                label: "wall".into(),
                created_at: Utc::now(),
                revoked_at: None,
            };
            store.add_embed_token(&token, secret).await.unwrap();
            if let Some(path) = store.path() {
                let raw = std::fs::read(path).unwrap_or_default();
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                let wal = std::fs::read(wal).unwrap_or_default();
                let needle = secret.as_bytes();
                assert!(
                    ![raw, wal]
                        .iter()
                        .any(|b| b.windows(needle.len()).any(|w| w == needle)),
                    "the secret itself is never written"
                );
            }
            let kept = store
                .query(
                    "SELECT id, label, hash, created_at FROM embed_tokens",
                    Vec::new(),
                )
                .await
                .unwrap();
            assert_eq!(kept.len(), 1);
            assert_eq!(
                kept[0].text(2).unwrap(),
                hash(secret),
                "only the hash is kept"
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
        }
    }
}
