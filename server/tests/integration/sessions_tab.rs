//! The Sessions tab: each session's owning run, time to running kept across a restart of
//! the dashboard, cost to date (labelled), filters and pages in the URL, and the
//! time-to-running chart, all in the server-rendered page.

use crate::dashboard::Dashboard;
use crate::runs::{finished, start, SMALL};
use crate::support::{eventually, sim};
use gdl_model::runs::RunStatus;
use gdl_model::sessions::SessionsView;
use std::time::Duration;

#[tokio::test]
async fn sessions_show_their_run_cost_and_time_to_running_across_a_restart() {
    let broker = sim(60.0).await;
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    let mut runs = Vec::new();
    {
        let d = Dashboard::start_custom(Some(&broker.url()), dir.clone(), |s| {
            s.broker.allow_private_hosts = true
        })
        .await;
        for _ in 0..2 {
            let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
            let run = finished(&d, &id).await;
            assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
            runs.push(run);
        }
    }
    // A new dashboard on the same data: it never saw these sessions start.
    let d = Dashboard::start_custom(Some(&broker.url()), dir, |s| {
        s.broker.allow_private_hosts = true
    })
    .await;
    let view: SessionsView = eventually(Duration::from_secs(20), || async {
        let v: SessionsView = d
            .get("/api/sessions?fresh=true")
            .await
            .json()
            .await
            .unwrap();
        (v.sessions.len() == 2 && v.sessions.iter().all(|s| s.cost.is_some())).then_some(v)
    })
    .await;
    for run in &runs {
        let rental = &run.rentals[0];
        let s = view
            .sessions
            .iter()
            .find(|s| s.id == rental.session_id)
            .unwrap();
        assert_eq!(s.run_id.as_deref(), Some(run.id.as_str()));
        assert_eq!(s.time_to_running_secs, rental.running_after_secs);
        assert!(s.time_to_running_secs.is_some());
    }
    let html = d.get("/sessions").await.text().await.unwrap();
    for run in &runs {
        assert!(
            html.contains(&format!("data-run-link=\"{}\"", run.id)),
            "{html}"
        );
    }
    assert_eq!(html.matches("data-cost-source=").count(), 2);
    assert!(
        html.contains("data-points=\"2\""),
        "the chart has both sessions"
    );
    assert!(html.contains("<title id=\"ttr-title\">"));
    // Filters in the URL: no session is running any more; by provider.
    let running = d
        .get("/sessions?status=running")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(running.matches("data-session=").count(), 0);
    assert!(running.contains("data-matching=\"0\""));
    let provider = view.sessions[0].provider.clone();
    let on = view
        .sessions
        .iter()
        .filter(|s| s.provider == provider)
        .count();
    let page = d
        .get(&format!(
            "/sessions?status=ended&provider={}",
            provider.as_str()
        ))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("data-session=").count(), on);
    assert!(
        page.contains("<option value=\"ended\" selected"),
        "the form keeps the filter"
    );
    // The run page a session links to.
    let page = d
        .get(&format!("/runs/{}", runs[0].id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("data-run=\"{}\"", runs[0].id)),
        "{page}"
    );
    assert!(page.contains("data-cost="));
    let missing = d.get("/runs/run-missing").await.text().await.unwrap();
    assert!(missing.contains("run_not_found"), "{missing}");
}
