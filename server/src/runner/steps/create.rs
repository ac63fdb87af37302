//! Step 4, Create session: books the selected offer. When the provider no longer has it
//! (stale inventory), the inventory is asked again and the next-best untried offer is
//! booked, at most [`ATTEMPTS`] offers in all, each attempt logged. The one-time SSH key
//! the broker returns stays in memory only.

use super::select::rank;
use super::{choice, describe, Booked, Deps, Offer, Offers, ResolvedModel};
use crate::runner::error::StepError;
use crate::shopper::ShopperError;
use gdl_model::code::ErrorCode;
use gdl_model::registry::Quantization;
use gdl_model::runs::StepName;
use gdl_model::shopper::CreateSessionRequest;

/// Offers tried when the first is gone at the provider.
pub const ATTEMPTS: usize = 3;

pub async fn run(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offers: &Offers,
    selected: Offer,
) -> Result<Booked, StepError> {
    let test = d.ctx.config();
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
        let request = CreateSessionRequest {
            consumer_id: d.client.consumer_id().to_owned(),
            offer_id: candidate.id.clone(),
            workload_type: "llm_vllm".into(),
            reservation_hours: test.reservation_hours,
            model_id: Some(model.served_repo.clone()),
            quantization: (model.quantization != Quantization::None)
                .then(|| model.quantization.as_str().to_owned()),
            ..Default::default()
        };
        d.ctx.info(&format!(
            "Creating a session on {} (attempt {attempt}/{ATTEMPTS})",
            candidate.id
        ));
        match d.client.create_session(&request).await {
            Ok(created) => {
                let session = created.session;
                // Recorded at once: cleanup reads it from the run, whatever happens next.
                d.ctx
                    .update(|run| run.session_id = Some(session.id.clone()))
                    .await;
                d.ctx
                    .detail(StepName::CreateSession, format!("session {}", session.id))
                    .await;
                return Ok(Booked {
                    session,
                    key: created.ssh_private_key,
                    offer: candidate,
                });
            }
            Err(ShopperError::StaleInventory { message, .. }) => {
                d.ctx.warn(&format!(
                    "Offer {} is gone at the provider: {message}",
                    candidate.id
                ));
                tried.push(candidate.id.clone());
                let fresh = d.client.inventory_all(&offers.query).await?;
                let Some(next) = rank(&fresh).into_iter().find(|o| !tried.contains(&o.id)) else {
                    return Err(gone("every matching offer is gone at the provider"));
                };
                d.ctx.info(&format!("Next best: {}", describe(next)));
                candidate = next.clone();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(gone(&format!(
        "the provider refused {ATTEMPTS} offers in a row as no longer available"
    )))
}

fn gone(message: &str) -> StepError {
    StepError::new(ErrorCode::OfferStale, message)
        .hint("Offers come and go quickly; try again in a minute or raise the price.")
}
