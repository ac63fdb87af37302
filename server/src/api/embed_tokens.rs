//! `/api/embed-tokens`: create, list and revoke the read-only tokens of the `/embed/...`
//! panels. Only the full access token (or a login) reaches these: the guard refuses an
//! embed token here.

use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gdl_model::embed::{CreatedEmbedToken, EmbedToken, NewEmbedToken};

/// Creates a read-only embed token. The secret is in this answer only: it is stored as a
/// hash.
#[utoipa::path(post, path = "/api/embed-tokens", tag = "embed", request_body = NewEmbedToken,
    responses(
        (status = 201, body = CreatedEmbedToken),
        (status = 400, description = "No label, or one too long", body = gdl_model::api::ApiError),
        (status = 403, description = "Asked with an embed token", body = gdl_model::api::ApiError),
    ))]
pub async fn create(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CreatedEmbedToken>), AppError> {
    let new: NewEmbedToken = serde_json::from_slice(&body).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            gdl_model::code::ErrorCode::InvalidInput,
            format!("the body is not a JSON object with a label: {e}"),
            r#"Send {"label": "lobby wall"}."#,
        )
    })?;
    let created = state.access.embed_tokens().create(&new.label).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every embed token, newest first, revoked ones included; never their secrets.
#[utoipa::path(get, path = "/api/embed-tokens", tag = "embed",
    responses((status = 200, body = Vec<EmbedToken>)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<EmbedToken>>, AppError> {
    Ok(Json(state.access.embed_tokens().list().await?))
}

/// Revokes an embed token at once: requests with it get 401 and the panels' live
/// connections opened with it close.
#[utoipa::path(delete, path = "/api/embed-tokens/{id}", tag = "embed",
    params(("id" = String, Path, description = "The token's id (not its secret)")),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = EmbedToken),
        (status = 404, description = "No such token", body = gdl_model::api::ApiError),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EmbedToken>, AppError> {
    Ok(Json(state.access.embed_tokens().revoke(&id).await?))
}
