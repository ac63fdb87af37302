//! Runs in the store: each run's JSON body with its id, creation time, status, model and
//! whether its cleanup was confirmed; the sessions it rented (by session id, for the
//! Sessions tab); and its log lines.

use super::db::Statement;
use super::{args, RentalFacts, Store, StoreError};
use gdl_model::ids::{RunId, SessionId};
use gdl_model::runs::{LogLine, Run, RunStatus};
use std::collections::HashMap;

/// The columns a run's body fills besides its status: the model as asked for, and whether
/// the broker confirmed its cleanup.
pub(super) fn columns(run: &Run) -> (String, bool) {
    (
        run.config.model.clone(),
        run.cleanup.as_ref().is_some_and(|c| c.destroyed_confirmed),
    )
}

/// [`columns`] of a stored body.
pub(super) fn columns_of(body: &str) -> serde_json::Result<(String, bool)> {
    Ok(columns(&serde_json::from_str(body)?))
}

impl Store {
    /// Inserts or replaces a run no replica owns (the reconciler's writes, a restart's),
    /// with its rentals. [`StoreError::Fenced`] when a replica holds the run's lease: its
    /// owner's writes win.
    pub async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let (model, confirmed) = columns(run);
        let mut statements = vec![(
            "INSERT INTO runs (id, created_at, status, body, model, cleanup_confirmed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body,
                 model = excluded.model, cleanup_confirmed = excluded.cleanup_confirmed
             WHERE runs.lock_expires_at IS NULL OR runs.lock_expires_at < {now}",
            args![
                run.id.to_string(),
                run.created_at.to_rfc3339(),
                status_column(run.status),
                serde_json::to_string(run)?,
                model,
                confirmed
            ],
        )];
        statements.extend(rental_statements(run));
        if self.batch_guarded(statements).await? {
            Ok(())
        } else {
            Err(StoreError::Fenced(format!(
                "run {} is owned by a replica",
                run.id
            )))
        }
    }

    /// Appends a log line.
    pub async fn append_log(&self, line: &LogLine) -> Result<(), StoreError> {
        self.append_logs(std::slice::from_ref(line)).await
    }

    /// Appends log lines in one transaction (lines already stored are left as they are).
    pub async fn append_logs(&self, lines: &[LogLine]) -> Result<(), StoreError> {
        let mut statements = Vec::with_capacity(lines.len());
        for line in lines {
            statements.push((
                "INSERT INTO logs (run_id, n, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id, n) DO NOTHING",
                args![
                    line.run_id.to_string(),
                    line.n as i64,
                    serde_json::to_string(line)?
                ],
            ));
        }
        self.batch(statements).await?;
        Ok(())
    }

    /// What the store knows of each of `sessions` that one of our runs rented.
    pub async fn rental_facts(
        &self,
        sessions: Vec<SessionId>,
    ) -> Result<HashMap<SessionId, RentalFacts>, StoreError> {
        let mut facts = HashMap::new();
        for id in sessions {
            let rows = self
                .query(
                    "SELECT run_id, running_after_secs, cost_usd FROM rentals WHERE session_id = ?1",
                    args![id.as_str()],
                )
                .await?;
            if let Some(r) = rows.first() {
                let row = RentalFacts {
                    run_id: RunId::from(r.text(0)?),
                    running_after_secs: r.opt_f64(1)?,
                    cost_usd: r.f64(2)?,
                };
                facts.insert(id, row);
            }
        }
        Ok(facts)
    }

    /// The newest `limit` runs, newest first.
    pub async fn recent_runs(&self, limit: u32) -> Result<Vec<Run>, StoreError> {
        self.runs_page(0, limit).await
    }

    /// Finished runs whose cleanup the broker has not confirmed (kept ones included) and
    /// that no replica is still at (their lease free or expired), newest first, at most
    /// `limit`: what the reconciler looks at.
    pub async fn runs_not_confirmed(&self, limit: u32) -> Result<Vec<Run>, StoreError> {
        self.bodies(
            "SELECT body FROM runs WHERE status <> ?1 AND NOT coalesce(cleanup_confirmed, FALSE)
               AND (lock_expires_at IS NULL OR lock_expires_at < {now})
             ORDER BY created_at DESC LIMIT ?2",
            args![status_column(RunStatus::Running), limit],
        )
        .await
    }

    /// The runs created in `[start, end)`, newest first, at most `limit`.
    pub async fn runs_created_between(
        &self,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<Run>, StoreError> {
        // Stored as RFC 3339 in UTC, so text order is time order.
        self.bodies(
            "SELECT body FROM runs WHERE created_at >= ?1 AND created_at < ?2
             ORDER BY created_at DESC, id LIMIT ?3",
            args![start.to_rfc3339(), end.to_rfc3339(), limit],
        )
        .await
    }

    /// `limit` runs after skipping the `offset` newest, newest first.
    pub async fn runs_page(&self, offset: u32, limit: u32) -> Result<Vec<Run>, StoreError> {
        self.runs_matching(None, None, offset, limit).await
    }

    /// `limit` runs in `status` (any when `None`) of `model` as it was asked for (any when
    /// `None`), after skipping the `offset` newest, newest first.
    pub async fn runs_matching(
        &self,
        status: Option<RunStatus>,
        model: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Run>, StoreError> {
        // An unset filter is NULL, which lets every row through (typed: PostgreSQL cannot
        // tell a bare `$1 IS NULL`'s type).
        self.bodies(
            "SELECT body FROM runs
             WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR model = ?2)
             ORDER BY created_at DESC, id LIMIT ?3 OFFSET ?4",
            args![status.map(status_column), model, limit, offset],
        )
        .await
    }

    /// Up to `limit` log lines of a run numbered after `after`, oldest first.
    pub async fn logs_after(
        &self,
        run_id: &RunId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<LogLine>, StoreError> {
        self.bodies(
            "SELECT body FROM logs WHERE run_id = ?1 AND n > ?2 ORDER BY n LIMIT ?3",
            args![run_id.to_string(), after as i64, limit],
        )
        .await
    }

    /// One run.
    pub async fn run(&self, id: &RunId) -> Result<Option<Run>, StoreError> {
        Ok(self
            .bodies("SELECT body FROM runs WHERE id = ?1", args![id.to_string()])
            .await?
            .pop())
    }

    /// A run's log lines, oldest first (the last `limit`).
    pub async fn logs(&self, run_id: &RunId, limit: u32) -> Result<Vec<LogLine>, StoreError> {
        self.bodies(
            "SELECT body FROM (SELECT n, body FROM logs WHERE run_id = ?1 ORDER BY n DESC LIMIT ?2)
                 AS recent ORDER BY n",
            args![run_id.to_string(), limit],
        )
        .await
    }
}

/// The statements that record each session `run` rented.
pub(super) fn rental_statements(run: &Run) -> Vec<Statement> {
    run.rentals
        .iter()
        .map(|r| {
            (
                "INSERT INTO rentals (session_id, run_id, running_after_secs, cost_usd)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (session_id) DO UPDATE SET run_id = excluded.run_id,
                     running_after_secs = excluded.running_after_secs,
                     cost_usd = excluded.cost_usd",
                args![
                    r.session_id.to_string(),
                    run.id.to_string(),
                    r.running_after_secs,
                    r.cost_usd
                ],
            )
        })
        .collect()
}

/// How a run's status is kept in its column (`Running`, `Passed`, ...).
pub(super) fn status_column(status: RunStatus) -> String {
    format!("{status:?}")
}
