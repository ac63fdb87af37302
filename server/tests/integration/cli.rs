//! The binary's command line, as a user runs it: `test` runs the pipeline headless and says
//! how it ended in its exit code, `serve` cleans up on SIGTERM and after a crash, `--help`
//! explains every flag the README lists. Every child is bounded in time.

use crate::process::{binary, data_dir, live_sessions, output_within, serve, simulate, Child};
use std::time::Duration;

const RUN: Duration = Duration::from_secs(180);

fn test_command(max_price: &str, data: &std::path::Path) -> std::process::Command {
    let mut command = binary();
    command
        .args(["test", "--model", "qwen2.5-0.5b", "--max-price", max_price])
        .args(["--sim-speed", "60", "--sim-failure-rate", "0", "--json"])
        .arg("--data-dir")
        .arg(data);
    command
}

#[test]
fn test_command_runs_the_pipeline_and_prints_json() {
    let data = data_dir();
    let out = output_within(&mut test_command("5", &data), RUN);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let result: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(result["run"]["status"], "passed");
    assert_eq!(result["run"]["steps"].as_array().unwrap().len(), 11);
    assert!(
        result["benchmark"]["phases"][0]["ttft_ms"]["p50"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        out.stderr.contains("11/11 Cleanup Complete"),
        "progress on stderr: {}",
        out.stderr
    );
    assert!(
        data.join("gpu-deploy-llm.db").exists(),
        "recorded in the database"
    );
}

#[test]
fn a_failed_test_exits_1_with_the_code_and_a_hint() {
    let out = output_within(&mut test_command("0.01", &data_dir()), RUN);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let result: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(result["run"]["status"], "failed");
    assert_eq!(result["run"]["error_code"], "no_offers");
    assert!(
        out.stderr.contains("[no_offers]") && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );
}

#[test]
fn test_command_refuses_bad_input_with_a_hint() {
    let out = output_within(
        binary()
            .args(["test", "--model", "org/model; reboot", "--max-price", "1"])
            .args(["--sim-speed", "200", "--data-dir"])
            .arg(data_dir()),
        RUN,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("invalid_model_id") && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );
}

/// The flags in the README table that starts after `after` (up to the next blank line).
fn readme_flags(after: &str) -> Vec<String> {
    let readme = include_str!("../../../docs/configuration.md");
    let table = readme
        .split(after)
        .nth(1)
        .expect("the README has that table");
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.strip_prefix("| `--"))
        .map(|l| format!("--{}", l.split([' ', '`']).next().unwrap()))
        .collect()
}

#[test]
fn every_flag_the_readme_lists_is_in_the_help() {
    let serve_flags = readme_flags("## `gpu-deploy-llm serve`");
    let simulate_flags = readme_flags("`gpu-deploy-llm simulate` runs only the broker simulator");
    assert!(serve_flags.len() >= 20, "{serve_flags:?}");
    assert!(simulate_flags.len() >= 4, "{simulate_flags:?}");
    for (command, flags) in [("serve", &serve_flags), ("simulate", &simulate_flags)] {
        let out = output_within(binary().args([command, "--help"]), Duration::from_secs(30));
        assert!(out.status.success());
        assert!(out.stdout.contains("Usage: gpu-deploy-llm"), "{command}");
        for flag in flags {
            assert!(
                out.stdout.contains(&format!("{flag} "))
                    || out.stdout.contains(&format!("{flag}\n")),
                "`{command} --help` does not explain {flag}"
            );
        }
    }
    let test = output_within(binary().args(["test", "--help"]), Duration::from_secs(30));
    let test_flags = readme_flags("## `gpu-deploy-llm test`");
    assert!(test_flags.len() >= 25, "{test_flags:?}");
    for flag in test_flags.iter().map(String::as_str).chain([
        "--model",
        "--max-price",
        "--provider",
        "--json",
        "--keep-on-failure",
        "--shopper-url",
        "--engine-version",
        "--max-model-len",
    ]) {
        assert!(
            test.stdout.contains(&format!("{flag} ")) || test.stdout.contains(&format!("{flag}\n")),
            "`test --help` does not explain {flag}"
        );
    }
}

#[test]
fn every_broker_command_the_readme_shows_explains_its_flags() {
    let readme = include_str!("../../../docs/configuration.md");
    let block = readme
        .split("gpu-deploy-llm status ")
        .nth(1)
        .expect("the README shows the broker commands");
    let lines: Vec<&str> = std::iter::once("gpu-deploy-llm status ")
        .chain(block.lines().skip(1))
        .take_while(|l| !l.starts_with("```"))
        .collect();
    assert!(lines.len() >= 9, "{lines:?}");
    for line in lines {
        let mut words = line.split_whitespace().skip(1);
        let command = words.next().unwrap();
        let help = output_within(binary().args([command, "--help"]), Duration::from_secs(30));
        assert!(help.status.success(), "{command}: {}", help.stderr);
        for flag in line.split([' ', '[', ']']).filter(|w| w.starts_with("--")) {
            assert!(
                help.stdout.contains(flag),
                "`{command} --help` does not explain {flag}"
            );
        }
    }
}

#[test]
fn listening_beyond_loopback_without_a_token_is_refused() {
    // 192.0.2.1 (TEST-NET-1) is nobody's address here: were the refusal gone, binding it
    // would fail too, with another message, so this test can never listen beyond loopback.
    let out = output_within(
        binary()
            .args(["serve", "--addr", "192.0.2.1:9", "--data-dir"])
            .arg(data_dir()),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("refusing to listen on 192.0.2.1:9")
            && out.stderr.contains("--auth-token"),
        "{}",
        out.stderr
    );
}

/// `test` against a standalone simulator at `broker`.
fn test_against(broker: &str) -> std::process::Command {
    let mut command = binary();
    command
        .args([
            "test",
            "--model",
            "qwen2.5-0.5b",
            "--max-price",
            "5",
            "--json",
        ])
        .args([
            "--shopper-url",
            broker,
            // The standalone simulator's fake Hub.
            "--hf-endpoint",
            broker,
            "--allow-private-hosts",
            "--data-dir",
        ])
        .arg(data_dir());
    command
}

#[test]
fn test_command_passes_against_a_standalone_simulator_over_ssh() {
    let (_simulator, broker) = simulate(&[]);
    let out = output_within(&mut test_against(&broker), RUN);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let result: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(result["run"]["status"], "passed", "{}", out.stderr);
    // The user is the provider's (root on Vast.ai, user on TensorDock, ubuntu on Blue Lobster).
    assert!(
        ["root", "user", "ubuntu"].iter().any(|u| out
            .stderr
            .contains(&format!("SSH connected to {u}@127.0.0.1:"))),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("11/11 Cleanup Complete"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_cleans_up_and_exits_130() {
    let (_simulator, broker) = simulate(&[]);
    let mut test = Child::spawn(&mut test_against(&broker));
    test.wait_for_line("Wait for running Running", RUN);
    assert_eq!(live_sessions(&broker).await.len(), 1, "a session is rented");
    test.signal("INT");
    let status = test.wait_within(RUN);
    assert_eq!(status.code(), Some(130), "{}", test.stderr());
    assert!(test.stderr().contains("cancelling"), "{}", test.stderr());
    let result: serde_json::Value = serde_json::from_str(&test.stdout()).unwrap();
    assert_eq!(result["run"]["status"], "cancelled");
    assert_eq!(result["run"]["cleanup"]["destroyed_confirmed"], true);
    assert_eq!(
        live_sessions(&broker).await,
        Vec::<serde_json::Value>::new()
    );
}

/// Starts a run on a `serve` child and waits until it has rented a session.
pub(crate) async fn start_run_until_rented(url: &str) -> String {
    let http = crate::support::http();
    let started: serde_json::Value = http
        .post(format!("{url}/api/runs"))
        .json(&serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = started["id"].as_str().expect("a run id").to_owned();
    let deadline = std::time::Instant::now() + RUN;
    loop {
        let run: serde_json::Value = http
            .get(format!("{url}/api/runs/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if run["session_id"].is_string() {
            return id;
        }
        assert_eq!(run["status"], "running", "{run}");
        assert!(std::time::Instant::now() < deadline, "no session rented");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_the_dashboard_destroys_the_session_of_a_run_in_progress() {
    let (_simulator, broker) = simulate(&[]);
    let data = data_dir();
    let (mut dashboard, url) = serve(&["--shopper-url", &broker, "--allow-private-hosts"], &data);
    let id = start_run_until_rented(&url).await;
    assert_eq!(live_sessions(&broker).await.len(), 1);
    dashboard.signal("TERM");
    let status = dashboard.wait_within(RUN);
    assert!(status.success(), "{status}: {}", dashboard.stderr());
    let log = dashboard.stderr();
    assert!(log.contains("cancelling runs in progress"), "{log}");
    assert!(log.contains("dashboard stopped"), "{log}");
    // What the shutdown did, in one line.
    let stats = log
        .lines()
        .find(|l| l.contains("shutdown statistics"))
        .unwrap_or_else(|| panic!("{log}"));
    for field in [
        "runs_interrupted=1",
        "cleanups_finished=1",
        "cleanups_pending=0",
    ] {
        assert!(stats.contains(field), "{stats}");
    }
    assert!(stats.contains("connections_closed=") && stats.contains("duration_ms="));
    assert_eq!(
        live_sessions(&broker).await,
        Vec::<serde_json::Value>::new()
    );
    // What it recorded says so after a restart.
    let (_again, url) = serve(&["--shopper-url", &broker, "--allow-private-hosts"], &data);
    let run = get_json(format!("{url}/api/runs/{id}")).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    assert_eq!(run["cleanup"]["destroyed_confirmed"], true, "{run}");
}

/// A run from start to its end; returns it as the API shows it.
async fn run_to_the_end(url: &str) -> serde_json::Value {
    let id = start_run_until_rented(url).await;
    let deadline = std::time::Instant::now() + RUN;
    loop {
        let run = get_json(format!("{url}/api/runs/{id}")).await;
        if run["status"] != "running" {
            return run;
        }
        assert!(std::time::Instant::now() < deadline, "the run ends");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn get_json(url: String) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_killed_mid_run_destroys_the_session_when_it_starts_again() {
    let (_simulator, broker) = simulate(&[]);
    let data = data_dir();
    let (mut dashboard, url) = serve(&["--shopper-url", &broker, "--allow-private-hosts"], &data);
    let passed = run_to_the_end(&url).await;
    assert_eq!(passed["status"], "passed", "{passed}");
    let benchmark = passed["benchmark_id"].as_str().unwrap().to_owned();
    let id = start_run_until_rented(&url).await;
    dashboard.signal("KILL");
    dashboard.wait_within(Duration::from_secs(30));
    assert_eq!(
        live_sessions(&broker).await.len(),
        1,
        "left behind by the crash"
    );
    // A slow broker: each destroy takes 5 s (the real one's take from 5 s to minutes).
    let faults = crate::support::http()
        .post(format!("{broker}/_sim/faults"))
        .json(&serde_json::json!({"destroy_delay_ms": 5000}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());

    let (_again, url) = serve(&["--shopper-url", &broker, "--allow-private-hosts"], &data);
    // The listener answers at once: the run is already interrupted and the session is
    // still being destroyed, in the background.
    let run = get_json(format!("{url}/api/runs/{id}")).await;
    assert_eq!(run["status"], "interrupted", "{run}");
    assert!(run["cleanup"].is_null(), "its cleanup is under way: {run}");
    assert_eq!(live_sessions(&broker).await.len(), 1, "not destroyed yet");
    let deadline = std::time::Instant::now() + RUN;
    while !live_sessions(&broker).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the session is destroyed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = loop {
        let run = get_json(format!("{url}/api/runs/{id}")).await;
        if !run["cleanup"].is_null() {
            break run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cleanup is recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(run["cleanup"]["destroyed_confirmed"], true, "{run}");
    // The benchmark completed before the crash is all there.
    let stored = get_json(format!("{url}/api/benchmarks/{benchmark}")).await;
    assert_eq!(stored["benchmark"]["id"], benchmark.as_str(), "{stored}");
    assert!(
        !stored["samples"].as_array().unwrap().is_empty(),
        "with its samples"
    );
    // Complete steps, then the one it had reached marked interrupted (none when the kill
    // fell between two steps), then the rest skipped: nothing left running.
    let statuses: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    let done = statuses.iter().take_while(|s| **s == "complete").count();
    let rest = &statuses[done..];
    let skipped_from = usize::from(rest.first() == Some(&"interrupted"));
    assert!(done >= 3, "it had selected its offer: {run}");
    assert!(
        rest[skipped_from..].iter().all(|s| *s == "skipped"),
        "the step it had reached, then skipped ones: {run}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_json_writes_one_object_a_line_with_the_request_id() {
    let data = data_dir();
    let mut child = Child::spawn(
        binary()
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--data-dir",
            ])
            .arg(&data)
            .env("RUST_LOG", "info,server=debug"),
    );
    let line = child.wait_for_line("dashboard on http://", Duration::from_secs(60));
    let announced: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    let message = announced["fields"]["message"].as_str().unwrap().to_owned();
    assert_eq!(announced["level"], "INFO", "{line}");
    let start = message.find("http://").unwrap();
    let url: String = message[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')')
        .collect();
    let r = crate::support::http()
        .get(format!("{}/api/runs/run-nope", url.trim_end_matches('/')))
        .header("x-request-id", "json-log-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let logged = child.wait_for_line("json-log-1", Duration::from_secs(10));
    let entry: serde_json::Value = serde_json::from_str(&logged).expect("a JSON line");
    assert_eq!(entry["span"]["request_id"], "json-log-1", "{logged}");
    assert_eq!(entry["span"]["path"], "/api/runs/run-nope", "{logged}");
    child.signal("TERM");
    child.wait_within(Duration::from_secs(60));
    for line in child.stderr().lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_and_the_brokers_password_never_reach_the_log() {
    let (_simulator, broker) = simulate(&[]);
    let with_password = broker.replacen("http://", "http://admin:hunter2-broker-pw@", 1);
    let data = data_dir();
    std::fs::create_dir_all(&data).unwrap();
    let token_file = data.join("token");
    let token = "token-from-a-file-0123456789";
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let mut child = Child::spawn(
        binary()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .args(["--shopper-url", &with_password, "--auth-token-file"])
            .arg(&token_file)
            .env("RUST_LOG", "trace"),
    );
    let line = child.wait_for_line("dashboard on http://", Duration::from_secs(60));
    assert!(line.contains(&format!("broker {broker}")), "{line}");
    let url = crate::process::announced_url(&line);
    // The file's token is the one asked for.
    let http = crate::support::http();
    let refused = http.get(format!("{url}/api/status")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let allowed = http
        .get(format!("{url}/api/status"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let status = allowed.text().await.unwrap();
    assert!(!status.contains("hunter2"), "{status}");
    child.signal("TERM");
    child.wait_within(Duration::from_secs(60));
    let log = child.stderr();
    assert!(!log.contains("hunter2"), "the broker's password in the log");
    assert!(!log.contains(token), "the token in the log");
    assert!(
        !log.contains("ps` to every user"),
        "no warning without the flag"
    );

    // The token as a flag works, and says why it should not be one.
    let (mut flagged, _) = serve(&["--auth-token", token], &data_dir());
    flagged.signal("TERM");
    flagged.wait_within(Duration::from_secs(60));
    assert!(
        flagged.stderr().contains("--auth-token-file"),
        "{}",
        flagged.stderr()
    );
    // Both at once, or an empty file, are refused at start.
    let both = output_within(
        binary()
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--auth-token",
                token,
                "--auth-token-file",
            ])
            .arg(&token_file),
        Duration::from_secs(30),
    );
    assert_eq!(both.status.code(), Some(2), "{}", both.stderr);
    std::fs::write(&token_file, "\n").unwrap();
    let empty = output_within(
        binary()
            .args(["serve", "--addr", "127.0.0.1:0", "--auth-token-file"])
            .arg(&token_file)
            .arg("--data-dir")
            .arg(data_dir()),
        Duration::from_secs(30),
    );
    assert!(!empty.status.success());
    assert!(
        empty.stderr.contains("holds no access token"),
        "{}",
        empty.stderr
    );
}
