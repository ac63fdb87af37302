//! A bad host is replaced, not fatal: step 7 (Diagnose host) checks the host against what
//! the run needs ([`unsuitable`]: a GPU seen, as many as the offer lists and of its kind, a
//! driver new enough for the engine version, the disk the weights and the install take).
//! A host that falls short is given back (destroyed and confirmed, the reason and cost on
//! its rental, which the history that ranks offers counts as failed), its offer ruled out,
//! and the next offer rented, waited for, connected to and diagnosed in turn, within
//! `--max-rentals`; out of rentals or offers, the run fails `host_unsuitable` with the reason.
//!
//! The broker has no call to report a bad host (its failure tracker records only its own
//! provisioning failures; `GET /api/v1/offer-health` only reads it), so destroying the
//! session is all we can tell it.

use super::engine_fit::Fit;
use super::error::StepError;
use super::steps::select::{self, Exclusions};
use super::steps::{connect, create, describe, diagnose, wait};
use super::steps::{Connected, Deps, Offer, Offers, ResolvedModel};
use gdl_model::code::ErrorCode;
use gdl_model::engines::EngineVersion;
use gdl_model::gpus;
use gdl_model::runs::{HostReport, StepName};

/// Step 7: diagnoses `connected`, replacing it while it cannot run what the run deploys;
/// gives the host the next steps use.
pub async fn diagnosed(
    d: &Deps<'_>,
    connected: Connected,
    model: &ResolvedModel,
    offers: &Offers,
) -> Result<Connected, StepError> {
    let fit = Fit::of(&d.ctx.config());
    let disk_gb = model.weights_gb + create::install_gb(d.ctx.config().deploy_mode);
    let mut exclusions = Exclusions::for_test(&d.ctx.config(), &connected.offer);
    let mut connected = connected;
    let mut given_back: Vec<String> = Vec::new();
    loop {
        let report = diagnose::run(d, &connected).await?;
        let offer = connected.offer.clone();
        let Some(why) = unsuitable(&report, &offer, fit.engine, disk_gb) else {
            if !given_back.is_empty() {
                let detail = format!(
                    "{} GPU(s) seen on offer {}; given back before: {}",
                    report.gpus.len(),
                    offer.id,
                    given_back.join("; ")
                );
                d.ctx.detail(StepName::DiagnoseHost, detail).await;
            }
            return Ok(connected);
        };
        // The connection goes before the machine does.
        drop(connected);
        let why = format!(
            "the host of offer {} cannot run {}: {why}",
            offer.id,
            fit.label()
        );
        let failure = StepError::new(ErrorCode::HostUnsuitable, why.clone());
        let rentals = d.ctx.read(|run| run.rentals.len()) as u32;
        let max = d.config.max_rentals.max(1);
        let plan = if rentals < max {
            format!(
                "giving it back and renting the next offer (rental {} of at most {max})",
                rentals + 1
            )
        } else {
            format!("giving it back; {rentals} rental(s) made, the most this run may make")
        };
        d.ctx.warn(&format!("{}; {plan}", capitalised(&why)));
        d.ctx.detail(StepName::DiagnoseHost, why.clone()).await;
        if let Some(session) = d.ctx.read(|run| run.session_id.clone()) {
            wait::give_up(d, &session, &offer, &failure).await;
        }
        exclusions.failed(&offer);
        given_back.push(why.clone());
        if rentals >= max {
            return Err(unsuitable_error(format!(
                "{why} ({rentals} rental(s), the most this run may make)"
            )));
        }
        let next = match select::next(d, offers, &exclusions).await {
            Ok(next) => next,
            Err(e) if e.code == ErrorCode::NoOffers || e.code == ErrorCode::PinnedOfferGone => {
                return Err(unsuitable_error(format!("{why}; {}", e.message)))
            }
            Err(e) => return Err(e),
        };
        d.ctx.info(&format!("Next best: {}", describe(&next)));
        d.ctx
            .detail(
                StepName::SelectOffer,
                format!(
                    "{} (rental {}: the host of offer {} could not run {})",
                    describe(&next),
                    rentals + 1,
                    offer.id,
                    fit.label()
                ),
            )
            .await;
        let booked = create::book(d, model, offers, next, &exclusions).await?;
        let running = wait::follow(d, booked, model, offers, &mut exclusions).await?;
        connected = connect::run(d, running).await?;
    }
}

/// The run's failure when no host that can run it is left to rent.
fn unsuitable_error(message: String) -> StepError {
    StepError::new(ErrorCode::HostUnsuitable, message).hint(
        "Each host rented could not run the engine (its GPU, driver or disk fell short of the offer or the engine's needs); try again later, another provider, or an engine version that needs an older CUDA.",
    )
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Why the host `report` describes cannot run `engine` as `offer` promised, with `disk_gb`
/// of free disk needed; `None` when it can. A GPU name the catalogue does not know is not
/// compared, and a driver whose CUDA version the host does not print is not judged.
pub fn unsuitable(
    report: &HostReport,
    offer: &Offer,
    engine: &EngineVersion,
    disk_gb: f64,
) -> Option<String> {
    let Some(first) = report.gpus.first() else {
        return Some("no GPU is visible (nvidia-smi failed or found none)".into());
    };
    if (report.gpus.len() as u32) < offer.gpu_count {
        return Some(format!(
            "{} GPU(s) seen, the offer lists {}",
            report.gpus.len(),
            offer.gpu_count
        ));
    }
    let seen_gb = first.memory_total_mib as f64 / 1024.0;
    let seen = gpus::lookup_with_vram(&first.name, seen_gb.round() as u32);
    let listed = gpus::lookup_with_vram(&offer.gpu_type, offer.vram_gb);
    if let (Some(seen), Some(listed)) = (seen, listed) {
        if seen.compute_capability != listed.compute_capability {
            return Some(format!(
                "its GPU is {}, the offer lists {}",
                first.name, offer.gpu_type
            ));
        }
    }
    // Brokers round memory (24 GB is 24564 MiB): only a clear shortfall counts.
    if seen_gb < offer.vram_gb as f64 * 0.9 {
        return Some(format!(
            "its GPU has {seen_gb:.0} GB of memory, the offer lists {} GB",
            offer.vram_gb
        ));
    }
    let cuda = report
        .cuda_version
        .as_deref()
        .and_then(|v| v.parse::<f64>().ok());
    if let Some(cuda) = cuda.filter(|c| *c + 1e-6 < engine.min_cuda) {
        return Some(format!(
            "driver supports CUDA {cuda:.1}, needs {:.1}",
            engine.min_cuda
        ));
    }
    match report.disk_free_gb {
        Some(free) if free < disk_gb => Some(format!(
            "{free:.0} GB disk free, needs {disk_gb:.0} GB (the weights and the install)"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
