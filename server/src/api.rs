//! REST endpoints under `/api/*` for programs and scripts. Each handler decodes its input
//! into the model's types ([`Query`] and [`json_body`] answer bad input with the one error
//! shape), calls one operation of the [`Dashboard`], and encodes its answer.
//!
//! # Layout
//! - this file: the routes, the extractors, the test hooks.
//! - `broker`: status, sessions, inventory, costs, health, live counters.
//! - `runs`: start, list, read, cancel, logs.
//! - `engines`: the engine catalogue.
//! - `campaigns`: plan, start, list, read, stop.
//! - `deployments`: start, list, read, stop; guards; keys.
//! - `benchmarks`: list, read, compare, export, import.
//! - `sessions`: session actions and the orphans.
//! - `embed_tokens`: create, list, revoke.
//! - [`metrics`]: `/metrics` in Prometheus' format.
//! - [`openapi`]: the OpenAPI document and its browser.

use crate::service::{Dashboard, ServiceError};
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gdl_model::code::ErrorCode;
use gdl_model::runs::StepName;
use serde::de::DeserializeOwned;

mod benchmarks;
mod broker;
mod campaigns;
mod deployments;
mod embed_tokens;
mod engines;
pub mod metrics;
pub mod openapi;
mod runs;
mod sessions;

pub use runs::{text_line, NEXT_AFTER};

/// The `/api` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/status", get(broker::status))
        .route("/api/sessions", get(broker::sessions))
        .route("/api/sessions/{id}/{action}", post(sessions::act))
        .route("/api/orphans", get(sessions::orphans))
        .route("/api/orphans/cleanup", post(sessions::clean_up_orphans))
        .route("/api/inventory", get(broker::inventory))
        .route("/api/costs", get(broker::costs))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/docs", get(openapi::browser))
        .route("/api/docs/docs.js", get(openapi::script))
        .route("/api/docs/docs.css", get(openapi::style))
        .route(
            "/api/embed-tokens",
            get(embed_tokens::list).post(embed_tokens::create),
        )
        .route(
            "/api/embed-tokens/{id}",
            axum::routing::delete(embed_tokens::revoke),
        )
        .route("/api/live/stats", get(broker::live_stats))
        .route("/api/health", get(broker::health))
        .route("/metrics", get(metrics::metrics))
        .route("/api/engines", get(engines::list))
        .route("/api/runs", get(runs::list).post(runs::start))
        .route("/api/runs/{id}", get(runs::get))
        .route("/api/runs/{id}/logs", get(runs::logs))
        .route("/api/runs/{id}/cancel", post(runs::cancel))
        .route(
            "/api/deployments",
            get(deployments::list).post(deployments::start),
        )
        .route(
            "/api/campaigns",
            get(campaigns::list).post(campaigns::start),
        )
        .route("/api/campaigns/plan", post(campaigns::plan))
        .route("/api/campaigns/{id}", get(campaigns::get))
        .route("/api/campaigns/{id}/stop", post(campaigns::stop))
        .route("/api/campaigns/{id}/bundle", get(campaigns::bundle))
        .route("/api/deployments/{id}", get(deployments::get))
        .route("/api/deployments/{id}/stop", post(deployments::stop))
        .route("/api/deployments/{id}/tune", post(deployments::tune))
        .route(
            "/api/deployments/{id}/guards",
            axum::routing::put(deployments::guards),
        )
        .route("/api/deployments/{id}/keys", post(deployments::new_key))
        .route(
            "/api/deployments/{id}/keys/{key_id}",
            axum::routing::delete(deployments::revoke_key),
        )
        .route("/api/benchmarks", get(benchmarks::list))
        .route("/api/benchmarks/export", get(benchmarks::export))
        .route("/api/benchmarks/import", post(benchmarks::import))
        .route("/api/compare", get(benchmarks::compare))
        .route("/api/benchmarks/{id}", get(benchmarks::get))
        .route("/api/benchmarks/{id}/bundle", get(benchmarks::bundle))
        .route(
            "/api/benchmarks/{id}/deploy",
            post(deployments::from_benchmark),
        )
        .route(
            "/api/{*rest}",
            get(unknown).post(unknown).put(unknown).delete(unknown),
        )
}

/// A query string decoded with the model's [`gdl_model::query::decode`], as pages decode
/// theirs: a value that does not read is a 400 `invalid_input` naming its parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(gdl_model::query::decode(
            parts.uri.query().unwrap_or_default(),
        )?))
    }
}

/// A JSON body of type `T`, or a 400 `invalid_input`: `refusal` and serde's reason, and
/// `hint` with an example.
pub fn json_body<T: DeserializeOwned>(
    body: &[u8],
    refusal: &str,
    hint: &str,
) -> Result<T, ServiceError> {
    serde_json::from_slice(body).map_err(|e| ServiceError::invalid(format!("{refusal}: {e}"), hint))
}

/// `response` as a download named `filename` (its `Content-Disposition`); a name that is no
/// header value leaves it shown inline.
pub fn attached(
    mut response: axum::response::Response,
    filename: &str,
) -> axum::response::Response {
    let value = format!("attachment; filename=\"{filename}\"");
    if let Ok(disposition) = axum::http::HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// Test-only routes, mounted with `--test-hooks`: `POST /_test/live/raw` sends its body as
/// a raw text frame to every live client (to prove malformed frames are shown);
/// `POST /_test/runs/fail_next` with a step name makes the next run fail there.
pub fn test_hooks() -> Router<AppState> {
    Router::new()
        .route(
            "/_test/live/raw",
            post(|State(d): State<Dashboard>, body: String| async move {
                d.hub().broadcast_raw(&body);
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_test/runs/fail_next",
            post(|State(d): State<Dashboard>, body: String| async move {
                let step = StepName::parse(body.trim()).ok_or_else(|| {
                    ServiceError::invalid(
                        format!("no step {:?}", body.trim()),
                        "Name a step as the API spells it, such as verify_deployment.",
                    )
                })?;
                d.runner().inject_failure(Some(step));
                Ok::<_, ServiceError>(StatusCode::NO_CONTENT)
            }),
        )
}

async fn unknown() -> ServiceError {
    ServiceError::new(
        ErrorCode::NotFound,
        "no such API endpoint",
        "Every endpoint is described in /api/openapi.json (browse it at /api/docs).",
    )
}
