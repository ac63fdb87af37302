//! `runs`, `logs RUN [--follow]` and `orphans [--cleanup]`, as a user runs them: `--json`
//! parsed, exit codes 0, 1 and 2, and text from hosts and brokers without its control
//! characters in every command's output.

use crate::process::{binary, data_dir, output_within, simulate, Child};
use crate::support::{client, eventually, request};
use chrono::{Duration as Days, Utc};
use gdl_model::ids::RunId;
use gdl_model::runs::{LogLevel, LogLine, Run, RunStatus, TestConfig};
use server::store::Store;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// What a command printed, and its exit code.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

fn run(data: &Path, args: &[&str]) -> Ran {
    let mut command = binary();
    command.args(args).arg("--data-dir").arg(data);
    let out = output_within(&mut command, LIMIT);
    Ran {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn config(model: &str) -> TestConfig {
    serde_json::from_value(serde_json::json!({"model": model, "max_price": 1})).unwrap()
}

/// Runs in the store as a dashboard leaves them: one passed an hour ago, one failed, one
/// in progress with a log that a host wrote escape sequences into.
async fn history(data: &Path) -> (Store, Run) {
    std::fs::create_dir_all(data).unwrap();
    let store = Store::open(data).unwrap();
    let now = Utc::now();
    let mut passed = Run::new(
        "run-passed".into(),
        config("qwen2.5-0.5b"),
        now - Days::hours(2),
    );
    passed.status = RunStatus::Passed;
    let mut failed = Run::new(
        "run-failed".into(),
        config("org/Model-7B"),
        now - Days::hours(1),
    );
    failed.status = RunStatus::Failed;
    let running = Run::new("run-going".into(), config("qwen2.5-0.5b"), now);
    for run in [&passed, &failed, &running] {
        store.save_run(run).await.unwrap();
    }
    let lines = [
        "Selected RTX 4090 on vastai",
        "\x1b]0;pwned\x07host says \x1b[2Jhello",
    ]
    .iter()
    .enumerate()
    .map(|(i, text)| line(&running.id, i as u64 + 1, text))
    .collect::<Vec<_>>();
    store.append_logs(&lines).await.unwrap();
    (store, running)
}

fn line(run: &RunId, n: u64, message: &str) -> LogLine {
    LogLine {
        run_id: run.clone(),
        n,
        at: Utc::now(),
        level: LogLevel::Info,
        step: None,
        message: message.into(),
    }
}

#[tokio::test]
async fn runs_lists_the_stored_history_filtered_with_json_and_refuses_bad_input() {
    let data = data_dir();
    history(&data).await;
    let all = run(&data, &["runs", "--json"]);
    assert_eq!(all.code, Some(0), "{}", all.stderr);
    let ids: Vec<String> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        ["run-going", "run-failed", "run-passed"],
        "newest first"
    );
    let failed = run(&data, &["runs", "--status", "failed", "--json"]);
    assert_eq!(failed.json().as_array().unwrap().len(), 1);
    assert_eq!(failed.json()[0]["error_code"], serde_json::Value::Null);
    let model = run(
        &data,
        &["runs", "--model", "qwen2.5-0.5b", "--limit", "1", "--json"],
    );
    assert_eq!(model.json()[0]["id"], "run-going");
    assert_eq!(model.json().as_array().unwrap().len(), 1, "--limit");
    let table = run(&data, &["runs"]);
    assert!(
        table.stdout.contains("RUN") && table.stdout.contains("run-passed"),
        "{}",
        table.stdout
    );
    for bad in [
        &["runs", "--status", "sleeping"][..],
        &["runs", "--limit", "0"],
    ] {
        let refused = run(&data, bad);
        assert_eq!(refused.code, Some(2), "{bad:?}: {}", refused.stderr);
    }
    // Issue 26: nothing found is said, with where it was looked for, and exit 3.
    let empty = data_dir();
    let none = run(&empty, &["runs", "--json"]);
    assert_eq!((none.code, none.json()), (Some(3), serde_json::json!([])));
    assert!(
        none.stderr.contains("no runs stored yet")
            && none
                .stderr
                .contains(&format!("reading the store in {}", empty.display())),
        "{}",
        none.stderr
    );
    let unmatched = run(&data, &["runs", "--model", "nobody/none"]);
    assert_eq!(unmatched.code, Some(3), "{}", unmatched.stderr);
    assert!(
        unmatched.stderr.contains("no runs match"),
        "{}",
        unmatched.stderr
    );
}

#[tokio::test]
async fn logs_prints_a_run_without_control_characters_and_follows_it_to_its_end() {
    let data = data_dir();
    let (store, mut running) = history(&data).await;
    let text = run(&data, &["logs", "run-going"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(
        text.stdout.contains("Selected RTX 4090 on vastai"),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains('\x1b') && !text.stdout.contains('\x07'),
        "{:?}",
        text.stdout
    );
    assert!(text.stdout.contains("\u{fffd}[2Jhello"), "{}", text.stdout);
    let json = run(&data, &["logs", "run-going", "--json"]);
    let lines: Vec<LogLine> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1].message.contains('\x1b'),
        "JSON keeps the text, escaped"
    );
    let missing = run(&data, &["logs", "run-nope"]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("run_not_found") && missing.stderr.contains("hint:"),
        "{}",
        missing.stderr
    );

    // --follow prints what comes next and ends when the run does.
    let mut follow = Child::spawn(
        binary()
            .args(["logs", "run-going", "--follow", "--data-dir"])
            .arg(&data),
    );
    printed(&follow, "hello").await;
    store
        .append_logs(&[line(&running.id, 3, "Deployment verified")])
        .await
        .unwrap();
    printed(&follow, "Deployment verified").await;
    running.status = RunStatus::Passed;
    store.save_run(&running).await.unwrap();
    store
        .append_logs(&[line(&running.id, 4, "Cleanup confirmed")])
        .await
        .unwrap();
    let status = follow.wait_within(LIMIT);
    assert_eq!(status.code(), Some(0));
    let printed = follow.stdout();
    assert!(
        printed.contains("Cleanup confirmed"),
        "the last lines too: {printed}"
    );
    assert_eq!(
        printed.matches("Selected RTX 4090").count(),
        1,
        "each line once: {printed}"
    );
}

/// Waits until `child` has printed `needle` on stdout.
async fn printed(child: &Child, needle: &str) {
    eventually(LIMIT, || async {
        child.stdout().contains(needle).then_some(())
    })
    .await;
}

#[tokio::test]
async fn orphans_lists_what_no_run_owns_and_cleans_it_up_until_confirmed() {
    let (_sim, url) = simulate(&[]);
    let broker = client(&url);
    // This installation's id, from the database in its data directory.
    let data = data_dir();
    std::fs::create_dir_all(&data).unwrap();
    let mine =
        gdl_model::consumer_id(&Store::open(&data).unwrap().installation_id().await.unwrap());
    // A session of this installation that no run owns: the first offer the provider still
    // has; and one of another installation's, never an orphan here.
    let offers = broker
        .inventory_all(&gdl_model::shopper::InventoryQuery::default())
        .await
        .unwrap();
    let mut made = Vec::new();
    let consumers = [mine.as_str(), "gpu-deploy-llm/0a1b2c3d4e5f"];
    for offer in offers
        .iter()
        .filter(|o| o.provider == gdl_model::shopper::Provider::VastAi)
    {
        let Some(consumer) = consumers.get(made.len()) else {
            break;
        };
        if let Ok(created) = broker.create_session(&request(consumer, offer)).await {
            made.push(created.session.id);
        }
    }
    let [id, foreign] = <[_; 2]>::try_from(made).expect("two sessions were created");
    // The store's run in progress started after the session: it cannot have made it.
    history(&data).await;
    let orphans = |args: &[&str]| {
        let mut all = vec!["orphans", "--shopper-url", url.as_str()];
        all.extend_from_slice(args);
        run(&data, &all)
    };
    let listed = eventually(Duration::from_secs(30), || async {
        let listed = orphans(&["--json"]);
        let found = listed.json()["sessions"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["id"] == id.as_str()));
        found.then_some(listed)
    })
    .await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert!(listed.json()["burn_per_hour"].as_f64().unwrap() > 0.0);
    let table = orphans(&[]);
    assert!(
        table.stdout.contains("orphans --cleanup"),
        "{}",
        table.stdout
    );
    let cleaned = orphans(&["--cleanup", "--json"]);
    assert_eq!(cleaned.code, Some(0), "{}", cleaned.stderr);
    let result = &cleaned.json()["cleaned"][0];
    assert_eq!(
        (result["id"].as_str(), result["outcome"].as_str()),
        (Some(id.as_str()), Some("destroyed"))
    );
    let after = orphans(&["--json"]);
    assert_eq!(after.json()["sessions"], serde_json::json!([]));
    let status = broker.get_session(&foreign).await.unwrap().status;
    assert!(
        status.is_active(),
        "another installation's is left alone: {status}"
    );
    broker.delete_session(&foreign).await.unwrap();
    let bad = orphans(&["--cleanup", "--now"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
}

#[tokio::test]
async fn broker_text_reaches_the_terminal_without_control_characters() {
    let (_sim, url) = simulate(&[]);
    let broker = client(&url);
    // Every provisioning fails with an error text that would retitle the terminal.
    let http = crate::support::http();
    http.post(format!("{url}/_sim/faults"))
        .json(&serde_json::json!({"fail_provisioning_with": "\u{1b}]0;pwned\u{7}gone"}))
        .send()
        .await
        .unwrap();
    let offers = broker
        .inventory_all(&gdl_model::shopper::InventoryQuery::default())
        .await
        .unwrap();
    for offer in offers
        .iter()
        .filter(|o| o.provider == gdl_model::shopper::Provider::VastAi)
    {
        if broker
            .create_session(&request(broker.consumer_id(), offer))
            .await
            .is_ok()
        {
            break;
        }
    }
    let shown = eventually(Duration::from_secs(60), || async {
        let out = output_within(binary().args(["sessions", "--shopper-url", &url]), LIMIT);
        out.stdout.contains("gone").then_some(out)
    })
    .await;
    assert!(
        !shown.stdout.contains('\x1b') && !shown.stdout.contains('\x07'),
        "{:?}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("\u{fffd}]0;pwned\u{fffd}gone"),
        "{}",
        shown.stdout
    );
}
