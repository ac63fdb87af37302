//! A dashboard on the embedded simulator for the examples' tests.

use server::monitor::PollIntervals;
use server::simulator::SimConfig;
use server::Settings;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh data directory under the system's temporary one.
pub fn data_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "gdl-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ))
}

/// A dashboard on `port` (0: any) over `data_dir`; dropping the sender stops it.
pub async fn dashboard(
    data_dir: &Path,
    port: u16,
) -> (
    u16,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let sim = SimConfig {
        speed: 60.0,
        seed: Some(7),
        provision_failure_rate: 0.0,
        ..SimConfig::default()
    };
    let mut settings = Settings::local(data_dir.to_path_buf(), sim);
    settings.tuning.poll = Some(PollIntervals {
        idle: Duration::from_millis(200),
        busy: Duration::from_millis(100),
    });
    settings.runs.bench_requests = 4;
    settings.runs.bench_concurrency = vec![1];
    settings.runs.bench_max_tokens = 16;
    let state = server::start(settings).await.unwrap();
    let listener = server::listen(([127, 0, 0, 1], port).into()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        server::run(listener, state, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (port, tx, served)
}
