//! What renting cost: a period (today, this month, a range of days), totals by provider and
//! GPU from the broker's cost summary or from our own records, and each run's cost (every
//! rental attempt's price × time, provisioning included).
//!
//! # Examples
//!
//! ```
//! use chrono::NaiveDate;
//! use gdl_model::costs::{CostParams, CostWindow};
//! use gdl_model::query::decode;
//!
//! let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
//! let p: CostParams = decode("period=range&from=2026-11-01&to=2026-11-15")?;
//! let window = CostWindow::parse(&p, today)?;
//! assert_eq!(window.label(), "2026-11-01 to 2026-11-15");
//! assert_eq!(window.end().to_rfc3339(), "2026-11-16T00:00:00+00:00", "both ends included");
//!
//! // No period means this month so far.
//! let month = CostWindow::parse(&CostParams::default(), today)?;
//! assert_eq!(month.label(), "this month (2026-11-01 to 2026-11-24)");
//!
//! // A wrong query is an `invalid_input` error with a hint.
//! let e = decode::<CostParams>("period=weekly").unwrap_err();
//! assert_eq!(e.code, "invalid_input");
//! # Ok::<(), gdl_model::error::ApiError>(())
//! ```

use crate::error::ApiError;
use crate::ids::{BenchmarkId, RunId};
use crate::query::{blank_as_none, word_enum};
use crate::runs::{Run, RunStatus};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest range a report covers, days.
pub const MAX_RANGE_DAYS: i64 = 366;

/// Runs listed in a report, newest first.
pub const RUNS_LISTED: usize = 200;

/// Which days a cost report covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CostPeriod {
    /// Today (UTC).
    Today,
    /// This month so far.
    #[default]
    Month,
    /// The days from `from` to `to`, both included.
    Range,
}

impl CostPeriod {
    /// Every period, as the Costs tab lists them.
    pub const ALL: [CostPeriod; 3] = [Self::Today, Self::Month, Self::Range];

    /// The wire spelling (`today`, `month`, `range`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Month => "month",
            Self::Range => "range",
        }
    }
}

word_enum!(CostPeriod, "today, month or range");

/// The query of `GET /api/costs` and the Costs tab: `period=today|month|range`, with
/// `from` and `to` (`YYYY-MM-DD`) for a range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CostParams {
    /// `today`, `month` or `range`; `month` when unset.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub period: Option<CostPeriod>,
    /// The first day of a range, `YYYY-MM-DD`.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub from: Option<NaiveDate>,
    /// The last day of a range (included), `YYYY-MM-DD`.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>))]
    pub to: Option<NaiveDate>,
}

/// The days a cost report covers, both ends included, in UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostWindow {
    /// Today, this month, or a range.
    pub period: CostPeriod,
    /// The first day counted.
    pub from: NaiveDate,
    /// The last day counted.
    pub to: NaiveDate,
}

impl CostWindow {
    /// The window `params` ask for (`month`, the default, `today`, or a `range` with `from`
    /// and `to`) as of `today`.
    pub fn parse(params: &CostParams, today: NaiveDate) -> Result<Self, ApiError> {
        let window = |period, from, to| Self { period, from, to };
        let first = today.with_day(1).unwrap_or(today);
        match params.period.unwrap_or_default() {
            CostPeriod::Month => Ok(window(CostPeriod::Month, first, today)),
            CostPeriod::Today => Ok(window(CostPeriod::Today, today, today)),
            CostPeriod::Range => {
                let (Some(from), Some(to)) = (params.from, params.to) else {
                    return Err(ApiError::invalid(
                        "a range needs both from and to, as YYYY-MM-DD",
                        "For example from=2026-11-01&to=2026-11-15.",
                    ));
                };
                if to < from {
                    return Err(ApiError::invalid(
                        format!("the range ends ({to}) before it starts ({from})"),
                        "Swap from and to.",
                    ));
                }
                if (to - from).num_days() >= MAX_RANGE_DAYS {
                    return Err(ApiError::invalid(
                        format!("the range covers more than {MAX_RANGE_DAYS} days"),
                        "Ask for a year at most.",
                    ));
                }
                Ok(window(CostPeriod::Range, from, to))
            }
        }
    }

    /// The first instant counted.
    pub fn start(&self) -> DateTime<Utc> {
        midnight(self.from)
    }

    /// The first instant after the window.
    pub fn end(&self) -> DateTime<Utc> {
        midnight(self.to.succ_opt().unwrap_or(self.to))
    }

    /// Whether `at` falls in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.start() && at < self.end()
    }

    /// How a person reads it: "today (2026-11-24)", "this month (2026-11-01 to 2026-11-24)".
    pub fn label(&self) -> String {
        match self.period {
            CostPeriod::Today => format!("today ({})", self.from),
            CostPeriod::Month => format!("this month ({} to {})", self.from, self.to),
            CostPeriod::Range if self.from == self.to => format!("{}", self.from),
            CostPeriod::Range => format!("{} to {}", self.from, self.to),
        }
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Totals over a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostTotals {
    /// Everything counted, USD.
    pub total_usd: f64,
    /// Sessions (rentals) counted.
    pub sessions: u32,
    /// Provider wire name → USD.
    pub by_provider: BTreeMap<String, f64>,
    /// GPU type → USD.
    pub by_gpu: BTreeMap<String, f64>,
    /// Provider wire name → sessions counted (our records only: the broker's summary
    /// does not split its count).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions_by_provider: BTreeMap<String, u32>,
    /// GPU type → sessions counted (our records only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions_by_gpu: BTreeMap<String, u32>,
}

/// One row of a report's breakdown by provider or by GPU: every rental our records hold
/// for it, what they cost by our records, and what the broker bills for it.
#[derive(Clone, Debug, PartialEq)]
pub struct CostRow {
    /// The provider's wire name or the GPU type.
    pub name: String,
    /// Our rentals of it in the window (failed ones included).
    pub rentals: u32,
    /// Their cost by our records, USD.
    pub ours_usd: f64,
    /// What the broker bills for it, USD; `None` when the broker did not answer.
    pub billed_usd: Option<f64>,
}

/// Which key a breakdown is by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostBy {
    /// By provider (wire name).
    Provider,
    /// By GPU type.
    Gpu,
}

/// Where a report's headline figures come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// The broker's cost summary (what it bills by the hour).
    Broker,
    /// Our own records: each rental's price × the time from its creation to its end.
    Ours,
}

/// One run's cost: every rental attempt's price × time, provisioning included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunCost {
    /// The run's id.
    pub run_id: RunId,
    /// When the run started.
    pub created_at: DateTime<Utc>,
    /// The model the run tested, as asked for.
    pub model: String,
    /// How the run stands or ended.
    pub status: RunStatus,
    /// GPU × count on provider, of the last rental.
    pub hardware: String,
    /// The run's rentals created in the window.
    pub rentals: u32,
    /// What those rentals cost, USD.
    pub cost_usd: f64,
    /// The benchmark the run recorded; `None` when it recorded none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark_id: Option<BenchmarkId>,
}

/// `GET /api/costs`: a window's totals, from the broker when it answers, with ours beside
/// them, and the runs that rented in the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostReport {
    /// The days covered.
    pub window: CostWindow,
    /// Which of `broker` and `ours` the headline is.
    pub source: CostSource,
    /// The broker's summary for our consumer id, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<CostTotals>,
    /// Why the broker's figure is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_error: Option<ApiError>,
    /// Our own records over the window (always there).
    pub ours: CostTotals,
    /// Runs with a rental created in the window, newest first (at most [`RUNS_LISTED`]).
    pub runs: Vec<RunCost>,
}

impl CostReport {
    /// The headline totals.
    pub fn headline(&self) -> &CostTotals {
        match (&self.source, &self.broker) {
            (CostSource::Broker, Some(b)) => b,
            _ => &self.ours,
        }
    }
}

impl CostReport {
    /// The breakdown by `by`: every name in our records or in the broker's summary, so
    /// every rental counts (the broker's summary leaves out sessions it bills nothing for,
    /// such as a short one that ended between its hourly checks), most billed first, then
    /// most ours.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::costs::{CostBy, CostTotals};
    /// # use gdl_model::costs::{CostReport, CostSource, CostWindow, CostPeriod};
    /// # let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    /// let mut ours = CostTotals::default();
    /// ours.add("vastai", "RTX 4090", 0.002);
    /// ours.add("tensordock", "L4", 0.001);
    /// let mut broker = CostTotals::default();
    /// broker.add("tensordock", "L4", 0.29);
    /// # let report = CostReport { window: CostWindow { period: CostPeriod::Today, from: day, to: day },
    /// #     source: CostSource::Broker, broker: Some(broker), broker_error: None, ours, runs: vec![] };
    /// let rows = report.breakdown(CostBy::Provider);
    /// assert_eq!((rows[0].name.as_str(), rows[0].billed_usd), ("tensordock", Some(0.29)));
    /// assert_eq!((rows[1].name.as_str(), rows[1].rentals, rows[1].billed_usd), ("vastai", 1, Some(0.0)));
    /// ```
    pub fn breakdown(&self, by: CostBy) -> Vec<CostRow> {
        let pick = |t: &CostTotals| match by {
            CostBy::Provider => (t.by_provider.clone(), t.sessions_by_provider.clone()),
            CostBy::Gpu => (t.by_gpu.clone(), t.sessions_by_gpu.clone()),
        };
        let (ours, counts) = pick(&self.ours);
        let billed = self.broker.as_ref().map(|b| pick(b).0);
        let names: std::collections::BTreeSet<&String> = ours
            .keys()
            .chain(billed.iter().flat_map(|b| b.keys()))
            .collect();
        let mut rows: Vec<CostRow> = names
            .into_iter()
            .map(|name| CostRow {
                name: name.clone(),
                rentals: counts.get(name).copied().unwrap_or(0),
                ours_usd: ours.get(name).copied().unwrap_or(0.0),
                billed_usd: billed.as_ref().map(|b| b.get(name).copied().unwrap_or(0.0)),
            })
            .collect();
        rows.sort_by(|a, b| {
            let billed = |r: &CostRow| r.billed_usd.unwrap_or(0.0);
            billed(b)
                .total_cmp(&billed(a))
                .then(b.ours_usd.total_cmp(&a.ours_usd))
                .then(a.name.cmp(&b.name))
        });
        rows
    }
}

impl CostTotals {
    /// Adds `usd` spent on one session of `gpu` at `provider`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::costs::CostTotals;
    ///
    /// let mut t = CostTotals::default();
    /// t.add("vastai", "RTX 4090", 0.25);
    /// t.add("vastai", "H100", 1.5);
    /// assert_eq!((t.sessions, t.total_usd), (2, 1.75));
    /// assert_eq!(t.by_provider["vastai"], 1.75);
    /// assert_eq!(t.by_gpu["H100"], 1.5);
    /// assert_eq!(t.sessions_by_provider["vastai"], 2);
    /// ```
    pub fn add(&mut self, provider: &str, gpu: &str, usd: f64) {
        self.total_usd += usd;
        self.sessions += 1;
        *self.by_provider.entry(provider.to_owned()).or_default() += usd;
        *self.by_gpu.entry(gpu.to_owned()).or_default() += usd;
        *self
            .sessions_by_provider
            .entry(provider.to_owned())
            .or_default() += 1;
        *self.sessions_by_gpu.entry(gpu.to_owned()).or_default() += 1;
    }
}

/// Our records over `window`: the rentals created in it (each counted whole, in the window
/// of its creation) and the runs they belong to, as of `now`.
pub fn from_runs(
    runs: &[Run],
    window: &CostWindow,
    now: DateTime<Utc>,
) -> (CostTotals, Vec<RunCost>) {
    let mut totals = CostTotals::default();
    let mut listed = Vec::new();
    for run in runs {
        let mut cost = 0.0;
        let mut counted = 0;
        for rental in run.rentals.iter().filter(|r| window.contains(r.created_at)) {
            let usd = run.rental_cost(rental, now);
            totals.add(rental.offer.provider.as_str(), &rental.offer.gpu_type, usd);
            cost += usd;
            counted += 1;
        }
        if counted == 0 {
            continue;
        }
        let last = run.rentals.last().map(|r| &r.offer);
        listed.push(RunCost {
            run_id: run.id.clone(),
            created_at: run.created_at,
            model: run.config.model.clone(),
            status: run.status,
            hardware: last
                .map(|o| format!("{} ×{} on {}", o.gpu_type, o.gpu_count, o.provider.label()))
                .unwrap_or_default(),
            rentals: counted,
            cost_usd: cost,
            benchmark_id: run.benchmark_id.clone(),
        });
    }
    listed.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    listed.truncate(RUNS_LISTED);
    (totals, listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_are_today_this_month_or_a_range_of_whole_days() {
        let today = day("2026-11-24");
        let params = |q: &str| crate::query::decode::<CostParams>(q);
        let month = CostWindow::parse(&CostParams::default(), today).unwrap();
        assert_eq!((month.from, month.to), (day("2026-11-01"), today));
        assert_eq!(month.end(), midnight(day("2026-11-25")));
        let one = CostWindow::parse(&params("period=today").unwrap(), today).unwrap();
        assert!(one.contains(midnight(today)));
        assert!(!one.contains(midnight(day("2026-11-25"))));
        let range = CostWindow::parse(
            &params("period=range&from=2026-10-30&to=2026-11-02").unwrap(),
            today,
        )
        .unwrap();
        assert_eq!(range.label(), "2026-10-30 to 2026-11-02");
        for query in [
            "period=range&from=2026-11-05&to=2026-11-01",
            "period=range&from=yesterday&to=2026-11-01",
            "period=range&to=2026-11-01",
            "period=range&from=2020-01-01&to=2026-11-01",
            "period=weekly",
        ] {
            let e = params(query)
                .and_then(|p| CostWindow::parse(&p, today))
                .unwrap_err();
            assert_eq!(e.code, "invalid_input", "{query}");
            assert!(e.hint.is_some());
        }
    }
}
