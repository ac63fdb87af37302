use super::*;
use gdl_model::engines::Engine;
use gdl_model::registry::resolve;

fn launch(mode: DeployMode, model: &str, q: Quantization, gpus: u32) -> Launch {
    with(
        mode,
        model,
        q,
        gpus,
        &EngineSettings::default(),
        "0.6.4",
        None,
    )
}

fn with(
    mode: DeployMode,
    model: &str,
    q: Quantization,
    gpus: u32,
    settings: &EngineSettings,
    version: &str,
    cc: Option<ComputeCapability>,
) -> Launch {
    Launch::new(&Deployment {
        mode,
        engine: gdl_model::engines::find(gdl_model::engines::Engine::Vllm, version).unwrap(),
        model: &resolve(model, q).unwrap(),
        gpu_count: gpus,
        settings,
        compute_capability: cc,
    })
}

#[test]
fn the_version_and_settings_chosen_are_what_starts_and_values_are_quoted() {
    let settings: EngineSettings = serde_json::from_str(
        r#"{"max_model_len":8192,"extra_flags":["--generation-config=a b'c"]}"#,
    )
    .unwrap();
    let l = with(
        DeployMode::Docker,
        "qwen2.5-0.5b",
        Quantization::None,
        1,
        &settings,
        "0.31.0",
        Some((7, 5)),
    );
    assert_eq!(l.fetch().unwrap(), "docker pull vllm/vllm-openai:v0.31.0");
    let logged = l.start().unwrap();
    assert!(
        logged.contains("--env-file .gdl/engine.env vllm/vllm-openai:v0.31.0 --model"),
        "{logged}"
    );
    assert!(
        logged.contains(" --max-model-len 8192 --gpu-memory-utilization 0.9 --dtype half "),
        "auto is half on Turing: {logged}"
    );
    assert!(
        logged.ends_with(r"'--generation-config=a b'\''c'"),
        "{logged}"
    );
    let pip = with(
        DeployMode::Pip,
        "qwen2.5-0.5b",
        Quantization::None,
        1,
        &EngineSettings::default(),
        "0.31.0",
        Some((8, 9)),
    );
    assert!(pip.fetch().unwrap().ends_with("'vllm==0.31.0'"));
    assert!(
        !pip.start().unwrap().contains("--dtype"),
        "bf16 runs on Ada"
    );
    assert_eq!(l.label(), "vLLM 0.31.0");
}

#[test]
fn docker_mode_quotes_every_argument_and_reads_its_secrets_from_the_env_file() {
    let l = launch(DeployMode::Docker, "qwen2.5-7b", Quantization::Awq, 2);
    let logged = l.start().unwrap();
    assert!(logged.starts_with("docker run -d --gpus all"));
    assert!(
        logged.contains("--model 'Qwen/Qwen2.5-7B-Instruct-AWQ'"),
        "{logged}"
    );
    assert!(logged.contains("--served-model-name 'Qwen/Qwen2.5-7B-Instruct'"));
    assert!(logged.contains("--quantization awq"));
    assert!(logged.contains("--tensor-parallel-size 2"));
    assert!(logged.contains("--host 0.0.0.0 "), "inside the container");
    assert!(logged
        .contains("-p 127.0.0.1:8000:8000 --env-file .gdl/engine.env vllm/vllm-openai:v0.6.4"));
    assert!(!logged.contains("VLLM_API_KEY") && !logged.contains("HF_TOKEN"));
    assert!(l.key_file("k").is_none(), "vLLM's key is in the env file");
    assert_eq!(l.fetch().unwrap(), "docker pull vllm/vllm-openai:v0.6.4");
    assert!(l.prepare().unwrap().starts_with("docker rm -f vllm-server"));
    assert_eq!(l.log_tail(30), "docker logs --tail 30 vllm-server 2>&1");
}

#[test]
fn pip_mode_runs_in_the_background_and_logs_to_a_file() {
    let l = launch(DeployMode::Pip, "qwen2.5-0.5b", Quantization::None, 1);
    assert_eq!(l.prepare(), None);
    assert_eq!(
        l.fetch().unwrap(),
        "python3 -m pip install --progress-bar off 'vllm==0.6.4'"
    );
    let logged = l.start().unwrap();
    assert!(logged.ends_with("> /tmp/vllm.log 2>&1 &"), "{logged}");
    assert!(
        logged.starts_with("set -a; . ./.gdl/engine.env || exit 1; set +a; nohup"),
        "{logged}"
    );
    assert!(logged.contains(
        "nohup python3 -m vllm.entrypoints.openai.api_server --model 'Qwen/Qwen2.5-0.5B-Instruct'"
    ));
    assert!(!logged.contains("--quantization") && !logged.contains("tensor-parallel"));
    assert!(
        logged.contains("--host 127.0.0.1 "),
        "only the tunnel reaches it"
    );
    assert_eq!(l.log_tail(1), "tail -n 1 /tmp/vllm.log");
}

#[test]
fn entrypoint_mode_only_watches_what_the_broker_started() {
    let l = launch(
        DeployMode::Entrypoint,
        "qwen2.5-0.5b",
        Quantization::None,
        1,
    );
    assert!(l.broker_launched());
    assert_eq!((l.prepare(), l.fetch(), l.start()), (None, None, None));
    assert_eq!(
        l.liveness_check(),
        "pgrep -n -f vllm.entrypoints.openai.api_server"
    );
    assert_eq!(l.log_tail(5), "tail -n 5 /var/log/vllm.log");
}

#[test]
fn liveness_reads_both_checks() {
    let docker = launch(DeployMode::Docker, "qwen2.5-0.5b", Quantization::None, 1);
    let out = |stdout: &str, exit_code| ExecOutput {
        stdout: stdout.into(),
        exit_code,
        ..Default::default()
    };
    assert_eq!(
        docker.liveness(&out("true 2026-01-01T00:00:00Z\n", 0)),
        Liveness::Running("true 2026-01-01T00:00:00Z".into())
    );
    assert_eq!(
        docker.liveness(&out("false 2026-01-01T00:00:00Z\n", 0)),
        Liveness::Stopped
    );
    assert_eq!(docker.liveness(&out("", 1)), Liveness::Stopped);
    let pip = launch(DeployMode::Pip, "qwen2.5-0.5b", Quantization::None, 1);
    assert_eq!(
        pip.liveness(&out("4243\n", 0)),
        Liveness::Running("4243".into())
    );
    assert_eq!(pip.liveness(&out("", 1)), Liveness::Stopped);
}

#[test]
fn sglang_runs_its_image_with_its_flags_and_the_key_in_a_mounted_file() {
    let settings: EngineSettings =
        serde_json::from_str(r#"{"max_model_len":8192,"prefix_caching":false}"#).unwrap();
    let l = Launch::new(&Deployment {
        mode: DeployMode::Docker,
        engine: gdl_model::engines::default_version(Engine::Sglang),
        model: &resolve("qwen2.5-7b", Quantization::Awq).unwrap(),
        gpu_count: 2,
        settings: &settings,
        compute_capability: Some((8, 9)),
    });
    assert_eq!(l.label(), "SGLang 0.5.21");
    assert_eq!(
        l.fetch().unwrap(),
        "docker pull lmsysorg/sglang:v0.5.21-cu130"
    );
    assert_eq!(
        l.prepare().unwrap(),
        "docker rm -f sglang-server >/dev/null 2>&1; rm -f /tmp/gdl-sglang-key.yaml; true"
    );
    let logged = l.start().unwrap();
    assert_eq!(
        logged,
        "docker run -d --gpus all --ipc=host --name sglang-server -p 127.0.0.1:8000:8000 \
         --env-file .gdl/engine.env --shm-size 16g \
         -v /tmp/gdl-sglang-key.yaml:/run/gdl-sglang-key.yaml:ro \
         lmsysorg/sglang:v0.5.21-cu130 python3 -m sglang.launch_server \
         --config /run/gdl-sglang-key.yaml --model-path 'Qwen/Qwen2.5-7B-Instruct-AWQ' \
         --served-model-name 'Qwen/Qwen2.5-7B-Instruct' --host 0.0.0.0 --port 8000 \
         --quantization awq --context-length 8192 --mem-fraction-static 0.9 \
         --disable-radix-cache --tp-size 2"
    );
    assert!(
        !logged.contains("--api-key") && !logged.contains("SGLANG_API_KEY"),
        "the key is never an argument of the server"
    );
    let file = l.key_file("k3y").unwrap();
    assert_eq!(file.write, "umask 077 && cat > /tmp/gdl-sglang-key.yaml");
    assert_eq!(file.remove, "rm -f /tmp/gdl-sglang-key.yaml");
    assert_eq!(*file.content, "api-key: \"k3y\"\n");
    assert!(
        !file.write.contains("k3y"),
        "the key goes in through standard input"
    );
    assert_eq!(
        l.liveness_check(),
        "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' sglang-server"
    );
    assert_eq!(l.log_tail(30), "docker logs --tail 30 sglang-server 2>&1");
    assert_eq!(
        scrub(
            "server_args=ServerArgs(api_key='abc', port=8000) abc",
            "abc"
        ),
        "server_args=ServerArgs(api_key='[redacted]', port=8000) [redacted]"
    );
    assert_eq!(scrub("as is", ""), "as is");
}
