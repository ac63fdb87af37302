//! Benchmark records and their raw samples in the store.

use super::{args, Store, StoreError};
use gdl_model::benchmark::Sample;
use gdl_model::legacy::{self, ImportReport, OldFile};
use gdl_model::runs::BenchmarkRecord;

impl Store {
    /// Saves a benchmark and its raw samples (phase name → samples) in one transaction.
    pub async fn save_benchmark(
        &self,
        record: &BenchmarkRecord,
        samples: Vec<(String, Vec<Sample>)>,
    ) -> Result<(), StoreError> {
        let id = record.id.to_string();
        let mut statements = vec![(
            "INSERT INTO benchmarks (id, run_id, created_at, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id,
                 created_at = excluded.created_at, body = excluded.body",
            args![
                id.clone(),
                record.run_id.to_string(),
                record.created_at.to_rfc3339(),
                serde_json::to_string(record)?
            ],
        )];
        for (phase, list) in samples {
            for (i, s) in list.iter().enumerate() {
                statements.push((
                    "INSERT INTO samples (benchmark_id, phase, idx, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (benchmark_id, phase, idx) DO UPDATE SET body = excluded.body",
                    args![
                        id.clone(),
                        phase.clone(),
                        i as i64,
                        serde_json::to_string(s)?
                    ],
                ));
            }
        }
        self.batch(statements).await?;
        Ok(())
    }

    /// Records the settled cost of the test behind benchmark `id`; the updated record, or
    /// `None` when there is no such benchmark.
    pub async fn set_benchmark_cost(
        &self,
        id: &str,
        usd: f64,
    ) -> Result<Option<BenchmarkRecord>, StoreError> {
        let found: Option<BenchmarkRecord> = self
            .bodies("SELECT body FROM benchmarks WHERE id = ?1", args![id])
            .await?
            .pop();
        let Some(mut record) = found else {
            return Ok(None);
        };
        record.test_cost_usd = Some(usd);
        self.execute(
            "UPDATE benchmarks SET body = ?2 WHERE id = ?1",
            args![id, serde_json::to_string(&record)?],
        )
        .await?;
        Ok(Some(record))
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
            args![before.to_rfc3339(), limit],
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
            args![limit, offset],
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
        let found: Option<BenchmarkRecord> = self
            .bodies("SELECT body FROM benchmarks WHERE id = ?1", args![id])
            .await?
            .pop();
        let Some(record) = found else {
            return Ok(None);
        };
        let rows = self
            .query(
                "SELECT phase, body FROM samples WHERE benchmark_id = ?1 ORDER BY phase, idx",
                args![id],
            )
            .await?;
        let mut samples = Vec::with_capacity(rows.len());
        for row in rows {
            samples.push((row.text(0)?, serde_json::from_str(&row.text(1)?)?));
        }
        Ok(Some((record, samples)))
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
        for place in crate::store::tests::places("import").await {
            let store = place.open().await;
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
        }
    }
}
