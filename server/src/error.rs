//! Errors over HTTP: [`status`] is the ONE place that decides the HTTP status of an error,
//! by its code; a [`ServiceError`] becomes the reply `{code, message, hint, request_id}`
//! with that status. The cause is logged with the request id; the reply never shows
//! internals.

use crate::service::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdl_model::code::ErrorCode;

/// The HTTP status that answers an error with `code`. Every code is listed: a new code does
/// not compile until it is given its status here.
pub fn status(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        // The request names something that is not there.
        C::NotFound
        | C::SessionNotFound
        | C::RunNotFound
        | C::BenchmarkNotFound
        | C::EmbedTokenNotFound
        | C::DeploymentNotFound
        | C::CampaignNotFound
        | C::DeploymentKeyNotFound => StatusCode::NOT_FOUND,
        C::DeploymentStopped => StatusCode::GONE,
        C::DeploymentNotReady => StatusCode::SERVICE_UNAVAILABLE,
        C::InvalidApiKey => StatusCode::UNAUTHORIZED,
        C::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        C::UpstreamFailed => StatusCode::BAD_GATEWAY,
        // The request is wrong; the person can put it right.
        C::InvalidInput
        | C::InvalidModelId
        | C::UnknownModel
        | C::QuantizationUnavailable
        | C::ShopperRejected
        | C::ModelGated
        | C::InsufficientDisk => StatusCode::BAD_REQUEST,
        // The request clashes with how things stand.
        C::RunInProgress
        | C::RunFinished
        | C::BenchmarkNotRepeatable
        | C::SessionDuplicate
        | C::SessionTerminal
        | C::OfferStale => StatusCode::CONFLICT,
        C::RateLimited | C::LoginThrottled => StatusCode::TOO_MANY_REQUESTS,
        C::Unauthorized => StatusCode::UNAUTHORIZED,
        C::OriginRefused | C::EmbedReadOnly => StatusCode::FORBIDDEN,
        C::HostRefused => StatusCode::MISDIRECTED_REQUEST,
        // The broker failed us.
        C::ShopperTimeout => StatusCode::GATEWAY_TIMEOUT,
        C::ShopperUnreachable
        | C::ShopperNotReady
        | C::ShopperNoSuchRoute
        | C::ShopperRateLimited
        | C::ShopperError
        | C::ShopperBadResponse
        | C::BrokerStopped
        | C::SessionEndedByBroker
        | C::DashboardUnreachable => StatusCode::BAD_GATEWAY,
        // Ours to fix; and the codes of a run's steps, which describe a run, never a reply.
        C::StorageError
        | C::DashboardProtocol
        | C::DashboardError
        | C::DashboardMisconfigured
        | C::NoOffers
        | C::PinnedOfferGone
        | C::ProvisioningFailed
        | C::ProvisioningTimeout
        | C::SshNoAddress
        | C::SshKeyInvalid
        | C::SshAuthRefused
        | C::SshConnectionRefused
        | C::SshTimeout
        | C::SshUnreachable
        | C::SshDisconnected
        | C::HostKeyChanged
        | C::SshHostPrivate
        | C::HostCommandTimeout
        | C::HostUnusable
        | C::HostUnsuitable
        | C::ModelAccessDenied
        | C::VllmInstallFailed
        | C::VllmStartFailed
        | C::VllmExited
        | C::VllmRestarted
        | C::ModelLoadTimeout
        | C::TunnelFailed
        | C::VerifyFailed
        | C::BenchmarkFailed
        | C::SlowHost
        | C::BenchmarkUnreachable
        | C::Cancelled
        | C::InjectedFailure
        | C::DestroyUnconfirmed
        | C::Interrupted
        | C::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let status = status(self.code());
        let mut error = self.error;
        // The request's own id (in the reply's header and its log lines); the broker's id
        // for the same failure, if it gave one, goes to the log and the hint.
        let broker_request_id = error.request_id.take();
        let request_id = crate::request_id::current().unwrap_or_else(crate::request_id::new_id);
        let broker_id = broker_request_id.as_deref().unwrap_or("");
        if status.is_server_error() {
            tracing::error!(request_id, broker_request_id = broker_id, code = %error.code, cause = self.cause.as_deref().unwrap_or(""), "{}", error.message);
        } else {
            tracing::debug!(request_id, broker_request_id = broker_id, code = %error.code, "{}", error.message);
        }
        if let Some(id) = broker_request_id {
            let hint = error.hint.take().unwrap_or_default();
            error.hint = Some(
                format!("{hint} (The broker's request id: {id}.)")
                    .trim_start()
                    .to_owned(),
            );
        }
        error.request_id = Some(request_id);
        (status, Json(error)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::RunError;
    use crate::store::StoreError;
    use std::time::Duration;

    #[tokio::test]
    async fn errors_keep_their_status_and_shape_and_hide_causes() {
        let response = ServiceError::from(RunError::Busy {
            running: vec!["run-1".into()],
            limit: 1,
        })
        .into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["code"], "run_in_progress");
        assert!(json["hint"].is_string() && json["request_id"].is_string());

        let storage = ServiceError::from(RunError::Storage(StoreError::Task(
            "disk I/O error at /secret/path".into(),
        )));
        assert_eq!(status(storage.code()), StatusCode::INTERNAL_SERVER_ERROR);
        let response = storage.into_response();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("storage_error") && !text.contains("/secret/path"),
            "{text}"
        );
    }

    #[test]
    fn each_run_error_has_its_status_and_code() {
        let cases = [
            (RunError::invalid("m", "h"), 400, "invalid_input"),
            (
                RunError::Busy {
                    running: vec!["run-1".into()],
                    limit: 1,
                },
                409,
                "run_in_progress",
            ),
            (
                RunError::RateLimited {
                    limit: 12,
                    retry_after: Duration::from_secs(7),
                },
                429,
                "rate_limited",
            ),
            (RunError::NotFound("x".into()), 404, "run_not_found"),
            (RunError::Finished("x".into()), 409, "run_finished"),
        ];
        for (error, code_status, code) in cases {
            let api = error.to_api_error();
            assert_eq!(status(api.error_code()).as_u16(), code_status, "{code}");
            assert_eq!(api.code, code);
            assert!(!api.message.is_empty());
        }
    }

    #[test]
    fn the_broker_errors_answer_as_a_gateway_would() {
        for (code, expected) in [
            (ErrorCode::NotFound, 404),
            (ErrorCode::ShopperRejected, 400),
            (ErrorCode::SessionDuplicate, 409),
            (ErrorCode::SessionTerminal, 409),
            (ErrorCode::ShopperTimeout, 504),
            (ErrorCode::ShopperUnreachable, 502),
            (ErrorCode::ShopperNoSuchRoute, 502),
            (ErrorCode::HostRefused, 421),
            (ErrorCode::Unknown, 500),
        ] {
            assert_eq!(status(code).as_u16(), expected, "{code}");
        }
    }
}
