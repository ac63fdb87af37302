//! Tuning the engine on the GPU already rented (issue 31): one restart of the engine at a
//! time with changed settings, each measured by the SLO capacity search ([`super::search`]),
//! keeping the setting with the highest capacity at the SLO, hence the lowest $ per token
//! at the rental's price.
//!
//! The changes are tried in [`space`]'s order, each on top of the best so far: an FP8 KV
//! cache, then a larger memory share, then a higher limit on sequences when that limit (not
//! memory) bound the capacity, then 16-bit weights quantized to FP8 as they load, then on
//! several GPUs copies of the model side by side (data parallel) instead of one split over
//! all (tensor parallel). A change that does not beat the best is dropped and the engine
//! goes back to the best at the end. Before each trial the cost of one more (as
//! long as the slowest so far) is checked against the $ and time budgets, and the search
//! inside is bounded by what is left, so tuning never spends past its budget.

use super::search::{self, Capacity, Limits};
use super::Engine;
use gdl_model::engines::{EngineSettings, KvCacheDtype};
use gdl_model::registry::Quantization;
use gdl_model::tuning::{Change, TuneStop, Tuning, TuningPoint, TUNED_MEMORY_SHARE};
use std::future::Future;
use std::time::{Duration, Instant};

/// A point beats the best only by more than this share of throughput at equal capacity.
pub const NOISE: f64 = search::SATURATION_GAIN;

/// Restarts the engine on the rental.
pub trait Restart {
    /// Stops the engine and starts it with `settings`, its weights quantized as `weights`
    /// says (`None`: the run's own), waiting until it serves: the engine to measure, or why
    /// it did not serve (its own words).
    fn restart(
        &mut self,
        settings: &EngineSettings,
        weights: Option<Quantization>,
    ) -> impl Future<Output = Result<Engine, String>> + Send;
}

/// How tuning goes: what it may spend, how each search goes, what it may try and what
/// it leaves running.
#[derive(Clone, Debug)]
pub struct TunePlan {
    pub usd_budget: f64,
    pub time_budget: Duration,
    /// Each trial's capacity search (its budgets are cut to what is left).
    pub search: Limits,
    /// What a restart is expected to take before one was timed (the first load's time).
    pub restart_estimate: Duration,
    /// Whether the engine and the GPU can hold the KV cache in FP8.
    pub fp8_cache: bool,
    /// Whether the weights can be quantized to FP8 as they load (16-bit weights, a GPU
    /// with FP8 arithmetic).
    pub fp8_weights: bool,
    /// The copies of the model to try side by side on the run's GPUs (each split over its
    /// share of them): the most that divide them with each share still holding the
    /// model; `None` on one GPU, or when no share smaller than all of them would.
    pub copies: Option<u32>,
    /// Leave the engine running the best settings (the budgets keep room for that last
    /// restart); otherwise it is left as the last trial left it (the run's cleanup follows).
    pub settle: bool,
}

/// The changes worth trying from `point` (its settings and weights, and the capacity
/// measured with them), in order, for a `plan` that says what the engine and GPU can do;
/// its search's highest concurrency is the ceiling (a limit at it or above cannot be seen
/// to bind).
pub fn space(point: &TuningPoint, plan: &TunePlan) -> Vec<Change> {
    let settings = &point.settings;
    let mut out = Vec::new();
    if plan.fp8_cache && settings.kv_cache_dtype != KvCacheDtype::Fp8 {
        out.push(Change::KvCacheFp8);
    }
    if settings.memory_share() < TUNED_MEMORY_SHARE {
        out.push(Change::MemoryShare(TUNED_MEMORY_SHARE));
    }
    out.extend(raise_sequences(
        settings,
        point.capacity,
        plan.search.max_concurrency,
    ));
    if plan.fp8_weights && point.weights.is_none() {
        out.push(Change::WeightsFp8);
    }
    if let Some(n) = plan.copies.filter(|n| *n > 1 && settings.copies() != *n) {
        out.push(Change::DataParallel(n));
    }
    out
}

/// A doubled limit on sequences, when the limit (each copy's, so all of them together) is
/// what the capacity reached and the search can measure above it.
fn raise_sequences(
    settings: &EngineSettings,
    capacity: Option<u32>,
    ceiling: u32,
) -> Option<Change> {
    let limit = settings.max_num_seqs?;
    let together = limit.saturating_mul(settings.copies());
    (capacity? >= together && together < ceiling && limit < 4096)
        .then(|| Change::MaxNumSeqs((limit * 2).min(4096)))
}

/// Tunes from `settings`, which `engine` serves now and whose capacity search was
/// `measured` (the run's own; `None`: it is measured first, as part of tuning), as `plan`
/// says. `progress` hears of each point as it is measured.
pub async fn tune<R: Restart>(
    restart: &mut R,
    engine: &Engine,
    settings: &EngineSettings,
    measured: Option<Capacity>,
    plan: &TunePlan,
    mut progress: impl FnMut(&TuningPoint),
) -> Tuning {
    let started = Instant::now();
    let price = engine.price_per_hour.unwrap_or(0.0);
    let cost = |d: Duration| price * d.as_secs_f64() / 3600.0;
    let found = match measured {
        Some(found) => found,
        None => {
            let first = Limits {
                time_budget: plan.search.time_budget.min(plan.time_budget),
                usd_budget: Some(plan.usd_budget),
                ..plan.search.clone()
            };
            search::search(engine, &first).await
        }
    };
    let seconds = found.elapsed.as_secs_f64();
    let first = point(settings.clone(), "default".into(), &found, seconds, price);
    progress(&first);
    let mut points = vec![first];
    let mut best = 0;
    // What one trial takes at most so far: the restart and the search apart.
    let mut restart_time = plan.restart_estimate;
    let mut search_time = found.elapsed.max(Duration::from_secs(1));
    let mut queue = space(&points[0], plan);
    let mut tried: Vec<Change> = Vec::new();
    // The point whose settings the engine runs now (`None`: it is not running).
    let mut running = Some(0);
    let stop = loop {
        if queue.is_empty() {
            break TuneStop::Done;
        }
        let change = queue.remove(0);
        let reserve = if plan.settle {
            restart_time
        } else {
            Duration::ZERO
        };
        let projected = started.elapsed() + restart_time + search_time + reserve;
        if projected > plan.time_budget {
            break TuneStop::TimeBudget;
        }
        if cost(projected) > plan.usd_budget {
            break TuneStop::UsdBudget;
        }
        let base = &points[best];
        let candidate = change.apply(&base.settings);
        let weights = change.weights().or(base.weights);
        let words = gdl_model::tuning::changed(&points[0].settings, &candidate, weights);
        let trial_started = Instant::now();
        let restarted = restart.restart(&candidate, weights).await;
        restart_time = restart_time.max(trial_started.elapsed());
        let point = match restarted {
            Ok(engine) => {
                running = Some(points.len());
                // The search gets what is left of both budgets, less the room kept.
                let used = started.elapsed() + reserve;
                let left = plan.time_budget.saturating_sub(used);
                let searching = Limits {
                    time_budget: left.min(plan.search.time_budget),
                    usd_budget: Some((plan.usd_budget - cost(used)).max(0.0)),
                    ..plan.search.clone()
                };
                let searched = Instant::now();
                let found = search::search(&engine, &searching).await;
                search_time = search_time.max(searched.elapsed());
                let seconds = trial_started.elapsed().as_secs_f64();
                TuningPoint {
                    weights,
                    ..point(candidate, words, &found, seconds, price)
                }
            }
            Err(why) => {
                running = None;
                TuningPoint {
                    settings: candidate,
                    weights,
                    change: words,
                    capacity: None,
                    output_tokens_per_s: None,
                    usd_per_million_output_tokens: None,
                    seconds: trial_started.elapsed().as_secs_f64(),
                    cost_usd: cost(trial_started.elapsed()),
                    error: Some(why),
                }
            }
        };
        progress(&point);
        tried.push(change);
        let better = point.beats(&points[best], NOISE);
        points.push(point);
        if better {
            best = points.len() - 1;
            // A new best may open a change that was not worth trying before.
            for next in space(&points[best], plan) {
                if !tried.contains(&next) && !queue.contains(&next) {
                    queue.push(next);
                }
            }
        }
    };
    let mut stop = stop;
    if plan.settle && running != Some(best) {
        // The engine runs a setting that lost (or none): back to the best.
        let winner = &points[best];
        if let Err(why) = restart.restart(&winner.settings, winner.weights).await {
            tracing::warn!(error = %why, "the engine did not start again with the best settings");
            stop = TuneStop::Failed;
        }
    }
    let elapsed = started.elapsed();
    Tuning {
        points,
        best,
        stop,
        seconds: elapsed.as_secs_f64(),
        cost_usd: cost(elapsed),
    }
}

/// A point from a capacity search that took `seconds` at `price` $/h.
fn point(
    settings: EngineSettings,
    change: String,
    found: &Capacity,
    seconds: f64,
    price: f64,
) -> TuningPoint {
    let at = found.at_capacity();
    TuningPoint {
        settings,
        weights: None,
        change,
        capacity: found.concurrency,
        output_tokens_per_s: at.map(|m| m.output_tokens_per_s),
        usd_per_million_output_tokens: at.and_then(|m| m.usd_per_million_output_tokens),
        seconds,
        cost_usd: price * seconds / 3600.0,
        error: None,
    }
}

#[cfg(test)]
mod tests;
