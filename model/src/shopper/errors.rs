//! The broker's JSON error bodies: the standard `{error, request_id}` shape and the extra
//! keys of structured create-session errors (stale inventory, insufficient disk, the 500s'
//! `error_type` and `retry_suggested`). Gin's plain-text `404 page not found` is the third
//! shape; the client handles it.

use super::Provider;
use serde::{Deserialize, Serialize};

/// A JSON error body from the broker (`internal/api/handlers.go`).
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::BrokerErrorBody;
///
/// let e: BrokerErrorBody = serde_json::from_str(r#"{"error":"insufficient disk space",
///     "error_type":"insufficient_disk","requested_gb":20,"minimum_gb":17,"recommended_gb":25,
///     "breakdown":{"model_weight_gb":1.0,"download_buffer_gb":0.5,"docker_image_gb":10,
///                  "system_overhead_gb":5,"minimum_gb":17,"recommended_gb":25},
///     "request_id":"r-9"}"#)?;
/// assert_eq!(e.error_type.as_deref(), Some("insufficient_disk"));
/// assert_eq!(e.minimum_gb, Some(17));
/// assert_eq!(
///     e.breakdown.unwrap().describe(),
///     "model weights: 1.0 GB, download buffer: 0.5 GB, docker image: 10 GB, system overhead: 5 GB"
/// );
/// // The standard shape has the error text only.
/// let plain: BrokerErrorBody = serde_json::from_str(r#"{"error":"record not found"}"#)?;
/// assert!(plain.request_id.is_none() && plain.error_type.is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokerErrorBody {
    /// The broker's error text.
    pub error: String,
    /// The broker's request id, for its logs; `None` when it sent none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `stale_inventory`, `insufficient_disk`, `ssh_timeout`, `instance_stopped`,
    /// `provider_unavailable`, `invalid_request`, `provision_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Whether the broker suggests trying again (another offer); `None` when it says nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_suggested: Option<bool>,
    /// The offer the create named (stale inventory only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    /// That offer's provider (stale inventory only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// A person-readable sentence (stale inventory only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The disk the create asked for, GB (`insufficient_disk` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_gb: Option<u32>,
    /// The least disk the model needs, GB (`insufficient_disk` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_gb: Option<u32>,
    /// The disk the broker recommends, GB (`insufficient_disk` only).
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
    /// The model's weights (parameters × bytes per parameter).
    #[serde(default)]
    pub model_weight_gb: f64,
    /// Room for the download, half the weights.
    #[serde(default)]
    pub download_buffer_gb: f64,
    /// The docker image.
    #[serde(default)]
    pub docker_image_gb: f64,
    /// The system's own use.
    #[serde(default)]
    pub system_overhead_gb: f64,
    /// The sum of the above, rounded up (or the template's floor, if higher).
    #[serde(default)]
    pub minimum_gb: u32,
    /// The minimum plus 20 %, rounded up to 5 GB (or the template's floor, if higher).
    #[serde(default)]
    pub recommended_gb: u32,
    /// The disk the Vast.ai template recommends; `None` without a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_floor_gb: Option<u32>,
    /// The model estimated for; `None` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Its quantization (given or read from the name); `None` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// Its parameters, in billions (read from the name); `None` when left out.
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
