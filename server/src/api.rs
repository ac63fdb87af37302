//! REST endpoints under `/api/*` for programs and scripts, with the shared wire types and
//! the one error shape.

use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gdl_model::api::{ApiError, SessionsView, StatusView};
use gdl_model::live::LiveStats;
use serde::Deserialize;
use std::time::Duration;

/// How long a request waits for the broker's first check before answering with what is
/// known. Keeps `/api/status` under a second even when the broker hangs.
pub const FIRST_CHECK_PATIENCE: Duration = Duration::from_millis(800);

/// How long `?fresh=true` waits for a new poll.
pub const REFRESH_PATIENCE: Duration = Duration::from_secs(5);

/// An [`ApiError`] with its HTTP status.
#[derive(Debug)]
pub struct ApiFailure(pub StatusCode, pub ApiError);

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// `?fresh=true` asks for a new poll of the broker before answering.
#[derive(Debug, Default, Deserialize)]
pub struct Freshness {
    #[serde(default)]
    pub fresh: bool,
}

/// The `/api` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/sessions", get(sessions))
        .route("/api/live/stats", get(live_stats))
        .route(
            "/api/{*rest}",
            get(unknown).post(unknown).put(unknown).delete(unknown),
        )
}

async fn status(State(state): State<AppState>, Query(q): Query<Freshness>) -> Json<StatusView> {
    Json(state.status_view(q.fresh).await)
}

async fn sessions(State(state): State<AppState>, Query(q): Query<Freshness>) -> Json<SessionsView> {
    Json(state.sessions_view(q.fresh).await)
}

async fn live_stats(State(state): State<AppState>) -> Json<LiveStats> {
    Json(state.hub.stats())
}

/// Test-only routes, mounted with `--test-hooks`: `POST /_test/live/raw` sends its body as
/// a raw text frame to every live client (to prove malformed frames are shown).
pub fn test_hooks() -> Router<AppState> {
    Router::new().route(
        "/_test/live/raw",
        axum::routing::post(|State(state): State<AppState>, body: String| async move {
            state.hub.broadcast_raw(&body);
            StatusCode::NO_CONTENT
        }),
    )
}

async fn unknown() -> ApiFailure {
    ApiFailure(
        StatusCode::NOT_FOUND,
        ApiError::new("not_found", "no such API endpoint").with_hint(
            "See the README for the endpoints: /api/status, /api/sessions, /api/live/stats.",
        ),
    )
}
