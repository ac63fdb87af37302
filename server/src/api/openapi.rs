//! The OpenAPI 3.1 document of the REST API, generated from the handlers' annotations and
//! the model crate's types, served at `/api/openapi.json` and drawn at `/api/docs`.
//!
//! # Layout
//! - this file: [`ApiDoc`], [`published`] (the document as served) and the handlers.
//! - [`markdown`]: doc comments' intra-doc links made plain; Markdown to safe HTML.
//! - `docs_page`: `/api/docs` drawn on the server.

mod docs_page;
pub mod markdown;

use axum::Json;
use serde_json::Value;
use std::sync::LazyLock;
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
        super::engines::list,
        super::runs::start,
        super::runs::list,
        super::runs::get,
        super::runs::cancel,
        super::runs::logs,
        super::deployments::start,
        super::deployments::list,
        super::deployments::get,
        super::deployments::stop,
        super::deployments::tune,
        super::deployments::from_benchmark,
        super::deployments::guards,
        super::deployments::new_key,
        super::deployments::revoke_key,
        super::campaigns::plan,
        super::campaigns::start,
        super::campaigns::list,
        super::campaigns::get,
        super::campaigns::stop,
        super::campaigns::bundle,
        super::benchmarks::list,
        super::benchmarks::get,
        super::benchmarks::bundle,
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
        (name = "deployments", description = "Models kept serving behind the OpenAI-compatible gateway at /serve/{id}/v1"),
        (name = "campaigns", description = "Several GPU types measured at once under a budget: which serves a model cheapest at the SLO"),
        (name = "benchmarks", description = "Stored benchmarks"),
        (name = "costs", description = "What renting cost"),
        (name = "live", description = "The live channel"),
        (name = "embed", description = "Read-only tokens for the embeddable panels"),
    )
)]
pub struct ApiDoc;

/// The document as served: generated once, with every `description` and `summary`
/// free of rustdoc's intra-doc links (`` [`TestConfig`] `` reads `` `TestConfig` ``) and
/// of Rust examples, so any Markdown reader shows it right.
pub fn published() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        plain_descriptions(&mut doc);
        doc
    });
    &DOCUMENT
}

/// Rewrites every `description` and `summary` string under `value`.
fn plain_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" || key == "summary" => {
                        *text = markdown::for_readers(text);
                    }
                    other => plain_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(plain_descriptions),
        _ => {}
    }
}

/// This document.
///
/// The OpenAPI 3.1 description of every route under `/api`, with the schemas of their
/// bodies; `/api/docs` shows the same, readable.
#[utoipa::path(get, path = "/api/openapi.json", tag = "live",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)))]
pub async fn document() -> Json<&'static Value> {
    Json(published())
}

/// The page's Content-Security-Policy: its own script and style, no frames.
const DOCS_CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
    img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// This document, browsable.
///
/// Routes by tag with their parameters, bodies and responses, then every schema,
/// descriptions rendered from Markdown; drawn on the server, so it reads without
/// JavaScript, and nothing is fetched from the web. Links back to the dashboard.
#[utoipa::path(get, path = "/api/docs", tag = "live",
    responses((status = 200, description = "An HTML page that renders /api/openapi.json", content_type = "text/html")))]
pub async fn browser(headers: axum::http::HeaderMap) -> axum::response::Response {
    // The dashboard's theme choice, when one was made (its header's control).
    let theme = headers
        .get(axum::http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(app::theme::Theme::from_cookies)
        .and_then(app::theme::Theme::attribute);
    asset(
        "text/html; charset=utf-8",
        docs_page::page(published(), theme),
    )
}

/// The docs page's script.
///
/// Filters the routes and schemas as one types.
#[utoipa::path(get, path = "/api/docs/docs.js", tag = "live",
    responses((status = 200, description = "The script of /api/docs", content_type = "text/javascript")))]
pub async fn script() -> axum::response::Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/api-docs.js"),
    )
}

/// The docs page's style.
///
/// Light and dark, following the system or the dashboard's theme choice.
#[utoipa::path(get, path = "/api/docs/docs.css", tag = "live",
    responses((status = 200, description = "The style of /api/docs", content_type = "text/css")))]
pub async fn style() -> axum::response::Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/api-docs.css"),
    )
}

fn asset(
    content_type: &'static str,
    body: impl Into<axum::body::Body>,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, DOCS_CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.into(),
    )
        .into_response()
}
