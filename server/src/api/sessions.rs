//! Session actions over REST: `POST /api/sessions/{id}/cleanup|done|extend` and the orphan
//! guard (`GET /api/orphans`, `POST /api/orphans/cleanup`).

use super::json_body;
use crate::service::{Dashboard, ServiceError};
use axum::extract::{Path, State};
use axum::Json;
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use gdl_model::ids::SessionId;
use gdl_model::sessions::{OrphanCleanup, Orphans, SessionAction, SessionActionResult};
use serde::Deserialize;

/// An extend's body.
#[derive(Deserialize)]
struct Hours {
    hours: Option<i64>,
}

/// Acts on one of our sessions.
///
/// `action` is `cleanup` (destroy it and confirm), `done` (tell the broker we are finished)
/// or `extend` with `{"hours": N}`. An unknown session or action gets 404, an ended session
/// 409, in the error shape.
#[utoipa::path(post, path = "/api/sessions/{id}/{action}", tag = "sessions",
    params(("id" = String, Path), ("action" = String, Path, description = "cleanup, done or extend")),
    request_body(content = Option<serde_json::Value>, description = "`{\"hours\": N}` for extend (1 to 12)"),
    responses(
        (status = 200, body = SessionActionResult),
        (status = 400, description = "Bad hours, or the broker's hard maximum", body = ApiError),
        (status = 404, description = "Unknown session or action", body = ApiError),
        (status = 409, description = "The session has ended", body = ApiError),
    ))]
pub async fn act(
    State(d): State<Dashboard>,
    Path((id, action)): Path<(SessionId, String)>,
    body: axum::body::Bytes,
) -> Result<Json<SessionActionResult>, ServiceError> {
    let Some(action) = SessionAction::parse(&action) else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("no session action {action:?}"),
            "POST /api/sessions/{id}/cleanup, /done or /extend with {\"hours\": N}.",
        ));
    };
    let hours = if body.is_empty() {
        None
    } else {
        json_body::<Option<Hours>>(
            &body,
            "the body is not JSON of the expected shape",
            "Send {\"hours\": 1} to extend; cleanup and done need no body.",
        )?
        .and_then(|b| b.hours)
    };
    Ok(Json(d.act_on_session(&id, action, hours).await?))
}

/// Our sessions that cost money with no test using them.
///
/// Sessions of this installation that may be billing while no run in progress uses them,
/// newest first, with what they cost together an hour.
#[utoipa::path(get, path = "/api/orphans", tag = "sessions", responses((status = 200, body = Orphans)))]
pub async fn orphans(State(d): State<Dashboard>) -> Json<Orphans> {
    Json(d.orphans())
}

/// Cleans up every orphan.
///
/// Cleans up each session `GET /api/orphans` lists: the answer has a result per session
/// cleaned (destroyed, or asked and not yet confirmed) and an error per one that was not.
#[utoipa::path(post, path = "/api/orphans/cleanup", tag = "sessions", responses((status = 200, body = OrphanCleanup)))]
pub async fn clean_up_orphans(State(d): State<Dashboard>) -> Json<OrphanCleanup> {
    Json(d.clean_up_orphans().await)
}
