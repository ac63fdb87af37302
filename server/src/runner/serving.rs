//! A deployment's serving phase. After Verify (and the benchmark, when asked) the run hands
//! its host, engine and tunnel to [`serve`], which lets the gateway forward to the engine
//! and watches it until a person, a guard (idle time, spend, lifetime, the broker's
//! maximum) or a failure ends it. The run's Cleanup step then destroys the session and
//! confirms it, as for a test; [`ended`] records the outcome on the deployment.
//!
//! While it serves, every tick: the spend is brought up to date, the guards are checked,
//! the engine's `/health` is asked through the tunnel (a dropped SSH connection is made
//! again and a crashed engine restarted: [`recover`]), the reservation is extended before it
//! runs out, and the record is saved and published when it changed.
//!
//! With the operator's secret key its SSH login and engine key are sealed in the store as
//! it begins serving ([`end::seal`]); the dashboard's shutdown then leaves it serving for
//! the next start to resume (`runner::resume`) instead of destroying it.

mod end;
mod recover;
mod retune;

pub use end::{detach, ended};
pub use recover::{connect, Link};

use super::steps::{Connected, Deps, Served, Target};
use crate::deploy::{Deployments, Live, SealKey, Upstream};
use chrono::{DateTime, Utc};
use gdl_model::deployments::{DeploymentStatus, StopReason};
use std::sync::Arc;
use std::time::Duration;

/// How deployments are watched.
#[derive(Clone, Debug)]
pub struct ServingConfig {
    /// How often the guards and the engine are checked.
    pub tick: Duration,
    /// Engine restarts allowed after crashes, per deployment.
    pub max_restarts: u32,
    /// The wait before the first restart; it doubles with each.
    pub restart_backoff: Duration,
    /// The reservation is extended when less than this is left of it.
    pub extend_before: Duration,
    /// Attempts to log in again after the SSH connection drops.
    pub reconnects: u32,
    /// The wait before the second attempt; it doubles with each (at most a minute).
    pub reconnect_backoff: Duration,
    /// The operator's key: with it a deployment is sealed and survives a restart.
    pub seal: Option<SealKey>,
}

impl Default for ServingConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(5),
            max_restarts: 3,
            restart_backoff: Duration::from_secs(5),
            extend_before: Duration::from_secs(20 * 60),
            reconnects: 8,
            reconnect_backoff: Duration::from_secs(2),
            seal: None,
        }
    }
}

/// What a run provisions a deployment for.
pub struct Ticket {
    pub live: Arc<Live>,
    pub registry: Deployments,
    /// Run the benchmark before serving.
    pub benchmark: bool,
}

/// How serving ended.
#[derive(Clone, Debug)]
pub struct Ending {
    pub reason: StopReason,
    pub message: String,
    /// Left serving at shutdown (sealed) for the next start to resume: nothing destroyed.
    pub detached: bool,
}

impl Ending {
    /// The run ended before serving: failed, or `cancelled` while provisioning (during a
    /// step or between two).
    pub fn provisioning(ctx: &super::context::RunContext, live: &Live, cancelled: bool) -> Self {
        let (cancelled, error) = ctx.read(|run| {
            let cancel = Some(gdl_model::code::ErrorCode::Cancelled);
            (
                cancelled || run.steps.iter().any(|s| s.code == cancel),
                run.steps
                    .iter()
                    .find(|s| s.status == gdl_model::runs::StepStatus::Failed)
                    .map(|s| {
                        format!(
                            "{}: {}",
                            s.name.label(),
                            s.reason.clone().unwrap_or_default()
                        )
                    }),
            )
        });
        match (cancelled, error) {
            (true, _) if live.stop.is_cancelled() => Self::new(
                StopReason::Requested,
                "stopped while it was being provisioned",
            ),
            (true, _) => Self::new(
                StopReason::Shutdown,
                "the dashboard shut down while it was being provisioned",
            ),
            (false, Some(e)) => Self::new(StopReason::ProvisionFailed, e),
            (false, None) => Self::new(
                StopReason::ProvisionFailed,
                "its run ended before it served",
            ),
        }
    }

    fn new(reason: StopReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            detached: false,
        }
    }

    /// A person stopped it.
    fn requested() -> Self {
        Self::new(StopReason::Requested, "stopped by a person")
    }

    /// The dashboard shuts down: a sealed deployment is left serving, another stopped.
    fn shutdown(sealed: bool) -> Self {
        Self {
            detached: sealed,
            ..Self::new(StopReason::Shutdown, "the dashboard shut down")
        }
    }

    /// Whether it ended on a failure (the deployment reads `failed`, not `stopped`).
    pub fn failed(&self) -> bool {
        matches!(
            self.reason,
            StopReason::EngineFailed | StopReason::HostLost | StopReason::ProvisionFailed
        )
    }
}

/// Serves until something ends it.
pub async fn serve(
    d: &Deps<'_>,
    connected: &Connected,
    served: &Served,
    target: &Target,
    t: &Ticket,
) -> Ending {
    let live = &t.live;
    begin(d, connected, target, live);
    let sealed = end::seal(d, connected.login.as_ref(), served, t).await;
    d.ctx.info(&format!(
        "Serving {} at {} (the gateway forwards to the engine through the SSH tunnel)",
        target.model,
        live.read(|x| x.base_path())
    ));
    t.registry.flush(live).await;
    let link = Link {
        first: connected.host.as_ref(),
        again: None,
        login: connected.login.clone(),
        target: target.clone(),
        sealed,
    };
    watch(d, link, served, t).await
}

/// Watches a serving deployment until something ends it (also a resumed one's loop).
pub async fn watch(d: &Deps<'_>, mut link: Link<'_>, served: &Served, t: &Ticket) -> Ending {
    let live = &t.live;
    let http = super::loadgen::host_client(Some(Duration::from_secs(5)));
    let config = &d.config.serving;
    // How the engine starts again after a crash: a tuning changes it.
    let mut served = served.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(config.tick) => {}
            _ = live.tune_asked.notified() => {}
            _ = live.stop.cancelled() => return Ending::requested(),
            _ = d.ctx.cancel_token().cancelled() => return Ending::shutdown(link.sealed),
        }
        if let Some(request) = live.take_tune() {
            if let Some(ending) = retune::tune_now(d, &link, &mut served, t, request).await {
                return ending;
            }
        }
        let now = Utc::now();
        let spend = d.ctx.read(|run| run.cost_usd(now));
        live.change(|x| x.spend_usd = spend);
        if let Some(due) = live.read(|x| x.deadline(now)).filter(|due| due.at <= now) {
            let message = format!("stopping: {}", due.reason.label());
            d.ctx.info(&format!("Deployment {message}"));
            return Ending::new(due.reason, message);
        }
        if !healthy(&http, &link.target.base_url).await {
            if let Err(ending) = recover::recover(d, &mut link, &served, t).await {
                return ending;
            }
        }
        super::serving_extend::extend_if_due(d, live, now).await;
        t.registry.flush(live).await;
    }
}

/// Keeps the benchmark's $ per 1M output tokens, to show beside what serving costs.
pub fn benchmarked(t: &Ticket, record: &gdl_model::runs::BenchmarkRecord) {
    // Tuned, it serves with the best point: that point's figure.
    let tuned = record
        .tuning
        .as_ref()
        .and_then(|t| t.winner().usd_per_million_output_tokens);
    let usd = tuned.or_else(|| {
        record
            .at_slo()
            .or(record.best_phase())
            .and_then(|p| p.usd_per_million_output_tokens)
    });
    t.live.change(|x| x.benchmark_usd_per_mtok = usd);
}

/// Lets the gateway forward to `target`.
fn forward_to(live: &Live, target: &Target) {
    live.set_upstream(Some(Upstream {
        base_url: target.base_url.clone(),
        api_key: target.api_key.clone(),
    }));
}

/// Marks the deployment serving and lets the gateway forward to `target`.
fn begin(d: &Deps<'_>, connected: &Connected, target: &Target, live: &Live) {
    let offer = &connected.offer;
    let (session, created, expires) = d.ctx.read(|run| {
        let rental = run.rentals.last();
        (
            run.session_id.clone(),
            rental.map(|r| r.created_at),
            rental.and_then(|r| r.expires_at),
        )
    });
    forward_to(live, target);
    let now = Utc::now();
    live.change(|x| {
        x.status = DeploymentStatus::Serving;
        x.serving_since = Some(now);
        x.served_model = Some(target.model.clone());
        x.session_id = session;
        x.gpu = Some(if offer.gpu_count > 1 {
            format!("{} × {}", offer.gpu_type, offer.gpu_count)
        } else {
            offer.gpu_type.clone()
        });
        x.provider = Some(offer.provider.label().to_owned());
        x.price_per_hour = Some(offer.price_per_hour);
        x.expires_at = expires;
        x.hard_end_at = created.map(hard_end);
    });
}

/// When the broker ends a session whatever we do: 12 hours after it was created.
pub fn hard_end(created: DateTime<Utc>) -> DateTime<Utc> {
    created + chrono::Duration::hours(12)
}

/// Whether the engine answers `/health` through the tunnel.
pub async fn healthy(http: &reqwest::Client, base_url: &str) -> bool {
    matches!(http.get(format!("{base_url}/health")).send().await, Ok(r) if r.status().is_success())
}
