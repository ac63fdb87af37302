//! How the dashboard is doing, for the Health tab, `GET /api/health` and `/metrics`: the
//! broker (state, circuit breaker, call latency, retries, inventory age), the live channel,
//! the runner and the store. A sample is kept every minute for the tab's small charts.

use super::Dashboard;
use chrono::Utc;
use gdl_model::health::{
    BrokerHealth, HealthSample, HealthView, RunInFlight, RunnerHealth, StoreHealth,
};
use gdl_model::runs::RunStatus;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a sample is kept, and how many (an hour's worth).
const SAMPLE_EVERY: Duration = Duration::from_secs(60);
const SAMPLES_KEPT: usize = 60;

/// The samples kept for the charts.
#[derive(Clone, Debug, Default)]
pub struct HealthSamples {
    /// std Mutex: never held across an await.
    samples: Arc<Mutex<VecDeque<HealthSample>>>,
}

impl HealthSamples {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<HealthSample>> {
        self.samples.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, sample: HealthSample) {
        let mut samples = self.lock();
        samples.push_back(sample);
        while samples.len() > SAMPLES_KEPT {
            samples.pop_front();
        }
    }

    fn all(&self) -> Vec<HealthSample> {
        self.lock().iter().cloned().collect()
    }
}

impl Dashboard {
    /// Keeps a sample now and every [`SAMPLE_EVERY`] while the dashboard lives.
    pub fn spawn_health_sampler(&self) {
        let weak = Arc::downgrade(&self.parts);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SAMPLE_EVERY);
            loop {
                every.tick().await;
                let Some(parts) = weak.upgrade() else {
                    return; // the dashboard is gone
                };
                let dashboard = Dashboard { parts };
                let view = dashboard.health_now(false);
                dashboard.parts.health.push(sample(&view));
            }
        });
    }

    /// The Health tab and `GET /api/health`: the figures now, with the last hour's samples.
    pub fn health(&self) -> HealthView {
        self.health_now(true)
    }
}

fn sample(view: &HealthView) -> HealthSample {
    HealthSample {
        at: view.at,
        broker_p50_ms: view.broker.latency_p50_ms,
        breaker: view.broker.breaker.phase,
        live_clients: view.live.connections_current,
        active_runs: view.runner.active_runs,
    }
}

impl Dashboard {
    /// The figures now, with the samples kept (`with_history`).
    pub fn health_now(&self, with_history: bool) -> HealthView {
        let status = self.monitor().view().status;
        let client = self.monitor().client();
        let calls = client.calls().figures();
        let broker = BrokerHealth {
            state: status.broker.state,
            url: status.broker.url,
            simulated: status.broker.simulated,
            breaker: client.breaker().view(),
            reason: status.broker.reason,
            calls_last_hour: calls.calls_last_hour,
            latency_p50_ms: calls.p50_ms,
            latency_p99_ms: calls.p99_ms,
            calls_total: calls.total,
            calls_failed: calls.failed,
            retried: calls.retried,
            retry_success_rate: calls.retry_success_rate,
            inventory_at: status.inventory_at,
            inventory_error: status.inventory_error.map(|e| e.message),
        };
        let runner = self.hub().with_state(|live| RunnerHealth {
            active_runs: self.runner().active_count() as u32,
            max_runs: self.parts.max_runs as u32,
            in_flight: live
                .runs
                .values()
                .filter(|r| r.status == RunStatus::Running)
                .map(|r| RunInFlight {
                    run_id: r.id.clone(),
                    step: r.current_step().map(|s| s.label().to_owned()),
                })
                .collect(),
            cleanups_unconfirmed: live
                .runs
                .values()
                .filter(|r| {
                    r.cleanup
                        .as_ref()
                        .is_some_and(|c| !c.destroyed_confirmed && !c.kept)
                })
                .count() as u32,
        });
        let view = HealthView {
            at: Utc::now(),
            broker,
            live: self.hub().stats(),
            runner,
            store: {
                let (size_bytes, last_write_at) = self.runner().store().footprint();
                StoreHealth {
                    size_bytes,
                    last_write_at,
                }
            },
            history: Vec::new(),
        };
        if with_history {
            let mut history = self.parts.health.all();
            history.push(sample(&view));
            HealthView { history, ..view }
        } else {
            view
        }
    }
}
