//! The live state a client mirrors, and the one rule both sides apply an event by
//! ([`LiveState::apply`]): upserts and removals by id, bounded so the state does not grow
//! with the history.

use super::LiveEvent;
use crate::campaigns::record::Campaign;
use crate::deployments::Deployment;
use crate::ids::{BenchmarkId, CampaignId, DeploymentId, RunId, SessionId};
use crate::reconciled::{Reconciled, RECONCILED_KEPT};
use crate::runs::{BenchmarkRecord, LogLine, Run};
use crate::sessions::SessionView;
use crate::status::StatusView;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The full state a client mirrors. A snapshot replaces the client's copy entirely.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveState {
    /// Broker status and offer counts; `None` before the first check.
    pub status: Option<StatusView>,
    /// Our sessions by id.
    pub sessions: BTreeMap<SessionId, SessionView>,
    /// Runs in progress and the [`FINISHED_RUNS_KEPT`] newest finished ones, by id (older
    /// runs: `GET /api/runs`).
    #[serde(default)]
    pub runs: BTreeMap<RunId, Run>,
    /// The log of each run kept, oldest line first: the last [`LOG_LINES_KEPT`] lines of
    /// runs in progress and of the newest run, the last [`FINISHED_LOG_TAIL`] of the other
    /// finished runs (the whole log: `GET /api/runs/{id}/logs`).
    #[serde(default)]
    pub logs: BTreeMap<RunId, Vec<LogLine>>,
    /// The [`BENCHMARKS_KEPT`] newest benchmark records by id, samples left out (older
    /// records and samples: `GET /api/benchmarks`).
    #[serde(default)]
    pub benchmarks: BTreeMap<BenchmarkId, BenchmarkRecord>,
    /// The [`RECONCILED_KEPT`] newest sessions the reconciler destroyed because nothing
    /// owned them, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconciled: Vec<Reconciled>,
    /// Deployments still up and the [`FINISHED_DEPLOYMENTS_KEPT`] newest ended ones, by id
    /// (older ones: `GET /api/deployments`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<DeploymentId, Deployment>,
    /// Campaigns still running and the [`FINISHED_CAMPAIGNS_KEPT`] newest ended ones, by id
    /// (older ones: `GET /api/campaigns`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub campaigns: BTreeMap<CampaignId, Campaign>,
}

/// Ended deployments kept in the live state.
pub const FINISHED_DEPLOYMENTS_KEPT: usize = 10;
/// Ended campaigns kept in the live state.
pub const FINISHED_CAMPAIGNS_KEPT: usize = 5;

/// Log lines kept per run in progress in the live state; older ones stay in the database.
pub const LOG_LINES_KEPT: usize = 2000;
/// Finished runs kept in the live state, newest first. With the bounds below, the state a
/// new browser receives does not grow with the history: the 1,000th run costs the page no
/// more than the 10th.
pub const FINISHED_RUNS_KEPT: usize = 5;
/// Log lines kept per finished run in the live state, but for the newest run (shown as
/// the current one, with its log as it was while it ran).
pub const FINISHED_LOG_TAIL: usize = 20;
/// Benchmark records kept in the live state.
pub const BENCHMARKS_KEPT: usize = 10;

impl LiveState {
    /// Applies one event. Applying the same event twice leaves the same state.
    ///
    /// Run upserts also drop the oldest finished runs (and their logs) past
    /// [`FINISHED_RUNS_KEPT`]; log lines and benchmarks are bounded the same way.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::live::{LiveEvent, LiveState};
    ///
    /// let line: LiveEvent = serde_json::from_str(r#"{"kind":"run_log","line":{"run_id":"run-1",
    ///     "n":1,"at":"2026-11-24T01:00:00Z","level":"warn","message":"retrying"}}"#)?;
    /// let mut state = LiveState::default();
    /// state.apply(&line);
    /// state.apply(&line); // a duplicate (same n) is not added twice
    /// assert_eq!(state.logs["run-1"].len(), 1);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn apply(&mut self, event: &LiveEvent) {
        match event {
            LiveEvent::Status { status } => self.status = Some(status.clone()),
            LiveEvent::SessionUpsert { session } => {
                self.sessions.insert(session.id.clone(), session.clone());
            }
            LiveEvent::SessionRemoved { id } => {
                self.sessions.remove(id);
            }
            LiveEvent::RunUpsert { run } => {
                self.runs.insert(run.id.clone(), run.clone());
                self.prune_runs();
            }
            LiveEvent::RunLog { line } => {
                let keep = self.log_lines_kept(&line.run_id);
                let lines = self.logs.entry(line.run_id.clone()).or_default();
                // Idempotent: a line already applied (same n) is not added twice.
                if lines.last().is_none_or(|last| last.n < line.n) {
                    lines.push(line.clone());
                    if lines.len() > keep {
                        lines.drain(..lines.len() - keep);
                    }
                }
            }
            LiveEvent::BenchmarkUpsert { benchmark } => {
                self.benchmarks
                    .insert(benchmark.id.clone(), benchmark.clone());
                if self.benchmarks.len() > BENCHMARKS_KEPT {
                    let mut by_age: Vec<_> = self
                        .benchmarks
                        .values()
                        .map(|b| (b.created_at, b.id.clone()))
                        .collect();
                    by_age.sort();
                    for (_, id) in by_age.iter().take(by_age.len() - BENCHMARKS_KEPT) {
                        self.benchmarks.remove(id);
                    }
                }
            }
            LiveEvent::Reconciled { record } => {
                self.reconciled
                    .retain(|r| r.session.id != record.session.id);
                self.reconciled.insert(0, record.clone());
                self.reconciled.truncate(RECONCILED_KEPT);
            }
            LiveEvent::DeploymentUpsert { deployment } => {
                self.deployments
                    .insert(deployment.id.clone(), deployment.clone());
                keep_newest_ended(
                    &mut self.deployments,
                    |d| d.status.is_finished().then_some(d.created_at),
                    FINISHED_DEPLOYMENTS_KEPT,
                );
            }
            LiveEvent::CampaignUpsert { campaign } => {
                self.campaigns.insert(campaign.id.clone(), campaign.clone());
                keep_newest_ended(
                    &mut self.campaigns,
                    |c| c.status.is_finished().then_some(c.created_at),
                    FINISHED_CAMPAIGNS_KEPT,
                );
            }
        }
    }

    /// How many log lines run `id` keeps: all but the oldest past [`LOG_LINES_KEPT`] while
    /// it runs or is the newest run (or is not known yet), [`FINISHED_LOG_TAIL`] otherwise.
    fn log_lines_kept(&self, id: &str) -> usize {
        let Some(run) = self.runs.get(id) else {
            return LOG_LINES_KEPT;
        };
        let newest = self
            .runs
            .values()
            .all(|r| (r.created_at, &r.id) <= (run.created_at, &run.id));
        if !run.status.is_finished() || newest {
            LOG_LINES_KEPT
        } else {
            FINISHED_LOG_TAIL
        }
    }

    /// Keeps runs in progress and the newest finished ones, with the tail of their logs.
    /// Deterministic, so the server's state and every browser's copy stay the same.
    fn prune_runs(&mut self) {
        let mut finished: Vec<_> = self
            .runs
            .values()
            .filter(|r| r.status.is_finished())
            .map(|r| (r.created_at, r.id.clone()))
            .collect();
        finished.sort();
        let old = finished.len().saturating_sub(FINISHED_RUNS_KEPT);
        for (_, id) in &finished[..old] {
            self.runs.remove(id);
            self.logs.remove(id);
        }
        for (_, id) in &finished[old..] {
            let keep = self.log_lines_kept(id);
            if let Some(lines) = self.logs.get_mut(id) {
                if lines.len() > keep {
                    lines.drain(..lines.len() - keep);
                }
            }
        }
    }

    /// The run to show as current: the newest one in progress, else the newest one.
    /// Derived from server state only, so it never belongs to an old run by mistake.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use gdl_model::live::{LiveEvent, LiveState};
    /// use gdl_model::runs::{Run, RunStatus};
    ///
    /// let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":0.5}"#)?;
    /// let at = |minute| Utc.with_ymd_and_hms(2026, 11, 24, 10, minute, 0).unwrap();
    /// let running = Run::new("run-1".into(), config, at(0));
    /// let mut finished = Run::new("run-2".into(), running.config.clone(), at(5));
    /// finished.status = RunStatus::Passed;
    ///
    /// let mut state = LiveState::default();
    /// state.apply(&LiveEvent::RunUpsert { run: running });
    /// state.apply(&LiveEvent::RunUpsert { run: finished });
    /// assert_eq!(state.current_run().unwrap().id, "run-1", "in progress wins");
    /// assert_eq!(state.runs_newest_first()[0].id, "run-2");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn current_run(&self) -> Option<&Run> {
        let newest = |a: &&Run, b: &&Run| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        };
        self.runs
            .values()
            .filter(|r| !r.status.is_finished())
            .max_by(newest)
            .or_else(|| self.runs.values().max_by(newest))
    }

    /// Runs, newest first.
    pub fn runs_newest_first(&self) -> Vec<Run> {
        let mut list: Vec<Run> = self.runs.values().cloned().collect();
        list.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        list
    }

    /// Our running or provisioning sessions that no run in progress owns (none has rented
    /// it), newest first: they cost money and nothing uses them. A session created after a
    /// run in progress started is not counted: that run's create may not have recorded it
    /// yet. Another installation's sessions ([`SessionView::foreign`]) are never orphans.
    pub fn orphans(&self) -> Vec<&SessionView> {
        use crate::shopper::SessionStatus;
        let live: Vec<&Run> = self
            .runs
            .values()
            .filter(|r| !r.status.is_finished())
            .collect();
        let owned = |id: &str| {
            live.iter().any(|r| {
                r.session_id.as_deref() == Some(id) || r.rentals.iter().any(|x| x.session_id == id)
            })
        };
        let mut list: Vec<&SessionView> = self
            .sessions
            .values()
            .filter(|s| {
                matches!(
                    s.status,
                    SessionStatus::Running | SessionStatus::Provisioning
                )
            })
            .filter(|s| !s.foreign && !owned(&s.id))
            .filter(|s| live.iter().all(|r| r.created_at > s.created_at))
            .collect();
        list.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        list
    }

    /// What [`LiveState::orphans`] cost an hour, USD.
    pub fn orphan_burn_per_hour(&self) -> f64 {
        self.orphans().iter().map(|s| s.price_per_hour).sum()
    }

    /// Sessions, newest first (then by id, for a stable order).
    pub fn sessions_newest_first(&self) -> Vec<SessionView> {
        let mut list: Vec<SessionView> = self.sessions.values().cloned().collect();
        list.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        list
    }
}

/// Drops the oldest ended entries of `map` past `kept`; `ended` gives an entry's creation
/// time when it has ended, `None` while it goes on.
fn keep_newest_ended<K: Ord + Clone, V>(
    map: &mut BTreeMap<K, V>,
    ended: impl Fn(&V) -> Option<chrono::DateTime<chrono::Utc>>,
    kept: usize,
) {
    let mut done: Vec<_> = map
        .iter()
        .filter_map(|(k, v)| ended(v).map(|at| (at, k.clone())))
        .collect();
    done.sort();
    let excess = done.len().saturating_sub(kept);
    for (_, k) in done.into_iter().take(excess) {
        map.remove(&k);
    }
}
