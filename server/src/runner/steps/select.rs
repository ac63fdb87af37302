//! Step 3, Select offer: the cheapest available offer, the most reliable among equals. When
//! a machine fails to start, [`next`] picks the next-best one the run has not ruled out.

use super::{describe, Deps, Offer, Offers};
use crate::runner::error::StepError;
use gdl_model::code::ErrorCode;
use gdl_model::runs::StepName;
use gdl_model::shopper::Provider;
use std::collections::{HashMap, HashSet};

pub async fn run(d: &Deps<'_>, offers: &Offers) -> Result<Offer, StepError> {
    let offer = rank(&offers.offers)
        .first()
        .map(|o| (*o).clone())
        .ok_or_else(|| {
            StepError::new(
                ErrorCode::NoOffers,
                "every matching offer is marked unavailable",
            )
            .hint("Try again in a minute, or raise the price.")
        })?;
    d.ctx.detail(StepName::SelectOffer, describe(&offer)).await;
    d.ctx.info(&format!("Selected {}", describe(&offer)));
    Ok(offer)
}

/// What a run has ruled out after machines failed to start: each failed machine, and a GPU
/// type on a provider after it failed twice.
#[derive(Debug, Default)]
pub struct Exclusions {
    machines: HashSet<String>,
    failures: HashMap<(Provider, String), u32>,
}

impl Exclusions {
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
        !self.machines.contains(&machine(offer))
            && self
                .failures
                .get(&(offer.provider.clone(), offer.gpu_type.clone()))
                .is_none_or(|n| *n < 2)
    }
}

/// The machine an offer rents (Vast lists several offers per machine).
fn machine(offer: &Offer) -> String {
    offer.machine_id.clone().unwrap_or_else(|| offer.id.clone())
}

/// The best offer still allowed, from a fresh inventory.
pub async fn next(
    d: &Deps<'_>,
    offers: &Offers,
    exclusions: &Exclusions,
) -> Result<Offer, StepError> {
    let fresh = d.client.inventory_all(&offers.query).await?;
    rank(&fresh)
        .into_iter()
        .find(|o| exclusions.allows(o))
        .cloned()
        .ok_or_else(|| {
            StepError::new(ErrorCode::NoOffers, "no other matching offer is left to try")
                .hint("Machines failed to start on every offer tried; try again later, raise the price or pick another provider.")
        })
}

/// Offers best first: cheapest, then the most reliable.
pub fn rank(offers: &[Offer]) -> Vec<&Offer> {
    let mut ranked: Vec<&Offer> = offers.iter().filter(|o| o.available).collect();
    ranked.sort_by(|a, b| {
        a.price_per_hour
            .total_cmp(&b.price_per_hour)
            .then(b.reliability.total_cmp(&a.reliability))
    });
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, price: f64, reliability: f64, available: bool) -> Offer {
        serde_json::from_value(serde_json::json!({
            "id": id, "provider": "vastai", "gpu_type": "RTX 4090", "gpu_count": 1,
            "vram_gb": 24, "price_per_hour": price, "reliability": reliability,
            "available": available
        }))
        .unwrap()
    }

    #[test]
    fn a_failed_machine_is_ruled_out_and_its_gpu_type_after_two_failures() {
        let mut ex = Exclusions::default();
        let a = offer("a", 0.3, 0.9, true);
        let b = offer("b", 0.3, 0.9, true);
        let c = offer("c", 0.3, 0.9, true);
        ex.failed(&a);
        assert!(!ex.allows(&a) && ex.allows(&b));
        ex.failed(&b);
        assert!(!ex.allows(&c), "RTX 4090 on vastai failed twice");
        let mut other = offer("d", 0.3, 0.9, true);
        other.gpu_type = "L4".into();
        assert!(ex.allows(&other));
    }

    #[test]
    fn cheapest_first_then_most_reliable_and_never_unavailable() {
        let offers = [
            offer("dear", 0.9, 0.99, true),
            offer("cheap-shaky", 0.3, 0.90, true),
            offer("cheap-solid", 0.3, 0.99, true),
            offer("gone", 0.1, 1.0, false),
        ];
        let ids: Vec<&str> = rank(&offers).iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["cheap-solid", "cheap-shaky", "dear"]);
    }
}
