//! The binary's command line: `test` runs the pipeline headless, `--help` explains options.

use std::process::Command;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gpu-deploy-llm"))
}

#[test]
fn test_command_runs_the_pipeline_and_prints_json() {
    let data = std::env::temp_dir().join(format!("gdl-cli-{}", uuid::Uuid::new_v4()));
    let out = binary()
        .args([
            "test",
            "--model",
            "qwen2.5-0.5b",
            "--max-price",
            "5",
            "--sim-speed",
            "60",
            "--sim-failure-rate",
            "0",
            "--json",
            "--data-dir",
        ])
        .arg(&data)
        .env_remove("SHOPPER_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(result["run"]["status"], "passed");
    assert_eq!(result["run"]["steps"].as_array().unwrap().len(), 11);
    assert!(
        result["benchmark"]["phases"][0]["ttft_ms"]["p50"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        stderr.contains("11/11 Cleanup Complete"),
        "progress on stderr: {stderr}"
    );
    assert!(
        data.join("gpu-deploy-llm.db").exists(),
        "recorded in the database"
    );
}

#[test]
fn test_command_refuses_bad_input_with_a_hint() {
    let out = binary()
        .args([
            "test",
            "--model",
            "org/model; reboot",
            "--max-price",
            "1",
            "--sim-speed",
            "200",
        ])
        .env_remove("SHOPPER_URL")
        .env(
            "GDL_DATA_DIR",
            std::env::temp_dir().join(format!("gdl-cli-{}", uuid::Uuid::new_v4())),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid_model_id") && stderr.contains("hint:"),
        "{stderr}"
    );
}

#[test]
fn every_command_explains_its_options() {
    for command in ["serve", "simulate", "test"] {
        let out = binary().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(help.contains("Usage: gpu-deploy-llm"), "{command}");
        assert!(
            help.matches("\n  -").count() + help.matches("\n      --").count() >= 2,
            "{command}: {help}"
        );
    }
}

/// A child process killed when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn test_command_passes_against_a_standalone_simulator_over_ssh() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _simulator = Child(
        binary()
            .args(["simulate", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--speed", "60", "--failure-rate", "0", "--seed", "3"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the simulator listens"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let data = std::env::temp_dir().join(format!("gdl-cli-{}", uuid::Uuid::new_v4()));
    let out = binary()
        .args([
            "test",
            "--model",
            "qwen2.5-0.5b",
            "--max-price",
            "5",
            "--json",
        ])
        .args(["--shopper-url", &format!("http://127.0.0.1:{port}")])
        .arg("--allow-private-hosts")
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["run"]["status"], "passed", "{stderr}");
    assert!(
        stderr.contains("SSH connected to root@127.0.0.1:")
            || stderr.contains("SSH connected to user@127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("11/11 Cleanup Complete"), "{stderr}");
}
