//! The run history page (`/runs`) as the server renders it, with its filters and pages in
//! the URL, and `GET /api/runs` reading the same filters: the same struct, the same rule.

use crate::dashboard::Dashboard;
use chrono::{Duration, Utc};
use gdl_model::runs::{Run, RunStatus};

/// Three stored runs, newest first: a cancelled one, a failed 7B one, a passed one.
async fn history(d: &Dashboard) {
    let store = d.state.dashboard.runner().store();
    let now = Utc::now();
    for (i, (id, model, status)) in [
        ("run-passed", "qwen2.5-0.5b", RunStatus::Passed),
        ("run-failed", "org/Model-7B", RunStatus::Failed),
        ("run-cancelled", "qwen2.5-0.5b", RunStatus::Cancelled),
    ]
    .into_iter()
    .enumerate()
    {
        let config =
            serde_json::from_value(serde_json::json!({"model": model, "max_price": 1})).unwrap();
        let mut run = Run::new(id.into(), config, now - Duration::hours(3 - i as i64));
        run.status = status;
        store.save_run(&run).await.unwrap();
    }
}

/// The runs a page lists, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("data-run=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn the_history_page_lists_every_run_filtered_and_paged_as_its_url_says() {
    let d = Dashboard::start(None).await;
    history(&d).await;
    let page = |path: &'static str| {
        let d = &d;
        async move {
            let reply = d.get(path).await;
            assert_eq!(reply.status(), 200, "{path}");
            reply.text().await.unwrap()
        }
    };
    let all = page("/runs").await;
    assert_eq!(listed(&all), ["run-cancelled", "run-failed", "run-passed"]);
    assert!(all.contains("<a href=\"/runs\""), "the Runs tab");
    assert_eq!(listed(&page("/runs?status=failed").await), ["run-failed"]);
    assert_eq!(
        listed(&page("/runs?model=qwen2.5-0.5b&status=").await),
        ["run-cancelled", "run-passed"],
        "an empty filter is unset"
    );
    let first = page("/runs?limit=2").await;
    assert_eq!(listed(&first), ["run-cancelled", "run-failed"]);
    assert!(
        first.contains("href=\"/runs?page=2&amp;limit=2\""),
        "{first}"
    );
    assert_eq!(listed(&page("/runs?limit=2&page=2").await), ["run-passed"]);
    // A filter that does not read is said, with its name; nothing is listed.
    let bad = page("/runs?status=sleeping").await;
    assert!(listed(&bad).is_empty());
    assert!(
        bad.contains("invalid_input") && bad.contains("status"),
        "{bad}"
    );
    // REST reads the same struct.
    let failed: Vec<Run> = d.get("/api/runs?status=failed").await.json().await.unwrap();
    assert_eq!(failed.len(), 1);
    let refused = d.get("/api/runs?status=sleeping").await;
    assert_eq!(refused.status(), 400);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["code"], "invalid_input");
    assert!(
        error["message"].as_str().unwrap().contains("status"),
        "{error}"
    );
    assert!(error["hint"].is_string());
}

/// A rental is "in use" only while its run holds it: one the run's cleanup (or the
/// reconciler) destroyed says so with its end time, and a failed one says why in plain
/// words with the provider's code (issue 26).
#[tokio::test]
async fn a_destroyed_rental_says_so_with_its_end_time_not_in_use() {
    let d = Dashboard::start(None).await;
    let created = Utc::now() - Duration::minutes(30);
    let ended = created + Duration::minutes(12);
    let config = serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 1});
    let mut run = Run::new(
        "run-done".into(),
        serde_json::from_value(config).unwrap(),
        created,
    );
    run.status = RunStatus::Passed;
    run.ended_at = Some(ended);
    run.session_id = Some("s-2".into());
    let offer = serde_json::json!({"offer_id": "o", "provider": "vastai",
        "gpu_type": "RTX 4090", "gpu_count": 1, "vram_gb": 24, "price_per_hour": 0.35});
    run.rentals = serde_json::from_value(serde_json::json!([
        {"attempt": 1, "session_id": "s-1", "offer": offer, "created_at": created,
         "failure": "the session ended while starting (failed): provider create failed: no_such_ask",
         "destroyed": true, "ended_at": created + Duration::minutes(2)},
        {"attempt": 2, "session_id": "s-2", "offer": offer, "created_at": created,
         "destroyed": true, "ended_at": ended},
    ]))
    .unwrap();
    d.state
        .dashboard
        .runner()
        .store()
        .save_run(&run)
        .await
        .unwrap();
    let html = d.get("/runs/run-done").await.text().await.unwrap();
    let row = |n: u32| {
        let at = html.find(&format!("data-rental=\"{n}\"")).unwrap();
        html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
    };
    let used = row(2);
    assert!(!used.contains("in use"), "{used}");
    assert!(used.contains("served the test"), "{used}");
    let stamp = ended.format("%Y-%m-%d %H:%M UTC").to_string();
    assert!(used.contains(&format!("destroyed {stamp}")), "{used}");
    let failed = row(1);
    assert!(
        failed.contains(
            "The provider no longer has this machine for rent (provider code no_such_ask)"
        ),
        "{failed}"
    );
}
