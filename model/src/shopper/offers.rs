//! Offers: what the broker lists at `GET /api/v1/inventory`, and the query's filters.

use super::{is_false, yes, Provider};
use crate::ids::OfferId;
use crate::time::{de_null_list, de_optional};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A rentable GPU offer (`GPUOffer`).
///
/// # Examples
///
/// The fields the broker may leave out take their defaults:
///
/// ```
/// use gdl_model::shopper::{Offer, Provider};
///
/// let offer: Offer = serde_json::from_str(r#"{"id":"vastai-12345","provider":"vastai",
///     "gpu_type":"RTX 4090","gpu_count":2,"vram_gb":24,"price_per_hour":0.82,
///     "fetched_at":"2026-03-05T14:03:11.51234Z","cuda_version":12.4,
///     "compatible_templates":null}"#)?;
/// assert_eq!(offer.provider, Provider::VastAi);
/// assert!(offer.available, "available unless the broker says otherwise");
/// assert_eq!(offer.location, "");
/// assert!(offer.compatible_templates.is_empty());
/// // Left out again when written back: unset options, empty lists, false flags.
/// let json = serde_json::to_value(&offer)?;
/// assert!(json.get("min_bid").is_none() && json.get("interruptible").is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    /// The broker's offer id (what a create request names).
    pub id: OfferId,
    /// The provider it is on.
    pub provider: Provider,
    /// The provider's own id for the offer (empty when left out).
    #[serde(default)]
    pub provider_id: String,
    /// The GPU model, normalised by the broker, such as `RTX 4090`.
    pub gpu_type: String,
    /// GPUs in the offer.
    pub gpu_count: u32,
    /// VRAM per GPU, in GiB.
    pub vram_gb: u32,
    /// USD per hour for the whole offer.
    pub price_per_hour: f64,
    /// Where the machine is (empty when unknown).
    #[serde(default)]
    pub location: String,
    /// The provider's reliability score, 0–1 (0 when left out).
    #[serde(default)]
    pub reliability: f64,
    /// Whether it can be rented now (true when left out).
    #[serde(default = "yes")]
    pub available: bool,
    /// The longest rental the provider allows, hours; 0 means no limit.
    #[serde(default)]
    pub max_duration_hours: u32,
    /// When the broker fetched it from the provider; `None` when unset.
    #[serde(default, deserialize_with = "de_optional")]
    pub fetched_at: Option<DateTime<Utc>>,
    /// 0–1, after staleness and failure penalties. Listings sort by it, descending.
    #[serde(default)]
    pub availability_confidence: f64,
    /// The highest CUDA version the machine's driver supports, such as 12.4 (Vast.ai
    /// only); `None` when not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_version: Option<f64>,
    /// The physical host's id (Vast.ai); `None` when not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// A spot instance the provider can reclaim.
    #[serde(default, skip_serializing_if = "is_false")]
    pub interruptible: bool,
    /// The lowest bid of an interruptible offer, USD per hour; `None` for on-demand ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_bid: Option<f64>,
    /// Templates known to run on this offer (Vast.ai only; the broker's `GPUOffer` has
    /// the field but lists them only at `/inventory/{id}/compatible-templates`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_null_list"
    )]
    pub compatible_templates: Vec<TemplateRef>,
}

/// A Vast.ai template an offer can run (`{hash_id, name, image?}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateRef {
    /// The template's Vast.ai `hash_id` (what a create request names).
    pub hash_id: String,
    /// Its name (empty when left out).
    #[serde(default)]
    pub name: String,
    /// The docker image it runs; `None` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// `GET /api/v1/inventory` response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryPage {
    /// This page's offers (`null` reads as none).
    #[serde(default, deserialize_with = "de_null_list")]
    pub offers: Vec<Offer>,
    /// Offers on this page.
    pub count: u32,
    /// Offers after filtering, before pagination.
    pub total: u32,
}

/// Filters and pagination of `GET /api/v1/inventory`. `None` leaves a filter off.
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::{InventoryQuery, Provider};
///
/// let q = InventoryQuery {
///     provider: Some(Provider::VastAi),
///     min_vram: Some(24),
///     limit: Some(10),
///     ..Default::default()
/// };
/// let pairs = q.to_pairs();
/// assert_eq!(pairs[0], ("provider", "vastai".to_string()));
/// assert_eq!(pairs.len(), 3, "unset filters are left out");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryQuery {
    /// Only this provider's offers.
    pub provider: Option<Provider>,
    /// Exact, case-sensitive normalised name such as `RTX 4090`.
    pub gpu_type: Option<String>,
    /// Case-sensitive substring of the location.
    pub location: Option<String>,
    /// The least VRAM per GPU, GB.
    pub min_vram: Option<u32>,
    /// The highest price of a whole offer, USD per hour; 0 means no filter on the broker.
    pub max_price: Option<f64>,
    /// The fewest GPUs per offer.
    pub min_gpu_count: Option<u32>,
    /// The least reliability, 0–1.
    pub min_reliability: Option<f64>,
    /// The least availability confidence, 0–1.
    pub min_availability_confidence: Option<f64>,
    /// The lowest CUDA version the driver must support, such as 12.4; 0 means no filter.
    /// The broker drops offers that report no CUDA version.
    pub min_cuda: Option<f64>,
    /// Only offers that fit this Vast.ai template (implies Vast.ai).
    pub template_hash_id: Option<String>,
    /// Offers per page (positive).
    pub limit: Option<u32>,
    /// Offers to skip before the page.
    pub offset: Option<u32>,
}

impl InventoryQuery {
    /// The query string pairs, in the broker's parameter names.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut push = |key: &'static str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((key, value));
            }
        };
        push("provider", self.provider.as_ref().map(Provider::to_string));
        push("gpu_type", self.gpu_type.clone());
        push("location", self.location.clone());
        push("min_vram", self.min_vram.map(|v| v.to_string()));
        push("max_price", self.max_price.map(|v| v.to_string()));
        push("min_gpu_count", self.min_gpu_count.map(|v| v.to_string()));
        push(
            "min_reliability",
            self.min_reliability.map(|v| v.to_string()),
        );
        push(
            "min_availability_confidence",
            self.min_availability_confidence.map(|v| v.to_string()),
        );
        push("min_cuda", self.min_cuda.map(|v| v.to_string()));
        push("template_hash_id", self.template_hash_id.clone());
        push("limit", self.limit.map(|v| v.to_string()));
        push("offset", self.offset.map(|v| v.to_string()));
        pairs
    }
}
