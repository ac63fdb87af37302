//! A request id for every HTTP request: the caller's `X-Request-ID` when it is a sane one
//! (`[A-Za-z0-9._-]`, 1–128 characters), else a new one. It is on every log line written
//! while the request is handled (a tracing span), in the reply's `X-Request-ID` header and
//! in every error body's `request_id`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use tracing::Instrument;

/// The header that carries it both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// A new id: 6 hex digits drawn at start, then a counter (12 hex digits in all). Unique
/// within a process, unlikely to repeat across restarts, and cheap: no system call and
/// one small string per request, on every request.
pub fn new_id() -> String {
    static BOOT: LazyLock<u64> = LazyLock::new(|| u64::from(rand::random::<u32>() & 0xff_ffff));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) & 0xff_ffff;
    format!("{:06x}{n:06x}", *BOOT)
}

fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The router's outermost middleware: takes or makes the id, runs the request inside it,
/// returns it, and sets the security headers on the reply (one layer for both).
pub async fn layer(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| sane(id))
        .map(str::to_owned)
        .unwrap_or_else(new_id);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = CURRENT
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    crate::security::set_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_differ_and_are_twelve_hex_digits() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert!(
            a.len() == 12 && a.bytes().all(|c| c.is_ascii_hexdigit()),
            "{a}"
        );
        assert_eq!(a[..6], b[..6], "one start, one prefix");
    }

    #[test]
    fn only_sane_ids_are_taken() {
        assert!(sane("abc-123_x.y"));
        assert!(!sane(""));
        assert!(!sane("a b"));
        assert!(!sane("evil\nheader"));
        assert!(!sane(&"x".repeat(129)));
    }
}
