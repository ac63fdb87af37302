//! Benchmark records and their raw samples in the store.

use super::{Store, StoreError};
use gdl_model::benchmark::Sample;
use gdl_model::runs::BenchmarkRecord;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Saves a benchmark and its raw samples (phase name → samples) in one transaction.
    pub async fn save_benchmark(
        &self,
        record: &BenchmarkRecord,
        samples: Vec<(String, Vec<Sample>)>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(record)?;
        let (id, run_id, created) = (
            record.id.clone(),
            record.run_id.clone(),
            record.created_at.to_rfc3339(),
        );
        let mut rows = Vec::new();
        for (phase, list) in samples {
            for (i, s) in list.iter().enumerate() {
                rows.push((phase.clone(), i as i64, serde_json::to_string(s)?));
            }
        }
        let sql = self.sql();
        self.with(move |c| {
            let tx = c.transaction().map_err(&sql)?;
            tx.execute(
                "INSERT OR REPLACE INTO benchmarks (id, run_id, created_at, body) VALUES (?1, ?2, ?3, ?4)",
                params![id, run_id, created, body],
            )
            .map_err(&sql)?;
            for (phase, idx, body) in rows {
                tx.execute(
                    "INSERT OR REPLACE INTO samples (benchmark_id, phase, idx, body) VALUES (?1, ?2, ?3, ?4)",
                    params![id, phase, idx, body],
                )
                .map_err(&sql)?;
            }
            tx.commit().map_err(&sql)?;
            Ok(())
        })
        .await
    }

    /// Records the settled cost of the test behind benchmark `id`; the updated record, or
    /// `None` when there is no such benchmark.
    pub async fn set_benchmark_cost(
        &self,
        id: &str,
        usd: f64,
    ) -> Result<Option<BenchmarkRecord>, StoreError> {
        let id = id.to_owned();
        let sql = self.sql();
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM benchmarks WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(&sql)?;
            let Some(body) = body else { return Ok(None) };
            let mut record: BenchmarkRecord = serde_json::from_str(&body)?;
            record.test_cost_usd = Some(usd);
            c.execute(
                "UPDATE benchmarks SET body = ?2 WHERE id = ?1",
                params![id, serde_json::to_string(&record)?],
            )
            .map_err(&sql)?;
            Ok(Some(record))
        })
        .await
    }

    /// Benchmarks, newest first.
    pub async fn benchmarks(&self, limit: u32) -> Result<Vec<BenchmarkRecord>, StoreError> {
        self.benchmarks_page(0, limit).await
    }

    /// The `limit` newest benchmarks created before `before`, newest first.
    pub async fn benchmarks_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<BenchmarkRecord>, StoreError> {
        self.bodies(
            "SELECT body FROM benchmarks WHERE created_at < ?1 ORDER BY created_at DESC, id LIMIT ?2",
            vec![before.to_rfc3339(), limit.to_string()],
        )
        .await
    }

    /// `limit` benchmarks after skipping the `offset` newest, newest first.
    pub async fn benchmarks_page(
        &self,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<BenchmarkRecord>, StoreError> {
        self.bodies(
            "SELECT body FROM benchmarks ORDER BY created_at DESC, id LIMIT ?1 OFFSET ?2",
            vec![limit.to_string(), offset.to_string()],
        )
        .await
    }

    /// One benchmark with its raw samples by phase.
    pub async fn benchmark(
        &self,
        id: &str,
    ) -> Result<Option<(BenchmarkRecord, Vec<(String, Sample)>)>, StoreError> {
        let (id, sql) = (id.to_owned(), self.sql());
        self.with(move |c| {
            let body: Option<String> = c
                .query_row("SELECT body FROM benchmarks WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(&sql)?;
            let Some(body) = body else { return Ok(None) };
            let mut stmt = c
                .prepare(
                    "SELECT phase, body FROM samples WHERE benchmark_id = ?1 ORDER BY phase, idx",
                )
                .map_err(&sql)?;
            let rows = stmt
                .query_map([&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(&sql)?;
            let mut samples = Vec::new();
            for row in rows {
                let (phase, body) = row.map_err(&sql)?;
                samples.push((phase, serde_json::from_str(&body)?));
            }
            Ok(Some((serde_json::from_str(&body)?, samples)))
        })
        .await
    }
}
