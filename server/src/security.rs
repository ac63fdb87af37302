//! Safe by default: loopback unless an access token (20+ characters) is set; with a token,
//! a login page that sets a Secure, HttpOnly, SameSite=Strict cookie that expires,
//! `Authorization: Bearer` for programs, wrong tokens throttled, and 401 for everything
//! else (pages, REST, server functions, the WebSocket); requests for a host name the
//! dashboard does not answer to refused (DNS rebinding); Origin checks on the WebSocket
//! upgrade and on every state-changing request; security headers on every response.
//!
//! # Layout
//! - this file: the checks made before listening (token length, exposure).
//! - [`access`]: [`Access`]: the token, login sessions, the throttle, hosts and origins.
//! - [`guard`]: the middleware every request passes, one function per check.
//! - [`headers`]: the security headers on every response.
//! - [`login`]: the login page, login, logout, the `next` path.
//! - `throttle`: counting wrong tokens per address and in all.
//! - [`embed`]: read-only embed tokens for the `/embed/...` panels.

pub mod access;
pub mod embed;
pub mod guard;
pub mod headers;
pub mod login;
mod shared_logins;
mod throttle;

pub use access::Access;
pub use guard::guard;
pub use headers::set_headers;
pub use login::{login, login_page, logout};

use std::net::SocketAddr;

/// The shortest access token accepted.
pub const MIN_TOKEN_LEN: usize = 20;

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
