//! Issue 31: a deployment that already serves tunes its engine when asked (its page's Tune
//! card, REST and `gpu-deploy-llm tune`): the gateway refuses requests meanwhile, it serves again with the
//! best point, and that point is what its engine and its run's configuration say.

use crate::dashboard::Dashboard;
use crate::deployments::{chat, deployment, reaches, stopped_and_destroyed};
use crate::recovery::log_has;
use crate::runs::post;
use crate::support::eventually;
use gdl_model::deployments::{Deployment, DeploymentStatus};
use serde_json::json;
use std::time::Duration;

/// The gateway's answer to a chat request through deployment `id` with `key`: its status
/// and the error code when it refused.
async fn refused_with(d: &Dashboard, id: &str, key: &str) -> (u16, String) {
    let (status, body) = chat(d, id, key, false).await;
    let code = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serving_deployment_tunes_when_asked_and_serves_again_with_the_best() {
    let d = crate::deployments::dashboard().await;
    // An Ada card and two sequences at once: there is a better setting to find.
    let (status, started) = post(
        &d,
        "/api/deployments",
        json!({"config": {"model": "qwen2.5-0.5b", "max_price": 3, "search_seconds": 30,
            "settings": {"max_num_seqs": 2},
            "pin_gpu": {"gpu_type": "RTX 4090", "gpu_count": 1, "price_per_hour": 0.5}},
            "guards": {"idle_minutes": 20, "max_spend_usd": 3}}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let (id, key) = (
        started["id"].as_str().unwrap(),
        started["key"]["secret"].as_str().unwrap(),
    );
    let serving = reaches(&d, id, DeploymentStatus::Serving).await;
    assert_eq!(serving.settings, "max 2 sequences");
    let tune = format!("/api/deployments/{id}/tune");

    // Refused with a code and a hint, nothing changed: a budget out of bounds, one past the
    // spend guard, a blank one, and an unknown deployment.
    for (body, code, words) in [
        (json!({"usd_budget": 0}), 400, "between 0.01 and 100"),
        (json!({"usd_budget": 5}), 400, "spend guard"),
        (json!({"seconds": 600}), 400, "usd_budget"),
    ] {
        let (status, error) = post(&d, &tune, body.clone()).await;
        assert_eq!(status, code, "{body}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(words),
            "{error}"
        );
        assert!(error["hint"].is_string(), "{error}");
    }
    let (status, _) = post(
        &d,
        "/api/deployments/dep-000000000000/tune",
        json!({"usd_budget": 1}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(deployment(&d, id).await.status, DeploymentStatus::Serving);

    // Asked from its page's Tune card, as the form posts without JavaScript: it stops
    // serving while it tunes, and a second ask is refused meanwhile.
    let path = format!("/deployments/{id}");
    let page = d.get(&path).await.text().await.unwrap();
    assert!(
        page.contains(r#"data-testid="deployment-tune""#),
        "the card"
    );
    let fields: Vec<(String, String)> = [("id", id), ("usd_budget", "0.5"), ("seconds", "300")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let (status, location, _) =
        crate::deployments_pages::post_plain(&d, "tune_deployment", &path, &fields).await;
    assert_eq!(status, 302, "{location}");
    assert!(location.contains(&path), "back to its page: {location}");
    eventually(Duration::from_secs(30), || async {
        (deployment(&d, id).await.status == DeploymentStatus::Tuning).then_some(())
    })
    .await;
    assert_eq!(
        refused_with(&d, id, key).await,
        (503, "deployment_not_ready".to_owned())
    );
    let (status, again) = post(&d, &tune, json!({"usd_budget": 0.5})).await;
    assert_eq!(status, 503, "{again}");
    let tuned: Deployment = eventually(Duration::from_secs(300), || async {
        let now = deployment(&d, id).await;
        assert!(!now.status.is_finished(), "{now:?}");
        (now.status == DeploymentStatus::Serving && now.tuning.is_some()).then_some(now)
    })
    .await;
    let tuning = tuned.tuning.clone().unwrap();
    let winner = tuning.winner();
    assert_eq!(
        tuning.points[0].settings.max_num_seqs,
        Some(2),
        "from its own"
    );
    assert!(
        tuning.best > 0,
        "two sequences at once are beaten: {tuning:?}"
    );
    assert!(tuning.cost_usd <= 0.5, "{}", tuning.cost_usd);
    // It serves with the best point: its record, its run's configuration (what a crash's
    // restart and a resume start) and the engine on the host all say so.
    assert_eq!(tuned.settings, winner.words());
    assert_eq!(
        tuned.benchmark_usd_per_mtok,
        winner.usd_per_million_output_tokens
    );
    let run = crate::runs::run(&d, tuned.run_id.as_str()).await;
    crate::tuning::serves_with(&d, &run, winner).await;
    assert!(log_has(&d, run.id.as_str(), "Tuning asked while serving"));
    assert_eq!(chat(&d, id, key, false).await.0, 200, "open again");
    let page = d.get(&path).await.text().await.unwrap();
    assert!(page.contains(r#"data-testid="deployment-tuning""#));
    assert!(page.contains(&format!("best: {}", winner.change)), "{page}");

    // From the command line, followed to its end: the points it tried, and what it serves
    // with then. A refusal is exit 2.
    let (url, dep) = (d.url.clone(), id.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let mut command = crate::process::client(args, Some(&url), None);
            crate::process::output_within(&mut command, Duration::from_secs(240))
        };
        let bad = run(&["tune", &dep, "--usd", "0"]);
        let good = run(&["tune", &dep, "--usd", "0.05", "--seconds", "120", "--wait"]);
        (bad, good)
    })
    .await
    .unwrap();
    let (bad, good) = out;
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("hint:"), "{}", bad.stderr);
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}\n{}",
        good.stdout,
        good.stderr
    );
    assert!(good.stdout.contains("tuning   "), "{}", good.stdout);
    assert_eq!(good.stdout.matches("<- best").count(), 1, "{}", good.stdout);
    let now = deployment(&d, id).await;
    assert!(
        good.stdout
            .contains(&format!("serves again: engine {}\n", now.settings)),
        "{}",
        good.stdout
    );
    assert_ne!(now.tuning, Some(tuning), "a new tuning");
    stopped_and_destroyed(&d, id).await;
}
