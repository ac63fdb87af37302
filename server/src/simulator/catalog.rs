//! The simulated inventory: real GPU types with their VRAM and plausible prices (Volta to
//! Blackwell, one to eight GPUs per offer), offers
//! shaped like each provider's (ids, locations, reliability, confidence), and a slow drift
//! applied at every provider refresh.

use chrono::{DateTime, Utc};
use gdl_model::shopper::{Offer, Provider};
use rand::rngs::StdRng;
use rand::Rng;

/// A GPU model the clouds rent out.
struct Gpu {
    name: &'static str,
    vram_gb: u32,
    /// USD per GPU-hour, low and high.
    price: (f64, f64),
    /// TensorDock's `gpuV0Name`, or `None` when TensorDock does not rent it.
    tensordock_name: Option<&'static str>,
}

const GPUS: &[Gpu] = &[
    Gpu {
        name: "RTX 3060",
        vram_gb: 12,
        price: (0.05, 0.11),
        tensordock_name: None,
    },
    Gpu {
        name: "RTX 4060 Ti",
        vram_gb: 16,
        price: (0.09, 0.17),
        tensordock_name: None,
    },
    Gpu {
        name: "V100",
        vram_gb: 16,
        price: (0.14, 0.30),
        tensordock_name: Some("v100-sxm2-16gb"),
    },
    Gpu {
        name: "RTX 3090",
        vram_gb: 24,
        price: (0.14, 0.32),
        tensordock_name: Some("geforcertx3090-pcie-24gb"),
    },
    Gpu {
        name: "RTX 4090",
        vram_gb: 24,
        price: (0.29, 0.62),
        tensordock_name: Some("geforcertx4090-pcie-24gb"),
    },
    Gpu {
        name: "RTX A5000",
        vram_gb: 24,
        price: (0.18, 0.34),
        tensordock_name: Some("rtxa5000-pcie-24gb"),
    },
    Gpu {
        name: "L4",
        vram_gb: 24,
        price: (0.24, 0.45),
        tensordock_name: Some("l4-pcie-24gb"),
    },
    Gpu {
        name: "RTX A6000",
        vram_gb: 48,
        price: (0.39, 0.79),
        tensordock_name: Some("rtxa6000-pcie-48gb"),
    },
    Gpu {
        name: "A40",
        vram_gb: 48,
        price: (0.35, 0.60),
        tensordock_name: None,
    },
    Gpu {
        name: "L40S",
        vram_gb: 48,
        price: (0.69, 1.10),
        tensordock_name: Some("l40s-pcie-48gb"),
    },
    Gpu {
        name: "A100 PCIE",
        vram_gb: 40,
        price: (0.65, 1.10),
        tensordock_name: Some("a100-pcie-40gb"),
    },
    Gpu {
        name: "A100 SXM4",
        vram_gb: 80,
        price: (0.95, 1.80),
        tensordock_name: Some("a100-sxm4-80gb"),
    },
    Gpu {
        name: "H100 PCIE",
        vram_gb: 80,
        price: (1.75, 2.60),
        tensordock_name: None,
    },
    Gpu {
        name: "H100 SXM5",
        vram_gb: 80,
        price: (1.99, 3.20),
        tensordock_name: Some("h100-sxm5-80gb"),
    },
    // Blackwell: builds without sm_120 / sm_100 kernels fail on these ("no kernel image").
    Gpu {
        name: "RTX 5090",
        vram_gb: 32,
        price: (0.35, 0.80),
        tensordock_name: None,
    },
    Gpu {
        name: "B200",
        vram_gb: 180,
        price: (3.20, 5.50),
        tensordock_name: None,
    },
];

const VAST_LOCATIONS: &[&str] = &[
    "Texas, US",
    "California, US",
    "Quebec, CA",
    "Ontario, CA",
    "Sweden, SE",
    "Norway, NO",
    "Germany, DE",
    "Poland, PL",
    "Czechia, CZ",
    "Japan, JP",
    "Taiwan, TW",
    "Australia, AU",
    "Washington, US",
    "Virginia, US",
    "Netherlands, NL",
];

const TENSORDOCK_LOCATIONS: &[&str] = &[
    "Chubbuck, Idaho, United States",
    "Dallas, Texas, United States",
    "Orlando, Florida, United States",
    "Manassas, Virginia, United States",
    "Winnipeg, Manitoba, Canada",
    "Amsterdam, North Holland, Netherlands",
    "Frankfurt, Hesse, Germany",
    "London, England, United Kingdom",
];

/// Blue Lobster's GPU instance types: (GPU, VRAM from the broker's table, USD per GPU-hour,
/// the instance type's name stem).
const BLUE_LOBSTER_GPUS: &[(&str, u32, (f64, f64), &str)] = &[
    ("RTX 2080 Ti", 11, (0.10, 0.16), "rtx2080ti"),
    ("RTX A4000", 16, (0.15, 0.22), "a4000"),
    ("RTX A5000", 24, (0.25, 0.38), "a5000"),
    ("RTX 5090", 32, (0.55, 0.85), "rtx5090"),
    ("RTX A6000", 48, (0.45, 0.70), "a6000"),
];

/// Blue Lobster's regions: (region name, location as the broker writes it).
const BLUE_LOBSTER_REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "Ashburn, Virginia, US"),
    ("us-central-1", "Kansas City, Missouri, US"),
    ("us-west-1", "San Jose, California, US"),
];

/// A simulated offer: what the broker lists, plus whether the provider still has it.
#[derive(Clone, Debug)]
pub struct SimOffer {
    pub offer: Offer,
    /// Listed, but gone at the provider: creating a session on it fails with stale inventory.
    pub ghost: bool,
}

/// Makes one offer for `provider` at `now`.
pub fn make_offer(rng: &mut StdRng, provider: &Provider, now: DateTime<Utc>) -> SimOffer {
    let candidates: Vec<&Gpu> = match provider {
        Provider::TensorDock => GPUS
            .iter()
            .filter(|g| g.tensordock_name.is_some())
            .collect(),
        _ => GPUS.iter().collect(),
    };
    let gpu = candidates[rng.gen_range(0..candidates.len())];
    let gpu_count = match rng.gen_range(0..100) {
        0..=74 => 1,
        75..=89 => 2,
        90..=96 => 4,
        _ => 8,
    };
    if *provider == Provider::BlueLobster {
        return blue_lobster_offer(rng, gpu_count.min(4), now);
    }
    let per_gpu = rng.gen_range(gpu.price.0..=gpu.price.1);
    let price_per_hour = round3(per_gpu * gpu_count as f64);
    let ghost = rng.gen_bool(0.06);
    let offer = match provider {
        Provider::TensorDock => {
            let tier = rng.gen_range(1..=3);
            let location_uuid = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
            let v0 = gpu.tensordock_name.unwrap_or("unknown");
            Offer {
                id: format!("tensordock-{location_uuid}-{v0}").into(),
                provider: provider.clone(),
                provider_id: location_uuid.to_string(),
                gpu_type: gpu.name.into(),
                gpu_count,
                vram_gb: gpu.vram_gb,
                price_per_hour,
                location: pick(rng, TENSORDOCK_LOCATIONS).into(),
                reliability: round3(tier as f64 / 3.0),
                available: true,
                max_duration_hours: 0,
                fetched_at: Some(now),
                availability_confidence: round3(rng.gen_range(0.15..=0.35)),
                cuda_version: None,
                machine_id: None,
                interruptible: false,
                min_bid: None,
                compatible_templates: Vec::new(),
            }
        }
        _ => {
            let bundle: u64 = rng.gen_range(10_000_000..40_000_000);
            let reliability = round3(rng.gen_range(0.950..0.999));
            // Some hosts run older drivers (the highest CUDA version their driver supports).
            let cuda = [12.2, 12.4, 12.8, 12.9, 13.0, 13.0, 13.1, 13.0][rng.gen_range(0..8)];
            Offer {
                id: format!("vastai-{bundle}").into(),
                provider: provider.clone(),
                provider_id: bundle.to_string(),
                gpu_type: gpu.name.into(),
                gpu_count,
                vram_gb: gpu.vram_gb,
                price_per_hour,
                location: pick(rng, VAST_LOCATIONS).into(),
                reliability,
                available: true,
                max_duration_hours: 0,
                fetched_at: Some(now),
                availability_confidence: round3(0.6 * reliability + 0.4),
                cuda_version: Some(cuda),
                machine_id: Some(format!("vastai-machine-{}", rng.gen_range(1000..60000))),
                interruptible: false,
                min_bid: None,
                compatible_templates: Vec::new(),
            }
        }
    };
    SimOffer { offer, ghost }
}

/// A Blue Lobster offer: one per instance type and region, reliability 0 and availability
/// confidence 1.0 as the broker reports them, no CUDA version.
fn blue_lobster_offer(rng: &mut StdRng, gpu_count: u32, now: DateTime<Utc>) -> SimOffer {
    let (gpu, vram_gb, price, stem) = BLUE_LOBSTER_GPUS[rng.gen_range(0..BLUE_LOBSTER_GPUS.len())];
    let (region, location) = BLUE_LOBSTER_REGIONS[rng.gen_range(0..BLUE_LOBSTER_REGIONS.len())];
    let instance_type = format!("gpu_{gpu_count}x_{stem}");
    let per_gpu = rng.gen_range(price.0..=price.1);
    let offer = Offer {
        id: format!("bluelobster:{instance_type}:{region}").into(),
        provider: Provider::BlueLobster,
        provider_id: uuid::Builder::from_random_bytes(rng.gen())
            .into_uuid()
            .to_string(),
        gpu_type: gpu.into(),
        gpu_count,
        vram_gb,
        price_per_hour: round3(per_gpu * gpu_count as f64),
        location: location.into(),
        reliability: 0.0,
        available: true,
        max_duration_hours: 0,
        fetched_at: Some(now),
        availability_confidence: 1.0,
        cuda_version: None,
        machine_id: None,
        interruptible: false,
        min_bid: None,
        compatible_templates: Vec::new(),
    };
    SimOffer {
        offer,
        ghost: rng.gen_bool(0.06),
    }
}

/// Keeps the first offer of each id (Blue Lobster's ids repeat when the same instance type
/// and region come up twice).
pub fn dedupe(offers: &mut Vec<SimOffer>) {
    let mut seen = std::collections::HashSet::new();
    offers.retain(|o| seen.insert(o.offer.id.clone()));
}

/// Drifts a provider's offers as a refresh would see them: prices move a little, a few
/// offers are rented away and new ones appear, keeping the count near `target`.
pub fn drift(
    rng: &mut StdRng,
    offers: &mut Vec<SimOffer>,
    provider: &Provider,
    target: usize,
    now: DateTime<Utc>,
) {
    offers.retain(|_| !rng.gen_bool(0.05));
    for o in offers.iter_mut() {
        let factor = 1.0 + rng.gen_range(-0.02..=0.02);
        o.offer.price_per_hour = round3((o.offer.price_per_hour * factor).max(0.01));
        o.offer.fetched_at = Some(now);
    }
    let wanted = target as i64 + rng.gen_range(-2..=2);
    for _ in 0..wanted.max(0) * 4 {
        if offers.len() as i64 >= wanted {
            break;
        }
        offers.push(make_offer(rng, provider, now));
        dedupe(offers);
    }
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn offers_look_like_each_provider() {
        let mut rng = StdRng::seed_from_u64(7);
        let now = Utc::now();
        for _ in 0..50 {
            let v = make_offer(&mut rng, &Provider::VastAi, now).offer;
            assert!(v.id.starts_with("vastai-") && v.cuda_version.is_some());
            assert!((0.95..1.0).contains(&v.reliability));
            let t = make_offer(&mut rng, &Provider::TensorDock, now).offer;
            assert!(t.id.starts_with("tensordock-") && t.cuda_version.is_none());
            assert!(t.availability_confidence <= 0.35);
            assert!(t.price_per_hour > 0.0 && t.vram_gb >= 16);
        }
    }

    #[test]
    fn drift_keeps_count_near_target() {
        let mut rng = StdRng::seed_from_u64(1);
        let now = Utc::now();
        let mut offers: Vec<_> = (0..30)
            .map(|_| make_offer(&mut rng, &Provider::VastAi, now))
            .collect();
        for _ in 0..20 {
            drift(&mut rng, &mut offers, &Provider::VastAi, 30, now);
            assert!((28..=32).contains(&offers.len()), "{}", offers.len());
        }
    }
}
