//! After a restart: runs a previous process left unfinished end as `interrupted` at once,
//! with the step they had reached marked so (but those of deployments resumed, which go on:
//! `resume`). What they rented is then the reconciler's
//! (`reconcile`), in the background after the listener is bound: every rental of the run,
//! and a session the broker made for a create that was under way when the process died
//! (recorded before the request was sent, so it is known as a create whose answer was lost).

use crate::store::{Store, StoreError};
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::ids::RunId;
use gdl_model::runs::{CleanupOutcome, Run, RunStatus, StepName, StepStatus, UnclearCreate};
use std::collections::HashSet;
use std::time::Duration;

/// Marks every run a previous process left running as interrupted (but the `resumed`
/// ones, and those another replica runs: only runs whose lease is free or expired are
/// claimed, by `owner`), and turns the creates it had under way into creates whose answer
/// was lost (store writes only). Returns how many runs still owe a cleanup, for the
/// reconciler.
pub async fn mark_interrupted(
    store: &Store,
    resumed: &HashSet<RunId>,
    owner: &str,
    ttl: Duration,
) -> Result<usize, StoreError> {
    let mut owing = 0;
    for mut run in store.recent_runs(1000).await? {
        if resumed.contains(&run.id) {
            continue;
        }
        if run.status == RunStatus::Running {
            match close_orphan(store, &run.id, owner, ttl, STOPPED).await? {
                Some(closed) => run = closed,
                None => continue, // another replica's, and going on
            }
        } else if settle_bookkeeping(&mut run) {
            match store.save_run(&run).await {
                Err(StoreError::Fenced(_)) => continue, // its replica is still on it
                other => other?,
            }
        }
        if run.status.is_finished() && run.owes_cleanup() {
            owing += 1;
        }
    }
    Ok(owing)
}

/// What a run says when the dashboard that ran it stopped (after a restart).
pub const STOPPED: &str = "the dashboard stopped";

/// Claims run `id` for `owner` if its lease is free or expired and closes it as
/// interrupted, saying `why` (`the dashboard stopped`); the closed run, or `None` when
/// another replica holds it (or it is no longer running).
pub async fn close_orphan(
    store: &Store,
    id: &RunId,
    owner: &str,
    ttl: Duration,
    why: &str,
) -> Result<Option<Run>, StoreError> {
    let Some(lease) = store.claim_run(id, owner, ttl).await? else {
        return Ok(None);
    };
    // Read again under the lease: the last word of the replica that had it.
    let mut run = match store.run(id).await? {
        Some(run) if run.status == RunStatus::Running => run,
        _ => {
            store.release(&lease).await?;
            return Ok(None);
        }
    };
    close(&mut run, why);
    settle_bookkeeping(&mut run);
    store.save_run_owned(&run, &lease, ttl).await?;
    store.release(&lease).await?;
    Ok(Some(run))
}

/// Creates under way become creates whose answer was lost, and a finished run that owes
/// nothing has its cleanup recorded (no reconciler pass will come for it); true if the run
/// changed.
fn settle_bookkeeping(run: &mut Run) -> bool {
    let mut changed = lost_creates(run);
    if run.status.is_finished() && run.cleanup.is_none() && !run.owes_cleanup() {
        run.cleanup = Some(if run.rentals.is_empty() {
            CleanupOutcome {
                destroyed_confirmed: true,
                kept: false,
                message: "the run rented nothing before the dashboard stopped".into(),
            }
        } else {
            super::reconcile::outcome(run)
        });
        changed = true;
    }
    changed
}

/// Marks the run and the step it had reached interrupted, and the rest skipped, saying
/// `why` (`the dashboard stopped`).
fn close(run: &mut Run, why: &str) {
    let reached = run.current_step();
    run.status = RunStatus::Interrupted;
    run.error = Some(match reached {
        Some(step) => format!("{}: {why} during this step", step.label()),
        None => format!("{why} during this run"),
    });
    run.error_code = Some(ErrorCode::Interrupted);
    run.ended_at = Some(Utc::now());
    for step in &mut run.steps {
        match step.status {
            StepStatus::Running => {
                step.status = StepStatus::Interrupted;
                step.code = Some(ErrorCode::Interrupted);
                step.reason = Some(format!("{why} during this step"));
            }
            StepStatus::Pending => {
                step.status = StepStatus::Skipped;
                step.reason = Some(why.to_owned());
            }
            _ => {}
        }
    }
}

/// Creates the dashboard stopped during: those recorded in flight, and (for runs recorded
/// before creates were) an interrupted Create session step with no rental since it began.
/// Each becomes a create whose answer was lost; true if the run changed.
fn lost_creates(run: &mut Run) -> bool {
    let mut changed = false;
    for create in &mut run.unclear_creates {
        if create.is_open() && create.why == UnclearCreate::IN_FLIGHT {
            create.why = "the dashboard stopped while the broker was creating it".into();
            changed = true;
        }
    }
    let interrupted_create = run
        .steps
        .iter()
        .find(|s| s.name == StepName::CreateSession && s.status == StepStatus::Interrupted)
        .and_then(|s| s.started_at);
    if let (Some(began), Some(offer), None, true) = (
        interrupted_create,
        run.offer.clone(),
        run.cleanup.as_ref(),
        run.unclear_creates.is_empty(),
    ) {
        if !run.rentals.iter().any(|r| r.created_at >= began) {
            run.unclear_creates.push(UnclearCreate {
                offer,
                asked_at: began,
                why: "the dashboard stopped during Create session".into(),
                settled: None,
            });
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use gdl_model::runs::OfferChoice;
    use gdl_model::shopper::Provider;

    fn run_in_create() -> Run {
        let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let mut run = Run::new("r".into(), config, Utc::now() - Duration::minutes(1));
        for step in run.steps.iter_mut().take(3) {
            step.status = StepStatus::Complete;
        }
        let create = run.step_mut(StepName::CreateSession);
        create.status = StepStatus::Running;
        create.started_at = Some(Utc::now() - Duration::seconds(10));
        run.offer = Some(OfferChoice {
            offer_id: "vastai-1".into(),
            provider: Provider::VastAi,
            gpu_type: "RTX 4090".into(),
            gpu_count: 1,
            vram_gb: 24,
            price_per_hour: 0.3,
        });
        run
    }

    #[test]
    fn an_interrupted_run_says_where_it_stopped() {
        let mut run = run_in_create();
        close(&mut run, STOPPED);
        assert_eq!(run.status, RunStatus::Interrupted);
        let create = run.step_mut(StepName::CreateSession).clone();
        assert_eq!(create.status, StepStatus::Interrupted);
        assert_eq!(
            run.step_mut(StepName::Benchmark).status,
            StepStatus::Skipped
        );
        assert!(run.error.unwrap().starts_with("Create session"));
    }

    #[test]
    fn a_create_under_way_when_the_dashboard_stopped_is_left_to_settle() {
        // Recorded in flight (this version): it keeps its time and offer.
        let mut run = run_in_create();
        let asked = Utc::now() - Duration::seconds(5);
        run.unclear_creates.push(UnclearCreate {
            offer: run.offer.clone().unwrap(),
            asked_at: asked,
            why: UnclearCreate::IN_FLIGHT.into(),
            settled: None,
        });
        close(&mut run, STOPPED);
        assert!(lost_creates(&mut run));
        assert_eq!(run.unclear_creates.len(), 1);
        assert_eq!(run.unclear_creates[0].asked_at, asked);
        assert!(run.unclear_creates[0].why.contains("stopped"));
        assert!(run.owes_cleanup());
        assert!(!lost_creates(&mut run), "once");

        // Recorded by an older version: only the interrupted step says so.
        let mut old = run_in_create();
        close(&mut old, STOPPED);
        assert!(lost_creates(&mut old));
        assert_eq!(old.unclear_creates.len(), 1);
        assert!(old.owes_cleanup());

        // A rental made since the step began answered it: nothing to look for.
        let mut answered = run_in_create();
        answered.rentals = serde_json::from_value(serde_json::json!([{"attempt": 1,
            "session_id": "s-1", "created_at": Utc::now(),
            "offer": answered.offer.clone().unwrap()}]))
        .unwrap();
        answered.session_id = Some("s-1".into());
        close(&mut answered, STOPPED);
        assert!(!lost_creates(&mut answered));
        assert!(answered.owes_cleanup(), "its rental is the reconciler's");
    }
}
