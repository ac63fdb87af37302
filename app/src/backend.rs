//! What server functions need from the server, as a trait object provided as context
//! (`app` never depends on `server`; the server implements this).

use futures::future::BoxFuture;
use gdl_model::live::LiveState;
use std::sync::Arc;

/// The server-side services the pages read.
pub trait Backend: Send + Sync + 'static {
    /// The live state (broker status, our sessions) that the first paint renders; the
    /// live channel keeps it current afterwards.
    fn live_state(&self) -> BoxFuture<'_, LiveState>;
}

/// The context value server functions look up.
pub type SharedBackend = Arc<dyn Backend>;

/// The backend from the Leptos context, or an error saying it is missing.
pub fn backend() -> Result<SharedBackend, crate::error::AppError> {
    leptos::prelude::use_context::<SharedBackend>().ok_or_else(|| {
        crate::error::AppError(gdl_model::api::ApiError::new(
            "dashboard_misconfigured",
            "the server did not provide its backend to the app",
        ))
    })
}
