//! The middleware every request passes: one function per check, in order. The host name
//! (DNS rebinding), the origin of what changes state or opens the live channel (CSRF), an
//! embed token (it reads, and only reads), then the access token or a login.

use super::access::{client_address, Access};
use super::embed;
use crate::service::ServiceError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use gdl_model::code::ErrorCode;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The middleware: host, origin, then who is asking.
pub async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    if let Err(refused) = host(&access, request.headers()) {
        return refused.into_response();
    }
    if let Err(refused) = origin(&access, &request) {
        return refused.into_response();
    }
    let address = client_address(
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
        request.headers(),
        &access.trusted_proxies,
    );
    let path = request.uri().path();
    if let Some(secret) = embed::presented(
        request.method(),
        path,
        request.uri().query(),
        request.headers(),
    ) {
        return embed_token(&access, &secret, address, request, next).await;
    }
    // With several replicas: what another replica knows of this login and address.
    access.refresh(request.headers(), address).await;
    match login(&access, &request, address) {
        None => next.run(request).await,
        Some(refused) => refused,
    }
}

/// Refuses a request for a host name the dashboard does not answer to: a page served from
/// another name that resolves here (DNS rebinding).
fn host(access: &Access, headers: &HeaderMap) -> Result<(), ServiceError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match host.filter(|h| !access.host_allowed(h)) {
        None => Ok(()),
        Some(host) => {
            tracing::warn!(
                host,
                "refused a request for a host name this dashboard does not answer to"
            );
            Err(ServiceError::new(
                ErrorCode::HostRefused,
                format!("this dashboard does not answer to the host name {host:?}"),
                "Open it as http://127.0.0.1:<port> or http://localhost:<port>, or start it with --allow-host <name>.",
            ))
        }
    }
}

/// Refuses what changes state, or opens the live channel, from another site (CSRF).
fn origin(access: &Access, request: &Request) -> Result<(), ServiceError> {
    let headers = request.headers();
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !(changes_state || upgrade(headers)) {
        return Ok(());
    }
    // Browsers say where a request comes from: Sec-Fetch-Site when they send it (a
    // same-origin form may carry `Origin: null`), else the Origin header.
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let same_origin = matches!(fetch_site, Some("same-origin" | "none"));
    let refused = !same_origin
        && (fetch_site == Some("cross-site")
            || origin.is_some_and(|o| o == "null" || !access.origin_allowed(o, headers)));
    if !refused {
        return Ok(());
    }
    Err(ServiceError::new(
        ErrorCode::OriginRefused,
        format!(
            "requests from {} are not allowed",
            origin.unwrap_or("another site")
        ),
        "Use the dashboard's own page, or add that origin with --allow-origin.",
    ))
}

/// A request with an embed token: it reads, and only reads, whether or not an access
/// token is set; a wrong one counts toward the throttle.
async fn embed_token(
    access: &Access,
    secret: &str,
    address: Option<IpAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(refused) = access.throttled(address) {
        return refused.into_response();
    }
    let checked = access
        .embed_tokens()
        .check(secret)
        .await
        .and_then(
            |identity| match embed::forbidden(request.method(), request.uri().path()) {
                Some(refusal) => Err(refusal),
                None => Ok(identity),
            },
        );
    match checked {
        Ok(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Err(refusal) => {
            if refusal.error_code() == ErrorCode::Unauthorized {
                access.failed(address);
            }
            // 401 or 403, by its code.
            ServiceError::from(refusal).into_response()
        }
    }
}

/// With an access token set: the request carries it or a live login, or it is refused
/// (a page is sent to the login form, anything else gets 401); wrong tokens are throttled.
/// The refusal, if it is refused.
fn login(access: &Access, request: &Request, address: Option<IpAddr>) -> Option<Response> {
    let path = request.uri().path();
    if public(path) || !access.enabled() || access.logged_in(request.headers()) {
        return None;
    }
    // Only this address's own wrong tokens hold its next attempt back.
    if let Some(refused) = access.throttled(address) {
        return Some(refused.into_response());
    }
    let headers = request.headers();
    if access.authorized(headers, address) {
        return None;
    }
    let wants_page = request.method() == Method::GET
        && !upgrade(headers)
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
            "/"
        };
        return Some(
            Redirect::to(&format!(
                "/login?next={}",
                app::format::query_value(next_path)
            ))
            .into_response(),
        );
    }
    Some(
        ServiceError::new(
            ErrorCode::Unauthorized,
            "an access token is required",
            "Log in at /login, or send Authorization: Bearer <token>.",
        )
        .into_response(),
    )
}

/// Whether the request asks to become a WebSocket.
fn upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Paths open without a login: the login page itself, logout, health, and the static site.
fn public(path: &str) -> bool {
    path == "/login" || path == "/logout" || path == "/healthz" || path.starts_with("/pkg/")
}
