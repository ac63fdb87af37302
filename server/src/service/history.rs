//! [`History`]: what the store holds, read and written the same way by every door: runs
//! and their logs, benchmarks with their samples, the comparison of a model across GPUs,
//! the export, the old dashboard's import. The CLI opens one on a data directory and runs
//! it without a dashboard; a running dashboard's [`super::Dashboard`] hands out its own.

use super::{ServiceError, ServiceResult};
use crate::runner::RunError;
use crate::store::Store;
use chrono::{DateTime, Utc};
use gdl_model::code::ErrorCode;
use gdl_model::compare::{CompareQuery, Comparison};
use gdl_model::ids::{BenchmarkId, RunId};
use gdl_model::legacy::{ImportReport, OldFile};
use gdl_model::query::Page;
use gdl_model::registry::Quantization;
use gdl_model::runs::bundle::BenchmarkBundle;
use gdl_model::runs::{
    BenchmarkDetail, BenchmarkPage, BenchmarkRecord, ExportFormat, LogLine, LogQuery, PhaseSample,
    Run, RunFilters,
};
use std::collections::HashMap;
use std::path::Path;

/// Benchmarks read at most for one export or comparison.
const ALL_BENCHMARKS: u32 = 100_000;

/// The store's operations. Cheap to clone.
#[derive(Clone)]
pub struct History {
    store: Store,
}

/// A page of a run's log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogPage {
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
    /// When the page is full: the `after` of the next page.
    pub next_after: Option<u64>,
}

/// Every benchmark written out for a download or a pipe.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    /// The file's text.
    pub body: String,
    /// Its media type (`text/csv; charset=utf-8`, `application/json`).
    pub content_type: &'static str,
    /// Its extension (`csv`, `json`).
    pub extension: &'static str,
}

impl History {
    /// The operations over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Opens (creating and migrating) the store in `data_dir`, creating the directory.
    pub fn open(data_dir: &Path) -> ServiceResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            ServiceError::new(
                ErrorCode::StorageError,
                format!(
                    "cannot create the data directory {}: {e}",
                    data_dir.display()
                ),
                "Choose another with --data-dir or GDL_DATA_DIR.",
            )
        })?;
        Ok(Self::new(Store::open(data_dir)?))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs that pass `filters`, newest first, one page.
    pub async fn runs(&self, filters: &RunFilters) -> ServiceResult<Vec<Run>> {
        let (limit, offset) = filters.window()?;
        let model = filters.model.as_deref().map(str::trim);
        Ok(self
            .store
            .runs_matching(filters.status, model, offset, limit)
            .await?)
    }

    /// One run, as stored.
    pub async fn run(&self, id: &RunId) -> ServiceResult<Run> {
        match self.store.run(id).await? {
            Some(run) => Ok(run),
            None => Err(RunError::NotFound(id.clone()).into()),
        }
    }

    /// A page of run `id`'s log: the lines numbered after `query.after`, oldest first.
    pub async fn logs(&self, id: &RunId, query: &LogQuery) -> ServiceResult<LogPage> {
        let limit = query.lines()?;
        self.run(id).await?;
        let lines = self
            .store
            .logs_after(id, query.after.unwrap_or(0), limit)
            .await?;
        let next_after = (lines.len() == limit as usize)
            .then(|| lines.last().map(|l| l.n))
            .flatten();
        Ok(LogPage { lines, next_after })
    }

    /// Benchmark records, newest first, one page.
    pub async fn benchmarks(&self, page: &Page) -> ServiceResult<Vec<BenchmarkRecord>> {
        let (limit, offset) = page.window()?;
        Ok(self.store.benchmarks_page(offset, limit).await?)
    }

    /// Benchmark records of one engine (every engine when `query.engine` is unset), newest
    /// first, one page.
    pub async fn benchmarks_of(
        &self,
        query: &BenchmarkPage,
    ) -> ServiceResult<Vec<BenchmarkRecord>> {
        let Some(engine) = query.engine else {
            return self.benchmarks(&query.page()).await;
        };
        let (limit, offset) = query.page().window()?;
        let records = self.store.benchmarks(ALL_BENCHMARKS).await?;
        Ok(records
            .into_iter()
            .filter(|r| r.served_by() == Some(engine))
            .skip(offset as usize)
            .take(limit as usize)
            .collect())
    }

    /// The `limit` (1 to 200) newest benchmark records created before `before`.
    pub async fn benchmarks_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> ServiceResult<Vec<BenchmarkRecord>> {
        Ok(self
            .store
            .benchmarks_before(before, limit.clamp(1, 200))
            .await?)
    }

    /// One benchmark with its raw samples.
    pub async fn benchmark(&self, id: &BenchmarkId) -> ServiceResult<BenchmarkDetail> {
        match self.store.benchmark(id).await? {
            Some((benchmark, samples)) => Ok(BenchmarkDetail {
                benchmark,
                samples: samples
                    .into_iter()
                    .map(|(phase, sample)| PhaseSample { phase, sample })
                    .collect(),
            }),
            None => Err(ServiceError::new(
                ErrorCode::BenchmarkNotFound,
                format!("no benchmark {id}"),
                "See the Benchmarks tab, GET /api/benchmarks or `gpu-deploy-llm benchmarks list` for the ones stored.",
            )),
        }
    }

    /// The bundle of benchmark `id`: its record with the configuration of the run that
    /// measured it. A benchmark no run of ours measured (`bench`, imported), or whose run is
    /// no longer stored, has none: 409 `benchmark_not_repeatable`.
    pub async fn bundle(&self, id: &BenchmarkId) -> ServiceResult<BenchmarkBundle> {
        let record = self.benchmark(id).await?.benchmark;
        self.bundle_of(&record).await
    }

    /// The bundle of `record`, read already (as [`Self::bundle`]).
    pub async fn bundle_of(&self, record: &BenchmarkRecord) -> ServiceResult<BenchmarkBundle> {
        let id = &record.id;
        let run = if record.external || record.run_id.is_empty() {
            None
        } else {
            self.store.run(&record.run_id).await?
        };
        let Some(run) = run else {
            return Err(ServiceError::new(
                ErrorCode::BenchmarkNotRepeatable,
                format!("benchmark {id} was not measured by a run stored here: there is no test to run again"),
                "A benchmark from `gpu-deploy-llm bench` or the old dashboard's import measured a server this dashboard did not deploy; measure it again with `gpu-deploy-llm bench`, or start a test of the model.",
            ));
        };
        Ok(BenchmarkBundle::of(record, &run.config))
    }

    /// The models benchmarked (most benchmarks first), and `q.model` across GPUs and
    /// providers in one comparison group (only the models when the model is empty). The
    /// model may be a preset's alias (`qwen2.5-0.5b`), as everywhere else. Only benchmarks
    /// run with `q.settings` (a settings summary, or `default`) count when it is given; the
    /// settings listed are those of the model's benchmarks of `q.engine` (of any when unset).
    pub async fn compare(&self, q: &CompareQuery) -> ServiceResult<(Vec<String>, Comparison)> {
        let records = self.store.benchmarks(ALL_BENCHMARKS).await?;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for r in &records {
            *counts.entry(r.model.as_str()).or_default() += 1;
        }
        let mut models: Vec<(&str, usize)> = counts.into_iter().collect();
        models.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let models: Vec<String> = models.into_iter().map(|(m, _)| m.to_owned()).collect();
        let model = q.model.as_deref().unwrap_or_default().trim();
        let model = match gdl_model::registry::resolve(model, Quantization::None) {
            Ok(resolved) if !model.is_empty() && !models.iter().any(|m| m == model) => {
                resolved.model
            }
            _ => model.to_owned(),
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        for r in records
            .iter()
            .filter(|r| r.model == model && q.engine.is_none_or(|e| r.served_by() == Some(e)))
        {
            *seen.entry(r.settings_key()).or_default() += 1;
        }
        let mut seen: Vec<(String, usize)> = seen.into_iter().collect();
        seen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let settings = q
            .settings
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let records: Vec<BenchmarkRecord> = records
            .into_iter()
            .filter(|r| settings.is_none_or(|s| r.settings_key() == s))
            .collect();
        let mut comparison = gdl_model::compare::compare_group(&model, q, &records);
        comparison.settings = seen.into_iter().map(|(s, _)| s).collect();
        Ok((models, comparison))
    }

    /// Every stored benchmark, newest first, as CSV (the Benchmarks tab's columns) or as
    /// a JSON array of records.
    pub async fn export(&self, format: ExportFormat) -> ServiceResult<Export> {
        let records = self.store.benchmarks(ALL_BENCHMARKS).await?;
        Ok(match format {
            ExportFormat::Csv => Export {
                body: gdl_model::export::benchmarks_csv(&records),
                content_type: "text/csv; charset=utf-8",
                extension: "csv",
            },
            ExportFormat::Json => Export {
                body: serde_json::to_string_pretty(&records).map_err(|e| {
                    ServiceError::new(
                        ErrorCode::DashboardError,
                        format!("cannot write the records as JSON: {e}"),
                        "Report this with the request id.",
                    )
                })?,
                content_type: "application/json",
                extension: "json",
            },
        })
    }

    /// Imports the old Python dashboard's benchmark files: what was imported and why the
    /// rest was skipped, and the records saved.
    pub async fn import(
        &self,
        files: Vec<OldFile>,
    ) -> ServiceResult<(ImportReport, Vec<BenchmarkRecord>)> {
        Ok(self.store.import_legacy(files).await?)
    }
}
