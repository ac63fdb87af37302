//! Logins and the wrong-token throttle shared by replicas (several replicas on PostgreSQL;
//! docs/replicas.md, "Logins"). A login is written to the database as the SHA-256 of its
//! cookie before the cookie is given out; a replica that meets a cookie it does not know,
//! or knew for longer than [`RECHECK`], looks it up there, so a browser moved to another
//! replica stays logged in and a logout on one holds on all within [`RECHECK`]. A request
//! without a right credential first reads its address's wrong tokens from the database, so
//! the throttle holds whichever replica the guesses reach.

use super::access::{cookie, Access, COOKIE, RECHECK};
use super::throttle::WINDOW;
use axum::http::HeaderMap;
use std::net::IpAddr;
use std::time::Instant;

impl Access {
    /// Shares logins and wrong tokens through `store` (several replicas).
    pub fn with_shared_logins(mut self, store: crate::store::Store) -> Self {
        self.shared = Some(store);
        self
    }

    /// Brings what this replica knows of the request's login, and of its address's wrong
    /// tokens, up to date from the database (with several replicas; alone, nothing to do).
    pub(super) async fn refresh(&self, headers: &HeaderMap, address: Option<IpAddr>) {
        let Some(store) = &self.shared else { return };
        if !self.enabled() {
            return;
        }
        if let Some(session) = cookie(headers, COOKIE) {
            let now = Instant::now();
            let known = self
                .sessions
                .lock()
                .unwrap()
                .get(&session)
                .is_some_and(|until| *until > now);
            if !known {
                match store.login_left(&login_hash(&session)).await {
                    Ok(Some(left)) => {
                        let until = now + left.min(RECHECK);
                        self.sessions.lock().unwrap().insert(session, until);
                    }
                    Ok(None) => {
                        self.sessions.lock().unwrap().remove(&session);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot look a login up in the database"),
                }
            }
        }
        if !self.logged_in(headers) && !self.right_bearer(headers) {
            self.refresh_failures(address).await;
        }
    }

    /// Reads `address`'s wrong tokens from the database into the throttle.
    pub(super) async fn refresh_failures(&self, address: Option<IpAddr>) {
        let (Some(store), Some(a)) = (&self.shared, address) else {
            return;
        };
        match store.login_failures(&a.to_string(), WINDOW).await {
            Ok(ago) => self
                .failures
                .lock()
                .unwrap()
                .replace(a, &ago, Instant::now()),
            Err(e) => tracing::warn!(error = %e, "cannot read the wrong tokens from the database"),
        }
    }

    /// Writes a login just opened to the database (before its cookie is given out).
    pub(super) async fn share_login(&self, session: &str) -> Result<(), crate::store::StoreError> {
        match &self.shared {
            Some(store) => {
                store
                    .save_login(&login_hash(session), self.session_ttl)
                    .await
            }
            None => Ok(()),
        }
    }

    /// Ends a login on every replica.
    pub(super) async fn share_logout(&self, session: &str) {
        if let Some(store) = &self.shared {
            if let Err(e) = store.delete_login(&login_hash(session)).await {
                tracing::warn!(error = %e, "cannot end a login in the database; it ends on this replica");
            }
        }
    }

    /// Whether the request carries the access token as a bearer (checked in constant time).
    fn right_bearer(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        super::access::bearer(headers)
            .is_some_and(|b| super::access::constant_time_eq(b.trim().as_bytes(), token.as_bytes()))
    }
}

/// What the database keeps of a login's cookie: its hex SHA-256.
fn login_hash(session: &str) -> String {
    crate::store::embed_token_hash(session)
}
