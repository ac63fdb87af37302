//! Benchmark records and their raw samples in the store.

use super::{Store, StoreError};
use gdl_model::benchmark::Sample;
use gdl_model::legacy::{self, ImportReport, OldFile};
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
            record.id.to_string(),
            record.run_id.to_string(),
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

    /// Imports the old Python dashboard's benchmark files: each one read as our record and
    /// saved, unless it cannot be read or its id is one of our own benchmarks' (never
    /// overwritten; a file imported before is imported again). Returns what was done and
    /// the records saved.
    pub async fn import_legacy(
        &self,
        files: Vec<OldFile>,
    ) -> Result<(ImportReport, Vec<BenchmarkRecord>), StoreError> {
        let (mut report, mut saved) = (ImportReport::default(), Vec::new());
        for file in files {
            let record = match legacy::import(&file.text, &file.name) {
                Ok(record) => record,
                Err(why) => {
                    report.skipped.push(why);
                    continue;
                }
            };
            if let Some((ours, _)) = self.benchmark(&record.id).await? {
                if !legacy::is_imported(&ours) {
                    report.skipped.push(format!(
                        "{}: {} is the id of a benchmark of ours, which is kept",
                        file.name, record.id
                    ));
                    continue;
                }
            }
            self.save_benchmark(&record, Vec::new()).await?;
            report.imported.push(record.id.to_string());
            saved.push(record);
        }
        Ok((report, saved))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn old(id: &str, ttft: f64) -> OldFile {
        OldFile {
            name: format!("{id}.json"),
            text: serde_json::json!({"id": id, "timestamp": "2026-01-10T12:00:00Z",
                "model_id": "m", "provider": "vastai", "gpu_type": "RTX 3090",
                "avg_time_to_first_token_ms": ttft, "prompts_tested": 3})
            .to_string(),
        }
    }

    #[tokio::test]
    async fn an_import_replaces_an_earlier_import_but_never_a_benchmark_of_ours() {
        let dir = std::env::temp_dir().join(format!("gdl-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir).unwrap();
        let (report, saved) = store
            .import_legacy(vec![old("bench-1", 100.0), old("bench-2", 200.0)])
            .await
            .unwrap();
        assert_eq!(report.imported, ["bench-1", "bench-2"]);
        assert_eq!(saved.len(), 2);
        // Ours, with the id an old file also has.
        let ours = BenchmarkRecord {
            external: false,
            workload: None,
            ..saved[1].clone()
        };
        store.save_benchmark(&ours, Vec::new()).await.unwrap();
        let (report, _) = store
            .import_legacy(vec![
                old("bench-1", 150.0),
                old("bench-2", 250.0),
                OldFile {
                    name: "broken.json".into(),
                    text: "{".into(),
                },
            ])
            .await
            .unwrap();
        assert_eq!(report.imported, ["bench-1"], "{report:?}");
        assert_eq!(report.skipped.len(), 2);
        assert!(report.skipped[0].contains("bench-2 is the id of a benchmark of ours"));
        assert!(report.skipped[1].starts_with("broken.json:"));
        let ttft = |r: &BenchmarkRecord| r.phases[0].ttft_ms.p50;
        let (again, _) = store.benchmark("bench-1").await.unwrap().unwrap();
        assert_eq!(ttft(&again), 150.0, "imported again");
        let (kept, _) = store.benchmark("bench-2").await.unwrap().unwrap();
        assert!(!kept.external && ttft(&kept) == 200.0, "ours is kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
