//! The campaign's budget as a hard guarantee: what its rentals have cost, what finishing
//! the work in hand will cost, and whether one more rental fits.
//!
//! Every rental is an entry with its price, when billing began and, while it runs, when its
//! work is expected to end. The **projected spend** is what ended rentals cost, plus each
//! running one's price × (time so far + time still planned). A new candidate is launched
//! only when the projection with its own planned cost stays within the $ budget and its
//! planned end within the time budget; when the projection passes the budget (a rental
//! running long), the searches whose planned end would pass it are cut short at the point
//! where the money runs out.
//!
//! # Examples
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use gdl_model::campaigns::budget::Ledger;
//!
//! let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
//! let mut ledger = Ledger::new(2.0, t0 + Duration::hours(2));
//! // $0.60 an hour for a planned 1 h: $0.60 projected.
//! assert!(ledger.may_launch(0.6, Duration::hours(1), t0).is_ok());
//! let a = ledger.start(0.6, t0, t0 + Duration::hours(1));
//! // $1.50 an hour for 1 h more would reach $2.10: refused, with the reason.
//! let refused = ledger.may_launch(1.5, Duration::hours(1), t0).unwrap_err();
//! assert!(refused.contains("$2.10"), "{refused}");
//! ledger.end(a, t0 + Duration::minutes(30));
//! assert!((ledger.spent(t0 + Duration::hours(5)) - 0.30).abs() < 1e-9);
//! ```

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One rental of the campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its price, USD per hour.
    pub price_per_hour: f64,
    /// When billing began.
    pub started: DateTime<Utc>,
    /// When its work is planned to end (moved when it is replaced or cut short).
    pub planned_end: DateTime<Utc>,
    /// When billing stopped (its destroy confirmed), once it has.
    pub ended: Option<DateTime<Utc>>,
}

impl Entry {
    fn cost(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> f64 {
        let seconds = (until - from).num_milliseconds().max(0) as f64 / 1000.0;
        self.price_per_hour * seconds / 3600.0
    }

    /// What it has cost by `now`.
    pub fn spent(&self, now: DateTime<Utc>) -> f64 {
        self.cost(
            self.started,
            self.ended.unwrap_or(now).min(now.max(self.started)),
        )
    }

    /// What it will have cost by its end: its real end, or the later of now and its plan.
    pub fn projected(&self, now: DateTime<Utc>) -> f64 {
        let end = self.ended.unwrap_or_else(|| self.planned_end.max(now));
        self.cost(self.started, end)
    }
}

/// The campaign's rentals against its budgets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// The most the campaign may spend, USD.
    pub budget_usd: f64,
    /// When all work must be over.
    pub deadline: DateTime<Utc>,
    /// Every rental, in the order started.
    pub entries: Vec<Entry>,
}

impl Ledger {
    /// A ledger with nothing rented yet.
    pub fn new(budget_usd: f64, deadline: DateTime<Utc>) -> Self {
        Self {
            budget_usd,
            deadline,
            entries: Vec::new(),
        }
    }

    /// What the rentals have cost by `now`.
    pub fn spent(&self, now: DateTime<Utc>) -> f64 {
        self.entries.iter().map(|e| e.spent(now)).sum()
    }

    /// What they will have cost once the work in hand ends as planned.
    pub fn projected(&self, now: DateTime<Utc>) -> f64 {
        self.entries.iter().map(|e| e.projected(now)).sum()
    }

    /// Whether a rental at `price_per_hour` for `planned` more fits both budgets; the
    /// reason when not.
    pub fn may_launch(
        &self,
        price_per_hour: f64,
        planned: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let projected = self.projected(now) + price_per_hour * hours(planned);
        if projected > self.budget_usd + 1e-9 {
            return Err(format!(
                "it would bring the projected spend to ${projected:.2}, over the ${:.2} budget",
                self.budget_usd
            ));
        }
        if now + planned > self.deadline {
            return Err(format!(
                "it would end after the time budget ({} min left, {} min planned)",
                (self.deadline - now).num_minutes().max(0),
                planned.num_minutes()
            ));
        }
        Ok(())
    }

    /// Records a rental that started billing at `now`; its index.
    pub fn start(
        &mut self,
        price_per_hour: f64,
        now: DateTime<Utc>,
        planned_end: DateTime<Utc>,
    ) -> usize {
        self.entries.push(Entry {
            price_per_hour,
            started: now,
            planned_end,
            ended: None,
        });
        self.entries.len() - 1
    }

    /// Moves rental `i`'s planned end.
    pub fn replan(&mut self, i: usize, planned_end: DateTime<Utc>) {
        if let Some(e) = self.entries.get_mut(i) {
            e.planned_end = planned_end;
        }
    }

    /// Rental `i` stopped billing at `at`.
    pub fn end(&mut self, i: usize, at: DateTime<Utc>) {
        if let Some(e) = self.entries.get_mut(i).filter(|e| e.ended.is_none()) {
            e.ended = Some(at.max(e.started));
        }
    }

    /// The latest moment rental `i` may still run so that, with every other rental as
    /// planned, the projection stays within the $ budget and the time budget: where a search
    /// running long must be cut short. `None` for an unknown or ended rental.
    pub fn must_end_by(&self, i: usize, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mine = self.entries.get(i).filter(|e| e.ended.is_none())?;
        let others: f64 = self
            .entries
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, e)| e.projected(now))
            .sum();
        let left = (self.budget_usd - others).max(0.0);
        let seconds = if mine.price_per_hour > 0.0 {
            left / mine.price_per_hour * 3600.0
        } else {
            f64::from(i32::MAX)
        };
        let by_money = mine.started + Duration::milliseconds((seconds * 1000.0) as i64);
        Some(by_money.min(self.deadline))
    }
}

fn hours(d: Duration) -> f64 {
    d.num_milliseconds().max(0) as f64 / 3_600_000.0
}

/// A candidate's rental as planned: renting the machine and starting the engine, then the
/// capacity search, shortened to what the time budget leaves.
///
/// ```
/// use chrono::Duration;
/// use gdl_model::campaigns::budget::RentalPlan;
///
/// let full = RentalPlan::within(Duration::hours(1), Duration::minutes(5)).unwrap();
/// assert_eq!((full.search, full.planned), (Duration::minutes(5), Duration::minutes(15)));
/// // 12 minutes left: 10 to start, a 2-minute search.
/// let short = RentalPlan::within(Duration::minutes(12), Duration::minutes(5)).unwrap();
/// assert_eq!((short.search, short.planned), (Duration::minutes(2), Duration::minutes(12)));
/// // 10 minutes left: no time for a search.
/// assert!(RentalPlan::within(Duration::minutes(10), Duration::minutes(5)).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RentalPlan {
    /// The capacity search's time limit.
    pub search: Duration,
    /// The whole rental: the start-up allowance, then the search.
    pub planned: Duration,
}

impl RentalPlan {
    /// Renting, booting, downloading the model and starting the engine, with a margin.
    pub const STARTUP_MINUTES: i64 = 10;
    /// The shortest capacity search worth renting for.
    pub const MIN_SEARCH_SECONDS: i64 = 60;

    /// The plan of a rental that must end within `left`, its search at most `search_limit`;
    /// why there is none when `left` has no room for the start-up and a minimal search.
    pub fn within(left: Duration, search_limit: Duration) -> Result<Self, String> {
        let startup = Duration::minutes(Self::STARTUP_MINUTES);
        let search = search_limit.min(left - startup);
        if search < Duration::seconds(Self::MIN_SEARCH_SECONDS) {
            return Err(format!(
                "the time budget has {} min left: {} min to rent and start the engine and a search of {} min at least do not fit",
                left.num_minutes().max(0),
                Self::STARTUP_MINUTES,
                Self::MIN_SEARCH_SECONDS / 60
            ));
        }
        Ok(Self {
            search,
            planned: startup + search,
        })
    }
}
