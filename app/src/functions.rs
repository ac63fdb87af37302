//! Server functions, grouped by domain. Bodies run on the server only.

use crate::error::AppError;
use gdl_model::api::{SessionsView, StatusView};
use leptos::prelude::*;

/// The broker's status and offer counts per provider.
#[server(prefix = "/_fn")]
pub async fn get_status(fresh: bool) -> Result<StatusView, AppError> {
    let backend = crate::backend::backend()?;
    Ok(backend.status(fresh).await)
}

/// Our sessions on the broker (every version of this product), newest first.
#[server(prefix = "/_fn")]
pub async fn list_sessions(fresh: bool) -> Result<SessionsView, AppError> {
    let backend = crate::backend::backend()?;
    Ok(backend.sessions(fresh).await)
}
