//! The broker's JSON error bodies: the standard `{error, request_id}` shape and the extra
//! keys of structured create-session errors (stale inventory, insufficient disk, the 500s'
//! `error_type` and `retry_suggested`). Gin's plain-text `404 page not found` is the third
//! shape; the client handles it.

use super::Provider;
use serde::{Deserialize, Serialize};

/// A JSON error body from the broker (`internal/api/handlers.go`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokerErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `stale_inventory`, `insufficient_disk`, `ssh_timeout`, `instance_stopped`,
    /// `provider_unavailable`, `invalid_request`, `provision_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_suggested: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// A person-readable sentence (stale inventory only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_gb: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_gb: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_gb: Option<u32>,
    /// How the broker computed the disk a model needs (`insufficient_disk` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<DiskBreakdown>,
}

/// The broker's disk estimate for a model (`DiskEstimation`,
/// `internal/service/provisioner/disk.go`), in GB.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskBreakdown {
    #[serde(default)]
    pub model_weight_gb: f64,
    #[serde(default)]
    pub download_buffer_gb: f64,
    #[serde(default)]
    pub docker_image_gb: f64,
    #[serde(default)]
    pub system_overhead_gb: f64,
    #[serde(default)]
    pub minimum_gb: u32,
    #[serde(default)]
    pub recommended_gb: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_floor_gb: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_count_b: Option<f64>,
}

impl DiskBreakdown {
    /// `model weights: 1.0 GB, download buffer: 0.5 GB, docker image: 10 GB, system
    /// overhead: 5 GB`, as the broker words it in the error text.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.model_weight_gb > 0.0 {
            parts.push(format!("model weights: {:.1} GB", self.model_weight_gb));
        }
        if self.download_buffer_gb > 0.0 {
            parts.push(format!(
                "download buffer: {:.1} GB",
                self.download_buffer_gb
            ));
        }
        parts.push(format!("docker image: {:.0} GB", self.docker_image_gb));
        parts.push(format!(
            "system overhead: {:.0} GB",
            self.system_overhead_gb
        ));
        if let Some(floor) = self.template_floor_gb.filter(|f| *f > 0) {
            parts.push(format!("template recommendation: {floor} GB"));
        }
        parts.join(", ")
    }
}
