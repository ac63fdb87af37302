//! The Inventory tab's wire types: its filters and sort as the URL carries them, the offers
//! they select, and which of those fit a model.
//!
//! # Examples
//!
//! The tab's URL into the broker's query, and which offers it admits:
//!
//! ```
//! use gdl_model::inventory::InventoryFilters;
//! use gdl_model::query::decode;
//! use gdl_model::shopper::{Offer, Provider};
//!
//! let f: InventoryFilters = decode("provider=vastai&min_vram=24&max_price=0.5&gpu_type=")?;
//! let q = f.query();
//! assert_eq!(q.provider, Some(Provider::VastAi));
//! assert_eq!(q.gpu_type, None, "empty means unset");
//!
//! let offer: Offer = serde_json::from_str(r#"{"id":"vastai-1","provider":"vastai",
//!     "gpu_type":"RTX 4090","gpu_count":1,"vram_gb":24,"price_per_hour":0.41}"#)?;
//! assert!(q.admits(&offer));
//! let dear = Offer { price_per_hour: 0.9, ..offer };
//! assert!(!q.admits(&dear));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod fit;
mod narrowing;

pub use fit::{LeftOutOffer, ModelFit};
pub use narrowing::NoOffers;

use crate::code::ErrorCode;
use crate::error::ApiError;
use crate::provider::Provider;
use crate::query::{blank_as_none, word_enum};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The Inventory tab's filters and sort, as its URL carries them (`/inventory?...`): every
/// field optional, empty means unset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryFilters {
    /// Only this provider's offers.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub provider: Option<Provider>,
    /// The least VRAM per GPU, GB.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_vram: Option<u32>,
    /// The highest price of a whole offer, USD per hour (0 means no limit on the broker).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_price: Option<f64>,
    /// Part of the GPU's name, such as `4090` or `rtx 4090` (case, spaces and dashes
    /// ignored): matched here, as the broker matches only the exact name.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub gpu_type: Option<String>,
    /// A case-sensitive part of the location.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<String>,
    /// The least reliability, 0–1.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub min_reliability: Option<f64>,
    /// The order (cheapest first when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub sort: Option<InventorySort>,
    /// Mark the offers that fit this model (a preset alias or Hugging Face id). Not a
    /// broker filter: every offer is still listed.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<String>,
    /// The model's quantization (`none` when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub quantization: Option<String>,
    /// GPUs the model is split across (1 when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub gpus: Option<u32>,
    /// The context length the model is to serve, tokens: its KV cache counts in the VRAM
    /// it needs (as for a test with that `max_model_len`).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_model_len: Option<u32>,
    /// The engine the model's fit is checked for (`vllm` when unset).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub engine: Option<crate::engines::Engine>,
    /// Its version (the engine's default when unset), as `GET /api/engines` lists them.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub engine_version: Option<String>,
}

impl InventoryFilters {
    /// Refuses filters no offer could pass for a reason a person should hear: a provider
    /// this version does not know, a GPU count outside 1 to 8, a number that is not finite.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::inventory::InventoryFilters;
    /// use gdl_model::query::decode;
    ///
    /// assert!(decode::<InventoryFilters>("provider=vastai&gpus=2")?.check().is_ok());
    /// let e = decode::<InventoryFilters>("provider=runpod")?.check().unwrap_err();
    /// assert!(e.message.contains("runpod") && e.hint.unwrap().contains("vastai"));
    /// assert!(decode::<InventoryFilters>("gpus=9")?.check().is_err());
    /// # Ok::<(), gdl_model::error::ApiError>(())
    /// ```
    pub fn check(&self) -> Result<(), ApiError> {
        if let Some(Provider::Other(p)) = &self.provider {
            return Err(ApiError::invalid(
                format!("unknown provider {p:?}"),
                format!(
                    "Use one of {}, or leave it out for any.",
                    Provider::known_names()
                ),
            ));
        }
        if let Some(n) = self.gpus.filter(|n| !(1..=8).contains(n)) {
            return Err(ApiError::invalid(
                format!("gpus must be 1 to 8, got {n}"),
                "Leave gpus out for one GPU.",
            ));
        }
        self.fit_engine()?;
        let numbers = [
            ("max_price", self.max_price),
            ("min_reliability", self.min_reliability),
        ];
        if let Some((name, _)) = numbers
            .iter()
            .find(|(_, v)| v.is_some_and(|v| !v.is_finite()))
        {
            return Err(ApiError::invalid(
                format!("{name} must be a finite number"),
                format!("Leave {name} out for no limit."),
            ));
        }
        Ok(())
    }

    /// The broker's inventory query for these filters.
    pub fn query(&self) -> crate::shopper::InventoryQuery {
        crate::shopper::InventoryQuery {
            provider: self.provider.clone(),
            min_vram: self.min_vram,
            max_price: self.max_price,
            // The broker matches the exact name only; part of it is matched in `admits`.
            gpu_type: None,
            location: self.location.clone(),
            min_reliability: self.min_reliability,
            ..Default::default()
        }
    }

    /// Whether `o` passes these filters: the broker's query ([`Self::query`]) and part of
    /// the GPU's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::inventory::InventoryFilters;
    /// use gdl_model::shopper::Offer;
    ///
    /// let offer: Offer = serde_json::from_value(serde_json::json!({"id": "vastai-1",
    ///     "provider": "vastai", "gpu_type": "RTX 4090", "gpu_count": 1, "vram_gb": 24,
    ///     "price_per_hour": 0.41}))?;
    /// let gpu = |g: &str| InventoryFilters { gpu_type: Some(g.into()), ..Default::default() };
    /// assert!(gpu("4090").admits(&offer));
    /// assert!(gpu("rtx4090").admits(&offer));
    /// assert!(!gpu("3090").admits(&offer));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn admits(&self, o: &crate::shopper::Offer) -> bool {
        let squeeze = |text: &str| -> String {
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
                .flat_map(char::to_lowercase)
                .collect()
        };
        self.query().admits(o)
            && self
                .gpu_type
                .as_deref()
                .is_none_or(|part| squeeze(&o.gpu_type).contains(&squeeze(part)))
    }

    /// The model to mark fitting offers for, resolved with its VRAM estimate; `None` when no
    /// model is asked for, the model error (with its code and hint) when it cannot be served.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::code::ErrorCode;
    /// use gdl_model::inventory::InventoryFilters;
    ///
    /// let f: InventoryFilters = gdl_model::query::decode("model=qwen2.5-7b&quantization=awq")?;
    /// let model = f.fit_model().unwrap().unwrap();
    /// assert_eq!(model.served_repo, "Qwen/Qwen2.5-7B-Instruct-AWQ");
    ///
    /// let bad: InventoryFilters = gdl_model::query::decode("model=gemma-2b&quantization=awq")?;
    /// let e = bad.fit_model().unwrap().unwrap_err();
    /// assert_eq!(e.error_code(), ErrorCode::QuantizationUnavailable);
    /// assert!(InventoryFilters::default().fit_model().is_none());
    /// # Ok::<(), gdl_model::error::ApiError>(())
    /// ```
    pub fn fit_model(&self) -> Option<Result<crate::registry::ResolvedModel, ApiError>> {
        use crate::registry::{resolve, Quantization};
        let model = self.model.as_deref()?;
        let quantization = match self.quantization.as_deref() {
            None => Quantization::None,
            Some(q) => match Quantization::parse(q) {
                Some(q) => q,
                None => {
                    return Some(Err(ApiError::new(
                        ErrorCode::InvalidInput,
                        format!("unknown quantization {q:?}"),
                    )
                    .with_hint("Use none, awq, gptq or fp8.")))
                }
            },
        };
        let context = crate::engines::EngineSettings {
            max_model_len: self.max_model_len,
            ..Default::default()
        };
        Some(
            resolve(model, quantization)
                .map(|m| m.with_context(&context))
                .map_err(|e| ApiError::new(e.code(), e.to_string()).with_hint(e.hint())),
        )
    }

    /// Sorts `offers` as asked: cheapest first unless `sort` says otherwise.
    pub fn sort(&self, offers: &mut [crate::shopper::Offer]) {
        match self.sort.unwrap_or_default() {
            InventorySort::Vram => offers.sort_by(|a, b| {
                b.vram_gb
                    .cmp(&a.vram_gb)
                    .then(a.price_per_hour.total_cmp(&b.price_per_hour))
            }),
            InventorySort::Reliability => {
                offers.sort_by(|a, b| b.reliability.total_cmp(&a.reliability))
            }
            InventorySort::Confidence => offers.sort_by(|a, b| {
                b.availability_confidence
                    .total_cmp(&a.availability_confidence)
            }),
            InventorySort::Price => {
                offers.sort_by(|a, b| a.price_per_hour.total_cmp(&b.price_per_hour))
            }
        }
    }
}

/// How the Inventory tab sorts offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InventorySort {
    /// The cheapest first.
    #[default]
    Price,
    /// The most VRAM per GPU first (the cheapest first among equals).
    Vram,
    /// The most reliable first.
    Reliability,
    /// The most likely to be available first.
    Confidence,
}

impl InventorySort {
    /// Every order, as the tab's select lists them.
    pub const ALL: [InventorySort; 4] =
        [Self::Price, Self::Vram, Self::Reliability, Self::Confidence];

    /// The wire spelling (`price`, `vram`, `reliability`, `confidence`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Vram => "vram",
            Self::Reliability => "reliability",
            Self::Confidence => "confidence",
        }
    }

    /// The words people read in the select.
    pub fn label(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Vram => "VRAM",
            Self::Reliability => "reliability",
            Self::Confidence => "availability",
        }
    }
}

word_enum!(InventorySort, "price, vram, reliability or confidence");

impl crate::shopper::InventoryQuery {
    /// Whether the broker lists `o` for this query: its filters as the broker applies them
    /// (exact GPU type, location substring, 0 meaning no price or CUDA limit).
    pub fn admits(&self, o: &crate::shopper::Offer) -> bool {
        self.provider.as_ref().is_none_or(|p| &o.provider == p)
            && self.gpu_type.as_ref().is_none_or(|g| &o.gpu_type == g)
            && self
                .location
                .as_ref()
                .is_none_or(|l| o.location.contains(l.as_str()))
            && self.min_vram.is_none_or(|v| o.vram_gb >= v)
            && self
                .max_price
                .is_none_or(|p| p == 0.0 || o.price_per_hour <= p)
            && self.min_gpu_count.is_none_or(|c| o.gpu_count >= c)
            && self.min_reliability.is_none_or(|r| o.reliability >= r)
            && self
                .min_availability_confidence
                .is_none_or(|c| o.availability_confidence >= c)
            && self
                .min_cuda
                .is_none_or(|c| c == 0.0 || o.cuda_version.unwrap_or(0.0) >= c)
    }
}

/// `GET /api/inventory`: the offers that pass the filters, sorted, and how old the data is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryView {
    /// The offers that pass the filters, in the order asked for.
    pub offers: Vec<crate::shopper::Offer>,
    /// When the broker fetched its newest offer from the providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<DateTime<Utc>>,
    /// With `model=`: its VRAM estimate and which of the offers fit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<ModelFit>,
    /// When the dashboard last read the broker's inventory (it reads it in the background,
    /// and answers with the last list while a read runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_at: Option<DateTime<Utc>>,
    /// Why the last read failed, for some providers or all (their earlier offers are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<ApiError>,
    /// When no offer passes the filters: which filter left nothing, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none: Option<NoOffers>,
    /// Each GPU type's cheapest and median $ per GPU-hour on each provider, among the
    /// offers listed; with `model=`, only among those that fit it.
    #[serde(default)]
    pub prices: Vec<crate::prices::GpuPrices>,
}
