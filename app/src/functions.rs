//! Server functions, grouped by domain. Bodies run on the server only.

use crate::error::AppError;
use gdl_model::live::LiveState;
use leptos::prelude::*;

/// The live state for the first paint: broker status and our sessions.
#[server(prefix = "/_fn")]
pub async fn get_live_state() -> Result<LiveState, AppError> {
    let backend = crate::backend::backend()?;
    Ok(backend.live_state().await)
}
