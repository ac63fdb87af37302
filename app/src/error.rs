//! The typed error of server functions: the dashboard's `{code, message, hint, request_id}`
//! shape, also used for transport failures between browser and server.

use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};
use std::fmt;

/// An error a server function returns; people see its message and hint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppError(pub ApiError);

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for AppError {}

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let (code, hint) = match &value {
            ServerFnErrorErr::Request(_) => (
                ErrorCode::DashboardUnreachable,
                "The dashboard server did not answer; check that it is running, then reload.",
            ),
            ServerFnErrorErr::Deserialization(_) | ServerFnErrorErr::Serialization(_) => (
                ErrorCode::DashboardProtocol,
                "The page and the server disagree; reload the page to get the current version.",
            ),
            _ => (
                ErrorCode::DashboardError,
                "Something failed on the dashboard server; its log has the details.",
            ),
        };
        Self(ApiError::new(code, value.to_string()).with_hint(hint))
    }
}
