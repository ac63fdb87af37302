//! How the dashboard itself is doing (the Health tab, `GET /api/health`): the broker and
//! the calls made to it, the live channel, the runner and the store, with samples of the
//! last hour.

use crate::breaker::{BreakerPhase, BreakerView};
use crate::ids::RunId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The Health tab and `GET /api/health`: how the dashboard and what it depends on are doing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthView {
    /// When the figures were taken.
    pub at: DateTime<Utc>,
    /// The broker and the calls made to it.
    pub broker: BrokerHealth,
    /// The live channel's counters.
    pub live: crate::live::LiveStats,
    /// Runs in progress and cleanups not confirmed.
    pub runner: RunnerHealth,
    /// The database.
    pub store: StoreHealth,
    /// One sample a while over the last hour, oldest first, for the small charts.
    #[serde(default)]
    pub history: Vec<HealthSample>,
}

/// The broker as the dashboard sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokerHealth {
    /// Ready, starting or offline.
    pub state: crate::status::BrokerState,
    /// The broker URL in use.
    pub url: String,
    /// True when the broker is the embedded simulator.
    pub simulated: bool,
    /// The circuit breaker around broker calls.
    pub breaker: BreakerView,
    /// Why it is not ready, if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Calls made in the last hour.
    pub calls_last_hour: u64,
    /// Median latency of the last hour's calls, ms; `None` without calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p50_ms: Option<f64>,
    /// 99th-percentile latency of the last hour's calls, ms; `None` without calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p99_ms: Option<f64>,
    /// Calls since start.
    pub calls_total: u64,
    /// Calls since start that failed.
    pub calls_failed: u64,
    /// Calls that needed a retry since start.
    pub retried: u64,
    /// The share of retried calls that then succeeded, 0–1; `None` before any retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_success_rate: Option<f64>,
    /// When the offers were last read; `None` before the first read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_at: Option<DateTime<Utc>>,
    /// Why the last read of the offers failed; `None` when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_error: Option<String>,
}

/// Deployment tests in progress and cleanups not confirmed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunnerHealth {
    /// Runs in progress.
    pub active_runs: u32,
    /// The concurrent-run limit.
    pub max_runs: u32,
    /// Each run in progress and the step it is on.
    #[serde(default)]
    pub in_flight: Vec<RunInFlight>,
    /// Recent runs whose session the broker did not confirm destroyed.
    pub cleanups_unconfirmed: u32,
}

/// A run in progress and its step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunInFlight {
    /// The run's id.
    pub run_id: RunId,
    /// The step's label, or none between steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// The SQLite database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreHealth {
    /// The database and its write-ahead log, in bytes.
    pub size_bytes: u64,
    /// When either file was last modified; `None` when neither could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_write_at: Option<DateTime<Utc>>,
}

/// A few figures at one moment, for the charts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthSample {
    /// When the sample was taken.
    pub at: DateTime<Utc>,
    /// Broker call latency p50 over the last hour (ms), when there were calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_p50_ms: Option<f64>,
    /// The circuit breaker's phase.
    pub breaker: BreakerPhase,
    /// Live-channel connections open.
    pub live_clients: u64,
    /// Runs in progress.
    pub active_runs: u32,
}
