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

#[test]
fn a_rental_is_in_use_only_while_its_run_holds_it() {
    let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
    let mut run = Run::new("r".into(), config, Utc::now());
    run.rentals = serde_json::from_value(serde_json::json!([
        {"attempt": 1, "session_id": "s-1", "created_at": Utc::now(),
         "failure": "provider create failed: no_such_ask", "destroyed": true,
         "offer": {"offer_id": "o", "provider": "vastai", "gpu_type": "L4", "gpu_count": 1,
                   "vram_gb": 24, "price_per_hour": 0.3}},
        {"attempt": 2, "session_id": "s-2", "created_at": Utc::now(),
         "offer": {"offer_id": "p", "provider": "vastai", "gpu_type": "L4", "gpu_count": 1,
                   "vram_gb": 24, "price_per_hour": 0.3}},
    ]))
    .unwrap();
    run.session_id = Some("s-2".into());
    let outcome = |run: &Run, i: usize| run.rental_outcome(&run.rentals[i]);
    assert_eq!(
        outcome(&run, 0),
        RentalOutcome::Failed("provider create failed: no_such_ask".into())
    );
    assert_eq!(run.rentals[0].instance(), InstanceState::Destroyed(None));
    assert_eq!(outcome(&run, 1), RentalOutcome::InUse);
    // Cleanup destroyed it, the run not yet ended: released, no longer in use.
    let at = Utc::now();
    run.rentals[1].record_destroy(true, at);
    assert_eq!(outcome(&run, 1).label(), "released by cleanup");
    assert_eq!(
        run.rentals[1].instance(),
        InstanceState::Destroyed(Some(at))
    );
    // A destroy the broker did not confirm: the test failed, the instance says so.
    run.rentals[1].destroyed = Some(false);
    run.status = RunStatus::Failed;
    assert_eq!(outcome(&run, 1).label(), "test failed");
    assert_eq!(run.rentals[1].instance(), InstanceState::Unconfirmed);
    // Kept at the person's request.
    run.rentals[1].destroyed = None;
    run.cleanup = Some(CleanupOutcome {
        destroyed_confirmed: false,
        kept: true,
        message: "kept".into(),
    });
    assert_eq!(outcome(&run, 1), RentalOutcome::Kept);
    assert_eq!(run.rentals[1].instance(), InstanceState::Running);
}
