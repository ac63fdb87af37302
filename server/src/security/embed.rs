//! Read-only embed tokens: what a wall display or a wiki page uses to show the `/embed/...`
//! panels without the full access token.
//!
//! A token is presented as `Authorization: Bearer gdle_...` (programs) or, because an
//! iframe cannot send headers, as `?token=gdle_...` on a panel's page and on the live
//! channel it opens. A valid one may read; the guard refuses everything that changes
//! state (403 `embed_read_only`) and the tokens' own management. Revoking a token closes
//! the live connections opened with it.

use crate::store::Store;
use axum::http::{header, HeaderMap, Method};
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::embed::{
    looks_like_embed_token, token_in_query, CreatedEmbedToken, EmbedToken, MAX_LABEL_CHARS,
};
use gdl_model::error::ApiError;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::watch;

/// Who a request authenticated as with an embed token: its id (never its secret), and
/// word of revocations.
#[derive(Clone, Debug)]
pub struct EmbedIdentity {
    pub id: String,
    revoked: watch::Receiver<HashSet<String>>,
}

impl EmbedIdentity {
    /// Resolves once this token is revoked.
    pub async fn revoked(mut self) {
        let id = self.id;
        let _ = self.revoked.wait_for(|ids| ids.contains(&id)).await;
    }

    /// Whether this token has been revoked since start.
    pub fn is_revoked(&self) -> bool {
        self.revoked.borrow().contains(&self.id)
    }
}

/// Server functions a panel may call with an embed token: they only read. Any other
/// (a new one included) is refused until it is listed here.
const READ_ONLY_FUNCTIONS: &[&str] = &[
    "/_fn/live_state",
    "/_fn/benchmarks_before",
    "/_fn/inventory",
    "/_fn/costs",
    "/_fn/run",
    "/_fn/runs",
    "/_fn/compare",
    "/_fn/benchmark",
    "/_fn/health",
];

/// The embed tokens: kept in the store, revocations told to live connections.
#[derive(Clone, Default)]
pub struct EmbedTokens {
    store: Option<Store>,
    /// Ids revoked since start, so live connections opened with them close.
    revoked: Arc<watch::Sender<HashSet<String>>>,
}

impl EmbedTokens {
    /// Tokens kept in `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store: Some(store),
            revoked: Arc::default(),
        }
    }

    fn store(&self) -> Result<&Store, ApiError> {
        self.store.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorCode::DashboardMisconfigured,
                "embed tokens need the dashboard's database",
            )
        })
    }

    /// Creates a token labelled `label`; its secret is in the answer and nowhere else.
    pub async fn create(&self, label: &str) -> Result<CreatedEmbedToken, ApiError> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("an embed token needs a label of 1 to {MAX_LABEL_CHARS} characters"),
            )
            .with_hint(r#"Send {"label": "lobby wall"}: it says where the token is used, so you know which to revoke."#));
        }
        let secret = format!(
            "{}{}{}",
            gdl_model::embed::EMBED_TOKEN_PREFIX,
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let token = EmbedToken {
            id: uuid::Uuid::new_v4().simple().to_string()[..10].to_owned(),
            label: label.to_owned(),
            created_at: Utc::now(),
            revoked_at: None,
        };
        self.store()?
            .add_embed_token(&token, &secret)
            .await
            .map_err(storage)?;
        tracing::info!(embed_token = %token.id, label = %token.label, "embed token created");
        Ok(CreatedEmbedToken { token, secret })
    }

    /// Every token, revoked ones included, without secrets.
    pub async fn list(&self) -> Result<Vec<EmbedToken>, ApiError> {
        self.store()?.embed_tokens().await.map_err(storage)
    }

    /// Revokes token `id` at once: requests with it are refused and its live connections
    /// close.
    pub async fn revoke(&self, id: &str) -> Result<EmbedToken, ApiError> {
        let token = self
            .store()?
            .revoke_embed_token(id.to_owned(), Utc::now())
            .await
            .map_err(storage)?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::EmbedTokenNotFound,
                    format!("no embed token has the id {id:?}"),
                )
                .with_hint("List them with GET /api/embed-tokens.")
            })?;
        self.revoked.send_modify(|ids| {
            ids.insert(token.id.clone());
        });
        tracing::info!(embed_token = %token.id, "embed token revoked");
        Ok(token)
    }

    /// The identity of a presented secret, or why it is refused.
    pub async fn check(&self, secret: &str) -> Result<EmbedIdentity, ApiError> {
        let refused = |message: String| {
            ApiError::new(ErrorCode::Unauthorized, message).with_hint(
                "Ask the dashboard's owner for a new embed token (POST /api/embed-tokens).",
            )
        };
        let hash = crate::store::embed_token_hash(secret);
        match self
            .store()?
            .embed_token_by_hash(hash)
            .await
            .map_err(storage)?
        {
            Some(token) => match token.revoked_at {
                Some(at) => Err(refused(format!(
                    "this embed token ({}) was revoked at {}",
                    token.label,
                    at.format("%Y-%m-%d %H:%M UTC")
                ))),
                None => Ok(EmbedIdentity {
                    id: token.id,
                    revoked: self.revoked.subscribe(),
                }),
            },
            None => Err(refused("this embed token is not valid".into())),
        }
    }
}

fn storage(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "embed tokens: the database failed");
    ApiError::new(ErrorCode::StorageError, "the dashboard's database failed")
        .with_hint("See the dashboard's log; check the data directory's disk and permissions.")
}

/// The embed token a request presents, if any: a bearer token of an embed token's shape,
/// or `?token=` on a panel's page or the live channel (GET only).
pub fn presented(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| looks_like_embed_token(t));
    if let Some(token) = bearer {
        return Some(token.to_owned());
    }
    let panel = path.starts_with("/embed/") || path == "/ws";
    if !(panel && matches!(*method, Method::GET | Method::HEAD)) {
        return None;
    }
    token_in_query(query?).map(str::to_owned)
}

/// Why an embed token may not make this request, if it may not. It reaches the panels
/// (`/embed/...`), the live channel and the reads of the REST API (`GET /api/...` but the
/// tokens' own routes, `/metrics`) and the read-only server functions: nothing that changes
/// state, and none of the dashboard's own pages (the Share page lists the tokens).
pub fn forbidden(method: &Method, path: &str) -> Option<ApiError> {
    let get = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let reads = (get
        && (path.starts_with("/embed/")
            || path == "/ws"
            || path == "/metrics"
            || (path.starts_with("/api/") && !path.starts_with("/api/embed-tokens"))))
        || (*method == Method::POST && READ_ONLY_FUNCTIONS.contains(&path));
    if reads {
        return None;
    }
    Some(
        ApiError::new(
            ErrorCode::EmbedReadOnly,
            format!("an embed token opens the panels (/embed/...), the live channel and the REST API's reads; {method} {path} needs the access token"),
        )
        .with_hint("The dashboard's pages, starting, cancelling, cleaning up, extending and managing tokens need the dashboard's access token (log in, or Authorization: Bearer <token>)."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "gdle_0123456789abcdef0123456789abcdef";

    #[test]
    fn tokens_are_taken_from_a_bearer_or_a_panel_url() {
        let mut h = HeaderMap::new();
        let q = format!("theme=dark&token={T}");
        assert_eq!(
            presented(&Method::GET, "/embed/sessions", Some(&q), &h).as_deref(),
            Some(T)
        );
        assert_eq!(
            presented(&Method::GET, "/ws", Some(&q), &h).as_deref(),
            Some(T)
        );
        assert_eq!(
            presented(&Method::GET, "/api/runs", Some(&q), &h),
            None,
            "only panels take it in the URL"
        );
        assert_eq!(
            presented(&Method::POST, "/embed/sessions", Some(&q), &h),
            None
        );
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {T}").parse().unwrap(),
        );
        assert_eq!(
            presented(&Method::POST, "/api/runs", None, &h).as_deref(),
            Some(T)
        );
        h.insert(
            header::AUTHORIZATION,
            "Bearer correct-horse-battery-staple".parse().unwrap(),
        );
        assert_eq!(
            presented(&Method::POST, "/api/runs", None, &h),
            None,
            "the access token is not an embed token"
        );
    }

    #[test]
    fn embed_tokens_only_read() {
        assert!(forbidden(&Method::GET, "/embed/sessions").is_none());
        assert!(forbidden(&Method::GET, "/api/runs").is_none());
        assert!(forbidden(&Method::GET, "/ws").is_none());
        assert!(forbidden(&Method::POST, "/_fn/live_state").is_none());
        for (m, p) in [
            // The dashboard's own pages: the Share page lists the tokens.
            (Method::GET, "/share"),
            (Method::GET, "/"),
            (Method::GET, "/sessions"),
            (Method::GET, "/api/embed-tokens/x"),
            (Method::POST, "/api/runs"),
            (Method::POST, "/api/runs/run-1/cancel"),
            (Method::POST, "/api/sessions/s1/cleanup"),
            (Method::POST, "/api/sessions/s1/extend"),
            (Method::POST, "/api/orphans/cleanup"),
            (Method::POST, "/_fn/start_run"),
            (Method::POST, "/_fn/act_on_session"),
            (Method::POST, "/_fn/some_new_function"),
            (Method::GET, "/api/embed-tokens"),
            (Method::DELETE, "/api/embed-tokens/x"),
        ] {
            let e = forbidden(&m, p).unwrap_or_else(|| panic!("{m} {p} allowed"));
            assert_eq!(e.code, "embed_read_only");
            assert_eq!(
                crate::error::status(e.error_code()),
                axum::http::StatusCode::FORBIDDEN
            );
        }
    }
}
