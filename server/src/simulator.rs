//! A fake cloud: the cloud-gpu-shopper broker's HTTP API, faithful to
//! `shared/reference/shopper-api.md`, and the machines it rents, reached over real SSH.
//! Two providers with a slowly drifting inventory, a cold
//! cache that takes seconds and a warm one that takes milliseconds, sessions that go
//! pending → provisioning → running after several SSH-verification polls, provisioning
//! failures that turn `failed` → `stopped` with the error kept, stale offers, reservation
//! expiry, and the broker's status codes and error bodies. Every rented instance has its
//! own loopback SSH port that accepts only the session's one-time key (a real RSA key in
//! PKCS#1 PEM, as the broker issues), runs commands on a simulated GPU host and forwards
//! ports to its vLLM, so clients use the same SSH code as with a real cloud.
//!
//! Every contract duration is divided by [`SimConfig::speed`], so tests run in seconds.
//! [`Faults`] are flipped at run time to make it slow, failing, malformed or offline.
//!
//! # Layout
//! - [`catalog`]: GPU types, offer generation, inventory drift.
//! - [`faults`]: the fault knobs.
//! - [`driver`]: a host's NVIDIA driver, and what an engine build finds on the host.
//! - `inventory`: the provider cache and the listing filters.
//! - `sessions`: the session state machine, provisioning and the lifecycle tick.
//! - `routes`: the HTTP surface (axum).
//! - `listener`: an accept loop that can go offline (refusing connections) and come back.
//! - [`ssh`]: the instances' SSH server (russh) and the per-session keys.
//! - [`host`]: the simulated GPU host that exec channels run on.
//! - [`hub`]: a fake Hugging Face Hub (gated models, the token it accepts).
//! - `shell`: the little shell grammar the host understands.
//! - [`vllm`]: a vLLM process on the host, from launch to serving (or dying).
//! - [`llm`]: the OpenAI-compatible streaming server a loaded vLLM answers with.

pub mod catalog;
pub mod driver;
pub mod faults;
pub mod host;
pub mod hub;
mod inventory;
mod listener;
pub mod llm;
mod routes;
mod sessions;
pub mod sglang;
mod shell;
pub mod ssh;
pub mod vllm;

pub use faults::Faults;
pub use listener::SimServer;

use catalog::SimOffer;
use gdl_model::shopper::Provider;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sessions::SimSession;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Providers the simulator serves.
pub const SIM_PROVIDERS: &[Provider] = &[
    Provider::VastAi,
    Provider::TensorDock,
    Provider::BlueLobster,
];

/// How the simulator behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Time scale: contract durations are divided by this (10 = ten times faster).
    pub speed: f64,
    /// Seed of the random generator; `None` picks one.
    pub seed: Option<u64>,
    /// Offers per provider, roughly (the inventory drifts around it).
    pub offers_per_provider: usize,
    /// Share of provisionings that fail after the instance was created (0.0–1.0).
    pub provision_failure_rate: f64,
    /// Whether some listed offers (about 6 %) are gone at the provider, so that creating a
    /// session on one fails as stale inventory, as real listings lag behind. Tests that
    /// need their first create to succeed turn it off.
    pub ghosts: bool,
    /// Whether the listings drift at each refresh once filled (prices move a little, a few
    /// offers are rented away, new ones appear), as real ones do. Tests that rent the same
    /// kind of offer twice and look for it in between turn it off.
    pub drift: bool,
    /// The Hugging Face token the fake Hub accepts (for gated models); `None`: any token.
    pub hub_token: Option<gdl_model::secret::HfToken>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            speed: 1.0,
            seed: None,
            offers_per_provider: 32,
            provision_failure_rate: 0.12,
            ghosts: true,
            drift: true,
            hub_token: None,
        }
    }
}

/// A handle to one simulated broker. Cheap to clone; the background tasks it starts end
/// when the last handle is dropped.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

struct Shared {
    config: SimConfig,
    state: Mutex<SimState>,
    /// True while the listener refuses connections.
    offline: tokio::sync::watch::Sender<bool>,
    /// The instances' SSH server.
    ssh: ssh::SshServer,
    /// API keys the hosts were handed (for leak tests).
    handed_secrets: host::SecretLog,
    /// Command lines the hosts ran (for leak tests).
    host_commands: host::CommandLog,
    /// The faults the hosts show (mirrors of some of `Faults`).
    host_faults: Arc<host::HostFaults>,
}

/// Everything the simulator knows. Guarded by a std `Mutex` that is never held across an
/// `.await` (all waits happen outside it).
struct SimState {
    rng: StdRng,
    providers: BTreeMap<Provider, ProviderInventory>,
    sessions: HashMap<String, SimSession>,
    faults: Faults,
    /// Every private key handed out (the broker's side of the secret, for leak tests).
    issued_keys: Vec<String>,
}

/// One provider's offers and the age of its cache entry.
struct ProviderInventory {
    offers: Vec<SimOffer>,
    /// When the cache was last filled; `None` means cold.
    fetched: Option<Instant>,
    /// A background refresh is under way.
    refreshing: bool,
}

impl Simulator {
    /// A simulator with a fresh inventory and no sessions. Starts the lifecycle tick, so it
    /// must be called inside a tokio runtime.
    pub fn new(config: SimConfig) -> Self {
        assert!(config.speed > 0.0, "simulator speed must be positive");
        let mut rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let now = chrono::Utc::now();
        let providers = SIM_PROVIDERS
            .iter()
            .map(|p| {
                let mut offers = (0..config.offers_per_provider)
                    .map(|_| catalog::make_offer(&mut rng, p, now))
                    .collect();
                catalog::dedupe(&mut offers);
                let inventory = ProviderInventory {
                    offers,
                    fetched: None,
                    refreshing: false,
                };
                (p.clone(), inventory)
            })
            .collect();
        let sim = Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(SimState {
                    rng,
                    providers,
                    sessions: HashMap::new(),
                    faults: Faults::default(),
                    issued_keys: Vec::new(),
                }),
                offline: tokio::sync::watch::Sender::new(false),
                ssh: ssh::SshServer::new(),
                handed_secrets: Default::default(),
                host_commands: Default::default(),
                host_faults: Default::default(),
            }),
        };
        sessions::start_lifecycle(&sim);
        sim
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.state().faults.clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.update_faults(|f| *f = faults);
    }

    /// Changes the faults in place.
    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        let mut state = self.state();
        change(&mut state.faults);
        let hosts = &self.shared.host_faults;
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        hosts
            .flood_lines
            .store(state.faults.host_flood_lines, relaxed);
        hosts
            .vllm_crash_after
            .store(state.faults.vllm_crash_after_requests, relaxed);
    }

    /// What the instances' SSH server has seen.
    pub fn ssh_stats(&self) -> ssh::SshStats {
        self.shared.ssh.stats()
    }

    /// Takes every instance's SSH down (connections cut, new ones closed) or back up.
    pub fn set_ssh_down(&self, down: bool) {
        self.shared.ssh.set_down(down);
    }

    /// Every API key and Hub token a client handed the simulated hosts (tests look for leaks
    /// of them).
    pub fn handed_secrets(&self) -> Vec<String> {
        self.shared
            .handed_secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every command line the hosts ran, in order (each was `bash -c LINE` in a host's
    /// process list while it ran; tests look for secrets in them).
    pub fn host_commands(&self) -> Vec<String> {
        self.shared
            .host_commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every private key this simulator has handed out (tests look for leaks of them).
    pub fn issued_keys(&self) -> Vec<String> {
        self.state().issued_keys.clone()
    }

    /// The fake Hugging Face Hub its hosts download from.
    pub fn hub(&self) -> hub::FakeHub {
        hub::FakeHub::new(self.shared.config.hub_token.clone())
    }

    /// A new host of this cloud: its secrets and command lines noted, its faults shown, its
    /// downloads from the fake Hub.
    fn equip(&self, host: host::SimHost) -> host::SimHost {
        host.with_secret_log(self.shared.handed_secrets.clone())
            .with_command_log(self.shared.host_commands.clone())
            .with_hub(self.hub())
            .with_faults(self.shared.host_faults.clone())
    }

    /// The axum router serving the broker API (and `/_sim/*` control routes).
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// A contract duration (in seconds) on this simulator's time scale.
    pub fn scaled(&self, contract_secs: f64) -> Duration {
        Duration::from_secs_f64((contract_secs / self.shared.config.speed).max(0.0))
    }

    fn state(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn downgrade(&self) -> std::sync::Weak<Shared> {
        Arc::downgrade(&self.shared)
    }

    fn from_weak(weak: &std::sync::Weak<Shared>) -> Option<Self> {
        weak.upgrade().map(|shared| Self { shared })
    }
}

/// A broker error reply: status plus JSON body (the request id is added by the route).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SimError {
    pub status: u16,
    pub body: serde_json::Map<String, serde_json::Value>,
}

impl SimError {
    /// The standard `{"error": message}` shape.
    fn standard(status: u16, message: impl Into<String>) -> Self {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), message.into().into());
        Self { status, body }
    }

    fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.body.insert(key.into(), value.into());
        self
    }
}

/// Cleans a user-supplied id before echoing it, as the broker's `sanitizeInput` does:
/// at most 128 bytes, no control characters, no `<` or `>`.
fn sanitize(input: &str) -> String {
    let mut out: String = input
        .chars()
        .filter(|c| !c.is_control() && *c != '<' && *c != '>')
        .collect();
    while out.len() > 128 {
        out.pop();
    }
    out
}
