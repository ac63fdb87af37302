//! "Fits model M" on the Inventory tab: the offers with enough GPUs of enough VRAM that the
//! chosen engine version can run, by the same rule the deployment test's Query inventory
//! step applies ([`crate::engines::fit`]).

use super::InventoryFilters;
use crate::engines::fit::{catalogue_quantization, check, LeftOut, Verdict};
use crate::engines::{default_version, find, Dtype, Engine, EngineVersion};
use crate::error::ApiError;
use crate::ids::OfferId;
use crate::shopper::Offer;
use serde::{Deserialize, Serialize};

/// A model's VRAM estimate against the offers listed (the Inventory tab's "fits model M").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelFit {
    /// The model, resolved, with its VRAM estimate on one GPU.
    pub model: crate::registry::ResolvedModel,
    /// GPUs the model is split across.
    pub gpus: u32,
    /// The VRAM each of those GPUs needs, GB.
    pub vram_per_gpu: u32,
    /// The ids of the listed offers with enough GPUs of enough VRAM that the engine can run
    /// (or may: a GPU the catalogue does not know is kept, as a test keeps it).
    pub fitting: Vec<OfferId>,
    /// The engine checked (what a test started from this fit deploys).
    #[serde(default)]
    pub engine: Engine,
    /// Its version checked, such as `0.31.0`.
    #[serde(default)]
    pub engine_version: String,
    /// The offers with enough VRAM that the engine cannot run, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOutOffer>,
    /// `2 offers left out: 1 sm_70 unsupported, 1 driver too old for vLLM 0.31.0`, when
    /// any were (what a test's Query inventory step would say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out_summary: Option<String>,
}

/// An offer with VRAM enough that the engine cannot run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeftOutOffer {
    /// The offer.
    pub id: OfferId,
    /// Why, in a sentence (`driver supports CUDA 12.4, vLLM 0.31.0 needs 13.0`).
    pub reason: String,
}

impl ModelFit {
    /// Which of `offers` can serve `model` on `gpus` GPUs with `engine`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::engines::{default_version, Engine};
    /// use gdl_model::inventory::ModelFit;
    /// use gdl_model::registry::{resolve, Quantization};
    /// use gdl_model::shopper::Offer;
    ///
    /// let offer = |id: &str, gpu: &str, vram: u32, cuda: f64| -> Offer {
    ///     serde_json::from_value(serde_json::json!({"id": id, "provider": "vastai",
    ///         "gpu_type": gpu, "gpu_count": 1, "vram_gb": vram, "price_per_hour": 0.3,
    ///         "cuda_version": cuda}))
    ///     .unwrap()
    /// };
    /// let model = resolve("qwen2.5-7b", Quantization::None)?; // needs 21 GB on one GPU
    /// let offers = [
    ///     offer("small", "RTX 4080", 16, 13.0),
    ///     offer("big", "RTX 4090", 24, 13.0),
    ///     offer("old-driver", "RTX 4090", 24, 12.4),
    /// ];
    /// let fit = ModelFit::of(model, 1, &offers, default_version(Engine::Vllm));
    /// assert_eq!(fit.vram_per_gpu, 21);
    /// assert_eq!(fit.engine_label(), "vLLM 0.31.0");
    /// assert_eq!(fit.fitting, ["big"]);
    /// assert_eq!(fit.left_out[0].id, "old-driver");
    /// assert!(fit.left_out[0].reason.starts_with("driver supports CUDA 12.4"));
    /// assert!(fit.left_out_summary.unwrap().starts_with("1 offer left out: 1 driver too old"));
    /// # Ok::<(), gdl_model::registry::ModelError>(())
    /// ```
    pub fn of(
        model: crate::registry::ResolvedModel,
        gpus: u32,
        offers: &[Offer],
        engine: &EngineVersion,
    ) -> Self {
        let gpus = gpus.max(1);
        let quantization = catalogue_quantization(Some(model.quantization.as_str()), Dtype::Auto);
        let mut fitting = Vec::new();
        let mut left_out = Vec::new();
        let mut counted = LeftOut::default();
        for o in offers
            .iter()
            .filter(|o| model.fits(gpus, o.vram_gb, o.gpu_count))
        {
            match check(o, engine, &quantization) {
                Verdict::Runs | Verdict::UnknownGpu => fitting.push(o.id.clone()),
                Verdict::Cannot(why) => {
                    counted.add(&why);
                    left_out.push(LeftOutOffer {
                        id: o.id.clone(),
                        reason: why.reason(),
                    });
                }
            }
        }
        Self {
            vram_per_gpu: model.vram_per_gpu(gpus),
            fitting,
            engine: engine.engine,
            engine_version: engine.version.to_owned(),
            left_out,
            left_out_summary: counted.summary(),
            model,
            gpus,
        }
    }

    /// `vLLM 0.31.0`.
    pub fn engine_label(&self) -> String {
        format!("{} {}", self.engine.label(), self.engine_version)
    }

    /// Why the engine cannot run `offer`, when it was left out for that.
    pub fn left_out_reason(&self, offer: &OfferId) -> Option<&str> {
        self.left_out
            .iter()
            .find(|l| &l.id == offer)
            .map(|l| l.reason.as_str())
    }
}

impl InventoryFilters {
    /// The engine version the model's fit is checked for: the one named, else the engine's
    /// default; a version the catalogue does not have is refused, naming those it has.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::inventory::InventoryFilters;
    /// use gdl_model::query::decode;
    ///
    /// let f: InventoryFilters = decode("model=qwen2.5-7b&engine=vllm&engine_version=0.6.4")?;
    /// assert_eq!(f.fit_engine()?.label(), "vLLM 0.6.4");
    /// assert_eq!(InventoryFilters::default().fit_engine()?.label(), "vLLM 0.31.0");
    /// let bad: InventoryFilters = decode("engine=sglang&engine_version=0.31.0")?;
    /// assert!(bad.fit_engine().unwrap_err().hint.unwrap().contains("0.5.21"));
    /// # Ok::<(), gdl_model::error::ApiError>(())
    /// ```
    pub fn fit_engine(&self) -> Result<&'static EngineVersion, ApiError> {
        let engine = self.engine.unwrap_or_default();
        match self.engine_version.as_deref() {
            None => Ok(default_version(engine)),
            Some(v) => find(engine, v).ok_or_else(|| {
                let versions: Vec<&str> = crate::engines::catalogue()
                    .iter()
                    .filter(|e| e.engine == engine)
                    .map(|e| e.version)
                    .collect();
                ApiError::invalid(
                    format!("{} has no version {v:?} in the catalogue", engine.label()),
                    format!(
                        "Use one of {} (GET /api/engines), or leave engine_version out for the default.",
                        versions.join(", ")
                    ),
                )
            }),
        }
    }
}
