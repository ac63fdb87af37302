//! A fake Hugging Face Hub: `GET /api/models/{org}/{name}` answers a repository's gated
//! status as the real Hub does, and the simulated hosts' engines ask it (in spirit) before
//! they download. The gated presets of `gdl_model::registry` (Llama, Gemma) are gated
//! (`"manual"`); every other repository is public.
//!
//! Like the real Hub, it describes a gated repository to anyone, and answers 401 to a
//! token it does not accept. It accepts [`SimConfig::hub_token`](super::SimConfig) when one
//! is set, else any token. A host's engine that downloads a gated repository without an
//! accepted `HF_TOKEN` dies with the Hub's 401 in its log ([`FakeHub::download_refusal`]).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gdl_model::secret::HfToken;
use serde_json::json;

/// The Hub's rules: which token it accepts.
#[derive(Clone, Debug, Default)]
pub struct FakeHub {
    accepted: Option<HfToken>,
}

/// Why the Hub refuses a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A token it does not accept.
    BadToken,
    /// No token, for a gated repository's files.
    NoToken,
}

impl FakeHub {
    /// A Hub accepting `accepted` (any token when `None`).
    pub fn new(accepted: Option<HfToken>) -> Self {
        Self { accepted }
    }

    /// How `repo` is gated: `manual` for the gated presets, `None` for the rest.
    pub fn gated(repo: &str) -> Option<&'static str> {
        gdl_model::registry::PRESETS
            .iter()
            .any(|p| p.gated && p.id.eq_ignore_ascii_case(repo))
            .then_some("manual")
    }

    fn accepts(&self, token: &str) -> bool {
        !token.is_empty() && self.accepted.as_ref().is_none_or(|t| t.expose() == token)
    }

    /// Whether a caller showing `token` may read `repo`'s files.
    pub fn file_access(&self, repo: &str, token: Option<&str>) -> Result<(), Refusal> {
        match token.filter(|t| !t.is_empty()) {
            Some(t) if !self.accepts(t) => Err(Refusal::BadToken),
            None if Self::gated(repo).is_some() => Err(Refusal::NoToken),
            _ => Ok(()),
        }
    }

    /// What an engine that downloads `repo` with `token` (its `HF_TOKEN`) logs as it dies,
    /// if the Hub refuses it: huggingface_hub's error, as vLLM prints it.
    pub fn download_refusal(&self, repo: &str, token: Option<&str>) -> Option<String> {
        let why = match self.file_access(repo, token).err()? {
            Refusal::BadToken => "Invalid credentials in Authorization header",
            Refusal::NoToken => {
                "You must have access to it and be authenticated to access it. Please log in."
            }
        };
        let kind = if Self::gated(repo).is_some() {
            "GatedRepoError"
        } else {
            "RepositoryNotFoundError"
        };
        Some(format!(
            "huggingface_hub.errors.{kind}: 401 Client Error. (Request ID: Root=1-6756d2a1-sim)\n\nCannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.\nAccess to model {repo} is restricted. {why}"
        ))
    }
}

/// `GET /api/models/{org}/{name}`.
pub(super) async fn model_info(
    State(hub): State<FakeHub>,
    Path((org, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let repo = format!("{org}/{name}");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    if let Some(token) = token {
        if !hub.accepts(token) {
            return (
                StatusCode::UNAUTHORIZED,
                [("x-error-code", "InvalidCredentials")],
                Json(json!({"error": "Invalid credentials in Authorization header"})),
            )
                .into_response();
        }
    }
    let gated = match FakeHub::gated(&repo) {
        Some(kind) => json!(kind),
        None => json!(false),
    };
    Json(json!({
        "_id": format!("sim-{}", repo.len()),
        "id": repo,
        "modelId": repo,
        "private": false,
        "disabled": false,
        "gated": gated,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gated_presets_need_an_accepted_token() {
        let llama = "meta-llama/Llama-3.2-1B-Instruct";
        assert_eq!(FakeHub::gated(llama), Some("manual"));
        assert_eq!(FakeHub::gated("Qwen/Qwen2.5-0.5B-Instruct"), None);
        let hub = FakeHub::new(Some(HfToken::parse("hf_right").unwrap()));
        assert_eq!(hub.file_access(llama, None), Err(Refusal::NoToken));
        assert_eq!(
            hub.file_access(llama, Some("hf_wrong")),
            Err(Refusal::BadToken)
        );
        assert_eq!(hub.file_access(llama, Some("hf_right")), Ok(()));
        assert_eq!(hub.file_access("Qwen/Qwen2.5-0.5B-Instruct", None), Ok(()));
        let log = hub.download_refusal(llama, None).unwrap();
        assert!(log.starts_with("huggingface_hub.errors.GatedRepoError: 401 Client Error"));
        assert!(log.contains("Cannot access gated repo for url https://huggingface.co/meta-llama/"));
        assert_eq!(hub.download_refusal(llama, Some("hf_right")), None);
        assert!(FakeHub::default()
            .file_access(llama, Some("hf_any"))
            .is_ok());
    }
}
