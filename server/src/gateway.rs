//! The OpenAI-compatible gateway: `/serve/{deployment}/v1/{models, chat/completions,
//! completions}`, streamed or not, forwarded through the deployment's SSH tunnel to its
//! engine, so the rented host never exposes a port. Clients send a deployment key
//! (`Authorization: Bearer gdk-…`, the OpenAI client's `api_key`), never the dashboard's
//! token; the engine's own key is added here and never leaves the dashboard.
//!
//! Every refusal is OpenAI's error shape, `{"error": {"message", "type", "code", "param"}}`,
//! with a status an OpenAI client acts on: 401 for a wrong or revoked key, 429 over the
//! key's rate, 413 over the body limit, 503 (with `Retry-After`) while the deployment starts
//! or recovers, 410 once it has ended, 502/504 when the engine fails or is too slow. A
//! request in flight when the tunnel breaks ends with an error, never hangs: each wait on
//! the engine has a limit.
//!
//! # Layout
//! - this file: the route, the checks in order (key, rate, state, body), the forwarding.
//! - `stream`: a streamed reply passed through while it is metered.
//! - `limits`: the gateway's settings and the per-key rate limit.

mod limits;
mod stream;

pub use limits::{GatewayConfig, GatewaySettings};

use crate::deploy::{Deployments, Live, Measured};
use crate::service::Dashboard;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::deployments::{DeploymentStatus, TokenUsage};
use gdl_model::ids::DeploymentId;
use std::sync::Arc;
use std::time::Instant;

/// What the gateway's handler holds.
#[derive(Clone)]
struct Gateway {
    dashboard: Dashboard,
    config: Arc<GatewayConfig>,
}

/// The gateway's routes (mounted outside the dashboard's login: keys are its own).
pub fn routes(dashboard: Dashboard, settings: GatewaySettings) -> Router {
    let config = Arc::new(GatewayConfig::new(settings));
    Router::new()
        .route("/serve/{id}/v1/{*path}", any(forward))
        .with_state(Gateway { dashboard, config })
}

/// The paths forwarded to the engine.
const FORWARDED: [&str; 3] = ["models", "chat/completions", "completions"];

/// A refusal in OpenAI's error shape.
pub struct Refusal {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: crate::error::status(code),
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// OpenAI's `type` for the status.
    fn kind(&self) -> &'static str {
        match self.status.as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_error",
            400..=499 => "invalid_request_error",
            _ => "server_error",
        }
    }

    /// The body: OpenAI's error object.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {
            "message": self.message,
            "type": self.kind(),
            "code": self.code.as_str(),
            "param": null,
        }})
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// One gateway request.
async fn forward(
    State(gateway): State<Gateway>,
    Path((id, path)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    query: axum::extract::RawQuery,
    body: Body,
) -> Response {
    let registry = gateway.dashboard.runner().deployments().clone();
    let config = gateway.config;
    let id = DeploymentId::from(id);
    match checked(&registry, &config, &id, &path, &headers).await {
        Ok(live) => {
            let limit = config.body_limit;
            let body = match axum::body::to_bytes(body, limit).await {
                Ok(body) => body,
                Err(_) => {
                    return Refusal::new(
                        ErrorCode::RequestTooLarge,
                        format!(
                            "the request body is larger than this gateway takes ({limit} bytes)"
                        ),
                    )
                    .into_response()
                }
            };
            send(&config, live, method, &path, query.0, body).await
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// The checks, in order: a key of this deployment, its rate, the path, the deployment's state.
async fn checked(
    registry: &Deployments,
    config: &GatewayConfig,
    id: &DeploymentId,
    path: &str,
    headers: &HeaderMap,
) -> Result<Arc<Live>, Refusal> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let live = registry.get(id);
    if live.is_none() || !registry.authorize(id, secret) {
        // An ended deployment's keys still say that it ended (to whoever holds one).
        if registry.ended_with_key(id, secret).await {
            let record = registry.read(id).await.ok();
            let why = record
                .and_then(|d| d.stop_reason)
                .map(|r| format!(" ({})", r.label()))
                .unwrap_or_default();
            return Err(Refusal::new(
                ErrorCode::DeploymentStopped,
                format!("deployment {id} has ended{why}: it serves no more requests; deploy again to serve the model"),
            ));
        }
        return Err(Refusal::new(
            ErrorCode::InvalidApiKey,
            "no valid deployment key: send one of this deployment's keys as `Authorization: Bearer gdk-…` (the OpenAI client's api_key); revoked keys are refused",
        ));
    }
    let live = live.expect("checked above");
    if let Err(wait) = config.limiter.try_take(secret, Instant::now()) {
        return Err(Refusal::new(
            ErrorCode::RateLimited,
            format!(
                "this key's rate limit is {} requests a minute; try again in {} s",
                config.rate_per_minute,
                wait.as_secs().max(1)
            ),
        )
        .retry_after(wait.as_secs().max(1)));
    }
    if !FORWARDED.contains(&path) {
        return Err(Refusal::new(
            ErrorCode::NotFound,
            format!("the gateway forwards /v1/models, /v1/chat/completions and /v1/completions, not /v1/{path}"),
        ));
    }
    match live.status() {
        DeploymentStatus::Serving => Ok(live),
        DeploymentStatus::Starting => Err(Refusal::new(
            ErrorCode::DeploymentNotReady,
            format!("deployment {id} is still starting (renting and loading the model); try again in a minute"),
        )
        .retry_after(30)),
        DeploymentStatus::Recovering => Err(Refusal::new(
            ErrorCode::DeploymentNotReady,
            format!("deployment {id} is reconnecting to its engine or restarting it; try again shortly"),
        )
        .retry_after(10)),
        DeploymentStatus::Tuning => Err(Refusal::new(
            ErrorCode::DeploymentNotReady,
            format!("deployment {id} is tuning its engine (restarting it with other settings, one at a time); try again in a few minutes"),
        )
        .retry_after(60)),
        DeploymentStatus::Stopping | DeploymentStatus::Stopped | DeploymentStatus::Failed => {
            Err(Refusal::new(
                ErrorCode::DeploymentStopped,
                format!("deployment {id} is stopping or has ended; deploy again to serve the model"),
            ))
        }
    }
}

/// Forwards one request to the engine and meters it.
async fn send(
    config: &GatewayConfig,
    live: Arc<Live>,
    method: Method,
    path: &str,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let Some(upstream) = live.upstream() else {
        return Refusal::new(
            ErrorCode::DeploymentNotReady,
            "the deployment's engine is not reachable right now; try again shortly",
        )
        .retry_after(10)
        .into_response();
    };
    let arrived = Instant::now();
    live.request_arrived(Utc::now());
    let served = live.read(|d| d.served_model.clone());
    let (body, streamed, asked_usage) = stream::prepare(&body, served.as_deref());
    let mut url = format!("{}/v1/{path}", upstream.base_url);
    if let Some(q) = query {
        url.push('?');
        url.push_str(&q);
    }
    let request = config
        .client
        .request(method, url)
        .bearer_auth(upstream.api_key.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(body);
    drop(upstream);
    let answer = match tokio::time::timeout(config.upstream_timeout, request.send()).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            live.request_ended(Measured {
                failed: true,
                ..Measured::default()
            });
            return Refusal::new(
                ErrorCode::UpstreamFailed,
                format!(
                    "the engine could not be reached through the tunnel ({})",
                    e.without_url()
                ),
            )
            .into_response();
        }
        Err(_) => {
            live.request_ended(Measured {
                failed: true,
                ..Measured::default()
            });
            return Refusal::new(
                ErrorCode::UpstreamTimeout,
                format!(
                    "the engine did not answer within {} s",
                    config.upstream_timeout.as_secs()
                ),
            )
            .into_response();
        }
    };
    let status = answer.status();
    if streamed && status.is_success() {
        return stream::pass(config, live, answer, arrived, asked_usage);
    }
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let read = tokio::time::timeout(
        config.upstream_timeout,
        read_limited(answer, config.reply_limit),
    )
    .await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        _ => {
            live.request_ended(Measured {
                failed: true,
                ..Measured::default()
            });
            return Refusal::new(
                ErrorCode::UpstreamFailed,
                "the engine's answer broke off or was too large",
            )
            .into_response();
        }
    };
    let usage = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| usage_of(&v));
    live.request_ended(Measured {
        usage,
        failed: status.is_server_error(),
        ..Measured::default()
    });
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    response
}

/// A reply's body, at most `limit` bytes.
async fn read_limited(mut answer: reqwest::Response, limit: usize) -> Result<Bytes, String> {
    let mut out = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > limit {
            return Err(format!("larger than {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// The `usage` of an OpenAI answer or chunk.
pub fn usage_of(value: &serde_json::Value) -> Option<TokenUsage> {
    let usage = value.get("usage")?;
    Some(TokenUsage {
        prompt_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
        completion_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
    })
}
