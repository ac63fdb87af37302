//! The catalogue as the wire carries it (`GET /api/engines`, `gpu-deploy-llm engines`):
//! each supported engine version with what it needs from a host.

use super::{catalogue, known_flags, ComputeCapability, Engine, EngineVersion};
use serde::{Deserialize, Serialize};

/// One supported engine version and what it needs.
///
/// # Examples
///
/// ```
/// use gdl_model::engines::{listing, Engine};
///
/// let all = listing();
/// let default = all.iter().find(|v| v.engine == Engine::Vllm && v.default).unwrap();
/// assert!(default.archs.contains(&"sm_120".to_string()));
/// assert!(default.quantizations.iter().any(|q| q.name == "fp8" && q.min_arch == "sm_89"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EngineInfo {
    /// `vllm` or `sglang`.
    pub engine: Engine,
    /// The release, such as `0.31.0` (what `engine_version` takes).
    pub version: String,
    /// `vLLM 0.31.0`.
    pub label: String,
    /// Whether a run that names no version deploys this one.
    pub default: bool,
    /// The image pulled in the docker mode.
    pub image: String,
    /// The requirement installed in the pip mode.
    pub pip: String,
    /// The lowest CUDA version the host's driver must support, such as `13.0`.
    pub min_cuda: f64,
    /// The GPU architectures the build has kernels for (`sm_75`, `sm_120`); a GPU of a
    /// higher minor within the same major runs them too (`sm_89` runs `sm_86`'s).
    pub archs: Vec<String>,
    /// The quantizations this version runs, each with the least architecture it needs.
    pub quantizations: Vec<QuantizationNeed>,
    /// The flags a run may add as `settings.extra_flags`.
    pub known_flags: Vec<String>,
}

/// A quantization and the least GPU architecture it runs on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuantizationNeed {
    /// The wire name (`none`, `awq`, `fp8`...).
    pub name: String,
    /// The least compute capability, `8.9`; `0.0` when any GPU the build runs on will do.
    pub min_compute_capability: String,
    /// The same as an architecture, `sm_89`.
    pub min_arch: String,
}

impl EngineInfo {
    /// The wire form of one catalogue entry.
    pub fn of(v: &EngineVersion) -> Self {
        Self {
            engine: v.engine,
            version: v.version.to_owned(),
            label: v.label(),
            default: v.default,
            image: v.image.to_owned(),
            pip: v.pip.to_owned(),
            min_cuda: v.min_cuda,
            archs: v.archs.iter().map(|&cc| super::sm(cc)).collect(),
            quantizations: v
                .quantizations
                .iter()
                .map(|&(name, cc)| QuantizationNeed {
                    name: name.to_owned(),
                    min_compute_capability: dotted(cc),
                    min_arch: super::sm(cc),
                })
                .collect(),
            known_flags: known_flags(v.engine)
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
        }
    }
}

/// `8.9`.
fn dotted(cc: ComputeCapability) -> String {
    format!("{}.{}", cc.0, cc.1)
}

/// The whole catalogue, defaults first within each engine.
pub fn listing() -> Vec<EngineInfo> {
    let mut all: Vec<&EngineVersion> = catalogue().iter().collect();
    all.sort_by_key(|v| (v.engine != Engine::Vllm, !v.default));
    all.into_iter().map(EngineInfo::of).collect()
}
