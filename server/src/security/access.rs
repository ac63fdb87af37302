//! [`Access`]: who may use the dashboard. The access token (compared in constant time),
//! the login sessions it opens, the throttle on wrong tokens, the host names answered
//! (against DNS rebinding), the origins allowed (CSRF and embedding) and the embed tokens.

use super::embed;
use super::throttle;
use crate::service::ServiceError;
use axum::http::{header, HeaderMap};
use gdl_model::code::ErrorCode;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The cookie that carries a login session.
pub(super) const COOKIE: &str = "gdl_session";

/// Access control settings and the login sessions issued since start.
#[derive(Clone, Default)]
pub struct Access {
    pub(super) token: Option<Arc<Zeroizing<String>>>,
    /// Extra origins allowed to embed the dashboard and to talk to it (CSRF allow-list).
    allowed_origins: Arc<Vec<String>>,
    /// Host names the dashboard answers to besides loopback ones (`--allow-host`).
    allowed_hosts: Arc<Vec<String>>,
    /// Login sessions and when they expire (with several replicas: until they are looked
    /// up again, [`RECHECK`]). std Mutex: never held across an await.
    pub(super) sessions: Arc<Mutex<HashMap<String, Instant>>>,
    /// How long a login lasts.
    pub(super) session_ttl: Duration,
    /// Recent wrong tokens.
    pub(super) failures: Arc<Mutex<throttle::Failures>>,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub(super) trusted_proxies: Arc<Vec<IpAddr>>,
    /// Read-only embed tokens.
    embed: embed::EmbedTokens,
    /// With several replicas: the database their logins and wrong tokens are shared in
    /// (`shared_logins`).
    pub(super) shared: Option<crate::store::Store>,
}

/// With several replicas, how long a replica trusts what it knows of a login before it
/// looks in the database again: a logout on one holds on all of them within this time.
pub(super) const RECHECK: Duration = Duration::from_secs(5);

impl Access {
    /// Access with an optional token and extra allowed origins (`scheme://host[:port]`).
    pub fn new(token: Option<String>, allowed_origins: Vec<String>) -> Self {
        Self {
            token: token
                .filter(|t| !t.is_empty())
                .map(|t| Arc::new(Zeroizing::new(t))),
            allowed_origins: Arc::new(
                allowed_origins
                    .into_iter()
                    .map(|o| o.trim_end_matches('/').to_owned())
                    .collect(),
            ),
            allowed_hosts: Arc::default(),
            sessions: Arc::default(),
            session_ttl: Duration::from_secs(12 * 3600),
            failures: Arc::default(),
            trusted_proxies: Arc::default(),
            embed: embed::EmbedTokens::default(),
            shared: None,
        }
    }

    /// Embed tokens kept in this store.
    pub fn with_embed_tokens(mut self, tokens: embed::EmbedTokens) -> Self {
        self.embed = tokens;
        self
    }

    /// The embed tokens.
    pub fn embed_tokens(&self) -> &embed::EmbedTokens {
        &self.embed
    }

    /// The origins allowed besides the dashboard's own (`--allow-origin`).
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }

    /// Also answers to these host names (`name` or `name:port`; the port is not checked).
    pub fn with_hosts(mut self, hosts: Vec<String>) -> Self {
        self.allowed_hosts = Arc::new(
            hosts
                .iter()
                .map(|h| host_name(h.trim()).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        );
        self
    }

    /// Logins last `ttl`.
    pub fn with_session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl.max(Duration::from_secs(60));
        self
    }

    /// Whether a request for `host` (the Host header) may be answered: loopback names, or
    /// an allowed host. A page served from another name that resolves here (DNS
    /// rebinding) is refused.
    pub(super) fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        name == "localhost"
            || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || self.allowed_hosts.contains(&name)
    }

    /// A new login session, expiring after the configured time.
    pub(super) fn open_session(&self, now: Instant) -> String {
        let session = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let trusted = match self.shared {
            Some(_) => self.session_ttl.min(RECHECK),
            None => self.session_ttl,
        };
        let mut sessions = self.sessions.lock().unwrap();
        sessions.retain(|_, expires| *expires > now);
        sessions.insert(session.clone(), now + trusted);
        session
    }

    pub(super) fn close_session(&self, session: &str) {
        self.sessions.lock().unwrap().remove(session);
    }

    /// Trusts `proxies` to name the client in `X-Forwarded-For`.
    pub fn with_trusted_proxies(mut self, proxies: Vec<IpAddr>) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Whether the request carries a live login (a session cookie): never throttled.
    pub(super) fn logged_in(&self, headers: &HeaderMap) -> bool {
        cookie(headers, COOKIE).is_some_and(|session| {
            self.sessions
                .lock()
                .unwrap()
                .get(&session)
                .is_some_and(|until| *until > Instant::now())
        })
    }

    /// A 429 when `address` tried too many wrong tokens lately.
    pub(super) fn throttled(&self, address: Option<IpAddr>) -> Option<ServiceError> {
        let wait = self
            .failures
            .lock()
            .unwrap()
            .wait(address, Instant::now())?;
        Some(ServiceError::new(
            ErrorCode::LoginThrottled,
            "too many wrong access tokens lately",
            format!(
                "Wait {} s, then use the right token.",
                wait.as_secs().max(1)
            ),
        ))
    }

    pub(super) fn failed(&self, address: Option<IpAddr>) {
        self.failures
            .lock()
            .unwrap()
            .failed(address, Instant::now());
        if let (Some(store), Some(a)) = (self.shared.clone(), address) {
            tokio::spawn(async move {
                if let Err(e) = store.login_failed(&a.to_string(), throttle::WINDOW).await {
                    tracing::warn!(error = %e, "cannot share a wrong token with the other replicas");
                }
            });
        }
    }

    pub(super) fn succeeded(&self, address: Option<IpAddr>) {
        self.failures.lock().unwrap().succeeded(address);
        if let (Some(store), Some(a)) = (self.shared.clone(), address) {
            tokio::spawn(async move {
                if let Err(e) = store.login_succeeded(&a.to_string()).await {
                    tracing::warn!(error = %e, "cannot share a right token with the other replicas");
                }
            });
        }
    }

    /// Whether a token is required.
    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }

    /// The Content-Security-Policy of pages and of the panels, with `{nonce}` where the
    /// hydration scripts' nonce goes: only the panels may be framed by the allowed origins.
    pub fn csp_templates(&self) -> app::backend::CspTemplate {
        app::backend::CspTemplate {
            page: csp_template("'self'"),
            panel: csp_template(
                &std::iter::once("'self'")
                    .chain(self.allowed_origins.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }

    /// Whether the request carries the token or a live login session. A wrong bearer
    /// token counts as a failure for the throttle.
    pub(super) fn authorized(&self, headers: &HeaderMap, address: Option<IpAddr>) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        if let Some(b) = bearer(headers) {
            if constant_time_eq(b.trim().as_bytes(), token.as_bytes()) {
                return true;
            }
            self.failed(address);
        }
        match cookie(headers, COOKIE) {
            Some(session) => self
                .sessions
                .lock()
                .unwrap()
                .get(&session)
                .is_some_and(|expires| *expires > Instant::now()),
            None => false,
        }
    }

    pub(super) fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
        let origin = origin.trim_end_matches('/');
        let own = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let host_of = |o: &str| o.split_once("://").map(|(_, rest)| rest.to_owned());
        host_of(origin).is_some_and(|h| h.eq_ignore_ascii_case(own))
            || self.allowed_origins.iter().any(|a| a == origin)
    }
}

/// The host part of a Host header value (`[::1]:8081` → `[::1]`, `a.example:80` → `a.example`).
pub(super) fn host_name(host: &str) -> &str {
    if let Some(end) = host.find(']').filter(|_| host.starts_with('[')) {
        return &host[..=end];
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => {
            name
        }
        _ => host,
    }
}

/// The client's address, if the server knows it: the peer's, or, when the peer is one of
/// the `trusted` proxies (`--trusted-proxy`), the last address its `X-Forwarded-For` adds.
pub(super) fn client_address(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|a| a.trim().parse::<IpAddr>().ok());
    Some(forwarded.unwrap_or(peer))
}

/// The token of an `Authorization: Bearer` header, if the request has one.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A page Content-Security-Policy that lets `ancestors` frame it.
fn csp_template(ancestors: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{{nonce}}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; \
         frame-ancestors {ancestors}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{check_exposure, check_token};
    use axum::http::HeaderValue;

    #[test]
    fn only_loopback_and_allowed_host_names_are_answered() {
        let a = Access::new(None, vec![]).with_hosts(vec!["gpu.lan:8081".into()]);
        for ok in [
            "127.0.0.1:8081",
            "localhost:9",
            "LOCALHOST",
            "[::1]:8081",
            "127.0.0.2",
            "gpu.lan",
            "gpu.lan:1",
        ] {
            assert!(a.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:8081",
            "evil.example",
            "localhost.evil.example",
            "10.0.0.5:8081",
            "[::2]:8081",
        ] {
            assert!(!a.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn short_tokens_are_refused_with_a_way_to_make_one() {
        assert!(check_token(None).is_ok());
        assert!(check_token(Some("correct-horse-battery-staple")).is_ok());
        let err = check_token(Some("s3cret")).unwrap_err();
        assert!(
            err.contains("at least 20") && err.contains("/dev/urandom"),
            "{err}"
        );
    }

    #[test]
    fn login_sessions_expire() {
        let a = Access::new(Some("correct-horse-battery-staple".into()), vec![])
            .with_session_ttl(Duration::from_secs(3600));
        let now = Instant::now();
        let session = a.open_session(now - Duration::from_secs(7200));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={session}")).unwrap(),
        );
        assert!(!a.authorized(&h, None), "expired");
        let fresh = a.open_session(now);
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={fresh}")).unwrap(),
        );
        assert!(a.authorized(&h, None));
        a.close_session(&fresh);
        assert!(!a.authorized(&h, None), "logged out");
    }

    #[test]
    fn exposure_needs_a_token_off_loopback() {
        let none = Access::new(None, vec![]);
        assert!(check_exposure("127.0.0.1:8081".parse().unwrap(), &none).is_ok());
        assert!(check_exposure("[::1]:8081".parse().unwrap(), &none).is_ok());
        let err = check_exposure("0.0.0.0:8081".parse().unwrap(), &none).unwrap_err();
        assert!(err.contains("--auth-token") && err.contains("0.0.0.0:8081"));
        let with = Access::new(Some("s3cret".into()), vec![]);
        assert!(check_exposure("0.0.0.0:8081".parse().unwrap(), &with).is_ok());
    }

    #[test]
    fn origins_and_next_paths() {
        let a = Access::new(None, vec!["https://wiki.example.org/".into()]);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        assert!(a.origin_allowed("http://127.0.0.1:8081", &h));
        assert!(a.origin_allowed("https://wiki.example.org", &h));
        assert!(!a.origin_allowed("http://evil.example", &h));
        let csp = a.csp_templates();
        assert!(csp
            .panel
            .contains("frame-ancestors 'self' https://wiki.example.org"));
        assert!(
            csp.page.ends_with("frame-ancestors 'self'"),
            "only the panels may be framed by other origins: {}",
            csp.page
        );
        assert!(
            constant_time_eq(b"abc", b"abc")
                && !constant_time_eq(b"abc", b"abd")
                && !constant_time_eq(b"ab", b"abc")
        );
    }
}
