//! The login page, login (a Secure, HttpOnly, SameSite=Strict session cookie that
//! expires), logout, and where to go afterwards (only the dashboard's own paths).

use super::access::{client_address, constant_time_eq, cookie, Access, COOKIE};
use crate::service::ServiceError;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use gdl_model::code::ErrorCode;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Instant;
use zeroize::Zeroizing;

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /login`: the token form (a plain page; no script needed).
pub async fn login_page(State(access): State<Access>, Query(q): Query<NextQuery>) -> Response {
    if !access.enabled() {
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

/// `POST /login`: checks the token (wrong ones are throttled), sets the session cookie, goes
/// back where it was.
pub async fn login(
    State(access): State<Access>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let token = Zeroizing::new(form.token);
    let Some(expected) = access.token.clone() else {
        return Redirect::to("/").into_response();
    };
    let address = client_address(Some(peer), &headers, &access.trusted_proxies);
    access.refresh_failures(address).await;
    if let Some(refused) = access.throttled(address) {
        return refused.into_response();
    }
    if !constant_time_eq(token.trim().as_bytes(), expected.as_bytes()) {
        tracing::warn!(client = ?address, "a login with a wrong token was refused");
        access.failed(address);
        return ServiceError::new(
            ErrorCode::Unauthorized,
            "wrong access token",
            "Check GDL_AUTH_TOKEN on the server.",
        )
        .into_response();
    }
    access.succeeded(address);
    let session = access.open_session(Instant::now());
    if let Err(e) = access.share_login(&session).await {
        tracing::error!(error = %e, "cannot keep a login in the database");
        access.close_session(&session);
        return ServiceError::new(
            ErrorCode::StorageError,
            "the login could not be kept for the other replicas",
            "Check the database (GDL_DATABASE_URL) and log in again.",
        )
        .into_response();
    }
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let cookie = format!(
        "{COOKIE}={session}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        access.session_ttl.as_secs()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /logout`: ends the login session and clears its cookie.
pub async fn logout(State(access): State<Access>, headers: HeaderMap) -> Response {
    if let Some(session) = cookie(&headers, COOKIE) {
        access.close_session(&session);
        access.share_logout(&session).await;
    }
    let target = if access.enabled() { "/login" } else { "/" };
    let mut response = Redirect::to(target).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "gdl_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

/// Only the dashboard's own paths are followed after login: `/` then a path character,
/// with nothing a browser would strip or read as another host (`//`, `\`, tabs, newlines,
/// any control character).
pub(super) fn safe_next(next: Option<&str>) -> String {
    let own = |n: &str| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
            && n.chars()
                .nth(1)
                .is_none_or(|c| c.is_ascii_alphanumeric() || c == '?')
    };
    match next {
        Some(n) if own(n) => n.to_owned(),
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
    fn only_own_paths_are_followed() {
        for ok in ["/", "/sessions", "/runs/run-1?tab=log"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/ /evil.example",
            "/%09/x",
            "evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
