//! Runs in the store: each run's JSON body with its id, creation time and status, the
//! sessions it rented (by session id, for the Sessions tab), and its log lines.

use super::{RentalFacts, Store, StoreError};
use gdl_model::ids::{RunId, SessionId};
use gdl_model::runs::{LogLine, Run, RunStatus};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

impl Store {
    /// Inserts or replaces a run.
    pub async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let body = serde_json::to_string(run)?;
        let (id, created, status) = (
            run.id.to_string(),
            run.created_at.to_rfc3339(),
            status_column(run.status),
        );
        let rentals: Vec<(String, Option<f64>, f64)> = run
            .rentals
            .iter()
            .map(|r| (r.session_id.to_string(), r.running_after_secs, r.cost_usd))
            .collect();
        let sql = self.sql();
        self.with(move |c| {
            let tx = c.transaction().map_err(&sql)?;
            tx.execute(
                "INSERT INTO runs (id, created_at, status, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
                params![id, created, status, body],
            )
            .map_err(&sql)?;
            for (session, running_after, cost) in rentals {
                tx.execute(
                    "INSERT OR REPLACE INTO rentals (session_id, run_id, running_after_secs, cost_usd)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![session, id, running_after, cost],
                )
                .map_err(&sql)?;
            }
            tx.commit().map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// Appends a log line.
    pub async fn append_log(&self, line: &LogLine) -> Result<(), StoreError> {
        self.append_logs(std::slice::from_ref(line)).await
    }

    /// Appends log lines in one transaction (lines already stored are left as they are).
    pub async fn append_logs(&self, lines: &[LogLine]) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(lines.len());
        for line in lines {
            rows.push((
                line.run_id.to_string(),
                line.n as i64,
                serde_json::to_string(line)?,
            ));
        }
        let sql = self.sql();
        self.with(move |c| {
            let tx = c.transaction().map_err(&sql)?;
            for (run_id, n, body) in rows {
                tx.execute(
                    "INSERT OR IGNORE INTO logs (run_id, n, body) VALUES (?1, ?2, ?3)",
                    params![run_id, n, body],
                )
                .map_err(&sql)?;
            }
            tx.commit().map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// What the store knows of each of `sessions` that one of our runs rented.
    pub async fn rental_facts(
        &self,
        sessions: Vec<SessionId>,
    ) -> Result<HashMap<SessionId, RentalFacts>, StoreError> {
        let sql = self.sql();
        self.with(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT run_id, running_after_secs, cost_usd FROM rentals WHERE session_id = ?1",
                )
                .map_err(&sql)?;
            let mut facts = HashMap::new();
            for id in sessions {
                let row = stmt
                    .query_row(params![id.as_str()], |r| {
                        Ok(RentalFacts {
                            run_id: RunId::from(r.get::<_, String>(0)?),
                            running_after_secs: r.get(1)?,
                            cost_usd: r.get(2)?,
                        })
                    })
                    .optional()
                    .map_err(&sql)?;
                if let Some(row) = row {
                    facts.insert(id, row);
                }
            }
            Ok(facts)
        })
        .await
    }

    /// The newest `limit` runs, newest first.
    pub async fn recent_runs(&self, limit: u32) -> Result<Vec<Run>, StoreError> {
        self.runs_page(0, limit).await
    }

    /// Finished runs whose cleanup the broker has not confirmed (kept ones included),
    /// newest first, at most `limit`: what the reconciler looks at.
    pub async fn runs_not_confirmed(&self, limit: u32) -> Result<Vec<Run>, StoreError> {
        self.bodies(
            "SELECT body FROM runs WHERE status <> ?1
               AND coalesce(json_extract(body, '$.cleanup.destroyed_confirmed'), 0) = 0
             ORDER BY created_at DESC LIMIT ?2",
            vec![status_column(RunStatus::Running), limit.to_string()],
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
            vec![start.to_rfc3339(), end.to_rfc3339(), limit.to_string()],
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
        // An unset filter is NULL, which lets every row through.
        let (status, model) = (status.map(status_column), model.map(str::to_owned));
        let sql = self.sql();
        self.with(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT body FROM runs
                     WHERE (?1 IS NULL OR status = ?1)
                       AND (?2 IS NULL OR json_extract(body, '$.config.model') = ?2)
                     ORDER BY created_at DESC, id LIMIT ?3 OFFSET ?4",
                )
                .map_err(&sql)?;
            let rows = stmt
                .query_map(params![status, model, limit, offset], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(&sql)?;
            let mut list = Vec::new();
            for row in rows {
                list.push(serde_json::from_str(&row.map_err(&sql)?)?);
            }
            Ok(list)
        })
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
            vec![run_id.to_string(), after.to_string(), limit.to_string()],
        )
        .await
    }

    /// One run.
    pub async fn run(&self, id: &RunId) -> Result<Option<Run>, StoreError> {
        let (id, sql) = (id.to_string(), self.sql());
        self.with(move |c| {
            let body: Option<String> = c
                .query_row("SELECT body FROM runs WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(sql)?;
            Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
        })
        .await
    }

    /// A run's log lines, oldest first (the last `limit`).
    pub async fn logs(&self, run_id: &RunId, limit: u32) -> Result<Vec<LogLine>, StoreError> {
        self.bodies(
            "SELECT body FROM (SELECT n, body FROM logs WHERE run_id = ?1 ORDER BY n DESC LIMIT ?2) ORDER BY n",
            vec![run_id.to_string(), limit.to_string()],
        )
        .await
    }
}

/// How a run's status is kept in its column (`Running`, `Passed`, ...).
fn status_column(status: RunStatus) -> String {
    format!("{status:?}")
}
