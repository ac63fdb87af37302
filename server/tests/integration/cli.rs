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
