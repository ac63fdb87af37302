//! What a person can do to our sessions from the dashboard, REST or the CLI: clean up
//! (force destroy, followed until the broker confirms, for a while), done (graceful) and
//! extend, one at a time or every orphan at once. Each answers with a structured result;
//! a session the broker no longer knows is `session_not_found`, and the list is refreshed
//! after every action so the pages show what the broker now says.

use crate::runner::steps::cleanup;
use crate::shopper::ShopperError;
use crate::AppState;
use gdl_model::api::{ActionOutcome, ApiError, SessionAction, SessionActionResult};
use gdl_model::code::ErrorCode;
use std::time::Duration;

/// How long a clean up from a page waits for the broker to confirm the destroy.
pub const CLEANUP_PATIENCE: Duration = Duration::from_secs(30);
/// The most hours one extend asks for (the broker's reservations are 1 to 12 hours).
pub const MAX_EXTEND_HOURS: u32 = 12;

/// Does `action` to session `id` (`hours` for an extend), then refreshes the list.
pub async fn act(
    state: &AppState,
    id: &str,
    action: SessionAction,
    hours: Option<u32>,
) -> Result<SessionActionResult, ApiError> {
    if !state.hub.has_session(id) {
        return Err(not_found(id, "is not one of our sessions").with_hint(
            "Refresh the Sessions tab: only sessions this dashboard's broker lists for us can be acted on.",
        ));
    }
    let result = match action {
        SessionAction::Cleanup => clean_up(state, id).await,
        SessionAction::Done => done(state, id).await,
        SessionAction::Extend => extend(state, id, hours).await,
    };
    state.monitor.refresh(crate::api::REFRESH_PATIENCE).await;
    result
}

/// Cleans up every orphan (our running or provisioning sessions no run in progress owns).
pub async fn clean_up_orphans(state: &AppState) -> Vec<Result<SessionActionResult, ApiError>> {
    let orphans: Vec<String> = state
        .hub
        .with_state(|s| s.orphans().iter().map(|o| o.id.clone()).collect());
    let mut results = Vec::new();
    for id in orphans {
        results.push(clean_up(state, &id).await);
    }
    state.monitor.refresh(crate::api::REFRESH_PATIENCE).await;
    results
}

async fn clean_up(state: &AppState, id: &str) -> Result<SessionActionResult, ApiError> {
    let client = state.monitor.client();
    match client.get_session(id).await {
        Err(ShopperError::NotFound { .. }) => {
            return Err(not_found(id, "is no longer known to the broker"))
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let (outcome, message) = match cleanup::destroy(client, id, CLEANUP_PATIENCE, &|_| {}).await
    {
        Ok(done) => (ActionOutcome::Destroyed, done.message(id)),
        Err(e) => (
            ActionOutcome::Unconfirmed,
            format!(
                "asked the broker to destroy session {id}, and it has not confirmed within {} s: it may still be billing ({})",
                CLEANUP_PATIENCE.as_secs(),
                e.message
            ),
        ),
    };
    Ok(SessionActionResult {
        id: id.to_owned(),
        action: SessionAction::Cleanup,
        outcome,
        message,
        expires_at: None,
    })
}

async fn done(state: &AppState, id: &str) -> Result<SessionActionResult, ApiError> {
    let reply = state
        .monitor
        .client()
        .done(id)
        .await
        .map_err(|e| broker_error(id, e))?;
    Ok(SessionActionResult {
        id: id.to_owned(),
        action: SessionAction::Done,
        outcome: ActionOutcome::Done,
        message: reply.message,
        expires_at: None,
    })
}

async fn extend(
    state: &AppState,
    id: &str,
    hours: Option<u32>,
) -> Result<SessionActionResult, ApiError> {
    let hours = hours
        .filter(|h| (1..=MAX_EXTEND_HOURS).contains(h))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInput,
                format!(
                    "hours must be a whole number from 1 to {MAX_EXTEND_HOURS}, got {}",
                    hours.map_or("nothing".to_owned(), |h| h.to_string())
                ),
            )
            .with_hint("Send {\"hours\": 1}; the broker also caps a session's whole life at its hard maximum.")
        })?;
    let reply = state
        .monitor
        .client()
        .extend(id, hours)
        .await
        .map_err(|e| broker_error(id, e))?;
    Ok(SessionActionResult {
        id: id.to_owned(),
        action: SessionAction::Extend,
        outcome: ActionOutcome::Extended,
        message: reply.message,
        expires_at: reply.new_expires_at,
    })
}

/// The broker's error, with "session not found" for a session it no longer knows.
fn broker_error(id: &str, e: ShopperError) -> ApiError {
    match e {
        ShopperError::NotFound { .. } => not_found(id, "is no longer known to the broker"),
        other => other.into(),
    }
}

fn not_found(id: &str, why: &str) -> ApiError {
    ApiError::new(
        ErrorCode::SessionNotFound,
        format!("session not found: {id} {why}"),
    )
    .with_hint("It leaves the list at the next refresh; nothing of it is running at the broker.")
}
