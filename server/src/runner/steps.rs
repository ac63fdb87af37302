//! The eleven steps, one file each. Each is a function from what the step before it
//! produced to what it produces, failing with a typed [`StepError`]; none reads shared
//! mutable state, so none needs to `expect` a value another step should have set.
//!
//! | # | step | file | takes | gives |
//! |---|------|------|-------|-------|
//! | 1 | Calculate requirements | [`requirements`] | the validated [`Plan`] | [`ResolvedModel`] |
//! | 2 | Query inventory | [`inventory`] | [`ResolvedModel`] | [`Offers`] |
//! | 3 | Select offer | [`select`] | [`Offers`] | [`Offer`] |
//! | 4 | Create session | [`create`] | [`Offer`] | [`Booked`] (session + one-time key) |
//! | 5 | Wait for running | [`wait`] | [`Booked`] | [`RunningSession`] |
//! | 6 | Connect SSH | [`connect`] | [`RunningSession`] | [`Connected`] host |
//! | 7 | Diagnose host | [`diagnose`], `replace` | [`Connected`] | [`HostReport`]; a host that cannot run the engine replaced by the next offer's |
//! | 8 | Install & start vLLM | [`install`] | [`Connected`] | [`Served`] (its API key) |
//! | 9 | Verify deployment | [`verify`] | [`Connected`] + [`Served`] | [`Target`] (tunnel) |
//! | 10 | Benchmark | [`benchmark`] | [`Target`] | [`BenchmarkRecord`] (stored) |
//! | 11 | Cleanup | [`cleanup`] | the session id, if one was created | [`CleanupOutcome`] |
//!
//! [`Plan`]: super::Plan
//! [`HostReport`]: gdl_model::runs::HostReport
//! [`BenchmarkRecord`]: gdl_model::runs::BenchmarkRecord
//! [`CleanupOutcome`]: gdl_model::runs::CleanupOutcome
//! [`StepError`]: super::error::StepError

pub mod benchmark;
pub mod cleanup;
pub mod connect;
pub mod create;
pub mod diagnose;
pub mod install;
pub mod inventory;
pub mod requirements;
pub mod select;
pub mod tune;
pub mod verify;
pub mod wait;

use super::context::RunContext;
use super::host::RemoteHost;
pub use super::loadgen::Target;
use super::RunnerConfig;
use crate::shopper::ShopperClient;
pub use gdl_model::registry::ResolvedModel;
use gdl_model::secret::SshPrivateKey;
pub use gdl_model::shopper::Offer;
use gdl_model::shopper::{InventoryQuery, Session};
use std::sync::Arc;
use zeroize::Zeroizing;

/// What every step may use: the broker, the runner's settings and the run's record.
pub struct Deps<'a> {
    pub client: &'a ShopperClient,
    pub config: &'a RunnerConfig,
    pub ctx: &'a Arc<RunContext>,
    /// The run provisions a deployment: its SSH login is kept to reconnect with.
    pub deploy: bool,
}

/// The offers that fit, the query that found them (asked again when an offer is gone) and
/// how our past rentals went (to rank them).
pub struct Offers {
    pub query: InventoryQuery,
    pub offers: Vec<Offer>,
    pub history: select::History,
    /// What the run deploys: offers asked for again are checked against it too.
    pub fit: super::engine_fit::Fit,
}

impl Offers {
    /// The offers of a fresh listing the run's engine can run, best first.
    pub fn rank_fresh<'a>(&self, fresh: &'a [Offer]) -> Vec<&'a Offer> {
        select::rank(fresh, &self.history)
            .into_iter()
            .filter(|o| self.fit.allows(o))
            .collect()
    }
}

/// A booked offer: the broker's session and the only copy of its SSH key.
pub struct Booked {
    pub session: Session,
    pub key: SshPrivateKey,
    pub offer: Offer,
}

/// A session the broker reports running.
pub struct RunningSession {
    pub session: Session,
    pub key: SshPrivateKey,
    pub offer: Offer,
}

/// A host logged in to over SSH, on the booked offer. A test's key is wiped once logged
/// in; a deployment keeps its login (in memory only) to reconnect when SSH drops.
pub struct Connected {
    pub host: Box<dyn RemoteHost>,
    pub offer: Offer,
    pub login: Option<super::ssh::Login>,
}

/// vLLM serving on the host, the API key it requires and how it was launched (to watch it).
#[derive(Clone)]
pub struct Served {
    pub api_key: Zeroizing<String>,
    pub launch: crate::runner::vllm::Launch,
}

/// `RTX 4090 × 1 (24 GB) on Vast.ai at $0.350/h, offer vastai-123`.
pub fn describe(o: &Offer) -> String {
    format!(
        "{} × {} ({} GB) on {} at ${:.3}/h, offer {}",
        o.gpu_type,
        o.gpu_count,
        o.vram_gb,
        o.provider.label(),
        o.price_per_hour,
        o.id
    )
}
