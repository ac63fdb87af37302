//! Benchmarks that change what every open page shows: an import of the old dashboard's
//! files reaches every page live. Reading benchmarks is [`super::History`]'s.

use super::{Dashboard, ServiceResult};
use gdl_model::legacy::{ImportReport, OldFile};
use gdl_model::live::LiveEvent;

impl Dashboard {
    /// Imports the old Python dashboard's benchmark files and sends the records imported to
    /// every open page: what was imported, and why the rest was skipped.
    pub async fn import_benchmarks(&self, files: Vec<OldFile>) -> ServiceResult<ImportReport> {
        let (report, saved) = self.history().import(files).await?;
        self.hub().publish(
            saved
                .into_iter()
                .map(|benchmark| LiveEvent::BenchmarkUpsert { benchmark }),
        );
        Ok(report)
    }
}
