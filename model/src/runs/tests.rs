use super::*;

#[test]
fn config_defaults_and_rejects_unknown_fields() {
    let c: TestConfig =
        serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":0.5}"#).unwrap();
    assert_eq!(c.reservation_hours, 1);
    assert!(!c.keep_on_failure);
    assert_eq!(c.deploy_mode, DeployMode::Docker);
    assert!(
        serde_json::from_str::<TestConfig>(r#"{"model":"x","max_price":1,"surprise":1}"#).is_err()
    );
}

#[test]
fn deploy_modes_parse_as_they_serialise() {
    for mode in DeployMode::ALL {
        let json = serde_json::to_string(&mode).unwrap();
        assert_eq!(json, format!("\"{}\"", mode.as_str()));
        assert_eq!(DeployMode::parse(mode.as_str()), Some(mode));
    }
    assert_eq!(DeployMode::parse("kubernetes"), None);
    assert!(DeployMode::Entrypoint.broker_launched() && !DeployMode::Pip.broker_launched());
}

#[test]
fn a_new_run_has_eleven_pending_steps() {
    let run = Run::new(
        "r".into(),
        serde_json::from_str(r#"{"model":"m/x-1B","max_price":1}"#).unwrap(),
        Utc::now(),
    );
    assert_eq!(run.steps.len(), 11);
    assert!(run.steps.iter().all(|s| s.status == StepStatus::Pending));
    assert_eq!(StepName::parse("install_vllm"), Some(StepName::InstallVllm));
}
