//! The broker's offers, read apart from the session poll: every provider in parallel, and
//! the last good list kept with its age and served while a refresh runs
//! (stale-while-revalidate). A cold inventory (5–7 s on the broker) then never delays a
//! session update, the status card or a page.

use super::Monitor;
use crate::shopper::ShopperClient;
use chrono::{DateTime, Utc};
use gdl_model::error::ApiError;
use gdl_model::shopper::{InventoryQuery, Offer, Provider};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Offers per page when reading the broker's inventory.
const PAGE: u32 = 500;

/// The offers as last read.
#[derive(Clone, Debug, Default)]
pub struct Offers {
    /// Every provider's offers (a provider that failed keeps its earlier ones).
    pub offers: Arc<Vec<Offer>>,
    /// When the list was last read in full or in part (`None`: never).
    pub at: Option<DateTime<Utc>>,
    /// Why the last read failed for some or all providers.
    pub error: Option<ApiError>,
    /// Reads finished.
    pub reads: u64,
}

/// Reads every known provider's offers at once; a provider that fails keeps `before`'s.
pub(super) async fn read(client: &ShopperClient, before: &Offers) -> Offers {
    let reads = Provider::KNOWN.iter().map(|provider| async move {
        let query = InventoryQuery {
            provider: Some(provider.clone()),
            limit: Some(PAGE),
            ..Default::default()
        };
        (provider, client.inventory_all(&query).await)
    });
    let results = futures::future::join_all(reads).await;
    let mut by_provider: BTreeMap<&Provider, Vec<Offer>> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut first_error = None;
    for (provider, result) in results {
        match result {
            Ok(offers) => {
                by_provider.insert(provider, offers);
            }
            Err(e) => {
                errors.push(format!("{}: {e}", provider.label()));
                first_error.get_or_insert(e);
                let kept = before.offers.iter().filter(|o| &o.provider == provider);
                by_provider.insert(provider, kept.cloned().collect());
            }
        }
    }
    let all_failed = errors.len() == Provider::KNOWN.len();
    let error = first_error.map(|e| {
        let mut api = e.to_api_error();
        if !all_failed || !before.offers.is_empty() {
            api.message = format!(
                "offers not refreshed for {} (the last ones kept)",
                errors.join("; ")
            );
        }
        api
    });
    Offers {
        offers: Arc::new(by_provider.into_values().flatten().collect()),
        at: if all_failed {
            before.at
        } else {
            Some(Utc::now())
        },
        error,
        reads: before.reads + 1,
    }
}

impl Monitor {
    /// The offers for a page or the API: the list as last read, after waiting at most
    /// `patience` for a read under way when there is none yet, or when `fresh` asks for one
    /// that starts now.
    pub async fn offers(&self, fresh: bool, patience: Duration) -> Offers {
        let mut rx = self.shared.offers.subscribe();
        let target = rx.borrow().reads + 1;
        let never_read = rx.borrow().at.is_none();
        if fresh {
            self.shared.inventory_wake.notify_one();
        }
        if fresh || never_read {
            let _ = tokio::time::timeout(patience, rx.wait_for(|o| o.reads >= target)).await;
        }
        let offers = rx.borrow().clone();
        offers
    }

    /// One read of the inventory; returns how long to wait before the next.
    pub(super) async fn read_inventory(&self) -> Duration {
        let before = self.shared.offers.borrow().clone();
        let after = read(&self.shared.client, &before).await;
        // The status first: whoever waits for this read then finds its counts.
        self.publish_offer_counts(&after);
        self.shared.offers.send_replace(after);
        self.shared.intervals.idle
    }

    /// Puts the offer counts per provider on the status card.
    fn publish_offer_counts(&self, offers: &Offers) {
        self.shared.view.send_modify(|v| {
            let mut counts: BTreeMap<Provider, (u32, Option<f64>)> = Provider::KNOWN
                .iter()
                .map(|p| (p.clone(), (0, None)))
                .collect();
            for o in offers.offers.iter() {
                let entry = counts.entry(o.provider.clone()).or_insert((0, None));
                entry.0 += 1;
                entry.1 = Some(
                    entry
                        .1
                        .map_or(o.price_per_hour, |c: f64| c.min(o.price_per_hour)),
                );
            }
            if offers.at.is_some() {
                v.status.providers = counts
                    .into_iter()
                    .map(
                        |(provider, (offers, cheapest))| gdl_model::status::ProviderOffers {
                            provider,
                            offers,
                            cheapest_per_hour: cheapest,
                        },
                    )
                    .collect();
            }
            v.status.inventory_error = offers.error.clone();
            v.status.inventory_at = offers.at;
        });
        self.publish_changes(false);
    }
}
