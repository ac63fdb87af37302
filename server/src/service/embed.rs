//! The read-only embed tokens of the `/embed/...` panels: created (the secret shown once),
//! listed without secrets, revoked at once. Who presents one, and what it may do, is the
//! guard's (`crate::security::embed`).

use super::{Dashboard, ServiceResult};
use gdl_model::embed::{CreatedEmbedToken, EmbedSetup, EmbedToken};

impl Dashboard {
    /// The Share tab: the tokens (never their secrets), the origins allowed to embed,
    /// whether a panel's URL needs a token.
    pub async fn embed_setup(&self) -> ServiceResult<EmbedSetup> {
        Ok(EmbedSetup {
            tokens: self.embed_tokens().await?,
            allowed_origins: self.parts.allowed_origins.clone(),
            token_required: self.parts.login_required,
        })
    }

    /// Every embed token, newest first, revoked ones included.
    pub async fn embed_tokens(&self) -> ServiceResult<Vec<EmbedToken>> {
        Ok(self.parts.embed_tokens.list().await?)
    }

    /// Creates a read-only embed token labelled `label`; its secret is in this answer only.
    pub async fn create_embed_token(&self, label: &str) -> ServiceResult<CreatedEmbedToken> {
        Ok(self.parts.embed_tokens.create(label).await?)
    }

    /// Revokes embed token `id`: its requests get 401, its live connections close.
    pub async fn revoke_embed_token(&self, id: &str) -> ServiceResult<EmbedToken> {
        Ok(self.parts.embed_tokens.revoke(id).await?)
    }

    /// Whether pages need a login (an access token is set).
    pub fn login_required(&self) -> bool {
        self.parts.login_required
    }
}
