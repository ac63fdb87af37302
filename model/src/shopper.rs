//! The cloud-gpu-shopper broker's HTTP contract (`/api/v1/*`, `/health`, `/ready`).
//!
//! Field names and optionality follow the broker's Go structs: `omitempty` fields are
//! `Option` or `#[serde(default)]`, lists that may be `null` deserialise as empty, and
//! timestamps parse leniently (see [`crate::time`]).

pub use crate::provider::Provider;
use crate::secret::SshPrivateKey;
use crate::time::{de_null_list, de_optional, de_required};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

mod errors;
pub use errors::{BrokerErrorBody, DiskBreakdown};

/// Workload types accepted by `POST /api/v1/sessions`.
pub const WORKLOAD_TYPES: [&str; 9] = [
    "llm",
    "llm_vllm",
    "llm_tgi",
    "training",
    "batch",
    "interactive",
    "inference",
    "ssh",
    "benchmark",
];

/// A rentable GPU offer (`GPUOffer`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    pub id: String,
    pub provider: Provider,
    #[serde(default)]
    pub provider_id: String,
    pub gpu_type: String,
    pub gpu_count: u32,
    /// VRAM per GPU, in GiB.
    pub vram_gb: u32,
    /// USD per hour for the whole offer.
    pub price_per_hour: f64,
    #[serde(default)]
    pub location: String,
    /// 0–1.
    #[serde(default)]
    pub reliability: f64,
    #[serde(default = "yes")]
    pub available: bool,
    #[serde(default)]
    pub max_duration_hours: u32,
    #[serde(default, deserialize_with = "de_optional")]
    pub fetched_at: Option<DateTime<Utc>>,
    /// 0–1, after staleness and failure penalties. Listings sort by it, descending.
    #[serde(default)]
    pub availability_confidence: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_version: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub interruptible: bool,
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
    pub hash_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `GET /api/v1/inventory` response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryPage {
    #[serde(default, deserialize_with = "de_null_list")]
    pub offers: Vec<Offer>,
    /// Offers on this page.
    pub count: u32,
    /// Offers after filtering, before pagination.
    pub total: u32,
}

/// Filters and pagination of `GET /api/v1/inventory`. `None` leaves a filter off.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryQuery {
    pub provider: Option<Provider>,
    /// Exact, case-sensitive normalised name such as `RTX 4090`.
    pub gpu_type: Option<String>,
    /// Case-sensitive substring of the location.
    pub location: Option<String>,
    pub min_vram: Option<u32>,
    /// 0 means no filter on the broker.
    pub max_price: Option<f64>,
    pub min_gpu_count: Option<u32>,
    pub min_reliability: Option<f64>,
    pub min_availability_confidence: Option<f64>,
    pub min_cuda: Option<f64>,
    pub template_hash_id: Option<String>,
    pub limit: Option<u32>,
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

/// A session's status. Active: pending, provisioning, running. Terminal: stopped, failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Pending,
    Provisioning,
    Running,
    Stopping,
    Stopped,
    Failed,
}

impl SessionStatus {
    /// All six, in lifecycle order.
    pub const ALL: [SessionStatus; 6] = [
        Self::Pending,
        Self::Provisioning,
        Self::Running,
        Self::Stopping,
        Self::Stopped,
        Self::Failed,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Provisioning => "provisioning",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    /// Pending, provisioning or running: the instance may be billing.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Provisioning | Self::Running)
    }

    /// Stopped or failed.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Stopped | Self::Failed)
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A broker session (`SessionResponse`).
///
/// "Ended badly" is a non-empty [`Session::error`], not `status == failed`: the broker turns
/// most failed sessions into stopped ones within a minute and keeps the error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub consumer_id: String,
    #[serde(default)]
    pub provider: Provider,
    #[serde(default)]
    pub gpu_type: String,
    #[serde(default)]
    pub gpu_count: u32,
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_user: Option<String>,
    /// `ssh` or `entrypoint` (the broker starts the workload itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_mode: Option<String>,
    /// Where a broker-launched workload answers (`http://host:port`), once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_hash_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_gb: Option<u32>,
    #[serde(default)]
    pub workload_type: String,
    #[serde(default)]
    pub reservation_hours: u32,
    #[serde(default)]
    pub price_per_hour: f64,
    #[serde(deserialize_with = "de_required")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "de_optional")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_retry: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_child_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_offers: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Session {
    /// The error text, if the broker gave a non-empty one.
    pub fn error_text(&self) -> Option<&str> {
        self.error.as_deref().filter(|e| !e.trim().is_empty())
    }
}

/// `GET /api/v1/sessions` response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    #[serde(default, deserialize_with = "de_null_list")]
    pub sessions: Vec<Session>,
    #[serde(default)]
    pub count: u32,
}

/// Filters of `GET /api/v1/sessions` (exact matches on the broker).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionQuery {
    pub consumer_id: Option<String>,
    pub status: Option<SessionStatus>,
    pub provider: Option<Provider>,
    pub limit: Option<u32>,
}

/// `POST /api/v1/sessions` body. Unset optional fields are left out of the JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateSessionRequest {
    pub consumer_id: String,
    pub offer_id: String,
    pub workload_type: String,
    /// 1..=12.
    pub reservation_hours: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_threshold_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_hash_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_gb: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_retry: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_start_cmd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_timeout_minutes: Option<u32>,
}

/// `201` reply of `POST /api/v1/sessions`. Holds the only copy of the SSH private key the
/// broker will ever give out; it cannot be serialised back out (see [`SshPrivateKey`]).
#[derive(Clone, Debug, Deserialize)]
pub struct CreateSessionResponse {
    pub session: Session,
    #[serde(default)]
    pub ssh_private_key: SshPrivateKey,
    #[serde(default)]
    pub retries_attempted: u32,
}

/// `POST /api/v1/sessions/:id/extend` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtendRequest {
    /// 1..=12.
    pub additional_hours: u32,
}

/// `POST /api/v1/sessions/:id/extend` reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtendResponse {
    pub message: String,
    pub session_id: String,
    #[serde(default, deserialize_with = "de_optional")]
    pub new_expires_at: Option<DateTime<Utc>>,
}

/// Reply of `/done` and `DELETE`: `{"message", "session_id"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionMessage {
    pub message: String,
    pub session_id: String,
}

/// `GET /api/v1/sessions/:id/diagnostics` reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionDiagnostics {
    pub session_id: String,
    pub status: SessionStatus,
    #[serde(default)]
    pub provider: Provider,
    #[serde(default)]
    pub gpu_type: String,
    #[serde(default)]
    pub gpu_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_user: Option<String>,
    #[serde(deserialize_with = "de_required")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "de_optional")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub uptime: String,
    #[serde(default)]
    pub time_to_expiry: String,
    #[serde(default)]
    pub ssh_available: bool,
    #[serde(default)]
    pub note: String,
}

/// `GET /health` body (200 when ready, 503 when not, same shape).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    #[serde(default, deserialize_with = "de_optional")]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub services: HealthServices,
}

/// The `services` object of [`Health`]; `ready` is the string `"true"`/`"false"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthServices {
    #[serde(default)]
    pub lifecycle: String,
    #[serde(default)]
    pub inventory: String,
    #[serde(default)]
    pub ready: String,
}

/// `GET /ready` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ready {
    pub ready: bool,
    #[serde(default, deserialize_with = "de_optional")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// `GET /api/v1/costs?session_id=` reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionCost {
    pub session_id: String,
    pub total_cost: f64,
    #[serde(default)]
    pub currency: String,
}

/// `GET /api/v1/costs` (without `session_id`) and `/api/v1/costs/summary` reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_id: Option<String>,
    #[serde(default)]
    pub total_cost: f64,
    #[serde(default)]
    pub session_count: u32,
    /// Number of hourly cost records (the broker's naming).
    #[serde(default)]
    pub hours_used: f64,
    #[serde(default)]
    pub by_provider: BTreeMap<String, f64>,
    #[serde(default)]
    pub by_gpu_type: BTreeMap<String, f64>,
    #[serde(default, deserialize_with = "de_optional")]
    pub period_start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de_optional")]
    pub period_end: Option<DateTime<Utc>>,
}

/// Filters of `GET /api/v1/costs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostQuery {
    pub consumer_id: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<String>,
    /// `YYYY-MM-DD`.
    pub end_date: Option<String>,
    /// `daily` or `monthly`.
    pub period: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keeps_error_and_tolerates_missing_fields() {
        let json = r#"{"id":"3f0c1e9a-0000-4000-8000-000000000001","consumer_id":"gpu-deploy-llm/v0.1.0",
            "provider":"vastai","gpu_type":"RTX 4090","gpu_count":1,"status":"stopped",
            "error":"SSH verification timeout","workload_type":"llm","reservation_hours":1,
            "price_per_hour":0.41,"created_at":"2026-03-05T14:00:00.123Z",
            "expires_at":"2026-03-05T15:00:00.123-00:00"}"#;
        let s: Session = serde_json::from_str(json).unwrap();
        assert_eq!(s.status, SessionStatus::Stopped);
        assert_eq!(s.error_text(), Some("SSH verification timeout"));
        assert!(s.ssh_host.is_none());
        let minimal: Session = serde_json::from_str(
            r#"{"id":"x","status":"pending","created_at":"2026-03-05T14:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(minimal.error_text(), None);
        assert!(minimal.expires_at.is_none());
    }

    #[test]
    fn all_six_statuses_round_trip() {
        for status in SessionStatus::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            let back: SessionStatus = serde_json::from_str(&json).unwrap();
            assert_eq!(back, status);
        }
        assert!(serde_json::from_str::<SessionStatus>("\"dismissed\"").is_err());
    }

    #[test]
    fn null_lists_are_empty() {
        let page: InventoryPage =
            serde_json::from_str(r#"{"offers":null,"count":0,"total":0}"#).unwrap();
        assert!(page.offers.is_empty());
        let list: SessionList = serde_json::from_str(r#"{"sessions":null}"#).unwrap();
        assert!(list.sessions.is_empty());
    }

    #[test]
    fn create_response_holds_key_without_leaking_it() {
        let json = r#"{"session":{"id":"s1","status":"provisioning","created_at":"2026-03-05T14:00:00Z"},
            "ssh_private_key":"-----BEGIN RSA PRIVATE KEY-----\nsecret","retries_attempted":1}"#;
        let r: CreateSessionResponse = serde_json::from_str(json).unwrap();
        assert!(r.ssh_private_key.expose_pem().contains("secret"));
        assert!(!format!("{r:?}").contains("secret"));
        assert_eq!(r.retries_attempted, 1);
    }

    #[test]
    fn structured_create_error_parses() {
        let json = r#"{"error":"offer x from vastai unavailable (stale inventory): gone","error_type":"stale_inventory",
            "offer_id":"vastai-1","provider":"vastai","retry_suggested":true,
            "message":"The selected offer is no longer available.","request_id":"r1"}"#;
        let e: BrokerErrorBody = serde_json::from_str(json).unwrap();
        assert_eq!(e.error_type.as_deref(), Some("stale_inventory"));
        assert_eq!(e.offer_id.as_deref(), Some("vastai-1"));
        let plain: BrokerErrorBody =
            serde_json::from_str(r#"{"error":"record not found"}"#).unwrap();
        assert!(plain.request_id.is_none());
    }

    #[test]
    fn inventory_query_pairs_skip_unset() {
        let q = InventoryQuery {
            provider: Some(Provider::VastAi),
            min_vram: Some(24),
            limit: Some(10),
            ..Default::default()
        };
        let pairs = q.to_pairs();
        assert_eq!(
            pairs,
            vec![
                ("provider", "vastai".to_string()),
                ("min_vram", "24".to_string()),
                ("limit", "10".to_string())
            ]
        );
    }
}
