//! The gateway's settings and its per-key rate limit (a token bucket per key, refilled
//! continuously: `rate_per_minute` a minute, bursts up to a tenth of it, at least 5).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the gateway forwards.
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// The largest request body taken (bytes).
    pub body_limit: usize,
    /// The largest non-streamed answer passed back (bytes).
    pub reply_limit: usize,
    /// Requests a minute per key.
    pub rate_per_minute: u32,
    /// The longest wait for the engine's answer to start, and between two streamed chunks.
    pub upstream_timeout: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            body_limit: 4 * 1024 * 1024,
            reply_limit: 32 * 1024 * 1024,
            rate_per_minute: 600,
            upstream_timeout: Duration::from_secs(120),
        }
    }
}

/// The gateway's settings with what it keeps while it runs.
pub struct GatewayConfig {
    pub body_limit: usize,
    pub reply_limit: usize,
    pub rate_per_minute: u32,
    pub upstream_timeout: Duration,
    /// The client to the tunnels' local ends (no redirects: the engine is a stranger's).
    pub client: reqwest::Client,
    pub limiter: KeyLimiter,
}

impl GatewayConfig {
    /// The gateway as `settings` say.
    pub fn new(settings: GatewaySettings) -> Self {
        Self {
            body_limit: settings.body_limit,
            reply_limit: settings.reply_limit,
            rate_per_minute: settings.rate_per_minute,
            upstream_timeout: settings.upstream_timeout,
            client: crate::runner::loadgen::host_client(None),
            limiter: KeyLimiter::new(settings.rate_per_minute),
        }
    }
}

/// A token bucket per key (by the SHA-256 of its secret: no secret is kept here).
pub struct KeyLimiter {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets kept before the full ones are dropped.
const MAX_BUCKETS: usize = 10_000;

impl KeyLimiter {
    /// `per_minute` requests a minute per key.
    pub fn new(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        Self {
            per_minute,
            burst: (per_minute / 10.0).max(5.0),
            buckets: Mutex::default(),
        }
    }

    /// Takes one request for `secret`, or says how long until one is allowed.
    pub fn try_take(&self, secret: &str, now: Instant) -> Result<(), Duration> {
        let key = crate::store::embed_token_hash(secret);
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.len() > MAX_BUCKETS {
            let (burst, rate) = (self.burst, self.per_minute / 60.0);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(key).or_insert((self.burst, now));
        let refill = now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) * 60.0 / self.per_minute;
            Err(Duration::from_secs_f64(wait))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_its_rate() {
        let limiter = KeyLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..6 {
            assert!(limiter.try_take("a", t0).is_ok());
        }
        let wait = limiter.try_take("a", t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.try_take("b", t0).is_ok(), "keys are counted apart");
        assert!(limiter.try_take("a", t0 + Duration::from_secs(1)).is_ok());
    }
}
