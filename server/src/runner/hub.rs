//! The Hugging Face Hub, asked in step 1 (before anything is rented) whether the model is
//! gated or private: `GET {endpoint}/api/models/{repo}`, with `Authorization: Bearer` when
//! a token is given, within a few seconds. A gated or private model without a token is
//! refused (`model_gated`); a model the Hub refuses with the token given is refused too
//! (`model_access_denied`). A Hub that cannot be reached is said in the run's log and the
//! run goes on. After the start, [`download_refused`] turns the Hub's 401/403 in the
//! engine's log (the download on the host) into `model_access_denied`.
//!
//! The Hub describes a gated repository to anyone (`"gated": "manual"`); whether the
//! token's owner accepted its licence shows only when the host downloads it.

use super::error::StepError;
use gdl_model::code::ErrorCode;
use gdl_model::runs::DeployMode;
use gdl_model::secret::HfToken;
use serde_json::Value;
use std::time::Duration;

/// The real Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Where the Hub is, the token to show it, and how long to wait for its answer.
#[derive(Clone, Debug)]
pub struct HubAccess {
    /// Base URL, without a trailing `/`.
    pub endpoint: String,
    pub token: Option<HfToken>,
    /// The whole question, connection included.
    pub timeout: Duration,
}

impl Default for HubAccess {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: None,
            timeout: Duration::from_secs(5),
        }
    }
}

/// What the Hub answered about a repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubAnswer {
    /// Its metadata: how it is gated (`None`: it is not; `auto` or `manual`) and whether
    /// it is private.
    Listed {
        gated: Option<String>,
        private: bool,
    },
    /// 401 or 403: the Hub would not describe it to us.
    Refused(u16),
    /// 404: no such model (the Hub says so only to a signed-in caller).
    NotFound,
}

/// Reads the Hub's answer (`status`, `body`), or says why it is not one.
pub fn read_answer(status: u16, body: &str) -> Result<HubAnswer, String> {
    match status {
        200 => {
            let info: Value = serde_json::from_str(body)
                .map_err(|e| format!("the Hub's answer is not JSON ({e})"))?;
            if !info.is_object() {
                return Err("the Hub's answer is not a model's description".into());
            }
            let gated = match info.get("gated") {
                None | Some(Value::Null) | Some(Value::Bool(false)) => None,
                Some(Value::Bool(true)) => Some("true".to_owned()),
                Some(Value::String(kind)) => Some(kind.clone()),
                Some(other) => return Err(format!("the Hub's \"gated\" is {other}")),
            };
            let private = info.get("private").and_then(Value::as_bool) == Some(true);
            Ok(HubAnswer::Listed { gated, private })
        }
        401 | 403 => Ok(HubAnswer::Refused(status)),
        404 => Ok(HubAnswer::NotFound),
        other => Err(format!("the Hub answered HTTP {other}")),
    }
}

/// How to give the dashboard a token.
const TOKEN_HINT: &str = "Give the dashboard a Hugging Face token with read access: \
    --hf-token-file PATH (the token on its first line) or the HF_TOKEN environment variable; \
    and accept the model's licence on its Hub page with the same account.";

/// The run's verdict on `answer` for `repo`: `Ok` with a line for the log, or the error
/// that ends the run. `token` says whether a token was shown; `mode` how the engine starts
/// (the broker's entrypoint mode cannot hand the host a token).
pub fn judge(
    repo: &str,
    endpoint: &str,
    answer: &HubAnswer,
    token: bool,
    mode: DeployMode,
) -> Result<String, StepError> {
    let page = format!("{endpoint}/{repo}");
    match answer {
        HubAnswer::Listed {
            gated: None,
            private: false,
        } => Ok(format!("The Hub lists {repo} as public (not gated)")),
        HubAnswer::Listed { gated, private } => {
            let what = match (gated, private) {
                (Some(kind), _) => format!("gated ({kind})"),
                (None, _) => "private".to_owned(),
            };
            if !token {
                return Err(StepError::new(
                    ErrorCode::ModelGated,
                    format!("{repo} is {what} on the Hugging Face Hub and the dashboard has no Hub token: nothing was rented"),
                )
                .hint(format!("{TOKEN_HINT} ({page})")));
            }
            if mode.broker_launched() {
                return Err(StepError::new(
                    ErrorCode::ModelGated,
                    format!("{repo} is {what} on the Hugging Face Hub, and in the entrypoint mode the broker starts the engine without our token: nothing was rented"),
                )
                .hint("Use the docker or pip deploy mode for gated and private models."));
            }
            Ok(format!(
                "{repo} is {what} on the Hub: the host downloads it with the dashboard's token (the Hub checks the licence then)"
            ))
        }
        HubAnswer::Refused(status) if !token => Err(StepError::new(
            ErrorCode::ModelGated,
            format!("the Hub answered {status} for {repo} without a token: it is private, gated or not there; nothing was rented"),
        )
        .hint(format!("{TOKEN_HINT} ({page})"))),
        HubAnswer::Refused(status) => Err(StepError::new(
            ErrorCode::ModelAccessDenied,
            format!("the Hub refused the dashboard's token for {repo} (HTTP {status}): nothing was rented"),
        )
        .hint(format!(
            "Check the token (a read token of the account that accepted the licence, not expired) and ask for access on {page}."
        ))),
        HubAnswer::NotFound => Err(StepError::new(
            ErrorCode::UnknownModel,
            format!("the Hub has no model {repo}: nothing was rented"),
        )
        .hint("Check the model's id (organisation/name, as on its Hub page).")),
    }
}

/// Asks the Hub about `repo`: its answer, or why it could not be asked.
pub async fn ask(access: &HubAccess, repo: &str) -> Result<HubAnswer, String> {
    let client = reqwest::Client::builder()
        .timeout(access.timeout)
        .connect_timeout(access.timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(format!("{}/api/models/{repo}", access.endpoint));
    if let Some(token) = &access.token {
        request = request.bearer_auth(token.expose());
    }
    let response = request.send().await.map_err(describe)?;
    let status = response.status().as_u16();
    // A model's description is small; a larger answer is not the Hub's.
    let body = if status == 200 {
        let bytes = response.bytes().await.map_err(describe)?;
        if bytes.len() > 4 << 20 {
            return Err("the Hub's answer is larger than 4 MB".into());
        }
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        String::new()
    };
    read_answer(status, &body)
}

/// A request error in a few words (never the URL's query or headers).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.without_url().to_string()
    }
}

/// The engine died while loading: when its log shows the Hub refusing the download (a
/// gated or private repository; a wrong token), `model_access_denied` with a hint, else
/// `error` as it is.
pub fn download_refused(error: StepError, token: bool) -> StepError {
    const SIGNS: [&str; 5] = [
        "GatedRepoError",
        "Cannot access gated repo",
        "RepositoryNotFoundError",
        "401 Client Error",
        "403 Client Error",
    ];
    if !SIGNS.iter().any(|sign| error.message.contains(sign)) {
        return error;
    }
    let hint = if token {
        "The Hub refused the host's download with the dashboard's token: accept the model's licence on its Hub page with the token's account (and wait for approval where it is manual), or give another token."
    } else {
        TOKEN_HINT
    };
    StepError::new(
        ErrorCode::ModelAccessDenied,
        format!(
            "the Hugging Face Hub refused the model's download on the host; {}",
            error.message
        ),
    )
    .hint(hint)
}

#[cfg(test)]
mod tests;
