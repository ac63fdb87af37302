//! Campaigns: several GPU types rented at once under a hard budget, each measured with the
//! SLO capacity search, and the answer: which serves the model cheapest at the SLO, how sure
//! that is, and what finding out cost.
//!
//! # Layout
//! - this file: [`Campaigns`], the registry: plan the candidates (the inventory, the same
//!   fit rule as Select offer, the estimates of `gdl_model::campaigns`), start a campaign,
//!   read and stop one; campaigns a previous process left running are ended at start.
//! - `launch`: a candidate's run configuration (pinned to its offer, the quick probe
//!   against the estimate, slow hosts avoided) and the measurements already at hand.
//! - `driver`: one campaign's loop: launch candidates while the budget ledger allows, watch
//!   their runs (cutting a search short where the money runs out), record what each
//!   measured, and work out the answer.
//!
//! Each candidate is an ordinary run (its own confirmed cleanup) pinned to the candidate's
//! cheapest offer; a machine that fails to start is replaced by the next offer of the same
//! GPU type, as any run's is. A campaign's runs do not count toward the runs-at-once limit:
//! the campaign's own `parallel` limits them.

mod again;
mod driver;
mod launch;

use crate::live::Hub;
use crate::runner::engine_fit::Fit;
use crate::runner::Runner;
use crate::shopper::ShopperClient;
use crate::store::Lease;
use chrono::Utc;
use gdl_model::campaigns::record::{Campaign, CampaignStatus, CandidateState};
use gdl_model::campaigns::{candidates, CampaignRequest, Candidate};
use gdl_model::code::ErrorCode;
use gdl_model::error::ApiError;
use gdl_model::ids::CampaignId;
use gdl_model::live::{LiveEvent, FINISHED_CAMPAIGNS_KEPT};
use gdl_model::registry::{self, Quantization};
use gdl_model::shopper::{InventoryQuery, Offer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What a campaign whose dashboard stopped says, after a restart.
const STOPPED: &str = "The dashboard stopped while this campaign ran; its runs were ended and their sessions destroyed at the next start.";
/// What it says when another replica found it.
const TAKEN_OVER: &str = "The replica running this campaign stopped answering; another ended it, and its runs were ended and their sessions destroyed.";

/// Campaigns kept in a list.
const LISTED: u32 = 100;

/// The campaigns of this process, and the parts they work with.
#[derive(Clone)]
pub struct Campaigns {
    inner: Arc<Inner>,
}

struct Inner {
    runner: Runner,
    client: ShopperClient,
    /// Where every change of a campaign is published, for every open page.
    hub: Hub,
    /// Campaigns in progress. std Mutex: never held across an await.
    running: Mutex<HashMap<CampaignId, Handle>>,
}

/// A campaign in progress: its record as it is now, and its stop.
#[derive(Clone)]
struct Handle {
    record: Arc<Mutex<Campaign>>,
    stop: CancellationToken,
}

/// What planning found: the candidates ranked, for the model's size.
pub struct Planned {
    pub candidates: Vec<Candidate>,
    pub params_b: f64,
}

fn invalid(message: impl Into<String>, hint: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, message).with_hint(hint)
}

impl Campaigns {
    /// Campaigns over `runner`'s runs, reading offers through `client`, publishing each
    /// change to `hub`.
    pub fn new(runner: Runner, client: ShopperClient, hub: Hub) -> Self {
        Self {
            inner: Arc::new(Inner {
                runner,
                client,
                hub,
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The candidates of `request`, ranked by estimate (or by a measurement this
    /// installation has), before anything is rented.
    pub async fn plan(&self, request: &CampaignRequest) -> Result<Planned, ApiError> {
        request.check().map_err(|problems| {
            invalid(
                problems.join("; "),
                "Send at least {\"model\": \"qwen2.5-0.5b\", \"budget_usd\": 2}; the other fields have defaults.",
            )
        })?;
        let mut resolved = Vec::new();
        for q in request.quantizations() {
            let model = registry::resolve(&request.model, q)
                .map_err(|e| ApiError::new(e.code(), e.to_string()).with_hint(e.hint()))?
                .with_context(&request.settings);
            resolved.push((q, model));
        }
        let params_b = resolved[0].1.params_b;
        let query = InventoryQuery {
            max_price: request.max_price,
            ..Default::default()
        };
        let offers = self
            .inner
            .client
            .inventory_all(&query)
            .await
            .map_err(ApiError::from)?;
        let fits = |offer: &Offer, q: Quantization| {
            let Some((_, model)) = resolved.iter().find(|(rq, _)| *rq == q) else {
                return false;
            };
            // The fewest GPUs of this kind the model fits on (times the copies the settings
            // serve side by side), and only offers of that many.
            let copies = request.settings.copies();
            let needed = (1..=8u32)
                .find(|n| model.vram_per_gpu(*n) <= offer.vram_gb)
                .map(|n| n * copies);
            let config = launch::base_config(request, q);
            needed == Some(offer.gpu_count) && Fit::of(&config).allows(offer)
        };
        let before = launch::measured_before(&self.inner.runner, request).await;
        let list = candidates(request, params_b, &offers, fits, &before);
        Ok(Planned {
            candidates: list,
            params_b,
        })
    }

    /// Starts a campaign: its candidates planned now, then rented and measured.
    pub async fn start(&self, request: CampaignRequest) -> Result<Campaign, ApiError> {
        let planned = self.plan(&request).await?;
        if planned.candidates.is_empty() {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!(
                    "no offer can run {} within the campaign's filters",
                    request.model
                ),
            )
            .with_hint(
                "Raise max_price, allow more providers or GPU types, or choose a quantization.",
            ));
        }
        let id = CampaignId::from(format!(
            "camp-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        let record = Campaign {
            id: id.clone(),
            request,
            status: CampaignStatus::Running,
            created_at: Utc::now(),
            ended_at: None,
            candidates: planned
                .candidates
                .into_iter()
                .map(CandidateState::waiting)
                .collect(),
            spend_usd: 0.0,
            projected_usd: 0.0,
            answer: None,
            message: None,
        };
        let runner = &self.inner.runner;
        let stop = CancellationToken::new();
        let owned = runner.hold(Lease::new_campaign(&id, runner.replica()), stop.clone());
        if let Err(e) = runner
            .store()
            .save_campaign_owned(&record, &owned.lease, owned.ttl)
            .await
        {
            runner.let_go(&owned).await;
            return Err(ApiError::new(ErrorCode::StorageError, e.to_string()));
        }
        self.inner.hub.publish([LiveEvent::CampaignUpsert {
            campaign: record.clone(),
        }]);
        let handle = Handle {
            record: Arc::new(Mutex::new(record.clone())),
            stop,
        };
        self.inner
            .running
            .lock()
            .unwrap()
            .insert(id.clone(), handle.clone());
        let this = self.clone();
        tokio::spawn(async move {
            driver::drive(
                &this.inner.runner,
                &this.inner.hub,
                &handle.record,
                &handle.stop,
                &owned,
                planned.params_b,
            )
            .await;
            this.inner.runner.let_go(&owned).await;
            this.inner.running.lock().unwrap().remove(&id);
        });
        Ok(record)
    }

    /// Campaigns newest first.
    pub async fn list(&self) -> Result<Vec<Campaign>, ApiError> {
        let mut stored = self
            .inner
            .runner
            .store()
            .campaigns(LISTED)
            .await
            .map_err(|e| ApiError::new(ErrorCode::StorageError, e.to_string()))?;
        for c in &mut stored {
            if let Some(now) = self.live(&c.id) {
                *c = now;
            }
        }
        Ok(stored)
    }

    /// One campaign as it is now.
    pub async fn read(&self, id: &CampaignId) -> Result<Campaign, ApiError> {
        if let Some(now) = self.live(id) {
            return Ok(now);
        }
        self.inner
            .runner
            .store()
            .campaign(id)
            .await
            .map_err(|e| ApiError::new(ErrorCode::StorageError, e.to_string()))?
            .ok_or_else(|| {
                ApiError::new(ErrorCode::CampaignNotFound, format!("no campaign {id}"))
                    .with_hint("GET /api/campaigns lists them.")
            })
    }

    /// Stops a campaign: its runs are cancelled and their sessions destroyed; what was
    /// measured is kept and answered.
    pub async fn stop(&self, id: &CampaignId) -> Result<Campaign, ApiError> {
        let handle = self.inner.running.lock().unwrap().get(id).cloned();
        match handle {
            Some(h) => {
                h.stop.cancel();
                let mut record = h.record.lock().unwrap();
                if !record.status.is_finished() {
                    record.status = CampaignStatus::Stopping;
                }
                let now = record.clone();
                drop(record);
                self.inner.hub.publish([LiveEvent::CampaignUpsert {
                    campaign: now.clone(),
                }]);
                Ok(now)
            }
            None => {
                // Another replica's campaign (several replicas): asked through its row.
                let record = self.read(id).await?;
                let store = self.inner.runner.store();
                if store.shares_events() && !record.status.is_finished() {
                    if let Err(e) = store
                        .request_campaign(id, crate::store::requests::STOP)
                        .await
                    {
                        tracing::warn!(campaign = %id, error = %e, "cannot pass a stop on to the replica running the campaign");
                    }
                }
                Ok(record)
            }
        }
    }

    /// Ends the campaigns a previous process left running (their runs were closed by the
    /// runner's own recovery, sessions destroyed; the record says the campaign was cut),
    /// then puts the newest campaigns in the live state.
    pub async fn recover(&self) -> Result<(), crate::store::StoreError> {
        self.end_orphans(STOPPED).await?;
        let store = self.inner.runner.store();
        let mut newest = store.campaigns(FINISHED_CAMPAIGNS_KEPT as u32).await?;
        newest.reverse();
        self.inner.hub.seed(
            newest
                .into_iter()
                .map(|campaign| LiveEvent::CampaignUpsert { campaign }),
        );
        Ok(())
    }

    /// Looks every `every` for campaigns whose replica stopped (their lease expired) and
    /// ends them, as a restart does.
    pub fn spawn_takeover(&self, every: std::time::Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = this.end_orphans(TAKEN_OVER).await {
                    tracing::warn!(error = %e, "cannot look for campaigns a stopped replica left");
                }
            }
        });
    }

    /// Claims each campaign recorded running whose lease is free or expired (none another
    /// replica runs) and ends it, saying `why`.
    async fn end_orphans(&self, why: &str) -> Result<(), crate::store::StoreError> {
        let runner = &self.inner.runner;
        let store = runner.store();
        for id in store.orphaned_campaigns().await? {
            if self.inner.running.lock().unwrap().contains_key(&id) {
                continue;
            }
            let ttl = runner.lease_ttl();
            let Some(lease) = store.claim_campaign(&id, runner.replica(), ttl).await? else {
                continue;
            };
            let Some(mut c) = store.campaign(&id).await? else {
                continue;
            };
            if !c.status.is_finished() {
                c.status = CampaignStatus::Stopped;
                c.ended_at = Some(Utc::now());
                c.message = Some(why.into());
                store.save_campaign_owned(&c, &lease, ttl).await?;
                tracing::warn!(campaign = %id, "ended a campaign whose dashboard stopped");
                self.inner
                    .hub
                    .publish([LiveEvent::CampaignUpsert { campaign: c }]);
            }
            store.release(&lease).await?;
        }
        Ok(())
    }

    fn live(&self, id: &CampaignId) -> Option<Campaign> {
        let handle = self.inner.running.lock().unwrap().get(id).cloned()?;
        let record = handle.record.lock().unwrap().clone();
        Some(record)
    }
}
