//! Step 11, Cleanup: destroys the session unless the person chose to keep it after a
//! failure, then asks the broker again and records whether it confirmed the instance gone.
//! A create still in flight is waited for first, so what it makes is destroyed too.

use super::Deps;
use crate::runner::error::StepError;
use crate::shopper::{ShopperClient, ShopperError};
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::ids::SessionId;
use gdl_model::runs::{CleanupOutcome, StepName, StepStatus};
use gdl_model::shopper::SessionStatus;
use std::time::Duration;

/// How the broker confirmed a destroy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destroyed {
    /// It reports the session stopped.
    Stopped,
    /// The session had failed; nothing runs.
    HadFailed,
    /// It no longer lists the session.
    Gone,
}

impl Destroyed {
    /// What the run records.
    pub fn message(self, id: &str) -> String {
        match self {
            Self::Stopped => format!("session {id} destroyed; the broker reports it stopped"),
            Self::HadFailed => format!("session {id} had failed; nothing is running"),
            Self::Gone => format!("session {id} destroyed; the broker no longer lists it"),
        }
    }
}

/// How long a destroy keeps trying to get the broker to confirm, by default.
pub const DESTROY_PATIENCE: Duration = Duration::from_secs(600);

/// Destroys a session and keeps asking (with backoff, for at most `patience`) until the
/// broker confirms it stopped: a destroy under way (`stopping`) or a broker that fails or
/// does not answer is tried again; an active session is destroyed again.
pub async fn destroy(
    client: &ShopperClient,
    id: &str,
    patience: Duration,
    retrying: &(dyn Fn(&str) + Sync),
) -> Result<Destroyed, StepError> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    let mut delete = true;
    let mut last;
    // No single call may outlast the patience (a broker's destroy can block for minutes).
    let left = || {
        patience
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(1))
    };
    loop {
        if delete {
            last = match tokio::time::timeout(left(), client.delete_session(id)).await {
                Ok(Ok(_) | Err(ShopperError::NotFound { .. })) => None,
                Ok(Err(e)) => Some(format!("the destroy request failed: {e}")),
                Err(_) => Some("the destroy request did not return in time".into()),
            };
        } else {
            last = None;
        }
        let status = match tokio::time::timeout(left(), client.get_session(id)).await {
            Ok(answer) => answer,
            Err(_) => Err(ShopperError::Timeout {
                operation: "session lookup".into(),
                after: left(),
            }),
        };
        match status {
            Ok(s) if s.status == SessionStatus::Stopped => return Ok(Destroyed::Stopped),
            Ok(s) if s.status == SessionStatus::Failed => return Ok(Destroyed::HadFailed),
            // Under way: ask again without another destroy.
            Ok(s) if s.status == SessionStatus::Stopping => {
                delete = false;
                last = last.or(Some("the broker still reports it stopping".into()));
            }
            Ok(s) => {
                delete = true;
                last = Some(format!("the broker still reports it {}", s.status));
            }
            Err(ShopperError::NotFound { .. }) => return Ok(Destroyed::Gone),
            Err(e) => {
                delete = true;
                last = Some(format!("it could not be confirmed: {e}"));
            }
        }
        if started.elapsed() + pause > patience {
            let why = last.unwrap_or_default();
            return Err(StepError::new(
                ErrorCode::DestroyUnconfirmed,
                format!(
                    "destroy of session {id} not confirmed after {} s: {why}",
                    started.elapsed().as_secs()
                ),
            )
            .hint(format!(
                "Check session {id} on the Sessions tab (or the provider's console) and destroy it there: it may still be billing."
            )));
        }
        if let Some(why) = &last {
            retrying(&format!(
                "Destroy of session {id} not confirmed yet: {why}; asking again in {:.1} s",
                pause.as_secs_f64()
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}

/// How long cleanup waits for a session create still in flight at the broker (creates
/// block up to 5 minutes on some providers).
const CREATE_PATIENCE: Duration = Duration::from_secs(330);

/// The cleanup step: destroys what the run rented (the session in use unless `keep`, and
/// any earlier rental whose destroy was not confirmed), after any create in flight ends.
pub async fn run(d: &Deps<'_>, keep: bool) {
    let name = StepName::Cleanup;
    let ctx = d.ctx;
    ctx.step_started(name).await;
    if !ctx.creates_settled(Duration::ZERO).await {
        ctx.info("Waiting for a session create in flight, to destroy what it makes");
        if !ctx.creates_settled(CREATE_PATIENCE).await {
            ctx.error("A session create did not finish in time: check the Sessions tab for a session this run made");
        }
    }
    let unconfirmed: Vec<SessionId> = ctx.read(|run| {
        run.rentals
            .iter()
            .filter(|r| r.failure.is_some() && r.destroyed != Some(true))
            .map(|r| r.session_id.clone())
            .collect()
    });
    for id in unconfirmed {
        let destroyed = destroy(d.client, &id, d.config.destroy_patience, &|m| d.ctx.warn(m)).await;
        record(d, &id, destroyed.is_ok()).await;
    }
    let Some(id) = ctx.read(|run| run.session_id.clone()) else {
        ctx.update(|run| run.cleanup = Some(outcome(true, false, "no session was created")))
            .await;
        ctx.step_skipped(name, "no session was created").await;
        return;
    };
    if keep {
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
            ctx.update(|run| run.cleanup = Some(outcome(true, false, &message)))
                .await;
            ctx.step_ended(name, StepStatus::Complete, None).await;
        }
        Err(e) => {
            ctx.error(&e.message);
            ctx.update(|run| run.cleanup = Some(outcome(false, false, &e.message)))
                .await;
            ctx.step_ended(name, StepStatus::Failed, Some(e)).await;
        }
    }
}

/// Records on the rental whether its destroy was confirmed, and its cost until now.
async fn record(d: &Deps<'_>, id: &str, confirmed: bool) {
    let now = Utc::now();
    d.ctx
        .update(|run| {
            if let Some(r) = run.rentals.iter_mut().find(|r| r.session_id == id) {
                r.destroyed = Some(confirmed);
                if r.failure.is_none() {
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
