//! Every error code the product shows, defined once.
//!
//! A code is a stable snake_case word that programs can match on; people read the message
//! and hint that come with it ([`crate::error::ApiError`], a run step's `code`). Codes never
//! change spelling: a new failure gets a new code.
//!
//! # Examples
//!
//! ```
//! use gdl_model::code::ErrorCode;
//!
//! assert_eq!(ErrorCode::parse("run_not_found"), ErrorCode::RunNotFound);
//! assert_eq!(ErrorCode::RunNotFound.to_string(), "run_not_found");
//! // A code from a newer server still reads, as `Unknown`.
//! assert_eq!(ErrorCode::parse("from_the_future"), ErrorCode::Unknown);
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)*) => {
        /// A stable error code.
        ///
        /// It serialises as its snake_case wire spelling ([`ErrorCode::as_str`]) and reads
        /// any string: one this version does not know becomes [`ErrorCode::Unknown`].
        ///
        /// # Examples
        ///
        /// ```
        /// use gdl_model::code::ErrorCode;
        ///
        /// let json = serde_json::to_string(&ErrorCode::ShopperUnreachable)?;
        /// assert_eq!(json, r#""shopper_unreachable""#);
        /// let back: ErrorCode = serde_json::from_str(&json)?;
        /// assert_eq!(back, ErrorCode::ShopperUnreachable);
        /// assert!(ErrorCode::ALL.contains(&back));
        /// let newer: ErrorCode = serde_json::from_str(r#""gpu_on_fire""#)?;
        /// assert_eq!(newer, ErrorCode::Unknown);
        /// # Ok::<(), serde_json::Error>(())
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this version does not know (from a newer server or an old record).
            Unknown,
        }

        impl ErrorCode {
            /// Every known code.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown => "unknown",
                }
            }
        }
    };
}

codes! {
    // The broker (cloud-gpu-shopper) and its client.
    /// Nothing answered at the broker's address.
    ShopperUnreachable => "shopper_unreachable",
    /// The broker did not answer in time.
    ShopperTimeout => "shopper_timeout",
    /// The broker answers but is not ready.
    ShopperNotReady => "shopper_not_ready",
    /// The broker (or this dashboard) has no such session, offer or API route.
    NotFound => "not_found",
    /// A plain-text 404 from a server that is not the broker at that address.
    ShopperNoSuchRoute => "shopper_no_such_route",
    /// A create for an offer this consumer already has an active session on.
    SessionDuplicate => "session_duplicate",
    /// done/extend on a session that has already ended.
    SessionTerminal => "session_terminal",
    /// The offer is gone at the provider.
    OfferStale => "offer_stale",
    /// The broker estimates the model needs more disk than the request asked for.
    InsufficientDisk => "insufficient_disk",
    /// The broker stopped mid-run (it destroys every instance when it stops).
    BrokerStopped => "broker_stopped",
    /// The broker ended the session mid-run (a timeout, the expiry, or the instance gone).
    SessionEndedByBroker => "session_ended_by_broker",
    /// The broker is rate limiting.
    ShopperRateLimited => "shopper_rate_limited",
    /// The broker refused the request's input (400).
    ShopperRejected => "shopper_rejected",
    /// The broker failed (5xx).
    ShopperError => "shopper_error",
    /// The broker answered something that is not its API.
    ShopperBadResponse => "shopper_bad_response",

    // The dashboard's API.
    /// A request's input is wrong.
    InvalidInput => "invalid_input",
    /// A model id that is not `owner/name` of safe characters.
    InvalidModelId => "invalid_model_id",
    /// A name that is neither a preset, an alias nor a Hugging Face id.
    UnknownModel => "unknown_model",
    /// No pre-quantized checkpoint for that model and method.
    QuantizationUnavailable => "quantization_unavailable",
    /// The concurrent-run limit is reached.
    RunInProgress => "run_in_progress",
    /// Too many runs started in the last minute.
    RateLimited => "rate_limited",
    /// No run with that id.
    RunNotFound => "run_not_found",
    /// The run has already ended.
    RunFinished => "run_finished",
    /// No benchmark with that id.
    BenchmarkNotFound => "benchmark_not_found",
    /// A benchmark no run of ours measured (by `gpu-deploy-llm bench`, or imported): it has
    /// no configuration to run again, so no bundle.
    BenchmarkNotRepeatable => "benchmark_not_repeatable",
    /// Not a session this dashboard created.
    SessionNotFound => "session_not_found",
    /// The dashboard's database failed.
    StorageError => "storage_error",
    /// Access needs the token.
    Unauthorized => "unauthorized",
    /// A request from an origin that is not allowed.
    OriginRefused => "origin_refused",
    /// An embed token asked to change something (start, cancel, clean up, extend): it
    /// can only read.
    EmbedReadOnly => "embed_read_only",
    /// No embed token with that id.
    EmbedTokenNotFound => "embed_token_not_found",
    /// A request for a host name the dashboard does not answer to (DNS rebinding).
    HostRefused => "host_refused",
    /// Too many wrong tokens from this address (or from everywhere) lately.
    LoginThrottled => "login_throttled",
    /// No deployment with that id.
    DeploymentNotFound => "deployment_not_found",
    /// No campaign with that id.
    CampaignNotFound => "campaign_not_found",
    /// The deployment has ended: it serves no more requests.
    DeploymentStopped => "deployment_stopped",
    /// The deployment is starting, or reconnecting to its engine: try again shortly.
    DeploymentNotReady => "deployment_not_ready",
    /// No deployment key with that id.
    DeploymentKeyNotFound => "deployment_key_not_found",
    /// A gateway request without a valid deployment key (missing, wrong or revoked).
    InvalidApiKey => "invalid_api_key",
    /// A gateway request larger than the gateway takes.
    RequestTooLarge => "request_too_large",
    /// The engine behind the gateway did not answer in time.
    UpstreamTimeout => "upstream_timeout",
    /// The engine behind the gateway failed or the tunnel to it broke.
    UpstreamFailed => "upstream_failed",
    /// The browser could not reach the dashboard server.
    DashboardUnreachable => "dashboard_unreachable",
    /// Page and server disagree on a message's shape.
    DashboardProtocol => "dashboard_protocol",
    /// A server function failed on the server.
    DashboardError => "dashboard_error",
    /// The server did not wire the app's backend.
    DashboardMisconfigured => "dashboard_misconfigured",

    // Deployment-test steps.
    /// No offer matches the model's needs, the price and the provider.
    NoOffers => "no_offers",
    /// The offer a test was pinned to is gone (or no longer fits it), and no other offer
    /// of its GPU type is left: nothing else is rented in its place.
    PinnedOfferGone => "pinned_offer_gone",
    /// The model is gated on the Hugging Face Hub and the dashboard has no Hub token: refused
    /// before anything is rented.
    ModelGated => "model_gated",
    /// The Hub refused the model's download with the token given (no access granted to it,
    /// or a wrong token).
    ModelAccessDenied => "model_access_denied",
    /// The session ended (failed or stopped) before it was running.
    ProvisioningFailed => "provisioning_failed",
    /// The session did not reach running in time.
    ProvisioningTimeout => "provisioning_timeout",
    /// The broker gave no SSH address for a running session.
    SshNoAddress => "ssh_no_address",
    /// The broker's private key cannot be parsed.
    SshKeyInvalid => "ssh_key_invalid",
    /// The host refused the key.
    SshAuthRefused => "ssh_auth_refused",
    /// Nothing listens at the SSH address.
    SshConnectionRefused => "ssh_connection_refused",
    /// The SSH address did not answer in time.
    SshTimeout => "ssh_timeout",
    /// The SSH address cannot be resolved or routed to.
    SshUnreachable => "ssh_unreachable",
    /// The host closed the SSH connection.
    SshDisconnected => "ssh_disconnected",
    /// The host presented another key than the one first seen for the session.
    HostKeyChanged => "host_key_changed",
    /// The broker's SSH address is loopback, private or link-local.
    SshHostPrivate => "ssh_host_private",
    /// A command on the host did not finish in time.
    HostCommandTimeout => "host_command_timeout",
    /// The host's shell does not run commands.
    HostUnusable => "host_unusable",
    /// The host cannot run the engine (GPU missing or not the one offered, driver too old,
    /// too little disk, `nvidia-smi` failing): it is given back and the next offer rented.
    HostUnsuitable => "host_unsuitable",
    /// Pulling the vLLM image or installing the package failed.
    VllmInstallFailed => "vllm_install_failed",
    /// Starting vLLM failed.
    VllmStartFailed => "vllm_start_failed",
    /// vLLM exited while loading the model.
    VllmExited => "vllm_exited",
    /// vLLM restarted while loading (a crash loop).
    VllmRestarted => "vllm_restarted",
    /// The model did not load in time.
    ModelLoadTimeout => "model_load_timeout",
    /// The tunnel to the model server could not be opened.
    TunnelFailed => "tunnel_failed",
    /// The model server does not answer as an OpenAI-compatible server should.
    VerifyFailed => "verify_failed",
    /// The benchmark could not complete.
    BenchmarkFailed => "benchmark_failed",
    /// A campaign's quick probe found the host decoding far below what its GPU type should
    /// (a "lemon"): the run ended before the capacity search spent money on it, and the
    /// campaign rents another offer of the same GPU type.
    SlowHost => "slow_host",
    /// The server to benchmark did not list its models in time (`bench`).
    BenchmarkUnreachable => "benchmark_unreachable",
    /// The person (or a shutdown) cancelled the run.
    Cancelled => "cancelled",
    /// A test hook made the step fail.
    InjectedFailure => "injected_failure",
    /// Destroy was asked for but the broker did not confirm it.
    DestroyUnconfirmed => "destroy_unconfirmed",
    /// The dashboard stopped while the run was in progress.
    Interrupted => "interrupted",
}

impl ErrorCode {
    /// The code spelled `text`, or [`ErrorCode::Unknown`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::code::ErrorCode;
    /// assert_eq!(ErrorCode::parse("no_offers"), ErrorCode::NoOffers);
    /// assert_eq!(ErrorCode::parse("No Offers"), ErrorCode::Unknown);
    /// ```
    pub fn parse(text: &str) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == text)
            .unwrap_or(Self::Unknown)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> Self {
        code.as_str().to_owned()
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::parse(&text))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            "A stable error code (every code the product shows).",
            ErrorCode::ALL.iter().map(|c| c.as_str().to_owned()),
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

/// A string schema listing the values it usually takes as examples.
#[cfg(feature = "openapi")]
pub(crate) fn string_schema(
    description: &str,
    values: impl Iterator<Item = String>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .examples(values)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is defined twice");
            assert!(
                text.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{text}"
            );
            assert_eq!(ErrorCode::parse(text), *code);
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
        assert_eq!(ErrorCode::parse("from_the_future"), ErrorCode::Unknown);
    }
}
