//! Step 11, Cleanup: destroys the session unless the person chose to keep it after a
//! failure, then asks the broker again and records whether it confirmed the instance gone.
//! A create still in flight is waited for first, so what it makes is destroyed too.
//! Destroying one session until the broker confirms is [`crate::runner::destroy`].

use super::Deps;
use crate::runner::destroy::destroy;
use crate::runner::error::StepError;
use crate::runner::reconcile::{self, settle_unclear, Listing};
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::ids::SessionId;
use gdl_model::runs::{CleanupOutcome, StepName, StepStatus};
use std::time::Duration;

/// How long cleanup waits for a session create still in flight at the broker (creates
/// block up to 5 minutes on some providers).
const CREATE_PATIENCE: Duration = Duration::from_secs(330);

/// The cleanup step: destroys what the run rented (the session in use unless `keep`, and
/// any earlier rental whose destroy was not confirmed), after any create in flight ends and
/// a create whose answer was lost was looked for. What it cannot confirm stays open on the
/// run for the reconciler.
pub async fn run(d: &Deps<'_>, keep: bool) {
    let name = StepName::Cleanup;
    let ctx = d.ctx;
    if ctx.owned().is_lost() {
        // Another replica took the run over: what it rented is that replica's to destroy
        // (or, for a deployment it resumed, to keep serving). Nothing is touched here.
        tracing::warn!(run = %ctx.id(), "cleanup left to the replica that took the run over");
        return;
    }
    ctx.step_started(name).await;
    if !ctx.creates_settled(Duration::ZERO).await {
        ctx.info("Waiting for a session create in flight, to destroy what it makes");
        if !ctx.creates_settled(CREATE_PATIENCE).await {
            ctx.error("A session create did not finish in time: check the Sessions tab for a session this run made");
        }
    }
    look_for_unclear(d).await;
    let given_up: Vec<SessionId> = ctx.read(|run| {
        run.rentals
            .iter()
            .filter(|r| r.failure.is_some() && r.destroyed != Some(true))
            .map(|r| r.session_id.clone())
            .collect()
    });
    for id in given_up {
        let destroyed = destroy(d.client, &id, d.config.destroy_patience, &|m| d.ctx.warn(m)).await;
        record(d, &id, destroyed.is_ok()).await;
    }
    let Some(id) = ctx.read(|run| run.session_id.clone()) else {
        if !still_open(d).await {
            ctx.update(|run| run.cleanup = Some(outcome(true, false, "no session was created")))
                .await;
            ctx.step_skipped(name, "no session was created").await;
        }
        return;
    };
    // A rental the run gave up (a machine that did not start, a host that could not run
    // the engine) was destroyed then: there is nothing left to keep.
    let given_up = ctx.read(|run| {
        run.rentals
            .iter()
            .any(|r| r.session_id == id && r.failure.is_some())
    });
    if keep && !given_up {
        let message = format!("session {id} left running as asked (keep on failure); destroy it from the Sessions tab when done");
        ctx.warn(&message);
        ctx.update(|run| run.cleanup = Some(outcome(false, true, &message)))
            .await;
        ctx.step_skipped(name, "kept at the person's request").await;
        return;
    }
    let destroyed = destroy(d.client, &id, d.config.destroy_patience, &|m| d.ctx.warn(m)).await;
    record(d, &id, destroyed.is_ok()).await;
    settle_benchmark_cost(d).await;
    match destroyed {
        Ok(destroyed) => {
            let message = destroyed.message(&id);
            ctx.info(&message);
            if !still_open(d).await {
                ctx.update(|run| run.cleanup = Some(outcome(true, false, &message)))
                    .await;
                ctx.step_ended(name, StepStatus::Complete, None).await;
            }
        }
        Err(e) => {
            ctx.error(&e.message);
            ctx.update(|run| run.cleanup = Some(outcome(false, false, &e.message)))
                .await;
            ctx.step_ended(name, StepStatus::Failed, Some(e)).await;
        }
    }
}

/// Looks for what the run's creates whose answer was lost made: lists the broker's
/// sessions (again with backoff, for a while, when it does not answer) and settles each
/// create it can; a session found becomes a rental to destroy.
async fn look_for_unclear(d: &Deps<'_>) {
    let ctx = d.ctx;
    if !ctx.read(|run| run.unclear_creates.iter().any(|u| u.is_open())) {
        return;
    }
    ctx.info("Looking for a session a create whose answer was lost may have made");
    let started = std::time::Instant::now();
    let mut pause = Duration::from_secs(1);
    let listed = loop {
        match d.client.our_sessions().await {
            Ok(listed) => break listed,
            Err(e) if started.elapsed() + pause > d.config.reconcile.listing_patience => {
                ctx.warn(&format!(
                    "Cannot list the broker's sessions ({e}): the reconciler keeps looking"
                ));
                return;
            }
            Err(e) => {
                ctx.warn(&format!(
                    "Cannot list the broker's sessions ({e}); asking again in {} s",
                    pause.as_secs()
                ));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(8));
            }
        }
    };
    let listing = Listing {
        sessions: &listed,
        at: Utc::now(),
        mine: d.client.consumer_id(),
    };
    let mut claimed = match reconcile::claimed(ctx.store(), &listed).await {
        Ok(claimed) => claimed,
        Err(e) => {
            ctx.warn(&format!("Cannot read which runs own the broker's sessions ({e}): the reconciler keeps looking"));
            return;
        }
    };
    let window = d.config.reconcile.unclear_window;
    let mut said = Vec::new();
    ctx.update(|run| said = settle_unclear(run, &listing, &mut claimed, window))
        .await;
    for line in said {
        ctx.warn(&line);
    }
}

/// When the run still owes something (a create to settle, a destroy unconfirmed), records
/// the open cleanup for the reconciler and ends the step failed; true if so.
async fn still_open(d: &Deps<'_>) -> bool {
    let ctx = d.ctx;
    let Some(open) = ctx.read(|run| run.owes_cleanup().then(|| reconcile::outcome(run))) else {
        return false;
    };
    ctx.warn(&open.message);
    let error = StepError::new(ErrorCode::DestroyUnconfirmed, open.message.clone()).hint(
        "The reconciler lists the broker's sessions every minute and destroys what this run made; the Sessions tab shows them meanwhile.",
    );
    ctx.update(|run| run.cleanup = Some(open)).await;
    ctx.step_ended(StepName::Cleanup, StepStatus::Failed, Some(error))
        .await;
    true
}

/// Records on the rental whether its destroy was confirmed, and its cost until now.
async fn record(d: &Deps<'_>, id: &str, confirmed: bool) {
    let now = Utc::now();
    d.ctx
        .update(|run| {
            if let Some(r) = run.rentals.iter_mut().find(|r| r.session_id == id) {
                r.record_destroy(confirmed, now);
                // One given up has its cost from then; one found only now, from now.
                if r.failure.is_none() || r.cost_usd == 0.0 {
                    r.cost_usd = r.cost_until(now);
                }
            }
        })
        .await;
}

/// Gives the run's benchmark the test's final cost, now that its rental has ended.
async fn settle_benchmark_cost(d: &Deps<'_>) {
    let (benchmark, cost) = d
        .ctx
        .read(|run| (run.benchmark_id.clone(), run.cost_usd(Utc::now())));
    let Some(benchmark) = benchmark else { return };
    match d.ctx.store().set_benchmark_cost(&benchmark, cost).await {
        Ok(Some(record)) => {
            d.ctx
                .hub()
                .publish([gdl_model::live::LiveEvent::BenchmarkUpsert { benchmark: record }]);
        }
        Ok(None) => {}
        Err(e) => d.ctx.warn(&format!(
            "Could not record the test's cost on its benchmark: {e}"
        )),
    }
}

fn outcome(destroyed_confirmed: bool, kept: bool, message: &str) -> CleanupOutcome {
    CleanupOutcome {
        destroyed_confirmed,
        kept,
        message: message.to_owned(),
    }
}
