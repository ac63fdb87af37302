//! How one broker call is made: the request with its timeout and request id, the circuit
//! breaker's permit, retries with backoff for idempotent calls, and the reply read into a
//! value or a typed [`ShopperError`].

use super::reply::{error_from_reply, root_cause, snippet};
use super::{breaker, ShopperClient, ShopperError};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How a 409 is read: the broker uses it both for duplicates and for terminal sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conflict {
    Duplicate,
    Terminal,
}

/// One call's description, for errors and retries.
pub(super) struct Call<'a> {
    pub(super) operation: &'a str,
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) conflict: Conflict,
    pub(super) timeout: Duration,
    pub(super) idempotent: bool,
    /// Asks the circuit breaker first (fails at once while it is open). Cleanup calls
    /// (done, destroy) never do: a paid instance must be stopped whenever the broker can be
    /// reached.
    pub(super) guarded: bool,
}

impl ShopperClient {
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        operation: &str,
        url: Url,
    ) -> Result<T, ShopperError> {
        let call = Call {
            operation,
            method: Method::GET,
            url,
            conflict: Conflict::Terminal,
            timeout: self.timeouts.request,
            idempotent: true,
            guarded: true,
        };
        self.run::<T, ()>(&call, None).await
    }

    pub(super) async fn probe<T: DeserializeOwned>(
        &self,
        operation: &str,
        segments: &[&str],
    ) -> Result<T, ShopperError> {
        let call = Call {
            operation,
            method: Method::GET,
            url: self.url(segments),
            conflict: Conflict::Terminal,
            timeout: self.timeouts.probe,
            idempotent: false,
            guarded: true,
        };
        match self.once::<T, ()>(&call, None).await {
            Err(ShopperError::Server {
                status: 503,
                message,
                ..
            }) => Err(ShopperError::NotReady {
                detail: format!("{operation} answered 503 ({message})"),
            }),
            other => other,
        }
    }

    /// Runs a call, retrying transient failures of idempotent calls with backoff.
    pub(super) async fn run<T: DeserializeOwned, B: Serialize>(
        &self,
        call: &Call<'_>,
        body: Option<&B>,
    ) -> Result<T, ShopperError> {
        let mut attempt = 0;
        loop {
            let err = match self.once(call, body).await {
                Ok(value) => {
                    if attempt > 0 {
                        self.calls.retried(true);
                    }
                    return Ok(value);
                }
                Err(e) => e,
            };
            if !call.idempotent || !err.is_transient() || attempt >= self.retries {
                if attempt > 0 {
                    self.calls.retried(false);
                }
                return Err(err);
            }
            // Exponential, with jitter (0.5 to 1.5 times) so that clients do not retry in step.
            let backoff =
                Duration::from_millis(200 * 2u64.pow(attempt)).mul_f64(0.5 + rand::random::<f64>());
            let pause = match &err {
                ShopperError::RateLimited {
                    retry_after: Some(after),
                } => (*after).min(Duration::from_secs(5)),
                _ => backoff,
            };
            tracing::debug!(operation = call.operation, attempt, error = %err, "retrying broker call");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// One call through the circuit breaker: refused at once while it is open (guarded
    /// calls), and its outcome counted either way.
    pub(super) async fn once<T: DeserializeOwned, B: Serialize>(
        &self,
        call: &Call<'_>,
        body: Option<&B>,
    ) -> Result<T, ShopperError> {
        let permit = match call.guarded {
            true => Some(
                self.breaker
                    .admit()
                    .map_err(|refusal| ShopperError::CircuitOpen {
                        failures: refusal.failures,
                        last_error: refusal.last.message,
                        last_hint: refusal.last.hint,
                        probe_in: refusal.probe_in,
                    })?,
            ),
            false => None,
        };
        let started = Instant::now();
        let result = self.exchange(call, body).await;
        let failed = matches!(&result, Err(e) if e.is_broker_failure());
        self.calls.call(started.elapsed(), !failed);
        let outcome = match &result {
            Err(e) if e.is_broker_failure() => breaker::Outcome::failed(e.to_string(), e.hint()),
            _ => breaker::Outcome::Answered,
        };
        match permit {
            Some(permit) => permit.record(outcome),
            None => self.breaker.observe(outcome),
        }
        result
    }

    async fn exchange<T: DeserializeOwned, B: Serialize>(
        &self,
        call: &Call<'_>,
        body: Option<&B>,
    ) -> Result<T, ShopperError> {
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .timeout(call.timeout)
            .header("X-Request-ID", uuid::Uuid::new_v4().to_string());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(call, &e))?;
        let status = response.status();
        let header_request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = self.read_body(call, status.as_u16(), response).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ShopperError::Decode {
                status: status.as_u16(),
                detail: e.to_string(),
                snippet: snippet(&bytes),
            });
        }
        Err(error_from_reply(
            call.conflict,
            status,
            &bytes,
            header_request_id,
            retry_after,
        ))
    }

    /// The reply's body, up to the client's limit: a longer one fails as a bad reply before
    /// more of it is read.
    async fn read_body(
        &self,
        call: &Call<'_>,
        status: u16,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, ShopperError> {
        let max = self.limits.max_reply_bytes;
        let too_big = |body: &[u8]| ShopperError::Decode {
            status,
            detail: format!(
                "the reply to {} is larger than {} MB (--broker-max-reply-mb)",
                call.operation,
                max.div_ceil(1 << 20)
            ),
            snippet: snippet(body),
        };
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_big(&[]));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(call, &e))?
        {
            if body.len() + chunk.len() > max {
                return Err(too_big(&body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport_error(&self, call: &Call<'_>, e: &reqwest::Error) -> ShopperError {
        if e.is_timeout() {
            ShopperError::Timeout {
                operation: call.operation.to_owned(),
                after: call.timeout,
            }
        } else {
            ShopperError::Unreachable {
                url: self.base_url().to_owned(),
                detail: root_cause(e),
                connected: !e.is_connect(),
            }
        }
    }
}
