//! Destroying one session until the broker confirms it gone: used by cleanup, by a run
//! that gives up a machine that failed to start, by the reconciler and by the Sessions tab's
//! actions.

use crate::runner::error::StepError;
use crate::shopper::{ShopperClient, ShopperError};
use gdl_model::code::ErrorCode;
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
