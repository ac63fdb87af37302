//! The security headers, on every response.

use axum::http::{header, HeaderMap, HeaderValue};

/// The security headers, on every response: refusals (421, 403, 413, 429, 401, the login
/// redirect) included, so they are set in the router's outermost layer
/// ([`crate::request_id::layer`], one layer for both: each layer costs every request).
pub fn set_headers(h: &mut HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        // Pages set theirs (with the hydration nonce); everything else embeds nothing.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
}
