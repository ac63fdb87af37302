//! Benchmark bundles (issue 29, "Reproducible"): a test's benchmark downloads from its page
//! as a bundle over HTTP, and `gpu-deploy-llm test --from` runs it again with the same
//! engine, settings, workload seed and SLOs on the same GPU type and provider, leaving
//! nothing running; a benchmark no run measured has no bundle (409); a file of another kind
//! is refused with exit 2, saying what it is.

use crate::dashboard::Dashboard;
use crate::process::{binary, data_dir, live_sessions, output_within};
use crate::recovery::nothing_running;
use crate::runs::{finished, run, start};
use crate::support::sim_with;
use gdl_model::runs::bundle::{BenchmarkBundle, BENCHMARK_BUNDLE_KIND};
use gdl_model::runs::{BenchmarkRecord, Run, RunStatus};
use gdl_model::shopper::{InventoryQuery, Offer, Provider};
use serde_json::json;
use server::simulator::SimConfig;
use std::path::Path;
use std::time::Duration;

/// `gpu-deploy-llm test` with `args`, against the simulator at `broker`, its benchmark as
/// short as the dashboard's in these tests.
fn test_cli(args: &[&str], broker: &str) -> crate::process::Output {
    output_within(
        binary()
            .arg("test")
            .args(args)
            // The simulator's fake Hub; its SSH hosts are on loopback.
            .args(["--json", "--shopper-url", broker, "--hf-endpoint", broker])
            .arg("--allow-private-hosts")
            .arg("--data-dir")
            .arg(data_dir())
            .env("GDL_BENCH_REQUESTS", "4")
            .env("GDL_BENCH_CONCURRENCY", "1,2")
            .env("GDL_BENCH_MAX_TOKENS", "16"),
        Duration::from_secs(120),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_benchmark_bundle_runs_the_same_test_again_from_the_cli() {
    // A steady market: the run again must find the GPU it ran on, which a stale listing
    // (a ghost) or the listings' drift, leaving no other offer of that GPU, would fail,
    // as it should.
    let broker = sim_with(SimConfig {
        speed: 60.0,
        seed: Some(42),
        provision_failure_rate: 0.0,
        ghosts: false,
        drift: false,
        ..SimConfig::default()
    })
    .await;
    let d = Dashboard::start_custom(Some(&broker.url()), data_dir(), |s| {
        s.broker.allow_private_hosts = true;
    })
    .await;
    // The first test on an offer of a GPU type that is not the cheapest, as the Inventory
    // tab's "Test on this offer" sends it: run again, only the bundle's GPU keeps it there.
    let chosen = not_the_cheapest(&broker).await;
    let asked = json!({"model": "qwen2.5-0.5b", "max_price": 5, "provider": "vastai",
        "pin_offer": chosen.id, "pin_gpu": {"gpu_type": chosen.gpu_type,
            "gpu_count": 1, "price_per_hour": chosen.price_per_hour},
        "settings": {"max_model_len": 4096},
        "workload": {"input_tokens": 48, "output_tokens": 16, "seed": 4242},
        "slo": {"ttft_p95_ms": 3000, "tpot_p95_ms": 250, "min_success": 0.9}});
    let first = finished(&d, &start(&d, asked).await).await;
    assert_eq!(first.status, RunStatus::Passed, "{:?}", first.error);
    let id = first.benchmark_id.clone().unwrap().to_string();

    // The page links the bundle; the bundle is an attachment named after the benchmark.
    let page = d
        .get(&format!("/benchmarks/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("href=\"/api/benchmarks/{id}/bundle\""))
            && page.contains("Download the bundle"),
        "{page}"
    );
    let reply = d.get(&format!("/api/benchmarks/{id}/bundle")).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["content-disposition"],
        format!("attachment; filename=\"{id}.json\"").as_str()
    );
    let text = reply.text().await.unwrap();
    let bundle = BenchmarkBundle::read(&text).unwrap();
    let stored = run(&d, first.id.as_ref()).await;
    assert_eq!(bundle.kind, BENCHMARK_BUNDLE_KIND);
    assert_eq!(
        bundle.config, stored.config,
        "the configuration as the run recorded it"
    );
    assert_eq!(
        bundle.command,
        format!("gpu-deploy-llm test --from {id}.json")
    );
    let offer = stored.offer.clone().unwrap();
    assert_eq!(offer.gpu_type, chosen.gpu_type);
    assert_eq!(
        (
            &bundle.gpu_type,
            bundle.gpu_count,
            &bundle.provider,
            bundle.price_per_hour
        ),
        (
            &offer.gpu_type,
            offer.gpu_count,
            &offer.provider,
            offer.price_per_hour
        )
    );
    assert!(
        bundle.config.engine_version.is_some(),
        "the version deployed"
    );
    nothing_running(&d).await;

    // Run again from the file: the same test on the same GPU type and provider.
    let file = write(&d.data_dir.join("saved"), &format!("{id}.json"), &text);
    let url = broker.url();
    let out = tokio::task::spawn_blocking(move || test_cli(&["--from", &file], &url))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("running benchmark {id} again")),
        "{}",
        out.stderr
    );
    let again: Run =
        serde_json::from_value(out.json::<serde_json::Value>()["run"].clone()).unwrap();
    assert_eq!(again.status, RunStatus::Passed, "{:?}", again.error);
    let (was, now) = (&stored.config, &again.config);
    assert_eq!(
        (now.engine, &now.engine_version),
        (was.engine, &was.engine_version)
    );
    assert_eq!(now.settings, was.settings);
    assert_eq!(now.workload, was.workload);
    assert_eq!(now.workload.as_ref().unwrap().seed, 4242);
    assert_eq!(now.slo, was.slo);
    assert_eq!(now.pin_offer, None, "not the old offer");
    let rented = again.offer.clone().unwrap();
    assert_eq!(
        (&rented.gpu_type, rented.gpu_count, &rented.provider),
        (&offer.gpu_type, offer.gpu_count, &offer.provider),
        "the same GPU on the same provider"
    );
    assert!(again.cleanup.as_ref().unwrap().destroyed_confirmed);
    assert_eq!(
        live_sessions(&broker.url()).await,
        Vec::<serde_json::Value>::new()
    );
}

/// A rentable single-GPU Vast.ai offer of a GPU type that has another offer to rent but is
/// not the cheapest type a test of the small model would rent.
async fn not_the_cheapest(broker: &server::simulator::SimServer) -> Offer {
    let query = InventoryQuery {
        provider: Some(Provider::VastAi),
        ..Default::default()
    };
    let mut offers = crate::support::client(&broker.url())
        .inventory_all(&query)
        .await
        .unwrap();
    // Offers a test can rent: the default vLLM needs CUDA 13.0 (older Vast.ai drivers are
    // left out by Select offer, so they must not count as the type's spares).
    offers.retain(|o| {
        o.available
            && o.gpu_count == 1
            && o.vram_gb >= 16
            && o.price_per_hour < 2.0
            && o.cuda_version.is_none_or(|v| v >= 13.0)
    });
    offers.sort_by(|a, b| a.price_per_hour.total_cmp(&b.price_per_hour));
    let cheapest = offers[0].gpu_type.clone();
    let common = [
        "RTX 3090",
        "RTX 4090",
        "RTX A5000",
        "L4",
        "RTX A6000",
        "A100 PCIE",
    ];
    // Of those, the GPU type with the most offers: the inventory drifts, and the test run
    // again from the bundle needs one of its type still there.
    let count = |gpu: &str| offers.iter().filter(|p| p.gpu_type == gpu).count();
    offers
        .iter()
        .filter(|o| {
            o.gpu_type != cheapest
                && common.contains(&o.gpu_type.as_str())
                && broker.simulator().is_rentable(o.id.as_str())
                && count(&o.gpu_type) >= 2
        })
        .max_by_key(|o| count(&o.gpu_type))
        .cloned()
        .unwrap_or_else(|| panic!("no second GPU type among {offers:#?}"))
}

#[tokio::test]
async fn a_benchmark_no_run_measured_has_no_bundle_and_a_foreign_file_is_refused() {
    let d = Dashboard::start(None).await;
    let missing = d.get("/api/benchmarks/bench-nothere/bundle").await;
    assert_eq!(missing.status(), 404);
    assert!(missing
        .text()
        .await
        .unwrap()
        .contains("benchmark_not_found"));
    // An external record (from `bench`): no run to repeat, said with a code and a hint.
    let record: BenchmarkRecord = serde_json::from_value(json!({"id": "bench-outside",
        "run_id": "", "created_at": "2026-12-01T10:00:00Z", "model": "plain",
        "served_repo": "plain", "quantization": "unknown", "provider": "external",
        "gpu_type": "unknown", "gpu_count": 1, "price_per_hour": 0.0, "prompts_matching": 0,
        "prompts_with_expected": 0, "phases": [], "external": true}))
    .unwrap();
    d.state
        .dashboard
        .history()
        .store()
        .save_benchmark(&record, Vec::new())
        .await
        .unwrap();
    let external = d.get("/api/benchmarks/bench-outside/bundle").await;
    assert_eq!(external.status(), 409);
    let error: serde_json::Value = external.json().await.unwrap();
    assert_eq!(error["code"], "benchmark_not_repeatable");
    assert!(error["hint"].as_str().unwrap().contains("bench"), "{error}");
    let page = d
        .get("/benchmarks/bench-outside")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("No bundle") && !page.contains("Download the bundle"),
        "{page}"
    );

    // Files of another kind: exit 2, saying what each is; and a flag the bundle decides.
    let dir = d.data_dir.join("files");
    let campaign = write(
        &dir,
        "camp.json",
        r#"{"kind": "gpu-deploy-llm campaign bundle", "version": 1}"#,
    );
    let words = write(&dir, "notes.txt", "run it again, please");
    let closed = "http://127.0.0.1:9";
    let out = test_cli(&["--from", &campaign], closed);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("campaign bundle") && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );
    let out = test_cli(&["--from", &words], closed);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("is not JSON"), "{}", out.stderr);
    let out = test_cli(&["--from", &campaign, "--engine", "sglang"], closed);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    nothing_running(&d).await;
}
