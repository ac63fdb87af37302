//! One run's shared record: every change is saved and published, and every log line is
//! numbered, stored and sent to the browsers.

use super::bounded::{truncate, MAX_LINE};
use super::error::StepError;

/// Info lines a run keeps (published and stored).
pub const MAX_RUN_LINES: u64 = 5_000;
/// The longest step reason kept, in bytes (a log tail included).
const MAX_REASON: usize = 8 * 1024;
use super::owned::Owned;
use crate::live::Hub;
use crate::store::{Store, StoreError};
use chrono::Utc;
use gdl_model::ids::RunId;
use gdl_model::live::LiveEvent;
use gdl_model::runs::{LogLevel, LogLine, Run, StepName, StepStatus, TestConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A run in progress. Its std mutexes are never held across an `.await`.
pub struct RunContext {
    run: Mutex<Run>,
    hub: Hub,
    store: Store,
    cancel: CancellationToken,
    lines: AtomicU64,
    /// Info lines left out since the last note (over the limit).
    omitted: AtomicU64,
    step: Mutex<Option<StepName>>,
    /// Session creates in flight at the broker (cleanup waits for them).
    creates: tokio::sync::watch::Sender<u32>,
    /// The run's lease: every write carries it.
    owned: Arc<Owned>,
}

/// A create in flight; dropping it says the create has ended and its session (if any) is
/// recorded on the run.
pub struct CreateInFlight(Arc<RunContext>);

impl Drop for CreateInFlight {
    fn drop(&mut self) {
        self.0.creates.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl RunContext {
    pub fn new(
        run: Run,
        hub: Hub,
        store: Store,
        cancel: CancellationToken,
        owned: Arc<Owned>,
    ) -> Self {
        Self {
            run: Mutex::new(run),
            hub,
            store,
            cancel,
            lines: AtomicU64::new(0),
            omitted: AtomicU64::new(0),
            step: Mutex::new(None),
            creates: tokio::sync::watch::Sender::new(0),
            owned,
        }
    }

    /// The run's lease.
    pub fn owned(&self) -> &Arc<Owned> {
        &self.owned
    }

    /// Numbers the next log line after `last` (a run taken up again after a restart).
    pub fn continue_log_after(&self, last: u64) {
        self.lines.store(last, Ordering::SeqCst);
    }

    /// Counts a session create in flight until the returned guard is dropped.
    pub fn create_in_flight(self: &Arc<Self>) -> CreateInFlight {
        self.creates.send_modify(|n| *n += 1);
        CreateInFlight(self.clone())
    }

    /// Waits (at most `patience`) until no create is in flight; false if one still is.
    pub async fn creates_settled(&self, patience: Duration) -> bool {
        let mut rx = self.creates.subscribe();
        let settled = tokio::time::timeout(patience, rx.wait_for(|n| *n == 0))
            .await
            .is_ok();
        settled
    }

    /// A copy of the run now.
    pub fn snapshot(&self) -> Run {
        self.run.lock().unwrap().clone()
    }

    /// Reads one thing from the run without copying all of it.
    pub fn read<T>(&self, f: impl FnOnce(&Run) -> T) -> T {
        f(&self.run.lock().unwrap())
    }

    pub fn id(&self) -> RunId {
        self.read(|run| run.id.clone())
    }

    pub fn config(&self) -> TestConfig {
        self.read(|run| run.config.clone())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Publishes the run as it is, then saves it: whoever reads a finished run over REST
    /// (from the store) finds the runner already counting it finished (from the hub). Once
    /// another replica has taken the run over, nothing is published or saved.
    pub async fn publish(&self) {
        if self.owned.is_lost() {
            return;
        }
        let run = self.snapshot();
        self.hub
            .publish([LiveEvent::RunUpsert { run: run.clone() }]);
        match self
            .store
            .save_run_owned(&run, &self.owned.lease, self.owned.ttl)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Fenced(_)) => self.owned.lose(),
            Err(e) => tracing::error!(run = %run.id, error = %e, "could not save the run"),
        }
    }

    /// Changes the run, then saves and publishes it.
    pub async fn update(&self, change: impl FnOnce(&mut Run)) {
        change(&mut self.run.lock().unwrap());
        self.publish().await;
    }

    /// Says how many lines were left out since the last such note, if any.
    pub fn note_omitted(&self) {
        let omitted = self.omitted.swap(0, Ordering::SeqCst);
        if omitted > 0 {
            self.warn(&format!(
                "{omitted} lines omitted (a run keeps at most {MAX_RUN_LINES} info lines)"
            ));
        }
    }

    /// Marks a step running.
    pub async fn step_started(&self, name: StepName) {
        self.note_omitted();
        *self.step.lock().unwrap() = Some(name);
        self.update(|run| {
            let step = run.step_mut(name);
            step.status = StepStatus::Running;
            step.started_at = Some(Utc::now());
        })
        .await;
        self.info(&format!("{}…", name.label()));
    }

    /// Ends a step: complete or skipped without an error, failed (or skipped) with one.
    pub async fn step_ended(&self, name: StepName, status: StepStatus, error: Option<StepError>) {
        self.update(|run| {
            let step = run.step_mut(name);
            step.status = status;
            step.ended_at = Some(Utc::now());
            if let Some(e) = error {
                step.reason = Some(truncate(&e.message, MAX_REASON).into_owned());
                step.code = Some(e.code);
                step.hint = e.hint;
            }
        })
        .await;
    }

    /// Marks a step skipped, saying why.
    pub async fn step_skipped(&self, name: StepName, reason: &str) {
        self.update(|run| {
            let step = run.step_mut(name);
            step.status = StepStatus::Skipped;
            if step.started_at.is_some() {
                step.ended_at = Some(Utc::now());
            }
            step.reason = Some(reason.to_owned());
        })
        .await;
    }

    /// Sets a step's one-line result.
    pub async fn detail(&self, name: StepName, detail: String) {
        self.update(|run| run.step_mut(name).detail = Some(detail))
            .await;
    }

    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message)
    }

    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message)
    }

    pub fn error(&self, message: &str) {
        self.log(LogLevel::Error, message)
    }

    /// Logs a line: numbered, published at once, stored in the background. A run keeps at
    /// most [`MAX_RUN_LINES`] info lines (warnings and errors always); the rest are counted
    /// and summarised as "N lines omitted" at the next step.
    pub fn log(&self, level: LogLevel, message: &str) {
        let kept = self.lines.load(Ordering::SeqCst);
        if level == LogLevel::Info && kept >= MAX_RUN_LINES {
            self.omitted.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let message = truncate(message, MAX_LINE);
        let line = LogLine {
            run_id: self.id(),
            n: self.lines.fetch_add(1, Ordering::SeqCst) + 1,
            at: Utc::now(),
            level,
            step: *self.step.lock().unwrap(),
            message: message.into_owned(),
        };
        match level {
            LogLevel::Error => tracing::warn!(run = %line.run_id, "{}", line.message),
            _ => tracing::debug!(run = %line.run_id, "{}", line.message),
        }
        if self.owned.is_lost() {
            return;
        }
        let (store, owned) = (self.store.clone(), self.owned.clone());
        let stored = line.clone();
        tokio::spawn(async move {
            let lines = std::slice::from_ref(&stored);
            if let Err(e) = store.append_logs_owned(lines, &owned.lease).await {
                tracing::error!(error = %e, "could not store a log line");
            }
        });
        self.hub.publish([LiveEvent::RunLog { line }]);
    }
}
