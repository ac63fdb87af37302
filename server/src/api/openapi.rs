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
        super::broker::status,
        super::broker::sessions,
        super::broker::inventory,
        super::broker::costs,
        super::broker::live_stats,
        super::broker::health,
        super::runs::start,
        super::runs::list,
        super::runs::get,
        super::runs::cancel,
        super::runs::logs,
        super::benchmarks::list,
        super::benchmarks::get,
        super::benchmarks::export,
        super::benchmarks::import,
        super::benchmarks::compare,
        super::sessions::act,
        super::sessions::orphans,
        super::sessions::clean_up_orphans,
        super::embed_tokens::create,
        super::embed_tokens::list,
        super::embed_tokens::revoke,
        document,
        browser,
        script,
        style,
    ),
    tags(
        (name = "broker", description = "The broker's state and offers"),
        (name = "sessions", description = "Our sessions and what can be done to them"),
        (name = "runs", description = "Deployment tests"),
        (name = "benchmarks", description = "Stored benchmarks"),
        (name = "costs", description = "What renting cost"),
        (name = "live", description = "The live channel"),
        (name = "embed", description = "Read-only tokens for the embeddable panels"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "live",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The page's Content-Security-Policy: its own script and style, its own API, no frames.
const DOCS_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
    img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `/api/docs`: this document, browsable (routes by tag, parameters, bodies, responses and
/// every schema), from the dashboard's own script; nothing is fetched from the web.
#[utoipa::path(get, path = "/api/docs", tag = "live",
    responses((status = 200, description = "An HTML page that renders /api/openapi.json", content_type = "text/html")))]
pub async fn browser() -> axum::response::Response {
    let page = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gpu-deploy-llm REST API</title>
<link rel="stylesheet" href="/api/docs/docs.css">
<script src="/api/docs/docs.js" defer></script>
</head>
<body>
<header><h1 id="title">gpu-deploy-llm REST API</h1>
<input id="filter" type="search" placeholder="Filter routes and schemas" aria-label="Filter routes and schemas">
<a href="/api/openapi.json">openapi.json</a></header>
<main>
<p id="description" class="muted"></p>
<div id="routes"><p class="muted">Reading /api/openapi.json…</p></div>
<h2>Schemas</h2>
<div id="schemas"></div>
</main>
</body>
</html>"#;
    asset("text/html; charset=utf-8", page)
}

/// The docs page's script.
#[utoipa::path(get, path = "/api/docs/docs.js", tag = "live",
    responses((status = 200, description = "The script of /api/docs", content_type = "text/javascript")))]
pub async fn script() -> axum::response::Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/api-docs.js"),
    )
}

/// The docs page's style.
#[utoipa::path(get, path = "/api/docs/docs.css", tag = "live",
    responses((status = 200, description = "The style of /api/docs", content_type = "text/css")))]
pub async fn style() -> axum::response::Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/api-docs.css"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, DOCS_CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
