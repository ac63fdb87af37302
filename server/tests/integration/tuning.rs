//! Issue 31: a test that asks for tuning tries engine settings one restart at a time on the
//! GPU it rented, after its capacity search, records every point with the benchmark and
//! spends within its budget; the rental is destroyed as always. (Which setting wins and by
//! how much is checked against the simulator's engine model in `bench::tune`'s tests.)

use crate::dashboard::Dashboard;
use crate::deployments::{chat, deployment, reaches, stopped_and_destroyed};
use crate::recovery::{log_has, nothing_running};
use crate::runs::{finished, post, start};
use gdl_model::deployments::DeploymentStatus;
use gdl_model::engines::KvCacheDtype;
use gdl_model::registry::Quantization;
use gdl_model::runs::RunStatus;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_that_asks_to_tune_tries_settings_on_its_rental_within_its_budget() {
    // Deployed from its benchmark below: the RTX 4090 it ran on must still be for rent.
    let d = crate::deployments::steady_dashboard().await;
    // An Ada card: an FP8 KV cache is among the settings tried. Two sequences at once bind
    // the capacity, so a raised limit is tried too, and wins.
    let body = json!({"model": "qwen2.5-0.5b", "max_price": 3, "capacity_search": true,
        "search_seconds": 30, "settings": {"max_num_seqs": 2},
        "pin_gpu": {"gpu_type": "RTX 4090", "gpu_count": 1, "price_per_hour": 0.5},
        "tune": {"usd_budget": 0.5, "seconds": 300}});
    let id = start(&d, body).await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
    assert!(run.rentals.iter().all(|r| r.destroyed == Some(true)));
    let record = crate::runs::benchmark(&d, run.benchmark_id.as_ref().unwrap().as_str()).await;
    let tuning = record
        .tuning
        .expect("the tuning is recorded with the benchmark");
    for p in &tuning.points {
        println!(
            "{}: capacity {:?}, {:.0} s, ${:.5}",
            p.change, p.capacity, p.seconds, p.cost_usd
        );
    }
    let first = &tuning.points[0];
    assert_eq!(first.change, "default");
    assert_eq!(first.capacity, record.capacity, "the run's own search");
    assert!(tuning.points.len() >= 2, "{tuning:?}");
    let fp8 = &tuning.points[1];
    assert_eq!(fp8.change, "KV cache FP8");
    assert_eq!(fp8.settings.kv_cache_dtype, KvCacheDtype::Fp8);
    assert!(fp8.error.is_none(), "{fp8:?}");
    assert!(
        fp8.capacity.is_some(),
        "measured after the restart: {fp8:?}"
    );
    // 16-bit weights on an Ada card: FP8 weights, quantized as they load, are tried last.
    let weights = tuning
        .points
        .iter()
        .find(|p| p.weights == Some(Quantization::Fp8))
        .expect("FP8 weights tried");
    assert!(weights.change.ends_with("weights FP8"), "{weights:?}");
    assert!(weights.error.is_none(), "{weights:?}");
    assert!(log_has(&d, &id, "weights FP8: capacity "));
    assert!(tuning.cost_usd <= 0.5, "{}", tuning.cost_usd);
    assert!(tuning.best < tuning.points.len());
    // The benchmark's page shows the table: a row a point, the best marked once.
    let page = d
        .get(&format!("/benchmarks/{}", record.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"data-testid="tuning""#), "the tuning card");
    assert_eq!(
        page.matches(r#"data-testid="tuning-point""#).count(),
        tuning.points.len()
    );
    assert_eq!(page.matches(r#"data-best="true""#).count(), 1);
    assert!(page.contains("KV cache FP8"));
    assert!(page.contains("weights FP8"), "the weights tried");
    assert!(page.contains("Tuning took"), "the summary");
    assert!(log_has(&d, &id, "Tuning, KV cache FP8: capacity "));
    assert!(log_has(&d, &id, "Tuning ended"));
    nothing_running(&d).await;

    // Deployed from its benchmark: the same GPU type, the winner's settings
    // (which one wins on this small, fast model is the measurements' noise; the tuner's
    // choice against the simulator's ground truth is checked in `bench::tune`'s tests).
    let winner = tuning.winner().clone();
    let (status, started) = post(
        &d,
        &format!("/api/benchmarks/{}/deploy", record.id),
        json!({"guards": {"idle_minutes": 20}}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let dep = started["id"].as_str().unwrap();
    let serving = reaches(&d, dep, DeploymentStatus::Serving).await;
    assert_eq!(serving.settings, winner.words());
    assert_eq!(serving.gpu.as_deref(), Some("RTX 4090"));
    let provisioned = crate::runs::run(&d, serving.run_id.as_str()).await;
    assert_eq!(provisioned.config.settings, winner.settings);
    assert_eq!(
        provisioned.config.quantization.as_deref(),
        winner.weights.map(|q| q.as_str()),
        "the winner's weights"
    );
    assert_eq!(
        provisioned.config.provider, None,
        "any provider's {}",
        record.gpu_type
    );
    assert!(!provisioned.config.capacity_search && provisioned.config.tune.is_none());
    let key = started["key"]["secret"].as_str().unwrap();
    assert_eq!(chat(&d, dep, key, false).await.0, 200);
    stopped_and_destroyed(&d, dep).await;
    // With the test's own settings when asked.
    let (status, own) = post(
        &d,
        &format!("/api/benchmarks/{}/deploy", record.id),
        json!({"own_settings": true}),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    let own = own["id"].as_str().unwrap();
    assert_eq!(deployment(&d, own).await.settings, "max 2 sequences");
    stopped_and_destroyed(&d, own).await;

    // From the command line: the deployment it starts, and the settings it starts with.
    let (url, bench) = (d.url.clone(), record.id.to_string());
    let out = tokio::task::spawn_blocking(move || {
        let args = ["deploy", "--from-benchmark", &bench, "--idle-minutes", "20"];
        let mut command = crate::process::client(&args, Some(&url), None);
        crate::process::output_within(&mut command, std::time::Duration::from_secs(120))
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("engine    {}\n", winner.words())),
        "{}",
        out.stdout
    );
    let cli = out.stdout.split_whitespace().nth(1).unwrap().to_owned();
    assert!(cli.starts_with("dep-"), "{}", out.stdout);
    assert_eq!(deployment(&d, &cli).await.settings, winner.words());
    stopped_and_destroyed(&d, &cli).await;
}

#[tokio::test]
async fn tuning_that_cannot_restart_the_engine_or_has_no_budget_is_refused_before_renting() {
    let d = Dashboard::start(None).await;
    for (extra, words) in [
        (
            json!({"capacity_search": false, "tune": {"usd_budget": 1, "seconds": 600}}),
            "tune needs capacity_search",
        ),
        (json!({"tune": {"seconds": 600}}), "usd_budget"),
        (
            json!({"deploy_mode": "entrypoint", "tune": {"usd_budget": 1, "seconds": 600}}),
            "tune needs the docker or pip deploy mode",
        ),
        (
            json!({"tune": {"usd_budget": 0, "seconds": 600}}),
            "tune.usd_budget must be between 0.01 and 100",
        ),
        (
            json!({"tune": {"usd_budget": 1, "seconds": 10}}),
            "tune.seconds must be between 60 and 7200",
        ),
    ] {
        let mut body = json!({"model": "qwen2.5-0.5b", "max_price": 3, "capacity_search": true});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, error) = post(&d, "/api/runs", body.clone()).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["code"], "invalid_input", "{error}");
        assert!(
            error["message"].as_str().unwrap().contains(words),
            "{error}"
        );
    }
    let listed = d
        .get("/api/runs")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        listed["runs"].as_array().map_or(0, Vec::len),
        0,
        "nothing started"
    );
    // A deployment tunes by the same rules (judged by the capacity search), and a
    // benchmark that is not stored cannot be deployed.
    let (status, error) = post(
        &d,
        "/api/deployments",
        json!({"config": {"model": "qwen2.5-0.5b", "max_price": 3,
            "tune": {"usd_budget": 1, "seconds": 600}}}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("tune needs capacity_search"),
        "{error}"
    );
    let listed = d.get("/api/deployments").await.text().await.unwrap();
    assert!(!listed.contains("dep-"), "nothing deployed: {listed}");
    let (status, error) = post(&d, "/api/benchmarks/bench-000000000000/deploy", json!({})).await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["code"], "benchmark_not_found", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_that_tunes_opens_serving_with_the_best_settings() {
    let d = crate::deployments::dashboard().await;
    // As the test above: an Ada card, two sequences at once, so there is a better setting.
    let (status, started) = post(
        &d,
        "/api/deployments",
        json!({"config": {"model": "qwen2.5-0.5b", "max_price": 3, "capacity_search": true,
            "search_seconds": 30, "settings": {"max_num_seqs": 2},
            "pin_gpu": {"gpu_type": "RTX 4090", "gpu_count": 1, "price_per_hour": 0.5},
            "tune": {"usd_budget": 0.5, "seconds": 300}},
            "guards": {"idle_minutes": 20}}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let (id, key) = (
        started["id"].as_str().unwrap(),
        started["key"]["secret"].as_str().unwrap(),
    );
    // Closed while it measures and tunes: the gateway forwards nothing before it serves.
    let (early, _) = chat(&d, id, key, false).await;
    assert_ne!(early, 200, "not open before it serves");
    let serving = crate::support::eventually(std::time::Duration::from_secs(300), || async {
        let now = deployment(&d, id).await;
        assert!(!now.status.is_finished(), "{now:?}");
        (now.status == DeploymentStatus::Serving).then_some(now)
    })
    .await;
    let run = crate::runs::run(&d, serving.run_id.as_str()).await;
    let record = crate::runs::benchmark(&d, run.benchmark_id.as_ref().unwrap().as_str()).await;
    let tuning = record.tuning.expect("tuned before it opened");
    let winner = tuning.winner();
    assert!(
        tuning.best > 0,
        "two sequences at once are beaten: {tuning:?}"
    );
    // It serves with the best point: the deployment says so, its run's configuration (what
    // a crash's restart and a dashboard's resume start) is that point, and so is the
    // engine the host runs now.
    assert_eq!(serving.settings, winner.words());
    let launches = serves_with(&d, &run, winner).await;
    assert!(
        launches.len() >= tuning.points.len(),
        "a start a point tried"
    );
    assert!(log_has(
        &d,
        run.id.as_str(),
        "Serving with the best settings tuning found"
    ));
    assert_eq!(
        serving.benchmark_usd_per_mtok, winner.usd_per_million_output_tokens,
        "the figure beside serving's cost is the best point's"
    );
    assert!(tuning.cost_usd <= 0.5, "{}", tuning.cost_usd);
    assert_eq!(chat(&d, id, key, false).await.0, 200);
    stopped_and_destroyed(&d, id).await;

    // From the command line: `--tune-usd` asks for the same (the search and the benchmark
    // implied); stopped while it provisions, nothing is left.
    let url = d.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        let args = [
            "deploy",
            "qwen2.5-0.5b",
            "--max-price",
            "3",
            "--tune-usd",
            "0.3",
            "--tune-seconds",
            "120",
            "--json",
        ];
        let mut command = crate::process::client(&args, Some(&url), None);
        crate::process::output_within(&mut command, std::time::Duration::from_secs(60))
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let answer: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let cli = answer["id"].as_str().unwrap();
    let run = crate::runs::run(&d, answer["run_id"].as_str().unwrap()).await;
    assert!(run.config.capacity_search, "{:?}", run.config);
    let tune = run.config.tune.expect("tune asked");
    assert_eq!((tune.usd_budget, tune.seconds), (0.3, 120));
    stopped_and_destroyed(&d, cli).await;
}

/// `test --search --tune-usd`: the same tuning from the command line, its points in the
/// summary; `--tune-usd` without `--search` is refused by the parser.
#[test]
fn the_test_command_tunes_with_tune_usd_and_prints_the_points() {
    use crate::process::{binary, data_dir, output_within};
    use std::time::Duration;
    let mut command = binary();
    command
        .args(["test", "--model", "qwen2.5-0.5b", "--max-price", "5"])
        .args(["--search", "--tune-usd", "0.5", "--tune-seconds", "300"])
        .args(["--sim-speed", "60", "--sim-failure-rate", "0", "--data-dir"])
        .arg(data_dir());
    let out = output_within(&mut command, Duration::from_secs(240));
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("tuning   "), "{}", out.stdout);
    assert!(out.stdout.contains("memory share 0.95"), "{}", out.stdout);
    assert_eq!(out.stdout.matches("<- best").count(), 1, "{}", out.stdout);
    let mut alone = binary();
    alone.args(["test", "--model", "qwen2.5-0.5b", "--max-price", "5"]);
    alone
        .args(["--tune-usd", "0.5", "--data-dir"])
        .arg(data_dir());
    let refused = output_within(&mut alone, Duration::from_secs(30));
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("--search"), "{}", refused.stderr);
}

/// Asserts that deployment `run` serves with `winner`: its run's configuration (what a
/// crash's restart and a dashboard's resume start) is that point, and so is the engine its
/// host started last. The engine starts on the dashboard's simulated hosts, in order.
pub async fn serves_with(
    d: &Dashboard,
    run: &gdl_model::runs::Run,
    winner: &gdl_model::tuning::TuningPoint,
) -> Vec<String> {
    assert_eq!(run.config.settings, winner.settings);
    assert_eq!(
        run.config.quantization.as_deref(),
        winner.weights.map(|q| q.as_str())
    );
    let sim = d.state.simulator.clone().unwrap();
    let launches: Vec<String> = sim
        .simulator()
        .host_commands()
        .into_iter()
        .filter(|c| c.contains("--served-model-name"))
        .collect();
    let last = launches.last().expect("the engine was started");
    let seqs = winner.settings.max_num_seqs.unwrap();
    assert!(last.contains(&format!("--max-num-seqs {seqs}")), "{last}");
    assert_eq!(
        last.contains("--quantization fp8"),
        winner.weights.is_some(),
        "{last}"
    );
    launches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_gpus_tuning_tries_two_copies_side_by_side() {
    let d = crate::deployments::dashboard().await;
    // The cache and memory changes already made, no limit on sequences: what is left to
    // try is FP8 weights (on an Ada card) and a copy of the model on each GPU.
    let body = json!({"model": "qwen2.5-0.5b", "max_price": 3, "gpu_count": 2,
        "capacity_search": true, "search_seconds": 30,
        "settings": {"kv_cache_dtype": "fp8", "gpu_memory_utilization": 0.95},
        "tune": {"usd_budget": 0.5, "seconds": 300}});
    let id = start(&d, body).await;
    let run = finished(&d, &id).await;
    assert_eq!(run.status, RunStatus::Passed, "{:?}", run.error);
    assert!(run.rentals.iter().all(|r| r.destroyed == Some(true)));
    assert!(log_has(
        &d,
        &id,
        "2 copies of the model side by side are tried too, each on 1 of the 2 GPUs"
    ));
    let record = crate::runs::benchmark(&d, run.benchmark_id.as_ref().unwrap().as_str()).await;
    assert_eq!(record.gpu_count, 2);
    let tuning = record.tuning.expect("recorded");
    let copies = tuning
        .points
        .iter()
        .find(|p| p.settings.data_parallel_size == Some(2))
        .expect("two copies tried");
    assert!(
        copies.change.ends_with("2 copies (data parallel)"),
        "{copies:?}"
    );
    // The simulated engine refuses more GPUs than the host has: it served, so each copy
    // was started on one GPU (tensor parallel 1), not split over two.
    assert!(copies.error.is_none(), "{copies:?}");
    assert!(copies.capacity.is_some(), "{copies:?}");
    assert!(log_has(&d, &id, "2 copies (data parallel): capacity "));
    assert!(tuning.cost_usd <= 0.5);
    nothing_running(&d).await;
}
