//! Sessions: their status, the broker's view of one, and the calls that create, list,
//! extend, end and diagnose them.

use super::{is_false, Provider};
use crate::ids::{OfferId, SessionId};
use crate::secret::SshPrivateKey;
use crate::time::{de_null_list, de_optional, de_required};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A session's status. Active: pending, provisioning, running. Terminal: stopped, failed.
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::SessionStatus;
///
/// let s: SessionStatus = serde_json::from_str(r#""provisioning""#)?;
/// assert!(s.is_active() && !s.is_terminal());
/// assert!(!SessionStatus::Stopping.is_active() && !SessionStatus::Stopping.is_terminal());
/// assert_eq!(SessionStatus::Stopped.to_string(), "stopped");
/// // A status the broker does not have is an error, not a guess.
/// assert!(serde_json::from_str::<SessionStatus>(r#""dismissed""#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Created, not yet provisioning.
    Pending,
    /// The provider is creating the instance.
    Provisioning,
    /// The instance runs (and its SSH was verified).
    Running,
    /// Being destroyed.
    Stopping,
    /// Ended (the broker keeps the error of one that ended badly).
    Stopped,
    /// Failed to provision, or crashed.
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
///
/// Every field but `id`, `status` and `created_at` may be left out; see the
/// [module example](super) for one read from the broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// The broker's session id.
    pub id: SessionId,
    /// Who created it (`gpu-deploy-llm/v…` for this product; empty when left out).
    #[serde(default)]
    pub consumer_id: String,
    /// The provider the instance is rented from (empty `Other` when left out).
    #[serde(default)]
    pub provider: Provider,
    /// The GPU model, such as `RTX 4090` (empty when left out).
    #[serde(default)]
    pub gpu_type: String,
    /// GPUs in the instance (0 when left out).
    #[serde(default)]
    pub gpu_count: u32,
    /// Where the session is in its lifecycle.
    pub status: SessionStatus,
    /// Why it ended badly; `None` (or empty) when it did not. See [`Session::error_text`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The SSH host; `None` until the instance has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_host: Option<String>,
    /// The SSH port; `None` until the instance has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port: Option<u16>,
    /// The SSH user; `None` until the instance has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_user: Option<String>,
    /// `ssh` or `entrypoint` (the broker starts the workload itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_mode: Option<String>,
    /// Where a broker-launched workload answers (`http://host:port`), once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_endpoint: Option<String>,
    /// The mapped port of that workload; `None` when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_port: Option<u16>,
    /// The Hugging Face model the create asked for; `None` when it named none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The Vast.ai template used; `None` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_hash_id: Option<String>,
    /// That template's name; `None` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    /// The instance's disk, GB (fixed at creation); `None` when not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_gb: Option<u32>,
    /// One of [`WORKLOAD_TYPES`](super::WORKLOAD_TYPES) (empty when left out).
    #[serde(default)]
    pub workload_type: String,
    /// The hours reserved (0 when left out).
    #[serde(default)]
    pub reservation_hours: u32,
    /// What the whole instance costs, USD per hour (0 when left out).
    #[serde(default)]
    pub price_per_hour: f64,
    /// When the broker created it (required; read leniently).
    #[serde(deserialize_with = "de_required")]
    pub created_at: DateTime<Utc>,
    /// When the reservation ends; `None` when unset (Go's zero time, `null` or missing).
    #[serde(default, deserialize_with = "de_optional")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether the broker re-provisions on another offer when this one fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_retry: bool,
    /// How many times the broker has retried (0 when left out).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_count: u32,
    /// The session whose failure this retry replaces; `None` for an original one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_parent_id: Option<String>,
    /// The session the broker created to replace this one; `None` when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_child_id: Option<String>,
    /// The offer ids that failed, comma separated; `None` when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_offers: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Session {
    /// The error text, if the broker gave a non-empty one.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::shopper::Session;
    ///
    /// let s: Session = serde_json::from_str(
    ///     r#"{"id":"x","status":"stopped","error":" ","created_at":"2026-03-05T14:00:00Z"}"#,
    /// )?;
    /// assert_eq!(s.error_text(), None, "blank is no error");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn error_text(&self) -> Option<&str> {
        self.error.as_deref().filter(|e| !e.trim().is_empty())
    }
}

/// `GET /api/v1/sessions` response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionList {
    /// The sessions (`null` reads as none).
    #[serde(default, deserialize_with = "de_null_list")]
    pub sessions: Vec<Session>,
    /// How many were listed (0 when left out).
    #[serde(default)]
    pub count: u32,
}

/// Filters of `GET /api/v1/sessions` (exact matches on the broker).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionQuery {
    /// Only this consumer's sessions.
    pub consumer_id: Option<String>,
    /// Only sessions in this status.
    pub status: Option<SessionStatus>,
    /// Only this provider's sessions.
    pub provider: Option<Provider>,
    /// At most this many sessions.
    pub limit: Option<u32>,
}

/// `POST /api/v1/sessions` body. Unset optional fields are left out of the JSON.
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::CreateSessionRequest;
///
/// let request = CreateSessionRequest {
///     consumer_id: gdl_model::consumer_id("3f9c2a7b1d4e"),
///     offer_id: "vastai-12345".into(),
///     workload_type: "llm_vllm".into(),
///     reservation_hours: 1,
///     model_id: Some("Qwen/Qwen2.5-0.5B-Instruct".into()),
///     disk_gb: Some(40),
///     ..Default::default()
/// };
/// let json = serde_json::to_value(&request)?;
/// assert_eq!(json["offer_id"], "vastai-12345");
/// assert_eq!(json["disk_gb"], 40);
/// assert!(json.get("launch_mode").is_none() && json.get("auto_retry").is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateSessionRequest {
    /// Who is renting: [`crate::consumer_id`] for this product.
    pub consumer_id: String,
    /// The offer to rent (an [`Offer::id`](super::Offer::id)).
    pub offer_id: OfferId,
    /// One of [`WORKLOAD_TYPES`](super::WORKLOAD_TYPES).
    pub workload_type: String,
    /// 1..=12.
    pub reservation_hours: u32,
    /// Minutes idle before the broker may end the session; unset or 0 disables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_threshold_minutes: Option<u32>,
    /// `preserve` or `destroy` (the default): what happens to storage when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_policy: Option<String>,
    /// `ssh` (the default) or `entrypoint`: the broker starts the workload itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_mode: Option<String>,
    /// A custom docker image (entrypoint mode); unset leaves it to the broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_image: Option<String>,
    /// The Hugging Face model to serve (and size the disk for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The model's quantization (`awq`, `gptq`, `fp8`); unset for 16-bit weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// Ports to expose in the entrypoint mode, such as 8000.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed_ports: Vec<u16>,
    /// A Vast.ai template to start from instead of an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_hash_id: Option<String>,
    /// Disk, GB (cannot change later); unset leaves it to the broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_gb: Option<u32>,
    /// Re-provision on another offer when this one fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_retry: bool,
    /// The most alternative offers to try (the broker's default is 3, at most 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Which offers a retry may take: `same_gpu`, `same_vram` or `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_scope: Option<String>,
    /// A shell script the instance runs once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_start_cmd: Option<String>,
    /// How long the broker waits for SSH to answer, minutes (it clamps to 1–30; 10 when
    /// unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_timeout_minutes: Option<u32>,
}

/// `201` reply of `POST /api/v1/sessions`. Holds the only copy of the SSH private key the
/// broker will ever give out; it cannot be serialised back out (see [`SshPrivateKey`]).
///
/// # Examples
///
/// ```
/// use gdl_model::shopper::CreateSessionResponse;
///
/// let r: CreateSessionResponse = serde_json::from_str(r#"{"session":{"id":"s1",
///     "status":"provisioning","created_at":"2026-03-05T14:00:00Z"},
///     "ssh_private_key":"-----BEGIN OPENSSH PRIVATE KEY-----\nsecret"}"#)?;
/// assert!(r.ssh_private_key.expose_pem().contains("secret"));
/// assert!(!format!("{r:?}").contains("secret"), "Debug never shows the key");
/// assert_eq!(r.retries_attempted, 0);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Deserialize)]
pub struct CreateSessionResponse {
    /// The session created.
    pub session: Session,
    /// The instance's SSH key (empty when the broker sent none).
    #[serde(default)]
    pub ssh_private_key: SshPrivateKey,
    /// Offers tried before this one worked (with `auto_retry`; 0 when left out).
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
    /// What the broker did, in words (`session extended`).
    pub message: String,
    /// The session extended.
    pub session_id: SessionId,
    /// The reservation's new end; `None` when the broker sent none.
    #[serde(default, deserialize_with = "de_optional")]
    pub new_expires_at: Option<DateTime<Utc>>,
}

/// Reply of `/done` and `DELETE`: `{"message", "session_id"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionMessage {
    /// What the broker did, in words (`session destroyed`, ...).
    pub message: String,
    /// The session it did it to.
    pub session_id: SessionId,
}

/// `GET /api/v1/sessions/:id/diagnostics` reply (running sessions only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionDiagnostics {
    /// The session diagnosed.
    pub session_id: SessionId,
    /// Its status.
    pub status: SessionStatus,
    /// The provider the instance is rented from.
    #[serde(default)]
    pub provider: Provider,
    /// The GPU model (empty when left out).
    #[serde(default)]
    pub gpu_type: String,
    /// GPUs in the instance (0 when left out).
    #[serde(default)]
    pub gpu_count: u32,
    /// The SSH host; `None` when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_host: Option<String>,
    /// The SSH port; `None` when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port: Option<u16>,
    /// The SSH user; `None` when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_user: Option<String>,
    /// When the broker created the session.
    #[serde(deserialize_with = "de_required")]
    pub created_at: DateTime<Utc>,
    /// When the reservation ends; `None` when unset.
    #[serde(default, deserialize_with = "de_optional")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Time since creation, as the broker words it.
    #[serde(default)]
    pub uptime: String,
    /// Time left until the reservation ends, as the broker words it.
    #[serde(default)]
    pub time_to_expiry: String,
    /// Whether the broker has an SSH host and port for it.
    #[serde(default)]
    pub ssh_available: bool,
    /// The broker's remark about what it can and cannot diagnose.
    #[serde(default)]
    pub note: String,
}
