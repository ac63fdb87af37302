//! Deployments over REST: start one, list and read them, stop one, change its guards, make
//! and revoke its keys. The OpenAI-compatible endpoint itself is the gateway's
//! (`/serve/{id}/v1/...`, [`crate::gateway`]).

use super::{json_body, Query};
use crate::service::{Dashboard, ServiceError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gdl_model::deployments::{
    CreatedKey, DeployBenchmark, DeployRequest, DeployStarted, Deployment, DeploymentFilters,
    DeploymentKey, Guards, NewKey,
};
use gdl_model::error::ApiError;
use gdl_model::ids::{BenchmarkId, DeploymentId};

/// Starts a deployment.
///
/// The body is a `DeployRequest`: `config` (a test configuration: at least `model` and
/// `max_price`), `guards` (`idle_minutes`, default 30; `max_spend_usd`; `max_lifetime_hours`),
/// `benchmark` (run the benchmark first) and `key_label`. The answer (201) has the
/// deployment's id, the gateway's base path and its first key, shown this once. 400 on bad
/// input, 409 when the limit of runs at once is reached, 429 over the start rate.
#[utoipa::path(post, path = "/api/deployments", tag = "deployments", request_body = DeployRequest,
    responses(
        (status = 201, description = "Started", body = DeployStarted),
        (status = 400, description = "Bad input", body = ApiError),
        (status = 409, description = "A run is already in progress", body = ApiError),
        (status = 429, description = "Too many starts", body = ApiError),
    ))]
pub async fn start(
    State(d): State<Dashboard>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<DeployStarted>), ServiceError> {
    let request: DeployRequest = json_body(
        &body,
        "the deployment request is not valid JSON of the expected shape",
        r#"Send {"config": {"model": "qwen2.5-0.5b", "max_price": 0.5}, "guards": {"idle_minutes": 30, "max_spend_usd": 5}}; optional: benchmark, key_label, and every field of a test configuration in config."#,
    )?;
    Ok((StatusCode::CREATED, Json(d.deploy(request).await?)))
}

/// Deploys a benchmark's model with the settings its tuning found best.
///
/// Keeps the benchmark's model serving on the GPU type and count it was measured on (the
/// cheapest such offer of any provider now, at up to the test's highest price or the price it ran
/// at, whichever is higher), started with the best settings the test's tuning found; with
/// `own_settings`, or when it did not tune, the test's own. The body (`guards`,
/// `own_settings`, `key_label`) may be empty. The answer is as `POST /api/deployments`'s.
/// 404 `benchmark_not_found` for an unknown id; 409 `benchmark_not_repeatable` for a
/// benchmark no run of this dashboard measured.
#[utoipa::path(post, path = "/api/benchmarks/{id}/deploy", tag = "deployments",
    params(("id" = String, Path)), request_body = DeployBenchmark,
    responses(
        (status = 201, description = "Started", body = DeployStarted),
        (status = 400, description = "Bad input", body = ApiError),
        (status = 404, description = "No such benchmark", body = ApiError),
        (status = 409, description = "Not measured by a run of ours, or a run is already in progress", body = ApiError),
        (status = 429, description = "Too many starts", body = ApiError),
    ))]
pub async fn from_benchmark(
    State(d): State<Dashboard>,
    Path(id): Path<BenchmarkId>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<DeployStarted>), ServiceError> {
    let asked: DeployBenchmark = if body.iter().all(u8::is_ascii_whitespace) {
        DeployBenchmark::default()
    } else {
        json_body(
            &body,
            "the request is not valid JSON of the expected shape",
            r#"Send {"guards": {"idle_minutes": 30, "max_spend_usd": 5}}, {"own_settings": true} for the test's own settings, or nothing for the defaults."#,
        )?
    };
    Ok((
        StatusCode::CREATED,
        Json(d.deploy_benchmark(&id, asked).await?),
    ))
}

/// The deployments, newest first.
///
/// With `active=true`, only those still up (starting, serving, recovering, tuning, stopping). Each
/// has its status, guards, meter, spend and keys (never their secrets).
#[utoipa::path(get, path = "/api/deployments", tag = "deployments", params(DeploymentFilters),
    responses((status = 200, body = Vec<Deployment>), (status = 400, body = ApiError)))]
pub async fn list(
    State(d): State<Dashboard>,
    Query(filters): Query<DeploymentFilters>,
) -> Result<Json<Vec<Deployment>>, ServiceError> {
    Ok(Json(d.deployments(filters.active.unwrap_or(false)).await?))
}

/// One deployment.
///
/// Its status, guards, meter (requests, tokens, errors, TTFT and TPOT percentiles), spend,
/// the benchmark's $ per 1M tokens when it ran one, and its keys. 404 for an unknown id.
#[utoipa::path(get, path = "/api/deployments/{id}", tag = "deployments", params(("id" = String, Path)),
    responses((status = 200, body = Deployment), (status = 404, body = ApiError)))]
pub async fn get(
    State(d): State<Dashboard>,
    Path(id): Path<DeploymentId>,
) -> Result<Json<Deployment>, ServiceError> {
    Ok(Json(d.deployment(&id).await?))
}

/// Stops a deployment.
///
/// Answers at once (202) with the deployment; its run then destroys the session and
/// confirms it, and the deployment ends `stopped`. 404 for an unknown id, 410 when it has
/// already ended.
#[utoipa::path(post, path = "/api/deployments/{id}/stop", tag = "deployments", params(("id" = String, Path)),
    responses((status = 202, body = Deployment), (status = 404, body = ApiError), (status = 410, body = ApiError)))]
pub async fn stop(
    State(d): State<Dashboard>,
    Path(id): Path<DeploymentId>,
) -> Result<(StatusCode, Json<Deployment>), ServiceError> {
    Ok((StatusCode::ACCEPTED, Json(d.stop_deployment(&id).await?)))
}

/// Tunes a serving deployment's engine.
///
/// The body is a tuning's budget (`usd_budget` 0.01–100, `seconds` 60–7,200, 1,800 when
/// absent). Answers at once (202) with the deployment; its serving loop then reads `tuning`:
/// the gateway refuses requests (503, retry later) while the engine is restarted with other
/// settings one at a time, each judged by the capacity search at its SLOs, and it serves
/// again with the best (`settings`, `tuning`). 400 for a budget out of bounds, the
/// entrypoint mode or a budget past its spend guard; 404 unknown; 410 ended; 503 when it
/// is not serving now or a tuning is already asked for.
#[utoipa::path(post, path = "/api/deployments/{id}/tune", tag = "deployments",
    params(("id" = String, Path)), request_body = gdl_model::tuning::TuneRequest,
    responses((status = 202, body = Deployment), (status = 400, body = ApiError), (status = 404, body = ApiError),
        (status = 410, body = ApiError), (status = 503, body = ApiError)))]
pub async fn tune(
    State(d): State<Dashboard>,
    Path(id): Path<DeploymentId>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Deployment>), ServiceError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Asked {
        usd_budget: f64,
        seconds: Option<u32>,
    }
    let asked: Asked = json_body(
        &body,
        "the tuning is not valid JSON of the expected shape",
        r#"Send {"usd_budget": 0.5, "seconds": 600}; seconds are optional (1,800)."#,
    )?;
    let request = gdl_model::tuning::TuneRequest {
        usd_budget: asked.usd_budget,
        seconds: asked
            .seconds
            .unwrap_or(gdl_model::tuning::DEFAULT_TUNE_SECONDS),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(d.tune_deployment(&id, request).await?),
    ))
}

/// Changes a deployment's guards while it runs.
///
/// The body is the whole set (`idle_minutes`, `max_spend_usd`, `max_lifetime_hours`); the
/// answer is the deployment with its new guards. 410 once it has ended.
#[utoipa::path(put, path = "/api/deployments/{id}/guards", tag = "deployments",
    params(("id" = String, Path)), request_body = Guards,
    responses((status = 200, body = Deployment), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 410, body = ApiError)))]
pub async fn guards(
    State(d): State<Dashboard>,
    Path(id): Path<DeploymentId>,
    body: axum::body::Bytes,
) -> Result<Json<Deployment>, ServiceError> {
    let guards: Guards = json_body(
        &body,
        "the guards are not valid JSON of the expected shape",
        r#"Send {"idle_minutes": 30, "max_spend_usd": 5, "max_lifetime_hours": 8}; the last two are optional."#,
    )?;
    Ok(Json(d.set_deployment_guards(&id, guards).await?))
}

/// Makes a key for a deployment.
///
/// The body names it (`label`); the answer (201) holds its secret, in this answer only (only
/// a hash is kept). 410 once the deployment has ended.
#[utoipa::path(post, path = "/api/deployments/{id}/keys", tag = "deployments",
    params(("id" = String, Path)), request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 410, body = ApiError)))]
pub async fn new_key(
    State(d): State<Dashboard>,
    Path(id): Path<DeploymentId>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CreatedKey>), ServiceError> {
    let key: NewKey = json_body(
        &body,
        "the key request is not valid JSON of the expected shape",
        r#"Send {"label": "notebook"}."#,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(d.new_deployment_key(&id, &key.label).await?),
    ))
}

/// Revokes a deployment's key.
///
/// The gateway refuses it from now on (401). 404 for an unknown deployment or key.
#[utoipa::path(delete, path = "/api/deployments/{id}/keys/{key_id}", tag = "deployments",
    params(("id" = String, Path), ("key_id" = String, Path)),
    responses((status = 200, body = DeploymentKey), (status = 404, body = ApiError)))]
pub async fn revoke_key(
    State(d): State<Dashboard>,
    Path((id, key_id)): Path<(DeploymentId, String)>,
) -> Result<Json<DeploymentKey>, ServiceError> {
    Ok(Json(d.revoke_deployment_key(&id, &key_id).await?))
}
