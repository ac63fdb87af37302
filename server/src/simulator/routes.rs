//! The simulator's HTTP surface: the broker routes with its status codes, error bodies,
//! request ids and Gin's plain-text 404, `/_sim/*` control routes for the fault knobs, and
//! the fake Hugging Face Hub's `/api/models/{org}/{name}` ([`super::hub`]).

use super::faults::Injected;
use super::sessions::cost_range;
use super::{inventory, Faults, SimError, Simulator};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// The request id of the current request (the client's, when valid, else a new UUID).
#[derive(Clone, Debug)]
struct RequestId(String);

type Rid = Extension<RequestId>;

pub(super) fn router(sim: Simulator) -> Router {
    let broker = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/inventory", get(list_inventory))
        .route("/api/v1/inventory/{id}", get(get_offer))
        .route("/api/v1/sessions", get(list_sessions).post(create_session))
        .route(
            "/api/v1/sessions/{id}",
            get(get_session).delete(delete_session),
        )
        .route("/api/v1/sessions/{id}/diagnostics", get(diagnostics))
        .route("/api/v1/sessions/{id}/done", post(done_session))
        .route("/api/v1/sessions/{id}/extend", post(extend_session))
        .route("/api/v1/costs", get(costs))
        .route("/api/v1/costs/summary", get(cost_summary))
        .fallback(gin_not_found)
        .method_not_allowed_fallback(gin_not_found)
        .layer(middleware::from_fn_with_state(sim.clone(), inject_faults));
    Router::new()
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/offline", post(go_offline))
        .route("/_sim/ssh", get(ssh_status).post(set_ssh))
        .route("/_sim/sessions/{id}", axum::routing::delete(purge_session))
        .route("/_sim/sessions/{id}/vanish", post(vanish_instance))
        .route("/_sim/restart", post(restart))
        .merge(
            Router::new()
                .route("/api/models/{org}/{name}", get(super::hub::model_info))
                .with_state(sim.hub()),
        )
        .merge(broker)
        .layer(middleware::from_fn(request_id))
        .with_state(sim)
}

/// Echoes a valid `X-Request-ID` (`^[a-zA-Z0-9._-]{1,128}$`) or makes one.
async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Applies the fault knobs to a broker request.
async fn inject_faults(State(sim): State<Simulator>, request: Request, next: Next) -> Response {
    let (slow, injected) = {
        let mut state = sim.state();
        (state.faults.slow_ms, state.faults.take())
    };
    if slow > 0 {
        tokio::time::sleep(Duration::from_millis(slow)).await;
    }
    let rid = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    match injected {
        Injected::None => next.run(request).await,
        Injected::ServerError => {
            error_reply(&rid, SimError::standard(500, "internal server error"))
        }
        Injected::RateLimited => {
            let mut response = error_reply(&rid, SimError::standard(429, "rate limit exceeded"));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Injected::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            "{\"offers\":[{\"id\":\"vastai-1\",\"gpu_type\":",
        )
            .into_response(),
    }
}

fn error_reply(rid: &str, mut error: SimError) -> Response {
    error.body.insert("request_id".into(), rid.into());
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(Value::Object(error.body))).into_response()
}

fn reply<T: serde::Serialize>(
    rid: &Rid,
    status: StatusCode,
    result: Result<T, SimError>,
) -> Response {
    match result {
        Ok(body) => (status, Json(body)).into_response(),
        Err(e) => error_reply(&rid.0 .0, e),
    }
}

/// Gin's reply to an unknown route or a wrong method: plain text, never 405.
async fn gin_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain")],
        "404 page not found",
    )
        .into_response()
}

async fn health(State(sim): State<Simulator>) -> Response {
    let ready = !sim.state().faults.not_ready;
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "timestamp": chrono::Utc::now(),
        "services": {"lifecycle": "running", "inventory": "ok", "ready": ready.to_string()},
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn ready(State(sim): State<Simulator>) -> Response {
    let ready = !sim.state().faults.not_ready;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"ready": ready, "timestamp": chrono::Utc::now()})),
    )
        .into_response()
}

async fn metrics(State(sim): State<Simulator>) -> Response {
    let state = sim.state();
    let mut text = String::from("# HELP gpu_sessions_active Sessions by provider and status.\n# TYPE gpu_sessions_active gauge\n");
    let mut counts: HashMap<(String, &'static str), u32> = HashMap::new();
    for s in state.sessions.values() {
        *counts
            .entry((s.session.provider.to_string(), s.session.status.as_str()))
            .or_default() += 1;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort();
    for ((provider, status), n) in rows {
        text.push_str(&format!(
            "gpu_sessions_active{{provider=\"{provider}\",status=\"{status}\"}} {n}\n"
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn list_inventory(
    State(sim): State<Simulator>,
    rid: Rid,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let result = match inventory::parse_query(&raw) {
        Ok(query) => sim.list_inventory(&query).await,
        Err(e) => Err(e),
    };
    reply(&rid, StatusCode::OK, result)
}

async fn get_offer(State(sim): State<Simulator>, rid: Rid, Path(id): Path<String>) -> Response {
    reply(&rid, StatusCode::OK, sim.get_offer(&id).await)
}

async fn list_sessions(
    State(sim): State<Simulator>,
    rid: Rid,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let limit = match raw.get("limit").filter(|l| !l.is_empty()) {
        None => 0,
        Some(l) => match l.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                let msg = format!(
                    "strconv.ParseInt: parsing \"{}\": invalid syntax",
                    super::sanitize(l)
                );
                return error_reply(&rid.0 .0, SimError::standard(400, msg));
            }
        },
    };
    let get = |k: &str| raw.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let sessions = sim.list_sessions(get("consumer_id"), get("status"), get("provider"), limit);
    let count = sessions.len();
    reply::<Value>(
        &rid,
        StatusCode::OK,
        Ok(json!({"sessions": sessions, "count": count})),
    )
}

/// Creates a session. Like the broker's Go handler, the create runs to the end even when
/// the client goes away meanwhile (its session then exists, unknown to the client).
async fn create_session(State(sim): State<Simulator>, rid: Rid, body: Bytes) -> Response {
    let create = tokio::spawn(async move { sim.create_session(&body).await });
    let result = match create.await {
        Ok(result) => result,
        Err(e) => Err(SimError::standard(500, format!("create failed: {e}"))),
    }
    .map(|(session, key)| json!({"session": session, "ssh_private_key": key}));
    reply(&rid, StatusCode::CREATED, result)
}

async fn get_session(State(sim): State<Simulator>, rid: Rid, Path(id): Path<String>) -> Response {
    reply(&rid, StatusCode::OK, sim.get_session(&id))
}

async fn delete_session(
    State(sim): State<Simulator>,
    rid: Rid,
    Path(id): Path<String>,
) -> Response {
    if let Some(s) = sim.state().sessions.get_mut(&id) {
        s.deletes += 1;
    }
    reply(&rid, StatusCode::OK, sim.delete_session(&id).await)
}

async fn done_session(State(sim): State<Simulator>, rid: Rid, Path(id): Path<String>) -> Response {
    reply(&rid, StatusCode::OK, sim.done_session(&id).await)
}

async fn extend_session(
    State(sim): State<Simulator>,
    rid: Rid,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    reply(&rid, StatusCode::OK, sim.extend_session(&id, &body))
}

async fn diagnostics(State(sim): State<Simulator>, rid: Rid, Path(id): Path<String>) -> Response {
    reply(&rid, StatusCode::OK, sim.diagnostics(&id))
}

async fn costs(
    State(sim): State<Simulator>,
    rid: Rid,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    if let Some(id) = raw.get("session_id").filter(|v| !v.is_empty()) {
        return reply(&rid, StatusCode::OK, sim.session_cost(id));
    }
    let get = |key: &str| raw.get(key).map(String::as_str);
    let range = match cost_range(
        get("period"),
        get("start_date"),
        get("end_date"),
        chrono::Utc::now(),
    ) {
        Ok(range) => range,
        Err(e) => return error_reply(&rid.0 .0, e),
    };
    let consumer = get("consumer_id").filter(|v| !v.is_empty());
    reply::<_>(&rid, StatusCode::OK, Ok(sim.cost_summary(consumer, range)))
}

async fn cost_summary(
    State(sim): State<Simulator>,
    rid: Rid,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let consumer = raw
        .get("consumer_id")
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    // Always this month.
    let month = cost_range(Some("monthly"), None, None, chrono::Utc::now());
    reply::<_>(
        &rid,
        StatusCode::OK,
        month.map(|range| sim.cost_summary(consumer, range)),
    )
}

async fn get_faults(State(sim): State<Simulator>) -> Json<Faults> {
    Json(sim.faults())
}

async fn set_faults(State(sim): State<Simulator>, Json(faults): Json<Faults>) -> Json<Faults> {
    sim.set_faults(faults);
    Json(sim.faults())
}

/// Deletes a session record outright, as if the broker's database lost it: it is no longer
/// listed at all (unlike DELETE on the API, which only stops it).
async fn purge_session(State(sim): State<Simulator>, Path(id): Path<String>) -> StatusCode {
    if sim.state().sessions.remove(&id).is_some() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[derive(Deserialize)]
struct RestartRequest {
    /// How long nothing listens, in milliseconds (not scaled).
    #[serde(default)]
    down_ms: u64,
}

/// The broker stops (destroying every instance) and starts again.
async fn restart(State(sim): State<Simulator>, Json(req): Json<RestartRequest>) -> StatusCode {
    sim.restart(Duration::from_millis(req.down_ms));
    StatusCode::ACCEPTED
}

/// The provider loses the session's instance; the broker finds out by reconciliation.
async fn vanish_instance(State(sim): State<Simulator>, Path(id): Path<String>) -> StatusCode {
    if sim.vanish_instance(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// `{"down": bool, "stats": {...}}`: whether the instances' SSH is down, and what it saw.
async fn ssh_status(State(sim): State<Simulator>) -> Json<Value> {
    Json(json!({"down": sim.shared.ssh.is_down(), "stats": sim.ssh_stats()}))
}

#[derive(Deserialize)]
struct SshRequest {
    /// Cut every instance's SSH connections and close new ones (true), or restore it.
    down: bool,
}

async fn set_ssh(State(sim): State<Simulator>, Json(req): Json<SshRequest>) -> Json<Value> {
    sim.set_ssh_down(req.down);
    ssh_status(State(sim)).await
}

#[derive(Deserialize)]
struct OfflineRequest {
    /// How long to refuse connections, in milliseconds.
    ms: u64,
}

/// Goes offline (connections refused) for `ms`, then comes back by itself.
async fn go_offline(State(sim): State<Simulator>, Json(req): Json<OfflineRequest>) -> Json<Value> {
    sim.go_offline_for(Duration::from_millis(req.ms.min(600_000)));
    Json(json!({"offline_ms": req.ms}))
}
