//! The limit on starting runs: at most so many a rolling minute.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `limit` run starts per rolling minute.
#[derive(Debug)]
pub struct StartLimiter {
    limit: usize,
    recent: VecDeque<Instant>,
}

impl StartLimiter {
    /// A limiter allowing `limit` starts a minute.
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            recent: VecDeque::new(),
        }
    }

    /// The starts allowed a minute.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Records a start at `now`, or says how long to wait.
    pub fn try_start(&mut self, now: Instant) -> Result<(), Duration> {
        let window = Duration::from_secs(60);
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.recent.pop_front();
        }
        match self.recent.front() {
            Some(oldest) if self.recent.len() >= self.limit => {
                Err(window - now.duration_since(*oldest))
            }
            _ => {
                self.recent.push_back(now);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_rate_limited_per_minute() {
        let mut limiter = StartLimiter::new(3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(limiter.try_start(t0 + Duration::from_secs(i)).is_ok());
        }
        let wait = limiter.try_start(t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(
            limiter.try_start(t0 + Duration::from_secs(60)).is_ok(),
            "the oldest start left the window"
        );
    }
}
