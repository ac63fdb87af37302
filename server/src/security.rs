//! Safe by default: loopback unless an access token (20+ characters) is set; with a token,
//! a login page that sets a Secure, HttpOnly, SameSite=Strict cookie that expires,
//! `Authorization: Bearer` for programs, wrong tokens throttled, and 401 for everything
//! else (pages, REST, server functions, the WebSocket); requests for a host name the
//! dashboard does not answer to refused (DNS rebinding); Origin checks on the WebSocket
//! upgrade and on every state-changing request; security headers on every response.
//!
//! # Layout
//! - this file: [`Access`], the exposure and token checks, and the [`guard`] middleware.
//! - [`login`]: the login page, login, logout, the `next` path.
//! - `throttle`: counting wrong tokens per address and in all.
//! - [`embed`]: read-only embed tokens for the `/embed/...` panels.

pub mod embed;
pub mod login;
mod throttle;

pub use login::{login, login_page, logout};

use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use gdl_model::code::ErrorCode;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The shortest access token accepted.
pub const MIN_TOKEN_LEN: usize = 20;

/// The cookie that carries a login session.
const COOKIE: &str = "gdl_session";

/// Access control settings and the login sessions issued since start.
#[derive(Clone, Default)]
pub struct Access {
    token: Option<Arc<Zeroizing<String>>>,
    /// Extra origins allowed to embed the dashboard and to talk to it (CSRF allow-list).
    allowed_origins: Arc<Vec<String>>,
    /// Host names the dashboard answers to besides loopback ones (`--allow-host`).
    allowed_hosts: Arc<Vec<String>>,
    /// Login sessions and when they expire. std Mutex: never held across an await.
    sessions: Arc<Mutex<HashMap<String, Instant>>>,
    /// How long a login lasts.
    session_ttl: Duration,
    /// Recent wrong tokens.
    failures: Arc<Mutex<throttle::Failures>>,
    /// Read-only embed tokens.
    embed: embed::EmbedTokens,
}

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
            embed: embed::EmbedTokens::default(),
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
    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        name == "localhost"
            || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || self.allowed_hosts.contains(&name)
    }

    /// A new login session, expiring after the configured time.
    fn open_session(&self, now: Instant) -> String {
        let session = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut sessions = self.sessions.lock().unwrap();
        sessions.retain(|_, expires| *expires > now);
        sessions.insert(session.clone(), now + self.session_ttl);
        session
    }

    fn close_session(&self, session: &str) {
        self.sessions.lock().unwrap().remove(session);
    }

    /// A 429 when `address` (or everyone) tried too many wrong tokens lately.
    fn throttled(&self, address: Option<IpAddr>) -> Option<Response> {
        let wait = self
            .failures
            .lock()
            .unwrap()
            .wait(address, Instant::now())?;
        Some(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::LoginThrottled,
            "too many wrong access tokens lately",
            &format!(
                "Wait {} s, then use the right token.",
                wait.as_secs().max(1)
            ),
        ))
    }

    fn failed(&self, address: Option<IpAddr>) {
        self.failures
            .lock()
            .unwrap()
            .failed(address, Instant::now());
    }

    fn succeeded(&self, address: Option<IpAddr>) {
        self.failures.lock().unwrap().succeeded(address);
    }

    /// Whether a token is required.
    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }

    /// The Content-Security-Policy of pages, with `{nonce}` where the hydration scripts'
    /// nonce goes.
    pub fn page_csp_template(&self) -> String {
        let ancestors = std::iter::once("'self'".to_owned())
            .chain(self.allowed_origins.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{{nonce}}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; \
             frame-ancestors {ancestors}"
        )
    }

    /// Whether the request carries the token or a live login session. A wrong bearer
    /// token counts as a failure for the throttle.
    fn authorized(&self, headers: &HeaderMap, address: Option<IpAddr>) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(b) = bearer {
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

    fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
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

/// Refuses a token too short to resist guessing.
pub fn check_token(token: Option<&str>) -> Result<(), String> {
    match token {
        Some(t) if !t.is_empty() && t.chars().count() < MIN_TOKEN_LEN => Err(format!(
            "the access token is {} characters; use at least {MIN_TOKEN_LEN}. Generate one with: \
             head -c 24 /dev/urandom | base64",
            t.chars().count()
        )),
        _ => Ok(()),
    }
}

/// The host part of a Host header value (`[::1]:8081` → `[::1]`, `a.example:80` → `a.example`).
fn host_name(host: &str) -> &str {
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

/// The client's address, if the server knows it.
fn client_address(peer: Option<SocketAddr>) -> Option<IpAddr> {
    peer.map(|p| p.ip())
}

/// Refuses to expose the dashboard beyond loopback without a token.
pub fn check_exposure(addr: SocketAddr, access: &Access) -> Result<(), String> {
    if addr.ip().is_loopback() || access.enabled() {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {addr} without an access token: anyone who can reach it could rent GPUs and destroy instances. \
         Set --auth-token (or GDL_AUTH_TOKEN), or listen on 127.0.0.1."
    ))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A refusal in the error shape, with the request's id like every other error.
fn refuse(status: StatusCode, code: ErrorCode, message: &str, hint: &str) -> Response {
    crate::error::AppError::new(status, code, message, hint).into_response()
}

/// Paths open without a login: the login page itself, logout, health, and the static site.
fn public(path: &str) -> bool {
    path == "/login" || path == "/logout" || path == "/healthz" || path.starts_with("/pkg/")
}

/// The middleware: Host check, Origin check, authentication.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let access = &state.access;
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(host) = host.filter(|h| !access.host_allowed(h)) {
        tracing::warn!(
            host,
            "refused a request for a host name this dashboard does not answer to"
        );
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::HostRefused,
            &format!("this dashboard does not answer to the host name {host:?}"),
            "Open it as http://127.0.0.1:<port> or http://localhost:<port>, or start it with --allow-host <name>.",
        );
    }
    let address = client_address(
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
    );
    let upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if upgrade || changes_state {
        // Browsers say where a request comes from: Sec-Fetch-Site when they send it (a
        // same-origin form may carry `Origin: null`), else the Origin header.
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let same_origin = matches!(fetch_site, Some("same-origin" | "none"));
        let refused = !same_origin
            && (fetch_site == Some("cross-site")
                || origin.is_some_and(|o| o == "null" || !access.origin_allowed(o, headers)));
        if refused {
            return refuse(
                StatusCode::FORBIDDEN,
                ErrorCode::OriginRefused,
                &format!(
                    "requests from {} are not allowed",
                    origin.unwrap_or("another site")
                ),
                "Use the dashboard's own page, or add that origin with --allow-origin.",
            );
        }
    }
    let path = request.uri().path().to_owned();
    // An embed token reads, and only reads, whether or not an access token is set.
    if let Some(secret) = embed::presented(request.method(), &path, request.uri().query(), headers)
    {
        if let Some(refused) = access.throttled(address) {
            return refused;
        }
        let checked =
            access.embed.check(&secret).await.and_then(|identity| {
                match embed::forbidden(request.method(), &path) {
                    Some(refusal) => Err(refusal),
                    None => Ok(identity),
                }
            });
        return match checked {
            Ok(identity) => {
                let mut request = request;
                request.extensions_mut().insert(identity);
                next.run(request).await
            }
            Err(refusal) => {
                if refusal.code == ErrorCode::Unauthorized.as_str() {
                    access.failed(address);
                }
                // 401 or 403, by its code.
                crate::error::AppError::from(refusal).into_response()
            }
        };
    }
    if !public(&path) && access.enabled() {
        if let Some(refused) = access.throttled(address) {
            return refused;
        }
    }
    if !public(&path) && !access.authorized(headers, address) {
        let wants_page = request.method() == Method::GET
            && !upgrade
            && !path.starts_with("/api/")
            && !path.starts_with("/_fn/")
            && headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("text/html"));
        if wants_page {
            let next_path = if path.starts_with('/') && !path.starts_with("//") {
                path
            } else {
                "/".into()
            };
            return Redirect::to(&format!(
                "/login?next={}",
                app::format::query_value(&next_path)
            ))
            .into_response();
        }
        return refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "an access token is required",
            "Log in at /login, or send Authorization: Bearer <token>.",
        );
    }
    next.run(request).await
}

/// The security headers, on every response: refusals (421, 403, 413, 429, 401, the login
/// redirect) included, so this is the router's outermost layer.
pub async fn headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        // Pages set theirs (with the hydration nonce); everything else embeds nothing.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(a
            .page_csp_template()
            .contains("frame-ancestors 'self' https://wiki.example.org"));
        assert!(
            constant_time_eq(b"abc", b"abc")
                && !constant_time_eq(b"abc", b"abd")
                && !constant_time_eq(b"ab", b"abc")
        );
    }
}
