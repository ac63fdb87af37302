//! The security headers, on every response.

use axum::http::{header, HeaderValue};
use axum::response::Response;

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
