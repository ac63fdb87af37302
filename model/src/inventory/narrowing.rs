//! Why a filtered inventory came out empty: the first filter, in the form's order, after
//! which no offer was left, and how many each step kept — so the Inventory tab, REST and
//! the CLI can say "No offers match GPU "4090x": 132 offers listed, none with that GPU
//! name" instead of a bare empty table.
//!
//! # Examples
//!
//! ```
//! use gdl_model::inventory::InventoryFilters;
//! use gdl_model::shopper::Offer;
//!
//! let offer: Offer = serde_json::from_value(serde_json::json!({"id": "vastai-1",
//!     "provider": "vastai", "gpu_type": "RTX 4090", "gpu_count": 1, "vram_gb": 24,
//!     "price_per_hour": 0.41}))?;
//! let f = InventoryFilters { gpu_type: Some("4090x".into()), ..Default::default() };
//! let why = f.why_none(&[offer]).unwrap();
//! assert_eq!(why.filter.as_deref(), Some("gpu_type"));
//! assert_eq!(why.message, r#"No offers match GPU "4090x": 1 offer listed, none with that GPU name."#);
//! # Ok::<(), serde_json::Error>(())
//! ```

use super::InventoryFilters;
use crate::shopper::Offer;
use serde::{Deserialize, Serialize};

/// Why no offer passed the filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoOffers {
    /// The query parameter of the filter that left nothing (`gpu_type`, `max_price`, ...);
    /// none when the broker listed no offer at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Offers the broker listed, before any filter.
    pub listed: usize,
    /// Offers left by the filters before that one.
    pub before: usize,
    /// Offers that pass that filter on its own.
    pub alone: usize,
    /// The reason, in a sentence.
    pub message: String,
}

/// One filter as a person reads it: its name with the value, what an offer that passes
/// it is, and the test.
struct Step<'a> {
    param: &'static str,
    name: String,
    passing: String,
    admits: Box<dyn Fn(&Offer) -> bool + 'a>,
}

impl InventoryFilters {
    /// Why `listed` (the broker's offers before filtering) leaves no offer through these
    /// filters; `None` when some pass.
    pub fn why_none(&self, listed: &[Offer]) -> Option<NoOffers> {
        if listed.iter().any(|o| self.admits(o)) {
            return None;
        }
        let total = listed.len();
        let mut left: Vec<&Offer> = listed.iter().collect();
        for step in self.steps() {
            let before = left.len();
            left.retain(|o| (step.admits)(o));
            if left.is_empty() && before > 0 {
                let alone = listed.iter().filter(|o| (step.admits)(o)).count();
                let offers = plural(total, "offer listed", "offers listed");
                let message = if before == total {
                    format!(
                        "No offers match {}: {offers}, none {}.",
                        step.name, step.passing
                    )
                } else {
                    format!(
                        "No offers match {} with the other filters: {offers}, {before} left by the filters before it, none of them {} ({alone} of all {total} are).",
                        step.name, step.passing
                    )
                };
                return Some(NoOffers {
                    filter: Some(step.param.to_owned()),
                    listed: total,
                    before,
                    alone,
                    message,
                });
            }
        }
        Some(NoOffers {
            filter: None,
            listed: total,
            before: total,
            alone: 0,
            message: "The broker lists no offers right now.".into(),
        })
    }

    /// The filters set, in the form's order, each on its own.
    fn steps(&self) -> Vec<Step<'_>> {
        let mut steps = Vec::new();
        if let Some(p) = &self.provider {
            steps.push(Step {
                param: "provider",
                name: format!("provider {}", p.label()),
                passing: format!("from {}", p.label()),
                admits: Box::new(move |o| &o.provider == p),
            });
        }
        if let Some(v) = self.min_vram {
            steps.push(Step {
                param: "min_vram",
                name: format!("min VRAM {v} GB"),
                passing: format!("with {v} GB or more per GPU"),
                admits: Box::new(move |o| o.vram_gb >= v),
            });
        }
        if let Some(p) = self.max_price.filter(|p| *p > 0.0) {
            steps.push(Step {
                param: "max_price",
                name: format!("max ${p:.3}/h"),
                passing: format!("at ${p:.3}/h or less"),
                admits: Box::new(move |o| o.price_per_hour <= p),
            });
        }
        if let Some(g) = &self.gpu_type {
            let only = InventoryFilters {
                gpu_type: Some(g.clone()),
                ..Default::default()
            };
            steps.push(Step {
                param: "gpu_type",
                name: format!("GPU {g:?}"),
                passing: "with that GPU name".into(),
                admits: Box::new(move |o| only.admits(o)),
            });
        }
        if let Some(l) = &self.location {
            steps.push(Step {
                param: "location",
                name: format!("location {l:?}"),
                passing: "there".into(),
                admits: Box::new(move |o| o.location.contains(l.as_str())),
            });
        }
        if let Some(r) = self.min_reliability {
            steps.push(Step {
                param: "min_reliability",
                name: format!("min reliability {r}"),
                passing: format!("that reliable ({r} or more)"),
                admits: Box::new(move |o| o.reliability >= r),
            });
        }
        steps
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::decode;

    fn offer(id: &str, provider: &str, gpu: &str, vram: u32, price: f64) -> Offer {
        serde_json::from_value(serde_json::json!({"id": id, "provider": provider,
            "gpu_type": gpu, "gpu_count": 1, "vram_gb": vram, "price_per_hour": price}))
        .unwrap()
    }

    fn offers() -> Vec<Offer> {
        vec![
            offer("v1", "vastai", "RTX 4090", 24, 0.40),
            offer("v2", "vastai", "RTX 3090", 24, 0.20),
            offer("t1", "tensordock", "A100 80GB", 80, 1.50),
        ]
    }

    #[test]
    fn names_the_filter_that_left_nothing() {
        let f: InventoryFilters = decode("gpu_type=4090x").unwrap();
        let why = f.why_none(&offers()).unwrap();
        assert_eq!(why.filter.as_deref(), Some("gpu_type"));
        assert_eq!((why.listed, why.before, why.alone), (3, 3, 0));
        assert_eq!(
            why.message,
            r#"No offers match GPU "4090x": 3 offers listed, none with that GPU name."#
        );
    }

    #[test]
    fn a_filter_that_empties_only_with_the_others_says_so() {
        // Tensordock has offers, and offers under $0.50 exist, but not both.
        let f: InventoryFilters = decode("provider=tensordock&max_price=0.5").unwrap();
        let why = f.why_none(&offers()).unwrap();
        assert_eq!(why.filter.as_deref(), Some("max_price"));
        assert_eq!((why.listed, why.before, why.alone), (3, 1, 2));
        assert!(
            why.message.starts_with(
                "No offers match max $0.500/h with the other filters: 3 offers listed, 1 left"
            ),
            "{}",
            why.message
        );
        assert!(why.message.contains("(2 of all 3 are)"), "{}", why.message);
    }

    #[test]
    fn nothing_to_say_when_offers_pass_or_none_are_listed() {
        let f: InventoryFilters = decode("gpu_type=4090").unwrap();
        assert_eq!(f.why_none(&offers()), None);
        let why = f.why_none(&[]).unwrap();
        assert_eq!(why.filter, None);
        assert_eq!(why.message, "The broker lists no offers right now.");
    }
}
