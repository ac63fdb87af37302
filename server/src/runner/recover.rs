//! After a restart: runs a previous process left unfinished end as `interrupted` at once,
//! with the step they had reached marked so, and their sessions are destroyed in the
//! background, after the listener is bound. That includes a
//! session the broker created while the process was gone, which no run names: it is found
//! by this version's consumer id, the offer's provider and GPU, and the time of the create.

use super::steps::cleanup::destroy;
use crate::live::Hub;
use crate::shopper::ShopperClient;
use crate::store::{Store, StoreError};
use chrono::{Duration, Utc};
use gdl_model::code::ErrorCode;
use gdl_model::ids::SessionId;
use gdl_model::live::LiveEvent;
use gdl_model::runs::{CleanupOutcome, Run, RunStatus, StepName, StepStatus};
use gdl_model::shopper::Session;
use std::collections::HashSet;

/// Marks every run a previous process left running as interrupted (store writes only, so
/// the listener binds at once), and returns the interrupted runs whose sessions still need
/// destroying: this start's, and any an earlier start did not get to finish.
pub async fn mark_interrupted(store: &Store) -> Result<Vec<Run>, StoreError> {
    let mut pending = Vec::new();
    for mut run in store.recent_runs(1000).await? {
        if run.status == RunStatus::Running {
            close(&mut run);
            store.save_run(&run).await?;
        }
        let rented = run.session_id.is_some() || create_started(&run).is_some();
        if run.status == RunStatus::Interrupted && run.cleanup.is_none() && rented {
            pending.push(run);
        }
    }
    Ok(pending)
}

/// Destroys what interrupted runs rented, in the background (a slow broker's destroys take
/// minutes), waiting at most `patience` for each; every run is saved and published as its
/// cleanup ends. A process stopped before that leaves the run to the next start.
pub async fn destroy_rentals(
    client: ShopperClient,
    store: Store,
    hub: Hub,
    runs: Vec<Run>,
    patience: std::time::Duration,
) {
    let mut claimed: HashSet<SessionId> = match store.recent_runs(1000).await {
        Ok(recent) => recent.into_iter().filter_map(|r| r.session_id).collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the stored runs to clean up after a restart");
            return;
        }
    };
    // Only needed for runs cut off during Create session; asked once.
    let mut ours: Option<Vec<Session>> = None;
    for mut run in runs {
        if run.session_id.is_none() {
            if ours.is_none() {
                ours = Some(client.our_sessions().await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot list sessions to find ones created during a restart");
                    Vec::new()
                }));
            }
            run.session_id = orphan(
                &run,
                ours.as_deref().unwrap_or_default(),
                client.consumer_id(),
                &claimed,
            );
            if let Some(id) = &run.session_id {
                claimed.insert(id.clone());
                tracing::warn!(run = %run.id, session = %id, "found a session created while the dashboard was stopped");
            }
        }
        run.cleanup = Some(match run.session_id.clone() {
            Some(id) => {
                let destroyed = destroy(&client, &id, patience, &|m| tracing::warn!("{m}")).await;
                CleanupOutcome {
                    destroyed_confirmed: destroyed.is_ok(),
                    kept: false,
                    message: match destroyed {
                        Ok(d) => format!("after a restart: {}", d.message(&id)),
                        Err(e) => format!("after a restart: {}", e.message),
                    },
                }
            }
            None => CleanupOutcome {
                destroyed_confirmed: true,
                kept: false,
                message: "after a restart: the broker lists no session this run made".into(),
            },
        });
        if let Err(e) = store.save_run(&run).await {
            tracing::error!(run = %run.id, error = %e, "cannot save a run's cleanup after a restart");
        }
        hub.publish([LiveEvent::RunUpsert { run }]);
    }
}

/// Marks the run and the step it had reached interrupted, and the rest skipped.
fn close(run: &mut Run) {
    let reached = run.current_step();
    run.status = RunStatus::Interrupted;
    run.error = Some(match reached {
        Some(step) => format!("{}: the dashboard stopped during this step", step.label()),
        None => "the dashboard stopped during this run".into(),
    });
    run.error_code = Some(ErrorCode::Interrupted);
    run.ended_at = Some(Utc::now());
    for step in &mut run.steps {
        match step.status {
            StepStatus::Running => {
                step.status = StepStatus::Interrupted;
                step.code = Some(ErrorCode::Interrupted);
                step.reason = Some("the dashboard stopped during this step".into());
            }
            StepStatus::Pending => {
                step.status = StepStatus::Skipped;
                step.reason = Some("the dashboard stopped".into());
            }
            _ => {}
        }
    }
}

/// When Create session started, if it did.
fn create_started(run: &Run) -> Option<chrono::DateTime<Utc>> {
    run.steps
        .iter()
        .find(|s| s.name == StepName::CreateSession)
        .and_then(|s| s.started_at)
}

/// The session the broker made for this run's create, if one is active and unclaimed: this
/// version's consumer, the recorded offer's provider and GPU, created after the step began.
fn orphan(
    run: &Run,
    ours: &[Session],
    consumer: &str,
    claimed: &HashSet<SessionId>,
) -> Option<SessionId> {
    let offer = run.offer.as_ref()?;
    let since = create_started(run)? - Duration::seconds(30);
    ours.iter()
        .filter(|s| {
            s.consumer_id == consumer
                && s.status.is_active()
                && s.provider == offer.provider
                && s.gpu_type == offer.gpu_type
                && s.created_at >= since
                && !claimed.contains(&s.id)
        })
        .min_by_key(|s| s.created_at)
        .map(|s| s.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_model::runs::OfferChoice;
    use gdl_model::shopper::{Provider, SessionStatus};

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

    fn session(id: &str, gpu: &str, status: SessionStatus, age_s: i64) -> Session {
        serde_json::from_value(serde_json::json!({
            "id": id, "consumer_id": "me", "provider": "vastai", "gpu_type": gpu,
            "status": status, "created_at": Utc::now() - Duration::seconds(age_s)
        }))
        .unwrap()
    }

    #[test]
    fn an_interrupted_run_says_where_it_stopped() {
        let mut run = run_in_create();
        close(&mut run);
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
    fn the_orphan_is_this_runs_kind_of_session_made_after_its_create_began() {
        let run = run_in_create();
        let claimed: HashSet<SessionId> = [SessionId::from("taken")].into();
        let sessions = [
            session("old", "RTX 4090", SessionStatus::Running, 3600),
            session("other-gpu", "L4", SessionStatus::Running, 5),
            session("stopped", "RTX 4090", SessionStatus::Stopped, 5),
            session("taken", "RTX 4090", SessionStatus::Running, 5),
            session("mine", "RTX 4090", SessionStatus::Provisioning, 5),
        ];
        assert_eq!(
            orphan(&run, &sessions, "me", &claimed).as_deref(),
            Some("mine")
        );
        assert_eq!(orphan(&run, &sessions, "someone-else", &claimed), None);
    }
}
