//! Step 4, Create session: books the selected offer. When the provider no longer has it
//! (stale inventory), the inventory is asked again and the next-best untried offer is
//! booked, at most [`ATTEMPTS`] offers in all, each attempt logged. The one-time SSH key
//! the broker returns stays in memory only.
//!
//! The broker's POST runs in a task of its own and records the session on the run itself:
//! a cancel (or a shutdown) that drops this step never drops a create in flight, and
//! cleanup waits for it, so a session the broker makes is always destroyed.

use super::select::{rank, Exclusions};
use super::{choice, describe, Booked, Deps, Offer, Offers, ResolvedModel};
use crate::runner::error::StepError;
use crate::shopper::ShopperError;
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::registry::Quantization;
use gdl_model::runs::{Rental, StepName};
use gdl_model::shopper::{CreateSessionRequest, CreateSessionResponse};

/// Offers tried when the first is gone at the provider.
pub const ATTEMPTS: usize = 3;

pub async fn run(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offers: &Offers,
    selected: Offer,
) -> Result<Booked, StepError> {
    book(d, model, offers, selected, &Exclusions::default()).await
}

/// Books `selected`, or the next-best offer `exclusions` allow when it is gone.
pub async fn book(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offers: &Offers,
    selected: Offer,
    exclusions: &Exclusions,
) -> Result<Booked, StepError> {
    let mut tried: Vec<String> = Vec::new();
    let mut candidate = selected;
    for attempt in 1..=ATTEMPTS {
        if d.ctx.cancel_token().is_cancelled() {
            return Err(StepError::new(ErrorCode::Cancelled, "cancelled"));
        }
        // The offer is recorded before the create, so a restart can find a session the
        // broker made while this process was gone (its reply names no offer).
        d.ctx
            .update(|run| run.offer = Some(choice(&candidate)))
            .await;
        d.ctx.info(&format!(
            "Creating a session on {} (attempt {attempt}/{ATTEMPTS})",
            candidate.id
        ));
        let message = match create(d, model, &candidate).await {
            Ok(created) => {
                let session = created.session;
                d.ctx
                    .detail(StepName::CreateSession, format!("session {}", session.id))
                    .await;
                return Ok(Booked {
                    session,
                    key: created.ssh_private_key,
                    offer: candidate,
                });
            }
            // Gone at the provider (503 stale inventory), or gone from the broker's
            // listing since we read it (404 `offer not found`: its inventory cache was
            // refreshed in between). Either way nothing was created; try the next best.
            Err(ShopperError::StaleInventory { message, .. }) => message,
            Err(ShopperError::NotFound { message, .. })
                if message.starts_with("offer not found") =>
            {
                message
            }
            Err(e) => return Err(e.into()),
        };
        d.ctx.warn(&format!(
            "Offer {} is gone at the provider: {message}",
            candidate.id
        ));
        tried.push(candidate.id.clone());
        let fresh = d.client.inventory_all(&offers.query).await?;
        let Some(next) = rank(&fresh)
            .into_iter()
            .find(|o| !tried.contains(&o.id) && exclusions.allows(o))
        else {
            return Err(gone("every matching offer is gone at the provider"));
        };
        d.ctx.info(&format!("Next best: {}", describe(next)));
        candidate = next.clone();
    }
    Err(gone(&format!(
        "the provider refused {ATTEMPTS} offers in a row as no longer available"
    )))
}

/// The broker's POST, in its own task: the session it makes is recorded on the run (as
/// the run's session and a new rental) whether or not this step is still waiting.
async fn create(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offer: &Offer,
) -> Result<CreateSessionResponse, ShopperError> {
    let request = CreateSessionRequest {
        consumer_id: d.client.consumer_id().to_owned(),
        offer_id: offer.id.clone(),
        workload_type: "llm_vllm".into(),
        reservation_hours: d.ctx.config().reservation_hours,
        model_id: Some(model.served_repo.clone()),
        quantization: (model.quantization != Quantization::None)
            .then(|| model.quantization.as_str().to_owned()),
        ..Default::default()
    };
    let in_flight = d.ctx.create_in_flight();
    let ctx = d.ctx.clone();
    let client = d.client.clone();
    let offer = choice(offer);
    let task = tokio::spawn(async move {
        let result = client.create_session(&request).await;
        if let Ok(created) = &result {
            let id = created.session.id.clone();
            let expires_at = created.session.expires_at;
            ctx.update(|run| {
                run.session_id = Some(id.clone());
                let attempt = run.rentals.len() as u32 + 1;
                run.rentals.push(Rental {
                    attempt,
                    session_id: id,
                    offer,
                    created_at: Utc::now(),
                    expires_at,
                    failure: None,
                    cost_usd: 0.0,
                    destroyed: None,
                });
            })
            .await;
        }
        drop(in_flight);
        result
    });
    task.await.unwrap_or_else(|e| {
        Err(ShopperError::Server {
            status: 0,
            message: format!("the create task failed: {e}"),
            error_type: None,
            request_id: None,
        })
    })
}

fn gone(message: &str) -> StepError {
    StepError::new(ErrorCode::OfferStale, message)
        .hint("Offers come and go quickly; try again in a minute or raise the price.")
}
