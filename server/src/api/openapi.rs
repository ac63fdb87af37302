//! The OpenAPI 3.1 document of the REST API, generated from the handlers' annotations and
//! the model crate's types, served at `/api/openapi.json`.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gpu-deploy-llm",
        description = "Deploy and benchmark LLMs on cloud GPUs rented through cloud-gpu-shopper. \
            Every error has the shape {code, message, hint, request_id}."
    ),
    paths(
        super::status,
        super::sessions,
        super::inventory,
        super::costs,
        super::live_stats,
        super::health,
        super::start_run,
        super::get_run,
        super::cancel_run,
        super::get_benchmark,
        super::history::list_runs,
        super::history::list_benchmarks,
        super::history::export_benchmarks,
        super::history::import_benchmarks,
        super::history::compare,
        super::history::run_logs,
        super::sessions::act,
        super::sessions::orphans,
        super::sessions::clean_up_orphans,
        document,
    ),
    tags(
        (name = "broker", description = "The broker's state and offers"),
        (name = "sessions", description = "Our sessions and what can be done to them"),
        (name = "runs", description = "Deployment tests"),
        (name = "benchmarks", description = "Stored benchmarks"),
        (name = "costs", description = "What renting cost"),
        (name = "live", description = "The live channel"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "live",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
