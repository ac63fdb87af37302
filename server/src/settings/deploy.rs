//! How deployments are watched and how the gateway forwards to them.

use super::parse::{seconds, seconds_f64};
use crate::deploy::SealKey;
use crate::gateway::GatewaySettings;
use crate::runner::serving::ServingConfig;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// The deployment and gateway settings of `serve`.
#[derive(Clone, Debug, Args)]
pub struct DeploySettings {
    /// Seconds between checks of a serving deployment (guards, engine health, reservation).
    #[arg(long = "deploy-check-every", env = "GDL_DEPLOY_CHECK_EVERY", default_value = "5", value_parser = seconds_f64)]
    pub check_every: Duration,

    /// Engine restarts allowed per deployment after crashes (0 ends it at the first crash).
    #[arg(long = "engine-restarts", env = "GDL_ENGINE_RESTARTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub max_restarts: u32,

    /// Seconds before the first engine restart; the wait doubles with each restart.
    #[arg(long = "engine-restart-wait", env = "GDL_ENGINE_RESTART_WAIT", default_value = "5", value_parser = seconds_f64)]
    pub restart_wait: Duration,

    /// Attempts to log in again when a deployment's SSH connection drops, before it ends as
    /// `host_lost`.
    #[arg(long = "ssh-reconnects", env = "GDL_SSH_RECONNECTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub reconnects: u32,

    /// Seconds between the first two SSH reconnect attempts; the wait doubles with each
    /// (at most a minute).
    #[arg(long = "ssh-reconnect-wait", env = "GDL_SSH_RECONNECT_WAIT", default_value = "2", value_parser = seconds_f64)]
    pub reconnect_wait: Duration,

    /// A file holding the key (32 random bytes, or 64 hexadecimal characters; readable by
    /// its owner only) that seals each deployment's SSH key and engine key in the database,
    /// so a restart of the dashboard resumes its deployments. Without it they are stopped
    /// and destroyed when the dashboard stops.
    #[arg(long = "secret-key-file", env = "GDL_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// Requests a minute each deployment key may send through the gateway.
    #[arg(long = "gateway-rate", env = "GDL_GATEWAY_RATE", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub gateway_rate: u32,

    /// The largest request body the gateway takes, in KiB.
    #[arg(long = "gateway-body-limit-kib", env = "GDL_GATEWAY_BODY_LIMIT_KIB", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub gateway_body_kib: u32,

    /// Seconds the gateway waits for the engine's answer to start, and between two
    /// streamed chunks, before it fails the request.
    #[arg(long = "gateway-timeout", env = "GDL_GATEWAY_TIMEOUT", default_value = "120", value_parser = seconds)]
    pub gateway_timeout: Duration,
}

impl Default for DeploySettings {
    fn default() -> Self {
        let serving = ServingConfig::default();
        let gateway = GatewaySettings::default();
        Self {
            check_every: serving.tick,
            max_restarts: serving.max_restarts,
            restart_wait: serving.restart_backoff,
            reconnects: serving.reconnects,
            reconnect_wait: serving.reconnect_backoff,
            secret_key_file: None,
            gateway_rate: gateway.rate_per_minute,
            gateway_body_kib: (gateway.body_limit / 1024) as u32,
            gateway_timeout: gateway.upstream_timeout,
        }
    }
}

impl DeploySettings {
    /// How the runner watches deployments, with the secret key read from its file (a file
    /// that cannot be read, is readable by others or holds no key of the right size is an
    /// error, said at start).
    pub fn serving(&self) -> Result<ServingConfig, String> {
        let seal = match &self.secret_key_file {
            Some(path) => Some(SealKey::load(path)?),
            None => None,
        };
        Ok(ServingConfig {
            tick: self.check_every,
            max_restarts: self.max_restarts,
            restart_backoff: self.restart_wait,
            reconnects: self.reconnects,
            reconnect_backoff: self.reconnect_wait,
            seal,
            ..ServingConfig::default()
        })
    }

    /// How the gateway forwards.
    pub fn gateway(&self) -> GatewaySettings {
        GatewaySettings {
            body_limit: self.gateway_body_kib as usize * 1024,
            rate_per_minute: self.gateway_rate,
            upstream_timeout: self.gateway_timeout,
            ..GatewaySettings::default()
        }
    }
}
