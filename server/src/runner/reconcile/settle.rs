//! What one listing of the broker's sessions settles, without calling anyone: the session a
//! create whose answer was lost made (it becomes a rental of the run, to destroy), or that
//! the create made none; and which of this installation's sessions nothing owns.

use chrono::{DateTime, Duration, Utc};
use gdl_model::ids::SessionId;
use gdl_model::runs::{Rental, Run};
use gdl_model::shopper::Session;
use std::collections::HashSet;

/// A listing of this installation's sessions, as the broker gave it.
pub struct Listing<'a> {
    /// This product's sessions (any installation).
    pub sessions: &'a [Session],
    /// When the broker answered.
    pub at: DateTime<Utc>,
    /// This installation's `consumer_id`.
    pub mine: &'a str,
}

/// How much earlier than the request a session the broker made for it may say it was
/// created (clocks differ).
const CLOCK_SLACK_SECS: i64 = 60;

/// Settles the run's open unclear creates against `listing`. A session of this
/// installation on the create's provider and GPU, created since it was asked and named by
/// no rental (`claimed`, which grows with what is found), is what it made: it becomes a
/// rental of the run, given up, for cleanup to destroy. None in a listing made `window`
/// or more after the ask settles it as nothing made. Returns what was found, for the log.
pub fn settle_unclear(
    run: &mut Run,
    listing: &Listing<'_>,
    claimed: &mut HashSet<SessionId>,
    window: std::time::Duration,
) -> Vec<String> {
    let window = Duration::from_std(window).unwrap_or(Duration::days(3650));
    let mut said = Vec::new();
    for i in 0..run.unclear_creates.len() {
        let create = &run.unclear_creates[i];
        if !create.is_open() {
            continue;
        }
        let since = create.asked_at - Duration::seconds(CLOCK_SLACK_SECS);
        let made = listing
            .sessions
            .iter()
            .filter(|s| {
                s.consumer_id == listing.mine
                    && s.provider == create.offer.provider
                    && s.gpu_type == create.offer.gpu_type
                    && s.gpu_count == create.offer.gpu_count
                    && s.created_at >= since
                    && !claimed.contains(&s.id)
            })
            .min_by_key(|s| s.created_at);
        let asked = create.asked_at.format("%H:%M:%S");
        let offer = create.offer.offer_id.clone();
        let settled = match made {
            Some(session) => {
                claimed.insert(session.id.clone());
                let rental = Rental {
                    attempt: run.rentals.len() as u32 + 1,
                    session_id: session.id.clone(),
                    offer: create.offer.clone(),
                    created_at: session.created_at,
                    expires_at: session.expires_at,
                    failure: Some(format!(
                        "made by the create of {asked} whose answer was lost ({})",
                        create.why
                    )),
                    cost_usd: 0.0,
                    destroyed: None,
                    ended_at: None,
                    running_after_secs: None,
                };
                said.push(format!(
                    "The create of offer {offer} at {asked} whose answer was lost made session {} ({}): destroying it",
                    session.id, session.status
                ));
                run.rentals.push(rental);
                format!(
                    "it made session {}, destroyed with the run's rentals",
                    session.id
                )
            }
            None if listing.at >= create.asked_at + window => {
                said.push(format!(
                    "The create of offer {offer} at {asked} whose answer was lost made no session: the broker lists none from it"
                ));
                format!(
                    "the broker lists no session from it {} min after it was asked",
                    (listing.at - create.asked_at).num_minutes()
                )
            }
            None => continue,
        };
        run.unclear_creates[i].settled = Some(settled);
    }
    said
}

/// This installation's sessions that still bill and that nothing owns: made with its
/// `consumer_id`, active, named by no rental (`claimed`), created `grace` or more before
/// the listing, and not after a run in progress began (its create may not be recorded
/// yet; `oldest_live_run` is when the oldest such run began).
pub fn unowned<'a>(
    listing: &Listing<'a>,
    claimed: &HashSet<SessionId>,
    grace: std::time::Duration,
    oldest_live_run: Option<DateTime<Utc>>,
) -> Vec<&'a Session> {
    let grace = Duration::from_std(grace).unwrap_or(Duration::days(3650));
    listing
        .sessions
        .iter()
        .filter(|s| {
            s.consumer_id == listing.mine
                && s.status.is_active()
                && !claimed.contains(&s.id)
                && s.created_at + grace <= listing.at
                && oldest_live_run.is_none_or(|began| s.created_at < began)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_model::runs::{OfferChoice, UnclearCreate};
    use gdl_model::shopper::{Provider, SessionStatus};

    fn offer(gpu: &str) -> OfferChoice {
        OfferChoice {
            offer_id: format!("vastai-{gpu}").into(),
            provider: Provider::VastAi,
            gpu_type: gpu.into(),
            gpu_count: 1,
            vram_gb: 24,
            price_per_hour: 0.4,
        }
    }

    fn session(id: &str, gpu: &str, consumer: &str, created: DateTime<Utc>) -> Session {
        serde_json::from_value(serde_json::json!({
            "id": id, "consumer_id": consumer, "provider": "vastai", "gpu_type": gpu,
            "gpu_count": 1, "status": "running", "price_per_hour": 0.4,
            "created_at": created, "workload_type": "llm_vllm", "reservation_hours": 1
        }))
        .unwrap()
    }

    fn run_with_unclear(asked_at: DateTime<Utc>) -> Run {
        let config = serde_json::from_str(r#"{"model":"qwen2.5-0.5b","max_price":1}"#).unwrap();
        let mut run = Run::new("run-1".into(), config, asked_at - Duration::minutes(1));
        run.unclear_creates.push(UnclearCreate {
            offer: offer("L4"),
            asked_at,
            why: "the connection was cut".into(),
            settled: None,
        });
        run
    }

    const WINDOW: std::time::Duration = std::time::Duration::from_secs(360);

    #[test]
    fn the_session_an_unclear_create_made_becomes_a_rental_to_destroy() {
        let asked = Utc::now() - Duration::minutes(2);
        let mut run = run_with_unclear(asked);
        let listed = [
            // Another installation's, the right GPU: not ours to take.
            session("theirs", "L4", "gpu-deploy-llm/other", asked),
            // Ours, another GPU.
            session("t4", "T4", "gpu-deploy-llm/me", asked),
            // Ours, but from before the create.
            session(
                "older",
                "L4",
                "gpu-deploy-llm/me",
                asked - Duration::minutes(5),
            ),
            // Ours, already a rental of some run.
            session("claimed", "L4", "gpu-deploy-llm/me", asked),
            session(
                "made",
                "L4",
                "gpu-deploy-llm/me",
                asked + Duration::seconds(3),
            ),
        ];
        let listing = Listing {
            sessions: &listed,
            at: Utc::now(),
            mine: "gpu-deploy-llm/me",
        };
        let mut claimed = HashSet::from(["claimed".into()]);
        let said = settle_unclear(&mut run, &listing, &mut claimed, WINDOW);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("made session made"), "{said:?}");
        assert_eq!(run.rentals.len(), 1);
        let rental = &run.rentals[0];
        assert_eq!(rental.session_id, "made");
        assert!(rental.failure.is_some() && rental.destroyed.is_none());
        assert!(claimed.contains("made"));
        assert!(!run.unclear_creates[0].is_open());
        assert!(
            run.owes_cleanup(),
            "the rental it found is still to destroy"
        );
        // Settled once: a second listing changes nothing.
        assert!(settle_unclear(&mut run, &listing, &mut claimed, WINDOW).is_empty());
        assert_eq!(run.rentals.len(), 1);
    }

    #[test]
    fn nothing_found_settles_only_after_the_window() {
        let asked = Utc::now() - Duration::minutes(2);
        let mut run = run_with_unclear(asked);
        let early = Listing {
            sessions: &[],
            at: asked + Duration::minutes(1),
            mine: "gpu-deploy-llm/me",
        };
        let mut claimed = HashSet::new();
        assert!(settle_unclear(&mut run, &early, &mut claimed, WINDOW).is_empty());
        assert!(run.owes_cleanup(), "the broker may still be making it");
        let late = Listing {
            at: asked + Duration::minutes(7),
            ..early
        };
        let said = settle_unclear(&mut run, &late, &mut claimed, WINDOW);
        assert!(said[0].contains("made no session"), "{said:?}");
        assert!(!run.owes_cleanup());
        assert!(run.rentals.is_empty());
    }

    #[test]
    fn unowned_sessions_are_ours_active_unclaimed_past_the_grace_and_older_than_live_runs() {
        let now = Utc::now();
        let ago = |m| now - Duration::minutes(m);
        let mut stopped = session("stopped", "L4", "gpu-deploy-llm/me", ago(60));
        stopped.status = SessionStatus::Stopped;
        let listed = [
            session("orphan", "L4", "gpu-deploy-llm/me", ago(30)),
            session("young", "L4", "gpu-deploy-llm/me", ago(2)),
            session("theirs", "L4", "gpu-deploy-llm/other", ago(30)),
            session("rented", "L4", "gpu-deploy-llm/me", ago(30)),
            session("during-a-run", "L4", "gpu-deploy-llm/me", ago(15)),
            stopped,
        ];
        let listing = Listing {
            sessions: &listed,
            at: now,
            mine: "gpu-deploy-llm/me",
        };
        let claimed = HashSet::from(["rented".into()]);
        let grace = std::time::Duration::from_secs(600);
        let ids = |live| -> Vec<String> {
            unowned(&listing, &claimed, grace, live)
                .iter()
                .map(|s| s.id.to_string())
                .collect()
        };
        assert_eq!(ids(Some(ago(20))), ["orphan"]);
        assert_eq!(ids(None), ["orphan", "during-a-run"]);
    }
}
