//! Failures inside a step's work, not before it: an offer gone at the provider, SSH that is
//! not up yet, the broker going away mid-wait, provisionings failing at the simulator's
//! realistic rates. Each run ends the way it should, and nothing is left running.

use crate::dashboard::Dashboard;
use crate::runs::{finished, run, start, SMALL};
use crate::support::eventually;
use gdl_model::code::ErrorCode;
use gdl_model::runs::{RunStatus, StepName, StepStatus};
use std::time::Duration;

pub fn log_has(d: &Dashboard, id: &str, text: &str) -> bool {
    d.state.dashboard.hub().with_state(|s| {
        s.logs
            .get(id)
            .is_some_and(|l| l.iter().any(|l| l.message.contains(text)))
    })
}

/// Nothing of ours is left active at the broker.
pub async fn nothing_running(d: &Dashboard) {
    let active = crate::support::active_sessions(&d.broker()).await;
    assert_eq!(active, Vec::<String>::new(), "left running");
}

pub async fn step_running(d: &Dashboard, id: &str, name: StepName) {
    eventually(Duration::from_secs(60), || async {
        let r = run(d, id).await;
        let step = r.steps.iter().find(|s| s.name == name).unwrap();
        assert!(!r.status.is_finished(), "finished before {name:?}: {r:?}");
        (step.status == StepStatus::Running).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_offer_gone_at_the_provider_is_replaced_by_the_next_best() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| f.stale_creates = 1);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert!(log_has(&d, &id, "is gone at the provider"));
    assert!(log_has(&d, &id, "Next best:"));
    assert!(log_has(&d, &id, "(attempt 2/"));
    assert_eq!(done.rentals.len(), 1, "the gone offer rented nothing");
    nothing_running(&d).await;
}

#[tokio::test]
async fn an_offer_gone_from_the_listing_since_it_was_read_is_replaced_too() {
    // The broker refreshed its inventory cache between our read and our create: 404
    // `offer not found`, nothing created. (Found by the browser suite at speed 40.)
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().update_faults(|f| f.vanishing_offers = 1);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert!(log_has(&d, &id, "offer not found"));
    assert!(log_has(&d, &id, "Next best:"));
    assert_eq!(done.rentals.len(), 1);
    nothing_running(&d).await;
}

#[tokio::test]
async fn ssh_is_retried_while_the_host_comes_up() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator().set_ssh_down(true);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    eventually(Duration::from_secs(60), || async {
        log_has(&d, &id, "SSH attempt 1 to").then_some(())
    })
    .await;
    sim.simulator().set_ssh_down(false);
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert!(log_has(&d, &id, "SSH connected to"));
    nothing_running(&d).await;
}

#[tokio::test]
async fn a_broker_outage_during_wait_for_running_fails_the_step_and_cleanup_waits_it_out() {
    let d = Dashboard::start_custom(None, crate::process::data_dir(), |s| {
        // The session takes many polls to come up, so the outage lands inside the wait.
        s.sim_mut().speed = 5.0;
    })
    .await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.running_after_attempts = Some(50));
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    step_running(&d, &id, StepName::WaitForRunning).await;
    sim.simulator().set_offline(true);
    eventually(Duration::from_secs(60), || async {
        let r = run(&d, &id).await;
        let wait = r
            .steps
            .iter()
            .find(|s| s.name == StepName::WaitForRunning)
            .unwrap()
            .clone();
        (wait.status == StepStatus::Failed).then_some(())
    })
    .await;
    // The broker comes back while cleanup is still trying to destroy.
    sim.simulator().set_offline(false);
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed);
    let wait = done
        .steps
        .iter()
        .find(|s| s.name == StepName::WaitForRunning)
        .unwrap();
    assert!(
        matches!(
            wait.code,
            Some(ErrorCode::ShopperUnreachable | ErrorCode::ShopperTimeout)
        ),
        "{wait:?}"
    );
    assert!(wait.hint.is_some(), "{wait:?}");
    let cleanup = done.cleanup.unwrap();
    assert!(cleanup.destroyed_confirmed, "{}", cleanup.message);
    nothing_running(&d).await;
}

#[tokio::test]
async fn with_provisionings_failing_half_the_time_every_run_ends_right() {
    let d = Dashboard::start_custom(None, crate::process::data_dir(), |s| {
        s.sim_mut().provision_failure_rate = 0.5;
        s.sim_mut().seed = Some(11);
    })
    .await;
    // The first two machines fail for certain, so failures happen whatever the random
    // draws (which depend on the catalogue and on timing); after that, half of them do.
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.failing_provisionings = 2);
    let (mut passed, mut failed, mut stale) = (0, 0, 0);
    for n in 0..4 {
        let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
        let done = finished(&d, &id).await;
        if done.rentals.is_empty() {
            // The simulator lists a few offers the provider no longer has (as the real
            // one does); three of them in a row end a run before it rents anything, with
            // its own code. Rare, and right; anything else before renting is not.
            let log = d
                .get(&format!("/api/runs/{id}/logs"))
                .await
                .text()
                .await
                .unwrap();
            assert_eq!(
                (done.status, done.error_code),
                (RunStatus::Failed, Some(ErrorCode::OfferStale)),
                "{n}: a run ended without renting: {:?}\n{log}",
                done.error
            );
            eprintln!("{n}: three stale offers in a row:\n{log}");
            stale += 1;
            nothing_running(&d).await;
            continue;
        }
        assert!(done.rentals.len() <= 3, "at most --max-rentals: {n}");
        assert!(
            done.rentals.iter().all(|r| r.destroyed == Some(true)),
            "{n}: every rental destroyed: {:?}",
            done.rentals
        );
        let (last, earlier) = done.rentals.split_last().unwrap();
        assert!(
            earlier.iter().all(|r| r.failure.is_some()),
            "{n}: a machine is replaced only when it failed"
        );
        match done.status {
            RunStatus::Passed => {
                passed += 1;
                assert_eq!(last.failure, None, "{n}");
                assert_eq!(done.session_id.as_ref(), Some(&last.session_id), "{n}");
            }
            RunStatus::Failed => {
                failed += 1;
                assert_eq!(done.rentals.len(), 3, "{n}: gave up only after three");
                assert!(last.failure.is_some(), "{n}");
                assert_eq!(done.error_code, Some(ErrorCode::ProvisioningFailed), "{n}");
            }
            other => panic!("{n}: {other:?}"),
        }
        nothing_running(&d).await;
    }
    assert_eq!(passed + failed + stale, 4);
    assert!(stale < 4, "some runs rented");
    assert!(
        d.state.dashboard.hub().with_state(|s| s
            .runs
            .values()
            .map(|r| r.rentals.len())
            .sum::<usize>())
            > 4,
        "failures happened and were retried"
    );
}

#[tokio::test]
async fn a_destroy_the_broker_fails_during_cleanup_is_retried_until_confirmed() {
    let d = Dashboard::start_custom(None, crate::process::data_dir(), |s| {
        // The dashboard's own poller stays quiet, so the broker's errors land on cleanup.
        s.tuning.poll = Some(server::monitor::PollIntervals {
            idle: Duration::from_secs(3600),
            busy: Duration::from_secs(3600),
        });
    })
    .await;
    let sim = d.state.simulator.clone().unwrap();
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    step_running(&d, &id, StepName::Benchmark).await;
    // More than the client's own retries absorb: the destroy loop itself must ask again.
    sim.simulator().update_faults(|f| f.error_burst = 6);
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert_eq!(
        sim.simulator().faults().error_burst,
        0,
        "the broker's 500s were met"
    );
    let cleanup = done.cleanup.unwrap();
    assert!(cleanup.destroyed_confirmed, "{}", cleanup.message);
    assert!(
        log_has(&d, &id, "asking again in"),
        "the failed destroy was retried"
    );
    nothing_running(&d).await;
}

#[tokio::test]
async fn vllm_crashing_mid_benchmark_fails_the_step_with_its_log_and_cleanup_destroys() {
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    // Verify's completion (1), the quality prompts (4), the two prompts counted for the
    // calibration and the two warm-up requests pass; the first load phase's first request
    // dies mid-stream.
    sim.simulator()
        .update_faults(|f| f.vllm_crash_after_requests = 10);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Failed, "{:?}", done.error);
    let failed = done
        .steps
        .iter()
        .find(|s| s.status == StepStatus::Failed)
        .unwrap();
    assert_eq!(failed.name, StepName::Benchmark, "{failed:?}");
    assert_eq!(failed.code, Some(ErrorCode::VllmExited), "{failed:?}");
    let message = failed.reason.clone().unwrap_or_default();
    assert!(
        message.contains("vLLM exited during the benchmark")
            && message.contains("concurrency 1")
            && message.contains("stream broke"),
        "the stage and the broken stream are named: {message}"
    );
    assert!(
        message.contains("CUDA error: an illegal memory access"),
        "the log tail is in the error: {message}"
    );
    assert!(failed.hint.is_some());
    assert!(log_has(&d, &id, "Quality math: as expected"));
    assert_eq!(
        done.benchmark_id, None,
        "a benchmark of a dead server is not stored"
    );
    assert!(done.cleanup.unwrap().destroyed_confirmed);
    nothing_running(&d).await;
}

#[tokio::test]
async fn vllm_crashing_after_the_benchmark_leaves_a_passed_run() {
    // The control for the test above: the same fault set past the benchmark's last
    // request changes nothing, so it is the crash that fails that run.
    let d = Dashboard::start(None).await;
    let sim = d.state.simulator.clone().unwrap();
    sim.simulator()
        .update_faults(|f| f.vllm_crash_after_requests = 1000);
    let id = start(&d, serde_json::from_str(SMALL).unwrap()).await;
    let done = finished(&d, &id).await;
    assert_eq!(done.status, RunStatus::Passed, "{:?}", done.error);
    assert!(done.benchmark_id.is_some());
    nothing_running(&d).await;
}
