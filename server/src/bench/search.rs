//! The SLO capacity search: the highest concurrency whose level meets the SLOs. Doubling
//! from 1 brackets it (the last level that met them and the first that did not), then a
//! binary search between the two closes in. It stops early on over-saturation (output
//! throughput up less than [`SATURATION_GAIN`] from the level before: more load only adds
//! waiting), at the maximum concurrency, and within a time budget and a $ budget (the
//! server's price × the time spent).

use super::Engine;
use gdl_model::benchmark::{PhaseMetrics, Sample};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Below this relative throughput gain between two levels, the server is saturated.
pub const SATURATION_GAIN: f64 = 0.05;

/// How far the search may go.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_concurrency: u32,
    pub time_budget: Duration,
    /// USD; needs the engine's price.
    pub usd_budget: Option<f64>,
    /// Requests at each level, per unit of concurrency (at least 4 at any level).
    pub requests_per_slot: u32,
}

/// Why the search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The bracket closed: the next concurrency up breaks an SLO.
    Found,
    /// Throughput stopped growing while the SLOs still held.
    Saturated,
    /// Every level up to the maximum concurrency met the SLOs.
    MaxConcurrency,
    TimeBudget,
    UsdBudget,
    /// Even concurrency 1 breaks an SLO.
    NeverMet,
}

/// What the search found.
#[derive(Clone, Debug)]
pub struct Capacity {
    /// The highest concurrency that met the SLOs.
    pub concurrency: Option<u32>,
    pub stop: Stop,
    /// Every level tried, in the order tried, with its samples.
    pub points: Vec<(PhaseMetrics, Vec<Sample>)>,
    pub elapsed: Duration,
}

impl Capacity {
    /// The level at capacity.
    pub fn at_capacity(&self) -> Option<&PhaseMetrics> {
        let c = self.concurrency?;
        self.points
            .iter()
            .map(|(m, _)| m)
            .find(|m| m.concurrency == c)
    }
}

/// Searches the highest concurrency that meets the engine's SLOs.
pub async fn search(engine: &Engine, limits: &Limits) -> Capacity {
    let started = Instant::now();
    let mut points: Vec<(PhaseMetrics, Vec<Sample>)> = Vec::new();
    let spent = |started: Instant| {
        engine
            .price_per_hour
            .map(|p| p * started.elapsed().as_secs_f64() / 3600.0)
    };
    let out_of_budget = |started: Instant| {
        if started.elapsed() >= limits.time_budget {
            Some(Stop::TimeBudget)
        } else if let (Some(budget), Some(spent)) = (limits.usd_budget, spent(started)) {
            (spent >= budget).then_some(Stop::UsdBudget)
        } else {
            None
        }
    };
    let requests = |c: u32| (c * limits.requests_per_slot.max(1)).max(4);
    let max = limits.max_concurrency.max(1);
    let mut good: Option<(u32, f64)> = None;
    let mut bad: Option<u32> = None;
    let mut c = 1;
    // Bracket by doubling.
    let stop = loop {
        if let Some(stop) = out_of_budget(started) {
            break stop;
        }
        let (m, samples) = engine.level(c, requests(c)).await;
        let met = m.meets_slo == Some(true);
        let throughput = m.output_tokens_per_s;
        points.push((m, samples));
        if !met {
            bad = Some(c);
            break Stop::Found;
        }
        if let Some((_, before)) = good {
            if throughput < before * (1.0 + SATURATION_GAIN) {
                // More load only added waiting: the level before is the capacity.
                break Stop::Saturated;
            }
        }
        good = Some((c, throughput));
        if c >= max {
            break Stop::MaxConcurrency;
        }
        c = (c * 2).min(max);
    };
    let mut stop = stop;
    // Close in between the last good and the first bad level.
    if let (Stop::Found, Some(hi)) = (stop, bad) {
        let mut lo = good.map_or(0, |(c, _)| c);
        let mut hi = hi;
        while hi - lo > 1 {
            if let Some(over) = out_of_budget(started) {
                stop = over;
                break;
            }
            let mid = lo + (hi - lo) / 2;
            let (m, samples) = engine.level(mid, requests(mid)).await;
            if m.meets_slo == Some(true) {
                lo = mid;
            } else {
                hi = mid;
            }
            points.push((m, samples));
        }
        good = (lo > 0).then_some((lo, 0.0));
    }
    let concurrency = good.map(|(c, _)| c);
    if concurrency.is_none() && stop == Stop::Found {
        stop = Stop::NeverMet;
    }
    Capacity {
        concurrency,
        stop,
        points,
        elapsed: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{engine_on, profile, ONE_AT_A_TIME};
    use super::*;
    use crate::bench::Workload;
    use crate::simulator::llm::SimLlm;

    #[tokio::test]
    async fn finds_the_highest_concurrency_within_the_slo() {
        let _turn = ONE_AT_A_TIME.lock().await;
        // The simulated server slows every stream by 12 % per other stream in flight, so
        // TPOT at concurrency c is 20 × (1 + 0.12 (c − 1)) ms: 32 ms at 6, 34.4 ms at 7.
        let p = profile(30.0, 20.0);
        let llm = SimLlm::start(p.clone(), 0).unwrap();
        let mut engine = engine_on(&llm, &p, Workload::synthetic(16, 12));
        engine.slo.tpot_p95_ms = 33.2;
        let limits = Limits {
            max_concurrency: 32,
            time_budget: Duration::from_secs(60),
            usd_budget: None,
            requests_per_slot: 2,
        };
        let found = search(&engine, &limits).await;
        assert_eq!(
            found.stop,
            Stop::Found,
            "{:?}",
            found
                .points
                .iter()
                .map(|(m, _)| (m.concurrency, m.tpot_ms.p95))
                .collect::<Vec<_>>()
        );
        assert_eq!(found.concurrency, Some(6));
        let tried: Vec<u32> = found.points.iter().map(|(m, _)| m.concurrency).collect();
        assert_eq!(&tried[..4], &[1, 2, 4, 8], "doubling brackets it");
        assert!(found.at_capacity().unwrap().meets_slo == Some(true));
        // A budget already spent stops it before anything runs.
        let broke = search(
            &engine,
            &Limits {
                time_budget: Duration::ZERO,
                ..limits
            },
        )
        .await;
        assert_eq!((broke.stop, broke.points.len()), (Stop::TimeBudget, 0));
    }

    #[tokio::test]
    async fn stops_where_more_load_only_adds_waiting() {
        let _turn = ONE_AT_A_TIME.lock().await;
        // Four decoding slots: past four streams, requests queue and throughput stays put.
        let p = crate::simulator::llm::LlmProfile {
            max_seqs: 4,
            kv_tokens: 0,
            ..profile(10.0, 10.0)
        };
        let llm = SimLlm::start(p.clone(), 0).unwrap();
        let mut engine = engine_on(&llm, &p, Workload::synthetic(8, 16));
        engine.slo.ttft_p95_ms = 60_000.0;
        engine.slo.tpot_p95_ms = 1_000.0;
        let found = search(
            &engine,
            &Limits {
                max_concurrency: 64,
                time_budget: Duration::from_secs(60),
                usd_budget: None,
                requests_per_slot: 2,
            },
        )
        .await;
        assert_eq!(
            found.stop,
            Stop::Saturated,
            "{:?}",
            found
                .points
                .iter()
                .map(|(m, _)| (m.concurrency, m.output_tokens_per_s))
                .collect::<Vec<_>>()
        );
        assert_eq!(found.concurrency, Some(4));
    }
}
