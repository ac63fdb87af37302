//! Safe by default: loopback unless an access token is set; with a token, a login page
//! that sets a Secure, HttpOnly, SameSite=Strict cookie, `Authorization: Bearer` for
//! programs, and 401 for everything else (pages, REST, server functions, the WebSocket);
//! Origin checks on the WebSocket upgrade and on every state-changing request; security
//! headers on every response.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use gdl_model::api::ApiError;
use gdl_model::code::ErrorCode;
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// The cookie that carries a login session.
const COOKIE: &str = "gdl_session";

/// Access control settings and the login sessions issued since start.
#[derive(Clone, Default)]
pub struct Access {
    token: Option<Arc<Zeroizing<String>>>,
    /// Extra origins allowed to embed the dashboard and to talk to it (CSRF allow-list).
    allowed_origins: Arc<Vec<String>>,
    /// std Mutex: never held across an await.
    sessions: Arc<Mutex<HashSet<String>>>,
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
            sessions: Arc::default(),
        }
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

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_some_and(|b| constant_time_eq(b.trim().as_bytes(), token.as_bytes())) {
            return true;
        }
        match cookie(headers, COOKIE) {
            Some(session) => self.sessions.lock().unwrap().contains(&session),
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

fn refuse(status: StatusCode, code: ErrorCode, message: &str, hint: &str) -> Response {
    (status, Json(ApiError::new(code, message).with_hint(hint))).into_response()
}

/// Paths open without a login: the login page itself, health, and the static site.
fn public(path: &str) -> bool {
    path == "/login" || path == "/healthz" || path.starts_with("/pkg/")
}

/// The middleware: Origin check, authentication, security headers.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let access = &state.access;
    let headers = request.headers();
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
    if !public(&path) && !access.authorized(headers) {
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
            return Redirect::to(&format!("/login?next={}", urlencode(&next_path))).into_response();
        }
        return refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "an access token is required",
            "Log in at /login, or send Authorization: Bearer <token>.",
        );
    }
    let mut response = next.run(request).await;
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

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /login`: the token form (a plain page; no script needed).
pub async fn login_page(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Response {
    if !state.access.enabled() {
        return Redirect::to("/").into_response();
    }
    let next = safe_next(q.next.as_deref());
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Log in · GPU Deploy LLM</title><link rel=\"stylesheet\" href=\"/pkg/gpu-deploy-llm.css\"></head>\
         <body><main class=\"page\"><section class=\"card\" style=\"max-width:28rem;margin:3rem auto\"><h1>GPU Deploy LLM</h1>\
         <p>This dashboard needs its access token.</p><form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\"><label>Access token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label>\
         <p><button type=\"submit\">Log in</button></p></form></section></main></body></html>",
        html_escape(&next)
    );
    let mut response = Html(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`: checks the token, sets the session cookie, goes back where it was.
pub async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let token = Zeroizing::new(form.token);
    let Some(expected) = &state.access.token else {
        return Redirect::to("/").into_response();
    };
    if !constant_time_eq(token.trim().as_bytes(), expected.as_bytes()) {
        tracing::warn!("a login with a wrong token was refused");
        return refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "wrong access token",
            "Check GDL_AUTH_TOKEN on the server.",
        );
    }
    let session = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    state
        .access
        .sessions
        .lock()
        .unwrap()
        .insert(session.clone());
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let cookie =
        format!("{COOKIE}={session}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=2592000");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Only same-site relative paths are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".into(),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/sessions")), "/sessions");
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
