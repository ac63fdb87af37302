//! The simulated host's vLLM server: an OpenAI-compatible server on loopback that streams
//! chat and plain completions token by token (`completions`). Its time to first token and
//! token rate follow the GPU, the model size and the engine's settings, and slow down under
//! concurrency ([`settings`]), so benchmarks of different offers and settings differ the way
//! real ones do. It can be made to crash mid-stream (a fault): the
//! open streams break, the port closes, as when the real process dies.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

use super::listener::serve_until;

/// How fast the simulated model answers.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmProfile {
    /// The served model name (what `/v1/models` lists).
    pub model: String,
    pub params_b: f64,
    /// Time to first token for a short prompt, alone on the GPU.
    pub ttft_ms: f64,
    /// Decode time per token, alone on the GPU.
    pub ms_per_token: f64,
    /// The API key requests must carry.
    pub api_key: String,
    /// Every Nth completion (chat or plain) is refused with a 500, as an overloaded server's are
    /// (0: none).
    pub fail_every: u32,
    /// Streams decoded at once (vLLM's `max_num_seqs`); more wait in its queue, so past it
    /// throughput stops growing (0: no limit).
    pub max_seqs: u32,
    /// The engine `/v1/models` names as the owner (`vllm`, `sglang`).
    pub owned_by: &'static str,
    /// Tokens of KV cache: a request holds its prompt's and its reply's while it runs, and
    /// waits in the queue when they are not free ([`settings`]; 0: no limit).
    pub kv_tokens: u64,
    /// Copies of the model side by side (vLLM `--data-parallel-size`), the sequences spread
    /// evenly over them: a step slows by those on its copy ([`settings::on_one_copy`]).
    /// `max_seqs` and `kv_tokens` count all the copies'. 0 or 1: one.
    pub copies: u32,
    /// Prompts' leading blocks computed before are not prefilled again ([`prefix`]; on in
    /// both engines unless turned off).
    pub prefix_caching: bool,
}

/// Relative decode speed of a GPU (RTX 3090 = 1).
fn gpu_factor(gpu_type: &str) -> f64 {
    let g = gpu_type.to_ascii_uppercase();
    match () {
        _ if g.contains("B200") => 5.0,
        _ if g.contains("H100") => 3.0,
        _ if g.contains("A100") => 2.0,
        _ if g.contains("L40S") => 1.8,
        _ if g.contains("5090") => 2.0,
        _ if g.contains("4090") => 1.6,
        _ if g.contains("A6000") || g.contains("A40") => 1.1,
        _ if g.contains("3090") => 1.0,
        _ if g.contains("A5000") => 0.8,
        _ if g.contains("V100") => 0.7,
        _ if g.contains("2080") => 0.6,
        _ if g.contains("L4") => 0.6,
        _ if g.contains("4060") => 0.5,
        _ => 0.4,
    }
}

impl LlmProfile {
    /// The profile of `model` on `gpu_count` × `gpu_type`.
    pub fn for_hardware(model: &str, gpu_type: &str, gpu_count: u32, api_key: String) -> Self {
        let params_b = Self::params_of(model);
        let factor = gpu_factor(gpu_type) * (gpu_count.max(1) as f64).powf(0.8);
        let tokens_per_s = 450.0 * factor / (params_b + 0.5);
        let timings = (15.0 + 6.0 * params_b / factor, 1000.0 / tokens_per_s);
        Self::timed(model, params_b, timings, &api_key)
    }

    /// A server of `model` with fixed timings: `ttft_ms` to the first token alone (plus
    /// the prompt's prefill at `params_b` billion parameters), `ms_per_token` a token alone,
    /// no limits, no prefix cache; requests carry `api_key` (empty: none asked).
    pub fn timed(
        model: &str,
        params_b: f64,
        (ttft_ms, ms_per_token): (f64, f64),
        api_key: &str,
    ) -> Self {
        Self {
            model: model.to_owned(),
            params_b,
            ttft_ms,
            ms_per_token,
            api_key: api_key.to_owned(),
            fail_every: 0,
            max_seqs: 0,
            owned_by: "vllm",
            kv_tokens: 0,
            copies: 1,
            prefix_caching: false,
        }
    }

    /// Billions of parameters of `model` (a preset's, or read from its name; 1 otherwise).
    pub fn params_of(model: &str) -> f64 {
        gdl_model::registry::find_preset(model)
            .map(|p| p.params_b)
            .or_else(|| gdl_model::registry::params_from_name(model))
            .unwrap_or(1.0)
    }

    /// A prefill of `prompt_tokens` alone on the GPU, ms (with others running it takes
    /// [`settings::crowding`] times longer).
    pub fn prefill_ms(&self, prompt_tokens: usize) -> f64 {
        self.ttft_ms + prompt_tokens as f64 * 0.02 * self.params_b
    }
}

struct Shared {
    profile: LlmProfile,
    active: AtomicUsize,
    /// Completions (chat or plain) begun.
    begun: AtomicUsize,
    /// The completion that crashes the server (1 = the first), if any.
    crash_at: Option<usize>,
    /// Set once it crashed: the server stops and cuts its connections.
    crashed: watch::Sender<bool>,
    /// Decoding slots ([`LlmProfile::max_seqs`]).
    slots: Arc<tokio::sync::Semaphore>,
    /// The KV cache's tokens ([`LlmProfile::kv_tokens`]).
    cache: Arc<tokio::sync::Semaphore>,
    /// Per streamed reply, the time from its request's arrival to its first content chunk
    /// being handed to the connection, in milliseconds: what the server really did,
    /// its own timer's lateness included.
    first_content_ms: std::sync::Mutex<Vec<f64>>,
    /// The blocks of prompts computed so far, when prefix caching is on.
    prefixes: prefix::PrefixCache,
}

impl Shared {
    /// The cache's tokens in all.
    fn cache_size(&self) -> u64 {
        match self.profile.kv_tokens {
            0 => u64::MAX,
            n => n,
        }
    }
}

/// A running simulated vLLM. Dropping it stops the server.
pub struct SimLlm {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    crashed: watch::Receiver<bool>,
    shared: Arc<Shared>,
}

impl SimLlm {
    /// Starts serving on a free loopback port (inside a tokio runtime). With
    /// `crash_after` > 0 it crashes partway through that completion.
    pub fn start(profile: LlmProfile, crash_after: u32) -> std::io::Result<Self> {
        let (crash, crashed) = watch::channel(false);
        let profile_slots = profile.max_seqs;
        let cache_tokens = match profile.kv_tokens {
            0 => tokio::sync::Semaphore::MAX_PERMITS,
            n => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(tokio::sync::Semaphore::MAX_PERMITS),
        };
        let prefixes = prefix::PrefixCache::new(profile.kv_tokens);
        let shared = Arc::new(Shared {
            profile,
            active: AtomicUsize::new(0),
            begun: AtomicUsize::new(0),
            crash_at: (crash_after > 0).then_some(crash_after as usize),
            crashed: crash,
            first_content_ms: Default::default(),
            prefixes,
            slots: Arc::new(tokio::sync::Semaphore::new(match profile_slots {
                0 => tokio::sync::Semaphore::MAX_PERMITS,
                n => n as usize,
            })),
            cache: Arc::new(tokio::sync::Semaphore::new(cache_tokens)),
        });
        let router = Router::new()
            .route("/health", get(|| async { StatusCode::OK }))
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(completions::chat))
            .route("/v1/completions", post(completions::text))
            .with_state(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let mut died = crashed.clone();
        let task = tokio::spawn(async move {
            serve_until(&listener, router, async move {
                let _ = died.wait_for(|crashed| *crashed).await;
            })
            .await;
        });
        Ok(Self {
            addr,
            task,
            crashed,
            shared,
        })
    }

    /// Whether it crashed (the process is gone).
    pub fn crashed(&self) -> bool {
        *self.crashed.borrow()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// For each streamed reply so far, in order, the milliseconds from its request's
    /// arrival to its first content chunk: the time to first token the server really gave,
    /// against which a client's measurement is checked.
    pub fn served_ttft_ms(&self) -> Vec<f64> {
        self.shared
            .first_content_ms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Prompt tokens its prefix cache has served so far (not prefilled again).
    pub fn cached_prompt_tokens(&self) -> usize {
        self.shared.prefixes.hits()
    }
}

impl Drop for SimLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether a request may be served: any, when the server was started without a key.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    if shared.profile.api_key.is_empty() {
        return true;
    }
    let expected = format!("Bearer {}", shared.profile.api_key);
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "Unauthorized"})),
    )
        .into_response()
}

async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    Json(json!({"object": "list", "data": [{"id": shared.profile.model, "object": "model", "owned_by": shared.profile.owned_by}]}))
        .into_response()
}

/// Waits until `due`, to within a tenth of a millisecond or so: the known timing is what
/// benchmarks of this server are checked against. Tokio's timer wakes on whole
/// milliseconds, up to two late, so it sleeps to two milliseconds before, and a thread of
/// the blocking pool (whose sleep the kernel ends within about 60 µs) waits out the rest.
async fn sleep_until(due: Instant) {
    const COARSE: Duration = Duration::from_millis(2);
    if let Some(early) = due.checked_sub(COARSE) {
        tokio::time::sleep_until(early.into()).await;
    }
    let rest = due.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// Counts a request in flight for as long as it lives.
struct Busy(Arc<Shared>);

impl Busy {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.active.fetch_add(1, Ordering::SeqCst);
        Self(shared.clone())
    }

    /// Sequences running on this request's copy of the model (all of them on one copy).
    fn active(&self) -> usize {
        settings::on_one_copy(self.0.active.load(Ordering::SeqCst), self.0.profile.copies)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

mod completions;
pub mod prefix;
pub mod settings;

#[cfg(test)]
mod tests;
