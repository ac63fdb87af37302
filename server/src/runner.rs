//! The deployment test: 11 steps from a model name to a stored benchmark, cancellable,
//! with cleanup that runs on success, failure, cancel and shutdown (unless the person
//! chose to keep the instance after a failure).
//!
//! # Layout
//! - this file: [`Runner`], which validates configurations, enforces the concurrency and
//!   rate limits, starts, cancels and shuts down runs, and recovers after a restart.
//! - [`error`]: [`StepError`] (why a step failed) and [`RunError`] (why a request was
//!   refused, with its HTTP status).
//! - `validate`, `limits`: checking a configuration; the start rate limit.
//! - `config`: [`RunnerConfig`].
//! - `recover`: closing runs a previous process left unfinished, after a restart.
//! - `owned`, `takeover`: leases (docs/replicas.md): every run holds one, renewed by a
//!   heartbeat, its writes fenced by its token; runs and deployments whose replica stopped
//!   are taken over; the reconciler runs under a named lease.
//! - [`reconcile`]: the reconciler, which settles what finished runs still owe and destroys
//!   sessions nothing owns.
//! - [`destroy`]: destroying a session until the broker confirms it gone.
//! - `context`: one run's record, log and publication (live channel + database).
//! - `pipeline`, `outcome`: the run loop (step wrapper, skipping, cleanup guarantee) and
//!   how a run ends.
//! - [`steps`]: one file per step, with typed inputs and outputs (a table is there).
//! - [`serving`] (and its `recover`, `end`), `serving_extend`: a deployment's
//!   serving phase after Verify (guards, engine restarts, SSH reconnects, reservation
//!   extensions) and how it ended or was left serving at shutdown; `resume`: deployments
//!   taken back (or stopped) after a restart. The registry is [`crate::deploy`].
//! - `replace`: a host Diagnose host finds unfit for the run is given back and the next
//!   offer rented.
//! - [`host`], [`ssh`]: the remote host and its one implementation, SSH (russh).
//! - [`hub`]: the Hugging Face Hub, asked before renting whether the model is gated.
//! - [`shell`], [`vllm`]: shell quoting, and vLLM's command lines in both install modes.
//! - [`engine_env`]: the engine's secrets on the host, in a file written through stdin.
//! - [`loadgen`]: the streaming benchmark client.
//! - `bounded`: what a stranger's host can make us keep (output tails, line length, bodies).

mod bounded;
mod config;
mod context;
pub(crate) mod owned;
pub use config::RunnerConfig;
pub use owned::LeaseConfig;
mod deploying;
pub mod destroy;
pub mod engine_env;
pub mod engine_fit;
pub mod error;
pub mod history;
pub mod host;
pub mod hub;
mod limits;
pub mod loadgen;
mod lost_host;
mod outcome;
mod pipeline;
pub mod reconcile;
mod recover;
mod replace;
mod resume;
pub mod serving;
mod serving_extend;
pub mod shell;
pub mod ssh;
pub mod steps;
mod takeover;
mod validate;
pub mod vllm;

pub use error::{RunError, StepError};
pub use limits::StartLimiter;
pub use reconcile::ReconcileConfig;
pub use validate::{validate, Plan};

use crate::live::Hub;
use crate::shopper::ShopperClient;
use crate::store::{Lease, Store};
use chrono::Utc;
use context::RunContext;
use gdl_model::ids::RunId;
use gdl_model::live::{
    LiveEvent, BENCHMARKS_KEPT, FINISHED_LOG_TAIL, FINISHED_RUNS_KEPT, LOG_LINES_KEPT,
};
use gdl_model::reconciled::RECONCILED_KEPT;
use gdl_model::runs::{Run, StepName, TestConfig};
use owned::Owned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
    active: Mutex<HashMap<RunId, Active>>,
    /// Test hook: the next run fails at this step.
    inject_failure: Mutex<Option<StepName>>,
    /// Recent accepted starts, for the rate limit.
    starts: Mutex<StartLimiter>,
    /// Asks the reconciler for a pass now.
    reconcile_wake: tokio::sync::Notify,
    reconcile_counters: reconcile::ReconcileCounters,
    /// The deployments this process watches.
    deployments: crate::deploy::Deployments,
    /// This replica's name in the leases it holds.
    replica: String,
    /// The reconciler's lease while a pass runs here.
    reconciling: Mutex<Option<Lease>>,
    /// Other leases the heartbeat extends (the campaigns running here), by key.
    held: Mutex<HashMap<String, Arc<Owned>>>,
}

struct Active {
    cancel: CancellationToken,
    owned: Arc<owned::Owned>,
    done: tokio::sync::watch::Receiver<bool>,
    /// A campaign's run: its campaign limits it, not the runs-at-once limit.
    campaign: bool,
}

impl Runner {
    /// A runner over `client`, publishing to `hub` and recording in `store`.
    pub fn new(config: RunnerConfig, client: ShopperClient, hub: Hub, store: Store) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                client,
                hub: hub.clone(),
                store: store.clone(),
                active: Mutex::new(HashMap::new()),
                inject_failure: Mutex::new(None),
                starts: Mutex::new(StartLimiter::new(12)),
                reconcile_wake: tokio::sync::Notify::new(),
                reconcile_counters: Default::default(),
                deployments: crate::deploy::Deployments::new(store.clone(), hub.clone()),
                replica: owned::replica_name(),
                reconciling: Mutex::new(None),
                held: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Resumes the deployments a previous process left serving (or stops them), loads
    /// recent runs and benchmarks into the live state, and closes runs a previous process
    /// left unfinished; what they rented is the reconciler's ([`Runner::spawn_reconciler`]).
    pub async fn recover(&self) -> Result<(), crate::store::StoreError> {
        let store = &self.inner.store;
        if store.path().is_some() {
            // SQLite: one replica, this one; what its previous process held is its own.
            store.free_all_leases().await?;
        }
        let resumed = resume::deployments(self, |_| true).await?;
        let (owner, ttl) = (&self.inner.replica, self.inner.config.leases.ttl);
        let owing = recover::mark_interrupted(store, &resumed, owner, ttl).await?;
        let mut events = Vec::new();
        // What the live state keeps of finished runs (the rest is fetched on demand).
        let mut runs = store.recent_runs(FINISHED_RUNS_KEPT as u32).await?;
        runs.reverse();
        let newest = runs.last().map(|r| r.id.clone());
        for run in runs {
            let lines = if Some(&run.id) == newest.as_ref() {
                LOG_LINES_KEPT
            } else {
                FINISHED_LOG_TAIL
            };
            for line in store.logs(&run.id, lines as u32).await? {
                events.push(LiveEvent::RunLog { line });
            }
            events.push(LiveEvent::RunUpsert { run });
        }
        for benchmark in store.benchmarks(BENCHMARKS_KEPT as u32).await? {
            events.push(LiveEvent::BenchmarkUpsert { benchmark });
        }
        let mut reconciled = store.reconciled(RECONCILED_KEPT as u32).await?;
        reconciled.reverse();
        events.extend(
            reconciled
                .into_iter()
                .map(|record| LiveEvent::Reconciled { record }),
        );
        self.inner.hub.seed(events);
        if owing > 0 {
            tracing::warn!(
                runs = owing,
                "runs still owe a cleanup: the reconciler destroys what they rented, in the background"
            );
        }
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

    /// Validates `config` and starts a run.
    pub async fn start(&self, config: TestConfig) -> Result<Run, RunError> {
        Ok(self.launch(config, None, false).await?.0)
    }

    /// Validates `config` and starts a run of a campaign: the campaign limits how many run
    /// at once, so neither the runs-at-once limit nor the start rate applies (nor do these
    /// runs count toward the limit for others).
    pub async fn start_for_campaign(&self, config: TestConfig) -> Result<Run, RunError> {
        Ok(self.launch(config, None, true).await?.0)
    }

    /// Run `id` as the live state has it now (a run of the last few, or in progress).
    pub fn live_run(&self, id: &RunId) -> Option<Run> {
        self.inner.hub.with_state(|s| s.runs.get(id).cloned())
    }

    /// Waits until run `id` has ended (at once when it is not running).
    pub async fn ended(&self, id: &RunId) {
        let done = self
            .inner
            .active
            .lock()
            .unwrap()
            .get(id)
            .map(|a| a.done.clone());
        if let Some(mut done) = done {
            let _ = done.wait_for(|d| *d).await;
        }
    }

    /// The deployments this process watches.
    pub fn deployments(&self) -> &crate::deploy::Deployments {
        &self.inner.deployments
    }

    /// Validates `config` and starts a run; for a deployment, registers it (with its first
    /// key) before the run begins.
    async fn launch(
        &self,
        mut config: TestConfig,
        deploy: Option<deploying::Asked>,
        campaign: bool,
    ) -> Result<(Run, Option<deploying::Started>), RunError> {
        // Forms send an empty string for "none".
        config.quantization = config.quantization.filter(|q| !q.trim().is_empty());
        let plan = validate(&config)?;
        // The run records the version it deploys, not "the default" of the day.
        if !config.deploy_mode.broker_launched() {
            config.engine_version = Some(plan.engine.version.to_owned());
        }
        let id = RunId::from(format!(
            "run-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        let cancel = CancellationToken::new();
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        let lease = Lease::new_run(&id, &self.inner.replica);
        let owned = Arc::new(Owned::new(
            lease,
            self.inner.config.leases.ttl,
            cancel.clone(),
        ));
        {
            let mut active = self.inner.active.lock().unwrap();
            // A run whose outcome is published no longer counts, though its task may still
            // be writing its last line: whoever saw it finish may start the next at once.
            let mut running: Vec<String> = self.inner.hub.with_state(|s| {
                active
                    .iter()
                    .filter(|(_, a)| !a.campaign)
                    .map(|(id, _)| id)
                    .filter(|id| s.runs.get(*id).is_none_or(|r| !r.status.is_finished()))
                    .filter(|id| !self.serves(id))
                    .map(RunId::to_string)
                    .collect()
            });
            if !campaign && running.len() >= self.inner.config.max_concurrent {
                running.sort();
                return Err(RunError::Busy {
                    running,
                    limit: self.inner.config.max_concurrent,
                });
            }
            let mut starts = self.inner.starts.lock().unwrap();
            if !campaign {
                if let Err(retry_after) = starts.try_start(std::time::Instant::now()) {
                    return Err(RunError::RateLimited {
                        limit: starts.limit(),
                        retry_after,
                    });
                }
            }
            active.insert(
                id.clone(),
                Active {
                    cancel: cancel.clone(),
                    owned: owned.clone(),
                    done: done_rx,
                    campaign,
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
            owned.clone(),
        );
        let (ticket, started) = match deploy {
            Some(asked) => match deploying::register(self, asked, &run, &plan).await {
                Ok((ticket, started)) => (Some(ticket), Some(started)),
                Err(e) => {
                    self.inner.active.lock().unwrap().remove(&id);
                    return Err(e);
                }
            },
            None => (None, None),
        };
        ctx.publish().await;
        let runner = self.clone();
        tokio::spawn(async move {
            let inner = &runner.inner;
            pipeline::run(&inner.client, &inner.config, ctx, plan, failure, ticket).await;
            owned.release(&inner.store).await;
            inner.active.lock().unwrap().remove(&id);
            let _ = done_tx.send(true);
            runner.reconcile_soon();
        });
        Ok((run, started))
    }

    /// Cancels a run in progress.
    pub async fn cancel(&self, id: &RunId) -> Result<(), RunError> {
        let token = self
            .inner
            .active
            .lock()
            .unwrap()
            .get(id)
            .map(|a| a.cancel.clone());
        if let Some(token) = token {
            token.cancel();
            return Ok(());
        }
        // Another replica's run (several replicas): asked through the database.
        if self.inner.store.shares_events()
            && self
                .inner
                .store
                .request_run(id, crate::store::requests::CANCEL)
                .await?
        {
            return Ok(());
        }
        match self.inner.store.run(id).await? {
            Some(_) => Err(RunError::Finished(id.clone())),
            None => Err(RunError::NotFound(id.clone())),
        }
    }

    /// Cancels every run and waits (at most `patience`) for their cleanup; returns how many
    /// runs finished their cleanup in time and how many did not.
    pub async fn shutdown(&self, patience: Duration) -> (usize, usize) {
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
        let total = waits.len();
        let finished = std::sync::atomic::AtomicUsize::new(0);
        let all = futures::future::join_all(waits.into_iter().map(|mut rx| {
            let finished = &finished;
            async move {
                if rx.wait_for(|done| *done).await.is_ok() {
                    finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }));
        if tokio::time::timeout(patience, all).await.is_err() {
            tracing::error!("runs did not finish their cleanup before shutdown; check the broker for running sessions");
        }
        let finished = finished.load(std::sync::atomic::Ordering::SeqCst);
        (finished, total - finished)
    }

    /// Runs in progress.
    pub fn active_count(&self) -> usize {
        self.inner.active.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    /// The runner stays in small files (a step that grows gets split, not appended to).
    #[test]
    fn runner_files_stay_small() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runner");
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                let limit = if path.ends_with("pipeline.rs") {
                    250
                } else {
                    400
                };
                assert!(
                    lines <= limit,
                    "{} has {lines} lines (at most {limit})",
                    path.display()
                );
            }
        }
    }
}
