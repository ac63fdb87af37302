//! What a person can do to our sessions: clean up (destroy, followed until the broker
//! confirms, for a while), done and extend, one at a time or every orphan at once. Only our
//! sessions are acted on; the list is refreshed after every action so the pages show what
//! the broker now says. The broker calls themselves are in `crate::sessions`, which the
//! CLI runs with only a broker client.

use super::{Dashboard, History, ServiceError, ServiceResult};
use crate::monitor::REFRESH_PATIENCE;
use crate::sessions::{self as broker, CLEANUP_PATIENCE, MAX_EXTEND_HOURS};
use crate::shopper::ShopperClient;
use gdl_model::code::ErrorCode;
use gdl_model::ids::SessionId;
use gdl_model::live::LiveState;
use gdl_model::query::MAX_PAGE_ROWS;
use gdl_model::runs::{RunFilters, RunStatus};
use gdl_model::sessions::{
    ActionOutcome, OrphanCleanup, Orphans, SessionAction, SessionActionResult, SessionView,
};

impl Dashboard {
    /// Does `action` to session `id` (`hours` for an extend), then refreshes the list.
    pub async fn act_on_session(
        &self,
        id: &SessionId,
        action: SessionAction,
        hours: Option<i64>,
    ) -> ServiceResult<SessionActionResult> {
        self.ours(id, "Refresh the Sessions tab: only sessions this dashboard's broker lists for us can be acted on.")?;
        let client = self.monitor().client();
        let result = match action {
            SessionAction::Cleanup => broker::clean_up(client, id, CLEANUP_PATIENCE, &|_| {}).await,
            SessionAction::Done => broker::done(client, id).await,
            SessionAction::Extend => {
                let Some(hours) = hours.and_then(broker::extend_hours) else {
                    return Err(ServiceError::invalid(
                        format!(
                            "hours must be a whole number from 1 to {MAX_EXTEND_HOURS}, got {}",
                            hours.map_or("nothing".to_owned(), |h| h.to_string())
                        ),
                        "Send {\"hours\": 1}; the broker also caps a session's whole life at its hard maximum.",
                    ));
                };
                broker::extend(client, id, hours).await
            }
        }
        .map_err(|e| broker::broker_error(id, e));
        if matches!(&result, Ok(r) if r.outcome == ActionOutcome::Destroyed) {
            self.runner().destroyed_by_hand(id).await;
        }
        self.monitor().refresh(REFRESH_PATIENCE).await;
        Ok(result?)
    }

    /// Destroys one of our sessions now (the run banner's "Clean up now"): one delete,
    /// then the list refreshed.
    pub async fn destroy_session(&self, id: &SessionId) -> ServiceResult<String> {
        self.ours(
            id,
            "Refresh the Sessions tab; only sessions this dashboard created can be destroyed here.",
        )?;
        self.monitor().client().delete_session(id).await?;
        self.monitor().refresh(REFRESH_PATIENCE).await;
        Ok(format!("session {id} destroyed"))
    }

    /// Our sessions that cost money and that no run in progress uses, and what they cost
    /// together per hour.
    pub fn orphans(&self) -> Orphans {
        self.hub().with_state(|s| Orphans {
            sessions: s.orphans().into_iter().cloned().collect(),
            burn_per_hour: s.orphan_burn_per_hour(),
        })
    }

    /// Cleans up every orphan: the results of those cleaned, and why the others were not.
    pub async fn clean_up_orphans(&self) -> OrphanCleanup {
        let ids: Vec<SessionId> = self
            .hub()
            .with_state(|s| s.orphans().iter().map(|o| o.id.clone()).collect());
        let done = clean_up_sessions(self.monitor().client(), ids).await;
        self.monitor().refresh(REFRESH_PATIENCE).await;
        done
    }

    /// `session_not_found` unless `id` is one of the sessions the broker lists for us.
    fn ours(&self, id: &SessionId, hint: &str) -> ServiceResult<()> {
        if self.hub().has_session(id) {
            return Ok(());
        }
        Err(ServiceError::new(
            ErrorCode::SessionNotFound,
            format!("session not found: {id} is not one of our sessions"),
            hint,
        ))
    }
}

/// This installation's sessions that cost money and that no run in progress owns, as the
/// broker lists them now and as the store has the runs and the installation's id: what the CLI asks without a dashboard (the rule is
/// the live state's, so both find the same orphans).
pub async fn find_orphans(client: &ShopperClient, history: &History) -> ServiceResult<Orphans> {
    let in_progress = RunFilters {
        status: Some(RunStatus::Running),
        limit: Some(MAX_PAGE_ROWS),
        ..RunFilters::default()
    };
    let runs = history.runs(&in_progress).await?;
    let mine = gdl_model::consumer_id(&history.store().installation_id().await?);
    let sessions = client.our_sessions().await?;
    let facts = history
        .store()
        .rental_facts(sessions.iter().map(|s| s.id.clone()).collect())
        .await?;
    let state = LiveState {
        sessions: sessions
            .iter()
            .map(|s| {
                let mut view = SessionView::from_session(s, None);
                view.run_id = facts.get(&s.id).map(|f| f.run_id.clone());
                view.mark_whose(&mine);
                (s.id.clone(), view)
            })
            .collect(),
        runs: runs.into_iter().map(|r| (r.id.clone(), r)).collect(),
        ..LiveState::default()
    };
    Ok(Orphans {
        sessions: state.orphans().into_iter().cloned().collect(),
        burn_per_hour: state.orphan_burn_per_hour(),
    })
}

/// Cleans up each of `ids`, following each until the broker confirms (for a while): the
/// results of those cleaned, and why the others were not.
pub async fn clean_up_sessions(client: &ShopperClient, ids: Vec<SessionId>) -> OrphanCleanup {
    let mut done = OrphanCleanup::default();
    for id in ids {
        match broker::clean_up(client, &id, CLEANUP_PATIENCE, &|_| {}).await {
            Ok(result) => done.cleaned.push(result),
            Err(e) => done.failed.push(broker::broker_error(&id, e)),
        }
    }
    done
}
