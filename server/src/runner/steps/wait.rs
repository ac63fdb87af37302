//! Step 5, Wait for running: polls the session with backoff (gentler on TensorDock, whose
//! cloud-init takes a while), logging each status the broker reports and when. When the
//! provider fails to start the machine, the session is destroyed and the run rents again on
//! the next-best offer it has not ruled out, at most `max_rentals` rentals in all, each
//! logged with what it cost. In the entrypoint mode the broker never marks the session
//! running: the step ends once it reports the SSH address of the provisioning session.

use super::create;
use super::select::{self, Exclusions};
use super::{describe, Booked, Deps, Offer, Offers, ResolvedModel, RunningSession};
use crate::runner::destroy::destroy;
use crate::runner::error::StepError;
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::ids::SessionId;
use gdl_model::runs::StepName;
use gdl_model::shopper::{explain_provider_error, Provider, Session, SessionStatus};
use std::time::{Duration, Instant};

/// How long a session may take to reach running (the broker gives up at about 11 min).
const RUNNING_LIMIT: Duration = Duration::from_secs(12 * 60);

pub async fn run(
    d: &Deps<'_>,
    booked: Booked,
    model: &ResolvedModel,
    offers: &Offers,
) -> Result<RunningSession, StepError> {
    let mut exclusions = Exclusions::for_test(&d.ctx.config(), &booked.offer);
    follow(d, booked, model, offers, &mut exclusions).await
}

/// Waits for `booked` to run, renting again on the next offer `exclusions` allow (ruling
/// out each that fails to start) while rentals are left.
pub async fn follow(
    d: &Deps<'_>,
    booked: Booked,
    model: &ResolvedModel,
    offers: &Offers,
    exclusions: &mut Exclusions,
) -> Result<RunningSession, StepError> {
    let mut booked = booked;
    loop {
        let failure = match until_running(d, &booked.session).await {
            Ok(running) => {
                if running.status == SessionStatus::Running {
                    record_verified(d, &running.id).await;
                }
                d.ctx
                    .detail(
                        StepName::WaitForRunning,
                        format!(
                            "{}:{} as {}",
                            running.ssh_host.as_deref().unwrap_or("?"),
                            running.ssh_port.unwrap_or(22),
                            running.ssh_user.as_deref().unwrap_or("?")
                        ),
                    )
                    .await;
                return Ok(RunningSession {
                    session: running,
                    key: booked.key,
                    offer: booked.offer,
                });
            }
            Err(e) if is_provisioning(&e) => e,
            Err(e) => return Err(e),
        };
        let rentals = d.ctx.read(|run| run.rentals.len()) as u32;
        give_up(d, &booked.session.id, &booked.offer, &failure).await;
        exclusions.failed(&booked.offer);
        let max = d.config.max_rentals.max(1);
        if rentals >= max {
            return Err(StepError {
                message: format!(
                    "{} ({rentals} rental(s), the most this run may make)",
                    failure.message
                ),
                ..failure
            });
        }
        d.ctx.info(&format!(
            "Renting again on another offer (rental {} of at most {max})",
            rentals + 1
        ));
        let next = select::next(d, offers, exclusions).await?;
        d.ctx.info(&format!("Next best: {}", describe(&next)));
        d.ctx
            .detail(
                StepName::SelectOffer,
                format!(
                    "{} (rental {}: the machine on offer {} failed to start)",
                    describe(&next),
                    rentals + 1,
                    booked.offer.id
                ),
            )
            .await;
        booked = create::book(d, model, offers, next, exclusions).await?;
    }
}

/// Notes on the rental how long the broker took to report it running (its SSH verified).
async fn record_verified(d: &Deps<'_>, id: &str) {
    let now = Utc::now();
    d.ctx
        .update(|run| {
            if let Some(r) = run.rentals.iter_mut().find(|r| r.session_id == id) {
                let secs = (now - r.created_at).num_milliseconds().max(0) as f64 / 1000.0;
                r.running_after_secs = Some(secs);
            }
        })
        .await;
}

/// Provisioning failures are the provider's; another machine may well start.
fn is_provisioning(e: &StepError) -> bool {
    matches!(
        e.code,
        ErrorCode::ProvisioningFailed | ErrorCode::ProvisioningTimeout
    )
}

/// Records why the rental of session `id` on `offer` failed and what it cost, and destroys
/// it (confirmed, or left to cleanup).
pub async fn give_up(d: &Deps<'_>, id: &SessionId, offer: &Offer, failure: &StepError) {
    let id = id.clone();
    let now = Utc::now();
    let cost = d.ctx.read(|run| {
        run.rentals
            .iter()
            .find(|r| r.session_id == id)
            .map(|r| r.cost_until(now))
            .unwrap_or_default()
    });
    d.ctx.warn(&format!(
        "Rental of {} failed: {} (cost so far ${cost:.4})",
        describe(offer),
        failure.message
    ));
    // Not confirmed in a while: cleanup tries it again, with all its patience.
    let patience = d.config.destroy_patience.min(Duration::from_secs(120));
    let destroyed = destroy(d.client, &id, patience, &|m| d.ctx.warn(m)).await;
    match &destroyed {
        Ok(done) => d.ctx.info(&done.message(&id)),
        Err(e) => d.ctx.error(&e.message),
    }
    d.ctx
        .update(|run| {
            if let Some(r) = run.rentals.iter_mut().find(|r| r.session_id == id) {
                r.failure = Some(failure.message.clone());
                r.cost_usd = cost;
                r.record_destroy(destroyed.is_ok(), Utc::now());
            }
        })
        .await;
}

/// Polls until the session runs, or says why it will not.
async fn until_running(d: &Deps<'_>, session: &Session) -> Result<Session, StepError> {
    let started = Instant::now();
    let cap = match session.provider {
        Provider::TensorDock => Duration::from_secs(20),
        _ => Duration::from_secs(10),
    };
    let mut pause = Duration::from_millis(500);
    let mut last = None;
    let broker_launched = d.ctx.config().deploy_mode.broker_launched();
    loop {
        let s = d.client.get_session(&session.id).await?;
        if last != Some(s.status) {
            d.ctx.info(&format!(
                "Session is {} after {:.0} s",
                s.status,
                started.elapsed().as_secs_f64()
            ));
            last = Some(s.status);
        }
        match s.status {
            SessionStatus::Running => return Ok(s),
            SessionStatus::Provisioning if broker_launched && s.ssh_host.is_some() => {
                d.ctx.info("The broker reports the SSH address while it starts vLLM; going on (it never marks this mode running)");
                return Ok(s);
            }
            status if status.is_terminal() || status == SessionStatus::Stopping => {
                return Err(StepError::new(
                    ErrorCode::ProvisioningFailed,
                    format!(
                        "the session ended while starting ({status}): {}",
                        explain_provider_error(s.error_text().unwrap_or("no reason given"))
                    ),
                )
                .hint("Providers' machines fail to start now and then; run the test again (another offer may be picked)."));
            }
            _ => {}
        }
        if started.elapsed() > RUNNING_LIMIT {
            return Err(StepError::new(
                ErrorCode::ProvisioningTimeout,
                format!("not running after {} min", RUNNING_LIMIT.as_secs() / 60),
            )
            .hint("The provider is slow to start this machine; try another offer."));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(cap);
    }
}
