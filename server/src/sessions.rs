//! What a person can do to our sessions from the dashboard, REST or the CLI: clean up
//! (force destroy, followed until the broker confirms, for a while), done (graceful) and
//! extend, one at a time or every orphan at once. Each answers with a structured result.
//! The operations themselves ([`clean_up`], [`done`], [`extend`]) need only a broker
//! client, so the CLI runs them too; [`act`] adds the dashboard's part: only our sessions,
//! `session_not_found` for a session the broker no longer knows, and the list refreshed
//! after every action so the pages show what the broker now says.

use crate::runner::steps::cleanup;
use crate::shopper::{ShopperClient, ShopperError};
use crate::AppState;
use gdl_model::api::{ActionOutcome, ApiError, SessionAction, SessionActionResult};
use gdl_model::code::ErrorCode;
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

/// Does `action` to session `id` (`hours` for an extend), then refreshes the list.
pub async fn act(
    state: &AppState,
    id: &str,
    action: SessionAction,
    hours: Option<i64>,
) -> Result<SessionActionResult, ApiError> {
    if !state.hub.has_session(id) {
        return Err(not_found(id, "is not one of our sessions").with_hint(
            "Refresh the Sessions tab: only sessions this dashboard's broker lists for us can be acted on.",
        ));
    }
    let client = state.monitor.client();
    let result = match action {
        SessionAction::Cleanup => clean_up(client, id, CLEANUP_PATIENCE, &|_| {}).await,
        SessionAction::Done => done(client, id).await,
        SessionAction::Extend => {
            let Some(hours) = hours.and_then(extend_hours) else {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "hours must be a whole number from 1 to {MAX_EXTEND_HOURS}, got {}",
                        hours.map_or("nothing".to_owned(), |h| h.to_string())
                    ),
                )
                .with_hint("Send {\"hours\": 1}; the broker also caps a session's whole life at its hard maximum."));
            };
            extend(client, id, hours).await
        }
    }
    .map_err(|e| broker_error(id, e));
    state.monitor.refresh(crate::api::REFRESH_PATIENCE).await;
    result
}

/// Cleans up every orphan (our running or provisioning sessions no run in progress owns):
/// the results of those cleaned, and why the others were not.
pub async fn clean_up_orphans(state: &AppState) -> (Vec<SessionActionResult>, Vec<ApiError>) {
    let orphans: Vec<String> = state
        .hub
        .with_state(|s| s.orphans().iter().map(|o| o.id.clone()).collect());
    let (mut cleaned, mut failed) = (Vec::new(), Vec::new());
    for id in orphans {
        match clean_up(state.monitor.client(), &id, CLEANUP_PATIENCE, &|_| {}).await {
            Ok(result) => cleaned.push(result),
            Err(e) => failed.push(broker_error(&id, e)),
        }
    }
    state.monitor.refresh(crate::api::REFRESH_PATIENCE).await;
    (cleaned, failed)
}

/// Destroys session `id`, following it for at most `patience` (`retrying` hears why it
/// asks again): `destroyed` once the broker confirms, `unconfirmed` if it does not. A
/// session the broker does not know is its error.
pub async fn clean_up(
    client: &ShopperClient,
    id: &str,
    patience: Duration,
    retrying: &(dyn Fn(&str) + Sync),
) -> Result<SessionActionResult, ShopperError> {
    client.get_session(id).await?;
    let (outcome, message) = match cleanup::destroy(client, id, patience, retrying).await {
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
        id: id.to_owned(),
        action: SessionAction::Cleanup,
        outcome,
        message,
        expires_at: None,
    })
}

/// Tells the broker session `id` is done.
pub async fn done(client: &ShopperClient, id: &str) -> Result<SessionActionResult, ShopperError> {
    let reply = client.done(id).await?;
    Ok(SessionActionResult {
        id: id.to_owned(),
        action: SessionAction::Done,
        outcome: ActionOutcome::Done,
        message: reply.message,
        expires_at: None,
    })
}

/// Extends session `id` by `hours` (checked by [`extend_hours`]).
pub async fn extend(
    client: &ShopperClient,
    id: &str,
    hours: u32,
) -> Result<SessionActionResult, ShopperError> {
    let reply = client.extend(id, hours).await?;
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
