use super::*;

pub(super) fn host() -> Arc<SimHost> {
    Arc::new(SimHost::new(
        "sim-test".into(),
        Gpus {
            gpu_type: "RTX 4090".into(),
            count: 2,
            vram_gb: 24,
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
