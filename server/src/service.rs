//! The operations the product offers, whatever door asks for them: a page's server
//! function, REST, the CLI or an embedded panel. Doors decode their input into the model's
//! types, call one operation here, and encode its answer; none does part of the work itself.
//! New features land here, not in a door.
//!
//! # Layout
//! - this file: [`Dashboard`], the handle every door of a running dashboard holds (cheap to
//!   clone: one `Arc`).
//! - [`error`]: [`ServiceError`], what an operation's failure shows and what it logs.
//! - `broker`: status, our sessions, the live state, the inventory.
//! - `benchmarks`: the old dashboard's import, sent to every open page.
//! - `sessions`: clean up, done and extend a session; the orphans.
//! - `runs`: start and cancel deployment tests.
//! - `requests`: cancels and stops another replica passed on (several replicas).
//! - `deployments`: start, list, stop deployments; their guards and keys.
//! - [`history`]: [`History`], what the store holds (runs, logs, benchmarks, compare,
//!   export, import): the one part the CLI also runs without a dashboard.
//! - `costs`: what renting cost over a period.
//! - `embed`: the read-only embed tokens.
//! - `health`: how the dashboard is doing, sampled every minute.

mod benchmarks;
mod broker;
mod campaigns;
mod costs;
mod deployments;
mod embed;
pub mod error;
mod health;
pub mod history;
mod requests;
mod runs;
mod sessions;

pub use error::{ServiceError, ServiceResult};
pub use health::HealthSamples;
pub use history::{Export, History, LogPage};
pub use sessions::{clean_up_sessions, find_orphans};

use crate::live::Hub;
use crate::monitor::Monitor;
use crate::runner::Runner;
use crate::security::embed::EmbedTokens;
use std::sync::Arc;
use std::time::Duration;

/// A running dashboard's operations. Cheap to clone.
#[derive(Clone)]
pub struct Dashboard {
    parts: Arc<Parts>,
}

/// What the operations work with; built once at startup.
pub struct Parts {
    /// The one loop that reads the broker, and the broker client.
    pub monitor: Monitor,
    /// The live channel's state and fan-out.
    pub hub: Hub,
    /// Deployment tests in progress.
    pub runner: Runner,
    /// Campaigns in progress, over the runner's runs.
    pub campaigns: crate::campaign::Campaigns,
    /// The read-only embed tokens.
    pub embed_tokens: EmbedTokens,
    /// The Health tab's samples of the last hour.
    pub health: HealthSamples,
    /// The longest a page or REST answer waits on the broker.
    pub patience: Duration,
    /// Runs allowed at once (shown on the Health tab).
    pub max_runs: usize,
    /// The origins allowed to embed the dashboard besides its own (the Share tab).
    pub allowed_origins: Vec<String>,
    /// Whether pages need a login (an access token is set).
    pub login_required: bool,
}

impl Dashboard {
    /// The dashboard's operations over `parts`.
    pub fn new(parts: Parts) -> Self {
        Self {
            parts: Arc::new(parts),
        }
    }

    /// The broker monitor (its client, its view).
    pub fn monitor(&self) -> &Monitor {
        &self.parts.monitor
    }

    /// The live channel's hub.
    pub fn hub(&self) -> &Hub {
        &self.parts.hub
    }

    /// The campaigns.
    pub fn campaigns(&self) -> &crate::campaign::Campaigns {
        &self.parts.campaigns
    }

    /// The runner.
    pub fn runner(&self) -> &Runner {
        &self.parts.runner
    }

    /// What the store holds.
    pub fn history(&self) -> History {
        History::new(self.parts.runner.store().clone())
    }
}
