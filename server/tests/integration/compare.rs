//! One model across GPUs: two tests pinned to offers of different GPUs give two points on
//! the price-performance frontier, over REST and on the server-rendered Compare page.

use crate::dashboard::Dashboard;
use crate::runs::{finished, start};
use gdl_model::compare::{Comparison, Goal};
use gdl_model::runs::RunStatus;
use serde_json::json;

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
    let missing = d.get("/api/compare").await;
    assert_eq!(missing.status(), 400);
}

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
    let b: serde_json::Value = d
        .get(&format!("/api/benchmarks/{}", run.benchmark_id.unwrap()))
        .await
        .json()
        .await
        .unwrap();
    let record: gdl_model::runs::BenchmarkRecord =
        serde_json::from_value(b["benchmark"].clone()).unwrap();
    let capacity = record.capacity.expect("a capacity was found");
    assert!(
        record.phases.len() >= 3,
        "doubling from 1: {:?}",
        record.phases.len()
    );
    assert!(record.phases.iter().all(|p| p.meets_slo.is_some()));
    assert_eq!(record.at_slo().unwrap().concurrency, capacity);
    let log = d
        .get(&format!("/api/runs/{id}/logs?format=text"))
        .await
        .text()
        .await
        .unwrap();
    assert!(log.contains("Capacity search ended"), "{log}");
}
