//! The REST layer's error: any error with an HTTP status becomes the one error shape
//! `{code, message, hint, request_id}`. The cause is logged with the request id; the reply
//! never shows internals.

use crate::runner::RunError;
use crate::shopper::ShopperError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdl_model::api::ApiError;
use gdl_model::code::ErrorCode;

/// An error on its way to a REST client.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub error: ApiError,
    /// What the log says beyond the message (never sent).
    pub cause: Option<String>,
}

impl AppError {
    /// An error with a status, a code, a message and a hint.
    pub fn new(
        status: StatusCode,
        code: ErrorCode,
        message: impl Into<String>,
        hint: &str,
    ) -> Self {
        Self {
            status,
            error: ApiError::new(code, message).with_hint(hint),
            cause: None,
        }
    }
}

impl From<RunError> for AppError {
    fn from(e: RunError) -> Self {
        Self {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error: e.to_api_error(),
            cause: e.cause(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        RunError::Storage(e).into()
    }
}

impl From<ShopperError> for AppError {
    fn from(e: ShopperError) -> Self {
        let status = match &e {
            ShopperError::NotFound { .. } => StatusCode::NOT_FOUND,
            ShopperError::NoSuchRoute { .. } => StatusCode::BAD_GATEWAY,
            ShopperError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ShopperError::Duplicate { .. } | ShopperError::TerminalState { .. } => {
                StatusCode::CONFLICT
            }
            ShopperError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        Self {
            status,
            error: e.to_api_error(),
            cause: None,
        }
    }
}

impl From<gdl_model::api::ApiError> for AppError {
    /// An error already in the wire shape, its HTTP status picked by its code.
    fn from(error: gdl_model::api::ApiError) -> Self {
        use gdl_model::code::ErrorCode as C;
        let status = match error.error_code() {
            C::SessionNotFound
            | C::NotFound
            | C::RunNotFound
            | C::BenchmarkNotFound
            | C::EmbedTokenNotFound => StatusCode::NOT_FOUND,
            C::InvalidInput
            | C::ShopperRejected
            | C::InvalidModelId
            | C::UnknownModel
            | C::QuantizationUnavailable => StatusCode::BAD_REQUEST,
            C::SessionTerminal | C::SessionDuplicate => StatusCode::CONFLICT,
            C::Unauthorized => StatusCode::UNAUTHORIZED,
            C::EmbedReadOnly => StatusCode::FORBIDDEN,
            C::ShopperTimeout => StatusCode::GATEWAY_TIMEOUT,
            C::ShopperUnreachable
            | C::ShopperNotReady
            | C::ShopperNoSuchRoute
            | C::ShopperRateLimited
            | C::ShopperError
            | C::ShopperBadResponse => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            error,
            cause: None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut error = self.error;
        // The request's own id (in the reply's header and its log lines); the broker's id
        // for the same failure, if it gave one, goes to the log and the hint.
        let broker_request_id = error.request_id.take();
        let request_id = crate::request_id::current()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
        let broker_id = broker_request_id.as_deref().unwrap_or("");
        if self.status.is_server_error() {
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
        (self.status, Json(error)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_keep_their_status_and_shape_and_hide_causes() {
        let response = AppError::from(RunError::Busy {
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

        let storage = AppError::from(RunError::Storage(StoreError::Task(
            "disk I/O error at /secret/path".into(),
        )));
        assert_eq!(storage.status, StatusCode::INTERNAL_SERVER_ERROR);
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
}
