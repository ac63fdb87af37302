//! A running dashboard's REST API as the commands that ask it use it (`--url`, `GDL_URL`):
//! the read commands, and the deployment commands that also change it (`POST`, `DELETE`); the
//! access token from `--token-file` or `GDL_TOKEN`, sent as `Authorization: Bearer`; the
//! answers read into the wire types; and every failure (nothing answers, 401, an answer
//! that is not the dashboard's API) an [`ApiError`] with a code and a hint.

use crate::config::DashboardArgs;
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use zeroize::Zeroizing;

/// How long one answer may take.
const PATIENCE: Duration = Duration::from_secs(30);

/// The environment variable holding the dashboard's access token.
pub const TOKEN_ENV: &str = "GDL_TOKEN";

/// A running dashboard. Never printed: it holds the access token.
pub struct Remote {
    http: reqwest::Client,
    base: Url,
    /// The access token, and where it came from (said when the dashboard refuses it).
    token: Option<(Zeroizing<String>, String)>,
}

impl Remote {
    /// The dashboard `args` name with its token, `None` when they name none; an error when
    /// the URL is not one or the token file cannot be read.
    pub fn from_args(args: &DashboardArgs) -> Result<Option<Self>, ApiError> {
        let Some(url) = args.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let base = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| {
                ApiError::invalid(
                    format!("--url {url:?} is not an http(s) URL"),
                    "Give the dashboard's address, e.g. --url http://127.0.0.1:8081 (or GDL_URL).",
                )
            })?;
        let token = match &args.token_file {
            Some(path) => Some((read_token(path)?, path.display().to_string())),
            None => std::env::var(TOKEN_ENV)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .map(|t| (Zeroizing::new(t), TOKEN_ENV.to_owned())),
        };
        let http = reqwest::Client::builder()
            .timeout(PATIENCE)
            .build()
            .map_err(|e| {
                ApiError::new(ErrorCode::DashboardError, format!("no HTTP client: {e}"))
            })?;
        Ok(Some(Self { http, base, token }))
    }

    /// The dashboard's address, as given.
    pub fn url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `GET` the route made of `segments` (each escaped) with `query`, read as JSON `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &str,
    ) -> Result<T, ApiError> {
        self.json(Method::GET, segments, query, None).await
    }

    /// `POST` `body` as JSON to the route made of `segments`; the answer read as JSON `T`.
    pub async fn post<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_value(body).map_err(|e| {
            ApiError::new(ErrorCode::DashboardError, format!("no request body: {e}"))
        })?;
        self.json(Method::POST, segments, "", Some(body)).await
    }

    /// `DELETE` the route made of `segments`; the answer read as JSON `T`.
    pub async fn delete<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ApiError> {
        self.json(Method::DELETE, segments, "", None).await
    }

    /// One request, its answer read as JSON `T`.
    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ApiError> {
        let (body, headers) = self.send(method, segments, query, body).await?;
        serde_json::from_str(&body).map_err(|e| {
            let kind = headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type");
            self.not_the_api(segments, &format!("{kind}: {e}"))
        })
    }

    /// `GET` the route made of `segments` with `query`: the body and headers of a success,
    /// else the error the dashboard answered with (or why there was no answer).
    pub async fn text(
        &self,
        segments: &[&str],
        query: &str,
    ) -> Result<(String, HeaderMap), ApiError> {
        self.send(Method::GET, segments, query, None).await
    }

    /// One request with the token: the body and headers of a success, else the error the
    /// dashboard answered with (or why there was no answer).
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(String, HeaderMap), ApiError> {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.set_query(Some(query).filter(|q| !q.is_empty()));
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some((token, _)) = &self.token {
            let bearer = Zeroizing::new(format!("Bearer {}", token.as_str()));
            // A token that is not header text is sent as nothing: the 401 then says so.
            if let Ok(mut value) = HeaderValue::from_str(&bearer) {
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| self.unreachable(&e))?;
        if status.is_success() {
            return Ok((body, headers));
        }
        let error = serde_json::from_str::<ApiError>(&body)
            .ok()
            .filter(|e| !e.code.is_empty())
            .ok_or_else(|| self.not_the_api(segments, &format!("HTTP {status}")))?;
        Err(match error.error_code() {
            ErrorCode::Unauthorized => self.refused(error),
            _ => error,
        })
    }

    /// Nothing answered, or not in time.
    fn unreachable(&self, e: &reqwest::Error) -> ApiError {
        let message = if e.is_timeout() {
            format!(
                "the dashboard at {} did not answer within {} s",
                self.url(),
                PATIENCE.as_secs()
            )
        } else {
            format!("nothing answered at {} ({})", self.url(), root_cause(e))
        };
        ApiError::new(ErrorCode::DashboardUnreachable, message).with_hint(
            "Start the dashboard (`gpu-deploy-llm serve`, on http://127.0.0.1:8081 by default), \
             or correct --url (GDL_URL).",
        )
    }

    /// A 401: the token is missing or not the dashboard's.
    fn refused(&self, error: ApiError) -> ApiError {
        let (message, hint) = match &self.token {
            None => (
                format!("the dashboard at {} needs its access token", self.url()),
                format!(
                    "Set {TOKEN_ENV}, or pass --token-file <a file holding it> (never the token \
                     itself on the command line)."
                ),
            ),
            Some((_, from)) => (
                format!(
                    "the dashboard at {} refused the access token from {from}",
                    self.url()
                ),
                "Use the token the dashboard was started with (its --auth-token-file or \
                 GDL_AUTH_TOKEN)."
                    .to_owned(),
            ),
        };
        ApiError {
            message,
            hint: Some(hint),
            ..error
        }
    }

    /// An answer that is not the dashboard's API: another server at that address.
    fn not_the_api(&self, segments: &[&str], why: &str) -> ApiError {
        ApiError::new(
            ErrorCode::DashboardProtocol,
            format!(
                "{}/{} did not answer as the dashboard's API does ({why})",
                self.url(),
                segments.join("/")
            ),
        )
        .with_hint(
            "Check that --url (GDL_URL) is the dashboard's address (http://127.0.0.1:8081 by \
             default), not the broker's or another server's.",
        )
    }
}

/// The token on the first line of `path`.
fn read_token(path: &Path) -> Result<Zeroizing<String>, ApiError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        ApiError::invalid(
            format!("cannot read the access token from {} ({e})", path.display()),
            "Check --token-file (GDL_TOKEN_FILE): a file whose first line is the token.",
        )
    })?);
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err(ApiError::invalid(
            format!(
                "{} holds no access token (its first line is empty)",
                path.display()
            ),
            "Write the dashboard's token on the file's first line.",
        ));
    }
    Ok(Zeroizing::new(token.to_owned()))
}

/// The innermost reason of an error (`Connection refused (os error 111)`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}
