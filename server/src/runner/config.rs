//! How runs behave: [`RunnerConfig`], made from `serve`'s settings
//! (`RunSettings::runner_config`).

use super::{destroy, hub, owned, serving, ReconcileConfig};
use std::time::Duration;

/// How runs behave.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Runs allowed at once.
    pub max_concurrent: usize,
    /// Requests per load phase, and the concurrency levels (the first is 1).
    pub load_requests: u32,
    pub load_levels: Vec<u32>,
    pub load_max_tokens: u32,
    /// Sessions a run may rent in all (a new one when a machine fails to start).
    pub max_rentals: u32,
    /// SSH addresses on loopback or private networks are allowed (a local simulator).
    pub allow_private_hosts: bool,
    /// How long cleanup keeps asking the broker to confirm a destroy.
    pub destroy_patience: Duration,
    /// The broker's SSH verification budget asked for on every create (1–30 minutes).
    pub ssh_timeout_minutes: u32,
    /// The most disk (GB) a rental may ask for.
    pub max_disk_gb: u32,
    /// The reconciler's pace, grace period and patience.
    pub reconcile: ReconcileConfig,
    /// The Hugging Face Hub asked before renting, and the token for gated models.
    pub hub: hub::HubAccess,
    /// How deployments are watched while they serve.
    pub serving: serving::ServingConfig,
    /// How long the leases of runs last, and how often they are renewed and looked for.
    pub leases: owned::LeaseConfig,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 1,
            load_requests: 12,
            load_levels: vec![1, 4],
            load_max_tokens: 96,
            max_rentals: 3,
            allow_private_hosts: false,
            destroy_patience: destroy::DESTROY_PATIENCE,
            ssh_timeout_minutes: 10,
            max_disk_gb: 500,
            reconcile: ReconcileConfig::default(),
            hub: hub::HubAccess::default(),
            serving: serving::ServingConfig::default(),
            leases: owned::LeaseConfig::default(),
        }
    }
}
