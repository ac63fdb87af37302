//! Reading the broker's non-2xx replies: which of its three body shapes came (JSON error,
//! stale-inventory detail, plain text) and what typed [`ShopperError`] that is.

use super::{Conflict, ShopperError};
use gdl_model::shopper::{provider_error_sentence, BrokerErrorBody};
use reqwest::StatusCode;
use std::time::Duration;

/// The innermost cause of a transport error ("Connection refused (os error 111)").
pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The first 120 characters of a body, for error messages.
pub(super) fn snippet(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(120).collect()
}

/// Maps a non-2xx reply to a typed error, reading whichever of the three body shapes came.
pub(super) fn error_from_reply(
    conflict: Conflict,
    status: StatusCode,
    bytes: &[u8],
    header_request_id: Option<String>,
    retry_after: Option<Duration>,
) -> ShopperError {
    let parsed: Option<BrokerErrorBody> = serde_json::from_slice(bytes).ok();
    let request_id = parsed
        .as_ref()
        .and_then(|b| b.request_id.clone())
        .or(header_request_id);
    let message = parsed
        .as_ref()
        .map(|b| b.error.clone())
        .unwrap_or_else(|| snippet(bytes).trim().to_owned());
    let error_type = parsed.as_ref().and_then(|b| b.error_type.clone());
    match status.as_u16() {
        404 if parsed.is_some() => ShopperError::NotFound {
            message,
            request_id,
        },
        404 => ShopperError::NoSuchRoute { message },
        409 => match conflict {
            Conflict::Duplicate => ShopperError::Duplicate {
                existing_session_id: existing_session_id(&message),
                message,
                request_id,
            },
            Conflict::Terminal => ShopperError::TerminalState {
                message,
                request_id,
            },
        },
        429 => ShopperError::RateLimited { retry_after },
        400 if error_type.as_deref() == Some("insufficient_disk") => {
            let body = parsed.unwrap_or_default();
            ShopperError::InsufficientDisk {
                message,
                requested_gb: body.requested_gb.unwrap_or(0),
                minimum_gb: body.minimum_gb.unwrap_or(0),
                recommended_gb: body.recommended_gb.unwrap_or(0),
                breakdown: body.breakdown.map(Box::new),
                request_id,
            }
        }
        400 => ShopperError::BadRequest {
            message,
            error_type,
            request_id,
        },
        503 if error_type.as_deref() == Some("stale_inventory") => {
            let body = parsed.unwrap_or_default();
            // The broker's `error` carries the provider's code (`no_such_ask`), its
            // `message` a generic sentence: say what the code means, keeping it.
            ShopperError::StaleInventory {
                message: provider_error_sentence(&message)
                    .or(body.message)
                    .unwrap_or(message),
                offer_id: body.offer_id,
                provider: body.provider,
                request_id,
            }
        }
        code if (500..600).contains(&code) || parsed.is_some() => ShopperError::Server {
            status: code,
            message,
            error_type,
            retry_suggested: parsed.and_then(|b| b.retry_suggested).unwrap_or(false),
            request_id,
        },
        code => ShopperError::Decode {
            status: code,
            detail: "unexpected HTTP status".into(),
            snippet: snippet(bytes),
        },
    }
}

/// Reads the session id out of `consumer c already has active session <sid> for offer o`.
fn existing_session_id(message: &str) -> Option<String> {
    let rest = message.split("active session ").nth(1)?;
    rest.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_404_is_a_missing_route_not_a_missing_session() {
        let e = error_from_reply(
            Conflict::Terminal,
            StatusCode::NOT_FOUND,
            b"404 page not found",
            Some("rid".into()),
            None,
        );
        assert_eq!(
            e,
            ShopperError::NoSuchRoute {
                message: "404 page not found".into(),
            }
        );
    }

    #[test]
    fn conflict_depends_on_the_call() {
        let body = br#"{"error":"consumer c already has active session abc-1 for offer o (status: running)","request_id":"r"}"#;
        match error_from_reply(Conflict::Duplicate, StatusCode::CONFLICT, body, None, None) {
            ShopperError::Duplicate {
                existing_session_id,
                ..
            } => assert_eq!(existing_session_id.as_deref(), Some("abc-1")),
            other => panic!("expected duplicate, got {other:?}"),
        }
        let terminal = br#"{"error":"session s is in terminal state: stopped"}"#;
        assert!(matches!(
            error_from_reply(
                Conflict::Terminal,
                StatusCode::CONFLICT,
                terminal,
                None,
                None
            ),
            ShopperError::TerminalState { .. }
        ));
    }
}
