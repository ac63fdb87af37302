//! What the broker client has seen over the last hour: each call's latency and outcome, and
//! how retried calls ended. For the Health tab and `/metrics`.

use gdl_model::benchmark::percentile;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How far back the figures look.
const WINDOW: Duration = Duration::from_secs(3600);
/// The most calls remembered (the oldest are forgotten first).
const KEPT: usize = 20_000;

#[derive(Debug, Default)]
struct Inner {
    /// (when it ended, how long it took in ms, whether the broker answered).
    calls: VecDeque<(Instant, f64, bool)>,
    /// Calls that needed a retry, and how many of those then succeeded (since start).
    retried: u64,
    retried_ok: u64,
    /// Calls made and failed since start (for counters).
    total: u64,
    failed: u64,
}

/// The figures at a moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallFigures {
    /// Calls in the last hour, and their latency percentiles (ms).
    pub calls_last_hour: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Calls since start, and how many failed.
    pub total: u64,
    pub failed: u64,
    /// Calls retried since start, and the share of them that then succeeded.
    pub retried: u64,
    pub retry_success_rate: Option<f64>,
}

/// Shared by every clone of the client.
#[derive(Clone, Debug, Default)]
pub struct CallLog {
    /// std Mutex: never held across an await.
    inner: Arc<Mutex<Inner>>,
}

impl CallLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One call to the broker ended after `took`; `answered` unless it failed.
    pub fn call(&self, took: Duration, answered: bool) {
        let now = Instant::now();
        let mut inner = self.lock();
        inner
            .calls
            .push_back((now, took.as_secs_f64() * 1000.0, answered));
        inner.total += 1;
        if !answered {
            inner.failed += 1;
        }
        while inner.calls.len() > KEPT
            || inner
                .calls
                .front()
                .is_some_and(|(at, _, _)| now.duration_since(*at) > WINDOW)
        {
            inner.calls.pop_front();
        }
    }

    /// A call that was retried ended; `ok` if it succeeded in the end.
    pub fn retried(&self, ok: bool) {
        let mut inner = self.lock();
        inner.retried += 1;
        if ok {
            inner.retried_ok += 1;
        }
    }

    /// The figures now.
    pub fn figures(&self) -> CallFigures {
        let now = Instant::now();
        let inner = self.lock();
        let mut latencies: Vec<f64> = inner
            .calls
            .iter()
            .filter(|(at, _, _)| now.duration_since(*at) <= WINDOW)
            .map(|(_, ms, _)| *ms)
            .collect();
        latencies.sort_by(f64::total_cmp);
        // The benchmarks' percentile (interpolated), so both tabs mean the same by p99.
        let pick = |p: f64| (!latencies.is_empty()).then(|| percentile(&latencies, p));
        CallFigures {
            calls_last_hour: latencies.len() as u64,
            p50_ms: pick(50.0),
            p99_ms: pick(99.0),
            total: inner.total,
            failed: inner.failed,
            retried: inner.retried,
            retry_success_rate: (inner.retried > 0)
                .then(|| inner.retried_ok as f64 / inner.retried as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_counts_and_retry_success() {
        let log = CallLog::default();
        assert_eq!(log.figures().p50_ms, None);
        for ms in 1..=100 {
            log.call(Duration::from_millis(ms), ms % 10 != 0);
        }
        log.retried(true);
        log.retried(false);
        log.retried(true);
        let f = log.figures();
        assert_eq!((f.calls_last_hour, f.total, f.failed), (100, 100, 10));
        assert_eq!(f.p50_ms.map(f64::round), Some(51.0));
        assert_eq!(f.p99_ms.map(f64::round), Some(99.0));
        assert_eq!(f.retried, 3);
        assert!((f.retry_success_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    }
}
