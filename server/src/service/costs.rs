//! Cost reports: the broker's cost summary for our consumer id when it answers, our own
//! records (each rental's price × time) always, and the runs that rented in the window.

use super::{Dashboard, ServiceResult};
use crate::shopper::ShopperClient;
use chrono::{Duration, Utc};
use gdl_model::code::ErrorCode;
use gdl_model::costs::{self, CostParams, CostReport, CostSource, CostTotals, CostWindow};
use gdl_model::error::ApiError;
use gdl_model::shopper::CostQuery;

/// Runs read for a report: a rental is created after its run, at most a reservation's
/// length (12 h) later; a day's margin covers runs that started before the window.
const RUN_MARGIN: Duration = Duration::days(1);

/// Runs read at most for one report.
const RUNS_READ: u32 = 20_000;

impl Dashboard {
    /// The report for `params`, as of now. The broker's summary is waited for at most the
    /// dashboard's patience; then our figures stand alone, saying why.
    pub async fn costs(&self, params: &CostParams) -> ServiceResult<CostReport> {
        let now = Utc::now();
        let window = CostWindow::parse(params, now.date_naive())?;
        let runs = self
            .runner()
            .store()
            .runs_created_between(window.start() - RUN_MARGIN, window.end(), RUNS_READ)
            .await?;
        let (ours, runs) = costs::from_runs(&runs, &window, now);
        let client = self.monitor().client();
        let (broker, broker_error) = match broker_totals(client, &window, self.parts.patience).await
        {
            Ok(totals) => (Some(totals), None),
            Err(e) => (None, Some(e)),
        };
        Ok(CostReport {
            source: if broker.is_some() {
                CostSource::Broker
            } else {
                CostSource::Ours
            },
            window,
            broker,
            broker_error,
            ours,
            runs,
        })
    }
}

/// The broker's totals for our consumer id over the window (its end date is exclusive).
async fn broker_totals(
    client: &ShopperClient,
    window: &CostWindow,
    patience: std::time::Duration,
) -> Result<CostTotals, ApiError> {
    let query = CostQuery {
        consumer_id: Some(client.consumer_id().to_owned()),
        start_date: Some(window.from.to_string()),
        end_date: Some(window.end().date_naive().to_string()),
        period: None,
    };
    let summary = tokio::time::timeout(patience, client.costs(&query))
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::ShopperTimeout,
                format!(
                    "the broker did not send its cost summary within {:.1} s",
                    patience.as_secs_f64()
                ),
            )
        })?
        .map_err(|e| e.to_api_error())?;
    Ok(CostTotals {
        total_usd: summary.total_cost,
        sessions: summary.session_count,
        by_provider: summary.by_provider,
        by_gpu: summary.by_gpu_type,
        // The broker's summary does not split its count.
        ..CostTotals::default()
    })
}
