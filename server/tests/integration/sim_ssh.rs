//! The simulated cloud over real SSH: every session the simulator rents has its own SSH
//! port that accepts only that session's one-time key, runs commands on the simulated GPU
//! host with streamed output and exit codes, and forwards ports to its vLLM. Runs reach it
//! through russh, the same code as a real cloud, embedded or standalone.

use crate::dashboard::Dashboard;
use crate::runs::finished;
use crate::support::{client, eventually, rentable_offer, request, sim};
use gdl_model::code::ErrorCode;
use gdl_model::runs::{Run, RunStatus, StepName, StepStatus};
use gdl_model::secret::SshPrivateKey;
use gdl_model::shopper::{CreateSessionResponse, SessionStatus};
use server::runner::host::{HostError, RemoteHost};
use server::runner::loadgen::{self, Target};
use server::runner::ssh::{SshAddress, SshHost};
use server::shopper::ShopperClient;
use server::simulator::SimServer;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Creates a session and waits until the broker reports it running; returns it with its key.
/// It reserves the broker's maximum, 12 hours: at these speeds one hour lasts seconds, and
/// a reservation that expires mid-test cuts its SSH (a flake seen on a loaded machine).
async fn running(
    server: &SimServer,
    c: &ShopperClient,
) -> (SshAddress, SshPrivateKey, gdl_model::ids::SessionId) {
    let offer = rentable_offer(server, c).await;
    let mut twelve_hours = request(c.consumer_id(), &offer);
    twelve_hours.reservation_hours = 12;
    let CreateSessionResponse {
        session,
        ssh_private_key,
        ..
    } = c
        .create_session(&twelve_hours)
        .await
        .expect("create succeeds");
    let s = eventually(Duration::from_secs(20), || async {
        let s = c.get_session(&session.id).await.unwrap();
        (s.status == SessionStatus::Running).then_some(s)
    })
    .await;
    let address = SshAddress {
        host: s.ssh_host.clone().expect("an SSH host once running"),
        port: s.ssh_port.unwrap(),
        user: s.ssh_user.clone().unwrap(),
    };
    (address, ssh_private_key, s.id)
}

/// Whether the host runs `echo` and answers.
async fn echoes(host: &SshHost) -> bool {
    let out = host.exec("echo ok", Duration::from_secs(5)).await.unwrap();
    out.stdout == "ok\n" && out.exit_code == 0
}

async fn login(address: &SshAddress, key: &SshPrivateKey) -> Result<SshHost, HostError> {
    SshHost::connect(address, key, Duration::from_secs(10), &Default::default()).await
}

#[tokio::test]
async fn each_session_has_its_own_ssh_port_and_key() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let (a, key_a, _) = running(&server, &c).await;
    assert_eq!(
        a.host, "127.0.0.1",
        "the simulator stands behind it on loopback"
    );
    assert!(
        key_a
            .expose_pem()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "a real PKCS#1 key, as the broker issues"
    );
    let host = login(&a, &key_a).await.expect("the session's key logs in");
    assert!(echoes(&host).await);

    // A second session: its key does not open the first one's host, nor a made-up key.
    let second_offer = {
        let offers = c.inventory_all(&Default::default()).await.unwrap();
        offers
            .into_iter()
            .filter(|o| server.simulator().is_rentable(&o.id))
            .nth(1)
            .unwrap()
    };
    let other = c
        .create_session(&crate::support::request(c.consumer_id(), &second_offer))
        .await
        .unwrap();
    let err = login(&a, &other.ssh_private_key).await.err().unwrap();
    assert!(matches!(err, HostError::AuthRefused { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::SshAuthRefused);
    let wrong_user = SshAddress {
        user: "admin".into(),
        ..a.clone()
    };
    assert!(matches!(
        login(&wrong_user, &key_a).await.err().unwrap(),
        HostError::AuthRefused { .. }
    ));
    let garbage = SshPrivateKey::new(
        "-----BEGIN RSA PRIVATE KEY-----\nSIMULATED\n-----END RSA PRIVATE KEY-----\n".into(),
    );
    let err = login(&a, &garbage).await.err().unwrap();
    assert_eq!(err.code(), ErrorCode::SshKeyInvalid, "{err}");
    let stats = server.simulator().ssh_stats();
    assert!(stats.logins >= 1 && stats.refused >= 2, "{stats:?}");
}

#[tokio::test]
async fn exec_streams_output_with_real_exit_codes() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let (address, key, _) = running(&server, &c).await;
    let host = login(&address, &key).await.unwrap();
    let out = host
        .exec("echo hello; echo oops >&2; exit 3", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.exit_code),
        ("hello\n", "oops\n", 3)
    );
    let missing = host.exec("rocm-smi", Duration::from_secs(5)).await.unwrap();
    assert_eq!(missing.exit_code, 127);
    assert!(missing.stderr.contains("command not found"));
    let gpus = host
        .exec(
            server::runner::steps::diagnose::NVIDIA_QUERY,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(gpus.exit_code, 0);
    assert!(gpus.stdout.starts_with("NVIDIA "), "{}", gpus.stdout);

    // A pull reports as it goes: the lines arrive spread over its time, not at the end.
    let arrivals = Mutex::new(Vec::new());
    let on_line = |line: &str| {
        arrivals
            .lock()
            .unwrap()
            .push((Instant::now(), line.to_owned()))
    };
    let started = Instant::now();
    let pulled = host
        .exec_streaming(
            "docker pull vllm/vllm-openai:v0.6.4",
            Duration::from_secs(30),
            &on_line,
        )
        .await
        .unwrap();
    let total = started.elapsed();
    assert_eq!(pulled.exit_code, 0);
    let arrivals = arrivals.into_inner().unwrap();
    let progress: Vec<_> = arrivals
        .iter()
        .filter(|(_, l)| l.starts_with("Downloading:"))
        .collect();
    assert_eq!(progress.len(), 10, "{arrivals:?}");
    assert!(
        progress[0].0 - started < total / 2,
        "the first progress line came while the pull was still running"
    );
}

#[tokio::test]
async fn a_port_forward_reaches_the_sessions_model_server() {
    let server = sim(500.0).await;
    let c = client(&server.url());
    let (address, key, _) = running(&server, &c).await;
    let host = login(&address, &key).await.unwrap();
    let t = Duration::from_secs(30);
    assert_eq!(
        host.exec("docker pull vllm/vllm-openai:v0.6.4", t)
            .await
            .unwrap()
            .exit_code,
        0
    );
    let start = "VLLM_API_KEY='fwd-key' docker run -d --gpus all --name vllm-server -p 127.0.0.1:8000:8000 -e VLLM_API_KEY vllm/vllm-openai:v0.6.4 --model 'Qwen/Qwen2.5-0.5B-Instruct' --served-model-name 'qwen2.5-0.5b' --port 8000";
    assert_eq!(host.exec(start, t).await.unwrap().exit_code, 0);
    let health = "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://localhost:8000/health";
    eventually(Duration::from_secs(20), || async {
        (host.exec(health, t).await.unwrap().stdout == "200").then_some(())
    })
    .await;
    let local = host.forward(8000).await.unwrap();
    let http = crate::support::http();
    let target = Target {
        base_url: format!("http://{local}"),
        api_key: zeroize::Zeroizing::new("fwd-key".into()),
        model: "qwen2.5-0.5b".into(),
    };
    let models: serde_json::Value = http
        .get(format!("{}/v1/models", target.base_url))
        .bearer_auth("fwd-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "qwen2.5-0.5b");
    let (sample, text) =
        loadgen::stream_one(&http, &target, "What is 15 + 27?", 8, Instant::now()).await;
    assert!(
        sample.error.is_none() && text.contains("42"),
        "{sample:?} {text:?}"
    );
    assert!(server.simulator().ssh_stats().forwards >= 1);
    // Port 8001 has nothing behind it: the forward's connections are refused.
    let nothing = host.forward(8001).await.unwrap();
    assert!(http
        .get(format!("http://{nothing}/health"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn destroying_the_session_closes_its_ssh_port() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let (address, key, id) = running(&server, &c).await;
    let host = login(&address, &key).await.unwrap();
    c.delete_session(&id).await.unwrap();
    let err = host
        .exec("echo still there", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SshDisconnected, "{err}");
    let err = login(&address, &key).await.err().unwrap();
    assert_eq!(err.code(), ErrorCode::SshConnectionRefused, "{err}");
}

async fn start_run(d: &Dashboard) -> String {
    crate::runs::start(d, serde_json::from_str(crate::runs::SMALL).unwrap()).await
}

#[tokio::test]
async fn the_embedded_default_runs_through_russh() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().expect("the embedded simulator");
    let before = sim.simulator().ssh_stats();
    let id = start_run(&d).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    let after = sim.simulator().ssh_stats();
    assert!(
        after.logins > before.logins,
        "the SSH server saw the login: {after:?}"
    );
    assert!(
        after.execs >= 20,
        "every host command went through an exec channel: {after:?}"
    );
    assert!(
        after.forwards >= 1,
        "verify and benchmark went through the tunnel: {after:?}"
    );
    let session = d
        .broker()
        .get_session(done.session_id.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Stopped);
}

#[tokio::test]
async fn a_standalone_simulator_behind_serve_passes_all_eleven_steps() {
    // `gpu-deploy-llm simulate` in one place, `serve --shopper-url` in another.
    let broker = sim(60.0).await;
    let dir = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    let d = Dashboard::start_custom(Some(&broker.url()), dir, |s| {
        s.broker.allow_private_hosts = true
    })
    .await;
    assert!(d.state.simulator.is_none(), "no embedded simulator");
    let id = start_run(&d).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert!(done.steps.iter().all(|s| s.status == StepStatus::Complete));
    assert!(broker.simulator().ssh_stats().logins >= 1);
    assert!(
        done.host_key.unwrap().starts_with("SHA256:"),
        "the host key is recorded"
    );
}

#[tokio::test]
async fn a_brokers_private_ssh_address_is_refused_unless_allowed() {
    let broker = sim(60.0).await;
    let d = Dashboard::start(Some(&broker.url())).await;
    let id = start_run(&d).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed);
    let failed = done
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .unwrap();
    assert_eq!(failed.name, StepName::ConnectSsh);
    assert_eq!(failed.code, Some(ErrorCode::SshHostPrivate), "{failed:?}");
    assert!(failed
        .hint
        .as_deref()
        .unwrap()
        .contains("--allow-private-hosts"));
    assert_eq!(
        broker.simulator().ssh_stats().connections,
        0,
        "nothing was sent there"
    );
    assert!(done.cleanup.unwrap().destroyed_confirmed);
}

#[tokio::test]
async fn the_host_key_is_trusted_on_first_use_and_a_change_refused() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let (address, key, _) = running(&server, &c).await;
    let pin = server::runner::ssh::HostKeyPin::default();
    SshHost::connect(&address, &key, Duration::from_secs(10), &pin)
        .await
        .unwrap();
    let first = pin.fingerprint().expect("pinned on first use");
    SshHost::connect(&address, &key, Duration::from_secs(10), &pin)
        .await
        .expect("the same key again");
    let other = server::runner::ssh::HostKeyPin::pinned("SHA256:someone-else");
    let err = SshHost::connect(&address, &key, Duration::from_secs(10), &other)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), ErrorCode::HostKeyChanged, "{err}");
    assert!(err.to_string().contains(&first), "{err}");
    assert_eq!(
        server.simulator().ssh_stats().logins,
        2,
        "no login to a changed host"
    );
}

#[tokio::test]
async fn ssh_going_down_mid_run_fails_the_step_with_a_typed_reason_and_cleanup_runs() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    let id = start_run(&d).await;
    eventually(Duration::from_secs(60), || async {
        let r: Run = d
            .get(&format!("/api/runs/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let step = r
            .steps
            .iter()
            .find(|s| s.name == StepName::InstallVllm)
            .unwrap();
        (step.status == StepStatus::Running).then_some(())
    })
    .await;
    sim.simulator().set_ssh_down(true);
    let done = finished(&d, &id).await;
    sim.simulator().set_ssh_down(false);
    assert_eq!(done.status, RunStatus::Failed);
    let failed = done
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .unwrap();
    assert_eq!(failed.name, StepName::InstallVllm);
    assert_eq!(failed.code, Some(ErrorCode::SshDisconnected), "{failed:?}");
    assert!(failed.hint.is_some());
    assert_eq!(done.error_code, Some(ErrorCode::SshDisconnected));
    let cleanup = done
        .steps
        .iter()
        .find(|s| s.name == StepName::Cleanup)
        .unwrap();
    assert_eq!(cleanup.status, StepStatus::Complete);
    assert!(done.cleanup.unwrap().destroyed_confirmed);
    assert!(sim.simulator().ssh_stats().cut >= 1);
}

#[tokio::test]
async fn ssh_goes_down_and_comes_back_over_the_control_route() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let (address, key, _) = running(&server, &c).await;
    let host = login(&address, &key).await.unwrap();
    let http = crate::support::http();
    let set = |down: bool| {
        http.post(format!("{}/_sim/ssh", server.url()))
            .json(&serde_json::json!({ "down": down }))
            .send()
    };
    let reply: serde_json::Value = set(true).await.unwrap().json().await.unwrap();
    assert_eq!(reply["down"], true);
    assert!(reply["stats"]["logins"].as_u64().unwrap() >= 1);
    let err = host
        .exec("echo hi", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SshDisconnected, "{err}");
    let err = login(&address, &key).await.err().unwrap();
    assert_eq!(
        err.code(),
        ErrorCode::SshDisconnected,
        "closed on arrival: {err}"
    );
    set(false).await.unwrap();
    let back = login(&address, &key).await.expect("SSH is back");
    assert!(echoes(&back).await);
}

#[tokio::test]
async fn a_flood_of_output_is_kept_to_its_tail_with_lines_cut_short() {
    let server = sim(500.0).await;
    let c = client(&server.url());
    let (address, key, _) = running(&server, &c).await;
    let host = login(&address, &key).await.unwrap();
    server
        .simulator()
        .update_faults(|f| f.host_flood_lines = 200_000);
    let longest = Mutex::new(0usize);
    let count = Mutex::new(0usize);
    let on_line = |line: &str| {
        *count.lock().unwrap() += 1;
        let mut l = longest.lock().unwrap();
        *l = (*l).max(line.len());
    };
    let out = host
        .exec_streaming(
            "docker pull vllm/vllm-openai:v0.6.4",
            Duration::from_secs(60),
            &on_line,
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(
        out.stdout.len() < 200 * 1024,
        "{} bytes kept",
        out.stdout.len()
    );
    assert!(out.stdout.contains("earlier bytes omitted"));
    assert!(out
        .stdout
        .ends_with("Status: Downloaded newer image for vllm/vllm-openai:v0.6.4\n"));
    assert!(*count.lock().unwrap() > 200_000, "every line was seen");
    assert!(
        *longest.lock().unwrap() <= 2 * 1024 + 64,
        "the 10 MB line was cut"
    );
}

#[tokio::test]
async fn a_connection_goes_to_the_address_resolved_once_not_to_a_new_answer() {
    let server = sim(200.0).await;
    let c = client(&server.url());
    let (address, key, _) = running(&server, &c).await;
    let at = address
        .resolve()
        .await
        .expect("the simulator's address resolves")[0];
    // The same host under a name that resolves to nothing now (as a rebinding name may
    // answer differently later): connecting to the checked address needs no new answer.
    let renamed = SshAddress {
        host: "rented-host.invalid".into(),
        ..address.clone()
    };
    let err = renamed
        .resolve()
        .await
        .expect_err("the name does not resolve");
    assert_eq!(err.code(), ErrorCode::SshUnreachable);
    let host = SshHost::connect_at(
        at,
        &renamed,
        &key,
        Duration::from_secs(10),
        &Default::default(),
    )
    .await
    .expect("logs in at the checked address");
    assert!(echoes(&host).await);
}
