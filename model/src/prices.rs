//! Prices: what renting cost over a time ([`rent_usd`]), and the comparison by GPU type
//! across providers (the Inventory tab): for each GPU type, each provider's offer count,
//! cheapest and median $/h.
//!
//! # Examples
//!
//! ```
//! use gdl_model::prices::compare;
//! use gdl_model::shopper::{Offer, Provider};
//!
//! let offers: Vec<Offer> = serde_json::from_str(r#"[
//!     {"id":"v1","provider":"vastai","gpu_type":"RTX 4090","gpu_count":1,"vram_gb":24,"price_per_hour":0.30},
//!     {"id":"v2","provider":"vastai","gpu_type":"RTX 4090","gpu_count":2,"vram_gb":24,"price_per_hour":1.00},
//!     {"id":"t1","provider":"tensordock","gpu_type":"RTX 4090","gpu_count":1,"vram_gb":24,"price_per_hour":0.35}
//! ]"#)?;
//! let table = compare(&offers);
//! assert_eq!(table[0].gpu_type, "RTX 4090");
//! let vast = &table[0].providers[0]; // cheapest provider first
//! assert_eq!((vast.provider.clone(), vast.offers), (Provider::VastAi, 2));
//! assert_eq!(vast.cheapest, 0.30);
//! assert!((vast.median - 0.40).abs() < 1e-9, "per GPU-hour: 0.30 and 0.50");
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::shopper::{Offer, Provider};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What renting at `price_per_hour` cost from `from` to `until` (nothing if `until` is
/// not later).
///
/// USD, prorated to the millisecond (the broker bills whole hours; this is our figure).
///
/// # Examples
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gdl_model::prices::rent_usd;
///
/// let start = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
/// let later = Utc.with_ymd_and_hms(2026, 11, 24, 10, 30, 0).unwrap();
/// assert_eq!(rent_usd(0.40, start, later), 0.20);
/// assert_eq!(rent_usd(0.40, later, start), 0.0);
/// ```
pub fn rent_usd(price_per_hour: f64, from: DateTime<Utc>, until: DateTime<Utc>) -> f64 {
    price_per_hour * (until - from).num_milliseconds().max(0) as f64 / 3_600_000.0
}

/// One provider's offers of one GPU type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderPrices {
    /// The provider.
    pub provider: Provider,
    /// Its offers of the GPU type.
    pub offers: u32,
    /// The lowest price, USD per GPU-hour.
    pub cheapest: f64,
    /// The median price, USD per GPU-hour (the mean of the middle two for an even count).
    pub median: f64,
}

/// One GPU type across providers, cheapest provider first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GpuPrices {
    /// The GPU model, such as `RTX 4090`.
    pub gpu_type: String,
    /// Each provider that offers it, cheapest first.
    pub providers: Vec<ProviderPrices>,
}

/// The comparison for `offers`, GPU types by name; prices per GPU-hour of an offer ($/h
/// divided by its GPU count), so a 2-GPU offer compares with single ones.
pub fn compare(offers: &[Offer]) -> Vec<GpuPrices> {
    let mut by_gpu: BTreeMap<&str, BTreeMap<String, (Provider, Vec<f64>)>> = BTreeMap::new();
    for o in offers {
        by_gpu
            .entry(o.gpu_type.as_str())
            .or_default()
            .entry(o.provider.as_str().to_owned())
            .or_insert_with(|| (o.provider.clone(), Vec::new()))
            .1
            .push(o.price_per_hour / o.gpu_count.max(1) as f64);
    }
    by_gpu
        .into_iter()
        .map(|(gpu, providers)| {
            let mut providers: Vec<ProviderPrices> = providers
                .into_values()
                .map(|(provider, mut prices)| {
                    prices.sort_by(f64::total_cmp);
                    let n = prices.len();
                    let median = if n % 2 == 1 {
                        prices[n / 2]
                    } else {
                        (prices[n / 2 - 1] + prices[n / 2]) / 2.0
                    };
                    ProviderPrices {
                        provider,
                        offers: n as u32,
                        cheapest: prices[0],
                        median,
                    }
                })
                .collect();
            providers.sort_by(|a, b| a.cheapest.total_cmp(&b.cheapest));
            GpuPrices {
                gpu_type: gpu.to_owned(),
                providers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(provider: &str, gpu: &str, count: u32, price: f64) -> Offer {
        serde_json::from_value(serde_json::json!({
            "id": format!("{provider}-{price}"), "provider": provider, "gpu_type": gpu,
            "gpu_count": count, "vram_gb": 24, "price_per_hour": price
        }))
        .unwrap()
    }

    #[test]
    fn cheapest_and_median_per_gpu_hour_by_provider() {
        let offers = [
            offer("vastai", "RTX 4090", 1, 0.40),
            offer("vastai", "RTX 4090", 1, 0.30),
            offer("vastai", "RTX 4090", 2, 1.00),
            offer("tensordock", "RTX 4090", 1, 0.35),
            offer("tensordock", "RTX 4090", 1, 0.45),
            offer("vastai", "L4", 1, 0.20),
        ];
        let table = compare(&offers);
        assert_eq!(table.len(), 2);
        assert_eq!(table[0].gpu_type, "L4");
        let rtx = &table[1];
        assert_eq!(
            rtx.providers[0].provider,
            Provider::VastAi,
            "cheapest first"
        );
        assert_eq!(rtx.providers[0].offers, 3);
        assert!((rtx.providers[0].cheapest - 0.30).abs() < 1e-9);
        assert!(
            (rtx.providers[0].median - 0.40).abs() < 1e-9,
            "0.30, 0.40, 0.50 a GPU-hour"
        );
        assert!(
            (rtx.providers[1].median - 0.40).abs() < 1e-9,
            "the middle of two"
        );
    }
}
