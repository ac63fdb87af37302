//! The engine catalogue: the inference engines we deploy (vLLM, SGLang), the versions of each
//! we support, what each version needs from the host (driver CUDA version, GPU architecture),
//! and which quantizations run on which architectures.
//!
//! Every fact carries a `// source:` comment naming where it comes from. Where the sources
//! leave doubt the entry is conservative (it refuses rather than rents a machine that may
//! fail) and says so.
//!
//! Compute capabilities are `(major, minor)` tuples, as the GPU catalogue gives them; CUDA
//! versions are `f64` (`12.1`, `13.0`) like `MIN_CUDA` in the server's vLLM runner.

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod fit;
mod listing;
mod settings;
pub use listing::{listing, EngineInfo, QuantizationNeed};
pub use settings::{
    known_flags, Dtype, EngineSettings, KvCacheDtype, SettingsError, MAX_EXTRA_FLAGS,
};

/// A GPU's compute capability, `(major, minor)`: `(8, 9)` is Ada (sm_89).
pub type ComputeCapability = (u8, u8);

/// An inference engine we can deploy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// vLLM (`vllm`), the default.
    #[default]
    Vllm,
    /// SGLang (`sglang`).
    Sglang,
}

impl Engine {
    /// Every engine, for forms.
    pub const ALL: [Engine; 2] = [Self::Vllm, Self::Sglang];

    /// The wire name (`vllm`, `sglang`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vllm => "vllm",
            Self::Sglang => "sglang",
        }
    }

    /// The engine spelled `text` (`vllm`, `sglang`; case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// What people read (`vLLM`, `SGLang`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Vllm => "vLLM",
            Self::Sglang => "SGLang",
        }
    }
}

crate::query::word_enum!(Engine, "vllm or sglang");

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One supported version of an engine and what it needs from a host.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngineVersion {
    /// The engine.
    pub engine: Engine,
    /// The release, such as `0.31.0`.
    pub version: &'static str,
    /// The image pulled in docker mode.
    pub image: &'static str,
    /// The requirement installed in pip mode, quoted as one argument.
    pub pip: &'static str,
    /// The lowest CUDA version the host's driver must support (the build's CUDA toolkit).
    pub min_cuda: f64,
    /// The architectures the build ships kernels for. A GPU runs the build when one entry
    /// has its major and a minor no higher than its own (CUDA's binary compatibility within a
    /// major); PTX just-in-time compilation is not counted on (see `can_run`).
    pub archs: &'static [ComputeCapability],
    /// The lowest compute capability each quantization needs on this version, by wire name.
    /// A name not listed is unknown to this version.
    pub quantizations: &'static [(&'static str, ComputeCapability)],
    /// Whether this is the engine's default version (exactly one per engine).
    pub default: bool,
}

impl EngineVersion {
    /// `vLLM 0.31.0`.
    pub fn label(&self) -> String {
        format!("{} {}", self.engine.label(), self.version)
    }

    /// Whether the build ships kernels a GPU of this compute capability runs.
    pub fn supports_architecture(&self, cc: ComputeCapability) -> bool {
        self.archs
            .iter()
            .any(|&(major, minor)| major == cc.0 && minor <= cc.1)
    }

    /// The lowest compute capability a quantization needs here; `None` when unknown.
    pub fn quantization_min_cc(&self, quantization: &str) -> Option<ComputeCapability> {
        let name = quantization.trim().to_ascii_lowercase();
        let name = if name.is_empty() {
            "none"
        } else {
            name.as_str()
        };
        self.quantizations
            .iter()
            .find(|(q, _)| *q == name)
            .map(|&(_, cc)| cc)
    }
}

// Quantization minimums shared by the vLLM versions below.
// source: https://docs.vllm.ai/en/v0.6.4.post1/quantization/supported_hardware.html and
// https://docs.vllm.ai/en/v0.15.1/features/quantization/ (the table is the same in both:
// Volta = 7.0, Turing = 7.5, Ampere = 8.0/8.6, Ada = 8.9, Hopper = 9.0).
const VLLM_QUANTIZATIONS: &[(&str, ComputeCapability)] = &[
    // 16-bit weights as published. Current checkpoints are bf16 and the runner passes no
    // `--dtype`, so vLLM keeps bf16 and refuses below 8.0 ("Bfloat16 is only supported on GPUs
    // with compute capability of at least 8.0 ... --dtype=half").
    // source: vllm-project/vllm vllm/worker/worker.py@v0.6.4 (_check_if_gpu_supports_dtype).
    ("none", (8, 0)),
    ("bf16", (8, 0)),
    // Explicit fp16 runs wherever the build runs (the architecture check covers it).
    ("fp16", (0, 0)),
    // AWQ: Turing and newer (no Volta). source: supported_hardware table above.
    ("awq", (7, 5)),
    // GPTQ: Volta and newer. source: supported_hardware table above.
    ("gptq", (7, 0)),
    // Marlin kernels (what vLLM picks for AWQ/GPTQ on Ampere and newer): 8.0+.
    // source: supported_hardware table above ("Marlin (GPTQ/AWQ/FP8)": Ampere, Ada, Hopper).
    ("awq_marlin", (8, 0)),
    ("gptq_marlin", (8, 0)),
    // FP8 W8A8: Ada 8.9 and Hopper 9.0+. source: supported_hardware table above.
    // Conservative: vLLM can fall back to weight-only FP8 Marlin on Ampere, but our "fp8" is
    // offered as the Ada/Hopper choice (registry::Quantization::Fp8), so Ampere is refused.
    ("fp8", (8, 9)),
];

// SGLang: the same hardware minimums as vLLM (its quantization kernels come from the same
// families: Marlin, FP8 via torch._scaled_mm / CUTLASS). Conservative: not checked against an
// SGLang hardware table (its docs publish none we found); the architecture list below already
// starts at Ampere.
const SGLANG_QUANTIZATIONS: &[(&str, ComputeCapability)] = VLLM_QUANTIZATIONS;

static CATALOGUE: [EngineVersion; 4] = [
    EngineVersion {
        engine: Engine::Vllm,
        // source: https://github.com/vllm-project/vllm/releases (current as of 2026-12;
        // vllm/vllm-openai:v0.31.0 is on Docker Hub).
        version: "0.31.0",
        // Since v0.20.0 the unsuffixed tag is the CUDA 13.0 build (`-cu129` is the CUDA 12.9
        // variant). source: vllm-project/vllm PR #39878 "Switch default CUDA to 13.0".
        image: "vllm/vllm-openai:v0.31.0",
        // The unsuffixed PyPI wheel is the CUDA 13.0 build. source: vllm-project/vllm PR #47628.
        pip: "vllm==0.31.0",
        // source: vllm-project/vllm docker/versions.json (CUDA_VERSION 13.0.2) and PR #39878.
        min_cuda: 13.0,
        // source: vllm-project/vllm docker/versions.json TORCH_CUDA_ARCH_LIST
        // "7.5 8.0 8.6 8.9 9.0 10.0 11.0 12.0+PTX": Volta (7.0) dropped (CUDA 13 has no sm_70,
        // pytorch/pytorch issue #172352); Blackwell 10.x and 12.x supported.
        archs: &[
            (7, 5),
            (8, 0),
            (8, 6),
            (8, 9),
            (9, 0),
            (10, 0),
            (11, 0),
            (12, 0),
        ],
        quantizations: VLLM_QUANTIZATIONS,
        default: true,
    },
    EngineVersion {
        engine: Engine::Vllm,
        // The version the product pinned before the catalogue (server/src/runner/vllm.rs).
        version: "0.6.4",
        image: "vllm/vllm-openai:v0.6.4",
        pip: "vllm==0.6.4",
        // source: https://docs.vllm.ai/en/v0.6.6.post1/getting_started/installation.html
        // ("binaries are compiled with CUDA 12.1"); same as MIN_CUDA in server/src/runner/vllm.rs.
        min_cuda: 12.1,
        // source: vllm-project/vllm Dockerfile@v0.6.x torch_cuda_arch_list
        // '7.0 7.5 8.0 8.6 8.9 9.0+PTX'; docs: "compute capability 7.0 or higher".
        // No Blackwell: on an RTX 5090 (12.0) it fails with "no kernel image is available for
        // execution on the device" (vllm-project/vllm issues #16901, #35432), PTX or not.
        archs: &[(7, 0), (7, 5), (8, 0), (8, 6), (8, 9), (9, 0)],
        quantizations: VLLM_QUANTIZATIONS,
        default: false,
    },
    EngineVersion {
        engine: Engine::Sglang,
        // source: lmsysorg/sglang on Docker Hub (v0.5.21-cu130 published by 2026-10).
        version: "0.5.21",
        // Tag format `vX.Y.Z-cuXYZ`. source: https://docs.sglang.io/docs/get-started/install.md
        image: "lmsysorg/sglang:v0.5.21-cu130",
        // source: https://docs.sglang.io/docs/get-started/install.md (`uv pip install sglang`;
        // the `[all]` extra is no longer documented).
        pip: "sglang==0.5.21",
        // "SGLang requires CUDA 13 ... 0.5.19 is the last release with a CUDA 12 lane".
        // source: https://docs.sglang.io/docs/
        min_cuda: 13.0,
        // Built on PyTorch's CUDA 13.0 wheels: Turing, Ampere, Hopper, Blackwell 10.0/12.0
        // (source: pytorch/pytorch issue #172352 support matrix); Ada runs the 8.6 kernels.
        // Conservative: starts at Ampere 8.0, as SGLang's own kernels (sgl-kernel, FlashInfer)
        // are not documented for Turing.
        archs: &[(8, 0), (8, 6), (9, 0), (10, 0), (12, 0)],
        quantizations: SGLANG_QUANTIZATIONS,
        default: true,
    },
    EngineVersion {
        engine: Engine::Sglang,
        // The last CUDA 12 build, for hosts whose driver stops at CUDA 12.x.
        // source: https://raw.githubusercontent.com/sgl-project/sglang/7760d5264ac16b85392aefb1bf5c13ce38d9632e/docs/docs/get-started/install.mdx
        // ("lmsysorg/sglang:v0.5.19-cu129 is the last CUDA 12 tag").
        version: "0.5.19",
        image: "lmsysorg/sglang:v0.5.19-cu129",
        // Conservative: the PyPI wheel of 0.5.19 may pull a CUDA 13 torch; pip mode should
        // prefer docker mode for this version (unverified).
        pip: "sglang==0.5.19",
        // source: the `-cu129` tag (CUDA 12.9 build), same install.mdx as above.
        min_cuda: 12.9,
        // Conservative, as for 0.5.21: Ampere and newer.
        archs: &[(8, 0), (8, 6), (9, 0), (10, 0), (12, 0)],
        quantizations: SGLANG_QUANTIZATIONS,
        default: false,
    },
];

/// Every supported engine version, defaults first.
pub fn catalogue() -> &'static [EngineVersion] {
    &CATALOGUE
}

/// The version used when a run names none.
pub fn default_version(engine: Engine) -> &'static EngineVersion {
    CATALOGUE
        .iter()
        .find(|v| v.engine == engine && v.default)
        .unwrap_or_else(|| unreachable!("the catalogue has a default for {engine:?}"))
}

/// A supported version by its release string (a leading `v` is accepted).
pub fn find(engine: Engine, version: &str) -> Option<&'static EngineVersion> {
    let version = version.trim();
    let version = version.strip_prefix('v').unwrap_or(version);
    CATALOGUE
        .iter()
        .find(|v| v.engine == engine && v.version == version)
}

/// Why an engine version cannot run on a GPU.
#[derive(Clone, Debug, PartialEq)]
pub enum Unsupported {
    /// The host's driver supports an older CUDA than the build needs.
    DriverTooOld {
        /// The engine version (`vLLM 0.31.0`).
        engine: String,
        /// The CUDA version the build needs.
        needs: f64,
        /// The CUDA version the driver supports.
        has: f64,
    },
    /// The build ships no kernels for the GPU's architecture.
    ArchitectureUnsupported {
        /// The engine version.
        engine: String,
        /// The GPU's compute capability.
        cc: ComputeCapability,
    },
    /// The quantization needs a newer architecture than the GPU's.
    QuantizationNeeds {
        /// The quantization's wire name.
        quantization: String,
        /// The lowest compute capability it needs.
        min_cc: ComputeCapability,
        /// The GPU's compute capability.
        cc: ComputeCapability,
    },
    /// The engine version does not know the quantization.
    UnknownQuantization {
        /// The engine version.
        engine: String,
        /// The name given.
        quantization: String,
    },
}

impl Unsupported {
    /// The sentence a person reads.
    pub fn reason(&self) -> String {
        match self {
            Self::DriverTooOld { engine, needs, has } => {
                format!("driver supports CUDA {has:.1}, {engine} needs {needs:.1}")
            }
            Self::ArchitectureUnsupported { engine, cc } => format!(
                "{engine} has no kernels for {} (compute capability {}.{})",
                sm(*cc),
                cc.0,
                cc.1
            ),
            Self::QuantizationNeeds {
                quantization,
                min_cc,
                cc,
            } => format!(
                "{quantization} needs compute capability {}.{} or newer; this GPU has {}.{}",
                min_cc.0, min_cc.1, cc.0, cc.1
            ),
            Self::UnknownQuantization {
                engine,
                quantization,
            } => format!("{engine} does not know quantization {quantization:?}"),
        }
    }

    /// A short stable key for counting filter reasons (`driver too old for vLLM 0.31.0`,
    /// `sm_70 unsupported`, `fp8 needs sm_89`).
    pub fn key(&self) -> String {
        match self {
            Self::DriverTooOld { engine, .. } => format!("driver too old for {engine}"),
            Self::ArchitectureUnsupported { cc, .. } => format!("{} unsupported", sm(*cc)),
            Self::QuantizationNeeds {
                quantization,
                min_cc,
                ..
            } => format!("{quantization} needs {}", sm(*min_cc)),
            Self::UnknownQuantization { quantization, .. } => {
                format!("unknown quantization {quantization}")
            }
        }
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason())
    }
}

impl std::error::Error for Unsupported {}

/// `sm_89` for `(8, 9)`.
fn sm(cc: ComputeCapability) -> String {
    format!("sm_{}{}", cc.0, cc.1)
}

/// Whether an engine version can run on a GPU of this compute capability, with a driver that
/// supports `cuda` (`None`: not known, not refused; the host diagnosis checks it later), and
/// this quantization (`none`, `fp16`, `bf16`, `awq`, `gptq`, `awq_marlin`, `gptq_marlin`,
/// `fp8`; case-insensitive, empty means `none`).
///
/// Checks in order: driver, architecture, quantization.
///
/// # Examples
///
/// ```
/// use gdl_model::engines::{can_run, default_version, find, Engine};
///
/// let old = find(Engine::Vllm, "0.6.4").unwrap();
/// let rtx_5090 = (12, 0);
/// let refused = can_run(old, rtx_5090, Some(12.8), "none").unwrap_err();
/// assert_eq!(refused.key(), "sm_120 unsupported");
///
/// let current = default_version(Engine::Vllm);
/// assert!(can_run(current, rtx_5090, Some(13.0), "none").is_ok());
///
/// let too_old = can_run(current, rtx_5090, Some(12.8), "none").unwrap_err();
/// assert_eq!(
///     too_old.reason(),
///     format!("driver supports CUDA 12.8, vLLM {} needs 13.0", current.version)
/// );
/// ```
pub fn can_run(
    v: &EngineVersion,
    compute_capability: ComputeCapability,
    cuda: Option<f64>,
    quantization: &str,
) -> Result<(), Unsupported> {
    if let Some(has) = cuda {
        // Versions are tenths (12.1, 12.8, 13.0); the margin keeps parsed values equal.
        if has + 1e-6 < v.min_cuda {
            return Err(Unsupported::DriverTooOld {
                engine: v.label(),
                needs: v.min_cuda,
                has,
            });
        }
    }
    if !v.supports_architecture(compute_capability) {
        return Err(Unsupported::ArchitectureUnsupported {
            engine: v.label(),
            cc: compute_capability,
        });
    }
    let Some(min_cc) = v.quantization_min_cc(quantization) else {
        return Err(Unsupported::UnknownQuantization {
            engine: v.label(),
            quantization: quantization.trim().to_string(),
        });
    };
    if compute_capability < min_cc {
        return Err(Unsupported::QuantizationNeeds {
            quantization: quantization.trim().to_ascii_lowercase(),
            min_cc,
            cc: compute_capability,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
