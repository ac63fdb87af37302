use super::*;
use std::time::Duration;

fn gpus(vram_gb: u32, count: u32) -> Gpus {
    Gpus {
        gpu_type: "RTX 4090".into(),
        count,
        vram_gb,
        slowdown: 1.0,
    }
}

fn command(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

#[tokio::test]
async fn loads_with_its_own_log_then_serves_with_the_key_of_its_config_file() {
    let started = command("python3 -m sglang.launch_server --config /run/k.yaml --model-path Qwen/Qwen2.5-0.5B-Instruct --served-model-name qwen --host 0.0.0.0 --port 8000");
    let mut s = launch(
        Kind::Container {
            name: "sglang-server".into(),
        },
        &started,
        Some("api-key: \"s3cret\"\n"),
        &gpus(24, 1),
        1000.0,
    );
    assert!(is_sglang(&started));
    assert!(!is_sglang(&command("--model x")));
    assert_eq!(s.profile.api_key, "s3cret");
    let first = s.log()[0].clone();
    assert!(
        first.starts_with('[')
            && first.contains("] server_args=ServerArgs(model_path='Qwen/Qwen2.5-0.5B-Instruct'")
            && first.contains("api_key='s3cret'")
            && first.contains("served_model_name='qwen'"),
        "{first}"
    );
    assert_eq!(s.serving_addr(8000, 0), None, "not while loading");
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(s.phase(), Phase::Serving);
    let log = s.log();
    for line in [
        "Load weight begin",
        "Load weight end",
        "KV Cache is allocated",
        "Uvicorn running on http://0.0.0.0:8000",
    ] {
        assert!(log.iter().any(|l| l.contains(line)), "{line}: {log:?}");
    }
    assert!(log
        .last()
        .unwrap()
        .ends_with("The server is fired up and ready to roll!"));
    assert!(
        !log.iter().any(|l| l.contains("vLLM")),
        "SGLang's log, not vLLM's: {log:?}"
    );
    let addr = s.serving_addr(8000, 0).unwrap();
    let http = reqwest::Client::new();
    let models = |key: &'static str| {
        http.get(format!("http://{addr}/v1/models"))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(models("wrong").await.unwrap().status(), 401);
    let body: serde_json::Value = models("s3cret").await.unwrap().json().await.unwrap();
    assert_eq!(body["data"][0]["id"], "qwen");
    assert_eq!(body["data"][0]["owned_by"], "sglang");
}

#[tokio::test]
async fn the_command_line_wins_over_the_config_file_and_a_missing_file_is_fatal() {
    let s = launch(
        Kind::Process { pid: 1 },
        &command("python3 -m sglang.launch_server --model-path Qwen/Qwen2.5-0.5B-Instruct --api-key cli --tp-size 2 --quantization awq"),
        Some("api-key: file\ntp-size: 1\n"),
        &gpus(24, 2),
        1000.0,
    );
    assert_eq!(s.profile.api_key, "cli");
    assert!(s.matches("sglang.launch_server") && !s.matches("vllm.entrypoints"));
    assert!(s.log()[0].contains("tp_size=2, quantization='awq'"));
    let missing = launch(
        Kind::Process { pid: 2 },
        &command("python3 -m sglang.launch_server --config /run/k.yaml --model-path x"),
        None,
        &gpus(24, 1),
        1000.0,
    );
    assert_eq!(missing.phase(), Phase::Dead);
    assert!(missing
        .log()
        .last()
        .unwrap()
        .contains("Config file not found: /run/k.yaml"));
    let too_big = launch(
        Kind::Process { pid: 3 },
        &command("python3 -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct"),
        None,
        &gpus(8, 1),
        1000.0,
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    let log = too_big.log();
    assert!(
        log[log.len() - 2].contains("Scheduler hit an exception")
            && log.last().unwrap().contains("CUDA out of memory"),
        "{log:?}"
    );
}
