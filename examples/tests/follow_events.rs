//! The `follow-events` example against a real dashboard (the embedded simulator) that is
//! restarted while it follows: it prints the events of both boots, each boot's from a
//! snapshot on, with no event lost or repeated (checked by seq), and exits cleanly on
//! Ctrl-C (SIGINT).

mod common;

use common::{dashboard, data_dir};
use gdl_model::runs::Run;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The JSON answer to `request`.
async fn json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    request.send().await.unwrap().json().await.unwrap()
}

/// Starts a small deployment test and waits (at most 60 s) until it ends.
async fn one_run(base: &str) {
    let http = reqwest::Client::new();
    let config = serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 5});
    let started: serde_json::Value =
        json(http.post(format!("{base}/api/runs")).json(&config)).await;
    let id = started["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let run: Run = json(http.get(format!("{base}/api/runs/{id}"))).await;
        if run.status.is_finished() {
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

/// The example's process, killed if the test ends before it does.
struct Follower(std::process::Child);

impl Follower {
    /// Starts the example against `base`, with its stdout read line by line into the
    /// returned list (by the returned thread, which ends when the example does).
    fn spawn(
        base: &str,
        stderr: std::process::Stdio,
    ) -> (Self, Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
        let mut follower = Follower(
            std::process::Command::new(env!("CARGO_BIN_EXE_follow-events"))
                .arg(base)
                .stdout(std::process::Stdio::piped())
                .stderr(stderr)
                .spawn()
                .unwrap(),
        );
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = std::io::BufReader::new(follower.0.stdout.take().unwrap());
        let kept = lines.clone();
        let reading = std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        (follower, lines, reading)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_events_across_a_dashboard_restart_without_losing_or_repeating_one() {
    let data_dir = data_dir("follow");
    let (port, stop, served) = dashboard(&data_dir, 0).await;
    let base = format!("http://127.0.0.1:{port}");
    let (mut follower, lines, reading) = Follower::spawn(&base, std::process::Stdio::inherit());
    snapshots(&lines, 1).await;
    one_run(&base).await;

    // The restart: the same data and port, a new boot (epoch).
    drop(stop);
    served.await.unwrap();
    let (_, stop, served) = dashboard(&data_dir, port).await;
    snapshots(&lines, 2).await;
    one_run(&base).await;

    let pid = follower.0.id().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(signalled.unwrap().success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = follower.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "it exits within 10 s of Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        status.code(),
        Some(0),
        "a clean exit on Ctrl-C, no gap seen"
    );
    reading.join().unwrap();
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

/// A frame of the test's own live channel, epoch `e1`.
fn frame(seq: u64, snapshot: bool) -> String {
    use gdl_model::live::{LiveEvent, ServerFrame};
    let frame = if snapshot {
        ServerFrame::Snapshot {
            epoch: "e1".into(),
            seq,
            state: Default::default(),
        }
    } else {
        ServerFrame::Event {
            epoch: "e1".into(),
            seq,
            event: LiveEvent::SessionRemoved {
                id: format!("s-{seq}").into(),
            },
        }
    };
    serde_json::to_string(&frame).unwrap()
}

// tungstenite's handshake callback has its (large) error type fixed by the library.
#[allow(clippy::result_large_err)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_by_replay_and_exits_2_when_an_event_is_missing() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::Message;

    // A live channel of the test's own: the first connection gets a snapshot at 5 and
    // events 6 and 7, then is closed; the second (which must resume after 7) gets 8 by
    // replay, then 10: event 9 is missing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = asked.clone();
    let channel = tokio::spawn(async move {
        let scripts = [
            vec![frame(5, true), frame(6, false), frame(7, false)],
            vec![frame(8, false), frame(10, false)],
        ];
        for frames in scripts {
            let (stream, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            let mut socket =
                tokio_tungstenite::accept_hdr_async(stream, move |r: &Request, ok: Response| {
                    seen.lock().unwrap().push(r.uri().to_string());
                    Ok(ok)
                })
                .await
                .unwrap();
            for text in frames {
                socket.send(Message::Text(text.into())).await.unwrap();
            }
            let _ = socket.close(None).await;
        }
    });
    let (mut follower, lines, reading) = Follower::spawn(&base, std::process::Stdio::piped());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !lines.lock().unwrap().iter().any(|l| l.contains(" seq=10 ")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "event 10 printed within 20 s: {:?}",
            lines.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    channel.await.unwrap();
    let pid = follower.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = follower.0.wait().unwrap();
    reading.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut follower.0.stderr.take().unwrap(), &mut stderr).unwrap();

    let asked = asked.lock().unwrap().clone();
    assert!(asked[0].ends_with("/ws?new"), "{asked:?}");
    assert!(
        asked[1].ends_with("/ws?last_seq=7&epoch=e1"),
        "the second connection resumes after the last event printed: {asked:?}"
    );
    let lines = lines.lock().unwrap().clone();
    let seqs: Vec<&str> = lines.iter().map(|l| field(l, "seq")).collect();
    assert_eq!(seqs, ["5", "6", "7", "8", "10"], "{lines:#?}");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("snapshot ")).count(),
        1,
        "the replay continues without a new snapshot"
    );
    assert!(
        stderr.contains("event 10 of epoch e1 does not follow 8"),
        "{stderr}"
    );
    assert_eq!(
        status.code(),
        Some(2),
        "a missing event makes the exit code 2"
    );
}
