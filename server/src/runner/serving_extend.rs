//! Keeping a deployment's reservation ahead of it: when less than
//! [`ServingConfig::extend_before`](super::serving::ServingConfig) is left and its guards
//! would let it serve past the reservation, the session is extended by an hour. At the
//! broker's hard maximum (12 hours after the session was created) it cannot be: the
//! deployment says when it will end.

use super::steps::Deps;
use crate::deploy::Live;
use chrono::{DateTime, Utc};

/// Hours asked for on each extension.
const HOURS: u32 = 1;

/// Extends the reservation when it is due.
pub async fn extend_if_due(d: &Deps<'_>, live: &Live, now: DateTime<Utc>) {
    let (session, expires, hard_end, next) = live.read(|x| {
        (
            x.session_id.clone(),
            x.expires_at,
            x.hard_end_at,
            x.deadline(now),
        )
    });
    let (Some(session), Some(expires)) = (session, expires) else {
        return;
    };
    let before = chrono::Duration::from_std(d.config.serving.extend_before).unwrap_or_default();
    // Not yet, or a guard ends it before the reservation does.
    if expires - now > before || next.is_some_and(|n| n.at <= expires) {
        return;
    }
    if hard_end.is_some_and(|end| expires >= end) {
        return;
    }
    match d.client.extend(session.as_str(), HOURS).await {
        Ok(answer) => {
            let new_end = answer
                .new_expires_at
                .unwrap_or(expires + chrono::Duration::hours(HOURS as i64));
            d.ctx.info(&format!(
                "Reservation of session {session} extended to {}",
                new_end.format("%Y-%m-%d %H:%M UTC")
            ));
            live.change(|x| x.expires_at = Some(new_end));
            d.ctx
                .update(|run| {
                    if let Some(rental) = run
                        .rentals
                        .iter_mut()
                        .rev()
                        .find(|r| r.session_id == session)
                    {
                        rental.expires_at = Some(new_end);
                    }
                })
                .await;
        }
        Err(e) => {
            let end = hard_end.map_or(expires, |h| h.min(expires));
            let message = format!(
                "the reservation could not be extended ({e}): the broker ends the session at {}",
                end.format("%Y-%m-%d %H:%M UTC")
            );
            d.ctx.warn(&message);
            // Said once: the next attempt is made only if the reservation moved.
            live.change(|x| {
                x.message = Some(message);
                x.hard_end_at = Some(end);
            });
        }
    }
}
