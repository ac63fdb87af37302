//! What server functions need from the server, as a trait object provided as context
//! (`app` never depends on `server`; the server implements this).

use futures::future::BoxFuture;
use gdl_model::api::{SessionsView, StatusView};
use std::sync::Arc;

/// The server-side services the pages read.
pub trait Backend: Send + Sync + 'static {
    /// The broker's status and offer counts; `fresh` asks for a new poll first.
    fn status(&self, fresh: bool) -> BoxFuture<'_, StatusView>;
    /// Our sessions on the broker; `fresh` asks for a new poll first.
    fn sessions(&self, fresh: bool) -> BoxFuture<'_, SessionsView>;
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
