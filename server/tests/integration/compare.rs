//! One model across GPUs: two tests pinned to offers of different GPUs give two points on
//! the price-performance frontier, over REST and on the server-rendered Compare page.

use crate::dashboard::Dashboard;
use crate::runs::{finished, start};
use gdl_model::benchmark::{PhaseMetrics, Slo};
use gdl_model::compare::{Comparison, Goal};
use gdl_model::runs::RunStatus;
use serde_json::json;
use server::bench::search::SATURATION_GAIN;

#[tokio::test]
async fn two_gpus_give_two_points_on_the_frontier_with_recommendations() {
    let d = Dashboard::start(None).await;
    // Each test pinned to a GPU not benchmarked yet, chosen from the offers listed just
    // before it (the simulated market moves on while a test runs; a pinned offer gone by
    // then falls back to another, so a third try may be needed).
    let mut ids = Vec::new();
    let mut gpus_tested: Vec<String> = Vec::new();
    for _ in 0..4 {
        if gpus_tested.len() == 2 {
            break;
        }
        let offer = crate::inventory_fit::rentable(&d)
            .await
            .into_iter()
            .find(|o| !gpus_tested.contains(&o.gpu_type))
            .expect("another GPU type on offer");
        let id = start(
            &d,
            json!({"model": "qwen2.5-0.5b", "provider": "vastai", "max_price": 3, "pin_offer": offer.id}),
        )
        .await;
        let run = finished(&d, &id).await;
        assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
        let rented = run.offer.as_ref().unwrap().gpu_type.clone();
        if !gpus_tested.contains(&rented) {
            gpus_tested.push(rented);
            ids.push(run.benchmark_id.unwrap());
        }
    }
    assert_eq!(gpus_tested.len(), 2, "two GPU types benchmarked");
    let c: Comparison = d
        .get("/api/compare?model=Qwen/Qwen2.5-0.5B-Instruct")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c.points.len(), 2, "{c:?}");
    let gpus: Vec<String> = c.points.iter().map(|p| p.gpu_type.clone()).collect();
    assert!(gpus_tested.iter().all(|g| gpus.contains(g)), "{gpus:?}");
    assert!(c.points.iter().any(|p| p.pareto));
    assert_eq!(c.recommendations.len(), 3);
    let cost = c
        .recommendations
        .iter()
        .find(|r| r.goal == Goal::Cost)
        .unwrap();
    assert!(
        ids.iter().any(|id| cost.text.contains(id.as_str())),
        "{}",
        cost.text
    );
    let page = d
        .get("/compare?model=Qwen/Qwen2.5-0.5B-Instruct")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-points=\"2\""), "{page}");
    assert!(page.contains("<title id=\"frontier-title\">"));
    assert!(page.contains("data-goal=\"balanced\""));
    // The preset's alias names the same model, as on the form and in the CLI.
    let by_alias: Comparison = d
        .get("/api/compare?model=qwen2.5-0.5b")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_alias.model, c.model);
    assert_eq!(by_alias.points.len(), 2, "{by_alias:?}");
    let missing = d.get("/api/compare").await;
    assert_eq!(missing.status(), 400);
}

/// Whether a level met `slo`, read from its recorded figures: its p95 TTFT and p95 TPOT
/// within the bounds and enough of its requests succeeded (a level with no request fails).
fn within(slo: &Slo, p: &PhaseMetrics) -> bool {
    let total = p.completed + p.failed;
    total > 0
        && p.completed as f64 / total as f64 >= slo.min_success
        && p.ttft_ms.p95 <= slo.ttft_p95_ms
        && p.tpot_ms.p95 <= slo.tpot_p95_ms
}

/// The capacity is checked against the levels themselves, not against `at_slo()` (which
/// reads the capacity back): the level at the capacity meets the SLOs recorded with the
/// benchmark, and every level tried above it either broke them or was saturated (its
/// throughput up less than `SATURATION_GAIN` on the capacity's, so more load only added
/// waiting). What was tried above it follows from why the search ended, as its log says.
#[tokio::test]
async fn a_test_asked_to_find_the_capacity_records_it_with_every_level_tried() {
    let d = Dashboard::start(None).await;
    let id = start(
        &d,
        json!({"model": "qwen2.5-0.5b", "max_price": 3, "capacity_search": true}),
    )
    .await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
    let record = crate::runs::benchmark(&d, run.benchmark_id.as_ref().unwrap().as_str()).await;
    let capacity = record.capacity.expect("a capacity was found");
    let slo = record
        .slo
        .expect("the SLOs are recorded with the benchmark");
    // Each level's figures, for the messages.
    let levels: Vec<String> = record
        .phases
        .iter()
        .map(|p| {
            format!(
                "c={}: TTFT p95 {:.1} ms, TPOT p95 {:.1} ms, {}/{} ok, {:.0} tok/s, meets {:?}",
                p.concurrency,
                p.ttft_ms.p95,
                p.tpot_ms.p95,
                p.completed,
                p.completed + p.failed,
                p.output_tokens_per_s,
                p.meets_slo
            )
        })
        .collect();
    assert!(record.phases.len() >= 3, "doubling from 1: {levels:?}");
    assert_eq!(
        record.phases.first().map(|p| p.concurrency),
        Some(1),
        "the search starts at concurrency 1: {levels:?}"
    );
    let mut tried: Vec<u32> = record.phases.iter().map(|p| p.concurrency).collect();
    tried.sort_unstable();
    tried.dedup();
    assert_eq!(
        tried.len(),
        record.phases.len(),
        "each level once: {levels:?}"
    );
    // Every verdict recorded is the one the recorded figures give.
    for p in &record.phases {
        assert_eq!(
            p.meets_slo,
            Some(within(&slo, p)),
            "c={} against {slo:?}: {levels:?}",
            p.concurrency
        );
    }
    let at = record
        .phases
        .iter()
        .find(|p| p.concurrency == capacity)
        .unwrap_or_else(|| panic!("the capacity {capacity} is a level tried: {levels:?}"));
    assert!(
        within(&slo, at),
        "the capacity {capacity} meets {slo:?}: {levels:?}"
    );
    // Not on the plateau itself: a doubled level is kept only if it gained throughput.
    if capacity > 1 && capacity.is_power_of_two() {
        let half = record
            .phases
            .iter()
            .find(|p| p.concurrency == capacity / 2)
            .unwrap_or_else(|| panic!("doubling tried {}: {levels:?}", capacity / 2));
        assert!(
            at.output_tokens_per_s >= half.output_tokens_per_s * (1.0 + SATURATION_GAIN),
            "the capacity {capacity} is saturated already: {levels:?}"
        );
    }
    let above: Vec<&PhaseMetrics> = record
        .phases
        .iter()
        .filter(|p| p.concurrency > capacity)
        .collect();
    for p in &above {
        let saturated = p.output_tokens_per_s < at.output_tokens_per_s * (1.0 + SATURATION_GAIN);
        assert!(
            !within(&slo, p) || saturated,
            "c={} above the capacity {capacity} met {slo:?} and gained throughput: {levels:?}",
            p.concurrency
        );
    }
    let log = d
        .get(&format!("/api/runs/{id}/logs?format=text"))
        .await
        .text()
        .await
        .unwrap();
    assert!(log.contains("Capacity search ended"), "{log}");
    // Why the search ended decides what must have been tried above the capacity (the
    // simulated server may meet the SLOs up to the maximum, or break them sooner on a busy
    // machine).
    let stop = log
        .split("Capacity search ended (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_default();
    let tried_above = |c: u32| above.iter().find(|p| p.concurrency == c);
    match stop {
        "Found" => {
            let next = tried_above(capacity + 1)
                .unwrap_or_else(|| panic!("the bracket closed on {capacity}: {levels:?}"));
            assert!(!within(&slo, next), "c={} broke {slo:?}", capacity + 1);
        }
        "Saturated" => assert!(
            tried_above(capacity * 2).is_some(),
            "doubling saw {} saturate: {levels:?}",
            capacity * 2
        ),
        "MaxConcurrency" => assert!(
            above.is_empty() && record.phases.iter().all(|p| within(&slo, p)),
            "every level up to the maximum met {slo:?}: {levels:?}"
        ),
        "TimeBudget" | "UsdBudget" => {}
        other => panic!("the search ended with {other:?}, not with a capacity: {log}"),
    }
}
