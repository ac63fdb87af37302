//! The simulated inventory service: a per-provider cache with the broker's timings (cold
//! fetch takes seconds, soft expiry refreshes in the background), the listing filters with
//! the broker's validation messages, and its sort order.

use super::{catalog, SimError, Simulator, SIM_PROVIDERS};
use gdl_model::shopper::{InventoryPage, InventoryQuery, Offer, Provider};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Cache time-to-live in contract seconds.
fn ttl_secs(provider: &Provider) -> f64 {
    if *provider == Provider::TensorDock {
        30.0
    } else {
        60.0
    }
}

/// How long a cold provider fetch takes, in contract seconds.
fn cold_fetch_secs(provider: &Provider) -> f64 {
    if *provider == Provider::TensorDock {
        1.8
    } else {
        2.6
    }
}

impl Simulator {
    /// `GET /api/v1/inventory`.
    pub(crate) async fn list_inventory(
        &self,
        query: &InventoryQuery,
    ) -> Result<InventoryPage, SimError> {
        let cold = self.state().faults.cold_inventory_ms;
        if cold > 0 {
            tokio::time::sleep(Duration::from_millis(cold)).await;
        }
        let providers: Vec<Provider> = match &query.provider {
            Some(p) if SIM_PROVIDERS.contains(p) => vec![p.clone()],
            Some(p) => {
                return Err(SimError::standard(
                    400,
                    format!("provider not found: {}", super::sanitize(p.as_str())),
                ))
            }
            None => SIM_PROVIDERS.to_vec(),
        };
        if let Some(template) = &query.template_hash_id {
            return Err(SimError::standard(
                404,
                format!("template not found: {}", super::sanitize(template)),
            ));
        }
        self.warm(&providers).await;
        let state = self.state();
        let old_below = state.faults.old_drivers_below;
        let mut offers: Vec<Offer> = providers
            .iter()
            .flat_map(|p| state.providers[p].offers.iter())
            .map(|o| as_listed(o.offer.clone(), old_below))
            .filter(|o| o.available && query.admits(o))
            .collect();
        offers.sort_by(|a, b| {
            b.availability_confidence
                .total_cmp(&a.availability_confidence)
                .then(a.price_per_hour.total_cmp(&b.price_per_hour))
        });
        let total = offers.len() as u32;
        let offset = query.offset.unwrap_or(0) as usize;
        let page: Vec<Offer> = offers
            .into_iter()
            .skip(offset)
            .take(query.limit.map(|l| l as usize).unwrap_or(usize::MAX))
            .collect();
        Ok(InventoryPage {
            count: page.len() as u32,
            total,
            offers: page,
        })
    }

    /// `GET /api/v1/inventory/:id`: searches every cached offer, ghosts included.
    pub(crate) async fn get_offer(&self, id: &str) -> Result<Offer, SimError> {
        let old_below = self.state().faults.old_drivers_below;
        let found = self.find_offer(id);
        found.map(|o| as_listed(o.offer, old_below)).ok_or_else(|| {
            SimError::standard(404, format!("offer not found: {}", super::sanitize(id)))
        })
    }

    /// Finds an offer by id (Vast ids also match case-insensitively or as a bare number).
    pub(crate) fn find_offer(&self, id: &str) -> Option<catalog::SimOffer> {
        let wanted = normalise_offer_id(id);
        let state = self.state();
        state
            .providers
            .values()
            .flat_map(|p| p.offers.iter())
            .find(|o| o.offer.id == wanted)
            .cloned()
    }

    /// Whether the provider still has this offer (it is listed and not a ghost).
    pub fn is_rentable(&self, id: &str) -> bool {
        let ghosts = self.config().ghosts;
        self.find_offer(id).is_some_and(|o| !(ghosts && o.ghost))
    }

    /// Removes an offer from the listings (after a stale-inventory failure).
    pub(crate) fn evict_offer(&self, id: &str) {
        let mut state = self.state();
        for inventory in state.providers.values_mut() {
            inventory.offers.retain(|o| o.offer.id != id);
        }
    }

    /// Makes the cache of `providers` usable: waits for a cold fetch where one has expired,
    /// and starts one background refresh where one is past its soft expiry.
    async fn warm(&self, providers: &[Provider]) {
        let mut cold = Vec::new();
        let mut stale = Vec::new();
        {
            let mut state = self.state();
            for p in providers {
                let ttl = self.scaled(ttl_secs(p));
                let inventory = state.providers.get_mut(p).expect("known provider");
                match inventory.fetched.map(|t| t.elapsed()) {
                    None => cold.push(p.clone()),
                    Some(age) if age >= ttl => cold.push(p.clone()),
                    Some(age) if age >= ttl.mul_f64(0.75) && !inventory.refreshing => {
                        inventory.refreshing = true;
                        stale.push(p.clone());
                    }
                    Some(_) => {}
                }
            }
        }
        for p in stale {
            let sim = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(sim.scaled(cold_fetch_secs(&p))).await;
                sim.refresh(&p);
            });
        }
        // Providers are fetched in parallel: the wait is the slowest one.
        let wait = cold
            .iter()
            .map(|p| self.scaled(cold_fetch_secs(p)))
            .max()
            .unwrap_or(Duration::ZERO);
        if !cold.is_empty() {
            tokio::time::sleep(wait).await;
            for p in &cold {
                self.refresh(p);
            }
        }
    }

    /// Fills one provider's cache now, drifting its offers.
    fn refresh(&self, provider: &Provider) {
        let target = self.config().offers_per_provider;
        let ttl = self.scaled(ttl_secs(provider));
        let mut guard = self.state();
        let state = &mut *guard;
        let inventory = state.providers.get_mut(provider).expect("known provider");
        inventory.refreshing = false;
        // Two requests that waited on the same cold fetch refresh it once.
        if inventory
            .fetched
            .is_some_and(|t| t.elapsed() < ttl.mul_f64(0.5))
        {
            return;
        }
        if self.config().drift || inventory.offers.is_empty() {
            catalog::drift(
                &mut state.rng,
                &mut inventory.offers,
                provider,
                target,
                chrono::Utc::now(),
            );
        }
        inventory.fetched = Some(Instant::now());
    }
}

/// Vast ids: the `vastai-` prefix is case-insensitive and a bare number is accepted.
/// `offer` as listed while Vast.ai offers under `old_below` $/h have an old driver.
pub(super) fn as_listed(mut offer: Offer, old_below: Option<f64>) -> Offer {
    if offer.provider == Provider::VastAi && old_below.is_some_and(|p| offer.price_per_hour < p) {
        offer.cuda_version = Some(11.8);
    }
    offer
}

pub(crate) fn normalise_offer_id(id: &str) -> String {
    let trimmed = id.trim();
    if trimmed.chars().all(|c| c.is_ascii_digit()) && !trimmed.is_empty() {
        return format!("vastai-{trimmed}");
    }
    match trimmed.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("vastai-") => {
            format!("vastai-{}", &trimmed[7..])
        }
        _ => trimmed.to_owned(),
    }
}

/// Parses the listing's query string with the broker's validation messages.
pub(crate) fn parse_query(raw: &HashMap<String, String>) -> Result<InventoryQuery, SimError> {
    fn int(raw: &HashMap<String, String>, key: &str) -> Result<Option<i64>, SimError> {
        match raw.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                // A page size must be positive; every other count only non-negative.
                Ok(n) if key == "limit" && n <= 0 => Err(SimError::standard(
                    400,
                    format!("invalid limit: must be positive, got {n}"),
                )),
                Ok(n) if n < 0 => Err(SimError::standard(
                    400,
                    format!("invalid {key}: must be non-negative, got {n}"),
                )),
                Ok(n) => Ok(Some(n)),
                Err(_) => Err(SimError::standard(
                    400,
                    format!(
                        "invalid {key}: must be a valid integer, got \"{}\"",
                        super::sanitize(v)
                    ),
                )),
            },
        }
    }
    fn float(
        raw: &HashMap<String, String>,
        key: &str,
        unit: bool,
    ) -> Result<Option<f64>, SimError> {
        match raw.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if unit && !(0.0..=1.0).contains(&x) => Err(SimError::standard(
                    400,
                    format!("invalid {key}: must be between 0 and 1, got {x}"),
                )),
                Ok(x) if x < 0.0 => Err(SimError::standard(
                    400,
                    format!("invalid {key}: must be non-negative, got {x}"),
                )),
                Ok(x) => Ok(Some(x)),
                Err(_) => Err(SimError::standard(
                    400,
                    format!(
                        "invalid {key}: must be a valid number, got \"{}\"",
                        super::sanitize(v)
                    ),
                )),
            },
        }
    }
    let text = |key: &str| raw.get(key).filter(|v| !v.is_empty()).cloned();
    // In the broker's order (`handleListInventory`): the first bad parameter is reported.
    let min_vram = int(raw, "min_vram")?;
    let max_price = float(raw, "max_price", false)?;
    let gpu_count = int(raw, "gpu_count")?;
    let min_gpu_count = int(raw, "min_gpu_count")?.or(gpu_count);
    let min_reliability = float(raw, "min_reliability", true)?;
    let min_availability_confidence = float(raw, "min_availability_confidence", true)?;
    let min_cuda = float(raw, "min_cuda", false)?;
    let template_hash_id = text("template_hash_id");
    let limit = int(raw, "limit")?;
    let offset = int(raw, "offset")?;
    Ok(InventoryQuery {
        provider: text("provider").map(|p| Provider::from_wire(&p)),
        gpu_type: text("gpu_type"),
        location: text("location"),
        min_vram: min_vram.map(|v| v as u32),
        max_price,
        min_gpu_count: min_gpu_count.map(|v| v as u32),
        min_reliability,
        min_availability_confidence,
        min_cuda,
        template_hash_id,
        limit: limit.map(|v| v as u32),
        offset: offset.map(|v| v as u32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<InventoryQuery, SimError> {
        parse_query(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn validation_messages_match_the_broker() {
        assert_eq!(
            q(&[("min_vram", "x")]).unwrap_err().body["error"],
            "invalid min_vram: must be a valid integer, got \"x\""
        );
        assert_eq!(
            q(&[("min_vram", "-1")]).unwrap_err().body["error"],
            "invalid min_vram: must be non-negative, got -1"
        );
        assert_eq!(
            q(&[("min_reliability", "1.5")]).unwrap_err().body["error"],
            "invalid min_reliability: must be between 0 and 1, got 1.5"
        );
        assert_eq!(
            q(&[("limit", "0")]).unwrap_err().body["error"],
            "invalid limit: must be positive, got 0"
        );
        let ok = q(&[("gpu_count", "2"), ("max_price", "0.5")]).unwrap();
        assert_eq!(ok.min_gpu_count, Some(2));
        assert_eq!(ok.max_price, Some(0.5));
    }

    #[test]
    fn vast_ids_are_normalised() {
        assert_eq!(normalise_offer_id("12345"), "vastai-12345");
        assert_eq!(normalise_offer_id("VASTAI-12345"), "vastai-12345");
        assert_eq!(normalise_offer_id("tensordock-x-y"), "tensordock-x-y");
    }
}
