use super::*;
use crate::simulator::driver::Driver;

pub(super) fn host() -> Arc<SimHost> {
    Arc::new(SimHost::new(
        "sim-test".into(),
        Gpus {
            gpu_type: "RTX 4090".into(),
            count: 2,
            vram_gb: 24,
            slowdown: 1.0,
        },
        1000.0,
    ))
}

/// Runs `line`; returns (stdout, stderr, exit code).
pub(super) async fn run(host: &Arc<SimHost>, line: &str) -> (String, String, i32) {
    let (tx, mut rx) = mpsc::channel(64);
    let code = host.exec(line, &tx).await;
    drop(tx);
    let (mut out, mut err) = (String::new(), String::new());
    while let Some((stream, text)) = rx.recv().await {
        match stream {
            Stream::Stdout => out.push_str(&text),
            Stream::Stderr => err.push_str(&text),
        }
    }
    (out, err, code)
}

#[tokio::test]
async fn builtins_redirections_and_exit_codes() {
    let h = host();
    assert_eq!(
        run(&h, "echo hello; echo oops >&2; exit 3").await,
        ("hello\n".into(), "oops\n".into(), 3)
    );
    assert_eq!(run(&h, "false && echo no || echo yes").await.0, "yes\n");
    let (_, err, code) = run(&h, "rocm-smi").await;
    assert_eq!(
        (err.as_str(), code),
        ("bash: line 1: rocm-smi: command not found\n", 127)
    );
    assert_eq!(run(&h, "echo kept > /tmp/a; cat /tmp/a").await.0, "kept\n");
    assert_eq!(
        run(&h, "cat /nope 2>/dev/null").await,
        (String::new(), String::new(), 1)
    );
    let gpus = run(
        &h,
        "nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits",
    )
    .await
    .0;
    assert_eq!(
        gpus,
        "NVIDIA GeForce RTX 4090, 24576\nNVIDIA GeForce RTX 4090, 24576\n"
    );
    assert_eq!(run(&h, "echo $(id)").await.2, 2, "expansion is refused");
}

/// A host with `count` × `gpu` and `driver`.
fn host_with(gpu: &str, vram_gb: u32, driver: Driver) -> Arc<SimHost> {
    let gpus = Gpus {
        gpu_type: gpu.into(),
        count: 1,
        vram_gb,
        slowdown: 1.0,
    };
    Arc::new(SimHost::new("sim-test".into(), gpus, 1000.0).with_driver(Some(driver)))
}

/// Starts `image` as the runner's docker mode does and returns its log once it has died
/// (or after 100 polls).
async fn docker_log_after_start(h: &Arc<SimHost>, image: &str) -> String {
    let start = format!("docker run -d --gpus all --name vllm-server -p 127.0.0.1:8000:8000 {image} --model 'Qwen/Qwen2.5-0.5B-Instruct' --port 8000");
    assert_eq!(run(h, &start).await.2, 0);
    for _ in 0..100 {
        let (state, _, _) = run(h, "docker inspect -f '{{.State.Running}}' vllm-server").await;
        if state.starts_with("false") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    run(h, "docker logs --tail 30 vllm-server").await.0
}

#[tokio::test]
async fn vllm_0_6_4_on_blackwell_has_no_kernel_image() {
    let h = host_with("RTX 5090", 32, Driver::DEFAULT);
    let log = docker_log_after_start(&h, "vllm/vllm-openai:v0.6.4").await;
    assert!(log.contains("vLLM API server version 0.6.4"), "{log}");
    assert!(
        log.contains("CUDA error: no kernel image is available for execution on the device"),
        "{log}"
    );
    assert!(!log.contains("Uvicorn running"), "{log}");
    assert_eq!(h.tcp_target(8000), None);
    // The current release has Blackwell kernels: it serves on the same card.
    let h = host_with("RTX 5090", 32, Driver::DEFAULT);
    let log = docker_log_after_start(&h, "vllm/vllm-openai:v0.31.0").await;
    assert!(log.contains("vLLM API server version 0.31.0"), "{log}");
    assert!(log.contains("Uvicorn running"), "{log}");
}

#[tokio::test]
async fn an_engine_built_for_a_newer_cuda_dies_on_an_old_driver() {
    let old = crate::simulator::driver::Driver::for_cuda(12.4);
    let h = host_with("RTX 4090", 24, old);
    let banner = run(&h, "nvidia-smi").await.0;
    assert!(
        banner.contains("Driver Version: 550.54.15    CUDA Version: 12.4"),
        "{banner}"
    );
    let query = "nvidia-smi --query-gpu=driver_version --format=csv,noheader";
    assert_eq!(run(&h, query).await.0, "550.54.15\n");
    let log = docker_log_after_start(&h, "vllm/vllm-openai:v0.31.0").await;
    assert!(
        log.contains(
            "RuntimeError: The NVIDIA driver on your system is too old (found version 12040)"
        ),
        "{log}"
    );
    // pip mode: the version comes from the spec installed; 0.6.4 (CUDA 12.1) runs there.
    let install = "python3 -m pip install --progress-bar off 'vllm==0.6.4'";
    assert_eq!(run(&h, install).await.2, 0);
    let start = "nohup python3 -m vllm.entrypoints.openai.api_server --model 'Qwen/Qwen2.5-0.5B-Instruct' --port 8000 > /tmp/vllm.log 2>&1 &";
    assert_eq!(run(&h, start).await.2, 0);
    let mut log = String::new();
    for _ in 0..100 {
        log = run(&h, "cat /tmp/vllm.log").await.0;
        if log.contains("Uvicorn running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(log.contains("vLLM API server version 0.6.4"), "{log}");
    assert!(log.contains("Uvicorn running"), "{log}");
    assert!(!log.contains("too old"), "{log}");
}

#[tokio::test]
async fn a_host_without_a_working_driver_fails_nvidia_smi_and_the_engine() {
    let gpus = Gpus {
        gpu_type: "RTX 4090".into(),
        count: 1,
        vram_gb: 24,
        slowdown: 1.0,
    };
    let h = Arc::new(SimHost::new("sim-test".into(), gpus, 1000.0).with_driver(None));
    let (out, _, code) = run(&h, "nvidia-smi").await;
    assert_eq!(code, 9);
    assert!(
        out.contains("couldn't communicate with the NVIDIA driver"),
        "{out}"
    );
    let log = docker_log_after_start(&h, "vllm/vllm-openai:v0.31.0").await;
    assert!(
        log.contains("Found no NVIDIA driver on your system"),
        "{log}"
    );
}
