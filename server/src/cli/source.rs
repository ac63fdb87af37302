//! [`Source`]: where `runs`, `logs` and `benchmarks` read. The data directory's store
//! (said on stderr, with where it is), or a running dashboard's REST API with `--url`;
//! either way the same wire types, so the commands print the same tables and JSON.

use super::dashboard::Remote;
use crate::config::DashboardArgs;
use crate::service::{History, LogPage};
use crate::settings::data_dir_or_default;
use gdl_model::compare::{CompareQuery, Comparison};
use gdl_model::error::ApiError;
use gdl_model::ids::{BenchmarkId, RunId};
use gdl_model::query::{encode, Page};
use gdl_model::runs::{
    BenchmarkDetail, BenchmarkRecord, ExportFormat, ExportQuery, LogFormat, LogLine, LogQuery, Run,
    RunFilters,
};
use std::path::PathBuf;

/// The store of a data directory, or a running dashboard.
pub enum Source {
    /// The data directory's store, read without a dashboard.
    Store(History),
    /// A running dashboard's REST API.
    Dashboard(Remote),
}

impl Source {
    /// The dashboard `dashboard` names, else the store in `data_dir` (or the default one);
    /// which one is said on stderr.
    pub fn open(data_dir: Option<&PathBuf>, dashboard: &DashboardArgs) -> Result<Self, ApiError> {
        if let Some(remote) = Remote::from_args(dashboard)? {
            return Ok(Self::Dashboard(remote));
        }
        let dir = data_dir_or_default(data_dir);
        let history = History::open(&dir).map_err(|e| e.error)?;
        eprintln!(
            "reading the store in {} (--url asks a running dashboard instead)",
            dir.display()
        );
        Ok(Self::Store(history))
    }

    /// Runs that pass `filters`, newest first.
    pub async fn runs(&self, filters: &RunFilters) -> Result<Vec<Run>, ApiError> {
        match self {
            Self::Store(h) => h.runs(filters).await.map_err(|e| e.error),
            Self::Dashboard(d) => d.get(&["api", "runs"], &encode(filters)).await,
        }
    }

    /// One run.
    pub async fn run(&self, id: &RunId) -> Result<Run, ApiError> {
        match self {
            Self::Store(h) => h.run(id).await.map_err(|e| e.error),
            Self::Dashboard(d) => d.get(&["api", "runs", id.as_str()], "").await,
        }
    }

    /// A page of run `id`'s log, the lines after `query.after`.
    pub async fn logs(&self, id: &RunId, query: &LogQuery) -> Result<LogPage, ApiError> {
        let d = match self {
            Self::Store(h) => return h.logs(id, query).await.map_err(|e| e.error),
            Self::Dashboard(d) => d,
        };
        let query = LogQuery {
            format: Some(LogFormat::Jsonl),
            ..query.clone()
        };
        let route = ["api", "runs", id.as_str(), "logs"];
        let (body, headers) = d.text(&route, &encode(&query)).await?;
        let lines = body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str::<LogLine>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                ApiError::new(
                    gdl_model::code::ErrorCode::DashboardProtocol,
                    format!("{}'s log lines do not read as JSON lines: {e}", d.url()),
                )
                .with_hint("Check that --url (GDL_URL) is the dashboard's address.")
            })?;
        let next_after = headers
            .get(crate::api::NEXT_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(LogPage { lines, next_after })
    }

    /// Benchmark records, newest first, one page.
    pub async fn benchmarks(&self, page: &Page) -> Result<Vec<BenchmarkRecord>, ApiError> {
        match self {
            Self::Store(h) => h.benchmarks(page).await.map_err(|e| e.error),
            Self::Dashboard(d) => d.get(&["api", "benchmarks"], &encode(page)).await,
        }
    }

    /// One benchmark with its raw samples.
    pub async fn benchmark(&self, id: &BenchmarkId) -> Result<BenchmarkDetail, ApiError> {
        match self {
            Self::Store(h) => h.benchmark(id).await.map_err(|e| e.error),
            Self::Dashboard(d) => d.get(&["api", "benchmarks", id.as_str()], "").await,
        }
    }

    /// The query's model (an id or a preset's alias) across GPUs and providers, in one
    /// comparison group.
    pub async fn compare(&self, query: &CompareQuery) -> Result<Comparison, ApiError> {
        match self {
            Self::Store(h) => h.compare(query).await.map(|(_, c)| c).map_err(|e| e.error),
            Self::Dashboard(d) => d.get(&["api", "compare"], &encode(query)).await,
        }
    }

    /// Every benchmark as CSV or a JSON array.
    pub async fn export(&self, format: ExportFormat) -> Result<String, ApiError> {
        match self {
            Self::Store(h) => h.export(format).await.map(|e| e.body).map_err(|e| e.error),
            Self::Dashboard(d) => {
                let query = ExportQuery {
                    format: Some(format),
                };
                let route = ["api", "benchmarks", "export"];
                Ok(d.text(&route, &encode(&query)).await?.0)
            }
        }
    }
}
