//! Step 4, Create session: books the selected offer, asking for the disk the model needs
//! (weights, the vLLM image, headroom) and the configured SSH verification budget. When the
//! provider no longer has the offer (stale inventory) or the broker suggests another after
//! a failure (`retry_suggested`), the inventory is asked again and the next-best untried
//! offer is booked, at most [`ATTEMPTS`] offers in all, each attempt logged, and the Select
//! offer step then shows the offer booked. A test pinned to an offer is booked only on
//! that offer's GPU type and count, and fails `pinned_offer_gone` when none is left.
//! Providers' error codes in the broker's answers get a plain sentence beside them. When
//! the broker says the model needs more disk, the same offer is asked again once at its
//! recommendation (within `--max-disk-gb`), after deleting the `pending` record the refused
//! create leaves behind. The one-time SSH key the broker returns stays in memory only.
//!
//! The broker's POST runs in a task of its own and records the session on the run itself:
//! a cancel (or a shutdown) that drops this step never drops a create in flight, and
//! cleanup waits for it, so a session the broker makes is always destroyed.

use super::select::{pinned_gone, Exclusions};
use super::{describe, Booked, Deps, Offer, Offers, ResolvedModel};
use crate::runner::error::StepError;
use crate::shopper::ShopperError;
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::ids::OfferId;
use gdl_model::registry::Quantization;
use gdl_model::runs::{DeployMode, OfferChoice, PinnedGpu, Rental, StepName, UnclearCreate};
use gdl_model::shopper::{explain_provider_error, CreateSessionRequest, CreateSessionResponse};

/// Offers tried when the first is gone at the provider.
pub const ATTEMPTS: usize = 3;

pub async fn run(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offers: &Offers,
    selected: Offer,
) -> Result<Booked, StepError> {
    if d.ctx.config().deploy_mode.broker_launched() {
        d.ctx.warn(ENTRYPOINT_CAVEATS);
    }
    let exclusions = Exclusions::for_test(&d.ctx.config(), &selected);
    book(d, model, offers, selected, &exclusions).await
}

/// What the broker's entrypoint mode does that a person should know before paying for it
/// (`internal/service/provisioner/service.go`, `waitForAPIVerifyAsync`).
const ENTRYPOINT_CAVEATS: &str = "Entrypoint mode: the broker starts vLLM itself, without an API key, on a port the provider publishes; it never marks the session running and ends it about 10 minutes after its creation (its provisioning timeout), so the test must be done by then";

/// Books `selected`, or the next-best offer `exclusions` allow when it is gone.
pub async fn book(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offers: &Offers,
    selected: Offer,
    exclusions: &Exclusions,
) -> Result<Booked, StepError> {
    let mut tried: Vec<OfferId> = Vec::new();
    let mut candidate = selected;
    let max_disk = d.config.max_disk_gb;
    let mut disk = disk_for(model, d.ctx.config().deploy_mode).min(max_disk);
    let mut disk_raised = false;
    for attempt in 1..=ATTEMPTS {
        if d.ctx.cancel_token().is_cancelled() {
            return Err(StepError::new(ErrorCode::Cancelled, "cancelled"));
        }
        // The offer is recorded before the create, so a restart can find a session the
        // broker made while this process was gone (its reply names no offer).
        d.ctx
            .update(|run| run.offer = Some(OfferChoice::of(&candidate)))
            .await;
        d.ctx.info(&format!(
            "Creating a session on {} (attempt {attempt}/{ATTEMPTS})",
            candidate.id
        ));
        if let Some(warning) = offers
            .history
            .slow_verification(&candidate, d.config.ssh_timeout_minutes)
        {
            d.ctx.warn(&warning);
        }
        let (short, message) = match create_clearing(d, model, &candidate, disk, disk_raised).await
        {
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
            Err(ShopperError::StaleInventory { message, .. }) => (
                "is gone",
                format!(
                    "is gone at the provider: {}",
                    explain_provider_error(&message)
                ),
            ),
            Err(ShopperError::NotFound { message, .. })
                if message.starts_with("offer not found") =>
            {
                (
                    "is gone",
                    format!("is gone from the broker's listing: {message}"),
                )
            }
            // The broker keeps one active session per consumer and offer: another run of
            // this dashboard holds this one. Nothing was created; take the next best.
            Err(ShopperError::Duplicate { message, .. }) => (
                "is taken by another run of this dashboard",
                format!("is already rented by another run of this dashboard: {message}"),
            ),
            // The broker's create failed and it suggests another offer.
            Err(ShopperError::Server {
                retry_suggested: true,
                message,
                ..
            }) => (
                "could not be rented",
                format!(
                    "failed, and the broker suggests another offer: {}",
                    explain_provider_error(&message)
                ),
            ),
            Err(ShopperError::InsufficientDisk {
                recommended_gb,
                message,
                ..
            }) if !disk_raised && recommended_gb > disk && recommended_gb <= max_disk => {
                d.ctx
                    .warn(&format!("{message}; asking again for {recommended_gb} GB"));
                disk = recommended_gb;
                disk_raised = true;
                continue;
            }
            Err(e) => return Err(explained(e.into())),
        };
        d.ctx.warn(&format!("Offer {} {message}", candidate.id));
        tried.push(candidate.id.clone());
        let fresh = d.client.inventory_all(&offers.query).await?;
        let Some(next) = offers
            .rank_fresh(&fresh)
            .into_iter()
            .find(|o| !tried.contains(&o.id) && exclusions.allows(o))
        else {
            return Err(match exclusions.pinned() {
                Some(gpu) => pinned_gone(format!(
                    "{} {short}, and no other {} offer is left; nothing else was rented in its place",
                    said_offer(d, &candidate),
                    gpu.gpu()
                )),
                None => gone("every matching offer is gone at the provider"),
            });
        };
        replaced(d, &candidate, short, next, exclusions).await;
        candidate = next.clone();
    }
    Err(gone(&format!(
        "the provider refused {ATTEMPTS} offers in a row as no longer available"
    )))
}

/// Says which offer replaces `gone` (and `why`: `is gone`), and shows it on the Select offer step (the offer the
/// run actually rents). A pinned test says it stays on its GPU type.
async fn replaced(d: &Deps<'_>, gone: &Offer, why: &str, next: &Offer, exclusions: &Exclusions) {
    let why = match exclusions.pinned() {
        Some(gpu) => {
            d.ctx.warn(&format!(
                "{} {why}; renting another {}: {} at {}",
                said_offer(d, gone),
                gpu.gpu(),
                next.id,
                PinnedGpu::of(next).price()
            ));
            format!("another {}: offer {} {why}", gpu.gpu(), gone.id)
        }
        None => {
            d.ctx.info(&format!("Next best: {}", describe(next)));
            format!("in place of offer {}, which {why}", gone.id)
        }
    };
    d.ctx
        .detail(StepName::SelectOffer, format!("{} ({why})", describe(next)))
        .await;
}

/// `The offer you chose (ID, RTX 4090 at $0.35/h)` for the pinned offer, `Offer ID (…)`
/// for another.
fn said_offer(d: &Deps<'_>, offer: &Offer) -> String {
    let chosen = d.ctx.config().pin_offer.as_deref() == Some(offer.id.as_str());
    let whose = if chosen {
        "The offer you chose"
    } else {
        "Offer"
    };
    format!("{whose} ({}, {})", offer.id, PinnedGpu::of(offer))
}

/// A step error with a plain sentence for the provider code it carries.
fn explained(mut e: StepError) -> StepError {
    e.message = explain_provider_error(&e.message);
    e
}

/// What installing the engine takes on disk (the image, or the wheels and their
/// dependencies), GB.
pub fn install_gb(mode: DeployMode) -> f64 {
    match mode {
        DeployMode::Docker | DeployMode::Entrypoint => 20.0,
        DeployMode::Pip => 12.0,
    }
}

/// The disk (GB) a rental asks for: the weights half again (download and cache), the
/// install (the vLLM image unpacked, or the pip environment) and headroom, in steps of 5.
pub fn disk_for(model: &ResolvedModel, mode: DeployMode) -> u32 {
    let gb = (model.weights_gb * 1.5 + install_gb(mode) + 8.0).ceil() as u32;
    gb.div_ceil(5) * 5
}

/// [`create`]; after a refused create (`stranded`), a 409 naming our own `pending` record
/// for this offer is that refusal's leftover: it is deleted and the create asked again.
async fn create_clearing(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offer: &Offer,
    disk_gb: u32,
    stranded: bool,
) -> Result<CreateSessionResponse, ShopperError> {
    match create(d, model, offer, disk_gb).await {
        Err(ShopperError::Duplicate {
            existing_session_id: Some(id),
            ..
        }) if stranded => {
            let leftover = d.client.get_session(&id).await?;
            if leftover.status != gdl_model::shopper::SessionStatus::Pending {
                return Err(ShopperError::Duplicate {
                    message: format!("session {id} holds this offer ({})", leftover.status),
                    existing_session_id: Some(id),
                    request_id: None,
                });
            }
            d.ctx.info(&format!(
                "Deleting the pending record {id} the refused create left behind"
            ));
            d.client.delete_session(&id).await?;
            create(d, model, offer, disk_gb).await
        }
        other => other,
    }
}

/// The broker's POST, in its own task: the session it makes is recorded on the run (as
/// the run's session and a new rental) whether or not this step is still waiting.
async fn create(
    d: &Deps<'_>,
    model: &ResolvedModel,
    offer: &Offer,
    disk_gb: u32,
) -> Result<CreateSessionResponse, ShopperError> {
    let request = CreateSessionRequest {
        consumer_id: d.client.consumer_id().to_owned(),
        offer_id: offer.id.clone(),
        workload_type: "llm_vllm".into(),
        reservation_hours: d.ctx.config().reservation_hours,
        model_id: Some(model.served_repo.clone()),
        quantization: (model.quantization != Quantization::None)
            .then(|| model.quantization.as_str().to_owned()),
        disk_gb: Some(disk_gb),
        ssh_timeout_minutes: Some(d.config.ssh_timeout_minutes),
        launch_mode: d
            .ctx
            .config()
            .deploy_mode
            .broker_launched()
            .then(|| "entrypoint".to_owned()),
        ..Default::default()
    };
    let in_flight = d.ctx.create_in_flight();
    let ctx = d.ctx.clone();
    let client = d.client.clone();
    let offer = OfferChoice::of(offer);
    // Written ahead: a dashboard that dies while the broker creates still knows to look.
    let asked_at = Utc::now();
    let asked = UnclearCreate {
        offer: offer.clone(),
        asked_at,
        why: UnclearCreate::IN_FLIGHT.into(),
        settled: None,
    };
    // Recorded inside the task: a cancel that drops this step between the record and
    // the request would leave an "in flight" create that was never sent.
    let task = tokio::spawn(async move {
        ctx.update(|run| run.unclear_creates.push(asked)).await;
        let result = client.create_session(&request).await;
        let unclear = result.as_ref().err().filter(|e| e.outcome_unclear());
        if let Some(e) = unclear {
            ctx.warn(&format!(
                "The broker's answer to the create was lost ({e}): it may have made a session all the same; cleanup will look for it"
            ));
        }
        let why = unclear.map(ToString::to_string);
        ctx.update(|run| {
            let this = |u: &UnclearCreate| u.asked_at == asked_at && u.is_open();
            match why {
                Some(why) => {
                    if let Some(u) = run.unclear_creates.iter_mut().find(|u| this(u)) {
                        u.why = why;
                    }
                }
                // A clear answer, made or refused: nothing to look for.
                None => run.unclear_creates.retain(|u| !this(u)),
            }
            if let Ok(created) = &result {
                let id = created.session.id.clone();
                run.session_id = Some(id.clone());
                let attempt = run.rentals.len() as u32 + 1;
                run.rentals.push(Rental {
                    attempt,
                    session_id: id,
                    offer,
                    created_at: Utc::now(),
                    expires_at: created.session.expires_at,
                    failure: None,
                    cost_usd: 0.0,
                    destroyed: None,
                    ended_at: None,
                    running_after_secs: None,
                });
            }
        })
        .await;
        drop(in_flight);
        result
    });
    task.await.unwrap_or_else(|e| {
        Err(ShopperError::Server {
            status: 0,
            message: format!("the create task failed: {e}"),
            error_type: None,
            retry_suggested: false,
            request_id: None,
        })
    })
}

fn gone(message: &str) -> StepError {
    StepError::new(ErrorCode::OfferStale, message)
        .hint("Offers come and go quickly; try again in a minute or raise the price.")
}
