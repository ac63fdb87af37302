//! The circuit breaker around broker calls. After `threshold` failures in a row (nothing
//! answered, a timeout, a 5xx, a reply that is not the API) it opens: calls fail at once
//! for `open_for`. Then it is half-open: one call at a time goes through as a probe;
//! `probes` successes in a row close it, a failure opens it again. A 4xx or a 429 is the
//! broker answering, not failing.

use chrono::{DateTime, Utc};
use gdl_model::breaker::{BreakerPhase, BreakerTransition, BreakerView};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Phase changes kept for the Health tab.
const TRANSITIONS_KEPT: usize = 20;

/// When the breaker opens, for how long, and how many probes close it again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerConfig {
    /// Failures in a row that open it (0: never opens).
    pub threshold: u32,
    /// How long it stays open before probing.
    pub open_for: Duration,
    /// Successful probes in a row that close it.
    pub probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            open_for: Duration::from_secs(10),
            probes: 1,
        }
    }
}

/// What a call's outcome says about the broker.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It answered (a success, or a 4xx / 429: it is up and saying no).
    Answered,
    /// It failed: why, and what a person can do about it.
    Failed(Failure),
}

/// A failure's message and hint, kept to explain the calls refused after it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Failure {
    pub message: String,
    pub hint: String,
}

impl Outcome {
    /// A failure with this message and hint.
    pub fn failed(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Failed(Failure {
            message: message.into(),
            hint: hint.into(),
        })
    }
}

/// Why a call was not let through: what opened the breaker, and when the next probe goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub failures: u32,
    pub last: Failure,
    pub probe_in: Duration,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool, successes: u32 },
}

#[derive(Debug)]
struct Inner {
    phase: Phase,
    failures: u32,
    last: Option<Failure>,
    transitions: VecDeque<BreakerTransition>,
}

/// A cheap-to-clone breaker shared by every clone of the broker client.
#[derive(Clone, Debug)]
pub struct Breaker {
    config: BreakerConfig,
    /// std Mutex: never held across an await.
    inner: Arc<Mutex<Inner>>,
}

/// Leave to make one call; say how it went with [`Permit::record`]. A probe dropped
/// without an outcome (its call cancelled) lets the next call probe instead.
#[must_use]
pub struct Permit {
    breaker: Breaker,
    probe: bool,
    recorded: bool,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            inner: Arc::new(Mutex::new(Inner {
                phase: Phase::Closed,
                failures: 0,
                last: None,
                transitions: VecDeque::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets a call through, or says why not.
    pub fn admit(&self) -> Result<Permit, Refusal> {
        let mut inner = self.lock();
        let now = Instant::now();
        let probe = match inner.phase {
            Phase::Closed => false,
            Phase::Open { until } if now < until => return Err(refusal(&inner, until - now)),
            Phase::Open { .. } => {
                inner.phase = Phase::HalfOpen {
                    probing: true,
                    successes: 0,
                };
                transition(
                    &mut inner,
                    BreakerPhase::HalfOpen,
                    "open time over: probing",
                );
                true
            }
            Phase::HalfOpen { probing: true, .. } => return Err(refusal(&inner, Duration::ZERO)),
            Phase::HalfOpen {
                probing: false,
                successes,
            } => {
                inner.phase = Phase::HalfOpen {
                    probing: true,
                    successes,
                };
                true
            }
        };
        Ok(Permit {
            breaker: self.clone(),
            probe,
            recorded: false,
        })
    }

    /// Records a call made without asking (cleanup calls, which must never fail fast).
    pub fn observe(&self, outcome: Outcome) {
        self.apply(false, outcome);
    }

    fn apply(&self, probe: bool, outcome: Outcome) {
        let mut inner = self.lock();
        match (outcome, &inner.phase) {
            (Outcome::Answered, Phase::Closed) => inner.failures = 0,
            (Outcome::Failed(why), Phase::Closed) => {
                inner.failures += 1;
                inner.last = Some(why);
                if self.config.threshold > 0 && inner.failures >= self.config.threshold {
                    self.open(&mut inner, "failures in a row");
                }
            }
            (Outcome::Answered, Phase::HalfOpen { successes, .. }) if probe => {
                let successes = successes + 1;
                if successes >= self.config.probes.max(1) {
                    inner.phase = Phase::Closed;
                    inner.failures = 0;
                    transition(&mut inner, BreakerPhase::Closed, "the probe was answered");
                } else {
                    inner.phase = Phase::HalfOpen {
                        probing: false,
                        successes,
                    };
                }
            }
            (Outcome::Failed(why), Phase::HalfOpen { .. }) if probe => {
                inner.failures += 1;
                inner.last = Some(why);
                self.open(&mut inner, "the probe failed");
            }
            // Calls let through before it opened, or cleanup calls made without asking:
            // only the probe decides.
            (Outcome::Failed(why), _) => inner.last = Some(why),
            _ => {}
        }
    }

    fn open(&self, inner: &mut Inner, why: &str) {
        inner.phase = Phase::Open {
            until: Instant::now() + self.config.open_for,
        };
        let reason = format!(
            "{why} ({} failures; last: {})",
            inner.failures,
            inner
                .last
                .as_ref()
                .map_or("unknown", |f| f.message.as_str())
        );
        transition(inner, BreakerPhase::Open, &reason);
    }

    /// The breaker as pages show it.
    pub fn view(&self) -> BreakerView {
        let inner = self.lock();
        let (phase, probe_at) = match inner.phase {
            Phase::Closed => (BreakerPhase::Closed, None),
            Phase::Open { until } => (
                BreakerPhase::Open,
                Some(Utc::now() + until.saturating_duration_since(Instant::now())),
            ),
            Phase::HalfOpen { .. } => (BreakerPhase::HalfOpen, None),
        };
        BreakerView {
            phase,
            failures: inner.failures,
            threshold: self.config.threshold,
            open_secs: self.config.open_for.as_secs_f64(),
            probe_at: probe_at.map(round_to_second),
            last_error: inner.last.as_ref().map(|f| f.message.clone()),
            transitions: inner.transitions.iter().cloned().collect(),
        }
    }
}

impl Permit {
    /// Says how the call went.
    pub fn record(mut self, outcome: Outcome) {
        self.recorded = true;
        self.breaker.apply(self.probe, outcome);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            let mut inner = self.breaker.lock();
            if let Phase::HalfOpen { successes, .. } = inner.phase {
                inner.phase = Phase::HalfOpen {
                    probing: false,
                    successes,
                };
            }
        }
    }
}

fn refusal(inner: &Inner, probe_in: Duration) -> Refusal {
    Refusal {
        failures: inner.failures,
        last: inner.last.clone().unwrap_or_default(),
        probe_in,
    }
}

fn transition(inner: &mut Inner, to: BreakerPhase, reason: &str) {
    match to {
        BreakerPhase::Open => tracing::warn!(reason, "broker circuit breaker opened"),
        _ => tracing::info!(phase = to.label(), reason, "broker circuit breaker"),
    }
    inner.transitions.push_back(BreakerTransition {
        at: Utc::now(),
        to,
        reason: reason.to_owned(),
    });
    while inner.transitions.len() > TRANSITIONS_KEPT {
        inner.transitions.pop_front();
    }
}

/// A probe time to the second, so the view does not change with every look.
fn round_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(open_ms: u64) -> Breaker {
        Breaker::new(BreakerConfig {
            threshold: 3,
            open_for: Duration::from_millis(open_ms),
            probes: 1,
        })
    }

    fn fail(b: &Breaker) {
        b.admit()
            .unwrap()
            .record(Outcome::failed("refused", "start it"));
    }

    #[test]
    fn opens_after_failures_in_a_row_and_answers_reset_the_count() {
        let b = breaker(60_000);
        fail(&b);
        fail(&b);
        b.admit().unwrap().record(Outcome::Answered);
        fail(&b);
        fail(&b);
        assert_eq!(b.view().phase, BreakerPhase::Closed);
        fail(&b);
        let view = b.view();
        assert_eq!((view.phase, view.failures), (BreakerPhase::Open, 3));
        assert!(view.probe_at.is_some());
        let refused = b.admit().err().expect("open: calls fail at once");
        assert_eq!(
            (refused.last.message.as_str(), refused.last.hint.as_str()),
            ("refused", "start it")
        );
        assert!(refused.probe_in > Duration::from_secs(50));
    }

    #[test]
    fn after_the_open_time_one_probe_goes_and_its_answer_closes_it() {
        let b = breaker(20);
        for _ in 0..3 {
            fail(&b);
        }
        assert!(b.admit().is_err());
        std::thread::sleep(Duration::from_millis(30));
        let probe = b.admit().expect("the probe");
        assert_eq!(b.view().phase, BreakerPhase::HalfOpen);
        assert!(b.admit().is_err(), "one probe at a time");
        probe.record(Outcome::Answered);
        assert_eq!(b.view().phase, BreakerPhase::Closed);
        let phases: Vec<_> = b.view().transitions.iter().map(|t| t.to).collect();
        assert_eq!(
            phases,
            [
                BreakerPhase::Open,
                BreakerPhase::HalfOpen,
                BreakerPhase::Closed
            ]
        );
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_a_cancelled_one_lets_another_probe() {
        let b = breaker(20);
        for _ in 0..3 {
            fail(&b);
        }
        std::thread::sleep(Duration::from_millis(30));
        drop(b.admit().expect("a probe, cancelled"));
        let probe = b.admit().expect("another probe");
        probe.record(Outcome::failed("timeout", ""));
        assert_eq!(b.view().phase, BreakerPhase::Open);
        assert_eq!(b.view().last_error.as_deref(), Some("timeout"));
        // Cleanup calls are never refused, and alone they neither close nor reopen it.
        b.observe(Outcome::Answered);
        assert_eq!(b.view().phase, BreakerPhase::Open);
        std::thread::sleep(Duration::from_millis(30));
        let probe = b.admit().expect("a probe");
        b.observe(Outcome::failed("a call from before", ""));
        assert_eq!(b.view().phase, BreakerPhase::HalfOpen);
        probe.record(Outcome::Answered);
        assert_eq!(b.view().phase, BreakerPhase::Closed);
    }
}
