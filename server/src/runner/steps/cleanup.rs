//! Step 11, Cleanup: destroys the session unless the person chose to keep it after a
//! failure, then asks the broker again and records whether it confirmed the instance gone.

use super::Deps;
use crate::runner::error::StepError;
use crate::shopper::{ShopperClient, ShopperError};
use gdl_model::code::ErrorCode;
use gdl_model::runs::{CleanupOutcome, StepName, StepStatus};
use gdl_model::shopper::SessionStatus;

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

/// Destroys a session and checks with the broker.
pub async fn destroy(client: &ShopperClient, id: &str) -> Result<Destroyed, StepError> {
    match client.delete_session(id).await {
        Ok(_) | Err(ShopperError::NotFound { .. }) => {}
        Err(e) => {
            let e = StepError::from(e);
            return Err(StepError {
                message: format!("destroying session {id} failed: {}", e.message),
                ..e
            });
        }
    }
    let unconfirmed = |what: String| {
        StepError::new(ErrorCode::DestroyUnconfirmed, what).hint(format!(
            "Check session {id} on the Sessions tab (or the provider's console) and destroy it there: it may still be billing."
        ))
    };
    match client.get_session(id).await {
        Ok(s) if s.status == SessionStatus::Stopped => Ok(Destroyed::Stopped),
        Ok(s) if s.status == SessionStatus::Failed => Ok(Destroyed::HadFailed),
        Ok(s) => Err(unconfirmed(format!(
            "destroy of session {id} requested, but the broker reports it {}",
            s.status
        ))),
        Err(ShopperError::NotFound { .. }) => Ok(Destroyed::Gone),
        Err(e) => Err(unconfirmed(format!(
            "destroy of session {id} requested, but it could not be confirmed: {e}"
        ))),
    }
}

/// The cleanup step for the session `session` (if one was created); `keep` leaves it running.
pub async fn run(d: &Deps<'_>, session: Option<&str>, keep: bool) {
    let name = StepName::Cleanup;
    let ctx = d.ctx;
    ctx.step_started(name).await;
    let Some(id) = session else {
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
    match destroy(d.client, id).await {
        Ok(destroyed) => {
            let message = destroyed.message(id);
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

fn outcome(destroyed_confirmed: bool, kept: bool, message: &str) -> CleanupOutcome {
    CleanupOutcome {
        destroyed_confirmed,
        kept,
        message: message.to_owned(),
    }
}
