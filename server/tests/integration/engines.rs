//! The engine catalogue at every door (issue 27): `GET /api/engines`, the OpenAPI
//! document's schemas for the engine, its version and its settings, `gpu-deploy-llm
//! engines`, and `test`'s engine flags.

use crate::dashboard::Dashboard;
use crate::process::{binary, data_dir, output_within};
use gdl_model::engines::{listing, EngineInfo};
use serde_json::{json, Value};
use std::time::Duration;

const QUICK: Duration = Duration::from_secs(60);

#[tokio::test]
async fn rest_lists_the_catalogue_with_what_each_version_needs() {
    let d = Dashboard::start(None).await;
    let reply = d.get("/api/engines").await;
    assert_eq!(reply.status(), 200);
    let engines: Vec<EngineInfo> = reply.json().await.unwrap();
    assert_eq!(engines, listing());
    let default = &engines[0];
    assert_eq!(
        (default.label.as_str(), default.default),
        ("vLLM 0.31.0", true)
    );
    assert_eq!(default.image, "vllm/vllm-openai:v0.31.0");
    assert_eq!(default.min_cuda, 13.0);
    assert_eq!(default.archs.first().map(String::as_str), Some("sm_75"));
    assert!(default.archs.contains(&"sm_120".to_owned()));
    let fp8 = default
        .quantizations
        .iter()
        .find(|q| q.name == "fp8")
        .unwrap();
    assert_eq!(
        (fp8.min_compute_capability.as_str(), fp8.min_arch.as_str()),
        ("8.9", "sm_89")
    );
    assert!(default.known_flags.contains(&"--seed".to_owned()));
    let old = engines.iter().find(|e| e.version == "0.6.4").unwrap();
    assert!(!old.default && old.archs.contains(&"sm_70".to_owned()));
    assert!(!old.archs.contains(&"sm_120".to_owned()));
    let sglang: Vec<&EngineInfo> = engines
        .iter()
        .filter(|e| e.engine.as_str() == "sglang")
        .collect();
    assert_eq!(sglang.len(), 2);
    assert!(sglang[0].default, "each engine's default first");
    assert!(sglang[0].known_flags.contains(&"--random-seed".to_owned()));
}

#[tokio::test]
async fn the_openapi_document_carries_the_engine_its_version_and_settings() {
    let d = Dashboard::start(None).await;
    let doc: Value = d.get("/api/openapi.json").await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let config = &schemas["TestConfig"]["properties"];
    for field in ["engine", "engine_version", "settings"] {
        assert!(config.get(field).is_some(), "TestConfig.{field}: {config}");
    }
    let settings = &schemas["EngineSettings"]["properties"];
    for field in [
        "max_model_len",
        "max_num_seqs",
        "gpu_memory_utilization",
        "data_parallel_size",
        "dtype",
        "kv_cache_dtype",
        "prefix_caching",
        "enforce_eager",
        "trust_remote_code",
        "extra_flags",
    ] {
        assert!(
            settings.get(field).is_some(),
            "EngineSettings.{field}: {settings}"
        );
    }
    let values = |name: &str| schemas[name]["enum"].clone();
    assert_eq!(values("Engine"), json!(["vllm", "sglang"]));
    assert_eq!(values("Dtype"), json!(["auto", "half", "bfloat16"]));
    assert_eq!(values("KvCacheDtype"), json!(["auto", "fp8"]));
    assert!(schemas["EngineInfo"]["properties"]["archs"].is_object());
    assert!(schemas["QuantizationNeed"].is_object());
    let listed = &doc["paths"]["/api/engines"]["get"];
    assert!(
        listed["responses"]["200"].is_object(),
        "GET /api/engines: {listed}"
    );
}

#[test]
fn the_engines_command_prints_the_catalogue_as_a_table_and_as_json() {
    let out = output_within(binary().args(["engines"]), QUICK);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("ENGINE"), "{}", out.stdout);
    assert_eq!(lines.len(), 1 + listing().len(), "{}", out.stdout);
    assert!(
        lines[1].contains("vllm") && lines[1].contains("0.31.0") && lines[1].contains("yes"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("13.0+") && lines[1].contains("sm_120"));
    let out = output_within(binary().args(["engines", "--json"]), QUICK);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let parsed: Vec<EngineInfo> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(parsed, listing());
}

#[test]
fn test_refuses_an_engine_version_the_catalogue_does_not_have() {
    let out = output_within(
        binary()
            .args(["test", "--model", "qwen2.5-0.5b", "--max-price", "1"])
            .args([
                "--engine-version",
                "0.1",
                "--sim-speed",
                "200",
                "--data-dir",
            ])
            .arg(data_dir()),
        QUICK,
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("0.1") && out.stderr.contains("0.31.0"),
        "names the versions there are: {}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    let out = output_within(
        binary()
            .args(["test", "--model", "qwen2.5-0.5b", "--max-price", "1"])
            .args(["--engine", "tgi", "--sim-speed", "200", "--data-dir"])
            .arg(data_dir()),
        QUICK,
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("vllm or sglang"), "{}", out.stderr);
}

#[test]
fn tests_engine_flags_reach_the_runs_record() {
    // Too low a price: the run ends at select (no offers), its configuration recorded.
    let out = output_within(
        binary()
            .args(["test", "--model", "qwen2.5-0.5b", "--max-price", "0.01"])
            .args(["--engine-version", "v0.6.4", "--max-model-len", "8192"])
            .args(["--max-num-seqs", "32", "--gpu-memory-utilization", "0.8"])
            .args(["--gpu-count", "2", "--data-parallel-size", "2"])
            .args(["--dtype", "half", "--kv-cache-dtype", "fp8"])
            .args(["--prefix-caching", "off", "--enforce-eager"])
            .args([
                "--engine-flag",
                "--seed=7",
                "--engine-flag=--disable-log-stats",
            ])
            .args(["--trace", "chat", "--seed", "4", "--tpot-ms", "50"])
            .args(["--sim-speed", "200", "--sim-failure-rate", "0", "--json"])
            .arg("--data-dir")
            .arg(data_dir()),
        QUICK,
    );
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let result: Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    let config = &result["run"]["config"];
    assert_eq!(config["engine"], "vllm");
    assert_eq!(config["engine_version"], "0.6.4");
    assert_eq!(
        config["settings"],
        json!({
            "max_model_len": 8192, "max_num_seqs": 32, "gpu_memory_utilization": 0.8,
            "data_parallel_size": 2,
            "dtype": "half", "kv_cache_dtype": "fp8", "prefix_caching": false,
            "enforce_eager": true, "extra_flags": ["--seed=7", "--disable-log-stats"],
        })
    );
    // Two copies on two GPUs: the offers looked for hold a whole copy on each GPU, not
    // half of one.
    let model =
        gdl_model::registry::resolve("qwen2.5-0.5b", gdl_model::registry::Quantization::None)
            .unwrap()
            .with_context(&serde_json::from_value(config["settings"].clone()).unwrap());
    assert!(model.vram_per_gpu(1) > model.vram_per_gpu(2));
    let error = result["run"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!(
            "at least {} GB VRAM per GPU and 2 GPU(s)",
            model.vram_per_gpu(1)
        )),
        "{error}"
    );
    // The workload and SLO flags, the rest their defaults.
    assert_eq!(
        config["workload"],
        json!({"input_tokens": 64, "output_tokens": 96, "seed": 4, "trace": "chat"})
    );
    assert_eq!(
        config["slo"],
        json!({"ttft_p95_ms": 1000.0, "tpot_p95_ms": 50.0, "min_success": 0.99})
    );
    // A flag the engine does not take is refused before anything is rented.
    let out = output_within(
        binary()
            .args(["test", "--model", "qwen2.5-0.5b", "--max-price", "1"])
            .args([
                "--engine-flag",
                "--port=1",
                "--sim-speed",
                "200",
                "--data-dir",
            ])
            .arg(data_dir()),
        QUICK,
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("--port is not one of"),
        "{}",
        out.stderr
    );
}

/// The rows of the README's table whose header starts with `header`.
fn readme_rows(header: &str) -> Vec<Vec<String>> {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Models and engines")
        .nth(1)
        .expect("the README has its models section");
    let table = section
        .split(&format!("\n{header}"))
        .nth(1)
        .expect("the README has that table");
    table
        .lines()
        .skip(2) // the rest of the header, and the rule under it
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn the_readmes_tables_are_the_catalogues() {
    let engines: Vec<Vec<String>> = listing()
        .iter()
        .map(|v| {
            vec![
                v.engine.label().to_owned(),
                v.version.clone(),
                if v.default { "yes" } else { "" }.to_owned(),
                v.image.clone(),
                format!("{:.1}+", v.min_cuda),
                v.archs.join(" "),
            ]
        })
        .collect();
    assert_eq!(readme_rows("| engine | version |"), engines);

    let gpus = readme_rows("| architecture |");
    let mut archs = std::collections::BTreeSet::new();
    for gpu in gdl_model::gpus::all() {
        let (major, minor) = gpu.compute_capability;
        let sm = format!("sm_{major}{minor}");
        let row = gpus
            .iter()
            .find(|r| r[0] == gpu.arch.label())
            .unwrap_or_else(|| panic!("no README row for {}", gpu.arch));
        assert!(row[1].split(", ").any(|s| s == sm), "{sm} for {}", gpu.name);
        // A card of several sizes or forms is listed once, by the name they share (the
        // H100's forms differ in more than form, and are listed each).
        let mut words: Vec<&str> = gpu.name.split(' ').collect();
        while words.len() > 1 {
            let last = words[words.len() - 1];
            let size = last
                .strip_suffix("GB")
                .is_some_and(|n| n.parse::<u32>().is_ok());
            let form = matches!(last, "PCIe" | "SXM") && words[0] != "H100";
            if !(size || form) {
                break;
            }
            words.pop();
        }
        let card = words.join(" ");
        assert!(
            row[2].split(", ").any(|c| c == card),
            "{} ({card}) in the README's {} row",
            gpu.name,
            gpu.arch
        );
        archs.insert(gpu.arch.label());
    }
    assert_eq!(
        archs.len(),
        gpus.len(),
        "no README row for an architecture we lack"
    );
}

/// A context length counts its KV cache in the VRAM a model needs: on the Inventory tab's
/// fit and in a test's inventory query alike.
#[tokio::test]
async fn a_context_length_counts_its_kv_cache_in_the_vram_needed() {
    use gdl_model::engines::EngineSettings;
    use gdl_model::inventory::InventoryView;
    use gdl_model::registry::{resolve, Quantization};
    let d = Dashboard::start(None).await;
    let plain = resolve("qwen2.5-7b", Quantization::None).unwrap();
    let long = plain.clone().with_context(&EngineSettings {
        max_model_len: Some(131_072),
        ..Default::default()
    });
    assert!(long.vram_gb > plain.vram_gb);
    let view: InventoryView = d
        .get("/api/inventory?model=qwen2.5-7b&max_model_len=131072")
        .await
        .json()
        .await
        .unwrap();
    let fit = view.fit.unwrap();
    assert_eq!(fit.vram_per_gpu, long.vram_gb);
    for o in &view.offers {
        if fit.fitting.contains(&o.id) {
            assert!(o.vram_gb >= long.vram_gb, "{o:?}");
        }
    }
    // A test with that context asks the broker for that much (too low a price: nothing).
    let id = crate::runs::start(
        &d,
        json!({"model": "qwen2.5-7b", "max_price": 0.01,
               "settings": {"max_model_len": 131072}}),
    )
    .await;
    let run = crate::runs::finished(&d, &id).await;
    let error = run.error.unwrap_or_default();
    assert!(
        error.contains(&format!("at least {} GB VRAM per GPU", long.vram_gb)),
        "{error}"
    );
}
