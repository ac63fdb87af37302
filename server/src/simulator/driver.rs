//! The NVIDIA driver of a simulated host and what an engine build finds on it. A host's
//! driver supports the CUDA version its offer lists (or [`Driver::DEFAULT`] when the
//! provider lists none), unless a fault makes it older: then an engine whose build needs a
//! newer CUDA dies at start with PyTorch's driver error. A build without kernels for the
//! GPU's compute capability dies with CUDA's "no kernel image" error (an RTX 5090 under
//! vLLM 0.6.4: vllm-project/vllm issues #16901, #35432). The engine version comes from the
//! image tag or pip spec, read against the catalogue ([`gdl_model::engines::catalogue`]).

use super::Simulator;
use gdl_model::engines::{self, EngineVersion};
use gdl_model::gpus;
use gdl_model::shopper::Offer;

/// A host's NVIDIA driver: its version and the highest CUDA version it supports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Driver {
    /// As `nvidia-smi` prints it (`580.95.05`).
    pub version: &'static str,
    /// `CUDA Version:` in `nvidia-smi`'s banner.
    pub cuda: f64,
}

/// Driver branches and the CUDA version each is the first to support.
/// source: NVIDIA's CUDA Toolkit release notes, table "CUDA Toolkit and Corresponding
/// Driver Versions" (toolkit 13.1: >= 590.44.01, 13.0: >= 580.65.06, 12.9: >= 575.51.03,
/// 12.8: >= 570.26, 12.6: >= 560.28.03, 12.4: >= 550.54.14, 12.2: >= 535.54.03,
/// 12.1: >= 530.30.02, 11.8: >= 520.61.05); the versions are releases of those branches.
const DRIVERS: &[Driver] = &[
    Driver {
        version: "520.61.05",
        cuda: 11.8,
    },
    Driver {
        version: "530.30.02",
        cuda: 12.1,
    },
    Driver {
        version: "535.183.01",
        cuda: 12.2,
    },
    Driver {
        version: "550.54.15",
        cuda: 12.4,
    },
    Driver {
        version: "560.35.03",
        cuda: 12.6,
    },
    Driver {
        version: "570.195.03",
        cuda: 12.8,
    },
    Driver {
        version: "575.57.08",
        cuda: 12.9,
    },
    Driver {
        version: "580.95.05",
        cuda: 13.0,
    },
    Driver {
        version: "590.44.01",
        cuda: 13.1,
    },
];

impl Driver {
    /// A current driver (CUDA 13.0), for hosts whose offer lists no CUDA version.
    pub const DEFAULT: Driver = Driver {
        version: "580.95.05",
        cuda: 13.0,
    };

    /// The newest driver supporting at most `cuda` (the oldest one known below that).
    pub fn for_cuda(cuda: f64) -> Self {
        DRIVERS
            .iter()
            .rev()
            .find(|d| d.cuda <= cuda + 1e-6)
            .copied()
            .unwrap_or(DRIVERS[0])
    }

    /// CUDA's integer form (`12.4` → `12040`), as PyTorch prints the driver's version.
    fn cuda_int(self) -> u32 {
        let major = self.cuda.trunc() as u32;
        let minor = ((self.cuda - self.cuda.trunc()) * 10.0).round() as u32;
        major * 1000 + minor * 10
    }
}

impl Default for Driver {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Simulator {
    /// The driver of a host created now on `offer`: the CUDA version the offer lists (as
    /// listed, old-driver faults included), a current driver when it lists none, or the
    /// older one the `host_driver_cuda` fault gives the next hosts; none that works for the
    /// next hosts of the `hosts_without_driver` fault.
    pub(crate) fn host_driver(&self, offer: &Offer) -> Option<Driver> {
        let mut state = self.state();
        let faults = &mut state.faults;
        if faults.hosts_without_driver > 0 {
            faults.hosts_without_driver -= 1;
            return None;
        }
        if let (Some(cuda), true) = (faults.host_driver_cuda, faults.host_driver_hosts > 0) {
            faults.host_driver_hosts -= 1;
            return Some(Driver::for_cuda(cuda));
        }
        let listed = super::inventory::as_listed(offer.clone(), faults.old_drivers_below);
        Some(
            listed
                .cuda_version
                .map_or(Driver::DEFAULT, Driver::for_cuda),
        )
    }
}

impl Simulator {
    /// How many times slower than its GPU type a host created now decodes: the
    /// `slow_hosts` fault's factor for the next hosts that come up (`runs`), 1 otherwise.
    pub(crate) fn host_slowdown(&self, runs: bool) -> f64 {
        let mut state = self.state();
        let faults = &mut state.faults;
        if faults.slow_hosts == 0 || !runs {
            return 1.0;
        }
        faults.slow_hosts -= 1;
        if faults.slow_host_factor > 1.0 {
            faults.slow_host_factor
        } else {
            4.0
        }
    }
}

/// What an engine logs on a host without a working driver (PyTorch finds none at CUDA
/// initialisation).
pub fn no_driver() -> Death {
    Death {
        error: "RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx".into(),
        early: true,
    }
}

/// The catalogue's engine version an image runs (`vllm/vllm-openai:v0.31.0`).
pub fn engine_of_image(image: &str) -> Option<&'static EngineVersion> {
    engines::catalogue().iter().find(|v| v.image == image)
}

/// The catalogue's engine version a pip requirement installs (`vllm==0.6.4`).
pub fn engine_of_pip(spec: &str) -> Option<&'static EngineVersion> {
    let spec = spec.trim_matches(|c| c == '\'' || c == '"');
    engines::catalogue().iter().find(|v| v.pip == spec)
}

/// Why an engine dies on a host: the error its log ends with, and whether it comes at once
/// (CUDA initialisation) or once the weights are loading (the first kernel launched).
#[derive(Clone, Debug, PartialEq)]
pub struct Death {
    pub error: String,
    pub early: bool,
}

/// Why `engine` dies at start on a host with `driver` and GPUs `gpu_type` of `vram_gb`, as
/// its log says; `None` when it runs there (or the GPU is one the catalogue does not know).
pub fn startup_error(
    engine: &EngineVersion,
    driver: Driver,
    gpu_type: &str,
    vram_gb: u32,
) -> Option<Death> {
    if driver.cuda + 1e-6 < engine.min_cuda {
        // PyTorch's check at CUDA initialisation (torch/cuda/__init__.py, `_check_driver`).
        let error = format!(
            "RuntimeError: The NVIDIA driver on your system is too old (found version {}). Please update your GPU driver by downloading and installing a new version from the URL: http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to install a PyTorch version that has been compiled with your version of the CUDA driver.",
            driver.cuda_int()
        );
        return Some(Death { error, early: true });
    }
    let gpu = gpus::lookup_with_vram(gpu_type, vram_gb)?;
    (!engine.supports_architecture(gpu.compute_capability)).then(|| Death {
        error: "torch.AcceleratorError: CUDA error: no kernel image is available for execution on the device\nCUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.".to_owned(),
        early: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_follow_the_cuda_version_listed() {
        assert_eq!(Driver::for_cuda(12.4).version, "550.54.15");
        assert_eq!(Driver::for_cuda(12.5).cuda, 12.4, "the newest at most");
        assert_eq!(Driver::for_cuda(13.0), Driver::DEFAULT);
        assert_eq!(Driver::for_cuda(11.0).cuda, 11.8, "the oldest known");
        assert_eq!(Driver::for_cuda(12.4).cuda_int(), 12040);
        assert_eq!(Driver::for_cuda(13.1).cuda_int(), 13010);
    }

    #[test]
    fn each_build_finds_what_a_real_host_would() {
        let old = engine_of_image("vllm/vllm-openai:v0.6.4").unwrap();
        let new = engine_of_pip("'vllm==0.31.0'").unwrap();
        assert_eq!((old.version, new.version), ("0.6.4", "0.31.0"));
        assert_eq!(engine_of_image("vllm/vllm-openai:latest"), None);
        let blackwell = ("RTX 5090", 32);
        let err = startup_error(old, Driver::DEFAULT, blackwell.0, blackwell.1).unwrap();
        assert!(
            err.error.contains("no kernel image is available"),
            "{err:?}"
        );
        assert!(!err.early, "it dies at the first kernel, once loading");
        assert_eq!(
            startup_error(new, Driver::DEFAULT, blackwell.0, blackwell.1),
            None
        );

        assert!(startup_error(new, Driver::DEFAULT, "V100", 16)
            .unwrap()
            .error
            .contains("no kernel image"));
        assert_eq!(startup_error(old, Driver::DEFAULT, "V100", 16), None);
        let err = startup_error(new, Driver::for_cuda(12.4), "RTX 4090", 24).unwrap();
        assert!(
            err.error.contains("too old (found version 12040)"),
            "{err:?}"
        );
        assert!(err.early, "at CUDA initialisation");
        assert_eq!(
            startup_error(new, Driver::DEFAULT, "Mystery GPU", 24),
            None,
            "an unknown GPU is not guessed"
        );
    }
}
