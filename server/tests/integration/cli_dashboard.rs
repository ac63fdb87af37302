//! Issue 26: the read commands ask a running dashboard (`--url`, `GDL_URL`) with its access
//! token from `GDL_TOKEN` or `--token-file`, and show what it shows; without the token, with
//! a wrong one, with nothing at the address or something else than the dashboard there,
//! they say why with a code and a hint and exit non-zero.

use crate::process::{client, data_dir, output_within, serve, Output};
use std::path::PathBuf;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const RUN: Duration = Duration::from_secs(180);
const TOKEN: &str = "cli-reads-the-dashboard-0123456789";

/// A dashboard on the embedded simulator that wants [`TOKEN`]; its data directory and the
/// token's file.
fn dashboard() -> (crate::process::Child, String, PathBuf) {
    let data = data_dir();
    std::fs::create_dir_all(&data).unwrap();
    let token_file = data.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let file = token_file.to_str().unwrap().to_owned();
    let (child, url) = serve(
        &[
            "--auth-token-file",
            &file,
            "--sim-speed",
            "60",
            "--sim-failure-rate",
            "0",
        ],
        &data,
    );
    (child, url, token_file)
}

/// The binary with `args` and the token in `GDL_TOKEN` when given.
fn cli(args: &[&str], token: Option<&str>) -> Output {
    output_within(&mut client(args, None, token), LIMIT)
}

fn json(out: &Output) -> serde_json::Value {
    out.json()
}

/// Starts a deployment test with the token and waits for its end; the run as the API shows it.
async fn finished_run(url: &str) -> serde_json::Value {
    let http = crate::support::http();
    let started: serde_json::Value = http
        .post(format!("{url}/api/runs"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = started["id"].as_str().expect("a run id").to_owned();
    crate::support::eventually(RUN, || async {
        let run: serde_json::Value = http
            .get(format!("{url}/api/runs/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (run["status"] != "running").then_some(run)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_commands_show_what_a_running_dashboard_shows_with_its_token() {
    let (_dashboard, url, token_file) = dashboard();
    let run = finished_run(&url).await;
    assert_eq!(run["status"], "passed", "{run}");
    let id = run["id"].as_str().unwrap();
    let benchmark = run["benchmark_id"].as_str().unwrap();
    let file = token_file.to_str().unwrap();

    // The token from the environment.
    let runs = cli(&["runs", "--url", &url, "--json"], Some(TOKEN));
    assert_eq!(runs.status.code(), Some(0), "{}", runs.stderr);
    assert_eq!(json(&runs)[0]["id"], id);
    let table = cli(&["runs", "--url", &url], Some(TOKEN));
    assert!(table.stdout.contains(id), "{}", table.stdout);
    assert!(
        !table.stderr.contains("reading the store"),
        "{}",
        table.stderr
    );
    // The token from a file; the URL from GDL_URL.
    let mut command = client(
        &["benchmarks", "list", "--json", "--token-file", file],
        Some(&url),
        None,
    );
    let listed = output_within(&mut command, LIMIT);
    assert_eq!(listed.status.code(), Some(0), "{}", listed.stderr);
    assert_eq!(json(&listed)[0]["id"], benchmark);

    let status = cli(
        &["status", "--url", &url, "--token-file", file, "--json"],
        None,
    );
    assert_eq!(status.status.code(), Some(0), "{}", status.stderr);
    let status = json(&status);
    assert_eq!(
        (&status["ready"], &status["dashboard"], &status["simulated"]),
        (
            &serde_json::json!(true),
            &serde_json::json!(url),
            &serde_json::json!(true)
        ),
        "{status}"
    );
    let sessions = cli(&["sessions", "--url", &url, "--json"], Some(TOKEN));
    assert_eq!(sessions.status.code(), Some(0), "{}", sessions.stderr);
    assert!(
        json(&sessions)
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["run_id"] == id),
        "{}",
        sessions.stdout
    );

    let show = cli(
        &["benchmarks", "show", benchmark, "--url", &url],
        Some(TOKEN),
    );
    assert_eq!(show.status.code(), Some(0), "{}", show.stderr);
    assert!(
        show.stdout.contains(" ms") && show.stdout.contains("tok/s"),
        "{}",
        show.stdout
    );
    let compare = cli(
        &[
            "benchmarks",
            "compare",
            "--model",
            "qwen2.5-0.5b",
            "--url",
            &url,
        ],
        Some(TOKEN),
    );
    assert_eq!(compare.status.code(), Some(0), "{}", compare.stderr);
    assert!(
        compare.stdout.contains("yes"),
        "on the frontier: {}",
        compare.stdout
    );
    let logs = cli(&["logs", id, "--url", &url], Some(TOKEN));
    assert_eq!(logs.status.code(), Some(0), "{}", logs.stderr);
    assert!(logs.stdout.contains("[Cleanup]"), "{}", logs.stdout);

    // The same commands on the (empty) local store find nothing, and say where they looked.
    let local = cli(&["runs"], None);
    assert_eq!(local.status.code(), Some(3), "{}", local.stderr);
    assert!(
        local.stderr.contains("reading the store in") && local.stderr.contains("no runs"),
        "{}",
        local.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_or_with_a_wrong_one_the_dashboard_refuses_with_a_hint() {
    let (_dashboard, url, _) = dashboard();
    let none = cli(&["runs", "--url", &url], None);
    assert_eq!(none.status.code(), Some(1), "{}", none.stderr);
    assert!(
        none.stderr.contains("error [unauthorized]")
            && none.stderr.contains("needs its access token")
            && none
                .stderr
                .contains("hint: Set GDL_TOKEN, or pass --token-file"),
        "{}",
        none.stderr
    );
    let wrong = data_dir();
    std::fs::create_dir_all(&wrong).unwrap();
    let wrong = wrong.join("token");
    std::fs::write(&wrong, "not-the-token-not-the-token\n").unwrap();
    let refused = cli(
        &[
            "status",
            "--url",
            &url,
            "--token-file",
            wrong.to_str().unwrap(),
        ],
        Some(TOKEN),
    );
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("error [unauthorized]")
            && refused.stderr.contains(&format!(
                "refused the access token from {}",
                wrong.display()
            ))
            && refused.stderr.contains("hint:"),
        "the file wins over GDL_TOKEN: {}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(TOKEN) && !refused.stdout.contains(TOKEN));
    let missing = cli(
        &[
            "sessions",
            "--url",
            &url,
            "--token-file",
            "/nonexistent/token",
        ],
        None,
    );
    assert_eq!(missing.status.code(), Some(2), "{}", missing.stderr);
    assert!(
        missing.stderr.contains("cannot read the access token"),
        "{}",
        missing.stderr
    );

    // An empty answer: said on stderr, with its own exit code.
    let empty = cli(
        &["runs", "--url", &url, "--status", "failed", "--json"],
        Some(TOKEN),
    );
    assert_eq!(empty.status.code(), Some(3), "{}", empty.stderr);
    assert_eq!(json(&empty), serde_json::json!([]));
    assert!(empty.stderr.contains("no runs match"), "{}", empty.stderr);
    let no_benchmarks = cli(&["benchmarks", "list", "--url", &url], Some(TOKEN));
    assert_eq!(
        no_benchmarks.status.code(),
        Some(3),
        "{}",
        no_benchmarks.stderr
    );
    assert!(
        no_benchmarks.stderr.contains("no benchmarks"),
        "{}",
        no_benchmarks.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_at_the_address_or_another_server_there_is_said_with_a_hint() {
    // A port nothing listens on: bound, then closed.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let unreachable = cli(&["status", "--url", &closed], None);
    assert_eq!(unreachable.status.code(), Some(1), "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("error [dashboard_unreachable]")
            && unreachable.stderr.contains("hint: Start the dashboard"),
        "{}",
        unreachable.stderr
    );
    // A server that answers every path with a page (a proxy's login form, say).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new()
            .fallback(|| async { axum::response::Html("<html><body>Sign in</body></html>") });
        axum::serve(listener, app).await
    });
    let runs = tokio::task::spawn_blocking(move || cli(&["runs", "--url", &page], None))
        .await
        .unwrap();
    assert_eq!(runs.status.code(), Some(1), "{}", runs.stderr);
    assert!(
        runs.stderr.contains("error [dashboard_protocol]")
            && runs.stderr.contains("text/html")
            && runs.stderr.contains("hint: Check that --url"),
        "{}",
        runs.stderr
    );
    let bad = cli(&["runs", "--url", "127.0.0.1:8081"], None);
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
}
