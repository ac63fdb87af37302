//! Costs: `GET /api/costs` and the Costs tab, from the broker's summary when it answers and
//! from our records always; each run's cost on the run and its benchmark.

use crate::dashboard::Dashboard;
use crate::runs::{finished, start, SMALL};
use gdl_model::costs::{CostReport, CostSource};
use gdl_model::runs::RunStatus;

#[tokio::test]
async fn a_run_costs_what_its_rentals_cost_on_the_run_its_benchmark_and_the_report() {
    let d = Dashboard::start(None).await;
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
    let cost = run.cost_usd(chrono::Utc::now());
    let by_rentals: f64 = run.rentals.iter().map(|r| r.cost_usd).sum();
    assert!(
        cost > 0.0 && (cost - by_rentals).abs() < 1e-9,
        "{cost} vs {by_rentals}"
    );
    // The benchmark carries the test's settled cost (every rental, cleanup included).
    let bench: serde_json::Value = d
        .get(&format!(
            "/api/benchmarks/{}",
            run.benchmark_id.as_ref().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let settled = bench["benchmark"]["test_cost_usd"].as_f64().unwrap();
    assert!((settled - cost).abs() < 1e-9, "{settled} vs {cost}");

    for period in ["today", "month"] {
        let report: CostReport = d
            .get(&format!("/api/costs?period={period}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report.source, CostSource::Broker, "{report:?}");
        assert!(report.broker.is_some() && report.broker_error.is_none());
        assert!((report.ours.total_usd - cost).abs() < 1e-9);
        assert_eq!(report.ours.sessions as usize, run.rentals.len());
        let gpu = &run.rentals[0].offer.gpu_type;
        assert!(report.ours.by_gpu[gpu] > 0.0);
        assert!(report
            .ours
            .by_provider
            .contains_key(run.rentals[0].offer.provider.as_str()));
        assert_eq!(report.runs.len(), 1);
        assert_eq!(report.runs[0].run_id, id);
        assert!((report.runs[0].cost_usd - cost).abs() < 1e-9);
    }
    let past: CostReport = d
        .get("/api/costs?period=range&from=2020-01-01&to=2020-01-31")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((past.ours.total_usd, past.runs.len()), (0.0, 0));
    assert_eq!(past.broker.unwrap().total_usd, 0.0);

    let bad = d
        .get("/api/costs?period=range&from=2026-02-10&to=2026-02-01")
        .await;
    assert_eq!(bad.status(), 400);
    let error: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(error["code"], "invalid_input");
    assert!(error["hint"].as_str().unwrap().contains("Swap"));

    let page = d.get("/costs?period=today").await.text().await.unwrap();
    assert!(page.contains("data-source=\"broker\""), "{page}");
    assert!(page.contains(&format!("data-run-cost=\"{id}\"")));
    assert!(page.contains("the broker&#x27;s figure") || page.contains("the broker's figure"));
}

#[tokio::test]
async fn without_the_broker_the_report_is_ours_and_says_why() {
    let d = Dashboard::start(Some("http://127.0.0.1:9")).await;
    let report: CostReport = d.get("/api/costs").await.json().await.unwrap();
    assert_eq!(report.source, CostSource::Ours);
    assert!(report.broker.is_none());
    assert_eq!(report.broker_error.unwrap().code, "shopper_unreachable");
    let page = d.get("/costs").await.text().await.unwrap();
    assert!(page.contains("data-source=\"ours\""), "{page}");
    assert!(page.contains("data-broker-error=\"shopper_unreachable\""));
}

/// Issue 26: the breakdown by provider and by GPU counted only what the broker bills, which
/// leaves out a short rental that ended between its hourly checks; it now counts every
/// rental in the period, failed ones and the one that ran, beside what the broker bills.
#[tokio::test]
async fn the_breakdown_counts_every_rental_in_the_period_failed_or_not() {
    let d = Dashboard::start(None).await;
    d.state
        .simulator
        .as_ref()
        .unwrap()
        .simulator()
        .update_faults(|f| f.failing_provisionings = 1);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
    assert_eq!(run.rentals.len(), 2, "one failed rental, one that ran");
    let report: CostReport = d.get("/api/costs?period=today").await.json().await.unwrap();
    let mut expected = std::collections::BTreeMap::<String, u32>::new();
    for r in &run.rentals {
        *expected.entry(r.offer.provider.to_string()).or_default() += 1;
    }
    let rows = report.breakdown(gdl_model::costs::CostBy::Provider);
    for (provider, rentals) in &expected {
        let row = rows.iter().find(|r| &r.name == provider).unwrap();
        assert_eq!(row.rentals, *rentals, "{rows:?}");
        assert!(row.billed_usd.is_some(), "the broker answered: {rows:?}");
    }
    assert_eq!(rows.iter().map(|r| r.rentals).sum::<u32>(), 2, "{rows:?}");
    assert_eq!(report.ours.sessions_by_provider, expected);
    // The page lists every provider rented, with its rentals.
    let page = d.get("/costs?period=today").await.text().await.unwrap();
    for (provider, rentals) in &expected {
        assert!(
            page.contains(&format!(
                "data-cost-by=\"provider\" data-name=\"{provider}\" data-rentals=\"{rentals}\""
            )),
            "{provider}: {page}"
        );
    }
    assert!(page.contains("data-cost-explain=\"billed\""), "{page}");
}
