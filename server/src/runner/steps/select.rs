//! Step 3, Select offer: the cheapest available offer, the likeliest available and most
//! reliable among equals, our own history last: a provider's GPU type whose machines failed
//! to start in half or more of our past rentals of it (three at least) goes after every
//! other offer, and the fewer failures the better among equals ([`History`]). When a machine
//! fails to start, [`next`] picks the next-best one the run has not ruled out.
//!
//! A test pinned to an offer (the Inventory tab's "Test on this offer") rents that offer;
//! when it is gone, the cheapest offer of the same GPU type and count, saying so on the
//! step and in the log, and when there is none it fails `pinned_offer_gone`: a pinned test
//! never rents another GPU type, here or when an offer is replaced later ([`Exclusions`]).
//! A test pinned to a GPU type and count without an offer (a benchmark's bundle run again)
//! rents the cheapest offer of them, and no other GPU type.
//! Offers the test asks to avoid (a campaign's slow hosts) are never rented.

use super::{describe, Deps, Offer, Offers};
use crate::runner::error::StepError;
pub use crate::runner::history::History;
use crate::shopper::ShopperError;
use gdl_model::code::ErrorCode;
use gdl_model::runs::{PinnedGpu, StepName, TestConfig};
use gdl_model::shopper::Provider;
use std::collections::{HashMap, HashSet};

pub async fn run(d: &Deps<'_>, offers: &Offers) -> Result<Offer, StepError> {
    let avoid = &d.ctx.config().avoid_offers;
    let ranked: Vec<&Offer> = rank(&offers.offers, &offers.history)
        .into_iter()
        .filter(|o| !avoid.iter().any(|a| a == o.id.as_str()))
        .collect();
    if let Some(wanted) = d.ctx.config().pin_offer {
        return pinned(d, &wanted, &ranked).await;
    }
    if let Some(gpu) = d.ctx.config().pin_gpu {
        return same_gpu(d, &gpu, &ranked).await;
    }
    let offer = ranked.first().map(|o| (*o).clone()).ok_or_else(|| {
        StepError::new(
            ErrorCode::NoOffers,
            "every matching offer is marked unavailable",
        )
        .hint("Try again in a minute, or raise the price.")
    })?;
    d.ctx.detail(StepName::SelectOffer, describe(&offer)).await;
    d.ctx.info(&format!(
        "Selected {}: {}",
        describe(&offer),
        reason(&offer, &ranked, &offers.history)
    ));
    Ok(offer)
}

/// A pinned test's offer: the one chosen while it is listed for this test; else the
/// cheapest offer of the same GPU type and count, said plainly on the run; else the run
/// fails `pinned_offer_gone`. Another GPU type is never rented in its place.
async fn pinned(d: &Deps<'_>, wanted: &str, ranked: &[&Offer]) -> Result<Offer, StepError> {
    if let Some(pinned) = ranked.iter().find(|o| o.id == wanted) {
        let offer = (*pinned).clone();
        d.ctx.detail(StepName::SelectOffer, describe(&offer)).await;
        d.ctx.info(&format!(
            "Selected {}: the offer you chose, at ${:.3}/h",
            describe(&offer),
            offer.price_per_hour
        ));
        return Ok(offer);
    }
    let chosen = pinned_gpu(d, wanted).await?;
    let gpu = chosen.gpu();
    let why = if d.ctx.config().avoid_offers.iter().any(|a| a == wanted) {
        "was ruled out by an earlier run (a slow host, or a machine that did not start)"
    } else {
        "is gone"
    };
    let Some(other) = ranked.iter().find(|o| chosen.same_gpu(o)) else {
        return Err(pinned_gone(format!(
            "The offer you chose ({wanted}, {chosen}) is gone or no longer fits this test, and no other {gpu} offer does; nothing else was rented in its place"
        )));
    };
    let offer = (*other).clone();
    d.ctx
        .detail(
            StepName::SelectOffer,
            format!(
                "{} (another {gpu}: the offer you chose, {wanted}, {why})",
                describe(&offer)
            ),
        )
        .await;
    d.ctx.warn(&format!(
        "The offer you chose ({wanted}, {chosen}) {why}; renting another {gpu}: {} at {}",
        offer.id,
        PinnedGpu::of(&offer).price()
    ));
    Ok(offer)
}

/// A test pinned to a GPU type and count but no offer (a benchmark's bundle run again):
/// the cheapest offer of them; else the run fails `pinned_offer_gone`.
async fn same_gpu(d: &Deps<'_>, gpu: &PinnedGpu, ranked: &[&Offer]) -> Result<Offer, StepError> {
    let Some(first) = ranked.iter().find(|o| gpu.same_gpu(o)) else {
        return Err(pinned_gone(format!(
            "no {} offer fits this test (it stays on the GPU it ran on before, {gpu}); nothing else was rented",
            gpu.gpu()
        )));
    };
    let offer = (*first).clone();
    d.ctx.detail(StepName::SelectOffer, describe(&offer)).await;
    d.ctx.info(&format!(
        "Selected {}: the cheapest {} (the GPU this test stays on; {} before) at ${:.3}/h",
        describe(&offer),
        gpu.gpu(),
        gpu.price(),
        offer.price_per_hour
    ));
    Ok(offer)
}

/// What the pinned offer rents: as the person saw it listed, else as the broker still
/// describes it. An offer the broker no longer knows, of a GPU nobody told us, fails the
/// run: there is nothing to stay on.
async fn pinned_gpu(d: &Deps<'_>, wanted: &str) -> Result<PinnedGpu, StepError> {
    if let Some(seen) = d.ctx.config().pin_gpu {
        return Ok(seen);
    }
    match d.client.offer(wanted).await {
        Ok(offer) => Ok(PinnedGpu::of(&offer)),
        Err(ShopperError::NotFound { .. }) => Err(pinned_gone(format!(
            "The offer you chose ({wanted}) is gone, and which GPU it rents is not known here; nothing else was rented in its place"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// A pinned test with nothing of its GPU type left to rent.
pub fn pinned_gone(message: String) -> StepError {
    StepError::new(ErrorCode::PinnedOfferGone, message).hint(
        "Pick another offer on the Inventory tab, or start the test without one to rent the best offer.",
    )
}

/// What a run has ruled out after machines failed to start: each failed machine, and a GPU
/// type on a provider after it failed twice; and, for a test pinned to an offer, every
/// other GPU type.
#[derive(Debug, Default)]
pub struct Exclusions {
    machines: HashSet<String>,
    failures: HashMap<(Provider, String), u32>,
    /// Offers the test asked not to rent (a campaign's slow hosts).
    avoided: HashSet<String>,
    /// A pinned test's GPU type and count: the only kind it may rent.
    only: Option<PinnedGpu>,
}

impl Exclusions {
    /// Nothing ruled out yet; a test pinned to an offer or a GPU stays on `selected`'s GPU
    /// type and count.
    pub fn for_test(test: &TestConfig, selected: &Offer) -> Self {
        let pinned = test.pin_offer.is_some() || test.pin_gpu.is_some();
        Self {
            only: pinned.then(|| PinnedGpu::of(selected)),
            avoided: test.avoid_offers.iter().cloned().collect(),
            ..Self::default()
        }
    }

    /// The GPU a pinned test stays on.
    pub fn pinned(&self) -> Option<&PinnedGpu> {
        self.only.as_ref()
    }

    /// Rules out the machine behind `offer` (and its GPU type there, on a second failure).
    pub fn failed(&mut self, offer: &Offer) {
        self.machines.insert(machine(offer));
        *self
            .failures
            .entry((offer.provider.clone(), offer.gpu_type.clone()))
            .or_default() += 1;
    }

    /// Whether `offer` may still be tried.
    pub fn allows(&self, offer: &Offer) -> bool {
        self.only.as_ref().is_none_or(|gpu| gpu.same_gpu(offer))
            && !self.machines.contains(&machine(offer))
            && !self.avoided.contains(offer.id.as_str())
            && self
                .failures
                .get(&(offer.provider.clone(), offer.gpu_type.clone()))
                .is_none_or(|n| *n < 2)
    }
}

/// The machine an offer rents (Vast lists several offers per machine).
fn machine(offer: &Offer) -> String {
    offer
        .machine_id
        .clone()
        .unwrap_or_else(|| offer.id.to_string())
}

/// The best offer still allowed, from a fresh inventory.
pub async fn next(
    d: &Deps<'_>,
    offers: &Offers,
    exclusions: &Exclusions,
) -> Result<Offer, StepError> {
    let fresh = d.client.inventory_all(&offers.query).await?;
    offers
        .rank_fresh(&fresh)
        .into_iter()
        .find(|o| exclusions.allows(o))
        .cloned()
        .ok_or_else(|| match exclusions.pinned() {
            Some(gpu) => pinned_gone(format!(
                "no other {} offer is left to try, and this test stays on the GPU you chose; nothing else was rented",
                gpu.gpu()
            )),
            None => StepError::new(ErrorCode::NoOffers, "no other matching offer is left to try")
                .hint("Machines failed to start on every offer tried; try again later, raise the price or pick another provider."),
        })
}

/// Offers best first: kinds that often failed to start for us last, then cheapest, then the
/// likeliest to be there (the broker's availability confidence), then the most reliable,
/// then the fewest failures in our history. Offers marked unavailable are left out (what the
/// engine cannot run is left out before: `Offers::rank_fresh`, the inventory step).
pub fn rank<'a>(offers: &'a [Offer], history: &History) -> Vec<&'a Offer> {
    let mut ranked: Vec<&Offer> = offers.iter().filter(|o| o.available).collect();
    ranked.sort_by(|a, b| {
        history
            .demoted(a)
            .cmp(&history.demoted(b))
            .then(a.price_per_hour.total_cmp(&b.price_per_hour))
            .then(
                b.availability_confidence
                    .total_cmp(&a.availability_confidence),
            )
            .then(b.reliability.total_cmp(&a.reliability))
            .then(history.failure_rate(a).total_cmp(&history.failure_rate(b)))
    });
    ranked
}

/// Why `chosen` leads `ranked`: its price, what decided a tie, and the kinds our history
/// put last.
fn reason(chosen: &Offer, ranked: &[&Offer], history: &History) -> String {
    let tied = ranked
        .iter()
        .filter(|o| o.price_per_hour == chosen.price_per_hour)
        .count();
    let tie = if tied > 1 {
        format!(
            "; {tied} at that price, this one the likeliest available ({:.2}) and most reliable ({:.2})",
            chosen.availability_confidence, chosen.reliability
        )
    } else {
        String::new()
    };
    let mut demoted: Vec<String> = ranked
        .iter()
        .filter(|o| history.demoted(o))
        .map(|o| {
            let (failed, rented) = history.tally(o);
            format!(
                "{} on {} ({failed} of our {rented} rentals failed to start)",
                o.gpu_type,
                o.provider.label()
            )
        })
        .collect();
    demoted.sort();
    demoted.dedup();
    let history_note = if demoted.is_empty() {
        String::new()
    } else {
        format!("; put last from our history: {}", demoted.join(", "))
    };
    let (failed, rented) = history.tally(chosen);
    let own = if rented > 0 {
        format!("; {failed} of our {rented} past rentals of this GPU there failed to start")
    } else {
        String::new()
    };
    let what = if history.demoted(chosen) {
        "best left (every offer's kind often failed for us)"
    } else {
        "cheapest"
    };
    format!(
        "{what} of {} offers at ${:.3}/h{tie}{own}{history_note}",
        ranked.len(),
        chosen.price_per_hour
    )
}

#[cfg(test)]
mod tests;
