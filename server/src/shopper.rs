//! The broker client: every cloud-gpu-shopper call the dashboard makes, over reqwest, with
//! typed errors ([`ShopperError`]), one set of timeouts ([`Timeouts`]) and retry with
//! backoff for idempotent calls.

pub mod breaker;
pub mod calls;
mod error;
mod reply;

pub use breaker::{Breaker, BreakerConfig};
pub use error::ShopperError;
use reply::{error_from_reply, root_cause, snippet};

use gdl_model::shopper::{
    CostQuery, CostSummary, CreateSessionRequest, CreateSessionResponse, ExtendRequest,
    ExtendResponse, Health, InventoryPage, InventoryQuery, Offer, Ready, Session, SessionCost,
    SessionDiagnostics, SessionList, SessionMessage, SessionQuery,
};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Every timeout the dashboard uses with the broker, in one place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeouts {
    /// Ordinary calls (lists, gets, extend). A cold inventory takes ~6 s on the broker.
    pub request: Duration,
    /// `/health` and `/ready` probes: short, so an offline broker is reported quickly.
    pub probe: Duration,
    /// How long [`ShopperClient::wait_for_ready`] waits.
    pub ready_wait: Duration,
    /// Create, done and delete block on the provider (destroy verification takes ≥ 5 s and
    /// up to ~275 s; Blue Lobster creates block up to 5 min).
    pub provider_call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request: Duration::from_secs(30),
            probe: Duration::from_secs(2),
            ready_wait: Duration::from_secs(120),
            provider_call: Duration::from_secs(330),
        }
    }
}

/// How a 409 is read: the broker uses it both for duplicates and for terminal sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conflict {
    Duplicate,
    Terminal,
}

/// One call's description, for errors and retries.
struct Call<'a> {
    operation: &'a str,
    method: Method,
    url: Url,
    conflict: Conflict,
    timeout: Duration,
    idempotent: bool,
    /// Asks the circuit breaker first (fails at once while it is open). Cleanup calls
    /// (done, destroy) never do: a paid instance must be stopped whenever the broker can be
    /// reached.
    guarded: bool,
}

/// A cheap-to-clone client for one broker.
#[derive(Clone)]
pub struct ShopperClient {
    base: Url,
    http: reqwest::Client,
    consumer_id: String,
    timeouts: Timeouts,
    retries: u32,
    /// Shared by every clone: one broker, one breaker.
    breaker: Breaker,
    /// Latency and outcome of the calls made, shared by every clone.
    calls: calls::CallLog,
}

impl std::fmt::Debug for ShopperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopperClient")
            .field("base", &self.base_url())
            .field("consumer_id", &self.consumer_id)
            .finish_non_exhaustive()
    }
}

impl ShopperClient {
    /// A client for the broker at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, timeouts: Timeouts) -> Result<Self, ShopperError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = Url::parse(&format!("{trimmed}/")).map_err(|e| ShopperError::Unreachable {
            url: base_url.to_owned(),
            detail: format!("invalid URL: {e}"),
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.probe.max(Duration::from_millis(500)))
            .user_agent(format!("gpu-deploy-llm/{}", gdl_model::VERSION))
            .build()
            .map_err(|e| ShopperError::Unreachable {
                url: base_url.to_owned(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            base,
            http,
            consumer_id: gdl_model::consumer_id(),
            timeouts,
            retries: 2,
            breaker: Breaker::new(BreakerConfig::default()),
            calls: calls::CallLog::default(),
        })
    }

    /// Sets when the circuit breaker opens and for how long (a new breaker).
    pub fn with_breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = Breaker::new(config);
        self
    }

    /// The circuit breaker around this client's calls.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// What the calls made so far took and how they ended.
    pub fn calls(&self) -> &calls::CallLog {
        &self.calls
    }

    /// Sets how many times an idempotent call is retried after a transient error.
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The broker's base URL, without the trailing slash.
    pub fn base_url(&self) -> String {
        // Shown to people and browsers: never with credentials embedded in the URL.
        let mut shown = self.base.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.as_str().trim_end_matches('/').to_owned()
    }

    /// The `consumer_id` this client creates sessions with.
    pub fn consumer_id(&self) -> &str {
        &self.consumer_id
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// `GET /health`. A 503 is [`ShopperError::NotReady`].
    pub async fn health(&self) -> Result<Health, ShopperError> {
        self.probe::<Health>("health check", &["health"]).await
    }

    /// `GET /ready`. A 503 is [`ShopperError::NotReady`].
    pub async fn ready(&self) -> Result<Ready, ShopperError> {
        let ready = self.probe::<Ready>("readiness check", &["ready"]).await?;
        if ready.ready {
            Ok(ready)
        } else {
            Err(ShopperError::NotReady {
                detail: "/ready answered ready=false".into(),
            })
        }
    }

    /// Polls `/ready` with backoff until it answers ready, for at most
    /// [`Timeouts::ready_wait`]. Returns the last error when the time is up.
    pub async fn wait_for_ready(&self) -> Result<Ready, ShopperError> {
        let deadline = Instant::now() + self.timeouts.ready_wait;
        let mut pause = Duration::from_millis(250);
        loop {
            let err = match self.ready().await {
                Ok(ready) => return Ok(ready),
                Err(e) if e.is_transient() => e,
                Err(e) => return Err(e),
            };
            let now = Instant::now();
            if now + pause >= deadline {
                return Err(match err {
                    ShopperError::NotReady { detail } => ShopperError::NotReady {
                        detail: format!(
                            "still not ready after {} s ({detail})",
                            self.timeouts.ready_wait.as_secs()
                        ),
                    },
                    other => other,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    /// `GET /api/v1/inventory` with filters and pagination: one page.
    pub async fn inventory(&self, query: &InventoryQuery) -> Result<InventoryPage, ShopperError> {
        let mut url = self.url(&["api", "v1", "inventory"]);
        url.query_pairs_mut().extend_pairs(query.to_pairs());
        self.get("inventory", url).await
    }

    /// Every offer matching `query`, walking the pages (`limit` is the page size, default 200).
    pub async fn inventory_all(&self, query: &InventoryQuery) -> Result<Vec<Offer>, ShopperError> {
        let mut query = query.clone();
        let page_size = query.limit.unwrap_or(200).max(1);
        query.limit = Some(page_size);
        let mut offset = query.offset.unwrap_or(0);
        let mut offers = Vec::new();
        loop {
            query.offset = Some(offset);
            let page = self.inventory(&query).await?;
            let got = page.offers.len() as u32;
            offers.extend(page.offers);
            offset += got;
            if got == 0 || offset >= page.total {
                return Ok(offers);
            }
        }
    }

    /// `GET /api/v1/inventory/:id`.
    pub async fn offer(&self, offer_id: &str) -> Result<Offer, ShopperError> {
        self.get(
            "offer lookup",
            self.url(&["api", "v1", "inventory", offer_id]),
        )
        .await
    }

    /// `GET /api/v1/sessions` with the broker's exact-match filters.
    pub async fn list_sessions(&self, query: &SessionQuery) -> Result<SessionList, ShopperError> {
        let mut url = self.url(&["api", "v1", "sessions"]);
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(c) = &query.consumer_id {
                pairs.append_pair("consumer_id", c);
            }
            if let Some(s) = query.status {
                pairs.append_pair("status", s.as_str());
            }
            if let Some(p) = &query.provider {
                pairs.append_pair("provider", p.as_str());
            }
            if let Some(l) = query.limit {
                pairs.append_pair("limit", &l.to_string());
            }
        }
        self.get("session list", url).await
    }

    /// Sessions made by any version of this product, newest first. The broker filters
    /// `consumer_id` by exact match only, so the prefix filter runs here.
    pub async fn our_sessions(&self) -> Result<Vec<Session>, ShopperError> {
        let list = self.list_sessions(&SessionQuery::default()).await?;
        let mut ours: Vec<Session> = list
            .sessions
            .into_iter()
            .filter(|s| gdl_model::is_our_consumer(&s.consumer_id))
            .collect();
        ours.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(ours)
    }

    /// `GET /api/v1/sessions/:id`.
    pub async fn get_session(&self, id: &str) -> Result<Session, ShopperError> {
        self.get("session lookup", self.url(&["api", "v1", "sessions", id]))
            .await
    }

    /// `POST /api/v1/sessions`. A 409 is [`ShopperError::Duplicate`]; a stale offer is
    /// [`ShopperError::StaleInventory`]. Never retried: a retry could rent twice.
    pub async fn create_session(
        &self,
        request: &CreateSessionRequest,
    ) -> Result<CreateSessionResponse, ShopperError> {
        let call = Call {
            operation: "session create",
            method: Method::POST,
            url: self.url(&["api", "v1", "sessions"]),
            conflict: Conflict::Duplicate,
            timeout: self.timeouts.provider_call,
            idempotent: false,
            guarded: true,
        };
        self.run(&call, Some(request)).await
    }

    /// `POST /api/v1/sessions/:id/done`: graceful end (synchronous destroy on the broker).
    pub async fn done(&self, id: &str) -> Result<SessionMessage, ShopperError> {
        let call = Call {
            operation: "session done",
            method: Method::POST,
            url: self.url(&["api", "v1", "sessions", id, "done"]),
            conflict: Conflict::Terminal,
            timeout: self.timeouts.provider_call,
            idempotent: false,
            guarded: false,
        };
        self.run::<_, ()>(&call, None).await
    }

    /// `POST /api/v1/sessions/:id/extend`.
    pub async fn extend(&self, id: &str, hours: u32) -> Result<ExtendResponse, ShopperError> {
        let call = Call {
            operation: "session extend",
            method: Method::POST,
            url: self.url(&["api", "v1", "sessions", id, "extend"]),
            conflict: Conflict::Terminal,
            timeout: self.timeouts.request,
            idempotent: false,
            guarded: true,
        };
        let body = ExtendRequest {
            additional_hours: hours,
        };
        self.run(&call, Some(&body)).await
    }

    /// `DELETE /api/v1/sessions/:id`: force destroy. Idempotent on the broker.
    pub async fn delete_session(&self, id: &str) -> Result<SessionMessage, ShopperError> {
        let call = Call {
            operation: "session destroy",
            method: Method::DELETE,
            url: self.url(&["api", "v1", "sessions", id]),
            conflict: Conflict::Terminal,
            timeout: self.timeouts.provider_call,
            idempotent: true,
            guarded: false,
        };
        self.run::<_, ()>(&call, None).await
    }

    /// `GET /api/v1/sessions/:id/diagnostics` (running sessions only; 400 otherwise).
    pub async fn diagnostics(&self, id: &str) -> Result<SessionDiagnostics, ShopperError> {
        self.get(
            "session diagnostics",
            self.url(&["api", "v1", "sessions", id, "diagnostics"]),
        )
        .await
    }

    /// `GET /api/v1/costs` in summary mode.
    pub async fn costs(&self, query: &CostQuery) -> Result<CostSummary, ShopperError> {
        let mut url = self.url(&["api", "v1", "costs"]);
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in [
                ("consumer_id", &query.consumer_id),
                ("start_date", &query.start_date),
                ("end_date", &query.end_date),
                ("period", &query.period),
            ] {
                if let Some(value) = value {
                    pairs.append_pair(key, value);
                }
            }
        }
        self.get("costs", url).await
    }

    /// `GET /api/v1/costs?session_id=`: one session's total.
    pub async fn session_cost(&self, id: &str) -> Result<SessionCost, ShopperError> {
        let mut url = self.url(&["api", "v1", "costs"]);
        url.query_pairs_mut().append_pair("session_id", id);
        self.get("session cost", url).await
    }

    /// `GET /api/v1/costs/summary` for this month.
    pub async fn cost_summary(
        &self,
        consumer_id: Option<&str>,
    ) -> Result<CostSummary, ShopperError> {
        let mut url = self.url(&["api", "v1", "costs", "summary"]);
        if let Some(c) = consumer_id {
            url.query_pairs_mut().append_pair("consumer_id", c);
        }
        self.get("cost summary", url).await
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("an http(s) base URL has path segments");
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    async fn get<T: DeserializeOwned>(&self, operation: &str, url: Url) -> Result<T, ShopperError> {
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

    async fn probe<T: DeserializeOwned>(
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
    async fn run<T: DeserializeOwned, B: Serialize>(
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
    async fn once<T: DeserializeOwned, B: Serialize>(
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
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(call, &e))?;
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
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_trailing_slash_and_segments() {
        let c = ShopperClient::new("http://127.0.0.1:8080/", Timeouts::default()).unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
        let with_login =
            ShopperClient::new("http://admin:hunter2@127.0.0.1:8080", Timeouts::default()).unwrap();
        assert_eq!(
            with_login.base_url(),
            "http://127.0.0.1:8080",
            "no credentials shown"
        );
        assert!(!format!("{with_login:?}").contains("hunter2"));
        assert_eq!(
            c.url(&["api", "v1", "sessions", "a/b"]).as_str(),
            "http://127.0.0.1:8080/api/v1/sessions/a%2Fb"
        );
        let prefixed = ShopperClient::new("http://h:1/shopper", Timeouts::default()).unwrap();
        assert_eq!(
            prefixed.url(&["health"]).as_str(),
            "http://h:1/shopper/health"
        );
    }
}
