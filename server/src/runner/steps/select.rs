//! Step 3, Select offer: the cheapest available offer, the most reliable among equals.

use super::{describe, Deps, Offer, Offers};
use crate::runner::error::StepError;
use gdl_model::code::ErrorCode;
use gdl_model::runs::StepName;

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
