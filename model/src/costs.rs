//! What renting cost: a period (today, this month, a range of days), totals by provider and
//! GPU from the broker's cost summary or from our own records, and each run's cost (every
//! rental attempt's price × time, provisioning included).
//!
//! # Examples
//!
//! ```
//! use chrono::NaiveDate;
//! use gdl_model::costs::{CostParams, CostWindow};
//!
//! let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
//! let p = CostParams::from_pairs([("period", "range"), ("from", "2026-11-01"), ("to", "2026-11-15")]);
//! let window = CostWindow::parse(p.period.as_deref(), p.from.as_deref(), p.to.as_deref(), today)?;
//! assert_eq!(window.label(), "2026-11-01 to 2026-11-15");
//! assert_eq!(window.end().to_rfc3339(), "2026-11-16T00:00:00+00:00", "both ends included");
//!
//! // No period means this month so far.
//! let month = CostWindow::parse(None, None, None, today)?;
//! assert_eq!(month.label(), "this month (2026-11-01 to 2026-11-24)");
//!
//! // A wrong query is an `invalid_input` error with a hint.
//! let e = CostWindow::parse(Some("weekly"), None, None, today).unwrap_err();
//! assert_eq!(e.code, "invalid_input");
//! # Ok::<(), gdl_model::api::ApiError>(())
//! ```

use crate::api::ApiError;
use crate::code::ErrorCode;
use crate::runs::{Run, RunStatus};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest range a report covers, days.
pub const MAX_RANGE_DAYS: i64 = 366;

/// Runs listed in a report, newest first.
pub const RUNS_LISTED: usize = 200;

/// The query of `GET /api/costs` and the Costs tab: `period=today|month|range`, with
/// `from` and `to` (`YYYY-MM-DD`) for a range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostParams {
    /// `today`, `month` or `range`; `None` means `month`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// The first day of a range, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The last day of a range (included), `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl CostParams {
    /// The parameters in a query string's pairs; empty values count as unset.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut p = Self::default();
        for (key, value) in crate::api::set_pairs(pairs) {
            let value = Some(value.to_owned());
            match key {
                "period" => p.period = value,
                "from" => p.from = value,
                "to" => p.to = value,
                _ => {}
            }
        }
        p
    }
}

/// The days a cost report covers, both ends included, in UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostWindow {
    /// `today`, `month` or `range`.
    pub period: String,
    /// The first day counted.
    pub from: NaiveDate,
    /// The last day counted.
    pub to: NaiveDate,
}

impl CostWindow {
    /// Reads `period` (`today`, `month`, the default, or `range` with `from` and `to` as
    /// `YYYY-MM-DD`) as of `today`.
    pub fn parse(
        period: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, ApiError> {
        let window = |period: &str, from, to| Self {
            period: period.into(),
            from,
            to,
        };
        let first = today.with_day(1).unwrap_or(today);
        match period.map(str::trim).filter(|p| !p.is_empty()) {
            None | Some("month") => Ok(window("month", first, today)),
            Some("today") => Ok(window("today", today, today)),
            Some("range") => {
                let day = |key: &str, value: Option<&str>| {
                    let value = value.map(str::trim).unwrap_or_default();
                    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                        invalid(
                            format!("{key} must be a date as YYYY-MM-DD, got {value:?}"),
                            "A range needs both from and to, e.g. from=2026-11-01&to=2026-11-15.",
                        )
                    })
                };
                let (from, to) = (day("from", from)?, day("to", to)?);
                if to < from {
                    return Err(invalid(
                        format!("the range ends ({to}) before it starts ({from})"),
                        "Swap from and to.",
                    ));
                }
                if (to - from).num_days() >= MAX_RANGE_DAYS {
                    return Err(invalid(
                        format!("the range covers more than {MAX_RANGE_DAYS} days"),
                        "Ask for a year at most.",
                    ));
                }
                Ok(window("range", from, to))
            }
            Some(other) => Err(invalid(
                format!("unknown period {other:?}"),
                "Use today, month, or range with from and to.",
            )),
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
        match self.period.as_str() {
            "today" => format!("today ({})", self.from),
            "month" => format!("this month ({} to {})", self.from, self.to),
            _ if self.from == self.to => format!("{}", self.from),
            _ => format!("{} to {}", self.from, self.to),
        }
    }
}

/// What renting at `price_per_hour` cost from `from` to `until` (nothing if `until` is
/// not later).
///
/// USD, prorated to the millisecond (the broker bills whole hours; this is our figure).
///
/// # Examples
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gdl_model::costs::rent_usd;
///
/// let start = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
/// let later = Utc.with_ymd_and_hms(2026, 11, 24, 10, 30, 0).unwrap();
/// assert_eq!(rent_usd(0.40, start, later), 0.20);
/// assert_eq!(rent_usd(0.40, later, start), 0.0);
/// ```
pub fn rent_usd(price_per_hour: f64, from: DateTime<Utc>, until: DateTime<Utc>) -> f64 {
    price_per_hour * (until - from).num_milliseconds().max(0) as f64 / 3_600_000.0
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn invalid(message: String, hint: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, message).with_hint(hint)
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
    pub run_id: String,
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
    pub benchmark_id: Option<String>,
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
    /// ```
    pub fn add(&mut self, provider: &str, gpu: &str, usd: f64) {
        self.total_usd += usd;
        self.sessions += 1;
        *self.by_provider.entry(provider.to_owned()).or_default() += usd;
        *self.by_gpu.entry(gpu.to_owned()).or_default() += usd;
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
        let month = CostWindow::parse(None, None, None, today).unwrap();
        assert_eq!((month.from, month.to), (day("2026-11-01"), today));
        assert_eq!(month.end(), midnight(day("2026-11-25")));
        let one = CostWindow::parse(Some("today"), None, None, today).unwrap();
        assert!(one.contains(midnight(today)));
        assert!(!one.contains(midnight(day("2026-11-25"))));
        let range = CostWindow::parse(Some("range"), Some("2026-10-30"), Some("2026-11-02"), today)
            .unwrap();
        assert_eq!(range.label(), "2026-10-30 to 2026-11-02");
        for (p, f, t) in [
            (Some("range"), Some("2026-11-05"), Some("2026-11-01")),
            (Some("range"), Some("yesterday"), Some("2026-11-01")),
            (Some("range"), None, Some("2026-11-01")),
            (Some("range"), Some("2020-01-01"), Some("2026-11-01")),
            (Some("weekly"), None, None),
        ] {
            let e = CostWindow::parse(p, f, t, today).unwrap_err();
            assert_eq!(e.code, "invalid_input");
            assert!(e.hint.is_some());
        }
    }
}
