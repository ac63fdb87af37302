//! One deployment while this process watches it: its record, the engine the gateway
//! forwards to (none while it starts or recovers), the stop a person asked for, and the
//! meter's recent samples.

use chrono::{DateTime, Utc};
use gdl_model::benchmark::percentile;
use gdl_model::deployments::{Deployment, DeploymentStatus, TokenUsage};
use gdl_model::ids::DeploymentId;
use gdl_model::tuning::TuneRequest;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

/// Samples kept for the meter's percentiles.
const WINDOW: usize = 512;

/// Where the engine answers: the tunnel's local end and the engine's own key (which never
/// leaves this process).
pub struct Upstream {
    /// `http://127.0.0.1:PORT`, the tunnel's local end.
    pub base_url: String,
    /// The engine's API key.
    pub api_key: Zeroizing<String>,
}

/// What one forwarded request measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Measured {
    /// The engine's `usage`, when it reported one.
    pub usage: Option<TokenUsage>,
    /// Request in → first content out (streamed requests).
    pub ttft_ms: Option<f64>,
    /// Time per output token after the first (streamed requests).
    pub tpot_ms: Option<f64>,
    /// The request failed (engine error, broken stream, timeout).
    pub failed: bool,
}

/// A deployment this process watches.
pub struct Live {
    /// Its id.
    pub id: DeploymentId,
    record: Mutex<Deployment>,
    upstream: RwLock<Option<Arc<Upstream>>>,
    /// A person (or a guard change) asked it to stop.
    pub stop: CancellationToken,
    window: Mutex<Window>,
    /// Changed since last saved and published.
    dirty: AtomicBool,
    /// The lease of the run serving it: once another replica has taken that run over, the
    /// record is saved and published from here no more.
    lease: std::sync::OnceLock<Arc<crate::runner::owned::Owned>>,
    /// A tuning asked for while it serves, for its serving loop to take.
    tune: Mutex<Option<TuneRequest>>,
    /// Wakes the serving loop when a tuning is asked for.
    pub tune_asked: tokio::sync::Notify,
}

#[derive(Default)]
struct Window {
    ttft: VecDeque<f64>,
    tpot: VecDeque<f64>,
    /// Samples came since the meter's percentiles were last worked out: they are worked
    /// out when the record is read, not on every request (a sort of the window each time
    /// cost the gateway a few percent of its CPU under load).
    stale: bool,
}

impl Live {
    /// Watches `record`.
    pub fn new(record: Deployment) -> Self {
        Self {
            id: record.id.clone(),
            record: Mutex::new(record),
            upstream: RwLock::new(None),
            stop: CancellationToken::new(),
            window: Mutex::default(),
            lease: std::sync::OnceLock::new(),
            dirty: AtomicBool::new(false),
            tune: Mutex::new(None),
            tune_asked: tokio::sync::Notify::new(),
        }
    }

    /// Asks its serving loop to tune the engine as `request` says; `false` when a tuning
    /// is already asked for and not yet begun.
    pub fn ask_tune(&self, request: TuneRequest) -> bool {
        let mut slot = self.tune.lock().unwrap();
        if slot.is_some() {
            return false;
        }
        *slot = Some(request);
        self.tune_asked.notify_one();
        true
    }

    /// The tuning asked for, taken (its serving loop's).
    pub fn take_tune(&self) -> Option<TuneRequest> {
        self.tune.lock().unwrap().take()
    }

    /// The record as it is now, the meter's percentiles worked out from the latest samples.
    pub fn snapshot(&self) -> Deployment {
        let mut window = self.window.lock().unwrap();
        let mut record = self.record.lock().unwrap();
        if std::mem::take(&mut window.stale) {
            let meter = &mut record.meter;
            (meter.ttft_p50_ms, meter.ttft_p95_ms) = quantiles(&window.ttft);
            (meter.tpot_p50_ms, meter.tpot_p95_ms) = quantiles(&window.tpot);
        }
        record.clone()
    }

    /// Reads the record.
    pub fn read<T>(&self, f: impl FnOnce(&Deployment) -> T) -> T {
        f(&self.record.lock().unwrap())
    }

    /// Changes the record (saved and published by the next [`super::Deployments::flush`]).
    pub fn change(&self, f: impl FnOnce(&mut Deployment)) {
        let mut record = self.record.lock().unwrap();
        f(&mut record);
        record.updated_at = Utc::now();
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Ties the record to the lease of the run serving it.
    pub fn bind(&self, lease: Arc<crate::runner::owned::Owned>) {
        let _ = self.lease.set(lease);
    }

    /// The lease of the run serving it, once bound: every save of the record is fenced by it.
    pub fn owned(&self) -> Option<&Arc<crate::runner::owned::Owned>> {
        self.lease.get()
    }

    /// Whether another replica has taken the serving run over.
    pub fn is_lost(&self) -> bool {
        self.lease.get().is_some_and(|l| l.is_lost())
    }

    /// Whether the record changed since the last flush (and clears the mark).
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::SeqCst)
    }

    /// The engine to forward to, while it serves.
    pub fn upstream(&self) -> Option<Arc<Upstream>> {
        self.upstream.read().unwrap().clone()
    }

    /// Sets (or clears, while recovering) the engine to forward to.
    pub fn set_upstream(&self, upstream: Option<Upstream>) {
        *self.upstream.write().unwrap() = upstream.map(Arc::new);
    }

    /// Its status.
    pub fn status(&self) -> DeploymentStatus {
        self.read(|d| d.status)
    }

    /// Counts a request as it arrives (the idle guard counts from here).
    pub fn request_arrived(&self, at: DateTime<Utc>) {
        self.change(|d| {
            d.meter.requests += 1;
            d.meter.last_request_at = Some(at);
        });
    }

    /// Records what a forwarded request measured.
    pub fn request_ended(&self, m: Measured) {
        {
            let mut guard = self.window.lock().unwrap();
            let w = &mut *guard;
            for (values, value) in [(&mut w.ttft, m.ttft_ms), (&mut w.tpot, m.tpot_ms)] {
                if let Some(v) = value {
                    values.push_back(v);
                    if values.len() > WINDOW {
                        values.pop_front();
                    }
                    w.stale = true;
                }
            }
        }
        self.change(|d| {
            let meter = &mut d.meter;
            if m.failed {
                meter.errors += 1;
            }
            if let Some(u) = m.usage {
                meter.input_tokens += u.prompt_tokens;
                meter.output_tokens += u.completion_tokens;
            }
        });
    }
}

/// p50 and p95 of `values`, `None` when empty.
fn quantiles(values: &VecDeque<f64>) -> (Option<f64>, Option<f64>) {
    if values.is_empty() {
        return (None, None);
    }
    let mut sorted: Vec<f64> = values.iter().copied().collect();
    sorted.sort_by(f64::total_cmp);
    (
        Some(percentile(&sorted, 50.0)),
        Some(percentile(&sorted, 95.0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_model::deployments::Guards;

    #[test]
    fn the_meter_counts_tokens_errors_and_percentiles() {
        let now = Utc::now();
        let live = Live::new(Deployment::new(
            "dep-1".into(),
            "run-1".into(),
            "m".into(),
            "vLLM".into(),
            Guards::default(),
            now,
        ));
        for i in 1..=20 {
            live.request_arrived(now);
            live.request_ended(Measured {
                usage: Some(TokenUsage {
                    prompt_tokens: 10,
                    completion_tokens: 5,
                }),
                ttft_ms: Some(i as f64),
                tpot_ms: Some(2.0),
                failed: i == 20,
            });
        }
        let d = live.snapshot();
        assert_eq!((d.meter.requests, d.meter.errors), (20, 1));
        assert_eq!((d.meter.input_tokens, d.meter.output_tokens), (200, 100));
        let p50 = d.meter.ttft_p50_ms.unwrap();
        assert!((10.0..=11.0).contains(&p50), "{p50}");
        assert!(d.meter.ttft_p95_ms.unwrap() >= 19.0);
        assert_eq!(d.meter.tpot_p50_ms, Some(2.0));
        assert!(live.take_dirty() && !live.take_dirty());
    }
}
