//! The benchmark engine: one engine for the pipeline's Benchmark step and for `bench`
//! against any OpenAI-compatible streaming server (vLLM, llama.cpp's server, SGLang, TGI).
//! A readiness wait, warm-up requests left out of the metrics, a workload (synthetic prompts
//! of a target length, or a prompt file), load levels at fixed concurrency judged against
//! SLOs, and the capacity search ([`search`]).

pub mod calibrate;
pub mod search;
pub mod tune;
pub mod workload;

use crate::runner::loadgen::{stream_request, Target};
use gdl_model::benchmark::{phase_metrics, PhaseMetrics, Sample, Slo};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use workload::Workload;

/// What the engine measures against.
#[derive(Clone, Debug)]
pub struct Engine {
    pub http: reqwest::Client,
    pub target: Target,
    pub workload: Workload,
    pub slo: Slo,
    /// The server's price, for $ per 1M tokens and the search's $ budget.
    pub price_per_hour: Option<f64>,
    /// The requests sent so far, shared by its clones.
    pub sent: Sent,
}

/// The requests an engine has sent, counted over all its warm-ups and levels: each takes
/// the workload's next requests, so one server never gets a prompt twice. (A server's
/// prefix cache answers a prompt it has seen without computing it again, so a level that
/// sent the last level's prompts would measure the cache, not the server.)
#[derive(Clone, Debug, Default)]
pub struct Sent(Arc<AtomicUsize>);

impl Sent {
    /// The first of `n` request indices never used before, at the start of a pass of
    /// `pass` requests (a trace is sent from its start; 1: anywhere).
    pub fn take(&self, n: usize, pass: usize) -> usize {
        let pass = pass.max(1);
        let mut first = 0;
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |sent| {
                first = sent.next_multiple_of(pass);
                Some(first + n)
            });
        first
    }
}

impl Engine {
    /// Waits until the server lists its models (`GET /v1/models` answers 200), at most
    /// `patience`; the last reason it was not ready otherwise.
    pub async fn wait_ready(&self, patience: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let asked = crate::runner::loadgen::authorized(
                self.http
                    .get(format!("{}/v1/models", self.target.base_url))
                    .timeout(Duration::from_secs(5)),
                &self.target.api_key,
            )
            .send()
            .await;
            let why = match asked {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => format!("/v1/models answered HTTP {}", r.status().as_u16()),
                Err(e) => format!("/v1/models: {e}"),
            };
            if started.elapsed() >= patience {
                return Err(why);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// `requests` requests one at a time, measured by no one: caches, graphs and
    /// connections are warm before the first measured request.
    pub async fn warm_up(&self, requests: u32) -> usize {
        let origin = Instant::now();
        let mut failed = 0;
        let first = self.next_requests(requests as usize);
        for i in 0..requests {
            let request = self.workload.request(first + i as usize);
            let (sample, _) = stream_request(&self.http, &self.target, &request, origin).await;
            failed += usize::from(!sample.ok());
        }
        failed
    }

    /// The first index of the workload's next `n` requests (a trace's from its start).
    fn next_requests(&self, n: usize) -> usize {
        self.sent.take(n, self.workload.pass())
    }

    /// One load level: `requests` requests, `concurrency` in flight at a time, judged
    /// against the SLOs. Failed requests are counted and kept out of the latencies.
    pub async fn level(&self, concurrency: u32, requests: u32) -> (PhaseMetrics, Vec<Sample>) {
        let origin = Instant::now();
        let first = self.next_requests(requests as usize);
        let next = Arc::new(AtomicU32::new(0));
        let workers = (0..concurrency.max(1)).map(|_| {
            let next = next.clone();
            let engine = self.clone();
            async move {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= requests {
                        break;
                    }
                    let request = engine.workload.request(first + i as usize);
                    let (sample, _) =
                        stream_request(&engine.http, &engine.target, &request, origin).await;
                    mine.push(sample);
                }
                mine
            }
        });
        let samples = futures::future::join_all(workers)
            .await
            .into_iter()
            .flatten()
            .collect();
        self.measured(samples, concurrency, origin, None)
    }

    /// A level's metrics from its samples (in the order sent), judged against the SLOs.
    fn measured(
        &self,
        mut samples: Vec<Sample>,
        concurrency: u32,
        origin: Instant,
        request_rate: Option<f64>,
    ) -> (PhaseMetrics, Vec<Sample>) {
        samples.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        let duration = origin.elapsed().as_secs_f64();
        let mut metrics = phase_metrics(&samples, concurrency, duration, self.price_per_hour);
        metrics.request_rate = request_rate;
        self.slo.judge(&mut metrics, &samples);
        (metrics, samples)
    }
}

/// How requests arrive at a fixed rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrivals {
    /// Evenly spaced.
    Constant,
    /// A Poisson process (exponential gaps), as independent users make; seeded, so a
    /// level can be run again the same way.
    Poisson { seed: u64 },
}

impl Engine {
    /// One level at a fixed request rate: `requests` requests sent `rate` a second on
    /// average, at most `cap` in flight (a request due while the cap is reached waits for a
    /// slot, and its latency counts from when it was due).
    pub async fn rate_level(
        &self,
        rate: f64,
        requests: u32,
        arrivals: Arrivals,
        cap: u32,
    ) -> (PhaseMetrics, Vec<Sample>) {
        use rand::{Rng, SeedableRng};
        let rate = rate.max(1e-3);
        let mut rng = match arrivals {
            Arrivals::Poisson { seed } => Some(rand::rngs::StdRng::seed_from_u64(seed)),
            Arrivals::Constant => None,
        };
        let mut at = 0.0_f64;
        let schedule: Vec<f64> = (0..requests)
            .map(|_| {
                let due = at;
                at += match rng.as_mut() {
                    // Inverse transform: −ln(U) / λ, with U in (0, 1].
                    Some(r) => -(1.0 - r.gen::<f64>()).ln() / rate,
                    None => 1.0 / rate,
                };
                due
            })
            .collect();
        self.scheduled(schedule, cap, Some(rate)).await
    }

    /// Replays a trace workload's requests at their arrival times, `speed` times faster, at
    /// most `cap` in flight (as [`Engine::rate_level`]). Other workloads send nothing.
    pub async fn replay(&self, speed: f64, cap: u32) -> (PhaseMetrics, Vec<Sample>) {
        let requests = self.workload.trace().unwrap_or_default();
        let first = requests.first().map_or(0, |r| r.timestamp);
        let schedule: Vec<f64> = requests
            .iter()
            .map(|r| (r.timestamp - first) as f64 / 1000.0 / speed.max(1e-3))
            .collect();
        let span = schedule.last().copied().unwrap_or(0.0);
        let rate = (span > 0.0).then(|| schedule.len() as f64 / span);
        self.scheduled(schedule, cap, rate).await
    }

    /// Request `i` sent at `schedule[i]` seconds from now, at most `cap` in flight.
    async fn scheduled(
        &self,
        schedule: Vec<f64>,
        cap: u32,
        rate: Option<f64>,
    ) -> (PhaseMetrics, Vec<Sample>) {
        let slots = Arc::new(tokio::sync::Semaphore::new(cap.max(1) as usize));
        let origin = Instant::now();
        let first = self.next_requests(schedule.len());
        let tasks = schedule.into_iter().enumerate().map(|(i, due)| {
            let engine = self.clone();
            let slots = slots.clone();
            async move {
                tokio::time::sleep_until(
                    tokio::time::Instant::from_std(origin) + Duration::from_secs_f64(due),
                )
                .await;
                let _slot = slots.acquire_owned().await.ok()?;
                let waited = origin.elapsed().as_secs_f64() - due;
                let request = engine.workload.request(first + i);
                let (mut sample, _) =
                    stream_request(&engine.http, &engine.target, &request, origin).await;
                // Latency counts from when the request was due, queueing included.
                let late = waited.max(0.0) * 1000.0;
                sample.start_ms -= late;
                for t in [
                    &mut sample.ttft_ms,
                    &mut sample.e2e_ms,
                    &mut sample.first_chunk_ms,
                ] {
                    if let Some(t) = t.as_mut() {
                        *t += late;
                    }
                }
                for c in sample.chunk_ms.iter_mut() {
                    *c += late;
                }
                Some(sample)
            }
        });
        let samples = futures::future::join_all(tasks)
            .await
            .into_iter()
            .flatten()
            .collect();
        self.measured(samples, cap, origin, rate)
    }
}

#[cfg(test)]
mod tests;
