//! What `serve` can be told. Each flag is declared once, here, with its type and its
//! environment variable; each group is converted once into what the piece that uses it
//! takes ([`RunSettings::runner_config`], [`BrokerCalls::timeouts`], ...). Tests and load
//! drivers start from [`Settings::local`] and change fields.

use crate::live::HubConfig;
use crate::monitor::PollIntervals;
use crate::runner::serving::ServingConfig;
use crate::runner::{ReconcileConfig, RunnerConfig};
use crate::shopper::{BreakerConfig, ReplyLimits, Timeouts};
use crate::simulator::SimConfig;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod connections;
mod database;
mod deploy;
mod hub;
mod parse;
pub use connections::ConnectionSettings;
pub use database::{data_dir_or_default, DatabaseSettings};
pub use deploy::DeploySettings;
pub use hub::HubSettings;
pub use parse::positive_f64;
use parse::{hours, millis, origin, seconds, seconds_f64, share};

/// Everything `gpu-deploy-llm serve` takes.
#[derive(Clone, Debug, Args)]
pub struct Settings {
    /// Address the dashboard listens on.
    #[arg(long, env = "GDL_ADDR", default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub broker: BrokerArgs,

    #[command(flatten)]
    pub calls: BrokerCalls,

    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Directory holding the built site (`pkg/` with the wasm, JS and CSS). cargo-leptos
    /// writes it to target/site; the default works when started from the repository root.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    #[command(flatten)]
    pub access: AccessSettings,

    #[command(flatten)]
    pub runs: RunSettings,

    #[command(flatten)]
    pub connections: ConnectionSettings,

    #[command(flatten)]
    pub hub: HubSettings,

    #[command(flatten)]
    pub deploy: DeploySettings,

    /// Enable test-only endpoints (/_test/*), used by the browser tests. Never in production.
    #[arg(long, env = "GDL_TEST_HOOKS")]
    pub test_hooks: bool,

    /// What is not a flag: set by tests and load drivers.
    #[arg(skip)]
    pub tuning: Tuning,
}

/// Which broker to use and where to keep data: shared by `serve` and `test`. `Debug` shows
/// the broker URL without its credentials.
#[derive(Clone, Args)]
pub struct BrokerArgs {
    /// Base URL of a real cloud-gpu-shopper broker (e.g. http://127.0.0.1:8080). Unset:
    /// the embedded simulator runs in this process and nothing is rented for real.
    #[arg(long, env = "SHOPPER_URL")]
    pub shopper_url: Option<String>,

    /// Time scale of the embedded simulator (10 = ten times faster than real brokers).
    /// Ignored with --shopper-url.
    #[arg(long, env = "GDL_SIM_SPEED", default_value_t = 10.0, value_parser = positive_f64)]
    pub sim_speed: f64,

    /// Share of the embedded simulator's provisionings that fail after the instance is
    /// created (0.0-1.0), as real clouds' sometimes do.
    #[arg(long, env = "GDL_SIM_FAILURE_RATE", default_value_t = 0.12, value_parser = share)]
    pub sim_failure_rate: f64,

    /// Accept SSH addresses on loopback or private networks from the broker. Needed for a
    /// simulator on this machine (`gpu-deploy-llm simulate`); never for a real cloud, whose
    /// hosts are public. The embedded simulator needs no flag.
    #[arg(long, env = "GDL_ALLOW_PRIVATE_HOSTS")]
    pub allow_private_hosts: bool,

    /// Directory for the dashboard's data (SQLite database). Default:
    /// $XDG_DATA_HOME/gpu-deploy-llm, else ~/.local/share/gpu-deploy-llm.
    #[arg(long, env = "GDL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// How the dashboard calls the broker: timeouts, patience, the circuit breaker.
#[derive(Clone, Debug, Args)]
pub struct BrokerCalls {
    /// Seconds to wait for the broker to become ready before giving up on an operation
    /// that needs it (one value, used everywhere).
    #[arg(long = "ready-timeout", env = "GDL_READY_TIMEOUT", default_value = "120", value_parser = seconds)]
    pub ready_timeout: Duration,

    /// Seconds before an ordinary broker request times out.
    #[arg(long = "request-timeout", env = "GDL_REQUEST_TIMEOUT", default_value = "30", value_parser = seconds)]
    pub request_timeout: Duration,

    /// The longest (ms) a page or REST answer waits on the broker; then it answers with what
    /// is known (the last status, sessions and offers, with their age).
    #[arg(long = "broker-patience-ms", env = "GDL_BROKER_PATIENCE_MS", default_value = "800", value_parser = millis)]
    pub broker_patience: Duration,

    /// Broker failures in a row (nothing answered, a timeout, a 5xx, a reply that is not
    /// the API) that open the circuit breaker: calls then fail at once with
    /// `shopper_unreachable` until a probe (0: never open).
    #[arg(long, env = "GDL_BREAKER_FAILURES", default_value_t = 5)]
    pub breaker_failures: u32,

    /// Seconds the circuit breaker stays open before it lets a probe call through.
    #[arg(long = "breaker-open-secs", env = "GDL_BREAKER_OPEN_SECS", default_value = "10", value_parser = seconds_f64)]
    pub breaker_open: Duration,

    /// Successful probe calls in a row that close the circuit breaker again.
    #[arg(long, env = "GDL_BREAKER_PROBES", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker_probes: u32,

    /// The largest broker reply read, in MB; a larger one fails as `shopper_bad_response`.
    #[arg(long = "broker-max-reply-mb", env = "GDL_BROKER_MAX_REPLY_MB", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_reply_mb: u32,

    /// The most pages of the broker's inventory read for one listing (200 offers a page).
    #[arg(long = "broker-max-pages", env = "GDL_BROKER_MAX_PAGES", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub max_pages: u32,
}

/// Who may use the dashboard, from where. `Debug` never shows the token.
#[derive(Clone, Args)]
pub struct AccessSettings {
    /// Access token. Required to listen on anything but loopback; then pages need a login
    /// and programs `Authorization: Bearer <token>`. Prefer --auth-token-file or the
    /// environment variable: a flag shows in `ps` to every user of the machine.
    #[arg(long, env = "GDL_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,

    /// A file holding the access token (its first line; the file should be readable by
    /// this user only). Instead of --auth-token.
    #[arg(long, env = "GDL_AUTH_TOKEN_FILE", conflicts_with = "auth_token")]
    pub auth_token_file: Option<PathBuf>,

    /// An origin (scheme://host[:port]) allowed to embed the dashboard and call it, besides
    /// its own. Repeat, or comma-separate in the environment variable.
    #[arg(
        long = "allow-origin",
        env = "GDL_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_parser = origin
    )]
    pub allowed_origins: Vec<String>,

    /// A host name (or address) the dashboard answers to besides 127.0.0.1, localhost and
    /// [::1], e.g. when it listens beyond loopback. Requests for any other name are refused
    /// (421), which stops DNS-rebinding pages. Repeat or separate with commas.
    #[arg(long = "allow-host", env = "GDL_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// The address of a reverse proxy (TLS in front) whose `X-Forwarded-For` names the
    /// client, for the wrong-token throttle; only requests from it are read so. Repeat or
    /// separate with commas.
    #[arg(
        long = "trusted-proxy",
        env = "GDL_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Hours a login (with --auth-token) lasts before the token is asked again.
    #[arg(long = "session-hours", env = "GDL_SESSION_HOURS", default_value = "12", value_parser = hours)]
    pub session_ttl: Duration,
}

/// How deployment tests run and benchmark.
#[derive(Clone, Debug, Args)]
pub struct RunSettings {
    /// Deployment-test runs allowed at the same time.
    #[arg(long, env = "GDL_MAX_RUNS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_runs: u16,

    /// Seconds cleanup keeps asking the broker to confirm a destroy (retrying with backoff)
    /// before it reports the session as not confirmed destroyed.
    #[arg(long = "destroy-patience", env = "GDL_DESTROY_PATIENCE", default_value = "600", value_parser = seconds)]
    pub destroy_patience: Duration,

    /// Sessions one run may rent in all: when the provider fails to start a machine, the run
    /// destroys it and rents the next-best offer, up to this many times.
    #[arg(long, env = "GDL_MAX_RENTALS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_rentals: u32,

    /// Minutes the broker may take to verify a new machine's SSH before it gives up
    /// (`ssh_timeout_minutes`, 1–30; the broker's own default is 10, and its stuck check
    /// ends any session still provisioning 10 minutes after creation).
    #[arg(long, env = "GDL_SSH_TIMEOUT_MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub ssh_timeout_minutes: u32,

    /// The most disk (GB) a run may ask for. Each rental asks for the model's weights, the
    /// vLLM image and headroom; when the broker answers that more is needed, the run asks
    /// again once at the broker's recommendation if it is within this limit.
    #[arg(long, env = "GDL_MAX_DISK_GB", default_value_t = 500, value_parser = clap::value_parser!(u32).range(20..=10000))]
    pub max_disk_gb: u32,

    /// Minutes a session of this installation that nothing owns may bill before the
    /// reconciler destroys it (it looks every minute and after each run); 0 never destroys
    /// one on its own, leaving it to the orphan banner and "Clean up all".
    #[arg(long, env = "GDL_ORPHAN_GRACE_MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=10080))]
    pub orphan_grace_minutes: u32,

    /// Seconds between the reconciler's passes over the broker's sessions (it also looks
    /// at start and after each run ends).
    #[arg(long = "reconcile-every", env = "GDL_RECONCILE_EVERY", default_value = "60", value_parser = seconds)]
    pub reconcile_every: Duration,

    /// Benchmark: streamed requests per load phase.
    #[arg(long, env = "GDL_BENCH_REQUESTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub bench_requests: u32,

    /// Benchmark: concurrency of each load phase, comma separated (start with 1).
    #[arg(
        long,
        env = "GDL_BENCH_CONCURRENCY",
        default_value = "1,4",
        value_delimiter = ',',
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub bench_concurrency: Vec<u32>,

    /// Benchmark: output tokens per load request.
    #[arg(long, env = "GDL_BENCH_MAX_TOKENS", default_value_t = 96, value_parser = clap::value_parser!(u32).range(2..))]
    pub bench_max_tokens: u32,
}

/// Settings that are not flags, for tests and load drivers.
#[derive(Clone, Debug, Default)]
pub struct Tuning {
    /// The embedded simulator's whole configuration (seed, speed, failure rate); `None`:
    /// from `--sim-speed` and `--sim-failure-rate`.
    pub sim: Option<SimConfig>,
    /// How often the broker is read; `None`: from the simulator's speed.
    pub poll: Option<PollIntervals>,
    /// The live channel's sizes and deadlines.
    pub live: HubConfig,
    /// The reconciler's whole configuration; `None`: the defaults, with the grace period
    /// from `--orphan-grace-minutes`.
    pub reconcile: Option<ReconcileConfig>,
}

impl Settings {
    /// `serve`'s defaults (and environment variables), listening on `addr`.
    pub fn defaults(addr: &str) -> Self {
        #[derive(clap::Parser)]
        struct Serve {
            #[command(flatten)]
            settings: Settings,
        }
        <Serve as clap::Parser>::parse_from(["gpu-deploy-llm", "--addr", addr]).settings
    }

    /// A dashboard on a port-0 loopback listener with the embedded simulator `sim`, its
    /// data in `data_dir`, everything else at the defaults of `serve` (for tests and
    /// benchmarks that build the state themselves).
    pub fn local(data_dir: PathBuf, sim: SimConfig) -> Self {
        let mut settings = Self::defaults("127.0.0.1:0");
        settings.broker.shopper_url = None;
        settings.broker.data_dir = Some(data_dir);
        settings.tuning.sim = Some(sim);
        settings.hub = HubSettings::default(); // not this machine's HF_TOKEN or HF_ENDPOINT
        settings.database = DatabaseSettings::default(); // SQLite, not GDL_DATABASE_URL
        settings.access.session_ttl = Duration::from_secs(3600);
        settings
    }

    /// The broker URL to use: `None` for the embedded simulator.
    pub fn shopper_url(&self) -> Option<&str> {
        self.broker
            .shopper_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
    }

    /// The embedded simulator's configuration.
    pub fn sim(&self) -> SimConfig {
        self.tuning.sim.clone().unwrap_or_else(|| SimConfig {
            speed: self.broker.sim_speed,
            provision_failure_rate: self.broker.sim_failure_rate,
            ..SimConfig::default()
        })
    }

    /// The embedded simulator's configuration, to change (tests).
    pub fn sim_mut(&mut self) -> &mut SimConfig {
        let sim = self.sim();
        self.tuning.sim.get_or_insert(sim)
    }

    /// How often the broker is read: the given intervals, else the defaults for the
    /// simulator's speed (a real broker's at speed 1).
    pub fn poll(&self) -> PollIntervals {
        self.tuning.poll.unwrap_or_else(|| {
            let speed = match self.shopper_url() {
                Some(_) => 1.0,
                None => self.sim().speed,
            };
            PollIntervals::for_speed(speed)
        })
    }
}

impl BrokerArgs {
    /// The data directory to use: the flag, else the XDG default.
    pub fn resolved_data_dir(&self) -> PathBuf {
        data_dir_or_default(self.data_dir.as_ref())
    }
}

impl BrokerCalls {
    /// The broker client's timeouts.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            request: self.request_timeout,
            ready_wait: self.ready_timeout,
            ..Timeouts::default()
        }
    }

    /// What the client reads of the broker at most.
    pub fn limits(&self) -> ReplyLimits {
        ReplyLimits {
            max_reply_bytes: (self.max_reply_mb as usize) << 20,
            max_pages: self.max_pages,
        }
    }

    /// The circuit breaker's configuration.
    pub fn breaker(&self) -> BreakerConfig {
        BreakerConfig {
            threshold: self.breaker_failures,
            open_for: self.breaker_open,
            probes: self.breaker_probes,
        }
    }
}

impl RunSettings {
    /// The runner's configuration; `allow_private_hosts` when SSH may reach loopback or
    /// private addresses (the embedded simulator, or the flag).
    pub fn runner_config(&self, allow_private_hosts: bool) -> RunnerConfig {
        RunnerConfig {
            max_concurrent: usize::from(self.max_runs),
            max_rentals: self.max_rentals,
            ssh_timeout_minutes: self.ssh_timeout_minutes,
            max_disk_gb: self.max_disk_gb,
            allow_private_hosts,
            destroy_patience: self.destroy_patience,
            load_requests: self.bench_requests,
            load_levels: self.bench_concurrency.clone(),
            load_max_tokens: self.bench_max_tokens,
            reconcile: ReconcileConfig {
                every: self.reconcile_every,
                grace: (self.orphan_grace_minutes > 0)
                    .then(|| Duration::from_secs(u64::from(self.orphan_grace_minutes) * 60)),
                ..ReconcileConfig::default()
            },
            hub: Default::default(),
            serving: ServingConfig::default(),
            leases: Default::default(),
        }
    }
}

impl std::fmt::Debug for BrokerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerArgs")
            .field(
                "shopper_url",
                &self.shopper_url.as_deref().map(crate::shopper::shown_url),
            )
            .field("sim_speed", &self.sim_speed)
            .field("sim_failure_rate", &self.sim_failure_rate)
            .field("allow_private_hosts", &self.allow_private_hosts)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl std::fmt::Debug for AccessSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessSettings")
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "[redacted]"),
            )
            .field("auth_token_file", &self.auth_token_file)
            .field("allowed_origins", &self.allowed_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("session_ttl", &self.session_ttl)
            .finish()
    }
}

impl AccessSettings {
    /// Reads the token from `auth_token_file`, when one is given: its first line, trimmed.
    pub fn load_token_file(&mut self) -> Result<(), String> {
        let Some(path) = &self.auth_token_file else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the access token from {} ({e}); check --auth-token-file",
                path.display()
            )
        })?;
        let token = text.lines().next().unwrap_or_default().trim().to_owned();
        if token.is_empty() {
            return Err(format!(
                "{} holds no access token (its first line is empty)",
                path.display()
            ));
        }
        self.auth_token = Some(token);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
