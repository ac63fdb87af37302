//! Issue 28: the deployment commands against a running dashboard (`--url`, the token in
//! `GDL_TOKEN`). `deploy` prints the endpoint, a key and examples that work; `deployments`
//! lists what REST lists; `keys` makes and revokes keys the gateway then honours; `stop`
//! ends the deployment with nothing left at the broker; bad input exits 2 with a hint.

use crate::dashboard::Dashboard;
use crate::process::{binary, client, output_within, Output};
use crate::recovery::nothing_running;
use crate::support::eventually;
use gdl_model::deployments::{CreatedKey, Deployment, DeploymentKey, DeploymentStatus};
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "cli-deploys-on-the-dashboard-0123456789";
const LIMIT: Duration = Duration::from_secs(180);

/// A dashboard that wants [`TOKEN`] and checks its deployments every 200 ms.
async fn dashboard() -> Dashboard {
    crate::deployments::dashboard_with(|s| s.access.auth_token = Some(TOKEN.to_owned())).await
}

/// The binary with `args` against the dashboard at `url` with [`TOKEN`], run off the
/// test's runtime.
async fn cli(url: &str, args: &[&str]) -> Output {
    let mut command = client(args, Some(url), Some(TOKEN));
    tokio::task::spawn_blocking(move || output_within(&mut command, LIMIT))
        .await
        .unwrap()
}

fn json<T: serde::de::DeserializeOwned>(out: &Output) -> T {
    out.json()
}

/// `GET` a REST route with the token, as JSON.
async fn rest(d: &Dashboard, path: &str) -> Value {
    d.http
        .get(format!("{}{path}", d.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A chat completion through the gateway with `key`: its status and body.
async fn chat(endpoint: &str, key: &str, body: &Value) -> (u16, Value) {
    let r = crate::support::http()
        .post(format!("{endpoint}/chat/completions"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The text after `label` on its line of `text`.
fn after<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_prints_a_working_endpoint_and_key_then_keys_and_stop_manage_it() {
    let d = dashboard().await;
    let out = cli(
        &d.url,
        &[
            "deploy",
            "qwen2.5-0.5b",
            "--max-price",
            "5",
            "--max-spend",
            "3",
            "--key-label",
            "cli",
            "--wait",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", out.stdout, out.stderr);
    let text = &out.stdout;
    let endpoint = after(text, "endpoint");
    let id = endpoint
        .strip_prefix(&format!("{}/serve/", d.url))
        .and_then(|rest| rest.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("an absolute endpoint: {text}"));
    let key = after(text, "export OPENAI_API_KEY=");
    assert!(
        key.starts_with("gdk-") && after(text, "key").starts_with(key),
        "{text}"
    );
    assert!(
        text.contains(&format!("curl {endpoint}/chat/completions"))
            && text.contains(&format!("OpenAI(base_url=\"{endpoint}\")"))
            && text.contains(&format!("gpu-deploy-llm stop {id}"))
            && text.contains("gpu-deploy-llm deployments")
            && text.contains("stops after 30 min idle, at $3.00 spent"),
        "{text}"
    );
    assert!(
        out.stderr.contains("Install & start vLLM") && out.stderr.contains("serves"),
        "--wait says the progress: {}",
        out.stderr
    );

    // The curl example's request, with the printed key, is answered by the engine.
    let example: Value = serde_json::from_str(
        text.split("-d '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap(),
    )
    .unwrap();
    let (status, answer) = chat(endpoint, key, &example).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["choices"][0]["message"]["content"].is_string(),
        "{answer}"
    );

    // `deployments` lists it as REST does.
    let listed = cli(&d.url, &["deployments", "--json"]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", listed.stderr);
    let listed: Vec<Deployment> = json(&listed);
    let known: Vec<Deployment> =
        serde_json::from_value(rest(&d, "/api/deployments").await).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            &listed[0].id,
            listed[0].status,
            &listed[0].guards,
            &listed[0].keys
        ),
        (
            &known[0].id,
            known[0].status,
            &known[0].guards,
            &known[0].keys
        )
    );
    assert_eq!(listed[0].status, DeploymentStatus::Serving);
    let table = cli(&d.url, &["deployments", "--active"]).await;
    assert_eq!(table.status.code(), Some(0), "{}", table.stderr);
    let row = table.stdout.lines().find(|l| l.starts_with(id)).unwrap();
    assert!(
        row.contains("serving") && row.contains("/h") && row.contains(" idle"),
        "the first guard to end it is the idle time: {}",
        table.stdout
    );

    // A new key works; revoked, the gateway refuses it with OpenAI's 401.
    let made = cli(&d.url, &["keys", id, "--new", "laptop", "--json"]).await;
    assert_eq!(made.status.code(), Some(0), "{}", made.stderr);
    let made: CreatedKey = json(&made);
    assert_eq!(made.key.label, "laptop");
    assert_eq!(chat(endpoint, &made.secret, &example).await.0, 200);
    let revoked = cli(&d.url, &["keys", id, "--revoke", &made.key.id]).await;
    assert_eq!(revoked.status.code(), Some(0), "{}", revoked.stderr);
    assert!(revoked.stdout.contains("revoked"), "{}", revoked.stdout);
    let (status, refusal) = chat(endpoint, &made.secret, &example).await;
    assert_eq!(status, 401, "{refusal}");
    assert_eq!(refusal["error"]["code"], "invalid_api_key");
    assert_eq!(
        chat(endpoint, key, &example).await.0,
        200,
        "the first key still works"
    );
    let elsewhere = endpoint.replace(id, "dep-000000000000");
    let (status, refusal) = chat(&elsewhere, key, &example).await;
    assert_eq!(
        (status, &refusal["error"]["code"]),
        (401, &serde_json::json!("invalid_api_key")),
        "a key opens its own deployment only: {refusal}"
    );
    let keys = cli(&d.url, &["keys", id, "--json"]).await;
    let keys: Vec<DeploymentKey> = json(&keys);
    assert_eq!(keys.len(), 2);
    assert!(keys
        .iter()
        .any(|k| k.label == "cli" && k.revoked_at.is_none()));
    assert!(keys
        .iter()
        .any(|k| k.label == "laptop" && k.revoked_at.is_some()));
    let table = cli(&d.url, &["keys", id]).await;
    assert!(
        table.stdout.contains(&made.key.id) && !table.stdout.contains(&made.secret),
        "never a secret in the list: {}",
        table.stdout
    );

    // `stop` follows it to the end: its session destroyed, nothing billing.
    let stopped = cli(&d.url, &["stop", id]).await;
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.stderr);
    assert!(
        stopped.stdout.contains("stopped") && stopped.stdout.contains("confirmed"),
        "{}",
        stopped.stdout
    );
    nothing_running(&d).await;
    let ended: Deployment =
        serde_json::from_value(rest(&d, &format!("/api/deployments/{id}")).await).unwrap();
    assert_eq!(ended.status, DeploymentStatus::Stopped);
    assert_eq!(chat(endpoint, key, &example).await.0, 410);
    // Ended, its record no longer changes: the CLI's JSON is REST's, whole.
    let listed = cli(&d.url, &["deployments", "--json"]).await;
    assert_eq!(json::<Value>(&listed), rest(&d, "/api/deployments").await);
    let none = cli(&d.url, &["deployments", "--active"]).await;
    assert_eq!(none.status.code(), Some(3), "{}", none.stderr);
    let again = cli(&d.url, &["stop", id]).await;
    assert_eq!(again.status.code(), Some(1), "{}", again.stderr);
    assert!(
        again.stderr.contains("error [deployment_stopped]") && again.stderr.contains("hint:"),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_commands_refuse_bad_input_with_a_hint_and_rent_nothing() {
    let d = dashboard().await;
    let deploy = ["deploy", "qwen2.5-0.5b", "--max-price", "5"];
    for (extra, said) in [
        (
            &["--idle-minutes", "0"][..],
            "--idle-minutes must be more than 0",
        ),
        (
            &["--max-spend", "-1"][..],
            "--max-spend must be more than 0",
        ),
        (&["--engine", "tgi"][..], "--engine must be vllm or sglang"),
        (&["--key-label", ""][..], "label"),
        (&["--search"][..], "--benchmark"),
        (
            &["--tune-usd", "0"][..],
            "tune.usd_budget must be between 0.01 and 100",
        ),
        (&["--tune-seconds", "600"][..], "--tune-usd"),
    ] {
        let out = cli(&d.url, &[&deploy[..], extra].concat()).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains(said), "{extra:?}: {}", out.stderr);
    }
    // --from-benchmark takes the GPU, price and settings from the benchmark, not flags.
    for line in [
        &["deploy", "--from-benchmark", "bench-x", "--max-price", "5"][..],
        &["deploy", "qwen2.5-0.5b", "--from-benchmark", "bench-x"][..],
        &["deploy", "--from-benchmark", "bench-x", "--tune-usd", "1"][..],
        &[
            "deploy",
            "qwen2.5-0.5b",
            "--max-price",
            "5",
            "--own-settings",
        ][..],
    ] {
        let out = cli(&d.url, line).await;
        assert_eq!(out.status.code(), Some(2), "{line:?}: {}", out.stderr);
    }
    let unknown = cli(
        &d.url,
        &["deploy", "--from-benchmark", "bench-000000000000"],
    )
    .await;
    assert_eq!(unknown.status.code(), Some(1), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("error [benchmark_not_found]"),
        "{}",
        unknown.stderr
    );
    let model = cli(&d.url, &["deploy", "org/model; reboot", "--max-price", "1"]).await;
    assert_eq!(model.status.code(), Some(2), "{}", model.stderr);
    assert!(
        model.stderr.contains("error [invalid_model_id]") && model.stderr.contains("hint:"),
        "{}",
        model.stderr
    );
    let both = cli(
        &d.url,
        &["keys", "dep-x", "--new", "a", "--revoke", "key-y"],
    )
    .await;
    assert_eq!(both.status.code(), Some(2), "{}", both.stderr);
    let unknown = cli(&d.url, &["stop", "dep-nothing"]).await;
    assert_eq!(unknown.status.code(), Some(1), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("error [deployment_not_found]"),
        "{}",
        unknown.stderr
    );
    let mut without = binary();
    without.args(deploy);
    let without = tokio::task::spawn_blocking(move || output_within(&mut without, LIMIT))
        .await
        .unwrap();
    assert_eq!(without.status.code(), Some(2), "{}", without.stderr);
    assert!(
        without.stderr.contains("no dashboard given")
            && without.stderr.contains("hint: Pass --url"),
        "{}",
        without.stderr
    );
    let listed = rest(&d, "/api/deployments").await;
    assert_eq!(listed, serde_json::json!([]), "nothing was deployed");
    eventually(Duration::from_secs(5), || async {
        crate::support::active_sessions(&d.broker())
            .await
            .is_empty()
            .then_some(())
    })
    .await;
}

#[test]
fn every_deployment_flag_the_docs_list_is_in_the_help() {
    let docs = include_str!("../../../docs/configuration.md");
    let section = docs
        .split("## Deployments from the command line")
        .nth(1)
        .expect("the docs have the deployment commands")
        .split("\n## ")
        .next()
        .unwrap();
    let help = |command: &str| {
        let out = output_within(binary().args([command, "--help"]), Duration::from_secs(30));
        assert!(out.status.success(), "{command}: {}", out.stderr);
        out.stdout
    };
    // Each command line of the block, and every flag on it.
    let block = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    for line in lines {
        let command = line.split_whitespace().nth(1).unwrap();
        let text = help(command);
        for flag in line.split([' ', '[', ']']).filter(|w| w.starts_with("--")) {
            assert!(
                text.contains(flag),
                "`{command} --help` does not explain {flag}"
            );
        }
    }
    // `deploy`'s table, and the options it shares with `test`.
    let deploy = help("deploy");
    let flags: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `--"))
        .map(|l| l.split([' ', '`']).next().unwrap())
        .collect();
    assert!(flags.len() >= 11, "{flags:?}");
    let test = help("test");
    for flag in flags.iter().map(|f| format!("--{f}")).chain(
        [
            "--provider",
            "--quantization",
            "--offer",
            "--engine",
            "--max-model-len",
        ]
        .map(String::from),
    ) {
        assert!(
            deploy.contains(&format!("{flag} ")) || deploy.contains(&format!("{flag}\n")),
            "`deploy --help` does not explain {flag}"
        );
    }
    for shared in ["--engine-flag", "--dtype", "--gpu-count", "--deploy-mode"] {
        assert!(deploy.contains(shared) && test.contains(shared), "{shared}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_stopped_while_it_starts_is_refused_meanwhile_and_leaves_nothing() {
    let d = dashboard().await;
    let out = cli(
        &d.url,
        &["deploy", "qwen2.5-0.5b", "--max-price", "5", "--json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let started: Value = json(&out);
    let id = started["id"].as_str().unwrap();
    let endpoint = started["endpoint"].as_str().unwrap();
    assert_eq!(endpoint, format!("{}/serve/{id}/v1", d.url));
    assert_eq!(started["page"], format!("{}/deployments/{id}", d.url));
    let key = started["key"]["secret"].as_str().unwrap();
    assert!(key.starts_with("gdk-"), "{started}");
    // It returned at once: the deployment is still being provisioned, and says so.
    let r = crate::support::http()
        .get(format!("{endpoint}/models"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let refusal: Value = r.json().await.unwrap();
    assert_eq!(
        refusal["error"]["code"], "deployment_not_ready",
        "{refusal}"
    );

    let stopped = cli(&d.url, &["stop", id, "--json"]).await;
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.stderr);
    let ended: Deployment = json(&stopped);
    if ended.status != DeploymentStatus::Stopped {
        let store = d.state.dashboard.runner().store();
        let run = store.run(&ended.run_id).await.unwrap().unwrap();
        let logs = store.logs(&ended.run_id, 100).await.unwrap();
        let said: Vec<_> = logs.iter().map(|l| &l.message).collect();
        panic!("{:?}\n{:#?}\n{said:#?}", ended.message, run.steps);
    }
    assert_eq!(
        ended.stop_reason,
        Some(gdl_model::deployments::StopReason::Requested)
    );
    nothing_running(&d).await;
}
