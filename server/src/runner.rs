//! The deployment test: 11 steps from a model name to a stored benchmark, cancellable,
//! with cleanup that runs on success, failure, cancel and shutdown (unless the person
//! chose to keep the instance after a failure).
//!
//! # Layout
//! - this file: [`Runner`], which validates configurations, enforces the concurrency limit,
//!   starts, lists and cancels runs, and shuts them all down.
//! - `context`: one run's record, log and publication (live channel + database).
//! - `pipeline`: the steps.
//! - [`host`]: the remote host (exec, streamed exec, port forward) and the simulated host.
//! - [`llm`]: the simulated host's OpenAI-compatible streaming server.
//! - [`diagnose`]: host diagnostics and their parsers.
//! - [`loadgen`]: the streaming benchmark client.

mod context;
pub mod diagnose;
pub mod host;
pub mod llm;
pub mod loadgen;
mod pipeline;
pub mod ssh;

use crate::live::Hub;
use crate::shopper::ShopperClient;
use crate::store::Store;
use chrono::Utc;
use context::RunContext;
use gdl_model::api::ApiError;
use gdl_model::live::LiveEvent;
use gdl_model::registry::{self, Quantization};
use gdl_model::runs::{Run, StepName, TestConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How runs behave.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Runs allowed at once.
    pub max_concurrent: usize,
    /// The broker is the embedded simulator: sessions get a simulated host.
    pub simulated: bool,
    /// Time scale of the simulated host's waits (downloads, model loading).
    pub sim_speed: f64,
    /// Requests per load phase, and the concurrency levels (the first is 1).
    pub load_requests: u32,
    pub load_levels: Vec<u32>,
    pub load_max_tokens: u32,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 1,
            simulated: true,
            sim_speed: 10.0,
            load_requests: 12,
            load_levels: vec![1, 4],
            load_max_tokens: 96,
        }
    }
}

/// A cheap-to-clone handle to the runner.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    config: RunnerConfig,
    client: ShopperClient,
    hub: Hub,
    store: Store,
    /// Runs in progress. std Mutex: never held across an await.
    active: Mutex<HashMap<String, Active>>,
    /// Test hook: the next run fails at this step.
    inject_failure: Mutex<Option<StepName>>,
    /// Recent accepted starts, for the rate limit.
    starts: Mutex<StartLimiter>,
}

/// At most `limit` run starts per rolling minute.
#[derive(Debug)]
pub struct StartLimiter {
    limit: usize,
    recent: std::collections::VecDeque<std::time::Instant>,
}

impl StartLimiter {
    /// A limiter allowing `limit` starts a minute.
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            recent: Default::default(),
        }
    }

    /// Records a start at `now`, or says how long to wait.
    pub fn try_start(&mut self, now: std::time::Instant) -> Result<(), Duration> {
        let window = Duration::from_secs(60);
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.limit {
            let oldest = *self.recent.front().expect("non-empty at the limit");
            return Err(window - now.duration_since(oldest));
        }
        self.recent.push_back(now);
        Ok(())
    }
}

struct Active {
    cancel: CancellationToken,
    done: tokio::sync::watch::Receiver<bool>,
}

impl Runner {
    /// A runner over `client`, publishing to `hub` and recording in `store`.
    pub fn new(config: RunnerConfig, client: ShopperClient, hub: Hub, store: Store) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                client,
                hub,
                store,
                active: Mutex::new(HashMap::new()),
                inject_failure: Mutex::new(None),
                starts: Mutex::new(StartLimiter::new(12)),
            }),
        }
    }

    /// Loads recent runs and benchmarks into the live state, and closes runs a previous
    /// process left unfinished (destroying their sessions).
    pub async fn recover(&self) -> Result<(), crate::store::StoreError> {
        let store = &self.inner.store;
        for mut run in store.interrupted_runs().await? {
            let session = run.session_id.clone();
            run.status = gdl_model::runs::RunStatus::Failed;
            run.error = Some("the dashboard stopped during this run".into());
            run.ended_at = Some(Utc::now());
            if let Some(id) = session {
                let confirmed = pipeline::destroy(&self.inner.client, &id).await;
                run.cleanup = Some(gdl_model::runs::CleanupOutcome {
                    destroyed_confirmed: confirmed.is_ok(),
                    kept: false,
                    message: match confirmed {
                        Ok(m) | Err(m) => format!("after a restart: {m}"),
                    },
                });
            }
            store.save_run(&run).await?;
        }
        let mut events = Vec::new();
        let mut runs = store.recent_runs(20).await?;
        runs.reverse();
        for run in runs {
            for line in store.logs(&run.id, 300).await? {
                events.push(LiveEvent::RunLog { line });
            }
            events.push(LiveEvent::RunUpsert { run });
        }
        for benchmark in store.benchmarks(100).await? {
            events.push(LiveEvent::BenchmarkUpsert { benchmark });
        }
        self.inner.hub.publish(events);
        Ok(())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Test hook: makes the next run fail at `step`.
    pub fn inject_failure(&self, step: Option<StepName>) {
        *self.inner.inject_failure.lock().unwrap() = step;
    }

    /// Validates `config` and starts a run. Errors: 400 `invalid_input` (with what is
    /// wrong), 409 `run_in_progress` when the limit is reached.
    pub async fn start(&self, mut config: TestConfig) -> Result<Run, (u16, ApiError)> {
        // Forms send empty strings for "any" / "none".
        config.provider = config.provider.filter(|p| !p.trim().is_empty());
        config.quantization = config.quantization.filter(|q| !q.trim().is_empty());
        let plan = validate(&config).map_err(|e| (400, e))?;
        let id = format!("run-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let cancel = CancellationToken::new();
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        {
            let mut active = self.inner.active.lock().unwrap();
            if active.len() >= self.inner.config.max_concurrent {
                let running: Vec<&String> = active.keys().collect();
                return Err((
                    409,
                    ApiError::new(
                        "run_in_progress",
                        format!(
                            "{} run(s) already in progress ({running:?}); the limit is {}",
                            active.len(),
                            self.inner.config.max_concurrent
                        ),
                    )
                    .with_hint("Wait for it to finish or cancel it, or raise --max-runs."),
                ));
            }
            if let Err(wait) = self
                .inner
                .starts
                .lock()
                .unwrap()
                .try_start(std::time::Instant::now())
            {
                return Err((
                    429,
                    ApiError::new(
                        "rate_limited",
                        "too many runs started in the last minute (at most 12)",
                    )
                    .with_hint(format!("Try again in {} s.", wait.as_secs().max(1))),
                ));
            }
            active.insert(
                id.clone(),
                Active {
                    cancel: cancel.clone(),
                    done: done_rx,
                },
            );
        }
        let run = Run::new(id.clone(), config, Utc::now());
        let failure = self.inner.inject_failure.lock().unwrap().take();
        let ctx = RunContext::new(
            run.clone(),
            self.inner.hub.clone(),
            self.inner.store.clone(),
            cancel,
        );
        ctx.publish().await;
        let runner = self.clone();
        tokio::spawn(async move {
            pipeline::run(
                &runner.inner.client,
                &runner.inner.config,
                ctx,
                plan,
                failure,
            )
            .await;
            runner.inner.active.lock().unwrap().remove(&id);
            let _ = done_tx.send(true);
        });
        Ok(run)
    }

    /// Cancels a run in progress. Errors: 404 unknown run, 409 already finished.
    pub async fn cancel(&self, id: &str) -> Result<(), (u16, ApiError)> {
        let token = self
            .inner
            .active
            .lock()
            .unwrap()
            .get(id)
            .map(|a| a.cancel.clone());
        match token {
            Some(token) => {
                token.cancel();
                Ok(())
            }
            None => match self.inner.store.run(id).await {
                Ok(Some(_)) => Err((
                    409,
                    ApiError::new("run_finished", format!("run {id} has already finished")),
                )),
                _ => Err((
                    404,
                    ApiError::new("run_not_found", format!("no run {id}"))
                        .with_hint("List runs with GET /api/runs."),
                )),
            },
        }
    }

    /// Cancels every run and waits (at most `patience`) for their cleanup.
    pub async fn shutdown(&self, patience: Duration) {
        let waits: Vec<_> = {
            let active = self.inner.active.lock().unwrap();
            active
                .values()
                .map(|a| {
                    a.cancel.cancel();
                    a.done.clone()
                })
                .collect()
        };
        let all = futures::future::join_all(waits.into_iter().map(|mut rx| async move {
            let _ = rx.wait_for(|done| *done).await;
        }));
        if tokio::time::timeout(patience, all).await.is_err() {
            tracing::error!("runs did not finish their cleanup before shutdown; check the broker for running sessions");
        }
    }

    /// Runs in progress.
    pub fn active_count(&self) -> usize {
        self.inner.active.lock().unwrap().len()
    }
}

/// What validation resolved: the model to serve and its VRAM need.
#[derive(Debug)]
pub struct Plan {
    pub model: registry::ResolvedModel,
}

/// Checks every field; the first problem is the error.
pub fn validate(config: &TestConfig) -> Result<Plan, ApiError> {
    let invalid =
        |message: String, hint: &str| ApiError::new("invalid_input", message).with_hint(hint);
    let quantization = match config
        .quantization
        .as_deref()
        .filter(|q| !q.trim().is_empty())
    {
        None => Quantization::None,
        Some(q) => Quantization::parse(q).ok_or_else(|| {
            invalid(
                format!("unknown quantization {q:?}"),
                "Use none, awq, gptq or fp8.",
            )
        })?,
    };
    let model = registry::resolve(&config.model, quantization)
        .map_err(|e| ApiError::new(e.code(), e.to_string()).with_hint(e.hint()))?;
    if !(config.max_price.is_finite() && config.max_price > 0.0 && config.max_price <= 100.0) {
        return Err(invalid(
            format!(
                "max_price must be more than 0 and at most 100 $/h, got {}",
                config.max_price
            ),
            "A small model runs on GPUs from about $0.10/h.",
        ));
    }
    if !(1..=12).contains(&config.reservation_hours) {
        return Err(invalid(
            format!(
                "reservation_hours must be 1 to 12, got {}",
                config.reservation_hours
            ),
            "The broker rents for 1 to 12 hours.",
        ));
    }
    if !(1..=8).contains(&config.gpu_count) {
        return Err(invalid(
            format!("gpu_count must be 1 to 8, got {}", config.gpu_count),
            "Most models here fit on one GPU.",
        ));
    }
    if let Some(p) = config.provider.as_deref().filter(|p| !p.trim().is_empty()) {
        if !gdl_model::shopper::PROVIDERS.contains(&p) {
            return Err(invalid(
                format!("unknown provider {p:?}"),
                "Use vastai or tensordock, or leave it out for any.",
            ));
        }
    }
    Ok(Plan { model })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> TestConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn starts_are_rate_limited_per_minute() {
        let mut limiter = StartLimiter::new(3);
        let t0 = std::time::Instant::now();
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

    #[test]
    fn validation_explains_each_problem() {
        assert!(validate(&config(r#"{"model":"qwen2.5-0.5b","max_price":0.5}"#)).is_ok());
        let e = validate(&config(r#"{"model":"qwen2.5-0.5b","max_price":0}"#)).unwrap_err();
        assert_eq!(e.code, "invalid_input");
        assert!(e.message.contains("max_price"));
        let e = validate(&config(
            r#"{"model":"qwen2.5-0.5b","max_price":1,"reservation_hours":13}"#,
        ))
        .unwrap_err();
        assert!(e.message.contains("reservation_hours"));
        let e = validate(&config(
            r#"{"model":"qwen2.5-0.5b","max_price":1,"provider":"aws"}"#,
        ))
        .unwrap_err();
        assert!(e.message.contains("aws"));
        let e = validate(&config(r#"{"model":"x/y; rm -rf /","max_price":1}"#)).unwrap_err();
        assert_eq!(e.code, "invalid_model_id");
        let e = validate(&config(
            r#"{"model":"gemma-2b","max_price":1,"quantization":"awq"}"#,
        ))
        .unwrap_err();
        assert_eq!(e.code, "quantization_unavailable");
    }
}
