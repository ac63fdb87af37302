//! The campaign's answer: how sure each recommendation is, and when renting beats paying a
//! serverless API per token.
//!
//! A recommendation rests on measurements, and measurements vary. Two candidates whose
//! figures for a goal are within the noise of each other ([`NOISE`], or the spread of their
//! own repeated measurements when larger) are **too close to call**: the campaign repeats
//! the deciding measurement when its budget allows, and otherwise says so rather than name a
//! falsely precise winner.
//!
//! **Break-even**: a rented GPU costs its price every hour whether it serves or not; a
//! serverless API costs its price per token. Renting is cheaper above
//! `price × 24 / (cost of one request on the API)` requests a day, as long as the GPU can
//! serve that many at the SLO (its capacity); past its capacity one GPU never breaks even.
//!
//! # Examples
//!
//! ```
//! use gdl_model::campaigns::verdict::{break_even, ServerlessPrice};
//!
//! let api = ServerlessPrice { label: "8B-class API".into(), input_per_million: 0.20, output_per_million: 0.60 };
//! // $0.50 an hour = $12 a day; a request of 500 in, 200 out costs $0.00022 on the API.
//! let b = break_even(0.50, 400.0, 500, 200, &api);
//! assert_eq!(b.requests_per_day.map(|r| r.round()), Some(54_545.0));
//! // 400 tokens/s at the SLO serve 172,800 such requests a day: it breaks even within them.
//! assert!(b.within_capacity);
//! ```

use crate::compare::{Comparison, FrontierPoint, Goal};
use serde::{Deserialize, Serialize};

/// The relative difference below which two measured figures are not told apart.
pub const NOISE: f64 = 0.05;

/// How sure a recommendation is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Confidence {
    /// The next best is further away than the noise.
    Clear {
        /// How far the runner-up is behind, relative (0.2: 20 %); `None` with no runner-up.
        margin: Option<f64>,
    },
    /// The runner-up (an index into the comparison's points) is within the noise.
    TooCloseToCall {
        /// The runner-up, an index into the comparison's points.
        runner_up: usize,
        /// How far it is behind, relative.
        margin: f64,
        /// The noise it is within (the larger of [`NOISE`] and the two points' spreads).
        noise: f64,
    },
}

/// The spread of a point's own measurements, relative to their median: (max − min) / median
/// of its figures (0 with fewer than two).
pub fn spread(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 2 {
        return 0.0;
    }
    let max = finite.iter().copied().fold(f64::MIN, f64::max);
    let min = finite.iter().copied().fold(f64::MAX, f64::min);
    let median = crate::benchmark::Dist::of(&finite).p50;
    if median > 0.0 {
        (max - min) / median
    } else {
        0.0
    }
}

/// A goal's figure of a point, larger is better.
fn score(goal: Goal, p: &FrontierPoint, cheapest: f64, fastest: f64) -> f64 {
    match goal {
        Goal::Cost => -p.usd_per_million,
        Goal::Speed => p.tokens_per_s_per_user,
        Goal::Balanced => crate::compare::balanced_score(p, cheapest, fastest),
    }
}

/// How sure the recommendation for `goal` in `comparison` is, given each point's own
/// spread (`spreads[i]` for `comparison.points[i]`, from [`spread`]; missing ones count 0).
pub fn confidence(comparison: &Comparison, goal: Goal, spreads: &[f64]) -> Option<Confidence> {
    let chosen = comparison
        .recommendations
        .iter()
        .find(|r| r.goal == goal)?
        .point;
    let points = &comparison.points;
    let (cheapest, fastest) = crate::compare::extremes(points);
    let best = score(goal, &points[chosen], cheapest, fastest);
    let runner_up = points
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != chosen)
        .map(|(i, p)| (i, score(goal, p, cheapest, fastest)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((other, second)) = runner_up else {
        return Some(Confidence::Clear { margin: None });
    };
    let margin = if best.abs() > 0.0 {
        ((best - second) / best.abs()).abs()
    } else {
        f64::INFINITY
    };
    let own = |i: usize| spreads.get(i).copied().unwrap_or(0.0);
    let noise = NOISE.max(own(chosen)).max(own(other));
    Some(if margin < noise {
        Confidence::TooCloseToCall {
            runner_up: other,
            margin,
            noise,
        }
    } else {
        Confidence::Clear {
            margin: Some(margin),
        }
    })
}

/// The points to measure again before the cost recommendation is given: the chosen one and
/// its runner-up when they are too close to call; none when it is clear (or was measured
/// again already: `spreads` then hold their own spread, and a second look settles it or
/// leaves it too close to call, said so).
///
/// ```
/// use gdl_model::campaigns::verdict::{confidence, measure_again};
/// use gdl_model::compare::{compare, Goal};
/// # let records: Vec<gdl_model::runs::BenchmarkRecord> = Vec::new();
/// let comparison = compare("qwen2.5-7b", &records);
/// assert!(measure_again(&comparison, &[]).is_empty());
/// ```
pub fn measure_again(comparison: &Comparison, spreads: &[f64]) -> Vec<usize> {
    match confidence(comparison, Goal::Cost, spreads) {
        Some(Confidence::TooCloseToCall { runner_up, .. }) => {
            let chosen = comparison
                .recommendations
                .iter()
                .find(|r| r.goal == Goal::Cost)
                .map(|r| r.point);
            chosen.into_iter().chain([runner_up]).collect()
        }
        _ => Vec::new(),
    }
}

/// Each point's spread of $ per 1M over its own measurements (`usd_of` a benchmark id
/// gives that benchmark's figure), in the comparison's order: for [`confidence`].
pub fn spreads(
    comparison: &Comparison,
    usd_of: impl Fn(&crate::ids::BenchmarkId) -> Option<f64>,
) -> Vec<f64> {
    comparison
        .points
        .iter()
        .map(|p| spread(&p.benchmarks.iter().filter_map(&usd_of).collect::<Vec<_>>()))
        .collect()
}

/// A serverless API's price for a model, USD per 1M tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerlessPrice {
    /// What it is ("8B-class model on a serverless API").
    pub label: String,
    /// USD per 1M input tokens.
    pub input_per_million: f64,
    /// USD per 1M output tokens.
    pub output_per_million: f64,
}

/// When the dashboard's default serverless prices were read.
pub const PRICES_AS_OF: &str = "2025-06";

/// The default serverless price for a model of `params_b` billion parameters: the size
/// classes' list prices of a large serverless host (Together AI's "Turbo" Llama prices
/// read in [`PRICES_AS_OF`]: 8B $0.18, 70B $0.88 per 1M tokens in and out) with smaller and
/// middle classes between. A default to edit: prices change and differ by host.
pub fn default_serverless_price(params_b: f64) -> ServerlessPrice {
    let (class, usd) = match params_b {
        p if p <= 4.0 => ("up to 4B", 0.10),
        p if p <= 9.0 => ("4–9B", 0.18),
        p if p <= 35.0 => ("9–35B", 0.80),
        _ => ("over 35B", 0.88),
    };
    ServerlessPrice {
        label: format!("{class} model on a serverless API (list price as of {PRICES_AS_OF})"),
        input_per_million: usd,
        output_per_million: usd,
    }
}

/// Where renting the GPU starts to cost less than the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakEven {
    /// Requests a day above which renting is cheaper; `None` when the API costs nothing.
    pub requests_per_day: Option<f64>,
    /// Requests a day the GPU serves at the SLO (its measured capacity).
    pub capacity_per_day: f64,
    /// Whether the break-even is within that capacity (else one GPU never breaks even).
    pub within_capacity: bool,
    /// What one request costs on the API, USD.
    pub api_usd_per_request: f64,
    /// The rent of a day, USD.
    pub rent_usd_per_day: f64,
}

/// The break-even of a GPU at `price_per_hour` serving `tokens_per_s` output tokens at the
/// SLO, for requests of `input_tokens` in and `output_tokens` out, against `api`.
pub fn break_even(
    price_per_hour: f64,
    tokens_per_s: f64,
    input_tokens: u32,
    output_tokens: u32,
    api: &ServerlessPrice,
) -> BreakEven {
    let per_request = (f64::from(input_tokens) * api.input_per_million
        + f64::from(output_tokens) * api.output_per_million)
        / 1e6;
    let rent = price_per_hour * 24.0;
    let requests = (per_request > 0.0).then(|| rent / per_request);
    let capacity = if output_tokens > 0 {
        tokens_per_s.max(0.0) * 86_400.0 / f64::from(output_tokens)
    } else {
        0.0
    };
    BreakEven {
        requests_per_day: requests,
        capacity_per_day: capacity,
        within_capacity: requests.is_some_and(|r| r <= capacity),
        api_usd_per_request: per_request,
        rent_usd_per_day: rent,
    }
}
