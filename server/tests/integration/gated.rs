//! Gated and private models (issue 27): step 1 asks the Hub (the embedded simulator's fake
//! one) whether the model is gated; a gated Llama preset without a token is refused before
//! anything is rented (`model_gated`), with a token the Hub refuses too
//! (`model_access_denied`); with the right token it deploys, and the token shows nowhere:
//! not in the store's bytes, the logs, the run's JSON, the live channel, the pages, nor any
//! command line the host ran. A Hub that cannot be asked is a warning (a preset the model
//! registry knows to be gated is still refused without a token), and the host's refused
//! download is `model_access_denied`.

use crate::dashboard::Dashboard;
use crate::support::{eventually, in_own_process};
use futures::StreamExt;
use gdl_model::secret::HfToken;
use gdl_model::shopper::SessionQuery;
use serde_json::{json, Value};
use std::time::Duration;

/// The token the fake Hub accepts.
const RIGHT: &str = "hf_SimRightToken0123456789abcdef";
const WRONG: &str = "hf_SimWrongToken9876543210fedcba";

/// A dashboard on the embedded simulator, whose Hub accepts [`RIGHT`]; given `token`, the
/// dashboard reads it from a 0600 file, as `--hf-token-file` does; `hub` replaces the Hub.
async fn dashboard(token: Option<&str>, hub: Option<&str>) -> Dashboard {
    let data_dir = std::env::temp_dir().join(format!("gdl-gated-{}", uuid::Uuid::new_v4()));
    let token_file = token.map(|token| {
        let dir = data_dir.with_extension("secrets");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hf_token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        file
    });
    Dashboard::start_custom(None, data_dir, |s| {
        s.sim_mut().hub_token = Some(HfToken::parse(RIGHT).unwrap());
        s.sim_mut().ghosts = false;
        s.hub.token_file = token_file;
        s.hub.endpoint = hub.map(str::to_owned);
    })
    .await
}

/// Starts a run of `config` and waits for its end.
async fn run(d: &Dashboard, config: Value) -> Value {
    let r = d
        .http
        .post(format!("{}/api/runs", d.url))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The status is set after cleanup.
    eventually(Duration::from_secs(120), || async {
        let r: Value = d
            .get(&format!("/api/runs/{id}"))
            .await
            .json()
            .await
            .unwrap();
        (r["status"] != "running").then_some(r)
    })
    .await
}

/// The run's log lines, joined.
async fn log_of(d: &Dashboard, run: &Value) -> String {
    let id = run["id"].as_str().unwrap();
    d.get(&format!("/api/runs/{id}/logs"))
        .await
        .text()
        .await
        .unwrap()
}

/// Asserts the run ended at step 1 with `code`, and that nothing was rented.
async fn refused_before_renting(d: &Dashboard, run: &Value, code: &str) {
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error_code"], code, "{run}");
    assert_eq!(run["steps"][0]["name"], "calculate_requirements");
    assert_eq!(run["steps"][0]["code"], code, "{run}");
    assert!(run["session_id"].is_null(), "no session: {run}");
    let sessions = d
        .broker()
        .list_sessions(&SessionQuery::default())
        .await
        .unwrap();
    assert!(
        sessions.sessions.is_empty(),
        "nothing at the broker: {:?}",
        sessions.sessions
    );
    let sim = d.state.simulator.as_ref().unwrap().simulator();
    assert_eq!(sim.ssh_stats().logins, 0);
    assert!(sim.host_commands().is_empty());
}

#[tokio::test]
async fn a_gated_model_without_a_token_is_refused_before_renting() {
    let d = dashboard(None, None).await;
    let run = run(&d, json!({"model": "llama3.2-1b", "max_price": 5})).await;
    refused_before_renting(&d, &run, "model_gated").await;
    let hint = run["steps"][0]["hint"].as_str().unwrap();
    assert!(
        hint.contains("--hf-token-file") && hint.contains("HF_TOKEN") && hint.contains("licence"),
        "{hint}"
    );
    assert!(
        hint.contains("/meta-llama/Llama-3.2-1B-Instruct"),
        "the model's page: {hint}"
    );
    assert!(run["steps"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("gated (manual)"));
    // A Hub that cannot be asked: the registry knows the preset is gated.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = dashboard(None, Some(&unreachable)).await;
    let known = self::run(&offline, json!({"model": "llama3.2-1b", "max_price": 5})).await;
    refused_before_renting(&offline, &known, "model_gated").await;
    assert!(log_of(&offline, &known)
        .await
        .contains("could not ask the Hub"));
    // A model that is not gated goes on to rent.
    let open = self::run(&d, json!({"model": "qwen2.5-0.5b", "max_price": 5})).await;
    assert_eq!(open["status"], "passed", "{open}");
    assert!(log_of(&d, &open).await.contains("as public (not gated)"));
}

#[tokio::test]
async fn a_token_the_hub_refuses_is_model_access_denied_before_renting() {
    let d = dashboard(Some(WRONG), None).await;
    let run = run(&d, json!({"model": "llama3.2-1b", "max_price": 5})).await;
    refused_before_renting(&d, &run, "model_access_denied").await;
    assert!(run["steps"][0]["hint"]
        .as_str()
        .unwrap()
        .contains("accepted the licence"));
}

#[tokio::test]
async fn the_hosts_refused_download_is_model_access_denied() {
    // The Hub cannot be asked (a closed port): the run says so and rents; the host's
    // engine (pip mode: the token exported from the file) is refused by the Hub.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hub = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let d = dashboard(Some(WRONG), Some(&hub)).await;
    let run = run(
        &d,
        json!({"model": "llama3.2-1b", "max_price": 5, "deploy_mode": "pip"}),
    )
    .await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error_code"], "model_access_denied", "{run}");
    let install = &run["steps"][7];
    assert_eq!(install["code"], "model_access_denied", "{run}");
    assert!(
        install["reason"]
            .as_str()
            .unwrap()
            .contains("GatedRepoError: 401"),
        "{run}"
    );
    assert!(install["hint"]
        .as_str()
        .unwrap()
        .contains("accept the model's licence"));
    let log = log_of(&d, &run).await;
    assert!(
        log.contains("could not ask the Hub") && log.contains("going on"),
        "{log}"
    );
    assert_eq!(run["steps"][10]["status"], "complete", "cleaned up: {run}");
    let sim = d.state.simulator.as_ref().unwrap().simulator();
    assert!(
        sim.handed_secrets().iter().any(|s| s == WRONG),
        "the host got the token"
    );
}

/// Every text frame of the live channel, from before the run to the end of the test.
async fn listen(d: &Dashboard) -> tokio::sync::watch::Receiver<String> {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}/ws", d.url.replace("http", "ws")))
            .await
            .unwrap();
    let (tx, rx) = tokio::sync::watch::channel(String::new());
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                tx.send_modify(|all| all.push_str(text.as_str()));
            }
        }
    });
    rx
}

#[tokio::test]
async fn with_the_token_a_gated_model_deploys_and_the_token_shows_nowhere() {
    // The log capture is process-wide and at TRACE (see `secrets`).
    if !in_own_process("gated::with_the_token_a_gated_model_deploys_and_the_token_shows_nowhere")
        .await
    {
        return;
    }
    let logs = crate::secrets::captured();
    let d = dashboard(Some(RIGHT), None).await;
    let live = listen(&d).await;
    let run = run(&d, json!({"model": "llama3.2-1b", "max_price": 5})).await;
    assert_eq!(run["status"], "passed", "{run}");
    let log = log_of(&d, &run).await;
    assert!(log.contains("is gated (manual) on the Hub"), "{log}");
    let sim = d.state.simulator.as_ref().unwrap().simulator();
    assert!(
        sim.handed_secrets().iter().any(|s| s == RIGHT),
        "the host's engine was given the token"
    );
    let commands = sim.host_commands();
    assert!(
        commands
            .iter()
            .any(|c| c.contains("--env-file .gdl/engine.env"))
            && commands
                .iter()
                .any(|c| c.starts_with("rm -f .gdl/engine.env")),
        "{commands:?}"
    );

    let mut places: Vec<(String, String)> = Vec::new();
    for c in commands {
        places.push(("a command line the host ran (`ps`)".into(), c));
    }
    let id = run["id"].as_str().unwrap();
    places.push(("the run's JSON".into(), run.to_string()));
    places.push(("the run's log".into(), log));
    for path in [
        "/",
        "/runs",
        &format!("/runs/{id}"),
        "/api/runs",
        "/benchmarks",
        "/api/benchmarks",
    ] {
        places.push((path.to_owned(), d.get(path).await.text().await.unwrap()));
    }
    places.push((
        "live state".into(),
        serde_json::to_string(&d.state.dashboard.hub().clone_state()).unwrap(),
    ));
    let frames = live.borrow().clone();
    assert!(frames.contains(id), "the live channel saw the run");
    places.push(("the live channel".into(), frames));
    for entry in std::fs::read_dir(&d.data_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        places.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    let captured = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        captured.contains("embedded broker simulator started"),
        "the capture works"
    );
    places.push(("logs".into(), captured));
    // Any 12 characters of the token.
    let parts: Vec<String> = RIGHT
        .chars()
        .collect::<Vec<_>>()
        .windows(12)
        .map(|w| w.iter().collect())
        .collect();
    for (place, text) in &places {
        if let Some(part) = parts.iter().find(|p| text.contains(p.as_str())) {
            panic!("the Hub token ({part}…) in {place}");
        }
    }
}

/// `gpu-deploy-llm test` asks the embedded simulator's Hub too, and takes the token from
/// `HF_TOKEN`; the token is in none of its output.
#[test]
fn the_test_command_refuses_a_gated_model_until_hf_token_is_set() {
    use crate::process::{binary, data_dir, output_within};
    let test = |token: Option<&str>| {
        let mut command = binary();
        command
            .env_remove("HF_ENDPOINT")
            .args([
                "test",
                "--model",
                "llama3.2-1b",
                "--max-price",
                "5",
                "--json",
            ])
            .args(["--sim-speed", "60", "--sim-failure-rate", "0", "--data-dir"])
            .arg(data_dir());
        if let Some(token) = token {
            command.env("HF_TOKEN", token);
        }
        output_within(&mut command, Duration::from_secs(180))
    };
    let refused = test(None);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stderr);
    let result: Value = serde_json::from_str(&refused.stdout).unwrap();
    assert_eq!(result["run"]["error_code"], "model_gated");
    assert!(
        refused.stderr.contains("HF_TOKEN"),
        "the hint: {}",
        refused.stderr
    );
    let token = "hf_CliEnvToken0123456789";
    let passed = test(Some(token));
    assert_eq!(passed.status.code(), Some(0), "{}", passed.stderr);
    let result: Value = serde_json::from_str(&passed.stdout).unwrap();
    assert_eq!(result["run"]["status"], "passed");
    assert!(!passed.stdout.contains(token) && !passed.stderr.contains(token));
}

/// The host's process list over the session's own SSH, while the engine serves a gated
/// model with the token: the engine's command line is there, the token is not, and the
/// file that carried it is gone.
#[tokio::test]
async fn ps_on_the_host_does_not_show_the_token() {
    use gdl_model::runs::StepName;
    use gdl_model::secret::SshPrivateKey;
    use server::runner::host::RemoteHost;
    use server::runner::ssh::{SshAddress, SshHost};
    let d = dashboard(Some(RIGHT), None).await;
    // Kept after a failure at the benchmark: the engine still serves on the host.
    d.state
        .dashboard
        .runner()
        .inject_failure(Some(StepName::Benchmark));
    let run = run(
        &d,
        json!({"model": "llama3.2-1b", "max_price": 5, "keep_on_failure": true}),
    )
    .await;
    assert_eq!(run["steps"][7]["status"], "complete", "{run}");
    assert_eq!(run["error_code"], "injected_failure", "{run}");
    let session = d
        .broker()
        .get_session(run["session_id"].as_str().unwrap())
        .await
        .unwrap();
    let sim = d.state.simulator.as_ref().unwrap().simulator();
    let keys = sim.issued_keys();
    assert_eq!(keys.len(), 1, "one rental");
    let address = SshAddress {
        host: session.ssh_host.clone().unwrap(),
        port: session.ssh_port.unwrap(),
        user: session.ssh_user.clone().unwrap(),
    };
    let key = SshPrivateKey::new(keys[0].clone());
    let host = SshHost::connect(&address, &key, Duration::from_secs(10), &Default::default())
        .await
        .unwrap();
    let limit = Duration::from_secs(10);
    let ps = host.exec("ps aux", limit).await.unwrap().stdout;
    assert!(
        ps.contains("python3 -m vllm.entrypoints.openai.api_server --model meta-llama/Llama-3.2-1B-Instruct"),
        "the engine runs: {ps}"
    );
    assert!(!ps.contains(&RIGHT[..12]), "{ps}");
    assert!(!host
        .exec("ps -eo args", limit)
        .await
        .unwrap()
        .stdout
        .contains(&RIGHT[..12]));
    let file = host.exec("cat .gdl/engine.env", limit).await.unwrap();
    assert_eq!(file.exit_code, 1, "the file was removed after the start");
}
