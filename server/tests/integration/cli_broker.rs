//! The one-shot broker commands against the standalone simulator, as a user runs them:
//! `--json` parsed, exit codes 0 (done), 1 (the broker refused or failed) and 2 (bad
//! input), and the broker's own messages on stderr.

use crate::process::{binary, data_dir, output_within, simulate};
use crate::support::{client, request};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

struct Ran {
    code: Option<i32>,
    json: serde_json::Value,
    stderr: String,
}

fn run(url: &str, args: &[&str]) -> Ran {
    let mut command = binary();
    command.args(args);
    // `models` needs no broker.
    if args[0] != "models" {
        command.args(["--shopper-url", url]);
    }
    let out = output_within(&mut command, LIMIT);
    Ran {
        code: out.status.code(),
        json: serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null),
        stderr: out.stderr,
    }
}

#[test]
fn every_broker_command_answers_in_json_with_its_exit_code() {
    let (_sim, url) = simulate(&[]);
    // Issue 26: a fresh broker has no sessions of ours: said, with exit 3.
    let none = run(&url, &["sessions", "--json"]);
    assert_eq!(
        (none.code, &none.json),
        (Some(3), &serde_json::json!([])),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr.contains("no sessions of ours"),
        "{}",
        none.stderr
    );
    let status = run(&url, &["status", "--json"]);
    assert_eq!(
        (status.code, &status.json["ready"]),
        (Some(0), &serde_json::json!(true))
    );

    let offers = run(
        &url,
        &[
            "inventory",
            "--provider",
            "vastai",
            "--max-price",
            "1",
            "--json",
        ],
    );
    assert_eq!(offers.code, Some(0), "{}", offers.stderr);
    let offers = offers.json.as_array().unwrap().clone();
    assert!(!offers.is_empty());
    assert!(offers
        .iter()
        .all(|o| o["provider"] == "vastai" && o["price_per_hour"].as_f64().unwrap() <= 1.0));
    // Part of the GPU's name, as the help says.
    let rtx = run(&url, &["inventory", "--gpu-type", "rtx", "--json"]);
    assert_eq!(rtx.code, Some(0), "{}", rtx.stderr);
    let rtx = rtx.json.as_array().unwrap().clone();
    assert!(!rtx.is_empty());
    assert!(
        rtx.iter()
            .all(|o| o["gpu_type"].as_str().unwrap().starts_with("RTX")),
        "{rtx:?}"
    );
    let nothing = run(&url, &["inventory", "--max-price", "0.001", "--json"]);
    assert_eq!(nothing.code, Some(3), "{}", nothing.stderr);
    assert!(
        nothing.stderr.contains("no offers match"),
        "{}",
        nothing.stderr
    );
    let bad = run(&url, &["inventory", "--provider", "aws"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("hint:"), "{}", bad.stderr);

    let models = run(&url, &["models", "--fits", "12", "--json"]);
    let fits = |id: &str| {
        models
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["fits"]
            .clone()
    };
    assert_eq!(fits("Qwen/Qwen2.5-0.5B-Instruct"), true);
    assert_eq!(fits("Qwen/Qwen2.5-7B-Instruct"), false);

    // A session of ours, made on the broker directly.
    let id = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let broker = client(&url);
        let query = gdl_model::shopper::InventoryQuery {
            provider: Some(gdl_model::shopper::Provider::VastAi),
            ..Default::default()
        };
        // The first offer the provider still has (a listing may hold a gone one).
        for offer in broker.inventory_all(&query).await.unwrap() {
            if let Ok(created) = broker
                .create_session(&request(broker.consumer_id(), &offer))
                .await
            {
                return created.session.id;
            }
        }
        panic!("no offer could be rented")
    });
    let listed = run(&url, &["sessions", "--json"]);
    assert!(listed
        .json
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == id.as_str()));
    let one = run(&url, &["session", &id, "--json"]);
    assert_eq!(
        (one.code, &one.json["session"]["id"]),
        (Some(0), &serde_json::json!(id))
    );

    let extended = run(&url, &["extend", &id, "--hours", "2", "--json"]);
    assert_eq!(extended.code, Some(0), "{}", extended.stderr);
    assert_eq!(extended.json["outcome"], "extended");
    assert!(extended.json["expires_at"].is_string());
    let negative = run(&url, &["extend", &id, "--hours", "-1"]);
    assert_eq!(negative.code, Some(2), "{}", negative.stderr);
    let past_max = run(&url, &["extend", &id, "--hours", "12"]);
    assert_eq!(past_max.code, Some(1));
    assert!(
        past_max
            .stderr
            .contains("extension would exceed 12-hour hard max"),
        "{}",
        past_max.stderr
    );

    let done = run(&url, &["done", &id, "--json"]);
    assert_eq!(
        (done.code, &done.json["outcome"]),
        (Some(0), &serde_json::json!("done"))
    );
    let cleaned = run(&url, &["cleanup", &id, "--json"]);
    assert_eq!(cleaned.code, Some(0), "{}", cleaned.stderr);
    assert_eq!(cleaned.json["outcome"], "destroyed");

    let unknown = run(&url, &["session", "no-such-session"]);
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("error [not_found]"),
        "{}",
        unknown.stderr
    );

    let costs = run(&url, &["costs", "--period", "daily", "--json"]);
    assert_eq!(costs.code, Some(0), "{}", costs.stderr);
    assert!(costs.json["total_cost"].is_number());
    let bad_period = run(&url, &["costs", "--period", "weekly"]);
    assert_eq!(bad_period.code, Some(2));
}

/// Issue 26: without a broker (or, for `status` and `sessions`, a dashboard) the commands
/// refuse with a hint instead of asking a throwaway simulator and printing its empty answers.
#[test]
fn without_a_broker_or_a_dashboard_the_commands_refuse_with_a_hint() {
    let data = data_dir();
    let data = data.to_str().unwrap();
    for (args, dashboard_too) in [
        (&["status"][..], true),
        (&["sessions", "--json"], true),
        (&["inventory"], false),
        (&["session", "s-1"], false),
        (&["costs"], false),
        (&["orphans", "--data-dir", data], false),
    ] {
        let out = output_within(binary().args(args), LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}: no answer that looks like one");
        assert!(
            out.stderr.contains("error [invalid_input]: no broker")
                && out.stderr.contains("hint: Pass")
                && out.stderr.contains("--shopper-url")
                && out.stderr.contains("--url http://127.0.0.1:8081") == dashboard_too,
            "{args:?}: {}",
            out.stderr
        );
    }
}
