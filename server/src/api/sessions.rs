//! Session actions over REST: `POST /api/sessions/{id}/cleanup|done|extend` and the orphan
//! guard (`GET /api/orphans`, `POST /api/orphans/cleanup`).

use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gdl_model::api::{ApiError, SessionAction, SessionActionResult, SessionView};
use gdl_model::code::ErrorCode;
use serde::{Deserialize, Serialize};

/// `POST /api/sessions/{id}/{action}`, with `{"hours": N}` for an extend.
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
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<SessionActionResult>, AppError> {
    let Some(action) = SessionAction::parse(&action) else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no session action {action:?}"),
            "POST /api/sessions/{id}/cleanup, /done or /extend with {\"hours\": N}.",
        ));
    };
    #[derive(Deserialize)]
    struct Body {
        hours: Option<i64>,
    }
    let hours = if body.is_empty() {
        None
    } else {
        let parsed: Option<Body> = serde_json::from_slice(&body).map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                format!("the body is not JSON of the expected shape: {e}"),
                "Send {\"hours\": 1} to extend; cleanup and done need no body.",
            )
        })?;
        parsed.and_then(|b| b.hours)
    };
    Ok(Json(
        crate::sessions::act(&state, &id, action, hours).await?,
    ))
}

/// Our sessions that cost money and that no run in progress uses.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Orphans {
    pub sessions: Vec<SessionView>,
    /// What they cost together, USD per hour.
    pub burn_per_hour: f64,
}

/// `GET /api/orphans`.
#[utoipa::path(get, path = "/api/orphans", tag = "sessions", responses((status = 200, body = Orphans)))]
pub async fn orphans(State(state): State<AppState>) -> Json<Orphans> {
    Json(state.hub.with_state(|s| Orphans {
        sessions: s.orphans().into_iter().cloned().collect(),
        burn_per_hour: s.orphan_burn_per_hour(),
    }))
}

/// What cleaning up every orphan did: a result per session cleaned, an error per one not.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrphanCleanup {
    pub cleaned: Vec<SessionActionResult>,
    pub failed: Vec<ApiError>,
}

/// `POST /api/orphans/cleanup`.
#[utoipa::path(post, path = "/api/orphans/cleanup", tag = "sessions", responses((status = 200, body = OrphanCleanup)))]
pub async fn clean_up_orphans(State(state): State<AppState>) -> Json<OrphanCleanup> {
    let (cleaned, failed) = crate::sessions::clean_up_orphans(&state).await;
    Json(OrphanCleanup { cleaned, failed })
}
