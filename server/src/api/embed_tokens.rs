//! `/api/embed-tokens`: create, list and revoke the read-only tokens of the `/embed/...`
//! panels. Only the full access token (or a login) reaches these: the guard refuses an
//! embed token here.

use super::json_body;
use crate::service::{Dashboard, ServiceError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gdl_model::embed::{CreatedEmbedToken, EmbedToken, NewEmbedToken};

/// Creates a read-only embed token.
///
/// The body names it (`label`). The answer carries its secret, in this answer only: the
/// database keeps a hash. Panels take it as `?token=`.
#[utoipa::path(post, path = "/api/embed-tokens", tag = "embed", request_body = NewEmbedToken,
    responses(
        (status = 201, body = CreatedEmbedToken),
        (status = 400, description = "No label, or one too long", body = gdl_model::error::ApiError),
        (status = 403, description = "Asked with an embed token", body = gdl_model::error::ApiError),
    ))]
pub async fn create(
    State(d): State<Dashboard>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CreatedEmbedToken>), ServiceError> {
    let new: NewEmbedToken = json_body(
        &body,
        "the body is not a JSON object with a label",
        r#"Send {"label": "lobby wall"}."#,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(d.create_embed_token(&new.label).await?),
    ))
}

/// Every embed token.
///
/// Newest first, revoked ones included, never their secrets.
#[utoipa::path(get, path = "/api/embed-tokens", tag = "embed",
    responses((status = 200, body = Vec<EmbedToken>)))]
pub async fn list(State(d): State<Dashboard>) -> Result<Json<Vec<EmbedToken>>, ServiceError> {
    Ok(Json(d.embed_tokens().await?))
}

/// Revokes an embed token.
///
/// At once: requests with it get 401 and the live connections opened with it close. 404 for
/// an unknown id.
#[utoipa::path(delete, path = "/api/embed-tokens/{id}", tag = "embed",
    params(("id" = String, Path, description = "The token's id (not its secret)")),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = EmbedToken),
        (status = 404, description = "No such token", body = gdl_model::error::ApiError),
    ))]
pub async fn revoke(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
) -> Result<Json<EmbedToken>, ServiceError> {
    Ok(Json(d.revoke_embed_token(&id).await?))
}
