//! The `follow-events` example against a real dashboard (the embedded simulator) that is
//! restarted while it follows: it prints the events of both boots, each boot's from a
//! snapshot on, with no event lost or repeated (checked by seq), and exits cleanly on
//! Ctrl-C (SIGINT).

use server::monitor::PollIntervals;
use server::simulator::SimConfig;
use server::Settings;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// A dashboard on `port` (0: any) over `data_dir`; dropping the sender stops it.
async fn dashboard(
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
    let settings = Settings {
        poll: PollIntervals {
            idle: Duration::from_millis(200),
            busy: Duration::from_millis(100),
        },
        bench: server::BenchSettings {
            requests: 4,
            levels: vec![1],
            max_tokens: 16,
        },
        ..Settings::local(data_dir.to_path_buf(), sim)
    };
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

/// Starts a small deployment test and waits (at most 60 s) until it ends.
async fn one_run(base: &str) {
    let http = reqwest::Client::new();
    let started: serde_json::Value = http
        .post(format!("{base}/api/runs"))
        .json(&serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = started["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let run: serde_json::Value = http
            .get(format!("{base}/api/runs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ["passed", "failed", "cancelled", "interrupted"]
            .contains(&run["status"].as_str().unwrap_or(""))
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run ends within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (at most 20 s) until the follower printed `n` snapshots.
async fn snapshots(lines: &Mutex<Vec<String>>, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("snapshot "))
        .count()
        < n
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} snapshots within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `key=value` of a printed line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_events_across_a_dashboard_restart_without_losing_or_repeating_one() {
    let data_dir: PathBuf = std::env::temp_dir().join(format!(
        "gdl-follow-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let (port, stop, served) = dashboard(&data_dir, 0).await;
    let base = format!("http://127.0.0.1:{port}");
    let mut follower = tokio::process::Command::new(env!("CARGO_BIN_EXE_follow-events"))
        .arg(&base)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut reader = tokio::io::BufReader::new(follower.stdout.take().unwrap()).lines();
    let kept = lines.clone();
    let reading = tokio::spawn(async move {
        while let Ok(Some(line)) = reader.next_line().await {
            kept.lock().unwrap().push(line);
        }
    });
    snapshots(&lines, 1).await;
    one_run(&base).await;

    // The restart: the same data and port, a new boot (epoch).
    drop(stop);
    served.await.unwrap();
    let (_, stop, served) = dashboard(&data_dir, port).await;
    snapshots(&lines, 2).await;
    one_run(&base).await;

    let pid = follower.id().unwrap().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(signalled.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), follower.wait()).await;
    assert_eq!(
        status.unwrap().unwrap().code(),
        Some(0),
        "a clean exit on Ctrl-C, no gap seen"
    );
    reading.await.unwrap();
    drop(stop);
    let _ = served.await;

    // Each boot: a snapshot, then events numbered on from it, each once.
    let lines = lines.lock().unwrap().clone();
    let mut epochs: Vec<(String, Vec<u64>)> = Vec::new();
    for line in &lines {
        let (epoch, seq) = (field(line, "epoch"), field(line, "seq").parse().unwrap());
        if line.starts_with("snapshot ") {
            epochs.push((epoch.to_owned(), vec![seq]));
        } else {
            let (current, seqs) = epochs.last_mut().expect("a snapshot comes first");
            assert_eq!(current, epoch, "events of the boot the snapshot came from");
            seqs.push(seq);
        }
    }
    assert_eq!(epochs.len(), 2, "one snapshot per boot: {lines:#?}");
    assert_ne!(epochs[0].0, epochs[1].0, "the restart is a new epoch");
    for (epoch, seqs) in &epochs {
        assert!(
            seqs.len() > 10,
            "a run's events in epoch {epoch}: {}",
            seqs.len()
        );
        let expected: Vec<u64> = (seqs[0]..seqs[0] + seqs.len() as u64).collect();
        assert_eq!(seqs, &expected, "none lost or repeated in epoch {epoch}");
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
