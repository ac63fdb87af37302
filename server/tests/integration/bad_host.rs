//! A bad host is replaced, not fatal (issue 27): a host whose driver turns out older than
//! its offer listed (the simulator's `host_driver_cuda` fault) is given back after Diagnose
//! host and the next offer rented, within `--max-rentals`.

use crate::dashboard::Dashboard;
use crate::recovery::{log_has, nothing_running};
use crate::runs::{finished, start, SMALL};
use gdl_model::code::ErrorCode;
use gdl_model::runs::{RunStatus, StepName};

#[tokio::test]
async fn a_host_whose_driver_is_too_old_is_replaced_by_the_next_offer() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| {
        f.host_driver_cuda = Some(12.4);
        f.host_driver_hosts = 1;
    });
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert_eq!(done.rentals.len(), 2, "{:#?}", done.rentals);
    let bad = &done.rentals[0];
    let failure = bad.failure.clone().unwrap_or_default();
    assert!(
        failure.contains("cannot run vLLM 0.31.0: driver supports CUDA 12.4, needs 13.0"),
        "{failure}"
    );
    assert!(failure.contains(bad.offer.offer_id.as_str()), "{failure}");
    assert_eq!(bad.destroyed, Some(true), "given back, confirmed");
    assert!(bad.ended_at.is_some());
    let used = &done.rentals[1];
    assert!(used.failure.is_none() && used.destroyed == Some(true));
    assert_ne!(bad.offer.offer_id, used.offer.offer_id);
    assert_eq!(done.session_id.as_deref(), Some(used.session_id.as_str()));
    assert!(log_has(
        &d,
        &id,
        "giving it back and renting the next offer (rental 2 of at most 3)"
    ));
    let diagnose = done
        .steps
        .iter()
        .find(|s| s.name == StepName::DiagnoseHost)
        .and_then(|s| s.detail.clone())
        .unwrap_or_default();
    assert!(
        diagnose.contains(used.offer.offer_id.as_str()) && diagnose.contains("given back before"),
        "{diagnose}"
    );
    // The engine ran on the second host: its driver is the one its offer listed.
    let host = done.host.clone().unwrap();
    assert_ne!(host.cuda_version.as_deref(), Some("12.4"), "{host:?}");
    nothing_running(&d).await;
}

#[tokio::test]
async fn when_every_host_is_bad_the_run_fails_host_unsuitable_after_max_rentals() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| {
        f.host_driver_cuda = Some(12.2);
        f.host_driver_hosts = 10;
    });
    // Keep on failure keeps nothing here: every host was given back when found unsuitable.
    let id = start(
        &d,
        serde_json::json!({"model": "qwen2.5-0.5b", "max_price": 5, "keep_on_failure": true}),
    )
    .await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed);
    assert_eq!(
        done.error_code,
        Some(ErrorCode::HostUnsuitable),
        "{:?}",
        done.error
    );
    assert_eq!(
        done.rentals.len(),
        3,
        "the default --max-rentals: {:#?}",
        done.rentals
    );
    for rental in &done.rentals {
        let failure = rental.failure.clone().unwrap_or_default();
        assert!(failure.contains("driver supports CUDA 12.2"), "{failure}");
        assert_eq!(rental.destroyed, Some(true), "{rental:?}");
    }
    let diagnose = done
        .steps
        .iter()
        .find(|s| s.name == StepName::DiagnoseHost)
        .unwrap();
    assert_eq!(diagnose.code, Some(ErrorCode::HostUnsuitable));
    assert!(diagnose
        .reason
        .clone()
        .unwrap_or_default()
        .contains("3 rental(s), the most this run may make"));
    let install = done
        .steps
        .iter()
        .find(|s| s.name == StepName::InstallVllm)
        .unwrap();
    assert_eq!(install.status, gdl_model::runs::StepStatus::Skipped);
    let cleanup = done.cleanup.clone().unwrap();
    assert!(cleanup.destroyed_confirmed && !cleanup.kept, "{cleanup:?}");
    nothing_running(&d).await;
}

#[tokio::test]
async fn a_host_whose_gpu_is_not_visible_is_replaced() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.hosts_without_driver = 1);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert_eq!(done.rentals.len(), 2, "{:#?}", done.rentals);
    let failure = done.rentals[0].failure.clone().unwrap_or_default();
    assert!(failure.contains("no GPU is visible"), "{failure}");
    assert_eq!(done.rentals[0].destroyed, Some(true));
    assert!(log_has(&d, &id, "nvidia-smi is missing or failed"));
    nothing_running(&d).await;
}
