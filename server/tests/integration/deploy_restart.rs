//! Deployments across a restart of the dashboard (issue 28), against a broker that outlives
//! it: with the same secret key file the deployment is resumed and serves the same keys;
//! without it, it is stopped (`not_resumed`) and its session destroyed. What is sealed in
//! the database holds neither the SSH key nor the engine's key in clear.

use crate::dashboard::Dashboard;
use crate::deployments::{chat, deployment, reaches};
use crate::recovery::nothing_running;
use crate::support::{eventually, sim};
use gdl_model::deployments::{DeploymentStatus, StopReason};
use gdl_model::ids::DeploymentId;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A dashboard on `data` against `broker`, with `key` as its secret key file.
async fn dashboard(broker: &str, data: &Path, key: Option<&Path>) -> Dashboard {
    let key = key.map(Path::to_path_buf);
    Dashboard::start_custom(Some(broker), data.to_path_buf(), |s| {
        s.broker.allow_private_hosts = true;
        s.deploy.check_every = Duration::from_millis(200);
        s.deploy.restart_wait = Duration::from_millis(200);
        s.deploy.reconnect_wait = Duration::from_millis(200);
        s.deploy.secret_key_file = key;
    })
    .await
}

/// Shuts `d` down as a signal would, and waits until its runs have let go.
async fn shut_down(d: Dashboard) {
    let state = d.state.clone();
    drop(d);
    eventually(Duration::from_secs(60), || async {
        (state.dashboard.runner().active_count() == 0).then_some(())
    })
    .await;
}

/// A key file readable by its owner only.
pub(crate) fn key_file(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("secret.key");
    let hex: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    std::fs::write(&path, hex).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// Every file of the data directory, as bytes.
fn data_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_with_the_secret_key_and_stops_and_destroys_without_it() {
    let broker = sim(60.0).await;
    let url = broker.url();
    let data = std::env::temp_dir().join(format!("gdl-test-{}", uuid::Uuid::new_v4()));
    let keys = std::env::temp_dir().join(format!("gdl-keys-{}", uuid::Uuid::new_v4()));
    let key = key_file(&keys);

    let first = dashboard(&url, &data, Some(&key)).await;
    let (status, started) = crate::runs::post(
        &first,
        "/api/deployments",
        json!({"config": {"model": "qwen2.5-0.5b", "max_price": 5}}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert!(started.get("warning").is_none(), "resumable: {started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let secret = started["key"]["secret"].as_str().unwrap().to_owned();
    let serving = reaches(&first, &id, DeploymentStatus::Serving).await;
    assert!(serving.resumable);
    let (status, body) = chat(&first, &id, &secret, false).await;
    assert_eq!(status, 200, "{body}");

    // Sealed: it opens with the key to the session's PEM and the engine's key, and neither
    // is anywhere in the data directory in clear.
    let dep = DeploymentId::from(id.clone());
    let sealed = first
        .state
        .dashboard
        .runner()
        .store()
        .deployment_secret(&dep)
        .await
        .unwrap()
        .expect("sealed at deploy time");
    let opened = server::deploy::SealKey::load(&key)
        .unwrap()
        .open(&dep, &sealed)
        .unwrap();
    assert!(opened.ssh_key.contains("PRIVATE KEY") && opened.engine_key.len() >= 32);
    let pem_body = opened.ssh_key.lines().nth(1).unwrap().as_bytes().to_vec();
    let engine_key = opened.engine_key.as_bytes().to_vec();
    drop(opened);
    for bytes in [sealed.clone(), data_bytes(&data)] {
        assert!(!contains(&bytes, &pem_body), "the SSH key in clear");
        assert!(!contains(&bytes, &engine_key), "the engine key in clear");
    }

    // 1. Shut down with the key: left serving, nothing destroyed.
    shut_down(first).await;
    let session = serving.session_id.clone().unwrap();
    let active = crate::support::active_sessions(&crate::support::client(&url)).await;
    assert_eq!(active, vec![session.clone()], "left serving");

    // 2. Started again with the same key: resumed, serving the same keys.
    let second = dashboard(&url, &data, Some(&key)).await;
    let resumed = deployment(&second, &id).await;
    assert_eq!(resumed.status, DeploymentStatus::Serving, "{resumed:?}");
    assert_eq!(resumed.session_id, Some(session.clone()));
    let run = crate::runs::run(&second, resumed.run_id.as_str()).await;
    assert_eq!(
        run.status,
        gdl_model::runs::RunStatus::Running,
        "its run stays owned"
    );
    let (status, body) = chat(&second, &id, &secret, false).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat(&second, &id, &secret, true).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let (status, _) = chat(&second, &id, "gdk-wrong", false).await;
    assert_eq!(status, 401);
    shut_down(second).await;

    // 3. Started without the key: stopped, its session destroyed and confirmed.
    let third = dashboard(&url, &data, None).await;
    let stopped = deployment(&third, &id).await;
    assert_eq!(stopped.status, DeploymentStatus::Stopped, "{stopped:?}");
    assert_eq!(stopped.stop_reason, Some(StopReason::NotResumed));
    assert!(
        stopped
            .message
            .as_deref()
            .unwrap_or("")
            .contains("--secret-key-file"),
        "{stopped:?}"
    );
    let stopped = eventually(Duration::from_secs(90), || async {
        let now = deployment(&third, &id).await;
        now.message
            .as_deref()
            .is_some_and(|m| m.contains("confirmed"))
            .then_some(now)
    })
    .await;
    assert!(stopped.ended_at.is_some());
    nothing_running(&third).await;
    let (status, _) = chat(&third, &id, &secret, false).await;
    assert_eq!(status, 410);
    assert!(third
        .state
        .dashboard
        .runner()
        .store()
        .deployment_secret(&dep)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_secret_key_file_others_can_read_or_of_the_wrong_size_is_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("gdl-keys-{}", uuid::Uuid::new_v4()));
    let key = key_file(&dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut settings = server::Settings::local(dir.join("data"), Default::default());
        settings.deploy.secret_key_file = Some(key.clone());
        let refused = server::start(settings).await.err().unwrap().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
    }
    let short = dir.join("short.key");
    std::fs::write(&short, "abcd").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut settings = server::Settings::local(dir.join("data"), Default::default());
    settings.deploy.secret_key_file = Some(short);
    let refused = server::start(settings).await.err().unwrap().to_string();
    assert!(refused.contains("64 hexadecimal characters"), "{refused}");
}
