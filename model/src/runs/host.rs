//! What the host diagnostics found: OS, GPUs, driver and CUDA, docker, Python, disk, memory,
//! internet.

use serde::{Deserialize, Serialize};

/// One GPU as the host reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GpuInfo {
    /// The name nvidia-smi gives, without its `NVIDIA ` and `GeForce ` prefixes.
    pub name: String,
    /// Total memory, MiB.
    pub memory_total_mib: u64,
    /// Memory in use, MiB.
    pub memory_used_mib: u64,
    /// The NVIDIA driver version.
    pub driver: String,
    /// Temperature, °C; `None` when nvidia-smi reports none.
    pub temperature_c: Option<u32>,
    /// GPU utilisation, percent; `None` when nvidia-smi reports none.
    pub utilization_pct: Option<u32>,
}

/// The host diagnostics, parsed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostReport {
    /// The host's name (empty when unknown).
    pub hostname: String,
    /// The OS name and version from `/etc/os-release` (empty when unknown).
    pub os: String,
    /// The kernel release, `uname -r` (empty when unknown).
    pub kernel: String,
    /// The GPUs nvidia-smi lists (empty without nvidia-smi).
    pub gpus: Vec<GpuInfo>,
    /// The CUDA version nvidia-smi reports, such as `12.4`; `None` when it reports none.
    pub cuda_version: Option<String>,
    /// The docker version, such as `24.0.7`; `None` when docker is missing.
    pub docker_version: Option<String>,
    /// The `python3` version, such as `3.10.12`; `None` when it is missing.
    pub python_version: Option<String>,
    /// Free disk on `/`, GB (10⁹ bytes); `None` when unknown.
    pub disk_free_gb: Option<f64>,
    /// Total memory, GB (10⁹ bytes); `None` when unknown.
    pub ram_total_gb: Option<f64>,
    /// Whether huggingface.co answered from the host; `None` when it could not be asked.
    pub internet: Option<bool>,
    /// Problems noticed (no GPU, no docker, …) that did not stop the run.
    pub warnings: Vec<String>,
}
