//! The broker client: every cloud-gpu-shopper call the dashboard makes, over reqwest, with
//! typed errors ([`ShopperError`]), one set of timeouts ([`Timeouts`]) and retry with
//! backoff for idempotent calls.
//!
//! - this file: the client, its settings and one method per broker operation;
//! - `limits`: the timeouts and the most it reads of a broker;
//! - `transport`: how any call is made (breaker, retries, the reply read);
//! - `reply`: a reply that is not a success, read into a [`ShopperError`];
//! - [`breaker`] and [`calls`]: the circuit breaker and the call log behind the Health tab.

pub mod breaker;
pub mod calls;
mod error;
mod limits;
mod reply;
mod transport;

pub use breaker::{Breaker, BreakerConfig};
pub use error::ShopperError;
pub use limits::{ReplyLimits, Timeouts};
use transport::Call;
pub(crate) use transport::Conflict;

use gdl_model::shopper::{
    CostQuery, CostSummary, CreateSessionRequest, CreateSessionResponse, ExtendRequest,
    ExtendResponse, Health, InventoryPage, InventoryQuery, Offer, Ready, Session, SessionCost,
    SessionDiagnostics, SessionList, SessionMessage, SessionQuery,
};
use reqwest::{Method, Url};
use std::time::{Duration, Instant};

/// A cheap-to-clone client for one broker.
#[derive(Clone)]
pub struct ShopperClient {
    base: Url,
    http: reqwest::Client,
    consumer_id: String,
    timeouts: Timeouts,
    limits: ReplyLimits,
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
            connected: false,
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.probe.max(Duration::from_millis(500)))
            .user_agent(format!("gpu-deploy-llm/{}", gdl_model::VERSION))
            .build()
            .map_err(|e| ShopperError::Unreachable {
                url: base_url.to_owned(),
                detail: e.to_string(),
                connected: false,
            })?;
        Ok(Self {
            base,
            http,
            consumer_id: gdl_model::version_consumer_id(),
            timeouts,
            limits: ReplyLimits::default(),
            retries: 2,
            breaker: Breaker::new(BreakerConfig::default()),
            calls: calls::CallLog::default(),
        })
    }

    /// Sets the `consumer_id` sessions are created with: the installation's
    /// ([`gdl_model::consumer_id`]); a client made by [`ShopperClient::new`] uses the
    /// version's.
    pub fn with_consumer_id(mut self, consumer_id: String) -> Self {
        self.consumer_id = consumer_id;
        self
    }

    /// Sets the most it reads of the broker.
    pub fn with_limits(mut self, limits: ReplyLimits) -> Self {
        self.limits = limits;
        self
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
        for _ in 0..self.limits.max_pages {
            query.offset = Some(offset);
            let page = self.inventory(&query).await?;
            let got = page.offers.len() as u32;
            offers.extend(page.offers);
            let Some(next) = offset.checked_add(got) else {
                return Err(endless(&page.total.to_string(), self.limits.max_pages));
            };
            offset = next;
            if got == 0 || offset >= page.total {
                return Ok(offers);
            }
        }
        Err(endless(&offset.to_string(), self.limits.max_pages))
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
}

/// A broker URL as people may see it (logs, pages): without any `user:pass@`.
pub fn shown_url(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(mut shown) => {
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            shown.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "[a broker URL that does not parse]".to_owned(),
    }
}

/// A paged listing that does not end within `pages` pages.
fn endless(total: &str, pages: u32) -> ShopperError {
    ShopperError::Decode {
        status: 200,
        detail: format!(
            "the inventory did not end within {pages} pages (the broker's total says {total}); raise --broker-max-pages if it is really that large"
        ),
        snippet: String::new(),
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
