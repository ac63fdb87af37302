//! The broker's side of what a person can do to a session: clean up (force destroy,
//! followed until the broker confirms, for a while), done (graceful) and extend. Each needs
//! only a broker client and answers with a structured result, so the CLI runs them as they
//! are; the dashboard's service adds its part (only our sessions, the list refreshed).

use crate::runner::destroy;
use crate::shopper::{ShopperClient, ShopperError};
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use gdl_model::ids::SessionId;
use gdl_model::sessions::{ActionOutcome, SessionAction, SessionActionResult};
use std::time::Duration;

/// How long a clean up from a page waits for the broker to confirm the destroy.
pub const CLEANUP_PATIENCE: Duration = Duration::from_secs(30);
/// The most hours one extend asks for (the broker's reservations are 1 to 12 hours).
pub const MAX_EXTEND_HOURS: u32 = 12;

/// `hours` when it is an extend the broker may accept (1 to [`MAX_EXTEND_HOURS`]).
pub fn extend_hours(hours: i64) -> Option<u32> {
    u32::try_from(hours)
        .ok()
        .filter(|h| (1..=MAX_EXTEND_HOURS).contains(h))
}

/// Destroys session `id`, following it for at most `patience` (`retrying` hears why it
/// asks again): `destroyed` once the broker confirms, `unconfirmed` if it does not. A
/// session the broker does not know is its error.
pub async fn clean_up(
    client: &ShopperClient,
    id: &SessionId,
    patience: Duration,
    retrying: &(dyn Fn(&str) + Sync),
) -> Result<SessionActionResult, ShopperError> {
    client.get_session(id).await?;
    let (outcome, message) = match destroy::destroy(client, id, patience, retrying).await {
        Ok(done) => (ActionOutcome::Destroyed, done.message(id)),
        Err(e) => (
            ActionOutcome::Unconfirmed,
            format!(
                "asked the broker to destroy session {id}, and it has not confirmed within {} s: it may still be billing ({})",
                patience.as_secs(),
                e.message
            ),
        ),
    };
    Ok(SessionActionResult {
        id: id.clone(),
        action: SessionAction::Cleanup,
        outcome,
        message,
        expires_at: None,
    })
}

/// Tells the broker session `id` is done.
pub async fn done(
    client: &ShopperClient,
    id: &SessionId,
) -> Result<SessionActionResult, ShopperError> {
    let reply = client.done(id).await?;
    Ok(SessionActionResult {
        id: id.clone(),
        action: SessionAction::Done,
        outcome: ActionOutcome::Done,
        message: reply.message,
        expires_at: None,
    })
}

/// Extends session `id` by `hours` (checked by [`extend_hours`]).
pub async fn extend(
    client: &ShopperClient,
    id: &SessionId,
    hours: u32,
) -> Result<SessionActionResult, ShopperError> {
    let reply = client.extend(id, hours).await?;
    Ok(SessionActionResult {
        id: id.clone(),
        action: SessionAction::Extend,
        outcome: ActionOutcome::Extended,
        message: reply.message,
        expires_at: reply.new_expires_at,
    })
}

/// The broker's error, with "session not found" for a session it no longer knows.
pub fn broker_error(id: &SessionId, e: ShopperError) -> ApiError {
    match e {
        ShopperError::NotFound { .. } => not_found(id, "is no longer known to the broker"),
        other => other.into(),
    }
}

fn not_found(id: &SessionId, why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::SessionNotFound,
        format!("session not found: {id} {why}"),
    )
    .with_hint("It leaves the list at the next refresh; nothing of it is running at the broker.")
}
