//! Secrets hygiene: after a full simulated pipeline, neither the broker's SSH private key
//! nor the vLLM API key appears in the logs (captured at TRACE), the database files, the
//! served pages or the API's JSON.

use crate::dashboard::Dashboard;
use crate::support::{eventually, in_own_process};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Everything any test in this binary logs, from the moment the capture is installed.
pub(crate) fn captured() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let sink = buffer.clone();
            let _ = tracing_subscriber::fmt()
                // Everything at TRACE, but WebSocket frame hex dumps (their content is
                // checked as the live state below; the hex would read as tokens).
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "trace,tungstenite=debug,tokio_tungstenite=debug",
                ))
                .with_ansi(false)
                .with_writer(move || Capture(sink.clone()))
                .try_init();
            buffer
        })
        .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a secret shows in `text`, if it does: a PEM marker, a line of an issued key, any
/// 16 characters in a row of an API key the hosts were handed, or a run of 64+ hex digits
/// (the shape of the generated vLLM API key).
fn leak(text: &str, keys: &[String], api_keys: &[String]) -> Option<String> {
    for key in api_keys {
        let chars: Vec<char> = key.chars().collect();
        for window in chars.windows(16) {
            let part: String = window.iter().collect();
            if text.contains(&part) {
                return Some(format!("16 characters of a vLLM API key ({part})"));
            }
        }
    }
    if text.contains("PRIVATE KEY") {
        return Some("a PEM private key marker".into());
    }
    for key in keys {
        for line in key
            .lines()
            .filter(|l| l.len() > 20 && !l.starts_with("-----"))
        {
            if text.contains(line) {
                return Some("a line of the SSH private key".into());
            }
        }
    }
    let mut run = 0;
    for (i, c) in text.char_indices() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 64 {
            let start = text[..i]
                .char_indices()
                .rev()
                .nth(120)
                .map_or(0, |(j, _)| j);
            let context: String = text[start..i].chars().take(100).collect();
            return Some(format!(
                "a 64-hex-digit token (the vLLM API key's shape) after {context:?}"
            ));
        }
    }
    None
}

#[tokio::test]
async fn no_secret_reaches_logs_database_or_pages() {
    // The log capture is process-wide and at TRACE: every other test of this binary
    // running beside it would log everything into it too, and slowly.
    if !in_own_process("secrets::no_secret_reaches_logs_database_or_pages").await {
        return;
    }
    let logs = captured();
    let d = Dashboard::start(None).await;
    let (status, reply) = {
        let r = d
            .http
            .post(format!("{}/api/runs", d.url))
            .json(&serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 5}))
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };
    assert_eq!(status, 201);
    let id = reply["id"].as_str().unwrap().to_owned();
    let run: serde_json::Value = eventually(Duration::from_secs(60), || async {
        let r: serde_json::Value = d
            .get(&format!("/api/runs/{id}"))
            .await
            .json()
            .await
            .unwrap();
        (r["status"] != "running").then_some(r)
    })
    .await;
    assert_eq!(run["status"], "passed", "{run}");
    let keys = d
        .state
        .simulator
        .as_ref()
        .unwrap()
        .simulator()
        .issued_keys();
    assert!(
        !keys.is_empty() && keys.iter().all(|k| leak(k, &[], &[]).is_some()),
        "the check recognises the key"
    );
    assert!(
        leak(&"ab12".repeat(16), &[], &[]).is_some(),
        "the check recognises an API-key-shaped token"
    );
    let api_keys = d
        .state
        .simulator
        .as_ref()
        .unwrap()
        .simulator()
        .handed_secrets();
    assert_eq!(api_keys.len(), 1, "the host was handed the vLLM API key");
    let part = format!("…{}…", &api_keys[0][10..26]);
    assert!(
        leak(&part, &[], &api_keys).is_some(),
        "the check recognises part of the key"
    );

    let mut places: Vec<(String, String)> = Vec::new();
    for path in [
        "/",
        "/sessions",
        "/benchmarks",
        "/api/runs",
        "/api/sessions",
        "/api/benchmarks",
    ] {
        places.push((path.to_owned(), d.get(path).await.text().await.unwrap()));
    }
    let bench = run["benchmark_id"].as_str().unwrap();
    places.push((
        "benchmark".into(),
        d.get(&format!("/api/benchmarks/{bench}"))
            .await
            .text()
            .await
            .unwrap(),
    ));
    places.push((
        "live state".into(),
        serde_json::to_string(&d.state.dashboard.hub().clone_state()).unwrap(),
    ));
    for entry in std::fs::read_dir(&d.data_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        places.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    let captured_logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        captured_logs.contains("embedded broker simulator started"),
        "the capture saw the server's logs"
    );
    places.push(("logs".into(), captured_logs));
    for (place, text) in &places {
        assert_eq!(leak(text, &keys, &api_keys), None, "a secret in {place}");
    }
}
